"""Applying a fix to the diagnosed call, in the shape model (pure Python, no torch).

:func:`apply_fix` turns a :class:`~rnnshape.diagnoses.Fix` into the Request the user
would have after pasting it; :func:`verify_by_model` keeps the fixes after which the
model predicts the error gone *and* no input axis is read as something else than
what it is (:func:`rnnshape.model.shapes.misread_axes`). Fixes the model cannot apply
stay, marked unchecked; fixes that fail are dropped, never printed.

Where a builder could only write code for a person (it knew the message, not the
call), :func:`with_model_fixes` swaps in the same fix in a form the model applies,
built from the call's shapes; and where the input's batch and time are known
(``TensorArg.axes``) and a fix reshapes them away, it must keep their sizes
(:func:`sizes_kept`): a reshape forgets the roles, never the numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import Fix, FixKind, Verified
from rnnshape.model.shapes import Axis, AxisRole, Request, TensorArg, misread_axes, predict, read_roles

_TENSORS = {"x": "input", "h_0": "hidden", "c_0": "cell"}


def apply_fix(req: Request, fix: Fix) -> Request | None:
    """The call after ``fix``; None when the model cannot apply it (code for a person)."""
    kind, value = fix.kind, fix.value
    if kind is FixKind.CONSTRUCTOR and isinstance(value, dict):
        if "dtype" in value:
            return replace(req, dtype=value["dtype"])
        return replace(req, spec=req.spec.with_(**value, given=req.spec.given | set(value)))
    if kind is FixKind.FLAG and isinstance(value, dict) and "enforce_sorted" in value:
        return replace(req, enforce_sorted=bool(value["enforce_sorted"]))
    if kind is FixKind.STATE and isinstance(value, dict):
        shapes = value.get("shapes") or {fix.target: value["shape"]}
        rebuilt = {_TENSORS[name]: TensorArg(tuple(shape), None, f"{name} rebuilt by the fix")
                   for name, shape in shapes.items() if name in _TENSORS}
        return replace(req, **rebuilt) if rebuilt else None
    for name in fix.target.split():  # "h_0 c_0": the same transform on both states
        field = _TENSORS.get(name)
        arg: TensorArg | None = getattr(req, field) if field else None
        changed = None if arg is None else _transform(arg, kind, value, req)
        if field is None or changed is None:
            return None
        req = replace(req, **{field: changed})
    return req if fix.target else None


def _transform(arg: TensorArg, kind: FixKind, value: Any, req: Request) -> TensorArg | None:
    shape, axes = arg.shape, arg.axes
    if kind is FixKind.PERMUTE:
        order = tuple(value) + tuple(range(len(value), len(shape)))
        if sorted(order) != list(range(len(shape))):
            return None
        new_axes = None if axes is None else tuple(axes[i] for i in order)
        return replace(arg, shape=tuple(shape[i] for i in order), axes=new_axes)
    if kind is FixKind.SQUEEZE:
        dim = value % len(shape) if shape else 0
        if not shape or shape[dim] != 1:
            return None  # torch's squeeze(dim) would change nothing
        return replace(arg, shape=shape[:dim] + shape[dim + 1:],
                       axes=None if axes is None else axes[:dim] + axes[dim + 1:])
    if kind is FixKind.UNSQUEEZE:
        dim = value if value >= 0 else len(shape) + 1 + value
        return replace(arg, shape=shape[:dim] + (1,) + shape[dim:],
                       axes=None if axes is None else axes[:dim] + (None,) + axes[dim:])
    if kind is FixKind.RESHAPE and isinstance(value, dict):  # flatten(start, end)
        start, end = value["flatten"]
        if not 0 <= start < end < len(shape):
            return None
        merged = 1
        for size in shape[start:end + 1]:
            merged *= size
        new_axes = None if axes is None else (*axes[:start], _merge(axes[start:end + 1]), *axes[end + 1:])
        return replace(arg, shape=(*shape[:start], merged, *shape[end + 1:]), axes=new_axes)
    if kind is FixKind.RESHAPE:
        return replace(arg, shape=tuple(value), axes=None)
    if kind is FixKind.EMBED:
        size = value if isinstance(value, int) else req.spec.input_size
        feat = Axis(AxisRole.FEATURES, "the embedding")
        return replace(arg, shape=shape + (size,), dtype=None,
                       axes=None if axes is None else axes + (feat,))
    if kind is FixKind.PROJECT:
        return replace(arg, shape=shape[:-1] + (int(value),))
    if kind is FixKind.CONVERT:
        return replace(arg, dtype=str(value))
    if kind is FixKind.MOVE:
        return replace(arg, device=str(value))
    return None


def _merge(group: tuple[Axis | None, ...]) -> Axis | None:
    """The meaning of axes merged by flatten: a batch absorbs unknown axes; batch with time is MIXED."""
    known = [a for a in group if a is not None]
    roles = {a.role for a in known}
    if {AxisRole.BATCH, AxisRole.TIME} <= roles:
        return Axis(AxisRole.MIXED, "a reshape that merged batch and time")
    batch = next((a for a in known if a.role is AxisRole.BATCH), None)
    return batch or (known[0] if len(known) == 1 else None)


def fix_works(req: Request, d: dx.Diagnosis, fix: Fix) -> bool | None:
    """True: after the fix the finding is gone and every axis keeps its meaning.
    None: the model cannot apply this fix."""
    fixed = apply_fix(req, fix)
    if fixed is None:
        return None
    pred = predict(fixed)
    if any(f.code == d.code for f in pred.diagnoses) or (d.is_error and pred.error is not None
                                                        and pred.error.code == d.code):
        return False
    if pred.error is not None and not _later_error(d, pred.error):
        return False
    return not misread_axes(fixed) and sizes_kept(req, fixed)


_KEPT_ROLES = (AxisRole.BATCH, AxisRole.TIME)


def role_sizes(req: Request) -> dict[AxisRole, int]:
    """The sizes of the input's batch and time axes where their meaning is known."""
    axes = req.input.axes or ()
    return {a.role: size for a, size in zip(axes, req.input.shape, strict=False)
            if a is not None and a.role in _KEPT_ROLES}


def sizes_kept(before: Request, after: Request) -> bool:
    """A fix that forgot the input's known axes (a reshape to a new shape) must still have the layer
    read a batch and a time of the sizes the data has. Where the axes were carried through
    (a flatten merges their meaning, :func:`_merge`), ``misread_axes`` already judges them."""
    known = role_sizes(before)
    if not known or after.input.axes is not None:
        return True
    read = read_roles(after.spec, len(after.input.shape)) or ()
    got = {role: after.input.shape[i] for i, role in enumerate(read)}
    if after.packed and after.lengths is not None:  # packing: the lengths count the batch
        got[AxisRole.BATCH] = len(after.lengths)
    return all(got.get(role) == size for role, size in known.items())


def with_model_fixes(req: Request, d: dx.Diagnosis) -> dx.Diagnosis:
    """``d`` with its code-only fix replaced by one the model can apply, where the call says how."""
    derived = _derived_fix(req, d)
    return d if derived is None else d.with_fixes((derived,))


def _derived_fix(req: Request, d: dx.Diagnosis) -> Fix | None:
    if any(f.kind is not FixKind.CODE for f in d.fixes):
        return None  # the builder's fixes are already the model's to check
    if d.code == "hidden-not-tuple" and req.spec.is_lstm and req.hidden is not None and req.cell is None:
        return dx.lone_state_fix(req.hidden.shape)
    if d.code == "packing-lengths-batch" and req.lengths and len(req.input.shape) >= 2:
        flipped = not req.spec.batch_first
        if req.input.shape[0 if flipped else 1] != len(req.lengths):
            return None  # the lengths fit neither axis: they belong to another batch
        return dx.packing_axis_fix(lengths=len(req.lengths), batch_first=flipped,
                                   enforce_sorted=req.enforce_sorted)
    return None


def _later_error(before: dx.Diagnosis, after: dx.Diagnosis) -> bool:
    """A fix may reveal the next, independent mistake (a state wrong in two ways); it may not
    trade one error for an earlier one, which means it broke what torch checked first."""
    return before.is_error and after.code != before.code and after.code not in _EARLIER.get(before.code, ())


#: Checks torch makes before each code's (see shapes.py's order); a fix must not fail these.
_EARLIER = {
    "hidden-rank": ("input-rank",),
    "integer-input": ("input-rank", "hidden-rank"),
    "dtype-mismatch": ("input-rank", "hidden-rank", "integer-input"),
    "input-size-mismatch": ("input-rank", "hidden-rank", "integer-input", "dtype-mismatch"),
}
for _code in ("hidden-batch-mismatch", "hidden-layers-mismatch", "hidden-size-mismatch",
              "hidden-batch-first", "proj-hidden-size", "cell-shape-mismatch"):
    _EARLIER[_code] = ("input-rank", "hidden-rank", "integer-input", "dtype-mismatch", "input-size-mismatch")


def verify_by_model(req: Request, d: dx.Diagnosis) -> dx.Diagnosis:
    """``d`` with each fix applied to the model: working ones marked, failing ones dropped."""
    d = with_model_fixes(req, d)
    if not d.fixes:
        return d
    kept: list[Fix] = []
    for fix in d.fixes:
        works = fix_works(req, d, fix)
        if works is None:
            kept.append(fix.marked(Verified.UNCHECKED))
        elif works:
            kept.append(fix.marked(Verified.BY_MODEL))
    return dx.with_verified_fixes(d, kept)


def verify_all(req: Request, diagnoses: list[dx.Diagnosis]) -> list[dx.Diagnosis]:
    return [verify_by_model(req, d) for d in diagnoses]
