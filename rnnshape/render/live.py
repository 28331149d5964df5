"""Rich output for live mode: what rnnshape prints under a traceback, and ``--warn`` findings.

Everything goes to stderr (the program's stdout stays its own) and is laid out to
survive 80 columns and pipes: code is never wrapped mid-token.
"""

from __future__ import annotations

import io
import sys
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.text import Text

from rnnshape.live.diagnosis import LiveFinding
from rnnshape.live.warnings import LiveWarning
from rnnshape.render.report import code_text, diagnosis_panel


def _console(file: TextIO | None, width: int | None = None) -> Console:
    return Console(file=file or sys.stderr, width=width, soft_wrap=False, highlight=False)


def _fact(label: str, value: str | Text) -> Text:
    """One ``label  value`` line; plain lines, not a table, so nothing pads them with spaces."""
    return Text.assemble((f"{label:<7}", "bold"), value)


def _where(where: str | None, line: str | None) -> list[Text]:
    return [_fact("line", f"{where}  {line or ''}".rstrip())] if where else []


def finding_renderable(finding: LiveFinding) -> Group:
    header = Text.assemble(("rnnshape: ", "bold magenta"), "the live call behind this error")
    parts: list[RenderableType] = [header, _fact("call", code_text(finding.call)),
                                   *_where(finding.where, finding.line),
                                   *(_fact(seen.label, seen.text()) for seen in finding.tensors)]
    parts.extend(diagnosis_panel(d) for d in finding.diagnoses)
    if finding.checked is not None:
        c = finding.checked
        axes = f"batch {c.batch}" + (f", seq_len {c.seq_len}" if c.seq_len is not None else "")
        parts.append(Text(f"✓ fix checked against these shapes: the call then works, {axes} unchanged.",
                          style="green"))
    parts.extend(Text(note, style="dim") for note in finding.notes)
    return Group(*parts)


def print_finding(finding: LiveFinding, file: TextIO | None = None) -> None:
    _console(file).print(finding_renderable(finding))


def finding_text(finding: LiveFinding, width: int = 80) -> str:
    """Plain text (no colour), for a pytest report section."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, soft_wrap=False, highlight=False).print(
        finding_renderable(finding))
    return buffer.getvalue()


def print_warning(warning: LiveWarning, file: TextIO | None = None) -> None:
    header = Text.assemble(("rnnshape --warn: ", "bold yellow"), warning.layer_code)
    _console(file).print(Group(header, *_where(warning.where, warning.line), diagnosis_panel(warning.diagnosis)))
