"""`rnnshape diagnose`: follow the shapes through pasted code without running it."""

import sys
from typing import Annotated

import typer

from rnnshape.commands.common import collector_paused, fail_usage, finish
from rnnshape.errors import UsageError


def diagnose(
    file: Annotated[str | None, typer.Argument(
        help="The pasted code (a script, a notebook cell, a REPL session, with or without its "
             "traceback). Omit it (or give '-') to read stdin: pbpaste | rnnshape diagnose",
        show_default=False)] = None,
    shape: Annotated[list[str] | None, typer.Option(
        "--shape", help="A shape the code cannot tell, NAME=SHAPE (repeatable): x=32,50,300, or "
                        "letters for unknown sizes, x=B,T,300; add :int64 for token ids.")] = None,
    run: Annotated[bool, typer.Option(
        "--run", help="Also run the code, in a separate Python process with a time limit, and "
                      "record the real shapes at every layer (never the default).")] = False,
    timeout: Annotated[float, typer.Option(help="Time limit of --run, in seconds.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Follow the shapes through pasted code without running it; stop at the first line that cannot work."""
    # paused through the imports, the following and the output too: they walk the same objects, all alive to
    # the end (the one collection at the end was a fifth of a 10,000-line run)
    with collector_paused(freeze_only_as_process=True):
        _diagnose(file, shape or [], run=run, timeout=timeout, as_json=as_json)


def _diagnose(file: str | None, shape: list[str], *, run: bool, timeout: float, as_json: bool) -> None:
    from rnnshape.diagnose.snippets import PasteError, diagnose_paste, parse_hints, read_source

    try:
        if timeout <= 0:
            raise UsageError(f"--timeout {timeout:g}: give a number of seconds above 0.")
        if file is None and sys.stdin.isatty():
            raise UsageError("nothing to diagnose: give a FILE, or pipe the code in "
                             "(pbpaste | rnnshape diagnose).")
        if file is not None and file != "-":  # a regular file only, never more than the paste limit
            from rnnshape.diagnose.snippets import decode
            from rnnshape.textio import MAX_CODE_BYTES, read_bounded

            text, name = decode(read_bounded(file, limit=MAX_CODE_BYTES, what="the code file"),
                                source=file), file
        else:
            text, name = read_source(file, sys.stdin)
        hints = parse_hints(shape)
    except (UsageError, PasteError) as exc:
        fail_usage(str(exc), as_json)
    result = diagnose_paste(text, hints, name=name, run=run, timeout=timeout)

    def human() -> None:
        from rnnshape.render.diagnose import print_diagnosis

        print_diagnosis(result)

    finish(result, as_json, human, result.exit_code)
