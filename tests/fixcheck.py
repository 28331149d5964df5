"""Applying a printed fix in real torch: the oracle of tests/test_fixes.py.

A fix's code is executed as written, in a namespace that holds the diagnosed call's
tensors under the names the fixes use (``x``, ``h_0``, ``c_0``, ``rnn`` or ``cell``,
``lengths``), then the layer is called. The input carries markers, so that a test can
tell whether the layer still reads the batch as the batch and time as time: feature 0
of every element holds its batch index, feature 1 its time index.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnshape.model.shapes import AxisRole, Request


def marked_input(req: Request) -> Any:
    """The input tensor; with known batch and time axes and 2+ float features, marked."""
    arg = req.input
    dtype = getattr(torch, arg.dtype or req.dtype)
    if not dtype.is_floating_point:
        top = arg.largest if arg.largest is not None else 4  # ids up to the largest the call reports
        return torch.randint(0, top + 1, arg.shape, dtype=dtype, device=arg.device or "cpu")
    x = torch.randn(arg.shape, dtype=dtype)
    roles = {a.role: i for i, a in enumerate(arg.axes or ()) if a is not None}
    if arg.shape and arg.shape[-1] >= 2 and {AxisRole.BATCH, AxisRole.TIME} <= roles.keys():
        for feature, role in ((0, AxisRole.BATCH), (1, AxisRole.TIME)):
            axis = roles[role]
            view = [1] * (len(arg.shape) - 1)
            view[axis] = arg.shape[axis]
            x[..., feature] = torch.arange(arg.shape[axis], dtype=dtype).view(*view).expand(arg.shape[:-1])
    return x.to(arg.device or "cpu")


def namespace(req: Request) -> dict[str, Any]:
    """The diagnosed call as Python values, named as the fixes name them."""
    spec = req.spec
    layer = eval(spec.to_code(), {"nn": nn}).to(getattr(torch, req.dtype))  # noqa: S307 - our own code
    if req.device:
        layer = layer.to(req.device)
    ns: dict[str, Any] = {"torch": torch, "nn": nn, "pack_padded_sequence": pack_padded_sequence,
                          "x": marked_input(req), "h_0": None, "c_0": None,
                          "lengths": list(req.lengths) if req.lengths is not None else None}
    ns["cell" if spec.is_cell else "rnn"] = layer
    for name, arg in (("h_0", req.hidden), ("c_0", req.cell)):
        if arg is not None:
            ns[name] = torch.zeros(arg.shape, dtype=getattr(torch, arg.dtype or req.dtype),
                                   device=arg.device or req.device or "cpu")
    return ns


def call(ns: dict[str, Any], req: Request) -> Any:
    """Call the layer in ``ns`` the way the diagnosed call did (packing included)."""
    layer = ns.get("cell") if req.spec.is_cell else ns["rnn"]
    h, c = ns["h_0"], ns["c_0"]
    state = (h, c) if (req.spec.is_lstm and h is not None and c is not None) else h
    feed = ns.get("packed")
    if feed is None and ns.get("lengths") is not None:
        feed = pack_padded_sequence(ns["x"], torch.tensor(ns["lengths"]), batch_first=layer.batch_first,
                                    enforce_sorted=req.enforce_sorted)
    if feed is None:
        feed = ns["x"]
    with torch.no_grad():
        return layer(feed) if state is None else layer(feed, state)


def apply_and_call(req: Request, code: str) -> dict[str, Any]:
    """Run ``code`` (a fix, as printed) on the call's values, then the call; the namespace after."""
    ns = namespace(req)
    exec(compile(code, "<fix>", "exec"), ns)  # noqa: S102 - rnnshape's own fix, the point of the test
    call(ns, req)
    return ns


def meaning_kept(ns: dict[str, Any], req: Request) -> bool:
    """The layer's batch axis holds whole sequences and its time axis whole time steps.

    Batch markers must not change along the layer's time axis, time markers must not
    change along its batch axis, and time must advance along time. Merging an extra
    axis into the batch keeps this; reading batch as time, or merging time into the
    batch, breaks it.
    """
    x = ns["x"]
    roles = {a.role for a in (req.input.axes or ()) if a is not None}
    if req.spec.is_cell or x.dim() != 3 or x.shape[-1] < 2 or {AxisRole.BATCH, AxisRole.TIME} - roles:
        return True  # nothing known to keep
    if x.shape[-1] != req.input.shape[-1] or not x.dtype.is_floating_point or x.device.type == "meta":
        return True  # features were replaced (projection, embedding), or no data (meta): no markers
    marks = x.movedim(0 if ns["rnn"].batch_first else 1, 0).cpu()  # (batch, time, features) as read
    batch_marks, time_marks = marks[..., 0], marks[..., 1]
    steady_batch = bool((batch_marks == batch_marks[:, :1]).all())
    steady_time = bool((time_marks == time_marks[:1, :]).all())
    advancing = marks.shape[1] < 2 or bool((time_marks[:, 1:] >= time_marks[:, :-1]).all())
    return steady_batch and steady_time and advancing
