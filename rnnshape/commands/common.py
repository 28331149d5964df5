"""What every command shares: the exit-code contract, usage failures, and the one way a command ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import typer

EXIT_OK, EXIT_DIAGNOSED, EXIT_USAGE = 0, 1, 2



def fail_usage(message: str, as_json: bool) -> NoReturn:
    if as_json:
        import json

        typer.echo(json.dumps({"ok": False, "error": message, "exit_code": EXIT_USAGE}, indent=2))
    typer.echo(f"rnnshape: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def finish(result: Any, as_json: bool, print_human: Callable[[], None],
            exit_code: int | None = None) -> NoReturn:
    """Every command ends here: the result as JSON or for people, then its exit code."""
    if as_json:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2, default=repr))
    else:
        print_human()
    raise typer.Exit(exit_code if exit_code is not None else (EXIT_OK if result.ok else EXIT_DIAGNOSED))
