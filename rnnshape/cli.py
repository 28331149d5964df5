"""The command line: parse, call, render. No shape logic lives here.

torch is never imported at module level: ``--dry-run`` and ``explain`` must not
pay for it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from rnnshape import __version__
from rnnshape.commands import check as check_cmd
from rnnshape.commands import diagnose as diagnose_cmd
from rnnshape.commands import explain as explain_cmd
from rnnshape.commands import inspect as inspect_cmd
from rnnshape.commands import run as run_cmd
from rnnshape.commands import trace as trace_cmd
from rnnshape.commands.common import EXIT_DIAGNOSED

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Shape inspector and error explainer for PyTorch recurrent layers "
         "(nn.RNN, nn.LSTM, nn.GRU and their cells).",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnshape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool | None, typer.Option("--version", callback=_version,
                                                    is_eager=True, help="Show the version.")] = None,
) -> None:
    """Shape inspector and error explainer for PyTorch recurrent layers."""



app.command()(inspect_cmd.inspect)
app.command()(explain_cmd.explain)
app.command()(check_cmd.check)
app.command()(trace_cmd.trace)
app.command()(diagnose_cmd.diagnose)
app.command(context_settings=run_cmd.CONTEXT)(run_cmd.run)


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("rnnshape: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug in rnnshape: say so in one paragraph
        sys.stderr.write(
            f"rnnshape: internal error ({type(exc).__name__}: {exc}). This is a bug in "
            f"rnnshape; please report it with the command you ran.\n")
        sys.exit(EXIT_DIAGNOSED)
