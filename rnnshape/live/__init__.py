"""Live mode: explain recurrent-layer errors where they happen, with the real tensors' shapes.

Four ways in, one engine (:mod:`rnnshape.live.diagnosis`):

- ``rnnshape run script.py`` / ``rnnshape run -m pkg`` (:mod:`rnnshape.live.runner`)
- ``with rnnshape.explained(): ...`` and ``rnnshape.install()`` (``sys.excepthook``)
- the pytest plugin (:mod:`rnnshape.live.pytest_plugin`, ``-p rnnshape`` or ``--rnnshape``)
- the IPython extension (``%load_ext rnnshape``)

Importing this package never imports torch; the hooks wait for torch to be imported.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TextIO


def start(*, warn: bool = False, file: TextIO | None = None) -> None:
    """Install the hooks (now if torch is loaded, else when it is); ``warn`` adds --warn's checks."""
    from rnnshape.live import hooks

    def report(warning: Any) -> None:
        from rnnshape.render.live import print_warning

        print_warning(warning, file)

    hooks.install(warn=warn, report=report if warn else None)


def explain_to(exc: BaseException, file: TextIO | None = None) -> bool:
    """Print rnnshape's live diagnosis of ``exc`` (nothing when it is not a recurrent-layer error)."""
    from rnnshape.live.diagnosis import explain_exception

    finding = explain_exception(exc)
    if finding is None:
        return False
    from rnnshape.render.live import print_finding

    print_finding(finding, file)
    return True


@contextmanager
def explained(*, warn: bool = False, file: TextIO | None = None) -> Iterator[None]:
    """``with rnnshape.explained(): train()``: a recurrent-layer error escaping the block carries
    rnnshape's explanation as an exception note (Python 3.11+: printed under the traceback), or,
    given ``file`` or on Python 3.10, has it printed there; the exception then propagates."""
    start(warn=warn, file=file)
    try:
        yield
    except Exception as exc:
        if file is None and hasattr(exc, "add_note"):
            _add_note(exc)  # printed under the traceback, wherever it is printed
        else:
            explain_to(exc, file)
        raise


def _add_note(exc: BaseException) -> None:
    import shutil

    from rnnshape.live.diagnosis import explain_exception

    finding = explain_exception(exc)
    if finding is not None:
        from rnnshape.render.live import finding_text

        exc.add_note(finding_text(finding, width=shutil.get_terminal_size().columns).rstrip("\n"))


def install(*, warn: bool = False, file: TextIO | None = None) -> None:
    """Explain recurrent-layer errors under the traceback of any uncaught exception
    (wraps ``sys.excepthook``; the previous hook still prints the traceback)."""
    start(warn=warn, file=file)
    previous = sys.excepthook
    if getattr(previous, "_rnnshape", False):
        return

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        previous(kind, value, tb)
        explain_to(value, file)

    excepthook._rnnshape = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext rnnshape``: explain such exceptions under the cell's traceback."""
    start()

    def handler(shell: Any, kind: type[BaseException], value: BaseException, tb: TracebackType | None,
                tb_offset: int | None = None) -> None:
        shell.showtraceback((kind, value, tb), tb_offset=tb_offset)
        explain_to(value, sys.stdout)

    ipython.set_custom_exc((Exception,), handler)


def unload_ipython_extension(ipython: Any) -> None:
    ipython.set_custom_exc((), None)
