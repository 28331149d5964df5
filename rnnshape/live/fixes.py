"""Live shapes for the shared fix machinery, and the one fix it cannot check.

A live call's shapes become a :class:`Request` whose input axes carry their meaning
(:func:`with_known_axes`): as the layer reads them, or, for ``pack_padded_sequence``,
as the lengths say (one length per sequence names the batch). The diagnosis's own
fixes are then verified by :func:`rnnshape.model.fixing.verify_by_model`, which
drops any fix that makes the layer read the batch as time or changes their sizes.
The first verified fix after which the model accepts the whole call is the
:class:`CheckedFix` live mode reports (and its tests re-run in torch).
"""

from __future__ import annotations

from dataclasses import replace

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import Verified
from rnnshape.model.fixing import apply_fix, verify_by_model
from rnnshape.model.shapes import Axis, AxisRole, Request, predict, read_roles
from rnnshape.records import record

_SEEN = "seen in the running program"


@record(frozen=True)
class CheckedFix:
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


def with_known_axes(req: Request, lengths_name_the_batch: bool = False) -> Request:
    """``req`` with the input's axes marked as the user's data has them."""
    x = req.input.shape
    roles = read_roles(req.spec, len(x))
    if lengths_name_the_batch and req.lengths is not None and len(x) == 3:
        batch_at = [i for i in (0, 1) if x[i] == len(req.lengths)]
        if len(batch_at) != 1:
            return req  # the lengths fit neither axis, or both: nothing is known
        roles = (AxisRole.BATCH, AxisRole.TIME) if batch_at[0] == 0 else (AxisRole.TIME, AxisRole.BATCH)
        roles += (AxisRole.FEATURES,)
    if roles is None:
        return req
    return replace(req, input=replace(req.input, axes=tuple(Axis(r, _SEEN) for r in roles)))


def verify_live(req: Request, d: dx.Diagnosis) -> tuple[dx.Diagnosis, CheckedFix | None]:
    """``d`` with only its model-verified fixes, and the first one after which the call works."""
    verified = dx.checked_only(verify_by_model(req, d))
    for fix in verified.fixes:
        fixed = apply_fix(req, fix) if fix.verified is Verified.BY_MODEL else None
        if fixed is not None and predict(fixed).ok:
            return verified, CheckedFix(fixed, *read_axes(fixed))
    return verified, None
