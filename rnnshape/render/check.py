"""Rich output for :class:`rnnshape.check.CheckResult`: one row per case, then the failures."""

from __future__ import annotations

import re

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.check import CaseResult, CheckResult
from rnnshape.render.safe import SafeConsole

_STATUS = {"passed": ("✓ passed", "green"), "failed": ("✗ failed", "red"),
           "error": ("! error", "red"), "skipped": ("- skipped", "yellow")}


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


_CASE_WIDTH = 16
_RESULT_WIDTH = 22


def fold_words(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``, broken only after a space, ``-`` or ``_``.

    Case names and codes are words joined by hyphens: folding there keeps each part
    readable (Rich folds a long word anywhere). A part longer than ``width`` stays whole.
    """
    parts = re.findall(r"[^\s_-]+[\s_-]*|[\s_-]+", text)
    lines: list[str] = []
    current = ""
    for part in parts:
        if current and len(current + part.rstrip()) > width:
            lines.append(current.rstrip())
            current = part.lstrip()
        else:
            current += part
    if current.strip():
        lines.append(current.rstrip())
    return "\n".join(lines)


def _result_cell(r: CaseResult) -> Text:
    label, style = _STATUS[r.status]
    text = Text(label, style=f"bold {style}")
    text.append(f" {_ms(r.time_ms)}", style="dim")
    if r.status == "failed":
        codes = [d.code for d in r.failures]
        found = ", ".join(codes) if codes else r.message
        text.append("\n" + fold_words(found, _RESULT_WIDTH), style=style)
    elif r.status in ("error", "skipped"):
        text.append(" (see below)" if r.status == "error" else "", style="dim")
    return text


#: Beyond this many cases the table lists every case that did not pass and only the first that did
#: (--json lists them all): rendering stays proportional to what a person reads.
MAX_ROWS = 40


def shown_cases(result: CheckResult) -> list[CaseResult]:
    """The rows of the table: all of them, or every non-passing case and passes up to MAX_ROWS."""
    if len(result.results) <= MAX_ROWS:
        return list(result.results)
    room = max(MAX_ROWS - sum(r.status != "passed" for r in result.results), 0)
    shown = []
    for r in result.results:
        if r.status != "passed" or room > 0:
            shown.append(r)
            room -= r.status == "passed"
    return shown


def case_table(result: CheckResult) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    longest_token = max((len(w) for r in result.results for w in r.layer.split()), default=8)
    table.add_column("case", style="bold", max_width=_CASE_WIDTH, no_wrap=True)
    table.add_column("layer", min_width=min(longest_token, 24), overflow="fold")
    table.add_column("input", no_wrap=True)
    table.add_column("result, time", max_width=_RESULT_WIDTH, no_wrap=True)
    shown = shown_cases(result)
    for r in shown:
        # the user's own text as Text: a plain str would be read as Rich markup ("[red]") and emoji codes (":x:")
        table.add_row(Text(fold_words(r.name, _CASE_WIDTH)), Text(r.layer), Text(r.input), _result_cell(r))
    hidden = len(result.results) - len(shown)
    if hidden:
        table.add_row("…", f"{hidden} more passed (--json lists every case)", "", "")
    return table


def engines_line(result: CheckResult) -> str:
    """Which engine ran the cases (the fast engine picks per case), e.g. ``torch (cpu, 1-step window) x10``."""
    counts: dict[str, int] = {}
    for r in result.results:
        if r.report is not None:
            counts[r.report.engine] = counts.get(r.report.engine, 0) + 1
    return "; ".join(f"{engine} x{n}" if len(counts) > 1 else engine for engine, n in counts.items())


def summary_line(result: CheckResult) -> Text:
    n = len(result.results)
    passed, failed = result.count("passed"), result.count("failed")
    errors, skipped = result.count("error"), result.count("skipped")
    where = "the shape model (dry run)" if result.dry_run else result.device
    bits = [f"{passed} passed"]
    if failed:
        bits.append(f"{failed} failed")
    if errors:
        bits.append(f"{errors} could not run")
    if skipped:
        bits.append(f"{skipped} skipped")
    tail = f" · {n} case{'s' if n != 1 else ''} from {result.file} on {where} in {_ms(result.total_ms)}"
    engines = engines_line(result) if not result.dry_run else ""
    if engines:
        tail += f" · engine: {engines}"
    if result.ok:
        return Text("✓ " + ", ".join(bits) + tail, style="bold green")
    return Text("✗ " + ", ".join(bits) + tail, style="bold red")


def check_renderable(result: CheckResult) -> Group:
    parts: list[RenderableType] = [case_table(result)]
    for r in result.results:
        if r.status in ("passed",):
            continue
        where = f"{result.file}:{r.case.line}" if r.case.line else result.file
        parts.append(Text(""))
        parts.append(Text.assemble((f"{r.name}", "bold"), (f"  ({where})", "dim")))
        if r.status == "failed" and r.case.values.get("expect_error"):
            parts.append(Text(r.message, style="red"))
        if r.status in ("error", "skipped"):
            parts.append(Text(r.message, style="red" if r.status == "error" else "yellow"))
        if r.failures:
            from rnnshape.render.report import diagnosis_panel  # panels: only a failing case draws one

            parts.extend(diagnosis_panel(d) for d in r.failures)
    parts.append(Text(""))
    parts.append(summary_line(result))
    return Group(*parts)


def print_check(result: CheckResult, console: Console | None = None) -> None:
    (console or SafeConsole()).print(check_renderable(result))
