"""``--warn``: silent mistakes seen on a live program, each reported once, never raised.

Evidence, not guesses: an input is called batch-first only when a batch size the
program itself used (a DataLoader's ``batch_size``, or the batch of an earlier
recurrent call whose layout is certain) sits where the layer reads the sequence.
A bidirectional ``h_n[-1]`` is recognised when a Linear receives a view whose base
is that very ``h_n`` and which starts at its last row.
"""

from __future__ import annotations

import os
import sys
import weakref
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.live.hooks import SETTINGS, Call, Seen
from rnnshape.records import record

#: batch size -> where the program used it
_KNOWN_BATCHES: dict[int, str] = {}
_FIRST_SEEN: set[int] = set()
_WARNED: set[tuple[int, str]] = set()
#: id(h_n) -> (a weak reference to it, the layer's code, num_layers, hidden_size, id(layer))
_BIDIRECTIONAL_STATES: dict[int, tuple[Any, str, int, int, int]] = {}
_MAX_TRACKED = 64


@record(frozen=True)
class LiveWarning:
    diagnosis: dx.Diagnosis
    layer_code: str
    where: str | None  # "train.py:12"
    line: str | None


def note_loader_batch(batch_size: Any) -> None:
    if isinstance(batch_size, int) and batch_size > 1:
        _KNOWN_BATCHES.setdefault(batch_size, f"of DataLoader(batch_size={batch_size})")


def _spec(module: Any) -> Any:
    from rnnshape.engine.trace import spec_from_module

    return spec_from_module(module)


def before_forward(module: Any, call: Call) -> None:
    spec = _spec(module)
    if spec is None or not call.values or call.values[0].label != "input":
        return
    x = call.values[0]
    first = id(module) not in _FIRST_SEEN
    _FIRST_SEEN.add(id(module))
    if spec.is_cell:
        return
    if x.packed:
        _check_packed_state(module, spec, call, x)
        return
    if len(x.shape) != 3:
        return
    if first:
        _check_batch_first(module, spec, x)
    if spec.batch_first or call.state_kind != "none":  # the layout is certain: its batch is evidence
        batch = x.shape[0] if spec.batch_first else x.shape[1]
        _KNOWN_BATCHES.setdefault(batch, f"of an earlier call to {spec.to_code()}")


def _check_batch_first(module: Any, spec: Any, x: Seen) -> None:
    seq_dim, batch_dim = (1, 0) if spec.batch_first else (0, 1)
    seq, batch = x.shape[seq_dim], x.shape[batch_dim]
    if seq == batch or seq not in _KNOWN_BATCHES or batch in _KNOWN_BATCHES:
        return
    rebuilt = spec.with_(batch_first=not spec.batch_first, given=spec.given | {"batch_first"})
    found = dx.batch_first_evidence(shape=tuple(x.shape), batch_first=spec.batch_first, batch=seq,
                                    source=_KNOWN_BATCHES[seq], rebuilt_code=rebuilt.to_code())
    verified = _verified_layout_fixes(spec, x, found, batch_at=seq_dim)
    if verified.fixes:
        _report(module, spec, verified)


def _verified_layout_fixes(spec: Any, x: Seen, found: Any, *, batch_at: int) -> Any:
    """The fixes the shape model accepts, told which axis the known batch is: each must make the
    layer read it as the batch (and the other as time) and leave the call working."""
    from rnnshape.model.fixing import verify_by_model
    from rnnshape.model.shapes import Axis, AxisRole, Request, TensorArg

    roles = [AxisRole.TIME, AxisRole.TIME, AxisRole.FEATURES]
    roles[batch_at] = AxisRole.BATCH
    axes = tuple(Axis(role, found.evidence["source"] if role is AxisRole.BATCH else "") for role in roles)
    req = Request(spec, TensorArg(tuple(x.shape), x.dtype, axes=axes))
    return dx.checked_only(verify_by_model(req, found))


def _check_packed_state(module: Any, spec: Any, call: Call, x: Seen) -> None:
    if not x.batch_sizes:
        return
    batch = x.batch_sizes[0]
    for seen in call.values[1:]:
        if len(seen.shape) == 3 and seen.shape[1] != batch:
            _report(module, spec, dx.state_batch_reused(name=seen.label, state_shape=tuple(seen.shape), batch=batch,
                                                        layer=spec.to_code()))
            return


def after_forward(module: Any, output: Any) -> None:
    spec = _spec(module)
    if spec is None or spec.is_cell or not spec.bidirectional:
        return
    if not (isinstance(output, tuple) and len(output) == 2):
        return
    state = output[1]
    h_n = state[0] if isinstance(state, tuple) else state
    if getattr(h_n, "dim", lambda: 0)() != 3:
        return
    if len(_BIDIRECTIONAL_STATES) >= _MAX_TRACKED:
        _BIDIRECTIONAL_STATES.clear()
    _BIDIRECTIONAL_STATES[id(h_n)] = (weakref.ref(h_n), spec.to_code(), spec.num_layers, spec.hidden_size, id(module))


def before_linear(module: Any, args: tuple) -> None:
    if not args or not _BIDIRECTIONAL_STATES:
        return
    x = args[0]
    base = getattr(x, "_base", None)
    if base is None:
        return
    entry = _BIDIRECTIONAL_STATES.get(id(base))
    if entry is None or entry[0]() is not base:
        return
    _, code, _layers, hidden_size, module_id = entry
    last_row = base.data_ptr() + (base.size(0) - 1) * base.stride(0) * base.element_size()
    if x.data_ptr() != last_row or tuple(x.shape) != tuple(base.shape[1:]):
        return
    key = (module_id, "bidirectional-one-direction")
    if key in _WARNED:
        return
    _WARNED.add(key)
    from rnnshape.diagnoses.follow_findings import one_direction  # the same words as `diagnose`

    finding = one_direction(expr="h_n[-1]", base="h_n", layer=f"nn.{code.split('(')[0].removeprefix('nn.')}",
                            hidden=hidden_size, error=False)
    _emit(LiveWarning(finding, code, *user_line()))


def _report(module: Any, spec: Any, diagnosis: dx.Diagnosis) -> None:
    key = (id(module), diagnosis.code)
    if key in _WARNED:
        return
    _WARNED.add(key)
    _emit(LiveWarning(diagnosis, spec.to_code(), *user_line()))


def _emit(warning: LiveWarning) -> None:
    try:
        if SETTINGS.report is not None:
            SETTINGS.report(warning)
    except Exception as exc:  # a warning must never stop the user's program
        sys.stderr.write(f"rnnshape: could not print a warning ({type(exc).__name__}: {exc})\n")


#: rnnshape's own package folder. Frames are told apart by the real folders of rnnshape and
#: torch, never by a name in the path: a user's project may itself live in a folder called
#: rnnshape (this repository's checkout does) or torch.
_RNNSHAPE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _torch_dir() -> str | None:
    torch = sys.modules.get("torch")
    path = getattr(torch, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) + os.sep if path else None


def is_library_file(filename: str) -> bool:
    if filename.startswith("<frozen") or filename.endswith(os.sep + "runpy.py"):
        return True
    path = os.path.abspath(filename)
    torch_dir = _torch_dir()
    return path.startswith(_RNNSHAPE_DIR) or (torch_dir is not None and path.startswith(torch_dir))


def user_line() -> tuple[str | None, str | None]:
    """The innermost frame of the user's own code on the current stack."""
    import linecache

    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not is_library_file(filename):
            line = linecache.getline(filename, frame.f_lineno).strip() or None
            return f"{os.path.basename(filename)}:{frame.f_lineno}", line
        frame = frame.f_back  # type: ignore[assignment]
    return None, None
