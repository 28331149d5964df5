"""Rich output for :class:`rnnshape.engine.trace.TraceResult`: the shape flow as a tree."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from rnnshape.engine.trace import Call, TraceResult
from rnnshape.render.report import diagnosis_panel
from rnnshape.render.safe import SafeConsole

_MARK = {"ok": ("", ""), "failed": ("  ✗ failed here", "bold red"),
         "inside": ("  (failed inside)", "yellow"), "running": ("", "")}


def _label(call: Call) -> Group:
    head = Text()
    head.append(call.name, style="bold red" if call.status == "failed" else "bold")
    head.append("  ")
    head.append(call.settings if call.path else call.class_name, style="cyan")
    if call.repeats > 1:
        head.append(f"  x{call.repeats}", style="magenta")
    mark, style = _MARK.get(call.status, ("", ""))
    if mark:
        head.append(mark, style=style)
    lines: list[RenderableType] = [head]
    if call.spec is not None:  # recurrent: one line per tensor, each number explained
        for v in [*call.inputs, *call.outputs]:
            text = call.explained.get(v.label, v.text())
            lines.append(Text.assemble((f"{v.label:<7}", "dim"), text))
    else:
        ins = ", ".join(v.text() for v in call.inputs) or "()"
        line = Text.assemble(("in ", "dim"), ins)
        if call.outputs:
            line.append("  →  ", style="dim")
            line.append(", ".join(v.text() for v in call.outputs))
        lines.append(line)
    return Group(*lines)


def _add(tree: Tree, call: Call) -> None:
    branch = tree.add(_label(call))
    for child in call.children:
        _add(branch, child)


def trace_renderable(result: TraceResult) -> Group:
    parts: list[RenderableType] = []
    inputs = ", ".join(f"{v.label} {v.text()}" for v in result.inputs)
    engine = result.engine or f"torch ({result.device})"
    parts.append(Text(f"{result.target} · device {result.device} · engine: {engine} · inputs: {inputs}",
                      style="dim"))
    for note in result.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    if result.root is not None:
        tree = Tree(_label(result.root), guide_style="dim")
        for child in result.root.children:
            _add(tree, child)
        parts.append(tree)
    if result.uncalled:
        parts.append(Text(f"not called in this forward: {', '.join(result.uncalled)}", style="dim"))
    if result.stage is not None:
        where = f" in {result.failing_path}" if result.failing_path else ""
        stage = "building the model" if result.stage == "construct" else "the forward"
        parts.append(Text(f"{result.error_type}{where} during {stage}: {result.error_message}",
                          style="bold red"))
        for line in result.context:
            parts.append(Text(line, style="dim"))
    for d in result.diagnoses:
        parts.append(diagnosis_panel(d))
    if result.ok:
        parts.append(Text("✓ the forward ran; shapes above", style="bold green"))
    else:
        parts.append(Text("✗ the forward failed" if result.stage else "✗ see the diagnosis above",
                          style="bold red"))
    return Group(*parts)


def print_trace(result: TraceResult, console: Console | None = None) -> None:
    (console or SafeConsole()).print(trace_renderable(result))
