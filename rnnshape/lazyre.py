"""Regular expressions compiled on first use, so importing ``explain`` or ``diagnose`` compiles none."""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """A ``re.Pattern`` stand-in that compiles its source the first time it is used.

    It forwards every attribute (``search``, ``match``, ``sub``, ``finditer``, ...) to the
    compiled pattern, so callers (``diagnose`` uses ``ANSI_ESCAPE.sub``) need not know.
    """

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (bind its methods once in loops over every line)."""
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    @property
    def is_compiled(self) -> bool:
        return self._compiled is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source!r})"


def lazy(source: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(source, flags)
