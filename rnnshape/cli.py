"""The command line: parse, call, render. No shape logic lives here.

torch is never imported at module level: ``--dry-run`` and ``explain`` must not
pay for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from rnnshape import __version__
from rnnshape.commands.common import EXIT_DIAGNOSED

#: Every command: its name -> the module that holds the function of that name. A run imports
#: and converts only the command it calls (typer builds every registered command's parser on
#: each call: ~200 ms for all five here, ~2 ms for one); --help and errors see them all.
COMMANDS = {
    "inspect": "rnnshape.commands.inspect",
    "explain": "rnnshape.commands.explain",
    "check": "rnnshape.commands.check",
    "trace": "rnnshape.commands.trace",
    "diagnose": "rnnshape.commands.diagnose",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnshape {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[bool | None, typer.Option("--version", callback=_version,
                                                    is_eager=True, help="Show the version.")] = None,
) -> None:
    """Shape inspector and error explainer for PyTorch recurrent layers."""


def build_app(only: str | None = None, *, listing: bool = False) -> typer.Typer:
    """The Typer app with every command, or with ``only`` that one when it names a command.

    ``listing``: each command as a stand-in with only its name and help, for the root
    ``--help`` (and usage errors), which show nothing more of them.
    """
    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        help="Shape inspector and error explainer for PyTorch recurrent layers "
             "(nn.RNN, nn.LSTM, nn.GRU and their cells).",
    )
    app.callback()(_root)
    for name in (only,) if only in COMMANDS else COMMANDS:
        # __import__, not importlib.import_module: -X importtime (tests/test_commands.py) sees it
        command = getattr(__import__(COMMANDS[name], fromlist=[name]), name)
        app.command(name)(_stand_in(command) if listing else command)
    return app


def _stand_in(command: Callable[..., None]) -> Callable[[], None]:
    def listed() -> None:
        """(listing only: main() runs the real command)"""

    listed.__doc__ = command.__doc__
    return listed


def _app_for(args: list[str]) -> typer.Typer:
    """The app a command line needs: the one command it calls, else the listing of all."""
    called = _called(args)
    return build_app(called) if called in COMMANDS else build_app(listing=True)


def _called(args: list[str]) -> str | None:
    """The command a command line calls: its first word that is not an option."""
    return next((a for a in args if not a.startswith("-")), None)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole app, for tests and for tools that import it
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    try:
        _app_for(sys.argv[1:])()
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
