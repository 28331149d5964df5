"""Diagnoses: what went wrong, as plain data.

A :class:`Diagnosis` is a frozen record. Its prose (title, explanation, fix) is
rendered here, once, from the numbers in ``evidence``, so the shape model, the
torch runner and ``rnnshape explain`` all say the same thing about the same
mistake. Renderers (Rich, JSON) only lay it out.

Codes are stable identifiers: scripts and CI match on them. Never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

#: Every code this package can emit, with a one-line meaning. Kept in one place
#: so the docs, the JSON consumers and the tests agree on the vocabulary.
CODES: dict[str, str] = {
    "input-rank": "the input has the wrong number of dimensions",
    "input-size-mismatch": "the input's last dimension is not the layer's input_size",
    "hidden-rank": "the initial state has the wrong number of dimensions",
    "hidden-layers-mismatch": "the state's first dimension is not num_layers x num_directions",
    "hidden-batch-mismatch": "the state's batch dimension is not the input's batch",
    "hidden-size-mismatch": "the state's last dimension is not hidden_size",
    "hidden-batch-first": "the state was laid out batch-first; states never are",
    "proj-hidden-size": "an LSTM with proj_size got h_0 sized by hidden_size",
    "cell-shape-mismatch": "the LSTM's c_0 has the wrong shape",
    "hidden-not-tuple": "an LSTM's state must be the tuple (h_0, c_0)",
    "empty-sequence": "the sequence has length 0",
    "dtype-mismatch": "the input or state dtype differs from the layer's",
    "integer-input": "integer input (token ids) fed straight into a recurrent layer",
    "device-mismatch": "tensors and layer live on different devices",
    "invalid-config": "the layer cannot be built with these arguments",
    "dropout-single-layer": "dropout has no effect with a single layer",
    "batch-first-suspect": "the input looks batch-first but the layer is not (or the reverse)",
    "expect-failed": "a shape asserted with --expect did not hold",
    "model-disagrees": "rnnshape's shape model and real torch disagree (a bug in rnnshape)",
    "torch-error": "torch raised an error that rnnshape has no catalog entry for",
    # ``rnnshape explain``: packing, downstream mistakes, backends.
    "packing-unsorted": "pack_padded_sequence got lengths not sorted longest first",
    "packing-bad-length": "a sequence length given to packing is 0 or negative",
    "packing-lengths-batch": "len(lengths) differs from the batch size",
    "packing-lengths-device": "the lengths tensor is not a 1-D int64 tensor on the CPU",
    "packing-total-length": "pad_packed_sequence's total_length is shorter than the longest sequence",
    "packing-empty": "pack_sequence or pad_sequence got an empty list",
    "packed-as-tensor": "a PackedSequence was used where a tensor is needed",
    "packing-batch-sizes": "a PackedSequence's batch_sizes is invalid (built by hand, or moved to the GPU)",
    "output-tuple": "a recurrent layer's output tuple was passed on as if it were a tensor",
    "unpack-outputs": "a recurrent layer's outputs were unpacked into the wrong number of names",
    "gru-given-tuple": "a GRU or RNN was given an LSTM-style (h, c) tuple as its state",
    "linear-mismatch": "the Linear layer after the recurrent layer has the wrong in_features",
    "backward-twice": "backward through a graph already freed: the hidden state was not detached",
    "cudnn-eval-backward": "backward through a cuDNN RNN run in eval mode",
    "cudnn-double-backward": "double backward (gradient of a gradient) through a cuDNN RNN",
    "cudnn-error": "cuDNN rejected the recurrent call (CUDNN_STATUS_...)",
    "non-contiguous-weights": "the layer's weights are not one contiguous block (flatten_parameters)",
    "backend-error": "a GPU backend (MPS, oneDNN) failed inside the recurrent layer",
    "packing-lengths-too-long": "a length exceeds the padded sequence (torch does not check this)",
    "dtype-unsupported": "the device has no kernel for this dtype (e.g. float16 on some CPUs)",
    # ``rnnshape diagnose``: what following a snippet's shapes finds around the layers.
    "unknown-shape": "rnnshape cannot follow a shape here without a hint (--shape NAME=SHAPE)",
    "shape-op": "a tensor operation (view, cat, permute, indexing, ...) cannot apply to this shape",
    "state-tuple-as-tensor": "an LSTM's state tuple (h_n, c_n) used as if it were the tensor h_n",
    "embedding-float-input": "nn.Embedding was given float values; it takes integer token ids",
    "embedding-index-range": "a token id is not smaller than nn.Embedding's num_embeddings",
    "classifier-whole-sequence": "a per-sequence classifier was fed the whole output sequence",
    "output-last-step-batch-first": "output[-1] with batch_first=True is the last sequence, not the last step",
    # ``rnnshape run --warn``: silent mistakes seen live in a running program.
    "state-batch-reused": "a state built for another batch size was passed with a packed batch",
}


@dataclass(frozen=True)
class Diagnosis:
    """One finding. ``fix`` is code the user can paste; ``evidence`` holds the numbers."""

    code: str
    severity: Severity
    title: str
    explanation: str
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown diagnosis code {self.code!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix,
            "evidence": _jsonable(self.evidence),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def fmt_shape(shape: tuple[int, ...] | list[int]) -> str:
    """``(5, 3, 10)``; a 1-tuple keeps its comma-free torch-like look ``(10,)``."""
    shape = tuple(shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _of(origin: str | None) -> str:
    return f" ({origin})" if origin else ""


# --------------------------------------------------------------------------- input


def input_rank(
    *, layer: str, got_rank: int, shape: tuple[int, ...] | None = None,
    is_cell: bool = False, batch_first: bool = False, origin: str | None = None,
    torch_message: str | None = None,
) -> Diagnosis:
    if is_cell:
        ok = "1-D (input_size,) for one sample or 2-D (batch, input_size)"
        if got_rank == 3:
            fix = (
                "# a cell takes one time step; loop over the sequence yourself:\n"
                "for x_t in x.unbind(0):        # x: (seq_len, batch, input_size)\n"
                "    h = cell(x_t, h)"
            )
        else:
            fix = "x = x.reshape(batch, input_size)"
    else:
        layout = "(batch, seq_len, input_size)" if batch_first else "(seq_len, batch, input_size)"
        ok = f"2-D (seq_len, input_size) for one sequence or 3-D {layout}"
        if got_rank == 1:
            fix = "x = x.unsqueeze(-1)   # a 1-D series becomes (seq_len, 1 feature)"
        elif got_rank == 4:
            fix = (
                "# merge the extra dimension into the features (or the batch):\n"
                "x = x.flatten(start_dim=2)"
            )
        else:
            fix = f"x = x.reshape(...)   # to {layout}"
    shown = f" {fmt_shape(shape)}" if shape is not None else ""
    return Diagnosis(
        code="input-rank",
        severity="error",
        title=f"{layer} got a {got_rank}-D input{shown}",
        explanation=(
            f"{layer} accepts {ok}, but the input{_of(origin)} has {got_rank} "
            f"dimension{'s' if got_rank != 1 else ''}."
        ),
        fix=fix,
        evidence={"layer": layer, "got_rank": got_rank, "shape": shape, "origin": origin,
                  "torch_message": torch_message},
    )


def input_size_mismatch(
    *, expected: int, got: int, layer: str = "the layer", layer_code: str | None = None,
    rebuilt_code: str | None = None, origin: str | None = None,
    torch_message: str | None = None,
) -> Diagnosis:
    built = f"{layer_code} was" if layer_code else f"{layer} was"
    either = rebuilt_code or f"{layer}({got}, ...)"
    fix = (
        f"# either build the layer for {got} features:\n{either}\n"
        f"# or project your {got} features down to {expected} first:\n"
        f"proj = nn.Linear({got}, {expected})\nx = proj(x)"
    )
    return Diagnosis(
        code="input-size-mismatch",
        severity="error",
        title=f"input.size(-1) must be equal to input_size: expected {expected}, got {got}",
        explanation=(
            f"{built} built with input_size={expected}, but the last dimension of your "
            f"input{_of(origin)} is {got}. The last dimension of the input is the number of "
            f"features per time step, and it must equal input_size: either build the layer "
            f"with input_size={got} or project your features to {expected}."
        ),
        fix=fix,
        evidence={"expected": expected, "got": got, "origin": origin,
                  "torch_message": torch_message},
    )


def empty_sequence(*, origin: str | None = None, torch_message: str | None = None) -> Diagnosis:
    return Diagnosis(
        code="empty-sequence",
        severity="error",
        title="the sequence has length 0",
        explanation=(
            f"The input{_of(origin)} has 0 time steps. Recurrent layers need at least one "
            "step (\"Expected sequence length to be larger than 0 in RNN\"). An empty "
            "sequence usually comes from a filter or a padding step that removed everything, "
            "or from seq_len and batch swapped."
        ),
        fix="assert x.size(0) > 0, 'empty sequence'   # or skip empty batches in the data loader",
        evidence={"origin": origin, "torch_message": torch_message},
    )


# --------------------------------------------------------------------------- state


def hidden_rank(
    *, name: str, got_rank: int, expected_rank: int, input_rank: int | None = None,
    layer: str = "the layer", expected_shape: tuple[int, ...] | None = None,
    origin: str | None = None, torch_message: str | None = None,
) -> Diagnosis:
    batched = {3: "batched 3-D", 2: "unbatched 2-D", 1: "unbatched 1-D"}.get(input_rank or 0, "")
    why = f" because the input is {batched}" if batched else ""
    want = f" {fmt_shape(expected_shape)}" if expected_shape else ""
    if expected_rank == got_rank + 1:
        fix = f"{name} = {name}.unsqueeze(0)   # add the num_layers x num_directions axis"
    elif expected_rank + 1 == got_rank:
        fix = f"{name} = {name}.squeeze(1)   # unbatched input takes an unbatched state"
    else:
        fix = f"{name} = {name}.reshape{want or '(...)'}"
    return Diagnosis(
        code="hidden-rank",
        severity="error",
        title=f"{name} must be {expected_rank}-D, got {got_rank}-D",
        explanation=(
            f"{layer} expects {name} to have {expected_rank} dimensions{want}{why}, but "
            f"{name}{_of(origin)} has {got_rank}. The state's rank follows the input's: "
            "batched input takes a batched state."
        ),
        fix=fix,
        evidence={"name": name, "got_rank": got_rank, "expected_rank": expected_rank,
                  "origin": origin, "torch_message": torch_message},
    )


def hidden_not_tuple(
    *, layer: str = "LSTM", got: str = "a single tensor", torch_message: str | None = None,
) -> Diagnosis:
    return Diagnosis(
        code="hidden-not-tuple",
        severity="error",
        title=f"an {layer}'s state must be the tuple (h_0, c_0), got {got}",
        explanation=(
            f"{layer} carries two states, the hidden state h and the cell state c, and takes "
            f"them together as a tuple. Passing {got} makes torch index into it as if it "
            "were that tuple, which fails or, worse, silently splits the tensor in two."
        ),
        fix=(
            "out, (h_n, c_n) = lstm(x, (h_0, c_0))\n"
            "# and keep both for the next call: state = (h_n, c_n)"
        ),
        evidence={"layer": layer, "got": got, "torch_message": torch_message},
    )


_DIM_MEANING = {
    0: "num_layers x num_directions",
    1: "batch",
    2: "hidden_size",
}


def hidden_shape_mismatch(
    *, name: str, expected: tuple[int, ...], got: tuple[int, ...],
    num_layers: int | None = None, num_directions: int | None = None,
    hidden_size: int | None = None, proj_size: int = 0, is_cell_state: bool = False,
    origin: str | None = None, torch_message: str | None = None,
    input_dims: tuple[int, ...] | None = None, batch_first: bool | None = None,
) -> Diagnosis:
    """A state of the right rank but the wrong sizes; the code names the guilty dimension.

    ``expected`` and ``got`` are torch's own numbers, e.g. from "Expected hidden size
    (2, 3, 20), got [1, 3, 20]". The classification is the single rule shared by the
    shape model, the runner and ``explain``.
    """
    code, dim = classify_state_mismatch(
        expected, got, proj_size=proj_size, hidden_size=hidden_size,
        is_cell_state=is_cell_state,
    )
    exp_s, got_s = fmt_shape(expected), fmt_shape(got)
    last = "proj_size" if proj_size and not is_cell_state else "hidden_size"
    meaning = dict(_DIM_MEANING)
    meaning[2] = last
    lines = [
        f"{name}{_of(origin)} has shape {got_s}, but the layer expects {exp_s} = "
        f"(num_layers x num_directions {expected[0]}, batch {expected[1]}, {last} {expected[2]})."
    ]
    fix_lines: list[str] = []
    ctor_fix = "h_0 = torch.zeros(num_layers * num_directions, batch, hidden_size)"
    if code == "hidden-batch-first":
        lines.append(
            f"It looks batch-first: {got_s} is {exp_s} with the first two dimensions "
            "swapped. batch_first=True changes the layout of the input and output only; "
            "h_0, c_0, h_n and c_n are always (num_layers x num_directions, batch, size)."
        )
        fix_lines.append(f"{name} = {name}.transpose(0, 1).contiguous()")
    elif code == "cell-shape-mismatch":
        lines.append(
            f"c_0 holds the LSTM's cell state and is always sized by hidden_size "
            f"(never proj_size); dimension {dim} ({meaning[dim]}) differs: expected "
            f"{expected[dim]}, got {got[dim]}."
        )
        fix_lines.append(
            f"c_0 = torch.zeros({expected[0]}, batch, {expected[2]})   "
            "# (num_layers * num_directions, batch, hidden_size)"
        )
    elif code == "proj-hidden-size":
        lines.append(
            f"With proj_size={proj_size} the LSTM projects h down: h_0 and h_n are sized "
            f"by proj_size {proj_size}, while c_0 and c_n stay at hidden_size {hidden_size}."
        )
        fix_lines.append(f"h_0 = torch.zeros({expected[0]}, batch, {proj_size})   # proj_size, not hidden_size")
    elif code == "hidden-layers-mismatch":
        lines.append(_layers_story(expected[0], got[0], num_layers, num_directions))
        fix_lines.append(
            f"{name} = torch.zeros(num_layers * num_directions, batch, {last})   "
            f"# = ({expected[0]}, batch, {expected[2]})"
        )
    elif code == "hidden-batch-mismatch":
        lines.append(_batch_story(expected[1], got[1], input_dims, batch_first))
        fix_lines.append(
            f"# size the state from the batch you actually have:\n"
            f"batch = x.size({0 if batch_first else 1})\n"
            f"{name} = torch.zeros({expected[0]}, batch, {expected[2]}, device=x.device)"
        )
    else:  # hidden-size-mismatch
        lines.append(
            f"The last dimension is the state size ({last}): expected {expected[2]}, got "
            f"{got[2]}. Build the state with the layer's own {last}."
        )
        fix_lines.append(f"{name} = torch.zeros({expected[0]}, batch, {expected[2]})")
    del ctor_fix
    return Diagnosis(
        code=code,
        severity="error",
        title=f"{name} has shape {got_s}, expected {exp_s}",
        explanation=" ".join(lines),
        fix="\n".join(fix_lines),
        evidence={"name": name, "expected": list(expected), "got": list(got),
                  "dimension": dim, "meaning": meaning.get(dim), "origin": origin,
                  "torch_message": torch_message},
    )


def classify_state_mismatch(
    expected: tuple[int, ...], got: tuple[int, ...], *, proj_size: int = 0,
    hidden_size: int | None = None, is_cell_state: bool = False,
) -> tuple[str, int]:
    """Which code a wrong-sized 3-D state gets, and the first dimension that differs.

    The batch-first pattern wins over a plain per-dimension verdict because it names
    the cause, not only the symptom.
    """
    expected, got = tuple(expected), tuple(got)
    dim = next((i for i, (e, g) in enumerate(zip(expected, got, strict=False)) if e != g), 0)
    if is_cell_state:
        return "cell-shape-mismatch", dim
    if len(got) == 3 and (got[1], got[0], got[2]) == expected:
        return "hidden-batch-first", dim
    if dim == 0:
        return "hidden-layers-mismatch", dim
    if dim == 1:
        return "hidden-batch-mismatch", dim
    if proj_size and hidden_size is not None and got[2] == hidden_size:
        return "proj-hidden-size", dim
    return "hidden-size-mismatch", dim


def _layers_story(expected: int, got: int, num_layers: int | None,
                  num_directions: int | None) -> str:
    base = (f"The first dimension counts one state per layer and direction: expected "
            f"{expected}, got {got}.")
    if num_layers and num_directions:
        if num_directions == 2 and got == num_layers:
            return base + (f" {got} = num_layers alone: the state forgot bidirectional=True "
                           f"(2 directions x {num_layers} layers = {expected}).")
        if got == num_directions and num_layers > 1:
            return base + (f" {got} = num_directions alone: the state forgot "
                           f"num_layers={num_layers} ({expected} = {num_layers} x {num_directions}).")
        return base + f" {expected} = num_layers {num_layers} x num_directions {num_directions}."
    if got * 2 == expected:
        return base + " A factor of 2 is missing: a bidirectional layer needs 2 x num_layers states."
    return base + " It must be num_layers x (2 if bidirectional else 1)."


def _batch_story(expected: int, got: int, input_dims: tuple[int, ...] | None,
                 batch_first: bool | None) -> str:
    base = (f"The second dimension is the batch: the input has batch {expected}, the state "
            f"has {got}.")
    if input_dims is not None and len(input_dims) == 3 and batch_first is not None:
        other = input_dims[1] if batch_first else input_dims[0]
        if other == got and not batch_first:
            return base + (f" {got} is the input's first dimension: the input looks "
                           "(batch, seq_len, features) but the layer was built without "
                           "batch_first=True, so it reads dimension 1 as the batch.")
        if other == got and batch_first:
            return base + (f" {got} is the input's second dimension: with batch_first=True "
                           "the layer reads dimension 0 as the batch.")
    if got > expected:
        return base + (" A state bigger than the batch is the classic last-batch problem: "
                       "the data loader's final batch is smaller, but the state was built "
                       "once with the full batch size. Build the state from x's batch each "
                       "time, or use DataLoader(..., drop_last=True).")
    return base + " Build the state from the input's own batch size."


# --------------------------------------------------------------------------- types, devices


def integer_input(*, dtype: str = "int64", vocab_size: int | None = None,
                  input_size: int | None = None, torch_message: str | None = None) -> Diagnosis:
    vocab = str(vocab_size) if vocab_size else "vocab_size"
    dim = str(input_size) if input_size else "input_size"
    return Diagnosis(
        code="integer-input",
        severity="error",
        title=f"integer input ({dtype}) fed into a recurrent layer",
        explanation=(
            f"The input holds integers ({dtype}), which usually means token ids. A recurrent "
            "layer multiplies its input by float weights, so ids must first become vectors. "
            "PyTorch's own message suggests model.to(int64); do not do that: integer weights "
            "cannot learn. Put an nn.Embedding in front, which maps each id to a vector of "
            "input_size floats."
        ),
        fix=(
            f"embed = nn.Embedding(num_embeddings={vocab}, embedding_dim={dim})\n"
            "out, h = rnn(embed(x))   # x: LongTensor of token ids"
        ),
        evidence={"dtype": dtype, "vocab_size": vocab_size, "torch_message": torch_message},
    )


def dtype_mismatch(*, what: str, got: str, expected: str,
                   torch_message: str | None = None) -> Diagnosis:
    return Diagnosis(
        code="dtype-mismatch",
        severity="error",
        title=f"{what} is {got} but the layer's weights are {expected}",
        explanation=(
            f"All tensors in a recurrent forward must share one floating dtype. The layer's "
            f"weights are {expected} and {what} is {got}. Convert the tensor (cheap), or the "
            "whole model if you really want it in that precision."
        ),
        fix=f"{_var(what)} = {_var(what)}.to(torch.{expected})\n# or: model = model.to(torch.{got})",
        evidence={"what": what, "got": got, "expected": expected, "torch_message": torch_message},
    )


def device_mismatch(*, devices: list[str], torch_message: str | None = None) -> Diagnosis:
    devs = " and ".join(devices) if devices else "two devices"
    target = devices[0] if devices else "device"
    return Diagnosis(
        code="device-mismatch",
        severity="error",
        title=f"tensors are on different devices ({devs})",
        explanation=(
            f"The layer's weights, the input and the states must live on one device, but "
            f"they are spread over {devs}. model.to(device) moves the weights; tensors you "
            "create yourself (inputs, h_0, c_0) must be moved too."
        ),
        fix=(
            f"device = torch.device('{target}')\nmodel = model.to(device)\nx = x.to(device)\n"
            "h_0 = torch.zeros(..., device=device)   # create states on the same device"
        ),
        evidence={"devices": devices, "torch_message": torch_message},
    )


def _var(what: str) -> str:
    return {"input": "x", "h_0": "h_0", "c_0": "c_0"}.get(what, "x")


# --------------------------------------------------------------------------- config


def invalid_config(*, message: str, fix: str = "", layer: str = "the layer",
                   torch_message: str | None = None) -> Diagnosis:
    return Diagnosis(
        code="invalid-config",
        severity="error",
        title=f"{layer} cannot be built: {message}",
        explanation=f"PyTorch refuses these constructor arguments: {message}.",
        fix=fix,
        evidence={"torch_message": torch_message},
    )


def dropout_single_layer(*, dropout: float, rebuilt_code: str | None = None,
                         torch_message: str | None = None) -> Diagnosis:
    return Diagnosis(
        code="dropout-single-layer",
        severity="warning",
        title=f"dropout={dropout} does nothing with num_layers=1",
        explanation=(
            "The dropout argument of a recurrent layer applies between stacked layers, on "
            "the outputs of every layer except the last. With a single layer there is no "
            "such place, so it is ignored (PyTorch warns about this). To regularise a "
            "one-layer RNN, apply nn.Dropout to its output yourself, or stack layers."
        ),
        fix=(rebuilt_code + "\n" if rebuilt_code else "")
        + f"drop = nn.Dropout({dropout})\nout = drop(out)",
        evidence={"dropout": dropout, "torch_message": torch_message},
    )


def batch_first_suspect(*, shape: tuple[int, ...], batch_first: bool,
                        rebuilt_code: str | None = None) -> Diagnosis:
    if batch_first:
        reading = f"batch {shape[0]}, seq_len {shape[1]}"
        other = f"seq_len {shape[0]}, batch {shape[1]}"
        flag = "batch_first=False"
    else:
        reading = f"seq_len {shape[0]}, batch {shape[1]}"
        other = f"batch {shape[0]}, seq_len {shape[1]}"
        flag = "batch_first=True"
    return Diagnosis(
        code="batch-first-suspect",
        severity="warning",
        title=f"is {fmt_shape(shape)} really ({reading})?",
        explanation=(
            f"The layer reads the input {fmt_shape(shape)} as ({reading}, features). The "
            f"numbers look more like ({other}): {shape[0 if not batch_first else 1]} is a "
            f"typical batch size. If so, the shapes still work but the layer recurs over the "
            f"wrong axis. Build it with {flag}, or permute the input."
        ),
        fix=(rebuilt_code or f"nn.LSTM(..., {flag})") + "\n# or: x = x.transpose(0, 1)",
        evidence={"shape": list(shape), "batch_first": batch_first},
    )


def expect_failed(*, name: str, expected: tuple[int, ...], got: tuple[int, ...] | None,
                  dims: list[str] | None = None) -> Diagnosis:
    if got is None:
        what = f"{name} was not produced (the forward failed or the layer has no {name})"
    else:
        what = f"{name} is {fmt_shape(got)}"
        if dims:
            what += " = (" + ", ".join(dims) + ")"
    return Diagnosis(
        code="expect-failed",
        severity="error",
        title=(f"{name}: expected {fmt_shape(expected)}, got "
               f"{fmt_shape(got) if got is not None else 'no ' + name}"),
        explanation=f"You asserted {name} would be {fmt_shape(expected)}, but {what}.",
        fix="",
        evidence={"name": name, "expected": list(expected),
                  "got": list(got) if got is not None else None},
    )


def model_disagrees(*, detail: str) -> Diagnosis:
    return Diagnosis(
        code="model-disagrees",
        severity="error",
        title="rnnshape's shape model disagrees with real torch",
        explanation=(
            "This is a bug in rnnshape, not in your code: " + detail +
            " The shapes shown come from real torch. Please report this."
        ),
        fix="",
        evidence={"detail": detail},
    )


def torch_error(*, message: str, kind: str = "RuntimeError") -> Diagnosis:
    first = message.strip().splitlines()[0] if message.strip() else kind
    return Diagnosis(
        code="torch-error",
        severity="error",
        title=f"{kind}: {first[:120]}",
        explanation=(
            "torch raised an error that rnnshape has no catalog entry for. Its message is "
            "above, unchanged."
        ),
        fix="",
        evidence={"torch_message": message, "kind": kind},
    )


# --------------------------------------------------------------------------- explain: packing


def _d(code: str, title: str, explanation: str, fix: str, evidence: dict[str, Any],
       severity: Severity = "error") -> Diagnosis:
    return Diagnosis(code=code, severity=severity, title=title, explanation=explanation,
                     fix=fix, evidence=evidence)


def packing_unsorted(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-unsorted", "lengths must be sorted longest first (enforce_sorted=True)",
        "pack_padded_sequence and pack_sequence default to enforce_sorted=True: the batch "
        "must already be ordered by decreasing length, the longest sequence first. Your "
        "lengths are not. Pass enforce_sorted=False and torch sorts (and unsorts the "
        "outputs) for you; sort yourself only if you export to ONNX.",
        "packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)",
        {"torch_message": torch_message})


def packing_bad_length(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-bad-length", "a sequence length is 0 or negative",
        "Every entry of lengths must be at least 1: a packed batch cannot hold an empty "
        "sequence. A 0 usually comes from an empty sample (an empty line, a filtered-out "
        "utterance) or from padding counted as length 0. Drop empty samples in the dataset, "
        "or clamp and mask them.",
        "keep = lengths > 0\nx, lengths = x[keep], lengths[keep]   # or filter empty samples "
        "in the Dataset",
        {"torch_message": torch_message})


def packing_lengths_batch(*, got: int, batch: int, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-lengths-batch", f"{got} lengths for a batch of {batch}",
        f"pack_padded_sequence needs one length per sequence: the batch holds {batch} "
        f"sequences but lengths has {got} entries. Either lengths belongs to another batch, "
        "or the batch dimension is not where pack_padded_sequence looks: with "
        "batch_first=False it reads dimension 1 as the batch, with batch_first=True "
        "dimension 0.",
        "# x: (batch, seq_len, features) -> batch_first=True\n"
        "packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)\n"
        "assert len(lengths) == x.size(0)",
        {"got": got, "batch": batch, "torch_message": torch_message})


def packing_lengths_device(*, rank: int | None = None, device: str | None = None,
                           dtype: str | None = None,
                           torch_message: str | None = None) -> Diagnosis:
    problems = []
    if device and not device.startswith("cpu"):
        problems.append(f"it is on {device}")
    if rank is not None and rank != 1:
        problems.append(f"it is {rank}-D")
    if dtype and dtype.lower() not in ("long", "int64"):
        problems.append(f"its dtype is {dtype}")
    what = ", ".join(problems) if problems else "it is not a 1-D int64 CPU tensor"
    return _d(
        "packing-lengths-device", f"lengths must be a 1-D int64 CPU tensor ({what})",
        "pack_padded_sequence reads lengths on the host to plan the packing, so lengths "
        f"must be a 1-D CPU tensor of int64 (or a Python list), even when the data is on the "
        f"GPU. Here {what}. Since torch 1.7 a CUDA lengths tensor is refused.",
        "packed = pack_padded_sequence(x, lengths.cpu().long().flatten(), batch_first=True,\n"
        "                              enforce_sorted=False)",
        {"rank": rank, "device": device, "dtype": dtype, "torch_message": torch_message})


def packing_total_length(*, total_length: int, longest: int,
                         torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-total-length",
        f"total_length={total_length} is shorter than the longest sequence ({longest})",
        f"pad_packed_sequence pads back to total_length time steps, but the longest "
        f"sequence in the packed batch has {longest}: it cannot be cut to {total_length}. "
        "total_length is meant to be the padded length of the input (x.size(1) with "
        "batch_first=True), so that DataParallel replicas return equal shapes.",
        f"out, lengths = pad_packed_sequence(packed_out, batch_first=True,\n"
        f"                                   total_length=x.size(1))   # >= {longest}",
        {"total_length": total_length, "longest": longest, "torch_message": torch_message})


def packing_empty(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-empty", "an empty list of sequences",
        "pack_sequence and pad_sequence need at least one sequence; the list is empty. This "
        "usually means an empty batch: a filter removed every sample, or the last batch of "
        "a sampler is empty.",
        "if not sequences:\n    continue   # skip the empty batch\n"
        "packed = pack_sequence(sequences, enforce_sorted=False)",
        {"torch_message": torch_message})


def packed_as_tensor(*, where: str = "", torch_message: str | None = None) -> Diagnosis:
    at = f" ({where})" if where else ""
    return _d(
        "packed-as-tensor", f"a PackedSequence used as a tensor{at}",
        "A recurrent layer fed a PackedSequence returns its output packed too. A "
        "PackedSequence has no .size(), .view() or .shape and cannot go into nn.Linear or "
        "other layers: unpack it first with pad_packed_sequence (or use h_n, which is "
        "always a plain tensor).",
        "packed_out, (h_n, c_n) = lstm(packed)\n"
        "out, lengths = pad_packed_sequence(packed_out, batch_first=True)\n"
        "logits = fc(out)            # or fc(h_n[-1]) for one vector per sequence",
        {"where": where, "torch_message": torch_message})


def packing_batch_sizes(*, detail: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-batch-sizes", f"invalid PackedSequence batch_sizes: {detail}",
        "batch_sizes is the number of sequences still running at each time step. It must "
        "stay on the CPU and be built by pack_padded_sequence or pack_sequence, never by "
        "hand; moving a PackedSequence to the GPU moves its data only. " + detail[:1].upper()
        + detail[1:] + ".",
        "packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
        "# never PackedSequence(data, batch_sizes) by hand",
        {"detail": detail, "torch_message": torch_message})


# --------------------------------------------------------------------------- explain: downstream


def output_tuple(*, layer: str = "the recurrent layer", where: str = "",
                 torch_message: str | None = None) -> Diagnosis:
    at = f" ({where})" if where else ""
    lstm = "LSTM" in layer
    shape = "(output, (h_n, c_n))" if lstm else "(output, h_n)"
    return _d(
        "output-tuple", f"{layer}'s output tuple used as a tensor{at}",
        f"{layer} returns a tuple {shape}, not a tensor. The tuple was passed on as if it "
        "were the output tensor, for example into nn.Linear, another recurrent layer, "
        "nn.Sequential, or a .size()/.view() call. Unpack it first: keep output for the "
        "per-step features, or h_n for one vector per sequence.",
        ("out, (h_n, c_n) = self.lstm(x)\n" if lstm or layer == "the recurrent layer"
         else "out, h_n = self.rnn(x)\n")
        + "y = self.fc(out)        # every time step\n"
        "# or: y = self.fc(h_n[-1])   # last layer's final state, one per sequence\n"
        "# in nn.Sequential, wrap the layer in a module that returns only `out`",
        {"layer": layer, "where": where, "torch_message": torch_message})


def unpack_outputs(*, expected: int | None, got: int | None, too_many: bool,
                   layer: str = "the recurrent layer",
                   torch_message: str | None = None) -> Diagnosis:
    if too_many:
        title = f"too many values to unpack (expected {expected}" + (
            f", got {got})" if got is not None else ")")
    else:
        title = f"not enough values to unpack (expected {expected}, got {got})"
    lines = [
        "nn.LSTM returns 2 values, (output, (h_n, c_n)); nn.GRU and nn.RNN return 2 "
        "values, (output, h_n). The line that failed unpacked "
        + (f"into {expected} names" if expected else "into the wrong number of names")
        + (f" but got {got}." if got is not None else ".")
    ]
    if not too_many and expected == 3 and got == 2:
        lines.append("Writing out, h, c = lstm(x) expects 3 values: the LSTM's two states "
                     "come back nested in one tuple.")
    elif not too_many and expected == 2 and got == 1:
        lines.append("A GRU's or RNN's h_n is a single tensor; unpacking it as (h, c) "
                     "iterates over its first dimension, which has size 1 "
                     "(num_layers x num_directions).")
    elif too_many and expected == 2:
        lines.append("Unpacking a tensor iterates over its first dimension: a state "
                     "(num_layers x num_directions, batch, hidden) unpacked as (h, c) fails "
                     "when that dimension is not 2, and silently splits layers when it is.")
    return _d(
        "unpack-outputs", title, " ".join(lines),
        "out, (h_n, c_n) = lstm(x, (h_0, c_0))   # LSTM\n"
        "out, h_n = gru(x, h_0)                  # GRU and RNN",
        {"expected": expected, "got": got, "layer": layer, "torch_message": torch_message})


def gru_given_tuple(*, layer: str = "GRU", torch_message: str | None = None) -> Diagnosis:
    return _d(
        "gru-given-tuple", f"{layer} was given a tuple as its state",
        f"{layer} has one state, h, and takes it as a single tensor (num_layers x "
        "num_directions, batch, hidden_size). Only an LSTM takes the tuple (h_0, c_0). A "
        "tuple here usually comes from code written for an LSTM, or from passing the whole "
        "(output, h_n) tuple back in as the state.",
        "out, h_n = gru(x, h_0)          # h_0: a tensor, not (h_0, c_0)\n"
        "# carrying state across calls: out, h = gru(x, h)",
        {"layer": layer, "torch_message": torch_message})


def linear_mismatch(*, rows: int, got: int, expected: int, out_features: int | None = None,
                    meta: bool = False, torch_message: str | None = None) -> Diagnosis:
    """``mat1 and mat2 shapes cannot be multiplied (rows x got and expected x out)``."""
    out = out_features if out_features is not None else "out_features"
    story = [
        f"A Linear layer built with in_features={expected} received features of size {got} "
        f"(the input, flattened to rows, is {rows} x {got}; the weight, transposed, is "
        f"{expected} x {out})."
    ]
    causes = []
    if got == 2 * expected:
        story.append(
            f"{got} = 2 x {expected}: a bidirectional recurrent layer concatenates both "
            f"directions, so its output has 2 x hidden_size = {got} features.")
        causes.append(f"bidirectional=True doubles the output features to {got}; build "
                      f"nn.Linear({got}, {out})")
    if expected and got % expected == 0 and got // expected > 2:
        k = got // expected
        story.append(
            f"{got} = {k} x {expected}: the output was flattened over time (seq_len {k} x "
            f"hidden {expected}), e.g. out.view(batch, -1) or out.reshape(batch, -1).")
        causes.append(f"the output was flattened over {k} time steps; take one step "
                      "(out[:, -1]) or apply the Linear per step")
    elif got == 2 * expected:
        causes.append("the output was flattened over 2 time steps (out.view(batch, -1)); take "
                      "one step (out[:, -1]) or apply the Linear per step")
    if expected == 2 * got:
        story.append(
            f"{expected} = 2 x {got}: the Linear expects both directions, but the layer "
            "(or the slice you took, such as h_n[-1]) has one.")
        causes.append("the Linear was built for a bidirectional layer; the input holds one "
                      "direction (h_n[-1] is the last direction only)")
    causes.append(f"the Linear's in_features does not match the feature size {got}")
    fix = (f"self.fc = nn.Linear({got}, {out})   # in_features = the size you actually feed\n"
           f"# bidirectional: in_features = 2 * hidden_size;  last step only: out[:, -1, :]")
    return _d(
        "linear-mismatch", f"Linear expects {expected} features, got {got}", " ".join(story),
        fix, {"rows": rows, "got": got, "expected": expected, "out_features": out_features,
              "meta": meta, "causes": causes, "torch_message": torch_message})


# --------------------------------------------------------------------------- explain: autograd, backends


def backward_twice(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "backward-twice", "backward through a graph that was already freed",
        "Each batch's backward frees the graph it walked. When the hidden state from the "
        "previous batch is fed into the next one without detaching it, the new loss still "
        "reaches back into the freed graph of the previous batch. Detach the state between "
        "batches (truncated backpropagation through time). retain_graph=True silences the "
        "error but keeps every past batch in memory and backpropagates through all of them.",
        "out, hidden = model(x, hidden)\n"
        "hidden = hidden.detach()                          # GRU / RNN\n"
        "# LSTM: hidden = tuple(h.detach() for h in hidden)",
        {"torch_message": torch_message})


def cudnn_eval_backward(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "cudnn-eval-backward", "cuDNN RNN backward needs training mode",
        "cuDNN can only backpropagate through an RNN that ran its forward in training mode; "
        "this forward ran after model.eval(). It is common in evaluation code that still "
        "calls backward (gradient-based attribution such as Captum, adversarial examples, "
        "dynamic evaluation) or when a helper switched the model to eval and never back.",
        "model.train()   # before the forward whose backward you need\n"
        "# or keep eval() behaviour and use the native kernel for this forward:\n"
        "with torch.backends.cudnn.flags(enabled=False):\n    out = model(x)",
        {"torch_message": torch_message})


def cudnn_double_backward(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "cudnn-double-backward", "double backward is not supported by cuDNN RNNs",
        "A second-order gradient (create_graph=True: gradient penalties, MAML, TRPO/CPO, "
        "Hessian-vector products) went through a cuDNN RNN, whose backward is not itself "
        "differentiable. Run that RNN's forward with cuDNN disabled; it is slower but "
        "differentiable twice.",
        "with torch.backends.cudnn.flags(enabled=False):\n    output = model(inputs)",
        {"torch_message": torch_message})


def cudnn_error(*, status: str, torch_message: str | None = None) -> Diagnosis:
    hints = {
        "CUDNN_STATUS_BAD_PARAM": "cuDNN got a size or layout it rejects: most often a "
        "non-contiguous input or state, a state from another dtype or device, or a "
        "sequence or batch too large for one call",
        "CUDNN_STATUS_NOT_SUPPORTED": "this combination (dtype, sizes, non-contiguous "
        "input) has no cuDNN kernel",
        "CUDNN_STATUS_EXECUTION_FAILED": "the kernel failed on the GPU, often out of memory "
        "or an earlier asynchronous error surfacing here",
        "CUDNN_STATUS_INTERNAL_ERROR": "cuDNN failed internally, often out of GPU memory",
        "CUDNN_STATUS_MAPPING_ERROR": "an earlier asynchronous CUDA error surfaced here",
    }
    hint = hints.get(status, "cuDNN rejected the call")
    return _d(
        "cudnn-error", f"cuDNN error {status} in a recurrent layer",
        f"{status}: {hint}. cuDNN's statuses do not say which argument is wrong; run the same "
        "call with cuDNN disabled (or on the CPU) to get PyTorch's own shape and dtype "
        "checks, and make the input and states contiguous.",
        "x = x.contiguous(); h_0 = h_0.contiguous()\n"
        "with torch.backends.cudnn.flags(enabled=False):   # clearer errors, to debug\n"
        "    out, h = rnn(x, h_0)\n"
        "# asynchronous errors: rerun with CUDA_LAUNCH_BLOCKING=1",
        {"status": status, "torch_message": torch_message})


def non_contiguous_weights(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "non-contiguous-weights", "RNN weights are not one contiguous block",
        "cuDNN wants all of a recurrent layer's weights in one flat buffer. After the "
        "weights were replaced or moved piecemeal (weight dropout / WeightDrop, "
        "DataParallel replicas, loading a state dict, .to() on parts of the model) they no "
        "longer are, so every call copies them into a fresh buffer: slower and more memory. "
        "Call flatten_parameters() after the change, in forward if the change happens there.",
        "def forward(self, x, h=None):\n    self.lstm.flatten_parameters()\n"
        "    out, h = self.lstm(x, h)",
        {"torch_message": torch_message}, severity="warning")


def backend_error(*, backend: str, detail: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "backend-error", f"the {backend} backend failed inside a recurrent layer",
        f"{detail} This is a limitation or bug of the {backend} backend rather than a shape "
        "mistake in your code when the same call works on the CPU; upgrade torch, or run "
        "the recurrent layer on the CPU.",
        "# check the same call on the CPU first:\nout, h = rnn.cpu()(x.cpu())",
        {"backend": backend, "torch_message": torch_message})


# --------------------------------------------------------------------------- packing (inspect)


def packing_lengths_too_long(*, longest: int, seq_len: int) -> Diagnosis:
    return _d(
        "packing-lengths-too-long", f"a length of {longest} in a sequence of {seq_len} steps",
        f"The longest entry of lengths is {longest}, but the padded input has only {seq_len} "
        "time steps. torch does not check this: pack_padded_sequence reads past the end of "
        "the input and builds a PackedSequence whose batch_sizes do not match its data "
        "(garbage, or a crash). Usually lengths were counted before truncation, or count "
        "tokens the tensor does not hold (e.g. <bos>/<eos>).",
        f"lengths = lengths.clamp(max={seq_len})   # or recompute lengths after truncating",
        {"longest": longest, "seq_len": seq_len, "torch_message": None})


def dtype_unsupported(*, dtype: str, device: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "dtype-unsupported", f"{dtype} recurrent layers do not run on {device} here",
        f"The shapes are fine, but this torch build has no {dtype} kernel for this layer on "
        f"{device}. Half precision is mostly a GPU feature: run in float32 on {device}, or "
        f"use a device that supports {dtype} (usually cuda).",
        f"model = model.float(); x = x.float()   # or: rnnshape inspect ... --dtype float32\n"
        f"# or on a GPU: model.to('cuda', dtype=torch.{dtype})",
        {"dtype": dtype, "device": device, "torch_message": torch_message})


# --------------------------------------------------------------------------- diagnose: around the layers


def unknown_shape(*, what: str, reason: str, hint: str | None = None) -> Diagnosis:
    hint_text = f" Give it with {hint} and rnnshape follows on." if hint else ""
    return _d(
        "unknown-shape", f"cannot follow {what}",
        f"rnnshape follows shapes without running the code, and {reason}. It does not guess: "
        f"the shapes after this point are not checked.{hint_text}",
        f"rnnshape diagnose snippet.py {hint}" if hint and hint.startswith("--shape") else "",
        {"what": what, "reason": reason, "hint": hint}, severity="info")


def shape_op(*, op: str, detail: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "shape-op", f"{op}: {detail}",
        f"{detail[:1].upper()}{detail[1:]}. This is a plain tensor operation, before or after the "
        "recurrent layer: check which dimension holds what (batch, time steps, features) at this "
        "line; the margin shows each tensor's shape.",
        "# print the shapes just before this line:\nprint(x.shape)",
        {"op": op, "detail": detail, "torch_message": torch_message})


def state_tuple_as_tensor(*, layer: str = "nn.LSTM", where: str = "",
                          torch_message: str | None = None) -> Diagnosis:
    at = f" ({where})" if where else ""
    return _d(
        "state-tuple-as-tensor", f"{layer}'s state tuple (h_n, c_n) used as a tensor{at}",
        f"{layer} returns (output, (h_n, c_n)): its state is a tuple of two tensors. Writing "
        "out, h = lstm(x) puts that whole tuple in h, so h is not the hidden state tensor: "
        "h.size() and nn.Linear(h) fail, and h[-1] silently picks c_n, the cell state.",
        "out, (h_n, c_n) = lstm(x)\nlast = h_n[-1]          # the last layer's final hidden state",
        {"layer": layer, "where": where, "torch_message": torch_message})


def embedding_float_input(*, dtype: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "embedding-float-input", f"nn.Embedding got {dtype} values, not token ids",
        f"nn.Embedding looks rows up by integer index: its input must hold token ids (int64 or "
        f"int32), but it got {dtype}. Float features need no embedding: feed them to the recurrent "
        "layer directly (input_size = the number of features), or pass the ids as a LongTensor.",
        "x = x.long()              # if x really holds token ids\n"
        "# float features: drop the embedding, nn.LSTM(input_size=n_features, ...)",
        {"dtype": dtype, "torch_message": torch_message})


def embedding_index_range(*, largest: int, num_embeddings: int,
                          torch_message: str | None = None) -> Diagnosis:
    return _d(
        "embedding-index-range",
        f"token id {largest} is out of range for nn.Embedding({num_embeddings}, ...)",
        f"nn.Embedding(num_embeddings={num_embeddings}) has rows 0..{num_embeddings - 1}, but the "
        f"input holds ids up to {largest}. num_embeddings must be the vocabulary size: the largest "
        "id + 1 (count the padding and unknown tokens too).",
        f"embed = nn.Embedding(num_embeddings={largest + 1}, embedding_dim=...)   # vocab_size = max id + 1",
        {"largest": largest, "num_embeddings": num_embeddings, "torch_message": torch_message})


def classifier_whole_sequence(*, layer: str = "the classifier", batch_first: bool = True,
                              torch_message: str | None = None) -> Diagnosis:
    last = "out[:, -1, :]" if batch_first else "out[-1]"
    return _d(
        "classifier-whole-sequence", f"{layer} is fed the whole output sequence",
        f"The recurrent layer's output holds one vector per time step, and {layer} is applied to all "
        "of them, giving one prediction per step. For one prediction per sequence (a label, a "
        f"sentiment, a class), feed it the last step ({last}) or the final hidden state h_n[-1], or "
        "pool over time.",
        f"logits = self.fc({last})     # or self.fc(h_n[-1]), or out.mean(dim={1 if batch_first else 0})",
        {"layer": layer, "batch_first": batch_first, "torch_message": torch_message},
        severity="warning")


def output_last_step_batch_first(*, expr: str, base: str = "output") -> Diagnosis:
    return _d(
        "output-last-step-batch-first", f"{expr} is the last sequence of the batch, not the last step",
        f"With batch_first=True the output is (batch, seq_len, features), so {expr} indexes the "
        f"batch: it is the whole last sequence, (seq_len, features). The shapes may still work, "
        f"silently. The last time step of every sequence is {base}[:, -1]; h_n[-1] is the same for a "
        "one-directional layer without padding.",
        f"last = {base}[:, -1]        # (batch, features)\n# or: last = h_n[-1]",
        {"expr": expr, "torch_message": None}, severity="warning")


# --------------------------------------------------------------------------- live (rnnshape run --warn)


def batch_first_evidence(*, shape: tuple[int, ...], batch_first: bool, batch: int, source: str,
                         rebuilt_code: str) -> Diagnosis:
    """The input looks batch-first (or the reverse), judged by a batch size the program itself used."""
    reading = (f"batch {shape[0]}, seq_len {shape[1]}" if batch_first
               else f"seq_len {shape[0]}, batch {shape[1]}")
    return Diagnosis(
        code="batch-first-suspect",
        severity="warning",
        title=f"is {fmt_shape(shape)} really ({reading})?",
        explanation=(
            f"The layer reads the input {fmt_shape(shape)} as ({reading}, features), but {batch} is "
            f"the batch size {source}, and here it sits in the dimension the layer reads as the "
            "sequence. The shapes work, so torch says nothing: the layer recurs over the batch. "
            f"Build the layer with batch_first={not batch_first}, or transpose the input."
        ),
        fix=f"{rebuilt_code}\n# or: x = x.transpose(0, 1)",
        evidence={"shape": list(shape), "batch_first": batch_first, "batch": batch, "source": source},
    )


def state_batch_reused(*, name: str, state_shape: tuple[int, ...], batch: int, layer: str) -> Diagnosis:
    state_batch = state_shape[1]
    return Diagnosis(
        code="state-batch-reused",
        severity="warning",
        title=f"{name} was built for a batch of {state_batch}, the packed batch has {batch}",
        explanation=(
            f"{layer} got a PackedSequence of {batch} sequences and a state {name} with {state_batch} "
            "rows. On packed input torch does not compare the two in every case: extra rows are "
            "dropped when it reorders the batch, and an LSTM checks nothing at all. A state kept "
            "from an earlier, larger batch (the classic last-batch problem) then mixes sequences "
            "silently. Build the state from this batch, or pass none."
        ),
        fix=(f"batch = int(packed.batch_sizes[0])   # {batch}\n"
             f"{name} = torch.zeros({state_shape[0]}, batch, {state_shape[2]})   # or pass no state"),
        evidence={"name": name, "state_batch": state_batch, "batch": batch},
    )
