"""The command line: parse, call, render. No shape logic lives here.

torch is never imported at module level: ``--dry-run`` and ``explain`` must not
pay for it. Nor is typer: the root ``--help`` is answered from ``rnnshape/_listing.py``
(typer's own output, kept with what it was rendered from) while nothing it depends on
has changed, and typer renders it otherwise.
"""

import errno
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn

from rnnshape import __version__
from rnnshape.commands.common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, REPORT_REQUEST, failure_json

if TYPE_CHECKING:
    import typer

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
        import typer

        typer.echo(f"rnnshape {__version__}")
        raise typer.Exit()


def _root_callback() -> Callable[..., None]:
    """The app's callback (``--version``); made on demand, as its annotation needs typer."""
    import typer

    def _root(
        version: Annotated[bool | None, typer.Option("--version", callback=_version,
                                                        is_eager=True, help="Show the version.")] = None,
    ) -> None:
        """Shape inspector and error explainer for PyTorch recurrent layers."""

    return _root


def build_app(only: str | None = None, *, listing: bool = False) -> "typer.Typer":
    """The Typer app with every command, or with ``only`` that one when it names a command.

    ``listing``: each command as a stand-in with only its name and help, for the root
    ``--help`` (and usage errors), which show nothing more of them.
    """
    import typer

    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        help="Shape inspector and error explainer for PyTorch recurrent layers "
             "(nn.RNN, nn.LSTM, nn.GRU and their cells).",
    )
    app.callback()(_root_callback())
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


def _app_for(args: list[str]) -> "typer.Typer":
    """The app a command line needs: the one command it calls, else the listing of all."""
    called = _called(args)
    return build_app(called) if called in COMMANDS else build_app(listing=True)


# --------------------------------------------------------------------------- the root --help, kept

#: The widest help click draws: the terminal's columns, at most 80, less 2 (and never under 50).
_LISTING_COLUMNS = 80


def render_listing(columns: int = _LISTING_COLUMNS) -> str:
    """The root ``--help`` exactly as typer prints it on a terminal of ``columns`` (without the final newline).

    The same app and context ``rnnshape --help`` builds; click's help formatter is given the
    width it would take from the terminal. ``tools/write_listing.py`` keeps ``rnnshape/_listing.py``.
    """
    import typer

    command = typer.main.get_command(build_app(listing=True))
    with command.make_context("rnnshape", [], resilient_parsing=True,
                              terminal_width=max(min(columns, 80) - 2, 50)) as ctx:
        return ctx.get_help()


def listing_key(columns: int) -> str | None:
    """Everything the root ``--help`` is drawn from, as one string; None when a part cannot be read.

    typer's version (its formatting), the width click would use, this module's source (the
    app's settings, the callback, ``COMMANDS``) and each command's docstring, read from its
    module's source. A command's options are not part of it: the root ``--help`` shows none.
    """
    import re
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("typer")
    typer_init = _source(spec.origin) if spec is not None and spec.origin else None
    found = re.search(r'^__version__ = "([^"]+)"', typer_init or "", re.MULTILINE)
    parts = [f"typer {found.group(1) if found else None}", f"width {max(min(columns, 80) - 2, 50)}",
             _source(__file__)]
    here = os.path.dirname(os.path.abspath(__file__))
    for name, module in COMMANDS.items():
        source = _source(os.path.join(here, *module.split(".")[1:]) + ".py")
        # the def, its indented parameter lines, then the docstring: nothing else can match
        doc = re.search(rf'^def {name}\(\n(?:(?:    [^\n]*)?\n)*?\) -> None:\n    """(.*?)"""', source or "",
                        re.MULTILINE | re.DOTALL)
        parts.append(f"{name}: {doc.group(1) if doc else None}")
    if not found or None in parts or any(p.endswith(": None") for p in parts[3:]):
        return None
    return "\n".join(parts)


def _source(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _kept_listing(args: list[str]) -> str | None:
    """The kept root ``--help`` when this run would print exactly it, else None (typer renders it)."""
    if args != ["--help"]:
        return None
    formatting = sys.modules.get("typer._click.formatting")
    if formatting is not None and formatting.FORCED_WIDTH is not None:  # a test runner fixed the width
        return None
    import shutil

    try:
        from rnnshape import _listing
    except ImportError:  # an install without it: typer renders the listing
        return None
    if not _listing.TEXT.isascii():  # any stream writes ASCII as click's echo would
        return None
    columns = min(shutil.get_terminal_size().columns, _LISTING_COLUMNS)
    if columns != _LISTING_COLUMNS:
        return None
    import zlib

    key = listing_key(columns)
    return _listing.TEXT if key is not None and zlib.crc32(key.encode()) == _listing.KEY else None


def _called(args: list[str]) -> str | None:
    """The command a command line calls: its first word that is not an option."""
    return next((a for a in args if not a.startswith("-")), None)


def __getattr__(name: str) -> "typer.Typer":
    if name == "app":  # the whole app, for tests and for tools that import it
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point: every path ends with an exit code of the contract, never a traceback."""
    global ENDS_WITH_COMMAND
    ENDS_WITH_COMMAND = True
    _pause_collector()
    sys.exit(run(sys.argv[1:] if argv is None else list(argv)))


#: Set by main(): the cyclic garbage collector waits until the command's parser is built.
_COLLECTOR_PAUSED = False
#: Set by main(): the process ends with the command, so what a command built may be frozen rather than collected
#: (in-process callers of the app keep their collections: frozen cycles would never be freed).
ENDS_WITH_COMMAND = False


def _pause_collector() -> None:
    """Startup creates tens of thousands of objects that live as long as the process (typer's and
    the command's modules, classes, functions): the collector would walk them over and over, a
    tenth of a torch-free command's run, and free nothing. It resumes in :func:`_resume_collector`."""
    global _COLLECTOR_PAUSED
    import gc

    if gc.isenabled():
        gc.disable()
        _COLLECTOR_PAUSED = True


def _resume_collector() -> None:
    """The collector back on before the command reads its input; what startup built is frozen
    (never walked again), so the collections the work needs stay proportional to the work."""
    global _COLLECTOR_PAUSED
    if _COLLECTOR_PAUSED:
        import gc

        gc.freeze()
        gc.enable()
        _COLLECTOR_PAUSED = False


def run(args: list[str]) -> int:
    """Run the app on ``args`` and return its exit code (0 fine, 1 diagnosed, 2 usage, 3 internal).

    Typer runs with ``standalone_mode=False`` so that the argument parser's own errors
    come back here, to be answered as JSON under ``--json`` like every other usage error.
    """
    as_json = "--json" in args
    _usable_streams()
    kept = _kept_listing(args)
    if kept is not None:  # what typer would print: written as click's echo writes it
        try:
            sys.stdout.write(kept + "\n")
            sys.stdout.flush()
        except OSError as exc:
            return _output_failed(exc) if exc.errno in _OUTPUT_ERRNOS else _internal(exc, as_json)
        return EXIT_OK
    import typer

    try:
        app = _app_for(args)
        _resume_collector()
        code = app(args=args, prog_name="rnnshape", standalone_mode=False)
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


def _parser_error(exc: "typer.TyperException", as_json: bool) -> int:
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
