"""Hypothesis strategies for forward calls, right and wrong in every dimension.

Shared by the differential tests. Sizes are kept small so that real torch runs
each case in well under a millisecond on a CPU.
"""

from __future__ import annotations

from hypothesis import strategies as st

from rnnshape.model.shapes import Request, TensorArg
from rnnshape.model.spec import LayerSpec

DTYPES_ON = True
MODES = ("rnn", "lstm", "gru", "rnn-cell", "lstm-cell", "gru-cell")


@st.composite
def layer_specs(draw, valid_only: bool = False) -> LayerSpec:
    mode = draw(st.sampled_from(MODES))
    bad = not valid_only and draw(st.integers(0, 9)) == 0  # ~10% broken constructors
    lo = -1 if bad else 1
    input_size = draw(st.integers(lo, 8))
    hidden_size = draw(st.integers(lo, 8))
    given = {"input_size", "hidden_size"}
    kw: dict = {}
    if mode.endswith("-cell"):
        if draw(st.booleans()):
            kw["bias"] = draw(st.booleans())
        if mode == "rnn-cell" and draw(st.booleans()):
            kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"] + (["gelu"] if bad else [])))
    else:
        kw["num_layers"] = draw(st.integers(0 if bad else 1, 3))
        kw["bidirectional"] = draw(st.booleans())
        kw["batch_first"] = draw(st.booleans())
        kw["bias"] = draw(st.booleans())
        kw["dropout"] = draw(st.sampled_from([0.0, 0.0, 0.3] + ([1.5, -0.1] if bad else [])))
        if mode == "lstm" and draw(st.booleans()):
            kw["proj_size"] = draw(st.integers(-1 if bad else 0, hidden_size + (1 if bad else -1)))
            if kw["proj_size"] < 0 and not bad:
                kw["proj_size"] = 0
        if mode in ("rnn", "gru") and bad and draw(st.booleans()):
            kw["proj_size"] = draw(st.integers(0, 2))
        if mode == "rnn" and draw(st.booleans()):
            kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"] + (["sigmoid"] if bad else [])))
    given |= set(kw)
    return LayerSpec(mode=mode, input_size=input_size, hidden_size=hidden_size,
                     given=frozenset(given), **kw)


def _perturb(draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The right shape, or one dimension off, two swapped, one dropped or one added."""
    how = draw(st.sampled_from(["same", "same", "same", "off", "swap", "drop", "add"]))
    shape = list(shape)
    if how == "off" and shape:
        i = draw(st.integers(0, len(shape) - 1))
        shape[i] = max(0, shape[i] + draw(st.sampled_from([-1, 1, 2])))
    elif how == "swap" and len(shape) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    elif how == "drop" and shape:
        shape.pop(draw(st.integers(0, len(shape) - 1)))
    elif how == "add":
        shape.insert(draw(st.integers(0, len(shape))), draw(st.integers(1, 3)))
    return tuple(shape)


@st.composite
def requests(draw, valid_only: bool = False) -> Request:
    spec = draw(layer_specs(valid_only=valid_only))
    size = lambda v: v if isinstance(v, int) and v > 0 else 1  # noqa: E731
    feat = size(spec.input_size)
    hid = size(spec.hidden_size)
    batch = draw(st.integers(0 if not valid_only else 1, 4))
    seq = draw(st.integers(0 if not valid_only else 1, 4))
    batched = draw(st.booleans()) or valid_only
    if spec.is_cell:
        x = (batch, feat) if batched else (feat,)
        h_right = (batch, hid) if batched else (hid,)
        c_right = h_right
    else:
        nl = spec.num_layers if isinstance(spec.num_layers, int) and spec.num_layers > 0 else 1
        d = 2 if spec.bidirectional else 1
        projecting = spec.mode == "lstm" and isinstance(spec.proj_size, int) and spec.proj_size > 0
        h_out = spec.proj_size if projecting else hid
        if batched:
            x = (batch, seq, feat) if spec.batch_first else (seq, batch, feat)
            h_right, c_right = (nl * d, batch, h_out), (nl * d, batch, hid)
        else:
            x = (seq, feat)
            h_right, c_right = (nl * d, h_out), (nl * d, hid)
    if not valid_only:
        x = _perturb(draw, x)
    hidden = cell = None
    state = draw(st.sampled_from(["none", "given", "given"])) if not valid_only else "none"
    if state == "given":
        hidden = TensorArg(_perturb(draw, h_right))
        if spec.is_lstm and draw(st.integers(0, 9)) > 0:
            cell = TensorArg(_perturb(draw, c_right))
    dtype = None
    if not valid_only and DTYPES_ON and draw(st.integers(0, 14)) == 0:
        dtype = draw(st.sampled_from(["int64", "float64"]))
    return Request(spec, TensorArg(x, dtype), hidden, cell, "float32")
