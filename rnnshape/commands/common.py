"""What every command shares: the exit-code contract, usage failures, and the one way a command ends.

The contract, on every path (``cli.main`` enforces it around the commands):
0 the shapes work, 1 a diagnosed error (or a failed expectation), 2 a usage error
(bad arguments, unreadable or hostile input, a run that would not fit), 3 an
internal error (a bug in rnnshape). Under ``--json`` every path prints one JSON object.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NoReturn

EXIT_OK, EXIT_DIAGNOSED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

#: The one-line request every internal error ends with.
REPORT_REQUEST = "This is a bug in rnnshape; please report it with the command you ran."


def failure_json(message: str, exit_code: int) -> str:
    """The JSON object of a command that produced no result (usage or internal error)."""
    import json

    return json.dumps({"ok": False, "error": message, "exit_code": exit_code}, indent=2)


def collector_paused(*, freeze_only_as_process: bool = False) -> AbstractContextManager[None]:
    """The cyclic garbage collector off while a command imports its modules (or Rich, to draw).

    The objects of imports live as long as the process: they are frozen (never walked again) and the
    collector is back on for the command's own work, whose collections stay proportional to the work.
    ``cli.main`` does the same around typer.

    ``freeze_only_as_process``: for a command paused through its whole work (``diagnose``), what
    it built is frozen only when ``cli.main`` runs it as the process, which ends with it; called
    in-process (tests) the collector is simply resumed, so that cycles left behind are still freed.
    """
    from rnnshape.gcpause import collector_paused as paused

    return paused(freeze=_runs_as_the_process if freeze_only_as_process else _always)


def _always() -> bool:
    return True


def _runs_as_the_process() -> bool:
    from rnnshape import cli  # loaded already: it registered the command

    return cli.ENDS_WITH_COMMAND


def fail_usage(message: str, as_json: bool) -> NoReturn:
    import typer  # here, not at the top: cli.py answers a cached --help without importing typer

    from rnnshape.render.safe import escape_control

    if as_json:
        typer.echo(failure_json(message, EXIT_USAGE))
    typer.echo(f"rnnshape: error: {escape_control(message)}", err=True)
    raise typer.Exit(EXIT_USAGE)


def finish(result: Any, as_json: bool, print_human: Callable[[], None],
           exit_code: int | None = None) -> NoReturn:
    """Every command ends here: the result as JSON or for people, then its exit code."""
    import typer

    if as_json:
        from rnnshape.render.jsontext import dumps  # json.dumps(indent=2, default=repr)'s text, without json

        typer.echo(dumps(result.to_dict()))
    else:
        with collector_paused():  # Rich's modules, then output bounded by what is shown
            print_human()
    raise typer.Exit(exit_code if exit_code is not None else (EXIT_OK if result.ok else EXIT_DIAGNOSED))
