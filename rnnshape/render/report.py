"""Rendering: Rich renderables for people, one JSON object for machines.

Everything here reads plain data (Report, Diagnosis) and composes small
renderables; nothing decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from rnnshape.diagnoses import Diagnosis, fmt_shape
from rnnshape.diagnoses.fixes import VERIFIED_LABEL, Fix
from rnnshape.render.options import ParameterView
from rnnshape.render.safe import SafeConsole

if TYPE_CHECKING:  # explain and diagnose draw panels only: the inspect report code stays unloaded
    from rich.table import Table

    from rnnshape.engine.report import Report

_MAX_PARAMETER_ROWS = 24
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}


def code_text(code: str) -> Text:
    """Code shown as code. Plain styled text: pygments would cost more to import than it adds."""
    text = Text()
    for line in code.splitlines():
        style = "dim" if line.lstrip().startswith("#") else "bold cyan"
        text.append(line + "\n", style=style)
    text.rstrip()
    return text


def diagnosis_panel(d: Diagnosis) -> RenderableType:
    """The finding in a panel, then its fixes *below* it as plain code (never wrapped by Rich).

    Code inside a panel gets wrapped mid-token at the panel's width; below it, each
    line is fitted to the terminal by :func:`fit_code` so that it stays valid Python.
    """
    colour = _SEVERITY_STYLE.get(d.severity, "white")
    parts: list[RenderableType] = [Text(d.title, style="bold"), Text(d.explanation)]
    source = d.evidence.get("origin")
    if source:
        parts.append(Text(f"The number came from: {source}", style="dim"))
    torch_says = d.evidence.get("torch_message")
    if torch_says:
        parts.append(Text.assemble(("torch says: ", "dim"), (str(torch_says), "italic")))
    panel = Panel(
        Group(*parts),
        title=Text.assemble((f"{d.severity} ", f"bold {colour}"), (d.code, colour)),
        title_align="left",
        border_style=colour,
    )
    if not d.fixes:
        return panel
    return Group(panel, *(FixBlock(f, i, len(d.fixes)) for i, f in enumerate(d.fixes, 1)))


class FixBlock:
    """One fix: a comment line saying what it assumes and how it was checked, then its code.

    The whole block is Python (the heading is a comment), fitted to the width it is
    rendered at, and followed by a blank line, so it can be pasted or parsed as is.
    """

    def __init__(self, fix: Fix, number: int, total: int) -> None:
        self.fix, self.number, self.total = fix, number, total

    def heading(self) -> str:
        which = f"fix {self.number} of {self.total}" if self.total > 1 else "fix"
        label = f", {self.fix.label}" if self.fix.label else ""
        return f"# {which}{label} ({VERIFIED_LABEL[self.fix.verified]}):"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = max(options.max_width, 20)
        for line in [*fit_code(self.heading(), width).splitlines(), *fit_code(self.fix.code, width).splitlines()]:
            style = "dim" if line.lstrip().startswith("#") else "bold cyan"
            yield Text(line, style=style, no_wrap=True, overflow="ignore")
        yield Text("")


def fit_code(code: str, width: int) -> str:
    """Python code whose lines fit ``width`` and still parse: comments move above their line
    and wrap at words; long lines break after a comma inside brackets (implicit continuation).
    A line with no such place is left long (overflow) rather than cut mid-token."""
    out: list[str] = []
    for line in code.splitlines():
        out.extend(_fit_line(line, width))
    return "\n".join(out)


def _fit_line(line: str, width: int, depth: int = 0) -> list[str]:
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    if line.lstrip().startswith("#"):
        return _wrap_comment(line.lstrip()[1:].strip(), indent, width)
    code, comment = _split_comment(line)
    if comment:
        return [*_wrap_comment(comment, indent, width), *_fit_line(code.rstrip(), width, depth)]
    return _break(line, width, depth)


def _split_comment(line: str) -> tuple[str, str]:
    """``code   # comment`` -> (code, comment); a ``#`` inside a string is not a comment."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i], line[i + 1:].strip()
    return line, ""


def _wrap_comment(text: str, indent: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and len(indent) + 2 + len(candidate) > width:
            lines.append(f"{indent}# {current}")
            current = word
        else:
            current = candidate
    lines.append(f"{indent}# {current}")
    return lines


def _break(line: str, width: int, depth: int) -> list[str]:
    """Break after the last ``, `` inside brackets that fits ``width`` (implicit continuation),
    else at the last space outside a string, with a backslash. ``depth``: brackets already
    open from the lines before."""
    comma = space = None
    quote = ""
    opened: list[int] = []
    level = depth
    for i, ch in enumerate(line[:width]):
        if quote:
            quote = "" if ch == quote else quote
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            level += 1
            opened.append(i)
        elif ch in ")]}":
            level -= 1
            opened = opened[:-1]
        elif ch == "," and level > 0 and line[i + 1: i + 2] == " ":
            comma = (i, opened[-1] if opened else None, level)
        elif ch == " " and i < width - 2 and line[:i].strip():
            space = (i, level)
    if comma is not None:
        cut, bracket, level = comma
        pad = bracket + 1 if bracket is not None and bracket + 1 < width // 2 else 4
        return [line[: cut + 1], *_fit_line(" " * pad + line[cut + 1:].lstrip(), width, level)]
    if space is not None:
        cut, level = space
        return [line[:cut] + " \\", *_fit_line(" " * 4 + line[cut + 1:].lstrip(), width, level)]
    return [line]  # one token longer than the terminal: left whole (never cut by us)


def tensor_table(report: Report) -> Table:
    from rich.table import Table

    from rnnshape.engine.report import CELL_TENSORS, PACKED_TENSORS, SEQUENCE_TENSORS

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("tensor", style="bold")
    table.add_column("shape = (each dimension and where it comes from)")
    table.add_column("dtype", style="dim")
    if report.sources:
        table.add_column("from", style="dim")
    order = (CELL_TENSORS if report.spec.is_cell else SEQUENCE_TENSORS) + PACKED_TENSORS
    for name in order:
        info = report.tensors.get(name)
        if info is None:
            continue
        row = [name, info.describe(), info.dtype]
        if report.sources:  # a path as written: Text, so that "runs/exp[3]/x.pt" is not read as markup
            row.append(Text(report.sources.get(name, "")))
        table.add_row(*row)
    return table


def packed_line(report: Report) -> Text:
    if not report.packed:
        return Text("")
    p = report.packed
    return Text(
        f"packed with lengths {p['lengths']} (enforce_sorted={p['enforce_sorted']}): "
        f"batch_sizes {p['batch_sizes']}, {p['data_rows']} rows of data; output is shown "
        f"after pad_packed_sequence, padded to the longest length.", style="dim")


def parameter_table(report: Report, full: bool = False) -> RenderableType:
    from rich.table import Table

    from rnnshape.engine.report import human_bytes
    from rnnshape.model.memory import numel

    if not report.parameters:
        return Text("")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    table.add_column(justify="right", style="dim")
    rows = report.parameters
    if not full and len(rows) > _MAX_PARAMETER_ROWS:  # a deep stack: the first and last layers say it all
        head, tail = rows[: _MAX_PARAMETER_ROWS - 4], rows[-4:]
        rows = [*head, ("…", ()), *tail]
    for name, shape in rows:
        if name == "…":
            table.add_row(f"… {len(report.parameters) - _MAX_PARAMETER_ROWS + 1} more", "", "")
            continue
        table.add_row(name, fmt_shape(shape), f"{numel(shape):,}")
    summary = Text(
        f"parameters: {len(report.parameters)} tensors, {report.parameter_count:,} values, "
        f"{human_bytes(report.parameter_bytes)} ({report.request.dtype})", style="bold")
    return Group(summary, table)


def run_line(report: Report) -> Text:
    from rnnshape.engine.report import human_bytes

    bits = [f"device {report.device}", f"engine: {report.engine}"]
    fwd = report.timing.get("forward_ms")
    if fwd is not None:
        bits.append(f"forward {fwd:.2f} ms")
    if report.timing.get("repeat"):
        t = report.timing
        bits.append(f"{t['repeat']:.0f} more forwards: median {t['median_ms']:.2f} ms "
                    f"(min {t['min_ms']:.2f}, max {t['max_ms']:.2f}, sd {t['stdev_ms']:.2f})")
    if report.memory_bytes:
        bits.append(f"memory estimate {human_bytes(report.memory_bytes)}")
    return Text(" · ".join(bits), style="dim")


def verdict(report: Report) -> Text:
    errors = sum(d.is_error for d in report.diagnoses)
    warnings = sum(d.severity == "warning" for d in report.diagnoses)
    if errors:
        return Text(f"✗ {errors} error{'s' if errors > 1 else ''}"
                    + (f", {warnings} warning{'s' if warnings > 1 else ''}" if warnings else ""),
                    style="bold red")
    if warnings:
        return Text(f"✓ shapes work, {warnings} warning{'s' if warnings > 1 else ''}",
                    style="bold yellow")
    return Text("✓ shapes work", style="bold green")


def report_renderable(report: Report, parameters: ParameterView | None = None) -> Group:
    parts: list[RenderableType] = [
        code_text(report.spec.to_code()),
        run_line(report),
        Text(""),
        tensor_table(report),
        *([packed_line(report)] if report.packed else []),
        *diagram_section(report),
        *parameter_section(report, parameters or ParameterView.SUMMARY),
    ]
    for d in report.diagnoses:
        parts.append(diagnosis_panel(d))
    parts.append(verdict(report))
    return Group(*parts)


def print_report(report: Report, console: Console | None = None,
                 parameters: ParameterView | None = None) -> None:
    (console or SafeConsole()).print(report_renderable(report, parameters))


# --------------------------------------------------------------------------- inspect --diagram, --params


def parameter_section(report: Report, view: ParameterView) -> list[RenderableType]:
    if view is ParameterView.NONE:
        return []
    return [Text(""), parameter_table(report, full=view is ParameterView.ALL)]


def diagram_section(report: Report) -> list[RenderableType]:
    """The layer's picture, when ``inspect --diagram`` put a layout on the report."""
    if report.layout is None:
        return []
    from rnnshape.render.diagram import diagram

    return [Text(""), diagram(report.layout)]


def print_diagnoses(diagnoses: Iterable[Diagnosis], console: Console | None = None) -> None:
    console = console or SafeConsole()
    for d in diagnoses:
        console.print(diagnosis_panel(d))


def dump_json(payload: dict[str, Any]) -> str:
    import json  # the human output never needs it

    return json.dumps(payload, indent=2, default=repr)
