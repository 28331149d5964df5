"""Rich output for an :class:`rnnshape.explain.explainer.Explanation` (plain data in, renderables out)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.text import Text

from rnnshape.explain.explainer import Explanation
from rnnshape.render.report import diagnosis_panel
from rnnshape.render.safe import SafeConsole


def explanation_renderable(result: Explanation, note: str | None = None) -> Group:
    parts: list[RenderableType] = []
    if note:
        parts.append(Text(note, style="dim"))
    for finding in result.findings:
        ctx = finding.context
        bits = []
        if ctx.user_line:
            bits.append(f"your line: {ctx.user_line}" + (f"  ({ctx.where})" if ctx.where else ""))
        if ctx.layer:
            bits.append(f"layer: nn.{ctx.layer}")
        if finding.repeats > 1:
            bits.append(f"seen {finding.repeats} times")
        if bits:
            parts.append(Text(" · ".join(bits), style="dim"))
        parts.append(diagnosis_panel(finding.diagnosis))
    if result.unrecognised and result.findings:
        parts.append(Text("Also in the text, not in rnnshape's catalog:", style="bold"))
        for line in result.unrecognised:
            parts.append(Text(f"  {line[:300]}", style="dim"))
    if result.findings:
        n = len(result.findings)
        parts.append(Text(f"✓ explained {n} error{'s' if n > 1 else ''}", style="bold green"))
    else:
        parts.append(Text("✗ no PyTorch recurrent-layer error that rnnshape knows was found.",
                          style="bold yellow"))
        for line in result.looked_at[-5:] or ("(no text)",):
            parts.append(Text.assemble(("looked at: ", "dim"), (line[:500], "italic")))
        parts.append(Text("Paste the whole traceback, including the last line (the one that "
                          "starts with the error's name).", style="dim"))
    return Group(*parts)


def print_explanation(result: Explanation, note: str | None = None,
                      console: Console | None = None) -> None:
    (console or SafeConsole()).print(explanation_renderable(result, note))
