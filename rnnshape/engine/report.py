"""``inspect`` as a library call: model, then (unless dry) torch, then one Report.

The shape model answers first; the runner confirms it on a device. The Report
is plain data that :mod:`rnnshape.render.report` lays out for people or as JSON.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import Fix, Verified
from rnnshape.model.fixing import apply_fix, verify_all
from rnnshape.model.memory import (
    MAX_TENSOR_BYTES,
    estimate_bytes,
    largest_tensor_bytes,
    numel,
    parameter_shapes,
    size_limit_problem,
)
from rnnshape.model.shapes import (
    DTYPE_BYTES,
    UNSAFE,
    Dim,
    Prediction,
    Request,
    TensorInfo,
    packed_layout,
    predict,
)
from rnnshape.model.spec import LayerSpec
from rnnshape.records import record

if TYPE_CHECKING:  # the picture's data: only --diagram builds one (and imports it)
    from rnnshape.model.layout import Layout

SEQUENCE_TENSORS = ("input", "h_0", "c_0", "output", "h_n", "c_n")
#: With --lengths: the PackedSequence's data going in and coming out.
PACKED_TENSORS = ("input_packed", "output_packed")
CELL_TENSORS = ("input", "h_0", "c_0", "h_1", "c_1")


class MemoryRefused(ValueError):
    """The run would not fit; carries the estimate for the message.

    ``user_limit``: the limit is the user's --max-memory, not the device's free memory,
    and the message must say so (it is not a measurement of the device). ``loaded``: the
    user's tensor files are in memory by now, so "nothing was allocated" would be false.
    """

    def __init__(self, needed: int, free: int, device: str, user_limit: bool = False,
                 loaded: bool = False) -> None:
        self.needed, self.free, self.device = needed, free, device
        where = (f"the --max-memory limit is {human_bytes(free)}" if user_limit
                 else f"{device} has {human_bytes(free)} free")
        done = "the forward was not run" if loaded else "nothing was allocated"
        super().__init__(
            f"this run needs about {human_bytes(needed)} but {where}; {done}. "
            f"Use --device meta (shapes from real torch without memory) or --dry-run (shape "
            f"model only)."
        )


#: Beyond this many layer-directions a real build would take minutes; the model answers.
MAX_TORCH_LAYERS = 1024


class TooLarge(ValueError):
    """A tensor of the call cannot exist in torch at all, on any device."""


@record
class Report:
    spec: LayerSpec
    request: Request
    device: str
    engine: str
    tensors: dict[str, TensorInfo]
    parameters: list[tuple[str, tuple[int, ...]]]
    diagnoses: list[dx.Diagnosis]
    timing: dict[str, float | None] = field(default_factory=dict)
    memory_bytes: int = 0
    packed: dict[str, Any] | None = None  # lengths, batch_sizes, enforce_sorted
    sources: dict[str, str] = field(default_factory=dict)  # tensor name -> file it came from
    layout: Layout | None = None  # set by ``inspect --diagram``: the picture's data, and "diagram" in to_dict

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnoses)

    @property
    def parameter_count(self) -> int:
        return sum(numel(s) for _, s in self.parameters)

    @property
    def parameter_bytes(self) -> int:
        return self.parameter_count * DTYPE_BYTES.get(self.request.dtype, 4)

    def to_dict(self) -> dict[str, Any]:
        names = (CELL_TENSORS if self.spec.is_cell else SEQUENCE_TENSORS) + PACKED_TENSORS
        return {
            "ok": self.ok,
            "module": {**self.spec.settings(), "code": self.spec.to_code(),
                       "dtype": self.request.dtype},
            "device": self.device,
            "engine": self.engine,
            "tensors": {
                n: {"shape": list(t.shape), "dims": [d.name for d in t.dims],
                    "explained": [str(d) for d in t.dims], "dtype": t.dtype, "device": t.device}
                for n in names if (t := self.tensors.get(n)) is not None
            },
            "parameters": [{"name": n, "shape": list(s), "count": numel(s)}
                           for n, s in self.parameters],
            "parameter_count": self.parameter_count,
            "parameter_bytes": self.parameter_bytes,
            "memory_estimate_bytes": self.memory_bytes,
            "packed": self.packed,
            "sources": self.sources,
            "diagnoses": [d.to_dict() for d in self.diagnoses],
            "timing": self.timing,
            **({"diagram": self.layout.to_dict()} if self.layout is not None else {}),
        }


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def inspect_layer(req: Request, *, device: str = "cpu", dry_run: bool = False,
                  expects: dict[str, tuple[int, ...]] | None = None,
                  max_memory: int | None = None, tensors: dict[str, Any] | None = None,
                  repeat: int = 0, progress: Callable[[], AbstractContextManager] | None = None,
                  sources: dict[str, str] | None = None) -> Report:
    """Predict, then (unless ``dry_run``) confirm on ``device``; ``device`` is already resolved.

    ``tensors``: the user's own tensors by name (their shapes, dtypes and devices must
    already be in ``req``). ``progress``: a context manager shown around the forward.
    """
    t0 = time.perf_counter()
    too_large = size_limit_problem(req)
    if too_large is not None:
        raise TooLarge(too_large)
    window = device == "fast" and not dry_run
    if window:  # the fast engine: a small layer's window on the cpu, else meta
        from rnnshape.engine.run import fast_device

        device = fast_device(req)
    if not dry_run and req.device is None:
        req = replace(req, device=device)
    pred = predict(req)
    pred.diagnoses = verify_all(req, pred.diagnoses)
    valid_layer = not any(d.code == "invalid-config" for d in pred.diagnoses)
    unsafe = pred.error is not None and pred.error.evidence.get(UNSAFE)
    if not (dry_run or unsafe) and valid_layer and not req.spec.is_cell and req.spec.state_layers > MAX_TORCH_LAYERS:
        # torch builds and runs stacked layers one by one: minutes, for nothing the
        # shape model cannot answer (measured: 3,000 layers take 5 s on meta). Refused
        # before listing every parameter of the stack.
        raise TooLarge(
            f"{req.spec.state_layers} stacked layer-directions is more than rnnshape will "
            f"build in torch ({MAX_TORCH_LAYERS}); use --dry-run for the shapes.")
    params = parameter_shapes(req.spec) if valid_layer else []
    memory = estimate_bytes(req, pred) if valid_layer else 0
    if valid_layer:
        name, size = largest_tensor_bytes(req, pred)
        if size > MAX_TENSOR_BYTES:
            raise TooLarge(
                f"{name} would need {human_bytes(size)}, beyond the 2^63 bytes torch can address "
                f"in one tensor on any device (meta included); check the sizes.")
    timing: dict[str, float | None] = {"model_ms": (time.perf_counter() - t0) * 1000}
    if dry_run or unsafe:
        engine = ("shape model (dry run)" if dry_run else
                  "shape model (torch not run: this call can crash torch's kernel)")
        report = Report(req.spec, req, "none" if dry_run else device, engine,
                        _with_device(pred.tensors, "none"), params, list(pred.diagnoses),
                        timing, memory, _packed_info(req), dict(sources or {}))
    else:
        limit = max_memory
        if limit is None and valid_layer and not (window and device == "cpu"):  # fast: a window under 16 MB
            from rnnshape.engine.run import free_memory_bytes

            limit = free_memory_bytes(device)
        if limit is not None and valid_layer and memory > limit:
            raise MemoryRefused(memory, limit, device, user_limit=max_memory is not None,
                                loaded=bool(tensors))
        from rnnshape.engine.run import run_forward

        t1 = time.perf_counter()
        with progress() if progress else nullcontext():
            result = run_forward(req, device, tensors, repeat, window=window)
        timing["run_ms"] = (time.perf_counter() - t1) * 1000
        timing["forward_ms"] = result.forward_ms
        if result.repeat_ms:
            timing.update(_spread(result.repeat_ms))
        if result.ran:
            merged = _merge_tensors(pred, result)
            diagnoses = reconcile(pred, result)
        else:  # torch cannot run this here (packed input on meta): the model answers
            merged = _with_device(pred.tensors, device)
            diagnoses = list(pred.diagnoses)
        report = Report(req.spec, req, result.device, result.engine, merged,
                        result.parameters or params, diagnoses, timing, memory,
                        _packed_info(req), dict(sources or {}))
        report.diagnoses = [verify_by_torch(req, d, result.device, tensors or {})
                            for d in report.diagnoses]
        if result.parameters and valid_layer and result.parameters != params:
            report.diagnoses.append(dx.model_disagrees(
                detail=f"parameter shapes differ: model {params}, torch {result.parameters}."))
    if expects:
        report.diagnoses.extend(check_expectations(report, expects))
    timing["total_ms"] = (time.perf_counter() - t0) * 1000
    return report


def verify_by_torch(req: Request, d: dx.Diagnosis, device: str,
                    tensors: dict[str, Any]) -> dx.Diagnosis:
    """Re-run each model-verified fix of ``d`` in torch: kept (and marked) only if torch runs it.

    The user's own tensors go in unchanged where the fix leaves them alone; a tensor the
    fix reshapes or rebuilds is made afresh in its new shape, dtype and device.
    """
    if not any(f.verified is Verified.BY_MODEL for f in d.fixes):
        return d
    from rnnshape.engine.run import run_forward

    kept: list[Fix] = []
    for fix in d.fixes:
        if fix.verified is not Verified.BY_MODEL:
            kept.append(fix)
            continue
        fixed = apply_fix(req, fix)
        if fixed is None:
            continue
        pred = predict(fixed)
        next_error = pred.error  # the model may expect a later, independent mistake
        if (next_error is not None and next_error.evidence.get(UNSAFE)) or (
                device != "meta" and estimate_bytes(fixed, pred) > MAX_VERIFY_BYTES):
            kept.append(fix)  # never hand torch a call that can crash it; big runs stay model-checked
            continue
        same = {name: t for name, t in tensors.items()
                if getattr(fixed, _ARG[name]) is getattr(req, _ARG[name])}
        result = run_forward(fixed, device, same)
        if not result.ran:
            kept.append(fix)
        elif result.exception is None if next_error is None else _same_error(next_error, result.message):
            kept.append(fix.marked(Verified.BY_TORCH))
    return dx.with_verified_fixes(d, kept)


_ARG = {"input": "input", "h_0": "hidden", "c_0": "cell"}
#: Above this estimate a fix is not re-run on a real device (it would double a big run's cost).
MAX_VERIFY_BYTES = 256 * 1024 * 1024


def _packed_info(req: Request) -> dict[str, Any] | None:
    if not req.packed:
        return None
    data, batch_sizes = packed_layout(req)
    return {"lengths": list(req.lengths or ()), "enforce_sorted": req.enforce_sorted,
            "batch_sizes": list(batch_sizes), "data_rows": data[0] if data else 0}


def _spread(samples: list[float]) -> dict[str, float]:
    import statistics  # only --repeat needs it: not worth its import on every run

    ordered = sorted(samples)
    return {"repeat": len(ordered), "median_ms": statistics.median(ordered),
            "min_ms": ordered[0], "max_ms": ordered[-1],
            "stdev_ms": statistics.stdev(ordered) if len(ordered) > 1 else 0.0}


def _with_device(tensors: dict[str, TensorInfo], device: str) -> dict[str, TensorInfo]:
    return {n: TensorInfo(t.name, t.dims, t.dtype, device) for n, t in tensors.items()}


def _merge_tensors(pred: Prediction, result: Any) -> dict[str, TensorInfo]:
    """torch's shapes, dtypes and devices, with the model's dimension names where they agree."""
    merged: dict[str, TensorInfo] = {}
    for name, real in result.tensors.items():
        model = pred.tensors.get(name)
        if model is not None and model.shape == real.shape:
            dims = model.dims
        else:
            dims = tuple(Dim(s, f"dim{i}") for i, s in enumerate(real.shape))
        merged[name] = TensorInfo(name, dims, real.dtype, real.device)
    return merged


def reconcile(pred: Prediction, result: Any) -> list[dx.Diagnosis]:
    """The model's findings, checked against what torch did.

    A disagreement means the model is wrong, and says so (``model-disagrees``);
    torch's own verdict is then shown beside it.
    """
    found = list(pred.diagnoses)
    predicted = pred.error
    message = result.message
    if result.exception is not None:
        unsupported = _unsupported_dtype(message or "")
        if predicted is None and unsupported:
            # the device, not the shapes: nothing the model could have known
            found.append(dx.dtype_unsupported(dtype=unsupported, device=result.device,
                                              torch_message=message))
        elif predicted is None:
            found.append(_diagnosis_from_torch(result.exception))
            found.append(dx.model_disagrees(
                detail=f"the model expected this call to work, but torch raised: {message}"))
        elif not _same_error(predicted, message):
            found.append(dx.model_disagrees(
                detail=f"the model predicted {predicted.code} "
                       f"({predicted.evidence.get('torch_message')!r}), torch raised: {message}"))
        return found
    if predicted is not None:
        # Deliberately stricter than torch (no torch_message): keep the finding, no alarm.
        if predicted.evidence.get("torch_message") is not None and result.device != "meta":
            found.append(dx.model_disagrees(
                detail=f"the model predicted {predicted.code}, but torch ran the forward."))
        return found
    for name, info in pred.tensors.items():
        if name in ("input", "h_0", "c_0"):
            continue  # given, not predicted
        real = result.tensors.get(name)
        if real is None or real.shape != info.shape:
            found.append(dx.model_disagrees(
                detail=f"{name}: model {info.shape}, torch "
                       f"{None if real is None else real.shape}."))
    return found


_UNSUPPORTED = (r"not implemented for '(Half|BFloat16)'|(?:Half|BFloat16|float16|bfloat16)"
                r"[^\n]*(?:not supported|unsupported)")


def _unsupported_dtype(message: str) -> str | None:
    m = re.search(_UNSUPPORTED, message, re.IGNORECASE)  # compiled on first use, cached by re
    if not m:
        return None
    return "bfloat16" if "bf" in m.group(0).lower() else "float16"


def _same_error(predicted: dx.Diagnosis, message: str | None) -> bool:
    if message is None:
        return False
    expected = predicted.evidence.get("torch_message")
    if expected is None:  # the model names the mistake, torch's wording varies: any error agrees
        return True
    if (message == expected or message.startswith(expected)):
        return True
    from rnnshape.explain import catalog  # torch's messages: only a run that raised needs them

    return catalog.code_for(message) == predicted.code or (
        predicted.code == "invalid-config" and expected is not None)


def _diagnosis_from_torch(exc: BaseException) -> dx.Diagnosis:
    from rnnshape.explain import catalog

    message = str(exc)
    found = catalog.match(message)
    if found is not None:
        return found[1]
    return dx.torch_error(message=message, kind=type(exc).__name__)


def expected_names(spec: LayerSpec) -> tuple[str, ...]:
    names = CELL_TENSORS if spec.is_cell else SEQUENCE_TENSORS
    if not spec.is_lstm:
        names = tuple(n for n in names if not n.startswith("c_"))
    return names


def check_expectations(report: Report, expects: dict[str, tuple[int, ...]]) -> list[dx.Diagnosis]:
    out = []
    for name, shape in expects.items():
        info = report.tensors.get(name)
        got = info.shape if info is not None else None
        if got != tuple(shape):
            out.append(dx.expect_failed(name=name, expected=tuple(shape), got=got,
                                        dims=[str(d) for d in info.dims] if info else None))
    return out
