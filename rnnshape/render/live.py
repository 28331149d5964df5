"""Rich output for live mode: what rnnshape prints under a traceback, and ``--warn`` findings.

Everything goes to stderr (the program's stdout stays its own) and is laid out to
survive 80 columns and pipes: code is never wrapped mid-token.
"""

from __future__ import annotations

import io
import sys
from typing import TextIO

from rich.console import Console, RenderableType
from rich.text import Text

from rnnshape.diagnoses import Diagnosis
from rnnshape.diagnoses.live import checked_axes
from rnnshape.live.diagnosis import LiveFinding
from rnnshape.live.warnings import LiveWarning
from rnnshape.render.report import code_text, diagnosis_panel


def _console(file: TextIO | None) -> Console:
    return Console(file=file or sys.stderr, highlight=False)


def _fact(label: str, value: str | Text) -> Text:
    """One ``label  value`` line; plain lines, not a table, so nothing pads them with spaces."""
    return Text.assemble((f"{label:<7}", "bold"), value)


def _where(where: str | None, line: str | None) -> list[Text]:
    return [_fact("line", f"{where}  {line or ''}".rstrip())] if where else []


def _diagnosis_parts(d: Diagnosis) -> list[tuple[RenderableType, bool]]:
    """The shared panel: prose wraps inside it, its fixes print below it, fitted as code."""
    return [(diagnosis_panel(d), False)]


def _finding_parts(finding: LiveFinding) -> list[tuple[RenderableType, bool]]:
    """(renderable, is_code) pairs: code lines (calls, tensors, fixes) print unwrapped."""
    header = Text.assemble(("rnnshape: ", "bold magenta"), "the live call behind this error")
    parts: list[tuple[RenderableType, bool]] = [(header, False), (_fact("call", code_text(finding.call)), True)]
    parts += [(t, True) for t in _where(finding.where, finding.line)]
    parts += [(_fact(seen.label, seen.text()), True) for seen in finding.tensors]
    for d in finding.diagnoses:
        parts += _diagnosis_parts(d)
    if finding.checked is not None:
        parts.append((Text(checked_axes(finding.checked.batch, finding.checked.seq_len), style="green"), False))
    parts += [(Text(note, style="dim"), False) for note in finding.notes]
    return parts


def _print_parts(console: Console, parts: list[tuple[RenderableType, bool]]) -> None:
    for renderable, is_code in parts:
        console.print(renderable, soft_wrap=is_code)


def print_finding(finding: LiveFinding, file: TextIO | None = None) -> None:
    _print_parts(_console(file), _finding_parts(finding))


def finding_text(finding: LiveFinding, width: int = 80) -> str:
    """Plain text (no colour), for a pytest report section."""
    buffer = io.StringIO()
    _print_parts(Console(file=buffer, width=width, color_system=None, highlight=False), _finding_parts(finding))
    return buffer.getvalue()


def print_warning(warning: LiveWarning, file: TextIO | None = None) -> None:
    header = Text.assemble(("rnnshape --warn: ", "bold yellow"), warning.layer_code)
    parts = [(header, True), *[(t, True) for t in _where(warning.where, warning.line)],
             *_diagnosis_parts(warning.diagnosis)]
    _print_parts(_console(file), parts)
