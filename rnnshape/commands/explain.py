"""`rnnshape explain`: a pasted error or traceback -> ranked causes and fixes."""

import sys
from typing import Annotated

import typer

from rnnshape.commands.common import collector_paused, fail_usage, finish


def explain(
    text: Annotated[str | None, typer.Argument(
        help="The error message or traceback PyTorch printed. Omit it (or give '-') to read "
             "stdin: python train.py 2>&1 | rnnshape explain", show_default=False)] = None,
    file: Annotated[str | None, typer.Option(
        "--file", "-f", help="Read the traceback from this file.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    list_wordings: Annotated[bool, typer.Option(
        "--list", help="List the torch messages explain knows, with the torch releases that print "
                       "each wording, and exit.")] = False,
) -> None:
    """Explain a PyTorch recurrent-layer error or traceback: causes ranked, fix as code."""
    with collector_paused():
        from rnnshape.explain.explainer import InputError, decode, explain_text, read_file, read_stream

    if list_wordings:
        _list(as_json)
    note = None
    try:
        if file is not None and text is not None:
            raise InputError("give the text either as an argument or with --file, not both.")
        if file is not None:
            source = read_file(file)
        elif text is None or text == "-":
            if text is None and sys.stdin.isatty():
                raise InputError("nothing to explain: give the error text as an argument, "
                                 "--file PATH, or pipe it in (python train.py 2>&1 | "
                                 "rnnshape explain).")
            source, note = read_stream(sys.stdin)
        else:
            source = decode(text.encode("utf-8", errors="replace"), source="the text")
    except InputError as exc:
        fail_usage(str(exc), as_json)
    result = explain_text(source)

    def human() -> None:
        from rnnshape.render.explain import print_explanation

        print_explanation(result, note=note)

    finish(result, as_json, human)


def _list(as_json: bool) -> None:
    from rnnshape.explain.wordings import listing

    rows, harvested = listing()
    if as_json:
        import json

        typer.echo(json.dumps({"ok": True, "releases_read": list(harvested), "wordings": rows}, indent=2))
    else:
        from rnnshape.render.explain import print_wordings

        print_wordings(rows, harvested)
    raise typer.Exit(0)
