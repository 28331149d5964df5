"""Fixes checked against the live shapes before they are printed.

Each diagnosis code that has a mechanical fix gets a function that applies that fix
to the live :class:`Request` (transpose the state, size it from the batch, rebuild
the layer, flip ``batch_first`` in the packing call...) and returns the fixed
request with the code that does it. The fixed request goes back through the shape
model: the fix is printed only if the call then works AND the batch and the time
axis are the same sizes the user's data had (a fix that "works" by reading the
batch as time is no fix). Several mistakes in one call (h_0 and c_0 both
batch-first) are fixed in turn, up to a few rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rnnshape import diagnoses as dx
from rnnshape.model.shapes import Request, TensorArg, predict

_MAX_ROUNDS = 3


@dataclass(frozen=True)
class CheckedFix:
    code: str  # the fix, as the user would write it
    request: Request  # the call with the fix applied, accepted by the shape model
    batch: int
    seq_len: int | None  # None for cells


def read_axes(req: Request) -> tuple[int, int | None]:
    """(batch, seq_len) as the layer (or the packing call) reads the input."""
    x = req.input.shape
    if req.spec.is_cell:
        return (x[0] if len(x) == 2 else 1), None
    if len(x) == 2:
        return 1, x[0]
    return (x[0], x[1]) if req.spec.batch_first else (x[1], x[0])


def _state(req: Request, name: str) -> TensorArg | None:
    return req.hidden if name == "h_0" else req.cell


def _with_state(req: Request, name: str, shape: tuple[int, ...]) -> Request:
    old = _state(req, name)
    new = TensorArg(tuple(shape), old.dtype if old else None, old.origin if old else None,
                    old.device if old else None)
    return replace(req, hidden=new) if name == "h_0" else replace(req, cell=new)


def _state_transposed(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    name = d.evidence.get("name", "h_0")
    old = _state(req, name)
    if old is None or len(old.shape) != 3:
        return None
    s = old.shape
    return _with_state(req, name, (s[1], s[0], s[2])), d.fix


def _state_as_expected(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    name, expected = d.evidence.get("name", "h_0"), d.evidence.get("expected")
    if _state(req, name) is None or not expected:
        return None
    return _with_state(req, name, tuple(expected)), d.fix


def _input_size(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    got = d.evidence.get("got")
    if not isinstance(got, int):
        return None
    rebuilt = req.spec.with_(input_size=got)
    return replace(req, spec=rebuilt), f"{rebuilt.to_code()}   # input_size = your {got} features"


def _input_dtype(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    if d.evidence.get("what") != "input":
        return None
    return replace(req, input=replace(req.input, dtype=req.dtype)), d.fix


def _lone_lstm_state(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    if req.hidden is None or not req.spec.is_lstm:
        return None
    return (replace(req, cell=req.hidden),
            "c_0 = torch.zeros_like(h_0)   # an LSTM takes the pair (h_0, c_0)\nout, (h_n, c_n) = lstm(x, (h_0, c_0))")


def _packing_axis(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    x, lengths = req.input.shape, req.lengths or ()
    if len(x) < 2 or req.spec.batch_first and x[1] != len(lengths) or not req.spec.batch_first and x[0] != len(lengths):
        return None  # the lengths belong to no axis of this input: another batch
    flipped = not req.spec.batch_first
    fixed = replace(req, spec=req.spec.with_(batch_first=flipped, given=req.spec.given | {"batch_first"}))
    layout = "(batch, seq_len, features)" if flipped else "(seq_len, batch, features)"
    return fixed, (f"# x is {layout}: {len(lengths)} lengths for {len(lengths)} sequences\n"
                   f"packed = pack_padded_sequence(x, lengths, batch_first={flipped}"
                   f"{'' if req.enforce_sorted else ', enforce_sorted=False'})\n"
                   f"# and build the recurrent layer with batch_first={flipped}")


def _packing_unsorted(req: Request, d: dx.Diagnosis) -> tuple[Request, str] | None:
    return replace(req, enforce_sorted=False), (
        f"packed = pack_padded_sequence(x, lengths, batch_first={req.spec.batch_first}, enforce_sorted=False)")


_APPLY: dict[str, Callable[[Request, dx.Diagnosis], tuple[Request, str] | None]] = {
    "hidden-batch-first": _state_transposed,
    "hidden-batch-mismatch": _state_as_expected,
    "hidden-layers-mismatch": _state_as_expected,
    "hidden-size-mismatch": _state_as_expected,
    "proj-hidden-size": _state_as_expected,
    "cell-shape-mismatch": _state_as_expected,
    "input-size-mismatch": _input_size,
    "dtype-mismatch": _input_dtype,
    "hidden-not-tuple": _lone_lstm_state,
    "packing-lengths-batch": _packing_axis,
    "packing-unsorted": _packing_unsorted,
}


def intended_axes(req: Request, d: dx.Diagnosis) -> tuple[int, int | None]:
    """The batch and time the user's data has: what the layer reads, except where the
    diagnosis says the reading itself is the mistake (lengths name the batch)."""
    if d.code == "packing-lengths-batch" and req.lengths:
        x = req.input.shape
        batch = len(req.lengths)
        other = x[1] if batch == x[0] else x[0]
        return batch, other
    return read_axes(req)


def check_fix(req: Request, d: dx.Diagnosis) -> CheckedFix | None:
    """Apply the fix for ``d`` (and for what it uncovers) and confirm it with the shape model."""
    want = intended_axes(req, d)
    lines: list[str] = []
    current, diagnosis = req, d
    for _ in range(_MAX_ROUNDS):
        apply = _APPLY.get(diagnosis.code)
        applied = apply(current, diagnosis) if apply else None
        if applied is None:
            return None
        current, code = applied
        if code not in lines:
            lines.append(code)
        found = predict(current).error
        if found is None:
            if read_axes(current) != want:
                return None
            return CheckedFix("\n".join(lines), current, want[0], want[1])
        diagnosis = found
    return None
