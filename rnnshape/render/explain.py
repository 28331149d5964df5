"""Rich output for ``rnnshape explain`` (plain data in, renderables out).

Rich is imported inside the functions: ``explain --json`` never pays for it. Code (the fix,
the user's line) is printed outside the panels, unwrapped and uncropped, so that at 80 columns
or through a pipe every line can be pasted back as Python. Pasted text is shown with control
characters escaped: nothing from the paste reaches the terminal raw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnshape.explain.explainer import Explanation

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from rnnshape.diagnoses import Diagnosis

_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f)}


def safe(text: str) -> str:
    """User-supplied text with control characters escaped (no terminal injection)."""
    return text.translate(_CONTROL)


def _code(code: str) -> list[RenderableType]:
    from rich.text import Text

    lines = []
    for line in safe(code).splitlines():
        style = "dim" if line.lstrip().startswith("#") else "bold cyan"
        lines.append(Text("    " + line, style=style, no_wrap=True, overflow="ignore"))
    return lines


def _panel(d: Diagnosis) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    colour = _SEVERITY_STYLE.get(d.severity, "white")
    parts: list[RenderableType] = [Text(safe(d.title), style="bold"), Text(safe(d.explanation))]
    torch_says = d.evidence.get("torch_message")
    if torch_says:
        parts.append(Text.assemble(("torch says: ", "dim"), (safe(str(torch_says)), "italic")))
    return Panel(Group(*parts), title=Text.assemble((f"{d.severity} ", f"bold {colour}"), (d.code, colour)),
                 title_align="left", border_style=colour)


def explanation_renderables(result: Explanation, note: str | None = None) -> list[RenderableType]:
    from rich.text import Text

    parts: list[RenderableType] = []
    if note:
        parts.append(Text(note, style="dim"))
    for finding in result.findings:
        ctx = finding.context
        bits = []
        if ctx.layer:
            bits.append(f"layer: nn.{ctx.layer}")
        if finding.repeats > 1:
            bits.append(f"seen {finding.repeats} times")
        if ctx.where:
            bits.append(f"at {safe(ctx.where)}")
        if bits:
            parts.append(Text(" · ".join(bits), style="dim"))
        if ctx.user_line:
            parts.append(Text("your line:", style="dim"))
            parts.extend(_code(ctx.user_line))
        parts.append(_panel(finding.diagnosis))
        if finding.diagnosis.fix:
            parts.append(Text("Fix:", style="bold"))
            parts.extend(_code(finding.diagnosis.fix))
    if result.unrecognised and result.findings:
        parts.append(Text("Also in the text, not in rnnshape's catalog:", style="bold"))
        for line in result.unrecognised:
            parts.append(Text(f"  {safe(line[:300])}", style="dim"))
    if result.findings:
        n = len(result.findings)
        parts.append(Text(f"✓ explained {n} error{'s' if n > 1 else ''}", style="bold green"))
    else:
        parts.append(Text("✗ no recurrent-layer error found: nothing in the text is a PyTorch "
                          "recurrent-layer error that rnnshape knows.", style="bold yellow"))
        for line in result.looked_at[-5:] or ("(no text)",):
            parts.append(Text.assemble(("looked at: ", "dim"), (safe(line[:500]), "italic")))
        parts.append(Text("Paste the whole traceback, including the last line (the one that "
                          "starts with the error's name). To ask for a wording rnnshape does not "
                          "know: rnnshape explain --list shows the known ones.", style="dim"))
    return parts


def print_explanation(result: Explanation, note: str | None = None,
                      console: Console | None = None) -> None:
    from rnnshape.render.safe import SafeConsole

    out = console or SafeConsole()
    for part in explanation_renderables(result, note):
        if getattr(part, "no_wrap", False):
            # code: one physical line each, never wrapped or cropped, whatever the width
            out.print(part, no_wrap=True, overflow="ignore", crop=False, soft_wrap=True)
        else:
            out.print(part, crop=False)


def print_wordings(rows: list[dict[str, Any]], harvested: tuple[str, ...],
                   console: Console | None = None) -> None:
    """``explain --list`` for people: each wording, its entry and releases, then the message."""
    from rich.console import Console
    from rich.text import Text

    out = console or Console()
    out.print(Text(f"{len(rows)} wordings of torch's recurrent-layer messages that rnnshape "
                   f"explains, torch 0.4 to {harvested[-1] if harvested else '2.x'}. Dated from "
                   f"torch's own code in {', '.join(harvested)} (CUDA-only wordings from the CUDA "
                   "builds read, marked); older wordings from the users' reports they come from.",
                   style="bold"))
    for row in rows:
        out.print(Text.assemble((row["id"], "bold cyan"), ("  entry ", "dim"), (row["entry"], "cyan"),
                                ("  torch ", "dim"), (row["releases_text"], "green")))
        out.print(Text("    " + safe(row["example"].splitlines()[0]), style="italic"))
    out.print(Text("Missing a wording? Open an issue with the verbatim traceback and your torch "
                   "version (python -c 'import torch; print(torch.__version__)').", style="dim"))
