"""The Diagnosis record, the stable codes, and the helpers every builder shares.

Builders live in the package's topic modules; ``from rnnshape.diagnoses import X``
works for every name.
"""


from __future__ import annotations

import re
from dataclasses import field
from dataclasses import replace as _replace
from typing import Any, Literal

from rnnshape.diagnoses.fixes import Fix, FixKind, code_fix, joined_code
from rnnshape.diagnoses.fixes import Verified as Verified
from rnnshape.records import record

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
    "packing-not-a-list": "pad_sequence got something other than a list of tensors",
    "packed-as-tensor": "a PackedSequence was used where a tensor is needed",
    "packing-batch-sizes": "a PackedSequence's batch_sizes is invalid (built by hand, or moved to the GPU)",
    "output-tuple": "a recurrent layer's output tuple was passed on as if it were a tensor",
    "unpack-outputs": "a recurrent layer's outputs were unpacked into the wrong number of names",
    "gru-given-tuple": "a GRU or RNN was given an LSTM-style (h, c) tuple as its state",
    "linear-mismatch": "the Linear layer after the recurrent layer has the wrong in_features",
    "backward-twice": "backward through a graph already freed: the hidden state was not detached",
    "state-modified-inplace": "backward needs a tensor that was changed in place: a hidden state kept "
                              "across batches, or a recurrent layer's state or output written into",
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
    "state-batch-reused": "a state built for another batch size was passed with a packed batch",
    "output-last-step-batch-first": "output[-1] with batch_first=True is the last sequence, not the last step",
    "loss-batch-mismatch": "the loss got predictions for every time step but one label per sequence (or the reverse)",
}


@record(frozen=True)
class Diagnosis:
    """One finding. ``fixes`` are structured fixes (:class:`Fix`); ``fix`` is their code as one
    string, kept for readers that want text; ``evidence`` holds the numbers.

    Give either: ``fixes`` fills ``fix``; a bare ``fix`` string becomes one unchecked
    :class:`Fix`. A ``fix`` string that no longer matches ``fixes`` (someone replaced
    the text) wins, as one unchecked fix: the text printed is never silently wrong.
    """

    code: str
    severity: Severity
    title: str
    explanation: str
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)
    fixes: tuple[Fix, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown diagnosis code {self.code!r}")
        fixes = tuple(self.fixes)
        if fixes and not self.fix:
            object.__setattr__(self, "fix", joined_code(fixes))
        elif self.fix and (not fixes or joined_code(fixes) != self.fix):
            fixes = (code_fix(self.fix),)
        object.__setattr__(self, "fixes", fixes)

    def with_fixes(self, fixes: tuple[Fix, ...] | list[Fix]) -> Diagnosis:
        """The same finding with other fixes (verified, filtered); ``fix`` follows them."""
        return _replace(self, fixes=tuple(fixes), fix=joined_code(tuple(fixes)))

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
            "fixes": [f.to_dict() for f in self.fixes],
            "evidence": _jsonable(self.evidence),
        }


_NONE_WORKS = " None of rnnshape's usual fixes works for this call (each was tried)."


def _ambiguous(decide: str) -> str:
    return f" The shapes alone cannot tell these causes apart; what decides: {decide}."


def with_verified_fixes(d: Diagnosis, fixes: list[Fix] | tuple[Fix, ...]) -> Diagnosis:
    """``d`` with the fixes that survived verification; the prose says when several remain.

    Several surviving fixes that assume different things mean the evidence cannot tell
    the causes apart: the explanation then names the one fact that decides
    (``evidence["deciding_fact"]``). Calling it again (model, then torch) rewrites that
    sentence rather than repeating it.
    """
    fixes = tuple(fixes)
    decide = d.evidence.get("deciding_fact") or ""
    explanation = d.explanation.replace(_NONE_WORKS, "")
    if decide:
        explanation = explanation.replace(_ambiguous(decide), "")
    if decide and sum(1 for f in fixes if f.kind is not FixKind.CODE) > 1:
        explanation += _ambiguous(decide)
    elif not fixes and d.fixes:
        explanation += _NONE_WORKS
    return _replace(d, explanation=explanation, fixes=fixes, fix=joined_code(fixes))


def renamed_in_fixes(d: Diagnosis, names: dict[str, str]) -> Diagnosis:
    """``d`` with names in its fixes' code replaced (``self.fc`` -> ``self.head``), verification kept.

    The conventions ``rnn``/``x`` become the user's own names where the caller knows them.
    """
    def swap(code: str) -> str:
        for old, new in names.items():
            code = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, code)
        return code
    return d.with_fixes(tuple(_replace(f, code=swap(f.code)) for f in d.fixes))


def with_traceback_context(d: Diagnosis, *, evidence: dict[str, Any], causes: list[str],
                           layer: str | None = None, user_line: str | None = None,
                           where: str | None = None) -> Diagnosis:
    """``d`` as ``explain`` tells it: the user's line (or the layer) the traceback names, then
    the likely causes, most likely first. ``evidence`` replaces ``d``'s (the caller adds its numbers).
    """
    extra = []
    if user_line:
        at = f" ({where})" if where else ""
        inside = f", inside nn.{layer}" if layer and layer not in user_line else ""
        extra.append(f"It was raised by your line `{user_line}`{at}{inside}.")
    elif layer and layer not in d.explanation:
        extra.append(f"The traceback shows it inside nn.{layer}.")
    if causes:
        extra.append("Likely causes, most likely first:\n" + "\n".join(
            f"  {i}. {c}" for i, c in enumerate(causes, 1)))
    explanation = d.explanation + ("\n" + "\n".join(extra) if extra else "")
    return _replace(d, explanation=explanation, evidence=evidence)


def _reworded(d: Diagnosis, *, explanation: str | None = None, fix: Fix | None = None) -> Diagnosis:
    """A variant of a builder's diagnosis (for builders only): another explanation, or one fix."""
    if explanation is not None:
        d = _replace(d, explanation=explanation)
    return d.with_fixes((fix,)) if fix is not None else d


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


def _d(code: str, title: str, explanation: str, fix: str, evidence: dict[str, Any],
       severity: Severity = "error", fixes: tuple[Fix, ...] = ()) -> Diagnosis:
    return Diagnosis(code=code, severity=severity, title=title, explanation=explanation,
                     fix="" if fixes else fix, evidence=evidence, fixes=fixes)
