"""The layout of a recurrent layer's results, as data: which row of ``h_n`` is which layer and direction.

Pure Python (never imports torch or rich). :func:`layout_for` answers, for one layer and one call:

- the rows of ``h_n``/``c_n`` (``h_n[i]`` is layer ``i // D``, direction ``i % D``), each with its
  negative alias (``h_n[-2]``) and the time step where that direction ends;
- which slice of ``output`` each direction writes (``output[..., :H]`` forward, ``output[..., H:]`` backward);
- the identities users trip over (``output[-1, :, :H] == h_n[-2]`` but ``output[0, :, H:] == h_n[-1]``), written
  as code for this call's layout (batch-first, unbatched, packed), and the effect of ``proj_size``;
- the code for the usual things (last layer, both directions; the last step of every packed sequence).

Every identity and recipe is an expression pair that ``tests/test_diagram.py`` evaluates against real torch
with random weights. :func:`elide` chooses which time steps and layers a picture draws.
"""

from __future__ import annotations

from dataclasses import field
from enum import Enum
from typing import Any

from rnnshape.model.shapes import Request
from rnnshape.model.spec import LayerSpec, check_config
from rnnshape.records import record

#: Names the code lines use for the layer's results (``output, h_n = lstm(x)``).
OUTPUT, H_N, C_N, PADDED, LENGTHS = "output", "h_n", "c_n", "padded", "lengths"
#: The one line that turns a packed output into a padded tensor and its lengths.
PACKED_SETUP = "{padded}, {lengths} = pad_packed_sequence({output}, batch_first={bf})"


class Direction(str, Enum):
    FORWARD = "forward"
    BACKWARD = "backward"

    @property
    def short(self) -> str:
        return "fwd" if self is Direction.FORWARD else "bwd"

    @property
    def arrow(self) -> str:
        return "→" if self is Direction.FORWARD else "←"


@record(frozen=True)
class StateRow:
    """One row of ``h_n`` (and of ``c_n``): the final state of one layer in one direction."""

    index: int  # h_n[index]
    negative: int  # the same row counted from the end: h_n[negative]
    layer: int
    direction: Direction
    ends_at: str  # the time step where this direction's final state is reached ("t=4", "t=0")

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "negative": self.negative, "layer": self.layer,
                "direction": self.direction.value, "ends_at": self.ends_at}


@record(frozen=True)
class OutputSlice:
    """The features of ``output`` one direction of the last layer writes."""

    direction: Direction
    start: int
    stop: int
    code: str  # output[..., :20]


@record(frozen=True)
class Identity:
    """``lhs == rhs`` holds for every call with this layout; ``note`` says why it matters."""

    lhs: str
    rhs: str
    note: str

    @property
    def code(self) -> str:
        return f"{self.lhs} == {self.rhs}"


@record(frozen=True)
class Recipe:
    """Code for a usual need; ``code`` evaluates to the same tensor as ``equals`` (tests check it)."""

    purpose: str
    code: str
    equals: str
    shape: str  # what it gives, in words: "(batch, 40)"


@record(frozen=True)
class Layout:
    """What each index of ``h_n`` and ``output`` means for one layer and one call, with code that shows it.

    (A docstring also spares ``@dataclass`` writing one from ``inspect.signature``, at import.)
    """

    spec: LayerSpec
    seq_len: int | None  # None: unknown (the input's rank is wrong)
    batch: int | None  # None: unbatched (or unknown)
    unbatched: bool
    packed: bool
    rows: tuple[StateRow, ...]
    slices: tuple[OutputSlice, ...]
    setup: tuple[str, ...]  # lines to run before the identities (packed: pad the output)
    identities: tuple[Identity, ...]
    recipes: tuple[Recipe, ...]
    notes: tuple[str, ...]
    view: str  # h_n.view(num_layers, num_directions, batch, hidden)
    cell_call: str = ""  # cells: the one-step call
    unroll: tuple[str, ...] = field(default_factory=tuple)  # cells: the loop over time

    @property
    def is_cell(self) -> bool:
        return self.spec.is_cell

    @property
    def code_lines(self) -> tuple[str, ...]:
        """Every line of code this layout shows (each one parses on its own)."""
        lines = [*self.setup, *(i.code for i in self.identities), *(r.code for r in self.recipes)]
        if self.view:
            lines.append(self.view)
        if self.cell_call:
            lines.append(self.cell_call)
        return (*lines, *self.unroll)

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "kind": "cell" if spec.is_cell else "sequence",
            "num_layers": 1 if spec.is_cell else spec.num_layers,
            "num_directions": spec.num_directions,
            "hidden_size": spec.hidden_size,
            "h_size": spec.h_out,
            "c_size": spec.hidden_size if spec.is_lstm else None,
            "batch_first": bool(spec.batch_first) and not spec.is_cell,
            "seq_len": self.seq_len,
            "batch": self.batch,
            "unbatched": self.unbatched,
            "packed": self.packed,
            "h_n_rows": [r.to_dict() for r in self.rows],
            "h_n_view": self.view,
            "output_slices": [{"direction": s.direction.value, "start": s.start, "stop": s.stop,
                               "code": s.code} for s in self.slices],
            "setup": list(self.setup),
            "identities": [{"code": i.code, "lhs": i.lhs, "rhs": i.rhs, "note": i.note}
                           for i in self.identities],
            "recipes": [{"purpose": r.purpose, "code": r.code, "equals": r.equals, "shape": r.shape}
                        for r in self.recipes],
            "notes": list(self.notes),
            "cell_call": self.cell_call or None,
            "unroll": list(self.unroll),
        }


# --------------------------------------------------------------------------- building


def layout_for_request(req: Request) -> Layout | None:
    """The layout of ``req``'s call, or ``None`` when the layer itself cannot be built."""
    spec = req.spec
    if check_config(spec)[0] is not None:
        return None
    x = req.input.shape
    if spec.is_cell:
        return layout_for(spec, batch=x[0] if len(x) == 2 else None, unbatched=len(x) == 1)
    if len(x) == 3:
        batch, seq = (x[0], x[1]) if spec.batch_first else (x[1], x[0])
        if req.packed and req.lengths:
            seq = max(req.lengths)
        return layout_for(spec, seq_len=seq, batch=batch, packed=req.packed)
    if len(x) == 2:
        return layout_for(spec, seq_len=x[0], unbatched=True)
    return layout_for(spec)


def layout_for(spec: LayerSpec, *, seq_len: int | None = None, batch: int | None = None,
               unbatched: bool = False, packed: bool = False) -> Layout:
    """The layout of ``spec`` for inputs of ``seq_len`` steps (``packed``: through pack_padded_sequence)."""
    if spec.is_cell:
        return _cell_layout(spec, batch, unbatched)
    packed = packed and not unbatched
    rows = state_rows(spec, seq_len, packed)
    slices = output_slices(spec, unbatched)
    view = _view_code(spec, unbatched)
    setup = (PACKED_SETUP.format(padded=PADDED, lengths=LENGTHS, output=OUTPUT,
                                 bf=bool(spec.batch_first)),) if packed else ()
    identities = (*_last_layer_identities(spec, unbatched, packed), *_view_identities(spec, unbatched),
                  *_size_identities(spec))
    return Layout(spec, seq_len, None if unbatched else batch, unbatched, packed, rows, slices, setup,
                  identities, _recipes(spec, unbatched, packed), _notes(spec, packed), view)


def state_rows(spec: LayerSpec, seq_len: int | None = None, packed: bool = False) -> tuple[StateRow, ...]:
    """``h_n[i]`` is layer ``i // D``, direction ``i % D`` (D = 2 if bidirectional else 1)."""
    d, total = spec.num_directions, spec.state_layers
    last = "each sequence's last step" if packed else f"t={seq_len - 1}" if seq_len else "the last step"
    return tuple(
        StateRow(i, i - total, i // d, Direction.BACKWARD if i % d else Direction.FORWARD,
                 "t=0" if i % d else last)
        for i in range(total))


def row_of(spec: LayerSpec, layer: int, direction: Direction) -> int:
    """The index into ``h_n`` of ``layer``'s final state in ``direction``."""
    return layer * spec.num_directions + (1 if direction is Direction.BACKWARD else 0)


def last_layer_rows(spec: LayerSpec) -> tuple[int, ...]:
    """The rows of ``h_n`` that hold the last layer: ``(h_n[-2], h_n[-1])`` as positive indices when bidirectional."""
    return tuple(range(spec.state_layers - spec.num_directions, spec.state_layers))


def output_slices(spec: LayerSpec, unbatched: bool = False) -> tuple[OutputSlice, ...]:
    h = spec.h_out
    if spec.num_directions == 1:
        return (OutputSlice(Direction.FORWARD, 0, h, f"{OUTPUT}[..., :{h}]"),)
    return (OutputSlice(Direction.FORWARD, 0, h, f"{OUTPUT}[..., :{h}]"),
            OutputSlice(Direction.BACKWARD, h, 2 * h, f"{OUTPUT}[..., {h}:]"))


def _at_step(spec: LayerSpec, step: str, features: str, unbatched: bool, tensor: str = OUTPUT) -> str:
    """``output`` at time ``step`` for every sequence of the batch, in this layout's index order."""
    if unbatched:
        index = f"{step}, {features}" if features else step
    elif spec.batch_first:
        index = f":, {step}, {features}" if features else f":, {step}"
    else:
        index = f"{step}, :, {features}" if features else step
    return f"{tensor}[{index}]"


def _packed_last(spec: LayerSpec, features: str) -> str:
    """Each sequence's own last step of a padded output (not ``[:, -1]``: that is padding when shorter)."""
    rows, steps = f"torch.arange(len({LENGTHS}))", f"{LENGTHS} - 1"
    index = f"{rows}, {steps}" if spec.batch_first else f"{steps}, {rows}"
    return f"{PADDED}[{index}{', ' + features if features else ''}]"


def _halves(spec: LayerSpec) -> tuple[str, str]:
    h = spec.h_out
    return (f":{h}", f"{h}:") if spec.num_directions == 2 else ("", "")


def _last_forward(spec: LayerSpec, unbatched: bool, packed: bool) -> str:
    fwd, _ = _halves(spec)
    return _packed_last(spec, fwd) if packed else _at_step(spec, "-1", fwd, unbatched)


def _first_backward(spec: LayerSpec, unbatched: bool, packed: bool) -> str:
    _, bwd = _halves(spec)
    return _at_step(spec, "0", bwd, unbatched, PADDED if packed else OUTPUT)


def _last_layer_identities(spec: LayerSpec, unbatched: bool, packed: bool) -> tuple[Identity, ...]:
    last_step = "each sequence's own last step" if packed else "the last step"
    if spec.num_directions == 1:
        return (Identity(_last_forward(spec, unbatched, packed), f"{H_N}[-1]",
                         f"the last layer ends at {last_step}"),)
    return (
        Identity(_last_forward(spec, unbatched, packed), f"{H_N}[-2]",
                 f"last layer forward ends at {last_step}"),
        Identity(_first_backward(spec, unbatched, packed), f"{H_N}[-1]",
                 "last layer backward ends at t=0!"),
    )


def _view_code(spec: LayerSpec, unbatched: bool) -> str:
    batch = "" if unbatched else "-1, "
    return f"{H_N}.view({spec.num_layers}, {spec.num_directions}, {batch}{spec.h_out})"


def _view_identities(spec: LayerSpec, unbatched: bool) -> tuple[Identity, ...]:
    if spec.num_layers == 1 and spec.num_directions == 1:
        return ()
    view = _view_code(spec, unbatched)
    last = spec.state_layers - 1
    if spec.num_directions == 2:
        return (Identity(f"{view}[-1, 1]", f"{H_N}[{last}]", "[layer, direction]: 1 is backward"),)
    return (Identity(f"{view}[-1, 0]", f"{H_N}[{last}]", "[layer, direction]"),)


def _size_identities(spec: LayerSpec) -> tuple[Identity, ...]:
    if not (spec.mode == "lstm" and spec.proj_size):
        return ()
    return (
        Identity(f"{H_N}.size(-1)", str(spec.proj_size), "proj_size shrinks h (and output)"),
        Identity(f"{C_N}.size(-1)", str(spec.hidden_size), "but not c: c_n keeps hidden_size"),
    )


def _recipes(spec: LayerSpec, unbatched: bool, packed: bool) -> tuple[Recipe, ...]:
    h, d = spec.h_out, spec.num_directions
    dim = 0 if unbatched else 1
    batch = "" if unbatched else "batch, "
    end = ",)" if unbatched else ")"
    if d == 1:
        both = Recipe("the last layer's final state", f"{H_N}[-1]", _last_forward(spec, unbatched, packed),
                      f"({batch}{h}{end}")
        return (both,)
    both = Recipe("last layer, fwd + bwd", f"torch.cat([{H_N}[-2], {H_N}[-1]], dim={dim})",
                  f"torch.cat([{_last_forward(spec, unbatched, packed)}, "
                  f"{_first_backward(spec, unbatched, packed)}], dim={dim})", f"({batch}{2 * h}{end}")
    stacked = Recipe("the same, stacked", f"{_view_code(spec, unbatched)}[-1]",
                     f"torch.stack([{H_N}[-2], {H_N}[-1]])", f"(2, {batch}{h})")
    recipes = [both, stacked]
    if packed:
        recipes.append(Recipe("forward, each sequence's last step", _packed_last(spec, f":{h}"),
                              f"{H_N}[-2]", f"(batch, {h})"))
    return tuple(recipes)


def _notes(spec: LayerSpec, packed: bool) -> tuple[str, ...]:
    notes = []
    if spec.num_directions == 2:
        notes.append(f"`{OUTPUT}[..., :{spec.h_out}]` is the last layer's forward direction, "
                     f"`{OUTPUT}[..., {spec.h_out}:]` its backward direction; earlier layers appear only in "
                     f"`{H_N}`.")
    if spec.mode == "lstm" and spec.proj_size:
        notes.append(f"`proj_size={spec.proj_size}`: `h_n` and each direction of `output` are {spec.proj_size} "
                     f"wide; `c_n` keeps `hidden_size` {spec.hidden_size}.")
    if packed:
        side = f"{PADDED}[:, -1]" if spec.batch_first else f"{PADDED}[-1]"
        notes.append(f"packed: `{side}` is padding (zeros) for every sequence shorter than the longest; "
                     f"`{H_N}` holds each sequence's own final state.")
    return tuple(notes)


def _cell_layout(spec: LayerSpec, batch: int | None, unbatched: bool) -> Layout:
    lstm = spec.is_lstm
    call = "h_1, c_1 = cell(x, (h_0, c_0))" if lstm else "h_1 = cell(x, h_0)"
    step = "h, c = cell(x_t, (h, c))" if lstm else "h = cell(x_t, h)"
    unroll = (f"for x_t in seq.unbind(0): {step}",)
    notes = ["a cell is one time step: no output sequence, no stack of layers, no directions; "
             "h' has `hidden_size` features" + (" and so has c'" if lstm else "") + ".",
             "`seq` is `(seq_len, batch, input_size)`; loop over it to run a whole sequence."]
    identities = [Identity("h_1.size(-1)", str(spec.hidden_size), "h' is hidden_size wide")]
    if lstm:
        identities.append(Identity("c_1.size(-1)", str(spec.hidden_size), "and so is c'"))
    return Layout(spec, 1, None if unbatched else batch, unbatched, False, (), (), (), tuple(identities), (),
                  tuple(notes), "", call, unroll)


# --------------------------------------------------------------------------- elision


def elide(count: int, keep: int) -> tuple[int | None, ...]:
    """Which of ``count`` items to draw when at most ``keep`` fit: the first and last ones, ``None`` between.

    The last items matter most (the last layer feeds ``output``; the last step is where forward ends),
    so an odd budget keeps one more at the end.
    """
    if count <= keep:
        return tuple(range(count))
    keep = max(keep, 2)
    head = keep // 2
    tail = keep - head
    return (*range(head), None, *range(count - tail, count))
