"""The command line: parse, call, render. No shape logic lives here.

torch is never imported at module level: ``--dry-run`` and ``explain`` must not
pay for it.
"""

import errno
import os
import sys
from collections.abc import Callable
from typing import Annotated, NoReturn

import typer

from rnnshape import __version__
from rnnshape.commands.common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, REPORT_REQUEST, failure_json

#: Every command: its name -> the module that holds the function of that name. A run imports
#: and converts only the command it calls (typer builds every registered command's parser on
#: each call: ~200 ms for all five here, ~2 ms for one); --help and errors see them all.
COMMANDS = {
    "inspect": "rnnshape.commands.inspect",
    "explain": "rnnshape.commands.explain",
    "check": "rnnshape.commands.check",
    "trace": "rnnshape.commands.trace",
    "diagnose": "rnnshape.commands.diagnose",
    "run": "rnnshape.commands.run",
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
        module = __import__(COMMANDS[name], fromlist=[name])
        command = getattr(module, name)
        # `run` passes the script's own arguments through untouched (its module says how)
        settings = getattr(module, "CONTEXT", None)
        app.command(name, context_settings=settings)(_stand_in(command) if listing else command)
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


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point: every path ends with an exit code of the contract, never a traceback."""
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


def run(args: list[str]) -> int:
    """Run the app on ``args`` and return its exit code (0 fine, 1 diagnosed, 2 usage, 3 internal).

    Typer runs with ``standalone_mode=False`` so that the argument parser's own errors
    come back here, to be answered as JSON under ``--json`` like every other usage error.
    """
    as_json = "--json" in args
    _usable_streams()
    try:
        code = _app_for(args)(args=args, prog_name="rnnshape", standalone_mode=False)
        sys.stdout.flush()
        return code if isinstance(code, int) else EXIT_OK
    except SystemExit as exc:  # typer's own exits (a closed pipe) and sys.exit in a command
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) and 0 <= exc.code <= EXIT_INTERNAL else EXIT_USAGE
    except typer.TyperException as exc:  # the argument parser: unknown option, `--seq-len abc`
        return _parser_error(exc, as_json)
    except typer.Abort:  # stdin closed under a prompt
        return _report(EXIT_USAGE, "the input ended before the command could read it.", as_json)
    except KeyboardInterrupt:
        sys.stderr.write("rnnshape: interrupted\n")
        return 130
    except OSError as exc:
        if exc.errno in _OUTPUT_ERRNOS:
            return _output_failed(exc)
        return _internal(exc, as_json)
    except Exception as exc:  # a bug in rnnshape: say so in one paragraph
        return _internal(exc, as_json)


#: The output cannot be written: a closed pipe, a full disk (> /dev/full), a closed descriptor.
_OUTPUT_ERRNOS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT})


def _usable_streams() -> None:
    """Closed stdin/stdout/stderr become empty ones; an encoding that cannot show a character escapes it."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
            reconfigure(errors="backslashreplace")


def _parser_error(exc: typer.TyperException, as_json: bool) -> int:
    code = getattr(exc, "exit_code", EXIT_USAGE)
    if code == EXIT_OK:  # not an error (no arguments: the help was shown)
        exc.show()
        return EXIT_OK
    if as_json:
        _emit(failure_json(exc.format_message(), EXIT_USAGE))
    exc.show()
    return EXIT_USAGE


def _report(code: int, message: str, as_json: bool) -> int:
    from rnnshape.render.safe import escape_control  # rich loads only when there is something to say

    if as_json:
        _emit(failure_json(message, code))
    sys.stderr.write(f"rnnshape: error: {escape_control(message)}\n")
    sys.stderr.flush()
    return code


def _internal(exc: BaseException, as_json: bool) -> int:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return _report(EXIT_INTERNAL, f"internal error ({type(exc).__name__}: {first}). {REPORT_REQUEST}", as_json)


def _output_failed(exc: OSError) -> int:
    """Nowhere to write: say so on stderr (once), and keep the exit at interpreter end quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)
    if exc.errno != errno.EPIPE:  # a reader that went away asked for no more; a full disk is news
        try:
            sys.stderr.write(f"rnnshape: error: cannot write the output ({exc.strerror or exc}).\n")
            sys.stderr.flush()
        except OSError:
            pass
    return EXIT_USAGE


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
