"""Fixes as data: what a fix changes, to what, the code to paste, and whether it was proven.

A :class:`Fix` is built by a diagnosis builder (in this package) and carried by the
:class:`~rnnshape.diagnoses.Diagnosis`. Before rnnshape prints it, the fix is applied
to the diagnosed call: through the shape model always
(:func:`rnnshape.model.fixing.verify_by_model`) and through torch where torch runs
(:func:`rnnshape.engine.fixing.verify_by_torch`). A fix that makes the error go away
*and* keeps every axis's meaning (batch stays batch, time stays time) is kept and
marked; one that fails is dropped; one that the model cannot apply stays, marked
unchecked.

Code conventions, so that tests can execute every fix: the input is ``x``, the states
``h_0``/``c_0``, the recurrent layer ``rnn`` (a cell is ``cell``), lengths ``lengths``.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from typing import Any

from rnnshape.records import record


class FixKind(str, Enum):
    """What a fix changes. The value is the stable JSON spelling."""

    CONSTRUCTOR = "constructor-argument"  # value: {argument: new value} for the layer
    FLAG = "flag"  # value: {flag: new value} of a call such as pack_padded_sequence
    STATE = "state-construction"  # target h_0/c_0, value: the new shape
    INDEXING = "indexing-expression"  # value: the expression to use
    PERMUTE = "permute"  # target tensor, value: the dimension order
    RESHAPE = "reshape"  # target tensor, value: the new shape
    SQUEEZE = "squeeze"  # target tensor, value: the dimension removed
    UNSQUEEZE = "unsqueeze"  # target tensor, value: the dimension added
    EMBED = "embedding"  # target x, value: the embedding_dim (ids -> vectors)
    PROJECT = "feature-projection"  # target x, value: the new number of features
    CONVERT = "dtype-conversion"  # target tensor, value: the dtype
    MOVE = "device-move"  # target tensor, value: the device
    CODE = "code"  # anything else: code the model cannot apply (always unchecked)


class Verified(str, Enum):
    """How far a fix was proven before it was printed."""

    BY_TORCH = "verified-by-torch"  # applied and re-run in real torch: the error is gone
    BY_MODEL = "verified-by-model"  # applied to the shape model: the error is gone, axes kept
    UNCHECKED = "unchecked"  # nothing could apply it; read it as advice


#: The words rendered next to a fix, for people.
VERIFIED_LABEL = {Verified.BY_TORCH: "verified: re-run in torch",
                  Verified.BY_MODEL: "verified by the shape model",
                  Verified.UNCHECKED: "unchecked"}


@record(frozen=True)
class Fix:
    """One fix. ``code`` is what the user pastes; ``kind``/``target``/``value`` say what it changes."""

    kind: FixKind
    code: str
    target: str = ""  # "x", "h_0", "c_0", "rnn", "lengths", ...
    value: Any = None  # the new value, shaped by ``kind`` (see FixKind)
    label: str = ""  # one line: what this fix assumes ("if dimension 0 is the batch")
    verified: Verified = Verified.UNCHECKED

    def marked(self, verified: Verified) -> Fix:
        return replace(self, verified=verified)

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, tuple):
            value = list(value)
        return {"kind": self.kind.value, "target": self.target, "value": value,
                "code": self.code.splitlines(), "label": self.label,
                "verified": self.verified.value}


def code_fix(code: str, label: str = "") -> Fix:
    """A fix only a person can apply (unchecked)."""
    return Fix(FixKind.CODE, code, label=label)


def joined_code(fixes: tuple[Fix, ...]) -> str:
    """The fixes as one block of code: the first, then each alternative after ``# or:``."""
    blocks = []
    for i, f in enumerate(fixes):
        if i == 0:
            head = f"# {f.label}:\n" if f.label and len(fixes) > 1 else ""
        else:
            head = "# or" + (f", {f.label}" if f.label else "") + ":\n"
        blocks.append(head + f.code)
    return "\n".join(blocks)
