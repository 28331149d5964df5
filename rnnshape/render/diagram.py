"""The layer as a picture: layers x directions unrolled over time, and what each index of h_n and output means.

Reads a :class:`~rnnshape.model.layout.Layout` (pure data) and draws it for at most 80 columns (fewer when the
terminal is narrower): time steps and layers that do not fit are elided in the middle, and the picture says so.
Code lines are never wrapped or cut; prose wraps between words, never inside a `code` span.

:func:`diagram` is the entry point; its ``highlight`` argument marks rows of ``h_n`` (a diagnosis about
``h_n[-1]`` on a bidirectional layer can show the two rows involved).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text

from rnnshape.errors import UsageError
from rnnshape.model.layout import Direction, Layout, StateRow, elide
from rnnshape.records import record

#: The picture never grows wider than this, whatever the terminal.
MAX_WIDTH = 80
#: Time steps drawn when the sequence is longer than fits (first ones, …, last ones).
MAX_STEPS, ELIDED_STEPS = 6, 4
#: Layers drawn before the middle ones are elided.
MAX_LAYERS = 4
_MIN_SPACING = 7  # columns from one time step's node to the next

_STYLE = {Direction.FORWARD: "cyan", Direction.BACKWARD: "magenta"}
_CODE, _COMMENT, _HIGHLIGHT = "bold cyan", "dim", "bold black on yellow"


def diagram(layout: Layout, highlight: Iterable[int] = (), *, compact: bool = False) -> LayerDiagram:
    """The renderable picture of ``layout``.

    Rows of ``h_n`` in ``highlight`` are marked (and always drawn, even where layers are elided): a warning
    about ``h_n[-1]`` on a bidirectional layer passes ``last_layer_rows(spec)``. ``compact``: the grid and
    the rows of ``h_n`` only, without the identities and code (for a panel that has its own fix).
    """
    return LayerDiagram(layout, frozenset(highlight), compact)


@record(frozen=True)
class LayerDiagram:
    """The picture of one layout, drawn at the width Rich gives it (at most :data:`MAX_WIDTH`)."""

    layout: Layout
    highlight: frozenset[int] = frozenset()
    compact: bool = False

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines(min(options.max_width, MAX_WIDTH))

    def lines(self, width: int = MAX_WIDTH) -> Iterator[Text]:
        if self.layout.is_cell:
            yield from _cell_picture(self.layout, width)
        else:
            for line in _grid(self.layout, self.highlight, width):
                line.no_wrap, line.overflow = True, "ellipsis"  # one line per row, even when too narrow
                yield line
            yield from _legend(self.layout, self.highlight, width)
        if not self.compact:
            yield from _code_sections(self.layout, width)


# --------------------------------------------------------------------------- the grid


@record(frozen=True)
class _Columns:
    """Where the grid's parts sit on a line."""

    label: int  # width of "layer 0 fwd →"
    left: int  # width of "h_n[1] ◀─" (backward rows end on the left)
    spacing: int  # from one node to the next
    steps: tuple[int | None, ...]  # drawn time steps; None: elided ones


def _grid(layout: Layout, highlight: frozenset[int], width: int) -> Iterator[Text]:
    spec = layout.spec
    layers = _with_gaps(sorted({*(i for i in elide(spec.num_layers, MAX_LAYERS) if i is not None),
                                *(r.layer for r in layout.rows if r.index in highlight)}))
    shown = [r for r in layout.rows if r.layer in layers]
    label_w = max(len(_row_label(r)) for r in shown)
    left_w = max((len(_left_label(r)) for r in shown if r.direction is Direction.BACKWARD), default=0)
    right_w = max(len(_right_label(layout, r)) for r in shown)
    cols = _fit_steps(layout.seq_len, width - label_w - 1 - left_w - right_w, label_w, left_w)
    unit = "step" if layout.seq_len == 1 else "steps"
    length = f"{layout.seq_len} time {unit}" if layout.seq_len is not None else "the sequence"
    yield Text(f"{spec.num_layers} layer{'s' if spec.num_layers > 1 else ''} x {spec.num_directions} "
               f"direction{'s' if spec.num_directions > 1 else ''}, unrolled over {length}", style="bold")
    yield _header(cols)
    yield _flow_row(cols, "input", "▼")
    for layer in layers:
        if layer is None:
            yield Text(" " * cols.label + " ⋮", style="dim")
            continue
        for row in (r for r in shown if r.layer == layer):
            yield _state_row(layout, row, cols, row.index in highlight)
    yield _flow_row(cols, "output", "▼", _output_label(layout, width - len(_flow_row(cols, "output", "▼"))))
    yield from _elision_notice(layout, cols, layers, width)


def _with_gaps(indices: list[int]) -> tuple[int | None, ...]:
    out: list[int | None] = []
    for i in indices:
        if out and out[-1] is not None and i > out[-1] + 1:
            out.append(None)
        out.append(i)
    return tuple(out)


def _fit_steps(seq_len: int | None, room: int, label_w: int, left_w: int) -> _Columns:
    """As many time steps as fit in ``room`` columns (at least the first and the last)."""
    keep = MAX_STEPS if seq_len is not None and seq_len <= MAX_STEPS else ELIDED_STEPS
    while True:
        steps = elide(seq_len, keep) if seq_len is not None else (0, 1, None, -2, -1)[: keep + 1]
        spacing = max(_MIN_SPACING, *(len(_step_label(s)) + 1 for s in steps if s is not None))
        nodes = sum(s is not None for s in steps)
        if keep <= 2 or nodes * spacing - spacing + 1 <= room:
            return _Columns(label_w, left_w, spacing, steps)
        keep -= 1


def _step_label(step: int) -> str:
    return f"t={step}"


def _row_label(row: StateRow) -> str:
    return f"layer {row.layer} {row.direction.short} {row.direction.arrow}"


def _left_label(row: StateRow) -> str:
    return f"h_n[{row.index}] ◀─" if row.direction is Direction.BACKWARD else ""


def _right_label(layout: Layout, row: StateRow) -> str:
    last_layer = row.layer == layout.spec.num_layers - 1
    alias = f" = h_n[{row.negative}]" if last_layer else ""
    if row.direction is Direction.FORWARD:
        return f" ─▶ h_n[{row.index}]{alias}"
    return f"    h_n[{row.index}]{alias} at t=0" if last_layer else ""


def _node_positions(cols: _Columns) -> list[tuple[int | None, int]]:
    """(step, column of its node, counted from the grid's start); a gap shares the next node's slot."""
    out, col = [], 0
    for step in cols.steps:
        if step is None:
            out.append((None, col))
            continue
        out.append((step, col))
        col += cols.spacing
    return out


def _prefix(cols: _Columns, label: str = "") -> str:
    return f"{label:<{cols.label}} " + " " * cols.left


def _header(cols: _Columns) -> Text:
    line = list(" " * _grid_width(cols))
    for step, col in _node_positions(cols):
        text = "…" if step is None else _step_label(step)
        start = col - cols.spacing // 2 if step is None else col
        line[start:start + len(text)] = text
    return Text(_prefix(cols) + "".join(line).rstrip(), style="dim")


def _grid_width(cols: _Columns) -> int:
    nodes = sum(s is not None for s in cols.steps)
    return nodes * cols.spacing - cols.spacing + 1 + cols.spacing


def _flow_row(cols: _Columns, label: str, mark: str, right: str = "") -> Text:
    line = list(" " * _grid_width(cols))
    for step, col in _node_positions(cols):
        if step is not None:
            line[col] = mark
    return Text(_prefix(cols, label) + "".join(line).rstrip() + right, style="dim")


def _output_label(layout: Layout, room: int) -> str:
    """Which features of ``output`` each direction of the last layer writes, when it fits."""
    h = layout.spec.h_out
    label = f"  features :{h} fwd, {h}: bwd"
    return label if len(layout.slices) > 1 and len(label) <= room else ""


def _state_row(layout: Layout, row: StateRow, cols: _Columns, marked: bool) -> Text:
    style = _HIGHLIGHT if marked else _STYLE[row.direction]
    forward = row.direction is Direction.FORWARD
    text = Text(f"{_row_label(row):<{cols.label}} ", style=_HIGHLIGHT if marked else "bold")
    text.append(f"{_left_label(row):>{cols.left}}" if cols.left else "", style=style)
    link = cols.spacing - 1
    nodes = list(cols.steps)
    for i, step in enumerate(nodes):
        if step is None:
            continue
        text.append("●", style=_STYLE[row.direction])
        later = nodes[i + 1:]
        if not later:
            break
        gap = later[0] is None
        body = ("┄" if gap else "─") * (link - 1)
        text.append(body + "▶" if forward else "◀" + body, style=_STYLE[row.direction])
    text.append(_right_label(layout, row), style=style)
    return text


def _elision_notice(layout: Layout, cols: _Columns, layers: tuple[int | None, ...], width: int) -> Iterator[Text]:
    parts = []
    if None in cols.steps and layout.seq_len is not None:
        parts.append(_elided_span("time steps", cols.steps))
    if None in layers:
        parts.append(_elided_span("layers", layers))
    if parts:
        yield from _prose(f"elided to fit {width} columns: {' and '.join(parts)} not drawn.", width, "italic")


def _elided_span(what: str, shown: tuple[int | None, ...]) -> str:
    """``time steps 2–97``, ``layer 2``: the items between the drawn ones, ``what`` being the plural."""
    spans, count = [], 0
    for i, item in enumerate(shown):
        if item is None:
            first, last = shown[i - 1] + 1, shown[i + 1] - 1  # type: ignore[operator]
            spans.append(f"{first}" if first == last else f"{first}–{last}")
            count += last - first + 1
    return f"{what if count > 1 else what.removesuffix('s')} {', '.join(spans)}"


# --------------------------------------------------------------------------- legend and code


def _legend(layout: Layout, highlight: frozenset[int], width: int) -> Iterator[Text]:
    spec = layout.spec
    d = spec.num_directions
    rule = "layer i // 2, direction i % 2 (0 forward, 1 backward)" if d == 2 else "layer i"
    yield Text("")
    yield from _prose(f"`h_n` row i is {rule}"
                      + (f"; `c_n` has the same rows, {spec.hidden_size} wide" if spec.is_lstm else "") + ":",
                      width, style="bold")
    layers = _with_gaps(sorted({*(i for i in elide(spec.num_layers, MAX_LAYERS) if i is not None),
                                *(r.layer for r in layout.rows if r.index in highlight)}))
    index_w = max(len(f"h_n[{r.index}]") for r in layout.rows)
    neg_w = max(len(f"h_n[{r.negative}]") for r in layout.rows)
    for layer in layers:
        if layer is None:
            yield Text("  ⋮", style="dim")
            continue
        for row in (r for r in layout.rows if r.layer == layer):
            line = Text("  ")
            line.append(f"{f'h_n[{row.index}]':<{index_w}}  {f'h_n[{row.negative}]':<{neg_w}}",
                        style=_HIGHLIGHT if row.index in highlight else _STYLE[row.direction])
            line.append(f"  layer {row.layer} {row.direction.value:<8}  ends at {row.ends_at}")
            if row.index in highlight:
                line.append("  ◀ this row", style=_HIGHLIGHT)
            yield line
    yield from _code_line(layout.view, "[layer, direction, batch, h]" if not layout.unbatched
                          else "[layer, direction, h]", width)
    for note in layout.notes:
        yield from _prose(note, width)


def _code_sections(layout: Layout, width: int) -> Iterator[Text]:
    if layout.cell_call:
        yield Text("")
        yield Text("one step, and a loop for a whole sequence:", style="bold")
        yield from _code_line(layout.cell_call, "one step: h' (and c') only" if layout.spec.is_lstm
                              else "one step: h' only", width)
        for line in layout.unroll:
            yield from _code_line(line, "", width)
        for note in layout.notes:
            yield from _prose(note, width)
    yield Text("")
    yield Text("identities (each one checked against real torch in rnnshape's tests):", style="bold")
    for line in layout.setup:
        yield from _code_line(line, "output is a PackedSequence: pad it first", width)
    for identity in layout.identities:
        yield from _code_line(identity.code, identity.note, width)
    if layout.recipes:
        yield Text("")
        yield Text("code for the usual needs:", style="bold")
        for recipe in layout.recipes:
            yield from _code_line(recipe.code, f"{recipe.purpose}: {recipe.shape}", width)


def _code_line(code: str, comment: str, width: int) -> Iterator[Text]:
    """``code  # comment`` on one line when it fits, else the comment on its own line above."""
    if comment and len(f"  {code}  # {comment}") > width:
        yield Text(f"  # {comment}", style=_COMMENT, no_wrap=True, overflow="ignore")
        comment = ""
    line = Text("  ", no_wrap=True, overflow="ignore")
    line.append(code, style=_CODE)
    if comment:
        line.append(f"  # {comment}", style=_COMMENT)
    yield line


def _prose(text: str, width: int, style: str = "") -> Iterator[Text]:
    """Wrap ``text`` between words; a `code` span is one unbreakable word, drawn as code."""
    words: list[tuple[str, bool]] = []
    for i, part in enumerate(text.split("`")):
        if i % 2:
            words.append((part, True))
        else:
            words.extend((w, False) for w in part.split(" ") if w)
    line, used = Text(style=style, no_wrap=True, overflow="ignore"), 0
    for i, (word, is_code) in enumerate(words):
        glue = not is_code and i and word[0] in ",.;:)" and used  # punctuation sticks to the code before it
        need = len(word) + (0 if glue or not used else 1)
        if used and used + need > width:
            yield line
            line, used, need = Text(style=style, no_wrap=True, overflow="ignore"), 0, len(word)
        if used and not glue:
            line.append(" ")
        line.append(word, style=_CODE if is_code else "")
        used += need
    if used:
        yield line


# --------------------------------------------------------------------------- cells


def _cell_picture(layout: Layout, width: int) -> Iterator[Text]:
    spec = layout.spec
    name = spec.class_name
    box = "─" * (len(name) + 2)
    lead = "" if layout.unbatched else f"{layout.batch}, "
    h = f"({lead}{spec.hidden_size}{',' if layout.unbatched else ''})"
    state = f"(h_0, c_0) {h}" if spec.is_lstm else f"h_0 {h}"
    out = f"(h_1, c_1) {h}" if spec.is_lstm else f"h_1 {h}"
    pad = " " * (len(state) + 5)
    below = pad + " " * (len(box) // 2 + 1)
    yield Text(f"{name}: one time step, no layers or directions to stack", style="bold")
    yield Text(f"{pad}┌{box}┐")
    yield Text.assemble(f"  {state} ─▶│ ", (name, "bold"), f" │─▶ {out}")
    yield Text(f"{pad}└{box}┘")
    yield Text(f"{below}▲")
    yield Text(f"{below}x ({lead}{spec.input_size}{',' if layout.unbatched else ''})", style="dim")


# --------------------------------------------------------------------------- export


def save_picture(renderable: RenderableType, *, title: str, svg: str | None = None,
                 html: str | None = None) -> None:
    """Save ``renderable`` as SVG and/or HTML through Rich's own console export, at ``MAX_WIDTH`` columns."""
    import io

    console = Console(record=True, width=MAX_WIDTH, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor")
    console.print(renderable)
    for path, save in ((svg, lambda p: console.save_svg(p, title=title, clear=False)),
                       (html, lambda p: console.save_html(p, clear=False))):
        if path is None:
            continue
        try:
            save(path)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}.") from None
