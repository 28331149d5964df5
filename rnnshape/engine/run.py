"""The torch runner: ground truth on a real device.

Builds the module, makes the tensors, runs one forward under ``no_grad`` and
reads back what torch produced (shapes, dtypes, devices, the exception or the
warnings). torch is imported inside the functions, never at module level, so
that ``--dry-run`` and ``explain`` stay fast.

On the ``meta`` device torch's RNN kernels are decomposed into one small graph
per time step (seconds for a few hundred steps, and GRU/RNN do the same under
FakeTensorMode). Sequence length enters no rule but "larger than 0", so the
meta engine runs a window of one time step and stretches the time axis back to
the requested length: every check torch makes still runs on the real sizes of
every other dimension, and the cost stays flat from 10 to 10,000,000 steps.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import field
from typing import Any

from rnnshape.model.memory import numel, parameter_shapes
from rnnshape.model.shapes import Request, TensorArg
from rnnshape.model.vocab import DTYPE_BYTES, FLOAT_DTYPES, GATES
from rnnshape.records import record

TORCH_DTYPES = FLOAT_DTYPES

#: The default engine of ``check``, ``trace`` and the API: torch's own checks at the lowest cost.
#: A small layer runs a one-step window on the cpu (no meta kernels, whose first call imports
#: torch._dynamo and sympy: about 1.5 s, measured with torch 2.13); anything larger runs on meta.
FAST = "fast"
#: Largest one-step-window run (bytes, parameters included) the fast engine puts on the cpu.
FAST_CPU_BYTES = 16 * 2**20
#: dtypes whose cpu kernels exist everywhere; half precision may not, so it stays on meta.
FAST_CPU_DTYPES = ("float32", "float64")
#: Below this many multiply-adds per time step torch's thread pool costs more than it saves
#: (1000 tiny cases: 18.9 s of CPU with two threads, 10.6 s with one).
ONE_THREAD_MACS = 4_000_000


class DeviceError(ValueError):
    """The device asked for does not exist or is not available (a usage error).

    ``available``: the devices here when the name is valid but absent (None: not a device
    name at all); ``here`` lists the devices for a message. :mod:`rnnshape.validate` words
    it in the caller's terms.
    """

    def __init__(self, message: str, devices: list[str], *, known: bool) -> None:
        super().__init__(message)
        self.available = devices if known else None
        self.here = ", ".join(devices)


@record
class TorchTensor:
    shape: tuple[int, ...]
    dtype: str
    device: str


@record
class RunResult:
    """What real torch did."""

    device: str
    engine: str
    tensors: dict[str, TorchTensor] = field(default_factory=dict)
    parameters: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    exception: BaseException | None = None
    exception_stage: str | None = None  # "construct" or "forward"
    warnings: list[str] = field(default_factory=list)
    forward_ms: float | None = None
    build_ms: float | None = None
    repeat_ms: list[float] = field(default_factory=list)
    ran: bool = True  # False: torch could not run this call here; the model answered

    @property
    def message(self) -> str | None:
        return None if self.exception is None else str(self.exception)


# --------------------------------------------------------------------------- devices


def available_devices() -> list[str]:
    import torch

    found = ["cpu", "meta"]
    if torch.cuda.is_available():
        found += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> str:
    """``auto`` -> cuda, else mps, else cpu. Anything unavailable raises DeviceError."""
    name = name.strip().lower()
    if name in (FAST, "cpu", "meta"):  # always there: no need to import torch to ask
        return name
    valid = name in ("auto", "cpu", "cuda", "mps", "meta") or (
        name.startswith("cuda:") and name[5:].isdigit())
    if not valid:
        devices = available_devices()
        raise DeviceError(
            f"unknown device {name!r}: use fast, auto, cpu, cuda, cuda:N, mps or meta (available here: "
            f"{', '.join(devices)})", devices, known=False)
    devices = available_devices()
    if name == "auto":
        return next(d for d in ("cuda", "mps", "cpu") if d in devices)
    if name not in devices:
        raise DeviceError(
            f"device {name!r} is not available on this machine; available: "
            f"{', '.join(devices)}. Use --device meta to check shapes without any hardware.", devices, known=True)
    return name


def fast_device(req: Request) -> str:
    """Where the fast engine runs ``req``: the cpu for a small layer in float32/float64, else meta.

    Pure arithmetic on the request (no torch import); a layer whose sizes are not valid
    integers goes to meta, as before, so that torch's constructor refuses it there.
    """
    dtypes = {req.dtype, *(a.dtype for a in (req.input, req.hidden, req.cell) if a is not None and a.dtype)}
    if not dtypes <= set(FAST_CPU_DTYPES) or any(
            a is not None and a.device not in (None, "cpu")
            for a in (req.input, req.hidden, req.cell)):
        return "meta"
    return "cpu" if _window_bytes(req) <= FAST_CPU_BYTES else "meta"


def load_device(device: str) -> str:
    """Where the user's tensor files go: the fast engine leaves them on meta (no data read into memory)."""
    return "meta" if device == FAST else device


def _sizes_valid(req: Request) -> bool:
    spec = req.spec
    sizes = [spec.input_size, spec.hidden_size] + ([] if spec.is_cell else [spec.num_layers, spec.proj_size or 0])
    return all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sizes)


def _window_bytes(req: Request) -> int:
    """A generous bound on the memory of the one-step-window run (the fast engine's guard)."""
    if not _sizes_valid(req):
        return FAST_CPU_BYTES + 1
    spec = req.spec
    layers = 1 if spec.is_cell else spec.num_layers * spec.num_directions
    width = max(spec.input_size, spec.hidden_size) * (GATES[spec.mode] + 3)
    states = sum(numel(a.shape) for a in (req.hidden, req.cell) if a is not None)
    shape = _window(req, "meta")[0]
    elements = _parameter_count(req) + numel(shape) + states + _rows(shape) * layers * width
    return DTYPE_BYTES.get(req.dtype, 4) * elements


def _parameter_count(req: Request) -> int:
    return sum(numel(s) for _, s in parameter_shapes(req.spec))


def _rows(shape: tuple[int, ...]) -> int:
    """Batch elements times time steps: the rows every weight multiplies."""
    return numel(shape[:-1]) if len(shape) > 1 else 1


def _tiny(req: Request) -> bool:
    """Few enough multiply-adds per step that one thread beats torch's pool."""
    return _sizes_valid(req) and _parameter_count(req) * _rows(_window(req, "meta")[0]) < ONE_THREAD_MACS


def free_memory_bytes(device: str) -> int | None:
    """Free memory on ``device``, or None where it cannot be read (then no limit)."""
    if device == "meta":
        return None
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    if device == "mps":
        return None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------- running


def _tensor(shape: tuple[int, ...], dtype: Any, device: str) -> Any:
    import torch

    if device == "meta":
        return torch.empty(shape, dtype=dtype, device=device)
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype, device=device)
    return torch.zeros(shape, dtype=dtype, device=device)


def _dtype(name: str) -> Any:
    import torch

    aliases = {"int64": torch.int64, "int32": torch.int32, "int16": torch.int16,
               "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool}
    return aliases.get(name) or getattr(torch, name)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def _window(req: Request, device: str, window: bool = False) -> tuple[tuple[int, ...], int | None]:
    """On meta (or when asked), shrink the time axis to one step; return the axis to stretch back."""
    x = req.input.shape
    if not (device == "meta" or window) or req.spec.is_cell or req.packed or len(x) not in (2, 3):
        return x, None
    if len(x) == 3:
        axis = 1 if req.spec.batch_first else 0
    else:
        axis = 0
    if x[axis] <= 1:
        return x, None
    return x[:axis] + (1,) + x[axis + 1:], axis


def run_forward(req: Request, device: str, tensors: dict[str, Any] | None = None,
                repeat: int = 0, window: bool = False) -> RunResult:
    """Build ``req.spec`` on ``device`` and run one forward.

    ``tensors`` holds the user's own tensors by name (``input``, ``h_0``, ``c_0``);
    the others are dummies of the requested shape. ``repeat`` times that many more
    forwards after the first (the warm-up). ``window``: run a one-step window of the
    sequence on any device (the fast engine; meta always does).
    """
    import torch

    tensors = tensors or {}
    if device == "meta":
        engine = "torch (meta device, 1-step window)"
    elif window and _window(req, device, window)[1] is not None and "input" not in tensors:
        engine = f"torch ({device}, 1-step window)"
    else:
        engine = f"torch ({device})"
    if window:
        engine += ", the fast engine"
    with _threads(torch, req, device):
        return _run(torch, req, device, tensors, repeat, window, engine)


@contextmanager
def _threads(torch: Any, req: Request, device: str) -> Iterator[None]:
    """One cpu thread for a tiny layer (torch's pool costs more than it saves there), restored after."""
    saved = torch.get_num_threads() if device == "cpu" and _tiny(req) else 1
    if saved == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@contextmanager
def _values_skipped(torch: Any, skip: bool) -> Iterator[None]:
    """The fast engine reads shapes only: ``torch.nn.init`` stands still while it builds (its random
    fill is most of a small layer's build time); the constructor's own checks all run."""
    if not skip:
        yield
        return
    init = torch.nn.init
    saved = {n: getattr(init, n) for n in dir(init) if n.endswith("_") and not n.startswith("_")}
    for name in saved:
        setattr(init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(init, name, fn)


@contextmanager
def _native_kernels(torch: Any, window: bool) -> Iterator[None]:
    """The fast engine's forward without oneDNN: it builds a kernel per new shape (5 ms for each
    layer of a check file, measured with torch 2.13), while ATen's own kernel runs at once and
    makes the same checks. Restored after."""
    enabled = torch._C._get_mkldnn_enabled()
    if not (window and enabled):
        yield
        return
    torch._C._set_mkldnn_enabled(False)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(True)


def _run(torch: Any, req: Request, device: str, tensors: dict[str, Any], repeat: int, window: bool,
         engine: str) -> RunResult:
    if req.packed and device == "meta":
        # torch cannot unsort a packed batch on meta, and its per-step meta kernels grow
        # with the length: the model answers (measured with torch 2.13).
        engine = "shape model (packed input on meta: torch cannot unpack it there)"
    result = RunResult(device=device, engine=engine)
    layer_dtype = _dtype(req.dtype)
    cls = getattr(torch.nn, req.spec.class_name)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _values_skipped(torch, window and device == "cpu"):
                module = cls(**req.spec.ctor_kwargs(), device=device, dtype=layer_dtype)
        except Exception as exc:  # torch's constructor errors are the diagnosis
            result.exception, result.exception_stage = exc, "construct"
            result.warnings = [str(w.message) for w in caught]
            return result
    result.build_ms = (time.perf_counter() - t0) * 1000
    result.warnings = [str(w.message) for w in caught]
    module.eval()
    result.parameters = [(n, tuple(p.shape)) for n, p in module.named_parameters()]

    if req.packed and device == "meta":
        result.ran = False
        return result
    x_shape, stretch_axis = _window(req, device, window) if "input" not in tensors else (req.input.shape, None)

    def make(name: str, arg: TensorArg | None) -> Any:
        if name in tensors:
            return tensors[name]
        if arg is None:
            return None
        return _tensor(arg.shape, _dtype(arg.dtype or req.dtype), arg.device or device)

    x = tensors.get("input")
    if x is None:
        x = _tensor(x_shape, _dtype(req.input.dtype or req.dtype), req.input.device or device)
    h, c = make("h_0", req.hidden), make("c_0", req.cell)
    hx: Any = None
    if req.spec.is_lstm and h is not None and c is not None:
        hx = (h, c)
    elif h is not None:
        hx = h  # an LSTM given only h gets exactly that, as it would in user code
    result.tensors["input"] = TorchTensor(req.input.shape, _dtype_name(x.dtype), str(x.device))
    for name, t in (("h_0", h), ("c_0", c)):
        if t is not None:
            result.tensors[name] = TorchTensor(tuple(t.shape), _dtype_name(t.dtype), str(t.device))

    with warnings.catch_warnings(record=True) as caught, torch.no_grad(), _native_kernels(torch, window):
        warnings.simplefilter("always")
        stage = "pack"
        try:
            feed = _pack(req, x) if req.packed else x
            if req.packed:
                result.tensors["input_packed"] = TorchTensor(tuple(feed.data.shape),
                                                             _dtype_name(feed.data.dtype), str(feed.data.device))
            stage = "forward"
            call = (lambda: module(feed)) if hx is None else (lambda: module(feed, hx))
            _sync(device)
            t0 = time.perf_counter()
            out = call()
            _sync(device)
            result.forward_ms = (time.perf_counter() - t0) * 1000
            for _ in range(repeat):
                t0 = time.perf_counter()
                call()
                _sync(device)
                result.repeat_ms.append((time.perf_counter() - t0) * 1000)
        except Exception as exc:
            result.exception, result.exception_stage = exc, stage
            out = None
        result.warnings += [str(w.message) for w in caught]
    if out is not None:
        _record_outputs(result, req, out, stretch_axis)
    return result


def _pack(req: Request, x: Any) -> Any:
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    lengths = torch.as_tensor(req.lengths, dtype=torch.int64, device="cpu")
    return pack_padded_sequence(x, lengths, batch_first=req.spec.batch_first,
                                enforce_sorted=req.enforce_sorted)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def _record_outputs(result: RunResult, req: Request, out: Any, stretch_axis: int | None) -> None:
    def rec(name: str, t: Any, stretch: bool = False) -> None:
        shape = tuple(t.shape)
        if stretch and stretch_axis is not None:
            shape = shape[:stretch_axis] + (req.input.shape[stretch_axis],) + shape[stretch_axis + 1:]
        result.tensors[name] = TorchTensor(shape, _dtype_name(t.dtype), str(t.device))

    if req.spec.is_cell:
        if req.spec.is_lstm:
            rec("h_1", out[0])
            rec("c_1", out[1])
        else:
            rec("h_1", out)
        return
    output, state = out
    if req.packed:
        from torch.nn.utils.rnn import pad_packed_sequence

        rec("output_packed", output.data)
        output = pad_packed_sequence(output, batch_first=req.spec.batch_first)[0]
    rec("output", output, stretch=True)
    if req.spec.is_lstm:
        rec("h_n", state[0])
        rec("c_n", state[1])
    else:
        rec("h_n", state)
