"""The catalog: PyTorch's own error messages, matched and turned into diagnoses.

Each :class:`Entry` pairs a regular expression (tolerant of the wording of
several torch releases) with a builder that reads the numbers out of the match
and calls the shared builders in :mod:`rnnshape.diagnoses`. The runner uses it
to name the exception torch raised; ``rnnshape explain`` uses it on pasted text.
No torch import here: this module must load in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import diagnoses as dx

Builder = Callable[["re.Match[str]", str], dx.Diagnosis]


@dataclass(frozen=True)
class Entry:
    """One error pattern: its name, the code it yields, and how to explain it."""

    name: str
    code: str
    pattern: re.Pattern[str]
    build: Builder


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in re.findall(r"-?\d+", text))


def _input_size(m: re.Match[str], msg: str) -> dx.Diagnosis:
    exp, got = int(m["expected"]), int(m["got"])
    return dx.input_size_mismatch(expected=exp, got=got, torch_message=msg)


def _seq_input_rank(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.input_rank(layer=m["layer"] or "RNN", got_rank=int(m["rank"]), torch_message=msg)


def _old_input_rank(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.input_rank(layer="RNN", got_rank=int(m["rank"]), torch_message=msg)


def _cell_input_rank(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.input_rank(layer=m["layer"], got_rank=int(m["rank"]), is_cell=True, torch_message=msg)


def _cell_hidden_rank(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.hidden_rank(name="h_0", got_rank=int(m["rank"]), expected_rank=2,
                          layer=m["layer"], torch_message=msg)


def _hx_rank(m: re.Match[str], msg: str) -> dx.Diagnosis:
    want = int(m["want"])
    ranks = _ints(m["got"])
    name, got = ("h_0", ranks[0]) if ranks[0] != want or len(ranks) == 1 else ("c_0", ranks[1])
    return dx.hidden_rank(name=name, got_rank=got, expected_rank=want,
                          input_rank=3 if want == 3 else 2, torch_message=msg)


def _hidden_size(m: re.Match[str], msg: str) -> dx.Diagnosis:
    expected, got = _ints(m["expected"]), _ints(m["got"])
    is_c = m["idx"] == "1"
    name = "c_0" if is_c else "h_0"
    if len(expected) != 3 or len(got) != 3:
        return dx.hidden_rank(name=name, got_rank=len(got), expected_rank=len(expected),
                              torch_message=msg)
    return dx.hidden_shape_mismatch(name=name, expected=expected, got=got, is_cell_state=is_c,
                                    torch_message=msg)


def _cell_batch(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return _cell_state(int(m["idx"]), (int(m["input"]), None), (int(m["hidden"]), None), 0, msg)


def _cell_hidden(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return _cell_state(int(m["idx"]), (None, int(m["expected"])), (None, int(m["got"])), 1, msg)


def _cell_state(idx: int, expected: tuple, got: tuple, dim: int, msg: str) -> dx.Diagnosis:
    name = "c_0" if idx == 1 else "h_0"
    if idx == 1:
        code = "cell-shape-mismatch"
    else:
        code = "hidden-batch-mismatch" if dim == 0 else "hidden-size-mismatch"
    what = "batch" if dim == 0 else "hidden_size"
    e, g = expected[dim], got[dim]
    story = (f"The cell's state is (batch, hidden_size); its {what} must be {e}, but {name} "
             f"has {g}.")
    if dim == 0 and g > e:
        story += (" A state bigger than the input's batch is the classic last-batch problem: "
                  "build the state from x.size(0), or use DataLoader(..., drop_last=True).")
    fix = (f"{name} = torch.zeros(x.size(0), cell.hidden_size, device=x.device)" if dim == 0
           else f"{name} = torch.zeros(batch, {e})   # hidden_size {e}")
    return dx.Diagnosis(code=code, severity="error", title=f"{name}: {what} must be {e}, got {g}",
                        explanation=story, fix=fix,
                        evidence={"name": name, "dimension": dim, "expected": e, "got": g,
                                  "torch_message": msg})


def _empty(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.empty_sequence(torch_message=msg)


_INT_NAMES = {"Long": "int64", "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8",
              "Bool": "bool", "Float": "float32", "Double": "float64", "Half": "float16",
              "BFloat16": "bfloat16"}


def _norm_dtype(name: str) -> str:
    name = name.replace("torch.", "")
    return _INT_NAMES.get(name, name)


def _rnn_dtype(m: re.Match[str], msg: str) -> dx.Diagnosis:
    got, weight = _norm_dtype(m["got"]), _norm_dtype(m["weight"])
    if got.startswith(("int", "uint", "bool")):
        return dx.integer_input(dtype=got, torch_message=msg)
    return dx.dtype_mismatch(what="input", got=got, expected=weight, torch_message=msg)


def _mat_dtype(m: re.Match[str], msg: str) -> dx.Diagnosis:
    a, b = _norm_dtype(m["a"]), _norm_dtype(m["b"])
    if a.startswith(("int", "uint", "bool")):
        return dx.integer_input(dtype=a, torch_message=msg)
    return dx.dtype_mismatch(what="input", got=a, expected=b, torch_message=msg)


def _not_tuple(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.hidden_not_tuple(torch_message=msg)


def _device(m: re.Match[str], msg: str) -> dx.Diagnosis:
    devices = list(dict.fromkeys(re.findall(r"\b(cuda:\d+|cuda|cpu|mps|meta|xpu:\d+|xpu)\b", msg)))
    return dx.device_mismatch(devices=devices, torch_message=msg)


def _config(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.invalid_config(message=msg.strip().rstrip("."), torch_message=msg)


def _dropout_warning(m: re.Match[str], msg: str) -> dx.Diagnosis:
    return dx.dropout_single_layer(dropout=float(m["dropout"]), torch_message=msg)


def _e(name: str, code: str, pattern: str, build: Builder) -> Entry:
    return Entry(name, code, re.compile(pattern, re.IGNORECASE | re.DOTALL), build)


#: Ordered: the first entry that matches a message wins.
ENTRIES: tuple[Entry, ...] = (
    _e("input-size", "input-size-mismatch",
       r"input\.size\(-1\) must be equal to input_size\.?\s*Expected (?P<expected>\d+), got (?P<got>\d+)",
       _input_size),
    _e("cell-input-size", "input-size-mismatch",
       r"input has inconsistent input_size: got (?P<got>\d+),? expected (?P<expected>\d+)",
       _input_size),
    _e("input-rank", "input-rank",
       r"(?:(?P<layer>\w+): )?Expected input to be 2D or 3D, got (?P<rank>\d+)D", _seq_input_rank),
    _e("input-rank-old", "input-rank", r"input must have \d dimensions, got (?P<rank>\d+)",
       _old_input_rank),
    _e("cell-input-rank", "input-rank",
       r"(?P<layer>\w+): Expected input to be 1D or 2D, got (?P<rank>\d+)D", _cell_input_rank),
    _e("cell-hidden-rank", "hidden-rank",
       r"(?P<layer>\w+): Expected (?:hidden|hx\[\d\]) to be 1D or 2D, got (?P<rank>\d+)D",
       _cell_hidden_rank),
    _e("hx-rank", "hidden-rank",
       r"input, hx(?: and cx)? should also be (?P<want>\d)-D but got (?P<got>\(?[\d\-D, ]+\)?)",
       _hx_rank),
    _e("hidden-size", "hidden-size-mismatch",
       r"Expected hidden(?:\[(?P<idx>\d)\])? size (?P<expected>\([\d, ]*\)), got (?P<got>\[[\d, ]*\]|\([\d, ]*\))",
       _hidden_size),
    _e("cell-batch", "hidden-batch-mismatch",
       r"Input batch size (?P<input>\d+) doesn't match hidden(?P<idx>\d) batch size (?P<hidden>\d+)",
       _cell_batch),
    _e("cell-hidden-size", "hidden-size-mismatch",
       r"hidden(?P<idx>\d) has inconsistent hidden_size: got (?P<got>\d+), expected (?P<expected>\d+)",
       _cell_hidden),
    _e("empty-sequence", "empty-sequence", r"Expected sequence length to be larger than 0", _empty),
    _e("rnn-dtype", "dtype-mismatch",
       r"input dtype \((?P<got>[\w.]+)\) does not match weight dtype \((?P<weight>[\w.]+)\)",
       _rnn_dtype),
    _e("mat-dtype", "dtype-mismatch",
       r"mat1 and mat2 must have the same dtype(?:, but got (?P<a>\w+) and (?P<b>\w+))?", _mat_dtype),
    _e("lstm-hx-tensor", "hidden-not-tuple",
       r"index 1 is out of bounds for dimension 0 with size 1|must be tuple of Tensors, not Tensor"
       r"|invalid index of a 0-dim tensor", _not_tuple),
    _e("device", "device-mismatch",
       r"Expected all tensors to be on the same device|not at the same device|"
       r"Input and parameter tensors are not at the same device", _device),
    _e("dropout-warning", "dropout-single-layer",
       r"non-zero dropout expects num_layers greater than 1, but got dropout=(?P<dropout>[\d.]+)",
       _dropout_warning),
    _e("constructor", "invalid-config",
       r"dropout should be a number in range|should be of type (?:bool|int)|must be greater than zero"
       r"|proj_size (?:argument is only supported|should be a positive|has to be smaller)"
       r"|Unknown nonlinearity|Trying to create tensor with negative dimension"
       r"|got an unexpected keyword argument", _config),
)


def match(message: str) -> tuple[Entry, dx.Diagnosis] | None:
    """The first entry matching ``message``, and its diagnosis; ``None`` if none does."""
    for entry in ENTRIES:
        m = entry.pattern.search(message)
        if m:
            return entry, entry.build(m, message)
    return None


def code_for(message: str) -> str | None:
    found = match(message)
    return found[1].code if found else None
