"""Catalog entries for the states h_0/c_0: sizes, batches, layers x directions, cells' states.

The causes are ranked by the paste's evidence (constructor lines, printed shapes).
"""

from __future__ import annotations

import re
from dataclasses import replace

from rnnshape import diagnoses as dx
from rnnshape.diagnoses import states as sx
from rnnshape.explain.catalog_core import NO_CONTEXT, Context, Entry, _e, _ints, _layer, _with_causes


def _hidden_size(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    expected, got = _ints(m["expected"]), _ints(m["got"])
    is_c = m["idx"] == "1"
    name = "c_0" if is_c else "h_0"
    if len(expected) != 3 or len(got) != 3:
        d = sx.state_size_rank(name=name, expected=expected, got=got, layer=_layer(ctx), torch_message=msg)
        return _with_causes(d, _rank_causes(name, expected, got))
    input_dims = _input_shape(ctx, expected, got)
    batch_first = ctx.batch_first
    if input_dims and batch_first is None and input_dims[1] == expected[1] != input_dims[0]:
        batch_first = False   # torch took the input's dimension 1 as the batch: not batch-first
    causes = _state_causes(sx.state_code(expected, got, is_cell_state=is_c), expected, got, ctx)
    paste = sx.PasteLayout(layer=ctx.layer, attr=_layer_attr(ctx), batch_first=ctx.batch_first,
                           shapes_printed=bool(ctx.shapes),
                           input_batch_first=bool(causes) and causes[0].startswith(_LAYOUT))
    d = sx.state_size_mismatch(name=name, expected=expected, got=got, is_cell_state=is_c, paste=paste,
                               input_dims=input_dims, batch_first=batch_first if input_dims else None,
                               torch_message=msg)
    return _with_causes(d, causes)


def _rank_causes(name: str, e: tuple[int, ...], g: tuple[int, ...]) -> list[str]:
    if len(g) > len(e):
        extra = [i for i, n in enumerate(g) if n == 1]
        squeeze = f"{name}.squeeze({extra[0]})" if extra else f"{name}.view({', '.join(map(str, e))})"
        return [f"an extra axis, not a missing one: {dx.fmt_shape(g)} has {len(g)} dimensions, the "
                f"layer wants {len(e)} {dx.fmt_shape(e)}; an unsqueeze (or a stack of states) too "
                f"many: {squeeze}"]
    return [f"the state {dx.fmt_shape(g)} lacks the num_layers x num_directions axis: "
            f"{name}.unsqueeze(0)"]


def _input_shape(ctx: Context, e: tuple[int, ...], g: tuple[int, ...]) -> tuple[int, ...] | None:
    """A 3-D input shape printed in the paste that torch's expected batch came from."""
    for shape in ctx.shapes:
        if len(shape) == 3 and e[1] in (shape[0], shape[1]) and shape[-1] != e[2]:
            return shape
    return None


def _layer_attr(ctx: Context) -> str:
    """The user's name for the layer (``self.rnn`` in ``out, h = self.rnn(x, h0)``)."""
    if ctx.user_line:
        for name in re.findall(r"([A-Za-z_][\w.]{0,80})\s*\(", ctx.user_line[:400]):
            last = name.rsplit(".", 1)[-1].lower()
            if any(k in last for k in ("lstm", "gru", "rnn", "encoder", "decoder")):
                return name
    return "rnn"


def _says(ctx: Context, pattern: str) -> bool:
    return bool(ctx.ctor_text and re.search(pattern, ctx.ctor_text))


def _layers_causes(e0: int, g0: int, ctx: Context) -> list[str]:
    """1 vs 2 (or n vs 2n) in the first dimension: num_layers or bidirectional, by the evidence."""
    bidir = _says(ctx, r"bidirectional\s*=\s*True")
    layered = re.findall(r"num_layers\s*=\s*(\d+)", ctx.ctor_text or "")
    deeper = any(int(n) > 1 for n in layered)
    test = ("to tell them apart: print(rnn.num_layers, rnn.bidirectional) -- the first "
            "dimension is num_layers x (2 if bidirectional else 1)")
    causes: list[str] = []
    if g0 > 8 and g0 not in (2 * e0, e0 // 2 if e0 % 2 == 0 else -1):
        causes.append(f"not a state at all: {g0} is a sequence length, not num_layers x "
                      "num_directions -- an output sequence passed as h_0 (pass h_n instead)")
    if e0 == 2 * g0:
        layer_cause = (f"num_layers={e0} forgotten in the state (a {g0}-layer state for a model "
                       f"with num_layers={e0})" if g0 == 1 else
                       f"num_layers differs: the state holds {g0} layer state(s), the layer "
                       f"needs {e0}")
        bidir_cause = f"bidirectional=True forgotten in the state: {e0} = 2 directions x {g0} layer(s)"
        if bidir and not deeper:
            causes += [bidir_cause + " (the paste builds a bidirectional layer)"]
        elif deeper and not bidir:
            causes += [layer_cause + " (the paste builds num_layers=" + layered[0] + ")"]
        else:
            causes += [bidir_cause, layer_cause, test]
    elif g0 == 2 * e0:
        enc = (f"the state comes from a bidirectional layer ({g0} = 2 x {e0}): an encoder's h_n "
               "passed to a one-direction decoder; merge the directions (sum, or cat + Linear) "
               "first")
        deep = f"the state comes from a deeper layer ({g0} layers) than this one ({e0})"
        if deeper and not bidir:
            causes += [deep + " (the paste builds num_layers=" + layered[0] + ")", enc]
        elif bidir and not deeper:
            causes += [enc + " (the paste builds a bidirectional layer)"]
        else:
            causes += [enc, deep, test]
    elif not causes:
        causes.append(f"num_layers differs: the state holds {g0} layer state(s), the layer needs "
                      f"num_layers x num_directions = {e0}")
    return causes


def _state_causes(code: str, e: tuple[int, ...], g: tuple[int, ...],
                  ctx: Context = NO_CONTEXT) -> list[str]:
    causes: list[str] = []
    if code == "hidden-batch-first":
        causes.append(f"the state was built batch-first {dx.fmt_shape(g)}; states are always "
                      "(num_layers x num_directions, batch, size), even with batch_first=True")
    if g[0] == e[1] and g[1] != e[1] and g[0] != e[0] and g[1] > 1 and code != "hidden-batch-first":
        causes.append(f"not a state at all: {dx.fmt_shape(g)} reads as (batch {g[0]}, seq_len "
                      f"{g[1]}, features {g[2]}) -- an encoder's output sequence passed as h_0; "
                      "pass the encoder's h_n (the second thing it returns)")
    if e[0] != g[0]:
        causes += [c for c in _layers_causes(e[0], g[0], ctx) if c not in causes]
    if e[1] != g[1] and code != "hidden-batch-first":
        causes += _batch_causes(e[1], g[1], ctx)
    if e[2] != g[2]:
        if g[2] == 2 * e[2]:
            causes.append(f"the state's size {g[2]} = 2 x {e[2]}: both directions of a "
                          "bidirectional encoder concatenated into one state")
        causes.append(f"the state was built with another hidden_size ({g[2]}); use the "
                      f"layer's own ({e[2]}), or proj_size for an LSTM with projections")
    return causes


_LAYOUT = "the input is batch-first"


def _batch_causes(e1: int, g1: int, ctx: Context) -> list[str]:
    """State batch g1 vs torch's batch e1 (x.size(1), or x.size(0) with batch_first=True)."""
    layout = (f"{_LAYOUT} but the layer was built without batch_first=True: it then reads "
              f"dimension 1 as the batch (here {e1}, which would be the sequence length)")
    shape = _input_shape(ctx, (0, e1, 0), (0, g1, 0))
    looks_batch_first = shape is not None and shape[0] == g1 and shape[1] == e1
    last = (f"the last batch of the DataLoader is smaller ({e1}) than the batch size the state "
            f"was built for ({g1}): build the state from x's batch each call, or "
            "DataLoader(..., drop_last=True)")
    kept = ("a state kept from training (or built in __init__) reused with a different batch "
            "size in evaluation")
    small = (f"the state was built for batch {g1} (e.g. batch 1 at inference) but the input has "
             f"batch {e1}")
    if ctx.batch_first is True:
        return [last, kept] if g1 > e1 else [small]
    if looks_batch_first:
        return [layout + f" (x is {dx.fmt_shape(shape)})", last if g1 > e1 else small]
    return [last, kept, layout] if g1 > e1 else [layout, small]


def _cell_batch(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = _cell_state(int(m["idx"]), (int(m["input"]), None), (int(m["hidden"]), None), 0, msg)
    e, g = int(m["input"]), int(m["hidden"])
    if "hidden[" in m.group(0) and g > e:
        # torch 0.4-1.x named an LSTMCell's h as hidden[0]: given h alone, it took h[0] (a vector
        # of hidden_size) as the state, so the "batch" it reports is the hidden size.
        alone = (f"an LSTMCell given h alone instead of the tuple (h, c): torch read h[0], a vector "
                 f"of {g} = hidden_size, as the state -- pass cell(x, (h, c))")
        causes = list(d.evidence["causes"])
        causes.insert(0 if e == 1 else 1, alone)
        d = replace(d, evidence={**d.evidence, "causes": causes})
    return d


def _cell_hidden(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    return _cell_state(int(m["idx"]), (None, int(m["expected"])), (None, int(m["got"])), 1, msg)


def _cell_state(idx: int, expected: tuple, got: tuple, dim: int, msg: str) -> dx.Diagnosis:
    return dx.cell_state_mismatch(name="c_0" if idx == 1 else "h_0", dimension=dim, expected=expected,
                                  got=got, torch_message=msg)


def _empty(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    return _with_causes(dx.empty_sequence(torch_message=msg), [
        "a filter, a truncation or a sliding window produced 0 time steps",
        "seq_len and batch swapped: an empty batch read as an empty sequence"])


#: Sizes as torch printed them: (2, 3, 16), [2, 3, 16], torch.Size([2, 3, 16]), and Python 2's
#: long integers of torch 0.x, (2L, 32L, 256L).
_STATE_SIZE = (r"(?P<expected>\([\dL, ]*\)), got (?P<got>\[[\dL, ]*\]|\([\dL, ]*\)"
               r"|torch\.Size\(\[[\dL, ]*\]\))")


#: This topic's entries, in the catalog's order (earlier entries win overlaps).
ENTRIES: tuple[Entry, ...] = (
    # ---- state
    _e("hidden-size", "hidden-size-mismatch",
       r"Expected hidden(?:\[(?P<idx>\d)\])? size " + _STATE_SIZE, _hidden_size,
       also=("hidden-layers-mismatch", "hidden-batch-mismatch", "hidden-batch-first",
             "cell-shape-mismatch", "hidden-rank")),
    _e("cell-batch", "hidden-batch-mismatch",
       r"Input batch size (?P<input>\d+) doesn't match hidden\[?(?P<idx>\d)\]? batch size (?P<hidden>\d+)",
       _cell_batch, also=("cell-shape-mismatch",)),
    _e("cell-hidden-size", "hidden-size-mismatch",
       r"hidden\[?(?P<idx>\d)\]? has inconsistent hidden_size: got (?P<got>\d+), expected (?P<expected>\d+)",
       _cell_hidden, also=("cell-shape-mismatch",)),
    _e("empty-sequence", "empty-sequence", r"Expected sequence length to be larger than 0", _empty),
)
