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
    dim = next((i for i, (e, g) in enumerate(zip(expected, got)) if e != g), 0)
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
        title=f"--expect {name}={','.join(map(str, expected))} failed",
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
