"""Python's cycle collector paused around work whose objects all live to the end.

Imports, a paste's syntax tree and the follower's values are many small objects that live as long
as the work; the collector would walk them again and again and free nothing (a tenth of a command's
start, a third of a 10,000-line ``diagnose``). One pause serves the library (``diagnose_paste``)
and the commands (``commands.common``, which also freezes what was built when the process ends
with the command). Pure Python, no torch.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, freeze: Callable[[], bool] | None = None) -> Iterator[None]:
    """The collector off for the block, then back on; a pause already in force is left to its owner.

    ``freeze``: asked on the way out; when it answers True, what exists then is frozen (never walked again)
    before the collector resumes.
    """
    if not gc.isenabled():  # already paused by a caller: it resumes it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if freeze is not None and freeze():
            gc.freeze()
        gc.enable()
