"""From a live exception to a diagnosis, with the real call's shapes.

The traceback says where the error was raised: the innermost frame of a recurrent
module's ``forward`` (its ``self`` is the layer) or of ``pack_padded_sequence``
(its locals are the call's arguments). The layer's settings come from its
attributes, the tensors from the hook's record of that call (shapes only), and the
shape model (:func:`predict`) names the mistake exactly as ``inspect`` would, with
the builder's structured fixes. Those are verified against the live shapes by the
shared machinery (:mod:`rnnshape.model.fixing`, through :mod:`rnnshape.live.fixes`);
only verified fixes are kept. An exception raised anywhere else gets nothing from
rnnshape.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import field
from types import FrameType, TracebackType
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import Verified
from rnnshape.diagnoses.live import FROM_MESSAGE_ONLY, NO_FIX_CHECKED
from rnnshape.live.fixes import CheckedFix, read_axes, verify_live, with_known_axes
from rnnshape.live.hooks import RECORDS, Call, Seen, describe, describe_call, record_of
from rnnshape.live.warnings import is_library_file
from rnnshape.model.shapes import Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec
from rnnshape.records import record

_RNN_MODULES = os.path.join("torch", "nn", "modules", "rnn.py")
_RNN_UTILS = os.path.join("torch", "nn", "utils", "rnn.py")
#: Catalog findings worth adding when the exception did not come from the layer itself
#: but from its outputs used the wrong way (only once a recurrent layer has run).
_DOWNSTREAM = frozenset({"packed-as-tensor", "output-tuple", "state-tuple-as-tensor", "unpack-outputs"})
#: The shape model's own power-of-two guess; live mode judges layouts by evidence (--warn).
_GUESSES = frozenset({"batch-first-suspect"})


@record
class LiveFinding:
    """What rnnshape adds under a traceback."""

    call: str  # "nn.LSTM(8, 16, batch_first=True)" or "pack_padded_sequence(..., batch_first=False)"
    where: str | None  # "train.py:14"
    line: str | None
    tensors: list[Seen] = field(default_factory=list)
    diagnoses: list[dx.Diagnosis] = field(default_factory=list)
    checked: CheckedFix | None = None
    notes: list[str] = field(default_factory=list)


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    found = []
    while tb is not None:
        found.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return found


def _user_frame(frames: list[tuple[FrameType, int]], upto: int) -> tuple[str | None, str | None]:
    import linecache

    for frame, lineno in reversed(frames[:upto]):
        filename = frame.f_code.co_filename
        if not is_library_file(filename):
            return (f"{os.path.basename(filename)}:{lineno}",
                    linecache.getline(filename, lineno).strip() or None)
    return None, None


def explain_exception(exc: BaseException) -> LiveFinding | None:
    """The live diagnosis of ``exc``, or None when it is not a recurrent-layer error."""
    if not isinstance(exc, Exception) or "torch.nn.modules.rnn" not in sys.modules:
        return None
    try:
        return _explain(exc)
    except Exception:  # never let rnnshape's own trouble hide the user's traceback
        return None


def _explain(exc: Exception) -> LiveFinding | None:
    rnn = sys.modules["torch.nn.modules.rnn"]
    frames = _frames(exc.__traceback__)
    for index in range(len(frames) - 1, -1, -1):
        frame, _ = frames[index]
        filename = frame.f_code.co_filename
        if filename.endswith(_RNN_MODULES):
            module = frame.f_locals.get("self")
            if isinstance(module, (rnn.RNNBase, rnn.RNNCellBase)):
                index = _forward_of(frames, index, module)
                return _explain_layer(exc, module, frames[index][0], _user_frame(frames, index))
        if filename.endswith(_RNN_UTILS) and frame.f_code.co_name == "pack_padded_sequence":
            return _explain_packing(exc, frame, _user_frame(frames, index))
    if RECORDS:
        return _explain_downstream(exc, _user_frame(frames, len(frames)))
    return None


# --------------------------------------------------------------------------- a recurrent layer


def _forward_of(frames: list[tuple[FrameType, int]], index: int, module: Any) -> int:
    """The layer's ``forward`` frame (the error may be raised deeper, in check_hidden_size)."""
    for i in range(index, -1, -1):
        frame = frames[i][0]
        if frame.f_code.co_name == "forward" and frame.f_locals.get("self") is module:
            return i
    return index


def _layer_call(module: Any, frame: FrameType) -> Call:
    """The hook's record of this call; the forward's own locals when no hook saw it."""
    local = frame.f_locals
    from_frame = describe_call(module, (local.get("orig_input", local.get("input")), local.get("hx")), {})
    call = record_of(module)
    if call is None or call.module_type is not type(module):
        return from_frame
    if call.state_kind == "none" and local.get("hx") is not None and "h_zeros" not in local:
        # a state passed by keyword: global pre-hooks see positional arguments only
        return Call(call.module_type, call.values[:1] + from_frame.values[1:], from_frame.state_kind)
    return call


def _layer_request(module: Any, spec: LayerSpec, call: Call) -> Request | None:
    by = {v.label: v for v in call.values}
    x = by.get("input")
    if x is None:
        return None
    param = next(iter(module.parameters()), None)
    dtype = str(param.dtype).replace("torch.", "") if param is not None else "float32"
    device = str(param.device) if param is not None else None
    lengths = None
    shape = x.shape
    if x.packed:
        sizes = x.batch_sizes or ()
        if not sizes:
            return None
        lengths = tuple(sum(1 for b in sizes if b > t) for t in range(sizes[0]))
        shape = (sizes[0], len(sizes), *x.shape[1:]) if spec.batch_first else (len(sizes), sizes[0], *x.shape[1:])
    states = [by.get(n) for n in ("h_0", "c_0")]
    args = [None if s is None else TensorArg(tuple(s.shape), s.dtype, None, s.device) for s in states]
    return Request(spec, TensorArg(tuple(shape), x.dtype, None, x.device), args[0], args[1], dtype,
                   device=device, lengths=lengths, enforce_sorted=not x.sorted_indices)


def _explain_layer(exc: Exception, module: Any, frame: FrameType,
                   where: tuple[str | None, str | None]) -> LiveFinding | None:
    from rnnshape.engine.trace import spec_from_module

    spec = spec_from_module(module)
    if spec is None:
        return None
    call = _layer_call(module, frame)
    finding = LiveFinding(spec.to_code(), *where, tensors=list(call.values))
    if not spec.is_lstm and call.state_kind == "tuple":
        return _gru_tuple(finding, spec, module, call)
    req = _layer_request(module, spec, call)
    req = with_known_axes(req) if req is not None else None
    error = predict(req).error if req is not None else None
    if error is not None and req is not None:
        return _with_checked_fix(finding, req, error)
    return _from_catalog(exc, finding, set())


def _gru_tuple(finding: LiveFinding, spec: LayerSpec, module: Any, call: Call) -> LiveFinding:
    """A GRU/RNN given an (h, c) tuple: the model has no tuple state, so the fix (keep h alone)
    is checked here, on the call without c_0."""
    d = dx.gru_given_tuple(layer=spec.class_name)
    req = _layer_request(module, spec, Call(call.module_type, [v for v in call.values if v.label != "c_0"]))
    if req is not None and predict(req).ok:
        finding.diagnoses.append(d.with_fixes((dx.gru_state_fix(spec.class_name).marked(Verified.BY_MODEL),)))
        finding.checked = CheckedFix(req, *read_axes(req))
    else:
        finding.diagnoses.append(dx.checked_only(d))
        finding.notes.append(NO_FIX_CHECKED)
    return finding


def _with_checked_fix(finding: LiveFinding, req: Request, error: dx.Diagnosis) -> LiveFinding:
    verified, checked = verify_live(req, error)
    finding.diagnoses.append(verified)
    finding.checked = checked
    if not verified.fixes:
        finding.notes.append(NO_FIX_CHECKED)
    return finding


def _from_catalog(exc: Exception, finding: LiveFinding, only: set[str]) -> LiveFinding | None:
    """torch's message through the catalog (its fix cannot be checked: it is shown without one)."""
    from rnnshape.explain.explainer import explain_text

    text = "".join(traceback.format_exception_only(type(exc), exc))
    found = [d for d in explain_text(text).diagnoses
             if d.code != "torch-error" and d.code not in _GUESSES and (not only or d.code in only)]
    if not found:
        return None
    finding.diagnoses.extend(dx.checked_only(d) for d in found)
    finding.notes.append(FROM_MESSAGE_ONLY)
    return finding


def _explain_downstream(exc: Exception, where: tuple[str | None, str | None]) -> LiveFinding | None:
    return _from_catalog(exc, LiveFinding("the outputs of a recurrent layer", *where), set(_DOWNSTREAM))


# --------------------------------------------------------------------------- pack_padded_sequence


def _explain_packing(exc: Exception, frame: FrameType,
                     where: tuple[str | None, str | None]) -> LiveFinding | None:
    local = frame.f_locals
    x = describe("input", local.get("input"))
    lengths = local.get("lengths")
    batch_first, enforce_sorted = bool(local.get("batch_first")), bool(local.get("enforce_sorted", True))
    call = (f"pack_padded_sequence(input, lengths, batch_first={batch_first}"
            f"{'' if enforce_sorted else ', enforce_sorted=False'})")
    finding = LiveFinding(call, *where, tensors=[x] if x is not None else [])
    values = _lengths_values(lengths)
    if x is None or values is None or len(x.shape) < 2:
        return _from_catalog(exc, finding, set())
    finding.tensors.append(Seen("lengths", (len(values),), "int64", "cpu", None))
    # The layer that will read the packed batch is not known yet: a stand-in with the
    # input's feature size lets the shape model run packing's own checks, in torch's order.
    spec = LayerSpec("lstm", input_size=x.shape[-1], hidden_size=1, batch_first=batch_first,
                     given=frozenset({"batch_first"}))
    req = with_known_axes(Request(spec, TensorArg(tuple(x.shape), x.dtype, None, x.device), lengths=tuple(values),
                                  enforce_sorted=enforce_sorted), lengths_name_the_batch=True)
    error = predict(req).error
    if error is None or not error.code.startswith("packing"):
        return _from_catalog(exc, finding, set())
    return _with_checked_fix(finding, req, error)


def _lengths_values(lengths: Any) -> list[int] | None:
    if isinstance(lengths, (list, tuple)):
        return [int(v) for v in lengths]
    if hasattr(lengths, "tolist") and getattr(lengths, "device", None) is not None \
            and lengths.device.type == "cpu" and lengths.dim() == 1:
        return [int(v) for v in lengths.tolist()]
    return None
