"""``rnnshape run``: the user's program run exactly as ``python`` would run it, plus the hooks.

Same ``sys.argv``, ``__main__``, ``sys.path[0]``, stdin and stdout (inherited, never
captured). An uncaught exception is printed by ``sys.excepthook`` (the program's own,
if it set one) with the traceback trimmed to start at the program, as Python's does;
rnnshape's diagnosis follows, and the exit code is 1, as Python's. ``SystemExit``
ends it with the program's own code, as Python's does. ``KeyboardInterrupt`` is printed like Python prints it and
the process then ends by SIGINT after every exit handler ran, as Python's does.
"""

from __future__ import annotations

import atexit
import os
import runpy
import signal
import sys
from types import TracebackType

from rnnshape.errors import UsageError

EXIT_UNCAUGHT = 1
_INTERRUPTED = {"flag": False}


def _kill_with_sigint() -> None:
    """Python's own ending after an uncaught KeyboardInterrupt: die by SIGINT (exit 130 in a shell)."""
    if _INTERRUPTED["flag"]:
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


def _is_runner_frame(filename: str) -> bool:
    return filename == __file__ or filename.startswith("<frozen runpy") or filename.endswith(os.sep + "runpy.py")


def _trim(tb: TracebackType | None) -> TracebackType | None:
    """Drop rnnshape's and runpy's frames above the program's first frame."""
    while tb is not None and _is_runner_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def run_program(target: str, args: list[str], *, as_module: bool, warn: bool = False) -> int:
    """Run the program; return the exit code Python would have given.

    ``SystemExit`` becomes its code here, as Python's own ending reads it: rnnshape's
    exit-code contract (0-3) is for rnnshape's commands, never for the program's codes.
    """
    from rnnshape import live

    if not as_module:
        path = os.path.abspath(target)
        if not os.path.exists(target):
            raise UsageError(f"{target!r}: no such file (rnnshape run SCRIPT.py [ARGS...] or "
                             "rnnshape run -m MODULE [ARGS...])")
        if os.path.isdir(target) and not os.path.exists(os.path.join(target, "__main__.py")):
            raise UsageError(f"{target!r} is a folder without __main__.py")
        sys.path[0] = path if os.path.isdir(path) else os.path.dirname(path)
        sys.argv = [target, *args]
    else:
        sys.path[0] = os.getcwd()
        sys.argv = [target, *args]  # runpy puts the module's file path here, as python -m does
    live.start(warn=warn)
    atexit.register(_kill_with_sigint)  # registered first, so it runs after the program's own handlers
    try:
        if as_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        return _exit_code(exc)
    except KeyboardInterrupt as exc:
        exc.__traceback__ = _trim(exc.__traceback__)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        _INTERRUPTED["flag"] = True
        return 130
    except BaseException as exc:
        exc.__traceback__ = _trim(exc.__traceback__)
        sys.stdout.flush()
        sys.excepthook(type(exc), exc, exc.__traceback__)
        live.explain_to(exc)
        return EXIT_UNCAUGHT
    return 0


def _exit_code(exc: SystemExit) -> int:
    """What python does with ``sys.exit(arg)``: None is 0, an int is itself, anything else is printed and 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stdout.flush()
    print(exc.code, file=sys.stderr)
    return 1
