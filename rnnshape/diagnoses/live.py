"""Live mode (``rnnshape run``): its findings, and the fixes it derives from a live call.

``run --warn`` judges layouts by evidence the program itself gives (a DataLoader's
batch size, a state kept from another batch). Under a traceback, live mode prints
only fixes the shape model has checked against the call's real shapes; where a
builder's fix is code only a person can apply, the fixes below say the same thing
in a form the model can apply (:func:`rnnshape.model.fixing.with_model_fixes`).
"""

from __future__ import annotations

from rnnshape.diagnoses.fixes import Fix, FixKind, Verified
from rnnshape.diagnoses.record import Diagnosis, fmt_shape

#: Lines live mode prints under a finding when it shows no fix.
NO_FIX_CHECKED = "no fix could be checked against these shapes, so none is shown"
FROM_MESSAGE_ONLY = "explained from torch's message; no fix could be checked against live shapes"


def checked_only(d: Diagnosis) -> Diagnosis:
    """``d`` with only the fixes something verified: live mode prints no advice it could not check."""
    return d.with_fixes(tuple(f for f in d.fixes if f.verified is not Verified.UNCHECKED))


def checked_axes(batch: int, seq_len: int | None) -> str:
    axes = f"batch {batch}" + (f", seq_len {seq_len}" if seq_len is not None else "")
    return f"✓ with this fix the shape model accepts the call; {axes} stay as your data has them."


def lone_state_fix(shape: tuple[int, ...]) -> Fix:
    """An LSTM given h_0 alone: add the cell state, same shape."""
    return Fix(FixKind.STATE, "c_0 = torch.zeros_like(h_0)   # an LSTM takes the pair (h_0, c_0)\n"
               "out, (h_n, c_n) = lstm(x, (h_0, c_0))", "c_0", {"shapes": {"c_0": tuple(shape)}})


def gru_state_fix(layer: str) -> Fix:
    """A GRU/RNN given (h_0, c_0): keep h_0 alone (the model has no tuple state: the caller checks it)."""
    return Fix(FixKind.CODE, f"out, h_n = {layer.lower()}(x, h_0)   # one state tensor, not (h_0, c_0)", "h_0")


def packing_axis_fix(*, lengths: int, batch_first: bool, enforce_sorted: bool) -> Fix:
    """pack_padded_sequence reading the wrong axis as the batch: flip batch_first (the layer's too)."""
    layout = "(batch, seq_len, features)" if batch_first else "(seq_len, batch, features)"
    return Fix(FixKind.CONSTRUCTOR,
               f"# x is {layout}: {lengths} lengths for {lengths} sequences\n"
               f"packed = pack_padded_sequence(x, lengths, batch_first={batch_first}"
               f"{'' if enforce_sorted else ', enforce_sorted=False'})\n"
               f"# and build the recurrent layer with batch_first={batch_first}",
               "rnn", {"batch_first": batch_first})


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
        evidence={"shape": list(shape), "batch_first": batch_first, "batch": batch, "source": source},
        fixes=(Fix(FixKind.CONSTRUCTOR, f"rnn = {rebuilt_code}", "rnn", {"batch_first": not batch_first}),
               Fix(FixKind.PERMUTE, "x = x.transpose(0, 1)", "x", (1, 0))),
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
