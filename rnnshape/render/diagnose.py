"""Rich output for ``rnnshape diagnose``: the paste with a margin of shapes, then the findings.

Plain data in (:class:`rnnshape.diagnose.snippets.Diagnosed`), renderables out. Highlighting uses
the stdlib tokenizer (pygments would cost more to import than the whole command should take), and
only for a console that shows colours (a pipe shows none: tokenizing for it is wasted). Only the
Rich parts drawn are imported (panels for findings, a table for ``--run``); ``--json`` never
imports Rich at all.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

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
    marked |= {rw.line for f in result.findings for rw in getattr(f, "rewrites", [])}
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


def _code_line(text: Text | str, style: str | None = None) -> Text:
    """A line of code: never wrapped, never cut (printed with crop=False, a terminal folds it, a pipe keeps it)."""
    t = Text(text, style=style or "") if isinstance(text, str) else text.copy()
    t.no_wrap = True
    t.overflow = "ignore"
    return t


def listing(result: Any, width: int = 100, *, highlight: bool = True) -> Group:
    """The paste, one row per line: number, the code whole, and its shapes after it (or below, when too long).

    ``highlight=False`` (a console without colours) leaves the code unstyled: the same text.
    """
    paste = result.paste
    err = result.error
    err_line = err.line if err is not None else None
    warn_lines = {f.line for f in result.findings if f.diagnosis.severity == "warning"}
    skipped_lines: dict[int, str] = {}
    for a, b, why in result.skipped:
        for ln in range(a, b + 1):
            skipped_lines[ln] = why
    code = [ln if paste.kinds[i] in ("code", "blank") else "" for i, ln in enumerate(paste.code_lines)]
    highlighted = _highlighted(code) if highlight else [Text(line) for line in code]
    visible = _visible(result)
    num_w = len(str(len(paste.lines))) + 1
    short = [len(paste.lines[ln - 1]) for ln in visible if ln is not None and len(paste.lines[ln - 1]) <= width // 2]
    column = max(short, default=0) + 2   # where the margins start, for the lines short enough
    rows: list[RenderableType] = []
    for ln in visible:
        if ln is None:
            rows.append(Text(" " * num_w + " ⋮", style="dim"))
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
            rows.append(_row(Text(span.rjust(num_w), style="dim"), Text(last.strip(), style="dim italic"),
                             Text(f"traceback ({end - ln + 1} lines), read with rnnshape explain", style="dim"),
                             column, width))
            continue
        mark = "✗" if ln == err_line else ("!" if ln in warn_lines else "")
        number = Text(f"{mark}{ln}".rjust(num_w), style="bold red" if ln == err_line else ("yellow" if mark else "dim"))
        if kind in _KIND_LABEL:
            rows.append(_row(number, Text(paste.lines[ln - 1], style="dim italic"),
                             Text(_KIND_LABEL[kind], style="dim"), column, width))
            continue
        if ln in skipped_lines:
            rows.append(_row(number, Text(paste.code_lines[ln - 1], style="dim strike"),
                             Text("skipped: " + skipped_lines[ln], style="dim"), column, width))
            continue
        line_text = highlighted[ln - 1] if ln - 1 < len(highlighted) else Text(paste.code_lines[ln - 1])
        if ln == err_line:
            line_text = line_text.copy()
            line_text.stylize("on #3a0000")
        rows.append(_row(number, line_text, _margin(result, ln, err), column, width))
    return Group(*rows)


def _row(number: Text, code: Text, margin: Text, column: int, width: int) -> RenderableType:
    """One listing row; the margin after the code when it fits in ``width``, else on the next line."""
    line = Text.assemble(number, " │ ", code)
    lead = len(number) + 3
    if not margin:
        return _code_line(line)
    if lead + column + margin.cell_len <= width and len(code) < column:
        line.append(" " * (column - len(code)))
        line.append_text(margin)
        return _code_line(line)
    below = Text(" " * lead + "↳ ", style="dim")
    below.append_text(margin)
    return Group(_code_line(line), below)


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
    return Group(Text(f"line {rw.line}, rewritten:", style="bold"),
                 _code_line(f"- {rw.old.strip()}", "red"), _code_line(f"+ {rw.new.strip()}", "green"))


def _panel(d: Any) -> RenderableType:
    """The finding's title and explanation (prose wraps); its fix is code, printed below, never wrapped."""
    from rich.panel import Panel

    colour = {"error": "red", "warning": "yellow", "info": "blue"}.get(d.severity, "white")
    parts: list[RenderableType] = [Text(d.title, style="bold"), Text(d.explanation)]
    if d.evidence.get("origin"):
        parts.append(Text(f"The number came from: {d.evidence['origin']}", style="dim"))
    if d.evidence.get("torch_message"):
        parts.append(Text.assemble(("torch says: ", "dim"), (str(d.evidence["torch_message"]), "italic")))
    return Panel(Group(*parts), title=Text.assemble((f"{d.severity} ", f"bold {colour}"), (d.code, colour)),
                 title_align="left", border_style=colour)


def finding_renderable(f: Any) -> RenderableType:
    parts: list[RenderableType] = []
    where = f"line {f.line}" if f.line else "the snippet"
    source = {"traceback": " (from the pasted traceback)", "run": " (from the run, --run)"}.get(f.source, "")
    parts.append(Text(f"{where}{source}", style="dim"))
    parts.append(_panel(f.diagnosis))
    if f.diagnosis.fix:
        parts.append(Text("Fix:", style="bold"))
        parts.extend(_code_line(line, "green") for line in f.diagnosis.fix.splitlines())
    parts.extend(rewrite_text(rw) for rw in f.rewrites)
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
    from rich.table import Table  # --run only: rich.table costs ~10 ms to import (fractions, decimal)

    ran = result.run
    table = Table(title="shapes recorded by the run", title_justify="left", box=None, pad_edge=False,
                  show_header=True, header_style="bold")
    table.add_column("line", justify="right", style="dim")
    table.add_column("layer")
    table.add_column("in")
    table.add_column("out")
    for r in ran.records[:60]:
        # the paste's own names as Text: "self.cells[i]" would otherwise be read as Rich markup
        table.add_row(str(r.get("line")), Text(r.get("layer", "")), _fmt(r.get("inputs")), _fmt(r.get("outputs")))
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
    """The summary: how much was checked; a green ✓ only when a recurrent call was followed whole."""
    errors = sum(f.diagnosis.is_error for f in result.findings)
    warnings = sum(f.diagnosis.severity == "warning" for f in result.findings)
    ran = " (ran the code)" if result.run is not None else " (static: the code was not run)"
    if errors:
        err = result.error
        return Text(f"✗ line {err.line}: {err.diagnosis.code}" + (f", {warnings} warning"
                    f"{'s' if warnings > 1 else ''}" if warnings else "") + ran, style="bold red")
    checked, missing = result.checked, result.not_followed
    counts = f"{checked} recurrent call{'s' if checked != 1 else ''} checked"
    if missing:
        hints = sorted({h for h in missing.values() if h})
        counts += f", {len(missing)} not followed" + (f" (give {'; '.join(hints[:3])})" if hints else "")
    tail = f", {warnings} warning{'s' if warnings > 1 else ''}" if warnings else ""
    if result.verdict == "nothing-to-check":
        return Text(f"· nothing to check: {counts}{tail}{ran}", style="bold")
    return Text(f"✓ {counts}, no shape error found{tail}{ran}", style="bold yellow" if tail else "bold green")


def picture_of_rows(diagnosis: Any) -> list[RenderableType]:
    """For a warning about which rows of h_n (or which half of output) a line reads: the layer's picture,
    its last layer's two rows marked (``inspect --diagram`` draws the same picture whole)."""
    picture = diagnosis.evidence.get("picture")
    if not picture or not picture.get("bidirectional"):
        return []
    from rnnshape.model.layout import last_layer_rows, layout_for
    from rnnshape.model.spec import LayerSpec
    from rnnshape.render.diagram import diagram

    spec = LayerSpec(mode=picture["mode"], input_size=picture["input_size"], hidden_size=picture["hidden_size"],
                     num_layers=picture["num_layers"], bidirectional=True, batch_first=picture["batch_first"],
                     proj_size=picture["proj_size"])
    return [diagram(layout_for(spec), highlight=last_layer_rows(spec), compact=True), Text("")]


def diagnose_renderable(result: Any, width: int = 100, *, highlight: bool = True) -> Group:
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
    parts.append(listing(result, width, highlight=highlight))
    parts.append(Text(""))
    for f in result.findings:
        parts.append(finding_renderable(f))
        parts.extend(picture_of_rows(f.diagnosis))
    if result.run is not None and result.run.records:
        parts.append(run_table(result))
    if result.run is not None and result.run.error and result.run.error.get("kind") in ("Timeout", "Crash"):
        parts.append(Text(result.run.error["message"], style="yellow"))
    parts.append(verdict(result))
    return Group(*parts)


def print_diagnosis(result: Any, console: Console | None = None) -> None:
    console = console or SafeConsole()
    # styles reach only a console with colours (or one recording them for an export)
    shows_styles = console.color_system is not None or console.record
    console.print(diagnose_renderable(result, console.width, highlight=shows_styles), crop=False)


__all__ = ["diagnose_renderable", "print_diagnosis"]
