"""User text made safe for a terminal: control characters shown, never obeyed.

Names from TOML files, module names, constructor values, pasted code and error
messages all come from users. An escape sequence among them (``ESC c`` resets a
terminal, OSC 52 writes the clipboard) must reach the screen as visible text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

# C0 controls except tab and newline, DEL, and the C1 controls (0x80-0x9f: CSI is 0x9b).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return "^[" if code == 0x1B else f"\\x{code:02x}"


def escape_control(text: str) -> str:
    """``text`` with every control character but tab and newline made visible (ESC as ``^[``)."""
    return _CONTROL.sub(_visible, text)


def escape_line(text: str) -> str:
    """As :func:`escape_control`, newlines included: for text that must stay on one line."""
    return escape_control(text).replace("\n", "\\n")


class SafeConsole(Console):
    """A Rich console that escapes control characters in the text it prints, never in its own styling.

    Rich styles arrive as segment styles (rendered after this), and cursor moves as
    control segments (kept): only the characters of the text itself are escaped.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(escape_control(segment.text), segment.style)
            for segment in buffer)
