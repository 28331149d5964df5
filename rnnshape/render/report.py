"""Rendering: Rich renderables for people, one JSON object for machines.

Everything here reads plain data (Report, Diagnosis) and composes small
renderables; nothing decides anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from rnnshape.diagnoses import Diagnosis, fmt_shape

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


def diagnosis_panel(d: Diagnosis) -> Panel:
    colour = _SEVERITY_STYLE.get(d.severity, "white")
    parts: list[RenderableType] = [Text(d.title, style="bold"), Text(d.explanation)]
    source = d.evidence.get("origin")
    if source:
        parts.append(Text(f"The number came from: {source}", style="dim"))
    torch_says = d.evidence.get("torch_message")
    if torch_says:
        parts.append(Text.assemble(("torch says: ", "dim"), (str(torch_says), "italic")))
    if d.fix:
        parts.append(Text("Fix:", style="bold"))
        parts.append(code_text(d.fix))
    return Panel(
        Group(*parts),
        title=Text.assemble((f"{d.severity} ", f"bold {colour}"), (d.code, colour)),
        title_align="left",
        border_style=colour,
    )


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
        if report.sources:
            row.append(report.sources.get(name, ""))
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


def parameter_table(report: Report) -> RenderableType:
    from rich.table import Table

    from rnnshape.engine.report import human_bytes
    from rnnshape.model.shapes import numel

    if not report.parameters:
        return Text("")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    table.add_column(justify="right", style="dim")
    rows = report.parameters
    if len(rows) > _MAX_PARAMETER_ROWS:  # a deep stack: the first and last layers say it all
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


def report_renderable(report: Report) -> Group:
    parts: list[RenderableType] = [
        code_text(report.spec.to_code()),
        run_line(report),
        Text(""),
        tensor_table(report),
        *([packed_line(report)] if report.packed else []),
        Text(""),
        parameter_table(report),
    ]
    for d in report.diagnoses:
        parts.append(diagnosis_panel(d))
    parts.append(verdict(report))
    return Group(*parts)


def print_report(report: Report, console: Console | None = None) -> None:
    (console or Console()).print(report_renderable(report))


def print_diagnoses(diagnoses: Iterable[Diagnosis], console: Console | None = None) -> None:
    console = console or Console()
    for d in diagnoses:
        console.print(diagnosis_panel(d))


def dump_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=2, default=repr)
