"""Rich output for ``rnnshape diagnose``: the paste with a margin of shapes, then the findings.

Plain data in (:class:`rnnshape.diagnose.snippets.Diagnosed`), renderables out. Highlighting uses
the stdlib tokenizer (pygments would cost more to import than the whole command should take);
``--json`` never imports Rich at all.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from rnnshape.render.report import code_text, diagnosis_panel
from rnnshape.render.safe import SafeConsole

#: Longer pastes show only the lines that matter (shapes, findings, skipped), with context.
FULL_LISTING = 120
CONTEXT = 2
_KIND_LABEL = {"traceback": "traceback", "output": "printed output", "magic": "notebook magic"}


_STYLE = {"keyword": "bold magenta", "string": "green", "number": "cyan", "comment": "dim italic",
          "builtin": "cyan", "def": "bold blue"}


def _highlighted(code_lines: list[str]) -> list[Text]:
    """Python highlighting with the stdlib tokenizer (pygments costs ~40 ms to import and look up)."""
    import io
    import keyword
    import tokenize

    lines = [Text(line) for line in code_lines]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(code_lines) + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        tokens = []
        for i, line in enumerate(code_lines):  # a paste that does not tokenize whole: line by line
            try:
                tokens += [t._replace(start=(i + 1, t.start[1]), end=(i + 1, t.end[1]))
                           for t in tokenize.generate_tokens(io.StringIO(line.strip() and line + "\n").readline)
                           if t.start[0] == 1 and t.end[0] == 1]
            except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
                continue
    prev = ""
    for tok in tokens:
        style = None
        if tok.type == tokenize.NAME:
            if keyword.iskeyword(tok.string):
                style = _STYLE["keyword"]
            elif prev in ("def", "class"):
                style = _STYLE["def"]
            elif tok.string in ("self", "True", "False", "None", "print", "range", "len", "super"):
                style = _STYLE["builtin"]
            prev = tok.string
        elif tok.type == tokenize.STRING:
            style = _STYLE["string"]
        elif tok.type == tokenize.NUMBER:
            style = _STYLE["number"]
        elif tok.type == tokenize.COMMENT:
            style = _STYLE["comment"]
        if style is None:
            continue
        (r1, c1), (r2, c2) = tok.start, tok.end
        for r in range(r1, r2 + 1):
            if 0 < r <= len(lines):
                a = c1 if r == r1 else 0
                b = c2 if r == r2 else len(code_lines[r - 1])
                lines[r - 1].stylize(style, a, b)
    return lines


def _visible(result: Any) -> list[int | None]:
    """Line numbers to show (None: an elision mark)."""
    n = len(result.paste.lines)
    while n > 0 and not result.paste.lines[n - 1].strip():
        n -= 1
    if n <= FULL_LISTING:
        return list(range(1, n + 1))
    keep: set[int] = set()
    marked = set(result.followed.shapes)
    marked |= {f.line for f in result.findings if f.line}
    marked |= {f.rewrite.line for f in result.findings if f.rewrite is not None}
    for a, b, _ in result.skipped[:20]:
        marked |= {a, b}
    for ln in marked:
        keep |= set(range(max(1, ln - CONTEXT), min(n, ln + CONTEXT) + 1))
    out: list[int | None] = []
    prev = 0
    for ln in sorted(keep)[:400]:
        if ln != prev + 1:
            out.append(None)
        out.append(ln)
        prev = ln
    if prev < n:
        out.append(None)
    return out


def listing(result: Any, width: int = 100) -> Table:
    paste = result.paste
    err = result.error
    err_line = err.line if err is not None else None
    warn_lines = {f.line for f in result.findings if f.diagnosis.severity == "warning"}
    skipped_lines: dict[int, str] = {}
    for a, b, why in result.skipped:
        for ln in range(a, b + 1):
            skipped_lines[ln] = why
    code = [ln if paste.kinds[i] in ("code", "blank") else "" for i, ln in enumerate(paste.code_lines)]
    highlighted = _highlighted(code)
    visible = _visible(result)
    margins = {ln: _margin(result, ln, err) for ln in visible if ln is not None}
    num_w = 2 * len(str(len(paste.lines))) + 2
    widest_margin = max((m.cell_len for m in margins.values()), default=0)
    margin_w = max(min(widest_margin, max(26, width // 2)), 1)
    code_w = max(width - margin_w - num_w - 4, 20)
    widest_code = max((len(paste.lines[ln - 1]) for ln in visible if ln is not None), default=1)
    table = Table(show_header=False, box=None, pad_edge=False, expand=False, padding=(0, 1))
    table.add_column(justify="right", style="dim", no_wrap=True, width=num_w)
    table.add_column(no_wrap=True, overflow="ellipsis", width=min(code_w, max(widest_code, 1)))
    table.add_column(no_wrap=False, style="cyan", width=margin_w)
    for ln in visible:
        if ln is None:
            table.add_row("⋮", Text("", style="dim"), "")
            continue
        kind = paste.kinds[ln - 1]
        if kind == "traceback" and ln > 1 and paste.kinds[ln - 2] == "traceback":
            continue  # a traceback is shown as one row: its first and last lines
        if kind == "traceback":
            end = ln
            while end < len(paste.kinds) and paste.kinds[end] == "traceback":
                end += 1
            last = next((paste.lines[i - 1] for i in range(end, ln - 1, -1) if paste.lines[i - 1].strip()), "")
            span = f"{ln}" if end == ln else f"{ln}-{end}"
            table.add_row(Text(span, style="dim"), Text(last.strip(), style="dim italic"),
                          Text(f"traceback ({end - ln + 1} lines), read with rnnshape explain", style="dim"))
            continue
        mark = "✗" if ln == err_line else ("!" if ln in warn_lines else "")
        number = Text(f"{mark}{ln}", style="bold red" if ln == err_line else ("yellow" if mark else "dim"))
        if kind in _KIND_LABEL:
            table.add_row(number, Text(paste.lines[ln - 1], style="dim italic"),
                          Text(_KIND_LABEL[kind], style="dim"))
            continue
        if ln in skipped_lines:
            table.add_row(number, Text(paste.code_lines[ln - 1], style="dim strike"),
                          Text("skipped: " + skipped_lines[ln], style="dim"))
            continue
        margin = margins[ln]
        line_text = highlighted[ln - 1] if ln - 1 < len(highlighted) else Text(paste.code_lines[ln - 1])
        if ln == err_line:
            line_text = line_text.copy()
            line_text.stylize("on #3a0000")
        table.add_row(number, line_text, margin)
    return table


def _margin(result: Any, ln: int, err: Any) -> Text:
    margin = Text()
    for s in result.followed.shapes.get(ln, []):
        if margin:
            margin.append("  ")
        margin.append(f"{s.name} ", style="dim")
        margin.append(s.text, style="bold cyan" if s.shape is not None else "cyan")
    if err is not None and ln == err.line:
        if margin:
            margin.append("  ")
        margin.append(f"✗ {err.diagnosis.code}", style="bold red")
    return margin


def rewrite_text(rw: Any) -> RenderableType:
    text = Text()
    text.append(f"line {rw.line}, rewritten:\n", style="bold")
    text.append(f"- {rw.old.strip()}\n", style="red")
    text.append(f"+ {rw.new.strip()}", style="green")
    return text


def finding_renderable(f: Any) -> RenderableType:
    parts: list[RenderableType] = []
    where = f"line {f.line}" if f.line else "the snippet"
    source = {"traceback": " (from the pasted traceback)", "run": " (from the run, --run)"}.get(f.source, "")
    parts.append(Text(f"{where}{source}", style="dim"))
    parts.append(diagnosis_panel(f.diagnosis))
    if f.rewrite is not None:
        parts.append(rewrite_text(f.rewrite))
    for key, label in (("traceback", "the pasted traceback"), ("run", "the run")):
        ev = f.diagnosis.evidence.get(key)
        if isinstance(ev, dict) and f.source == "static":
            if key == "run" and not ev.get("raised", True):
                parts.append(Text("the run did not raise here", style="yellow"))
                continue
            agree = ev.get("agrees")
            msg = ev.get("message") or ""
            verdict = "agrees" if agree else ("differs: " if agree is False else "")
            parts.append(Text.assemble((f"{label} {verdict}", "green" if agree else "yellow"),
                                       (f" {ev.get('kind') or ''}: {msg}"[:300], "italic dim")))
    return Group(*parts)


def run_table(result: Any) -> RenderableType:
    ran = result.run
    table = Table(title="shapes recorded by the run", title_justify="left", box=None, pad_edge=False,
                  show_header=True, header_style="bold")
    table.add_column("line", justify="right", style="dim")
    table.add_column("layer")
    table.add_column("in")
    table.add_column("out")
    for r in ran.records[:60]:
        table.add_row(str(r.get("line")), r.get("layer", ""), _fmt(r.get("inputs")), _fmt(r.get("outputs")))
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and "packed" in value:
        return f"packed {tuple(value['packed'])}"
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return str(tuple(value)).replace(",)", ")") if len(value) != 1 else f"({value[0]},)"
    if isinstance(value, list):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return str(value)


def verdict(result: Any) -> Text:
    errors = sum(f.diagnosis.is_error for f in result.findings)
    warnings = sum(f.diagnosis.severity == "warning" for f in result.findings)
    unknown = sum(f.diagnosis.severity == "info" for f in result.findings)
    ran = " (ran the code)" if result.run is not None else " (static: the code was not run)"
    if errors:
        err = result.error
        return Text(f"✗ line {err.line}: {err.diagnosis.code}" + (f", {warnings} warning"
                    f"{'s' if warnings > 1 else ''}" if warnings else "") + ran, style="bold red")
    tail = []
    if warnings:
        tail.append(f"{warnings} warning{'s' if warnings > 1 else ''}")
    if unknown:
        tail.append(f"{unknown} place{'s' if unknown > 1 else ''} not followed")
    style = "bold yellow" if tail else "bold green"
    return Text("✓ no shape error found" + (", " + ", ".join(tail) if tail else "") + ran, style=style)


def diagnose_renderable(result: Any, width: int = 100) -> Group:
    parts: list[RenderableType] = [Text(f"rnnshape diagnose {result.name}", style="bold")]
    for note in result.notes:
        parts.append(Text(f"· {note}", style="dim"))
    if result.skipped:
        spans = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b, _ in result.skipped[:12])
        more = f" and {len(result.skipped) - 12} more" if len(result.skipped) > 12 else ""
        parts.append(Text(f"· lines {spans}{more} do not parse as Python and were skipped", style="yellow"))
    for line, text in result.followed.assumptions:
        parts.append(Text(f"· line {line}: assumed {text}", style="dim"))
    parts.append(Text(""))
    parts.append(listing(result, width))
    parts.append(Text(""))
    for f in result.findings:
        parts.append(finding_renderable(f))
    if result.run is not None and result.run.records:
        parts.append(run_table(result))
    if result.run is not None and result.run.error and result.run.error.get("kind") in ("Timeout", "Crash"):
        parts.append(Text(result.run.error["message"], style="yellow"))
    parts.append(verdict(result))
    return Group(*parts)


def print_diagnosis(result: Any, console: Console | None = None) -> None:
    console = console or SafeConsole()
    console.print(diagnose_renderable(result, console.width))


__all__ = ["code_text", "diagnose_renderable", "print_diagnosis"]
