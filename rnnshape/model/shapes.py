"""The shape model: PyTorch's recurrent-layer rules in pure Python.

This module is the single source of truth for what shapes *should* be. It never
imports torch; the runner (:mod:`rnnshape.engine.run`) confirms it against real torch,
and the differential tests in ``tests/test_differential.py`` pin it to torch's
behaviour on thousands of generated cases.

The rules, with the names the torch docs use (D = 2 if bidirectional else 1,
H_out = proj_size if proj_size > 0 else hidden_size):

========================  ==========================================  ======================
tensor                    batched                                     unbatched
========================  ==========================================  ======================
input                     (L, N, H_in), or (N, L, H_in) batch_first   (L, H_in)
h_0 / h_n                 (D * num_layers, N, H_out)  -- never         (D * num_layers, H_out)
                          batch-first
c_0 / c_n (LSTM)          (D * num_layers, N, hidden_size)            (D * num_layers, hidden_size)
output                    (L, N, D * H_out), or (N, L, D * H_out)      (L, D * H_out)
cell input                (N, H_in)                                   (H_in,)
cell h_0/h_1, c_0/c_1     (N, hidden_size)                            (hidden_size,)
========================  ==========================================  ======================

Checks run in torch's order (``nn.RNN.forward`` then ``check_forward_args``):
input rank, state rank, input dtype, input.size(-1), then each state's size, then
the kernel's empty-sequence check. The first failure is the diagnosis.
"""

from __future__ import annotations

from dataclasses import field, replace
from enum import Enum

from rnnshape import diagnoses as dx
from rnnshape.model.memory import numel
from rnnshape.model.spec import LayerSpec, cell_nonlinearity_error, check_config
from rnnshape.model.vocab import DTYPE_BYTES, FLOAT_DTYPES, GATES, INT_DTYPES  # noqa: F401 (re-exported)
from rnnshape.records import record

#: Evidence key on a diagnosis whose call must not reach torch (it can crash the process).
UNSAFE = "unsafe_for_torch"



@record(frozen=True)
class Dim:
    """One dimension: its size, its name, and how the number came about.

    ``str(Dim(40, "D*H_out", "2 directions x hidden_size 20"))`` reads
    ``2 directions x hidden_size 20``; a plain dimension reads ``batch 3``.
    """

    size: int
    name: str
    derivation: str = ""

    def __str__(self) -> str:
        return self.derivation or f"{self.name} {self.size}"


@record(frozen=True)
class TensorInfo:
    """A tensor's shape with every dimension explained."""

    name: str
    dims: tuple[Dim, ...]
    dtype: str = "float32"
    device: str = "cpu"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dims)

    def describe(self) -> str:
        """``(5, 3, 40) = (seq_len 5, batch 3, 2 directions x hidden_size 20)``."""
        return f"{dx.fmt_shape(self.shape)} = ({', '.join(str(d) for d in self.dims)})"


class AxisRole(str, Enum):
    """What an axis of the data means, whatever the layer makes of it."""

    BATCH = "batch"
    TIME = "time"
    FEATURES = "features"
    MIXED = "batch and time merged"  # after a reshape that merged the two: never right


@record(frozen=True)
class Axis:
    """One axis's meaning and where that is known from ("--batch 3", "the first axis of ids")."""

    role: AxisRole
    source: str = ""


@record(frozen=True)
class TensorArg:
    """A tensor handed to the layer: its shape, dtype and where the user said it.

    ``axes``: per dimension, its meaning where something outside the layer says it
    (None for a dimension, or for the whole tensor, when nothing does). Fixes are
    checked against it: a fix must never make the layer read batch as time.
    """

    shape: tuple[int, ...]
    dtype: str | None = None  # None: the layer's dtype
    origin: str | None = None
    device: str | None = None  # None: the layer's device
    largest: int | None = None  # the largest value, for integer data (token ids)
    axes: tuple[Axis | None, ...] | None = None


@record(frozen=True)
class Request:
    """Everything a forward call is made of."""

    spec: LayerSpec
    input: TensorArg
    hidden: TensorArg | None = None
    cell: TensorArg | None = None
    dtype: str = "float32"  # the layer's parameter dtype
    device: str | None = None  # the layer's device; None: not checked
    lengths: tuple[int, ...] | None = None  # pack_padded_sequence the input with these
    enforce_sorted: bool = True

    @property
    def packed(self) -> bool:
        return self.lengths is not None and not self.spec.is_cell


@record
class Prediction:
    """What the model says: the tensors (inputs, and outputs when the call works) and findings."""

    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    diagnoses: list[dx.Diagnosis] = field(default_factory=list)

    @property
    def error(self) -> dx.Diagnosis | None:
        return next((d for d in self.diagnoses if d.is_error), None)

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- entry point


def predict(req: Request, *, describe_inputs: bool = True) -> Prediction:
    """Apply PyTorch's rules to one forward call. Pure; never raises for bad shapes.

    ``describe_inputs=False``: the inputs' named dimensions are left out of ``tensors`` (for a caller that reads
    only the outputs and the diagnoses, as ``diagnose``'s follower does at every recurrent call).
    """
    pred = Prediction()
    spec = req.spec
    error, warnings = check_config(spec)
    pred.diagnoses.extend(warnings)
    if error is not None:
        pred.diagnoses.append(error)
        return pred
    if describe_inputs:
        _describe_inputs(req, pred)
    check = _check_cell if spec.is_cell else _check_sequence
    error = check(req)
    if error is not None:
        pred.diagnoses.append(error)
        return pred
    pred.tensors.update(_outputs(req))
    pred.diagnoses.extend(_suspicions(req))
    return pred


# --------------------------------------------------------------------------- checks


def _layer_name(spec: LayerSpec) -> str:
    return spec.class_name


def _dtype_error(req: Request) -> dx.Diagnosis | None:
    got = req.input.dtype or req.dtype
    if got == req.dtype:
        return None
    message = (f"RNN input dtype (torch.{got}) does not match weight dtype (torch.{req.dtype}). "
               f"Convert input: input.to(torch.{req.dtype}), or convert model: model.to(torch.{got})")
    if got in INT_DTYPES:
        vocab = None if req.input.largest is None else req.input.largest + 1
        return dx.integer_input(dtype=got, input_size=req.spec.input_size, vocab_size=vocab,
                                torch_message=message, shape=req.input.shape)
    return dx.dtype_mismatch(what="input", got=got, expected=req.dtype, torch_message=message)


def _check_sequence(req: Request) -> dx.Diagnosis | None:
    spec, x = req.spec, req.input.shape
    name = _layer_name(spec)
    if len(x) not in (2, 3):
        msg = (f"RNN: Expected input to be 2D or 3D, got {len(x)}D tensor instead" if spec.mode == "rnn"
               else f"{name}: Expected input to be 2D or 3D, got {len(x)}D instead")
        return dx.input_rank(layer=name, got_rank=len(x), shape=x, batch_first=spec.batch_first,
                             origin=req.input.origin, torch_message=msg, input_size=spec.input_size)
    if req.packed:
        return _check_packed(req)
    batched = len(x) == 3
    want_rank = 3 if batched else 2
    h, c = req.hidden, req.cell
    lone = h if spec.is_lstm and h is not None and c is None else None
    if lone is not None:
        split = _split_single_lstm_state(h)
        if isinstance(split, dx.Diagnosis):
            return split
        h, c = split
    if h is not None:
        if spec.is_lstm:
            hr, cr = len(h.shape), len(c.shape)  # type: ignore[union-attr]
            if hr != want_rank or cr != want_rank:
                which = "h_0" if hr != want_rank else "c_0"
                got = hr if hr != want_rank else cr
                kind = "batched 3-D" if batched else "unbatched 2-D"
                msg = (f"For {kind} input, hx and cx should also be {want_rank}-D but got "
                       f"({hr}-D, {cr}-D) tensors")
                state = h if which == "h_0" else c
                same = which == "h_0" and cr == hr and c.shape[:1] == h.shape[:1]  # type: ignore[union-attr]
                return dx.hidden_rank(name=which, got_rank=got, expected_rank=want_rank,
                                      input_rank=len(x), layer=name, also="c_0" if same else None,
                                      also_shape=_state_shape(req, True),
                                      origin=state.origin,  # type: ignore[union-attr]
                                      torch_message=msg, got_shape=state.shape,  # type: ignore[union-attr]
                                      expected_shape=_state_shape(req, which == "c_0"))
        elif len(h.shape) != want_rank:
            kind = "batched 3-D" if batched else "unbatched 2-D"
            msg = (f"For {kind} input, hx should also be {want_rank}-D but got "
                   f"{len(h.shape)}-D tensor")
            return dx.hidden_rank(name="h_0", got_rank=len(h.shape), expected_rank=want_rank,
                                  input_rank=len(x), layer=name, origin=h.origin,
                                  torch_message=msg, got_shape=h.shape,
                                  expected_shape=_state_shape(req, False))
    error = _dtype_error(req)
    if error is not None:
        return error
    if x[-1] != spec.input_size:
        msg = (f"input.size(-1) must be equal to input_size. Expected {spec.input_size}, "
               f"got {x[-1]}")
        return dx.input_size_mismatch(
            expected=spec.input_size, got=x[-1], layer=f"nn.{name}", layer_code=spec.to_code(),
            rebuilt_code=spec.with_(input_size=x[-1]).to_code(), origin=req.input.origin,
            torch_message=msg)
    x3 = x if batched else ((1,) + x if spec.batch_first else (x[0], 1, x[1]))
    batch = x3[0] if spec.batch_first else x3[1]
    for label, state, size, is_c in (("h_0", h, spec.h_out, False), ("c_0", c, spec.hidden_size, True)):
        if state is None:
            continue
        expected = (spec.state_layers, batch, size)
        got = state.shape if batched else (state.shape[0], 1, *state.shape[1:])
        if tuple(got) != expected:
            template = ("Expected hidden size {}, got {}" if not spec.is_lstm
                        else f"Expected hidden[{1 if is_c else 0}] size {{}}, got {{}}")
            msg = template.format(expected, list(got))
            return dx.hidden_shape_mismatch(
                name=label, expected=expected, got=tuple(got), num_layers=spec.num_layers,
                num_directions=spec.num_directions, hidden_size=spec.hidden_size,
                proj_size=spec.proj_size if spec.mode == "lstm" else 0, is_cell_state=is_c,
                origin=state.origin, torch_message=msg, input_dims=x3,
                batch_first=spec.batch_first, flipped_code=_flipped(spec),
                other_state=_other_state(req, label, c, batch, batched),
                read_as_batch=_read_as_batch(req))
    if lone is not None:   # its halves pass the Python checks; the kernel's argument parser refuses a tensor for hx
        return dx.hidden_not_tuple(got=_single(lone), torch_message="lstm() received an invalid combination of "
                                   "arguments")
    seq_len = x3[1] if spec.batch_first else x3[0]
    if seq_len == 0:
        return dx.empty_sequence(origin=req.input.origin,
                                 torch_message="Expected sequence length to be larger than 0 in RNN")
    return _kernel_checks(req, h, c)


def _kernel_checks(req: Request, h: TensorArg | None, c: TensorArg | None) -> dx.Diagnosis | None:
    """What the C++ kernel refuses after the Python checks: devices, then state dtypes."""
    devices = {"input": req.input.device, "h_0": h.device if h else None, "c_0": c.device if c else None}
    layer = req.device
    if layer is not None:
        x_dev = devices["input"] or layer
        if x_dev != layer:
            msg = (f"Input and parameter tensors are not at the same device, found input tensor at "
                   f"{x_dev} and parameter tensor at {layer}")
            return dx.device_mismatch(devices=[x_dev, layer], torch_message=msg, model_device=layer)
        for label in ("h_0", "c_0"):
            dev = devices[label]
            if dev is not None and dev != x_dev:
                msg = (f"Input and hidden tensors are not at the same device, found input tensor at "
                       f"{x_dev} and hidden tensor at {dev}")
                return dx.device_mismatch(devices=[x_dev, dev], torch_message=msg, model_device=x_dev,
                                          what=label)
    # states given in another dtype pass the Python checks and fail in the kernel
    for label, state in (("h_0", h), ("c_0", c)):
        if state is not None and state.dtype not in (None, req.dtype):
            return dx.dtype_mismatch(what=label, got=state.dtype, expected=req.dtype)
    return None


def packed_layout(req: Request) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What pack_padded_sequence makes of the input: (data shape, batch_sizes).

    batch_sizes has one entry per step of the longest sequence: callers keep that
    length under :data:`rnnshape.model.memory.MAX_PACKED_STEPS` (see its ``size_limit_problem``).
    """
    return packed_data_shape(req), packed_batch_sizes(req.lengths or ())


def packed_data_shape(req: Request) -> tuple[int, ...]:
    """The PackedSequence's data shape: one row per real step of every sequence (O(batch))."""
    return (sum(req.lengths or ()), *req.input.shape[2:])


def packed_batch_sizes(lengths: tuple[int, ...]) -> tuple[int, ...]:
    """batch_sizes from the sorted lengths: runs of equal batch size, O(batch log batch + longest)."""
    order = sorted((n for n in lengths if n > 0), reverse=True)
    sizes: list[int] = []
    for count in range(len(order), 0, -1):  # the `count` longest sequences cover steps up to order[count-1]
        sizes.extend([count] * (order[count - 1] - len(sizes)))
    return tuple(sizes)


def _check_packed(req: Request) -> dx.Diagnosis | None:
    """pack_padded_sequence's checks, then the layer's checks on the PackedSequence.

    torch's LSTM runs no Python shape checks on packed input (its kernel raises, or
    worse); RNN and GRU still run ``check_forward_args`` on the packed data.
    """
    spec, x, lengths = req.spec, req.input.shape, req.lengths or ()
    origin = req.input.origin
    if len(x) < 2:
        return dx.input_rank(layer=spec.class_name, got_rank=len(x), shape=x, origin=origin,
                             torch_message=None)
    batch = x[0] if spec.batch_first else x[1]
    seq_len = x[1] if spec.batch_first else x[0]
    if numel(x) == 0:
        return dx.packing_empty(torch_message="Cannot pack empty tensors.")
    if len(lengths) != batch:
        # With enforce_sorted=False torch first reorders the batch by index_select: fewer
        # lengths than sequences then silently drop the rest, more raise an IndexError.
        message = (f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                   f"(batch_size={batch})") if req.enforce_sorted else None
        return dx.packing_lengths_batch(got=len(lengths), batch=batch, torch_message=message)
    order = sorted(lengths, reverse=True)
    if req.enforce_sorted and list(lengths) != order and lengths[-1] > 0:
        return dx.packing_unsorted(torch_message=_UNSORTED)
    if min(lengths) <= 0:
        return dx.packing_bad_length(torch_message="Length of all samples has to be greater than 0, "
                                     "but found an element in 'lengths' that is <= 0")
    if req.enforce_sorted and list(lengths) != order:
        return dx.packing_unsorted(torch_message=_UNSORTED)
    if max(lengths) > seq_len:
        found = dx.packing_lengths_too_long(longest=max(lengths), seq_len=seq_len)
        return replace(found, evidence={**found.evidence, UNSAFE: True})
    data = packed_data_shape(req)
    h, c = req.hidden, req.cell
    if spec.is_lstm:
        return _check_packed_lstm(req, data, batch, h, c)
    if h is not None and not req.enforce_sorted and (len(h.shape) < 2 or h.shape[1] < batch):
        # permute_hidden's index_select fails first, in words that vary
        return dx.hidden_rank(name="h_0", got_rank=len(h.shape), expected_rank=3, input_rank=3,
                              layer=spec.class_name, origin=h.origin, torch_message=None)
    error = _dtype_error(req)
    if error is not None:
        return error
    if len(data) != 2:
        return dx.input_rank(layer=spec.class_name, got_rank=len(x), shape=x, origin=origin,
                             torch_message=f"input must have 2 dimensions, got {len(data)}")
    if data[-1] != spec.input_size:
        return dx.input_size_mismatch(
            expected=spec.input_size, got=data[-1], layer=f"nn.{spec.class_name}",
            layer_code=spec.to_code(), rebuilt_code=spec.with_(input_size=data[-1]).to_code(),
            origin=origin, torch_message=f"input.size(-1) must be equal to input_size. Expected "
                                         f"{spec.input_size}, got {data[-1]}")
    if h is not None:
        expected = (spec.state_layers, batch, spec.h_out)
        seen = tuple(h.shape)
        if not req.enforce_sorted:  # torch reorders the state's batch rows: extra rows vanish
            seen = (seen[0], batch, *seen[2:])
        if seen != expected or tuple(h.shape) != expected:
            padded = tuple(h.shape) + (0,) * (3 - len(h.shape))
            return dx.hidden_shape_mismatch(
                name="h_0", expected=expected, got=padded[:3] if len(padded) >= 3 else padded,
                num_layers=spec.num_layers, num_directions=spec.num_directions,
                hidden_size=spec.hidden_size, origin=h.origin,
                torch_message=(f"Expected hidden size {expected}, got {list(seen)}"
                               if seen != expected else None))
    return _kernel_checks(req, h, None)


_UNSORTED = ("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
             "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
             "requirement if you do not need ONNX exportability.")


def _check_packed_lstm(req: Request, data: tuple[int, ...], batch: int,
                       h: TensorArg | None, c: TensorArg | None) -> dx.Diagnosis | None:
    """torch 2.13's LSTM runs none of its shape checks on packed input: its kernel then
    fails in unrelated words, reads out of bounds, or crashes the process (a segmentation
    fault with a wrong input size and a wrong state together). Every finding here is
    therefore marked unsafe: rnnshape reports it and never hands the call to torch."""
    found = _packed_lstm_finding(req, data, batch, h, c)
    if found is None:
        return _kernel_checks(req, h, c)
    return replace(found, evidence={**found.evidence, "torch_message": None, UNSAFE: True})


def _packed_lstm_finding(req: Request, data: tuple[int, ...], batch: int,
                         h: TensorArg | None, c: TensorArg | None) -> dx.Diagnosis | None:
    spec = req.spec
    error = _dtype_error(req)
    if error is not None:
        return error
    if len(data) != 2:
        return dx.input_rank(layer="LSTM", got_rank=len(data) + 1, shape=req.input.shape,
                             origin=req.input.origin)
    if data[-1] != spec.input_size:
        return dx.input_size_mismatch(
            expected=spec.input_size, got=data[-1], layer="nn.LSTM", layer_code=spec.to_code(),
            rebuilt_code=spec.with_(input_size=data[-1]).to_code(), origin=req.input.origin)
    if h is not None and c is None:
        return dx.hidden_not_tuple(got=_single(h))
    for label, state, size, is_c in (("h_0", h, spec.h_out, False), ("c_0", c, spec.hidden_size, True)):
        if state is None:
            continue
        expected = (spec.state_layers, batch, size)
        if tuple(state.shape) == expected:
            continue
        if len(state.shape) != 3:
            return dx.hidden_rank(name=label, got_rank=len(state.shape), expected_rank=3,
                                  input_rank=3, layer="LSTM", origin=state.origin)
        return dx.hidden_shape_mismatch(
            name=label, expected=expected, got=tuple(state.shape), num_layers=spec.num_layers,
            num_directions=spec.num_directions, hidden_size=spec.hidden_size,
            proj_size=spec.proj_size, is_cell_state=is_c, origin=state.origin)
    return None


def _single(h: TensorArg) -> str:
    """How the lone state was given, so the message can point at it (a flag, a file, a line)."""
    shown = dx.fmt_shape(h.shape)
    return f"a single tensor {shown}" + (f" ({h.origin}; a cell state is missing)" if h.origin else "")


def _split_single_lstm_state(h: TensorArg) -> tuple[TensorArg, TensorArg] | dx.Diagnosis:
    """An LSTM given one tensor: torch indexes it as if it were (h, c).

    With a first dimension of 2 or more this silently splits the tensor, so the
    checks then run on the halves; otherwise torch raises an IndexError.
    """
    if len(h.shape) == 0:
        return dx.hidden_not_tuple(got=_single(h), torch_message="invalid index of a 0-dim tensor. Use "
                                   "`tensor.item()` in Python or `tensor.item<T>()` in C++ "
                                   "to convert a 0-dim tensor to a number")
    if h.shape[0] < 2:
        return dx.hidden_not_tuple(got=_single(h), torch_message=f"index {h.shape[0]} is out of bounds for "
                                   f"dimension 0 with size {h.shape[0]}")
    half = TensorArg(h.shape[1:], h.dtype, h.origin)
    return half, half


def _check_cell(req: Request) -> dx.Diagnosis | None:
    spec, x = req.spec, req.input.shape
    name = _layer_name(spec)
    if len(x) not in (1, 2):
        return dx.input_rank(layer=name, got_rank=len(x), shape=x, is_cell=True,
                             origin=req.input.origin,
                             torch_message=f"{name}: Expected input to be 1D or 2D, got {len(x)}D instead")
    states: list[tuple[str, TensorArg]] = []
    if req.hidden is not None:
        states.append(("h_0", req.hidden))
    if spec.is_lstm and req.cell is not None:
        states.append(("c_0", req.cell))
    if spec.is_lstm and len(states) == 1 and req.hidden is not None:
        # torch iterates the tensor's rows as if they were (h, c): the error it then
        # raises depends on the tensor's rank, so no single message is predicted.
        return dx.hidden_not_tuple(layer="LSTMCell", got=_single(req.hidden), torch_message=None)
    for idx, (label, state) in enumerate(states):
        if len(state.shape) not in (1, 2):
            which = f"hx[{idx}]" if spec.is_lstm else "hidden"
            return _cell_state_rank(
                req, label, state, f"{name}: Expected {which} to be 1D or 2D, got {len(state.shape)}D instead")
    error = cell_nonlinearity_error(spec)
    if error is not None:
        return error
    batched = len(x) == 2
    x2 = x if batched else (1, *x)
    if x2[1] != spec.input_size:
        return dx.input_size_mismatch(
            expected=spec.input_size, got=x2[1], layer=f"nn.{name}", layer_code=spec.to_code(),
            rebuilt_code=spec.with_(input_size=x2[1]).to_code(), origin=req.input.origin,
            torch_message=f"input has inconsistent input_size: got {x2[1]} expected {spec.input_size}")
    for idx, (label, state) in enumerate(states):
        s = state.shape if batched else (1, *state.shape)
        expected = (x2[0], spec.hidden_size)
        if s[0] != x2[0]:
            msg = f"Input batch size {x2[0]} doesn't match hidden{idx} batch size {s[0]}"
            if len(s) != 2:
                return _cell_state_rank(req, label, state, msg)
            return _cell_state_mismatch(label, expected, tuple(s), 1, state, msg, req)
        if len(s) < 2:
            return _cell_state_rank(
                req, label, state, "Dimension out of range (expected to be in range of [-1, 0], but got 1)")
        if s[1] != spec.hidden_size:
            msg = f"hidden{idx} has inconsistent hidden_size: got {s[1]}, expected {spec.hidden_size}"
            if len(s) != 2:
                return _cell_state_rank(req, label, state, msg)
            return _cell_state_mismatch(label, expected, tuple(s), 2, state, msg, req)
        if len(s) != 2:
            # Past torch's checks with the wrong rank: torch then broadcasts into a wrong
            # result or, for LSTMCell, can crash the process (segmentation fault seen with
            # torch 2.13). rnnshape refuses it and never hands it to torch.
            found = _cell_state_rank(req, label, state, None)
            return replace(found, evidence={**found.evidence, UNSAFE: True})
    for label, state in [("input", req.input), *states]:
        if state.dtype not in (None, req.dtype):
            if label == "input" and state.dtype in INT_DTYPES:
                return dx.integer_input(dtype=state.dtype, input_size=spec.input_size, shape=x)
            return dx.dtype_mismatch(what=label, got=state.dtype, expected=req.dtype)
    return None


def _cell_state_rank(req: Request, label: str, state: TensorArg, torch_message: str | None) -> dx.Diagnosis:
    """A cell's state of the wrong rank; torch's message depends on which of its checks stops it."""
    rank = len(req.input.shape)
    return dx.hidden_rank(name=label, got_rank=len(state.shape), expected_rank=rank, input_rank=rank,
                          layer=_layer_name(req.spec), origin=state.origin, got_shape=state.shape,
                          expected_shape=_state_shape(req, label == "c_0"), torch_message=torch_message)


def _cell_state_mismatch(label: str, expected: tuple[int, int], got: tuple[int, ...],
                         which: int, state: TensorArg, msg: str, req: Request) -> dx.Diagnosis:
    """A cell's (batch, hidden_size) state, wrong in one dimension (with c_0 when it is wrong too)."""
    c = req.cell
    also = "c_0" if label == "h_0" and c is not None and tuple(c.shape) != tuple(expected) else None
    return dx.cell_state_mismatch(name=label, dimension=which - 1, expected=expected,
                                  got=(got[0], got[1]), origin=state.origin, torch_message=msg, also=also)


def _state_shape(req: Request, is_c: bool) -> tuple[int, ...] | None:
    """The state shape the call needs, when the input's shape says it."""
    spec, x = req.spec, req.input.shape
    size = spec.hidden_size if (is_c or spec.is_cell) else spec.h_out
    if spec.is_cell:
        return (x[0], size) if len(x) == 2 else (size,) if len(x) == 1 else None
    if len(x) == 3:
        return (spec.state_layers, x[0] if spec.batch_first else x[1], size)
    if len(x) == 2:
        return (spec.state_layers, size)
    return None


def _other_state(req: Request, label: str, c: TensorArg | None, batch: int,
                 batched: bool) -> tuple[str, tuple[int, ...]] | None:
    """An LSTM's c_0 when h_0 is the state reported and c_0 is wrong too: a fix rebuilds both."""
    spec = req.spec
    if label != "h_0" or c is None or not spec.is_lstm:
        return None
    need = (spec.state_layers, batch, spec.hidden_size)
    got = c.shape if batched else (c.shape[0], 1, *c.shape[1:])
    if tuple(got) == need:
        return None
    return "c_0", need if batched else (need[0], need[2])


def _read_as_batch(req: Request) -> tuple[str, str] | None:
    """What the input axis the layer reads as the batch really is, where that is known."""
    axes, x = req.input.axes, req.input.shape
    if axes is None or len(x) != 3 or req.spec.is_cell:
        return None
    axis = axes[0 if req.spec.batch_first else 1]
    return None if axis is None else (axis.role.value, axis.source)


def _flipped(spec: LayerSpec) -> str:
    return spec.with_(batch_first=not spec.batch_first, given=spec.given | {"batch_first"}).to_code()


# --------------------------------------------------------------------------- shapes


def _describe_inputs(req: Request, pred: Prediction) -> None:
    spec = req.spec
    x = req.input.shape
    dtype = req.input.dtype or req.dtype
    pred.tensors["input"] = TensorInfo("input", _input_dims(spec, x), dtype)
    lstm_single = spec.is_lstm and req.hidden is not None and req.cell is None
    for name, arg in (("h_0", req.hidden), ("c_0", req.cell)):
        if arg is None:
            continue
        dims = _state_dims(spec, arg.shape, is_c=(name == "c_0"))
        if lstm_single:
            dims = tuple(Dim(s, f"dim{i}") for i, s in enumerate(arg.shape))
        pred.tensors[name] = TensorInfo(name, dims, arg.dtype or req.dtype)


def _input_dims(spec: LayerSpec, x: tuple[int, ...]) -> tuple[Dim, ...]:
    if spec.is_cell:
        names = ("batch", "input_size") if len(x) == 2 else ("input_size",)
    elif len(x) == 3:
        names = ("batch", "seq_len", "input_size") if spec.batch_first else ("seq_len", "batch", "input_size")
    elif len(x) == 2:
        names = ("seq_len", "input_size")
    else:
        names = tuple(f"dim{i}" for i in range(len(x)))
    if len(names) != len(x):
        names = tuple(f"dim{i}" for i in range(len(x)))
    dims = [Dim(s, n) for s, n in zip(x, names, strict=True)]
    want = spec.input_size
    if names and names[-1] == "input_size" and isinstance(want, int) and x[-1] != want:
        dims[-1] = Dim(x[-1], "features", f"features {x[-1]} ≠ input_size {want}")
    return tuple(dims)


def _state_dims(spec: LayerSpec, shape: tuple[int, ...], *, is_c: bool) -> tuple[Dim, ...]:
    if spec.is_cell:
        names = ("batch", "hidden_size") if len(shape) == 2 else ("hidden_size",)
    elif len(shape) == 3:
        names = ("num_layers*num_directions", "batch", "hidden_size" if is_c or not spec.proj_size else "proj_size")
    elif len(shape) == 2:
        names = ("num_layers*num_directions", "hidden_size" if is_c or not spec.proj_size else "proj_size")
    else:
        names = ()
    if len(names) != len(shape):
        names = tuple(f"dim{i}" for i in range(len(shape)))
    return tuple(Dim(s, n) for s, n in zip(shape, names, strict=True))


def _outputs(req: Request) -> dict[str, TensorInfo]:
    spec, x = req.spec, req.input.shape
    if spec.is_cell:
        return _cell_outputs(req)
    batched = len(x) == 3
    if batched:
        batch_i, seq_i = (0, 1) if spec.batch_first else (1, 0)
        batch = Dim(x[batch_i], "batch")
        seq = Dim(x[seq_i], "seq_len")
        if req.packed:  # pad_packed_sequence pads to the longest length, not to seq_len
            seq = Dim(max(req.lengths or (0,)), "max_length", f"longest length {max(req.lengths or (0,))}")
    else:
        batch, seq = None, Dim(x[0], "seq_len")
    D, h_out = spec.num_directions, spec.h_out
    size_name = "proj_size" if spec.mode == "lstm" and spec.proj_size else "hidden_size"
    if D == 2:
        feat = Dim(D * h_out, "num_directions*" + size_name, f"2 directions x {size_name} {h_out}")
    else:
        feat = Dim(h_out, size_name)
    if batched:
        out_dims = (batch, seq, feat) if spec.batch_first else (seq, batch, feat)
    else:
        out_dims = (seq, feat)
    layers = _layers_dim(spec)
    h_dims = (layers, batch, Dim(h_out, size_name)) if batched else (layers, Dim(h_out, size_name))
    out = {
        "output": TensorInfo("output", tuple(out_dims), req.dtype),
        "h_n": TensorInfo("h_n", tuple(d for d in h_dims if d is not None), req.dtype),
    }
    if spec.is_lstm:
        c_size = Dim(spec.hidden_size, "hidden_size")
        c_dims = (layers, batch, c_size) if batched else (layers, c_size)
        out["c_n"] = TensorInfo("c_n", tuple(d for d in c_dims if d is not None), req.dtype)
    if req.packed:
        data = packed_data_shape(req)
        total = Dim(data[0], "sum(lengths)", f"sum of lengths {data[0]}")
        out["input_packed"] = TensorInfo("input_packed", (total, Dim(x[-1], "input_size")),
                                         req.input.dtype or req.dtype)
        out["output_packed"] = TensorInfo("output_packed", (total, feat), req.dtype)
    return out


def _layers_dim(spec: LayerSpec) -> Dim:
    n = spec.state_layers
    if spec.num_directions == 2:
        return Dim(n, "num_layers*num_directions", f"num_layers {spec.num_layers} x 2 directions")
    return Dim(n, "num_layers")


def _cell_outputs(req: Request) -> dict[str, TensorInfo]:
    spec, x = req.spec, req.input.shape
    hid = Dim(spec.hidden_size, "hidden_size")
    dims = (Dim(x[0], "batch"), hid) if len(x) == 2 else (hid,)
    out = {"h_1": TensorInfo("h_1", dims, req.dtype)}
    if spec.is_lstm:
        out["c_1"] = TensorInfo("c_1", dims, req.dtype)
    return out


# --------------------------------------------------------------------------- warnings

def read_roles(spec: LayerSpec, rank: int) -> tuple[AxisRole, ...] | None:
    """What the layer reads each input axis as (None: it refuses that rank)."""
    if spec.is_cell:
        return {2: (AxisRole.BATCH, AxisRole.FEATURES), 1: (AxisRole.FEATURES,)}.get(rank)
    if rank == 3:
        return ((AxisRole.BATCH, AxisRole.TIME, AxisRole.FEATURES) if spec.batch_first
                else (AxisRole.TIME, AxisRole.BATCH, AxisRole.FEATURES))
    if rank == 2:
        return (AxisRole.TIME, AxisRole.FEATURES)
    return None


def misread_axes(req: Request) -> list[tuple[int, Axis, AxisRole]]:
    """Input axes whose known meaning differs from what the layer reads them as."""
    axes, read = req.input.axes, read_roles(req.spec, len(req.input.shape))
    if axes is None or read is None or len(axes) != len(read):
        return []
    return [(i, a, r) for i, (a, r) in enumerate(zip(axes, read, strict=True))
            if a is not None and a.role is not r]


def _suspicions(req: Request) -> list[dx.Diagnosis]:
    """Shapes that work but mean something else: the layer reads the batch as time.

    Only where the axes' meaning is known (``TensorArg.axes``): a guess from the
    numbers alone would fire on right code.
    """
    spec, x = req.spec, req.input.shape
    if spec.is_cell or len(x) != 3 or req.packed:
        return []
    wrong = {i: a for i, a, _ in misread_axes(req)}
    if not (wrong.keys() & {0, 1}):
        return []
    axes = req.input.axes or ()
    batch = next((a.source for a in axes if a is not None and a.role is AxisRole.BATCH), None)
    time = next((a.source for a in axes if a is not None and a.role is AxisRole.TIME), None)
    return [dx.batch_first_suspect(shape=x, batch_first=spec.batch_first, rebuilt_code=_flipped(spec),
                                   batch_source=batch or None, time_source=time or None)]
