"""Diagnoses: what went wrong, as plain data.

A :class:`Diagnosis` is a frozen record. Its prose (title, explanation, fix) is
rendered here, once, from the numbers in ``evidence``, so the shape model, the
torch runner and ``rnnshape explain`` all say the same thing about the same
mistake. Renderers (Rich, JSON) only lay it out.

Codes are stable identifiers: scripts and CI match on them. Never rename one.
"""

from __future__ import annotations

from rnnshape.diagnoses.backends import (  # builders by topic, re-exported
    InplaceCause,
    backend_error,
    backward_twice,
    cudnn_double_backward,
    cudnn_error,
    cudnn_eval_backward,
    non_contiguous_weights,
    state_modified_inplace,
    state_not_contiguous,
)
from rnnshape.diagnoses.downstream import (  # builders by topic, re-exported
    classifier_whole_sequence,
    embedding_float_input,
    embedding_index_range,
    gru_given_tuple,
    linear_mismatch,
    loss_batch_mismatch,
    output_last_step_batch_first,
    output_tuple,
    shape_op,
    state_tuple_as_tensor,
    state_tuple_method,
    unknown_shape,
    unpack_outputs,
)
from rnnshape.diagnoses.dtypes import (  # builders by topic, re-exported
    device_mismatch,
    dtype_mismatch,
    dtype_mismatch_unnamed,
    dtype_mismatch_unordered,
    integer_input,
    state_device_mismatch,
)
from rnnshape.diagnoses.fixes import Fix, FixKind, Verified, code_fix
from rnnshape.diagnoses.live import (  # builders by topic, re-exported
    batch_first_evidence,
    checked_only,
    gru_state_fix,
    lone_state_fix,
    packing_axis_fix,
    state_batch_reused,
)
from rnnshape.diagnoses.packing import (  # builders by topic, re-exported
    dtype_unsupported,
    packed_as_tensor,
    packing_bad_length,
    packing_batch_sizes,
    packing_empty,
    packing_lengths_batch,
    packing_lengths_device,
    packing_lengths_too_long,
    packing_not_a_list,
    packing_total_length,
    packing_unsorted,
)
from rnnshape.diagnoses.record import (
    CODES,
    Diagnosis,
    Severity,
    _of,
    _replace,
    fmt_shape,
    renamed_in_fixes,
    with_traceback_context,
    with_verified_fixes,
)

#: Every public name; ``from rnnshape.diagnoses import X`` works for all of them.
__all__ = [
    "InplaceCause", "state_modified_inplace",
    "CODES", "RECURRENT_ARGS", "backend_error", "backward_twice", "batch_first_evidence", "batch_first_suspect",
    "cell_state_mismatch", "checked_only", "classifier_whole_sequence", "classify_state_mismatch", "code_fix",
    "cudnn_double_backward", "cudnn_error", "cudnn_eval_backward", "device_mismatch", "Diagnosis",
    "dropout_single_layer", "dtype_mismatch", "dtype_mismatch_unnamed", "dtype_mismatch_unordered", "dtype_unsupported",
    "embedding_float_input", "embedding_index_range", "empty_sequence", "expect_failed", "Fix", "FixKind",
    "fmt_shape", "gru_given_tuple", "gru_state_fix", "hidden_not_tuple", "hidden_rank", "hidden_shape_mismatch",
    "input_rank", "input_size_in_message", "input_size_mismatch", "integer_input", "invalid_config",
    "linear_mismatch", "lone_state_fix", "loss_batch_mismatch", "model_disagrees", "non_contiguous_weights",
    "output_last_step_batch_first", "output_tuple", "packed_as_tensor", "packing_axis_fix", "packing_bad_length",
    "packing_batch_sizes", "packing_empty", "packing_not_a_list", "packing_lengths_batch", "packing_lengths_device",
    "packing_lengths_too_long", "packing_total_length", "packing_unsorted", "renamed_in_fixes", "Severity",
    "shape_op", "state_batch_reused", "state_device_mismatch", "state_not_contiguous", "state_tuple_as_tensor",
    "state_tuple_method",
    "torch_error", "unexpected_argument", "unknown_shape", "unpack_outputs", "Verified", "with_traceback_context",
    "with_verified_fixes",
]


# --------------------------------------------------------------------------- input


def input_rank(
    *, layer: str, got_rank: int, shape: tuple[int, ...] | None = None,
    is_cell: bool = False, batch_first: bool | None = None, origin: str | None = None,
    torch_message: str | None = None, input_size: int | None = None,
) -> Diagnosis:
    fixes: list[Fix] = []
    decide = ""
    if is_cell:
        ok = "1-D (input_size,) for one sample or 2-D (batch, input_size)"
        if got_rank == 3:
            fixes.append(code_fix(
                "# a cell takes one time step; loop over the sequence yourself:\n"
                "for x_t in x.unbind(0):        # x: (seq_len, batch, input_size)\n"
                "    h = cell(x_t, h)"))
        else:
            fixes.append(code_fix("x = x.reshape(-1, cell.input_size)   # (batch, input_size)"))
    else:
        layout = "(batch, seq_len, input_size)" if batch_first else "(seq_len, batch, input_size)"
        ok = f"2-D (seq_len, input_size) for one sequence or 3-D {layout}"
        if got_rank == 1:
            fixes.append(Fix(FixKind.UNSQUEEZE, "x = x.unsqueeze(-1)   # a 1-D series: (seq_len, 1 feature)",
                             "x", -1))
        elif got_rank == 4 and shape is not None:
            fixes.extend(_merge_axis_fixes(shape, bool(batch_first), input_size))
            decide = ("which two of the four dimensions belong together: rnnshape merges the "
                      "ones next to the batch, keeping the time axis and the features")
        elif got_rank == 2:  # torch before 1.11: only 3-D input
            fixes.extend(_missing_axis_fixes(batch_first))
            decide = "whether x's first dimension is the time steps of one sequence or the batch"
        else:
            fixes.append(code_fix(f"x = x.reshape(...)   # to {layout}"))
    shown = f" {fmt_shape(shape)}" if shape is not None else ""
    return Diagnosis(
        code="input-rank",
        severity="error",
        title=f"{layer} got a {got_rank}-D input{shown}",
        explanation=(
            f"{layer} accepts {ok}, but the input{_of(origin)} has {got_rank} "
            f"dimension{'s' if got_rank != 1 else ''}."
        ),
        fixes=tuple(fixes),
        evidence={"layer": layer, "got_rank": got_rank, "shape": shape, "origin": origin,
                  "torch_message": torch_message, "deciding_fact": decide},
    )


def _missing_axis_fixes(batch_first: bool | None) -> list[Fix]:
    """A 2-D input where the layer wants 3-D: one sequence lacks its batch axis, a batch of single steps its
    time axis. Which it is is a fact about the data; where each axis goes depends on batch_first."""
    if batch_first is None:
        one, steps = "0 if rnn.batch_first else 1", "1 if rnn.batch_first else 0"
    else:
        one, steps = ("0", "1") if batch_first else ("1", "0")
    return [code_fix(f"x = x.unsqueeze({one})   # a batch of 1 sequence",
                     label="if x is one sequence"),
            code_fix(f"x = x.unsqueeze({steps})   # sequences of 1 step",
                     label="if x is a batch of single time steps")]


def _merge_axis_fixes(shape: tuple[int, ...], batch_first: bool,
                      input_size: int | None) -> list[Fix]:
    """A 4-D input for a sequence layer: merge two neighbouring axes into one.

    Which two belong together is a fact about the data, not the shape; the candidates
    are ordered by the usual layouts (an extra axis next to the batch merges into it:
    (docs, sentences, words, features) with batch_first) and verification drops any
    that break the layer's input_size or, where the axes are known, their meaning.
    """
    a, b, c, d = shape
    merges = [(0, 1, (a * b, c, d)), (1, 2, (a, b * c, d))]
    if not batch_first:
        merges.reverse()
    fixes = [Fix(FixKind.RESHAPE, f"x = x.flatten({i}, {j})   # {fmt_shape(shape)} -> {fmt_shape(new)}",
                 "x", {"flatten": (i, j), "shape": new}, label=f"if dimensions {i} and {j} belong together")
             for i, j, new in merges if input_size is None or new[-1] == input_size]
    if input_size is not None and c * d == input_size:
        fixes.append(Fix(FixKind.RESHAPE, f"x = x.flatten(2, 3)   # features: {c} x {d} = input_size",
                         "x", {"flatten": (2, 3), "shape": (a, b, c * d)},
                         label="if the last two dimensions are the features"))
    return fixes


def input_size_mismatch(
    *, expected: int, got: int, layer: str = "the layer", layer_code: str | None = None,
    rebuilt_code: str | None = None, origin: str | None = None,
    torch_message: str | None = None,
) -> Diagnosis:
    built = f"{layer_code} was" if layer_code else f"{layer} was"
    named = layer if all(p.isidentifier() for p in layer.split(".")) else "LSTM"
    named = named if "." in named else f"nn.{named}"
    either = rebuilt_code or f"{named}({got}, ...)"
    var = "cell" if "Cell" in either else "rnn"
    rebuild = (Fix(FixKind.CONSTRUCTOR, f"{var} = {either}   # input_size = the features you have",
                   var, {"input_size": got}, label=f"build the layer for {got} features")
               if rebuilt_code else code_fix(f"{var} = {either}", label=f"build the layer for {got} features"))
    fixes = [rebuild,
             Fix(FixKind.PROJECT, f"proj = nn.Linear({got}, {expected})   # map {got} features to {expected}\n"
                 "x = proj(x)", "x", expected, label=f"map the features to {expected} with a Linear layer")]
    return Diagnosis(
        code="input-size-mismatch",
        severity="error",
        title=f"input.size(-1) must be equal to input_size: expected {expected}, got {got}",
        explanation=(
            f"{built} built with input_size={expected}, but the last dimension of your "
            f"input{_of(origin)} is {got}. The last dimension of the input is the number of "
            f"features per time step, and it must equal input_size: either build the layer "
            f"with input_size={got} or map your {got} features to {expected} with a Linear layer."
        ),
        fixes=tuple(fixes),
        evidence={"expected": expected, "got": got, "origin": origin,
                  "torch_message": torch_message},
    )


def input_size_in_message(*, expected: int, got: int, layer_type: str | None = None,
                          torch_message: str | None = None) -> Diagnosis:
    """From torch's message alone: the layer's other arguments are unknown, so the rebuilt
    constructor names them (``layer_type``: "LSTM", ... when the traceback says)."""
    rebuilt = (f"nn.{layer_type}({got}, hidden_size, ...)" if layer_type
               else f"nn.LSTM({got}, hidden_size, ...)   # or nn.GRU / nn.RNN, input_size={got}")
    return input_size_mismatch(expected=expected, got=got, layer=f"nn.{layer_type}" if layer_type else "the layer",
                               rebuilt_code=rebuilt, torch_message=torch_message)


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
    got_shape: tuple[int, ...] | None = None, is_cell: bool | None = None,
    also: str | None = None, also_shape: tuple[int, ...] | None = None,
) -> Diagnosis:
    """``also``: the LSTM's other state when it has the same shape and needs the same fix
    (``also_shape``: the shape it needs)."""
    cell = is_cell if is_cell is not None else "Cell" in layer
    kinds = ({2: "batched 2-D", 1: "unbatched 1-D"} if cell else
             {3: "batched 3-D", 2: "unbatched 2-D", 1: "unbatched 1-D"})
    batched = kinds.get(input_rank or 0, "")
    why = f" because the input is {batched}" if batched else ""
    want = f" {fmt_shape(expected_shape)}" if expected_shape else ""
    other = (also, also_shape) if also and also_shape else None
    fixes = [_also(f, name, also) for f in _rank_fixes(name, got_rank, expected_rank, got_shape,
                                                        expected_shape, cell, other)]
    return Diagnosis(
        code="hidden-rank",
        severity="error",
        title=f"{name} must be {expected_rank}-D, got {got_rank}-D",
        explanation=(
            f"{layer} expects {name} to have {expected_rank} dimensions{want}{why}, but "
            f"{name}{_of(origin)} has {got_rank}. The state's rank follows the input's: "
            "batched input takes a batched state."
        ),
        fixes=tuple(fixes),
        evidence={"name": name, "got_rank": got_rank, "expected_rank": expected_rank,
                  "origin": origin, "torch_message": torch_message},
    )


def _also(fix: Fix, name: str, other: str | None) -> Fix:
    """The same transform applied to the other state too (an LSTM's h_0 and c_0 go together)."""
    if other is None or fix.kind not in (FixKind.SQUEEZE, FixKind.UNSQUEEZE, FixKind.PERMUTE):
        return fix
    line = fix.code.splitlines()[0].split("   #")[0].replace(name, other)
    return _replace(fix, code=f"{fix.code}\n{line}", target=f"{name} {other}")


def _rank_fixes(name: str, got_rank: int, expected_rank: int, got: tuple[int, ...] | None,
                expected: tuple[int, ...] | None, cell: bool,
                other: tuple[str, tuple[int, ...]] | None = None) -> list[Fix]:
    """Squeeze or unsqueeze the one axis that makes the state the expected shape."""
    if got is not None and expected is not None:
        if len(got) == len(expected) + 1:
            for dim, size in enumerate(got):
                if size == 1 and got[:dim] + got[dim + 1:] == tuple(expected):
                    return [Fix(FixKind.SQUEEZE, f"{name} = {name}.squeeze({dim})   # {fmt_shape(got)} -> "
                                f"{fmt_shape(expected)}", name, dim)]
        if len(got) + 1 == len(expected):
            for dim in range(len(expected)):
                if expected[dim] == 1 and expected[:dim] + expected[dim + 1:] == tuple(got):
                    return [Fix(FixKind.UNSQUEEZE, f"{name} = {name}.unsqueeze({dim})   # {fmt_shape(got)} -> "
                                f"{fmt_shape(expected)}", name, dim)]
        return [_state_fix(name, expected, cell, other=other)]
    if expected_rank == got_rank + 1 and not cell:
        return [Fix(FixKind.UNSQUEEZE, f"{name} = {name}.unsqueeze(0)   # add the num_layers x num_directions "
                    "axis", name, 0)]
    return [code_fix(f"{name} = {name}.reshape{fmt_shape(expected) if expected else '(...)'}")]


def _state_fix(name: str, shape: tuple[int, ...], cell: bool, batch_expr: str | None = None,
               batch_axis: int | None = None, label: str = "",
               other: tuple[str, tuple[int, ...]] | None = None) -> Fix:
    """``h_0 = torch.zeros(...)`` with the batch taken from ``x`` where the axis is known.

    ``other``: a second state rebuilt the same way (an LSTM's c_0 next to h_0).
    """
    shapes = {name: tuple(shape)}
    if other is not None:
        shapes[other[0]] = tuple(other[1])
    lines = []
    for state, state_shape in shapes.items():
        dims = [str(s) for s in state_shape]
        batch_at = 0 if cell else 1
        if batch_expr and len(state_shape) > batch_at and (len(state_shape) == 3 or cell and len(state_shape) == 2):
            dims[batch_at] = batch_expr
        comment = "   # (batch, hidden_size)" if cell else ""
        lines.append(f"{state} = torch.zeros({', '.join(dims)}, dtype=x.dtype, device=x.device){comment}")
    return Fix(FixKind.STATE, "\n".join(lines), name,
               {"shape": tuple(shape), "shapes": shapes, "batch_axis": batch_axis}, label=label)


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
    flipped_code: str | None = None, other_state: tuple[str, tuple[int, ...]] | None = None,
    read_as_batch: tuple[str, str] | None = None,
) -> Diagnosis:
    """A state of the right rank but the wrong sizes; the code names the guilty dimension.

    ``expected`` and ``got`` are torch's own numbers, e.g. from "Expected hidden size
    (2, 3, 20), got [1, 3, 20]". The classification is the single rule shared by the
    shape model, the runner and ``explain``. ``flipped_code``: the layer rebuilt with
    the other ``batch_first``, offered when the state's batch is the input's other axis.
    ``other_state``: an LSTM's other state (name, the shape it needs) when it is wrong in
    the same way: a rebuilt state then rebuilds both. ``read_as_batch``: what the input
    axis the layer reads as the batch really is, and where that is known from
    (("batch", "--batch 16") or ("time", "the second axis of the ids")).
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
    batch_expr = _batch_expr(batch_first)
    fixes: list[Fix] = []
    decide = ""
    if code == "hidden-batch-first":
        lines.append(
            f"It looks batch-first: {got_s} is {exp_s} with the first two dimensions "
            "swapped. batch_first=True changes the layout of the input and output only; "
            "h_0, c_0, h_n and c_n are always (num_layers x num_directions, batch, size)."
        )
        fixes.append(_also(Fix(FixKind.PERMUTE, f"{name} = {name}.transpose(0, 1).contiguous()", name,
                               (1, 0, 2)), name, other_state[0] if other_state else None))
    elif code == "cell-shape-mismatch":
        lines.append(
            f"c_0 holds the LSTM's cell state and is always sized by hidden_size "
            f"(never proj_size); dimension {dim} ({meaning[dim]}) differs: expected "
            f"{expected[dim]}, got {got[dim]}."
        )
        fixes.append(_state_fix(name, expected, False, batch_expr, other=other_state))
    elif code == "proj-hidden-size":
        lines.append(
            f"With proj_size={proj_size} the LSTM projects h down: h_0 and h_n are sized "
            f"by proj_size {proj_size}, while c_0 and c_n stay at hidden_size {hidden_size}."
        )
        fixes.append(_state_fix(name, expected, False, batch_expr, other=other_state))
    elif code == "hidden-layers-mismatch":
        lines.append(_layers_story(expected[0], got[0], num_layers, num_directions))
        fixes.append(_state_fix(name, expected, False, batch_expr, other=other_state))
    elif code == "hidden-batch-mismatch":
        lines.append(_batch_story(expected[1], got[1], input_dims, batch_first, read_as_batch))
        other = _other_axis(input_dims, batch_first)
        if other is not None and input_dims is not None and input_dims[other] == got[1] and flipped_code:
            read = 1 - other
            fixes.append(Fix(FixKind.CONSTRUCTOR, f"rnn = {flipped_code}", "rnn",
                             {"batch_first": not batch_first},
                             label=f"if dimension {other} of x (size {got[1]}) is the batch"))
            fixes.append(_state_fix(name, expected, False, batch_expr, other=other_state,
                                    label=f"if dimension {read} of x (size {expected[1]}) is the batch"))
            decide = (f"which dimension of x is the batch: dimension {other} (size {got[1]}, as "
                      f"the state says) or dimension {read} (size {expected[1]}, as the layer reads it)")
        else:
            fixes.append(_state_fix(name, expected, False, batch_expr, other=other_state,
                                    label="size the state from the batch you actually have"))
    else:  # hidden-size-mismatch
        lines.append(
            f"The last dimension is the state size ({last}): expected {expected[2]}, got "
            f"{got[2]}. Build the state with the layer's own {last}."
        )
        fixes.append(_state_fix(name, expected, False, batch_expr, other=other_state))
    return Diagnosis(
        code=code,
        severity="error",
        title=f"{name} has shape {got_s}, expected {exp_s}",
        explanation=" ".join(lines),
        fixes=tuple(fixes),
        evidence={"name": name, "expected": list(expected), "got": list(got),
                  "dimension": dim, "meaning": meaning.get(dim), "origin": origin,
                  "torch_message": torch_message, "deciding_fact": decide},
    )


def _batch_expr(batch_first: bool | None) -> str:
    """Where the batch is in ``x``: known from the layer, or read from it when unknown."""
    if batch_first is None:
        return "x.size(0 if rnn.batch_first else 1)"
    return f"x.size({0 if batch_first else 1})"


def _other_axis(input_dims: tuple[int, ...] | None, batch_first: bool | None) -> int | None:
    """The input axis the layer does *not* read as the batch (of the first two)."""
    if input_dims is None or len(input_dims) != 3 or batch_first is None:
        return None
    return 1 if batch_first else 0


def cell_state_mismatch(
    *, name: str, dimension: int, expected: tuple[int | None, int | None],
    got: tuple[int | None, int | None], origin: str | None = None,
    torch_message: str | None = None, causes: list[str] | None = None, also: str | None = None,
) -> Diagnosis:
    """A cell's (batch, hidden_size) state wrong in ``dimension`` (0: batch, 1: hidden_size).

    The one builder for cells, used by the shape model (full shapes) and by ``explain``
    (torch names only the guilty dimension, so the other may be None).
    """
    code = "cell-shape-mismatch" if name == "c_0" else (
        "hidden-batch-mismatch" if dimension == 0 else "hidden-size-mismatch")
    what = "batch" if dimension == 0 else "hidden_size"
    e, g = expected[dimension], got[dimension]
    story = f"The cell's state is (batch, hidden_size); its {what} must be {e}, but {name}{_of(origin)} has {g}."
    if dimension == 0 and g is not None and e is not None and g > e:
        story += (" A state bigger than the input's batch is the classic last-batch problem: "
                  "build the state from x.size(0), or use DataLoader(..., drop_last=True).")
    hidden = str(expected[1]) if expected[1] is not None else "cell.hidden_size"
    shape = (expected[0] if expected[0] is not None else 0, expected[1] if expected[1] is not None else 0)
    names = [name] if also is None else [name, also]
    fix = Fix(FixKind.STATE, "\n".join(f"{n} = torch.zeros(x.size(0), {hidden}, dtype=x.dtype, device=x.device)"
                                       for n in names),
              name, {"shape": shape, "shapes": {n: shape for n in names}, "batch_axis": 0})
    if causes is None:
        causes = ([f"the last batch is smaller ({e}) than the batch the state was built for ({g})",
                   "the state was built once for a fixed batch size"]
                  if dimension == 0 and g is not None and e is not None and g > e else
                  [f"the state was built for batch {g}, the input has batch {e}"] if dimension == 0 else
                  [f"the state was built with hidden_size {g}; the cell has {e}",
                   "an unbatched 1-D input given a batched (batch, hidden) state"])
    full = None not in expected and None not in got
    return Diagnosis(
        code=code, severity="error",
        title=(f"{name} has shape {fmt_shape(got)}, expected {fmt_shape(expected)}" if full  # type: ignore[arg-type]
               else f"{name}: {what} must be {e}, got {g}"),
        explanation=story, fixes=(fix,),
        evidence={"name": name, "dimension": dimension, "expected": e if not full else list(expected),
                  "got": g if not full else list(got), "origin": origin, "causes": causes,
                  "torch_message": torch_message})


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
                 batch_first: bool | None, read_as_batch: tuple[str, str] | None = None) -> str:
    base = (f"The second dimension is the batch: the input has batch {expected}, the state "
            f"has {got}.")
    if read_as_batch is not None and read_as_batch[0] == "time":
        return base + (f" But the axis the layer reads as the batch ({expected}) is the time axis "
                       f"({read_as_batch[1]}): batch_first={not batch_first} is missing, and the "
                       "layer recurs over the batch.")
    if read_as_batch is not None and read_as_batch[0] == "batch":
        base += f" The input's batch is known ({read_as_batch[1]}): the state was built for another."
    if read_as_batch is None and input_dims is not None and len(input_dims) == 3 and batch_first is not None:
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


#: The constructor arguments of torch's recurrent layers.
RECURRENT_ARGS = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first",
                  "dropout", "bidirectional", "proj_size", "device", "dtype")


def unexpected_argument(*, arg: str, close: str | None = None, layer: str = "the recurrent layer",
                        torch_message: str | None = None) -> Diagnosis:
    """``__init__() got an unexpected keyword argument``; ``close``: the argument it most resembles."""
    if arg == "nonlinearity":
        fix = "nn.RNN(input_size, hidden_size, nonlinearity='relu')   # only nn.RNN takes it"
    elif close:
        fix = f"{close}=...   # not {arg}"
    else:
        fix = "# recurrent layers take: " + ", ".join(RECURRENT_ARGS)
    return invalid_config(message=f"unexpected keyword argument {arg!r}", fix=fix, layer=layer,
                          torch_message=torch_message)


def dropout_single_layer(*, dropout: float, rebuilt_code: str | None = None,
                         torch_message: str | None = None) -> Diagnosis:
    fixes = []
    if rebuilt_code:
        fixes.append(Fix(FixKind.CONSTRUCTOR, f"rnn = {rebuilt_code}", "rnn", {"dropout": 0.0}))
    fixes.append(code_fix(f"drop = nn.Dropout({dropout})\nout = drop(out)   # dropout on the output instead"))
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
        fixes=tuple(fixes),
        evidence={"dropout": dropout, "torch_message": torch_message},
    )


def batch_first_suspect(*, shape: tuple[int, ...], batch_first: bool,
                        rebuilt_code: str | None = None, batch_source: str | None = None,
                        time_source: str | None = None) -> Diagnosis:
    """The layer reads the input's batch axis as time (known from where the axes came from)."""
    if batch_first:
        reading = f"batch {shape[0]}, seq_len {shape[1]}"
        other = f"seq_len {shape[0]}, batch {shape[1]}"
        flag = "batch_first=False"
    else:
        reading = f"seq_len {shape[0]}, batch {shape[1]}"
        other = f"batch {shape[0]}, seq_len {shape[1]}"
        flag = "batch_first=True"
    known = "; ".join(w for w in (batch_source and f"the batch comes from {batch_source}",
                                  time_source and f"the time axis from {time_source}") if w)
    why = f" ({known})" if known else ""
    fixes = [Fix(FixKind.CONSTRUCTOR, f"rnn = {rebuilt_code or 'nn.LSTM(..., ' + flag + ')'}", "rnn",
                 {"batch_first": not batch_first}),
             Fix(FixKind.PERMUTE, "x = x.transpose(0, 1)   # and read the output in that layout", "x", (1, 0, 2))]
    return Diagnosis(
        code="batch-first-suspect",
        severity="warning",
        title=f"{fmt_shape(shape)} is ({other}), but the layer reads ({reading})",
        explanation=(
            f"The layer reads the input {fmt_shape(shape)} as ({reading}, features), but it "
            f"is ({other}, features){why}. The shapes work, but the layer recurs over the "
            f"batch instead of time. Build it with {flag}, or permute the input."
        ),
        fixes=tuple(fixes),
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
