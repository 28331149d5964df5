"""``rnnshape trace``: a real model's shape flow, module by module.

The user's model is imported (this runs their code, by design) and built afresh
on the target device: a class or a factory is called inside ``with
torch.device(...)``; a module *instance* found in the file is deep-copied and the
copy moved. The user's own objects are never moved or changed. Forward hooks on
every submodule record each call's inputs and outputs (recurrent layers with
their ``h``/``c`` states) while one forward runs under ``no_grad`` in eval mode.

Recurrent layers are described by the shape model (:func:`shapes.predict` on the
shapes the hooks saw and the layer's own settings), so every number says where
it comes from. When the forward fails, the calls still open are the path to the
failing module; the exception is explained by the catalog and, for a recurrent
layer, by the shape model on the module's real inputs.

Default device: the fast engine: a small model (parameters and buffers counted on meta)
is traced on the ``cpu``, which runs no meta kernels (their first call imports
torch._dynamo); a larger one on ``meta`` (no memory), falling back to ``cpu`` with a
note when the model cannot run there (``.item()``, data-dependent shapes) and the
failure is not one rnnshape can explain.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import sys
import traceback
from dataclasses import field, replace
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.engine.run import FAST
from rnnshape.errors import UsageError
from rnnshape.model.fixing import verify_by_model
from rnnshape.model.shapes import Axis, AxisRole, Request, TensorArg, predict
from rnnshape.model.spec import CLASS_TO_MODE, LayerSpec
from rnnshape.model.vocab import DTYPE_ALIASES, CallStatus, ValueKind
from rnnshape.records import record

#: Exception words that mean "the meta device cannot do this", not "your shapes are wrong".
_META_WORDS = ("meta", "Meta", "data-dependent", "item()")


class TraceError(UsageError):
    """The model cannot be found, imported or called as asked (a usage error, exit 2)."""


# --------------------------------------------------------------------------- plain data


@record(frozen=True)
class Value:
    """One input or output of a call, as the hooks saw it."""

    label: str
    kind: ValueKind
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    device: str | None = None
    detail: str = ""  # packed: batch_sizes; other: the type

    def text(self) -> str:
        if self.kind == "tensor":
            extra = "" if self.dtype in (None, "float32") else f" {self.dtype}"
            return f"{dx.fmt_shape(self.shape or ())}{extra}"
        if self.kind == "packed":
            return f"PackedSequence(data {dx.fmt_shape(self.shape or ())}, {self.detail})"
        if self.kind == "none":
            return "None"
        return self.detail

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind,
                "shape": None if self.shape is None else list(self.shape),
                "dtype": self.dtype, "device": self.device, "detail": self.detail}


@record
class Call:
    """One module call in the forward: its values, the settings behind them, its sub-calls."""

    path: str  # "encoder.lstm"; "" for the model itself
    class_name: str
    settings: str  # "LSTM(8, 16, batch_first=True)" or "Linear(in_features=32, ...)"
    inputs: list[Value] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    children: list[Call] = field(default_factory=list)
    status: CallStatus = "running"
    explained: dict[str, str] = field(default_factory=dict)  # recurrent: label -> dims and origin
    spec: LayerSpec | None = None
    dtype: str | None = None  # the layer's parameter dtype (recurrent layers)
    repeats: int = 1

    @property
    def name(self) -> str:
        return self.path or "(model)"

    def signature(self) -> tuple:
        return (self.path, self.status, tuple(self.inputs), tuple(self.outputs))

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "class": self.class_name, "settings": self.settings,
                "status": self.status, "repeats": self.repeats,
                "layer": None if self.spec is None else {**self.spec.settings(), "code": self.spec.to_code()},
                "inputs": [v.to_dict() for v in self.inputs],
                "outputs": [v.to_dict() for v in self.outputs],
                "explained": self.explained,
                "children": [c.to_dict() for c in self.children]}


@record
class TraceResult:
    target: str
    device: str
    inputs: list[Value]
    root: Call | None
    notes: list[str] = field(default_factory=list)
    engine: str = ""  # set by the fast engine (the default) when it chose the cpu
    stage: str | None = None  # None (it worked), "construct" or "forward"
    error_type: str | None = None
    error_message: str | None = None
    traceback_text: str | None = None
    failing_path: str | None = None
    context: list[str] = field(default_factory=list)  # what the hooks saw around the failure
    diagnoses: list[dx.Diagnosis] = field(default_factory=list)
    uncalled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stage is None and not any(d.is_error for d in self.diagnoses)

    @property
    def calls(self) -> list[Call]:
        return list(self.root.walk()) if self.root else []

    def find(self, path: str) -> Call | None:
        """The first call of the module at ``path`` ("" is the model)."""
        return next((c for c in self.calls if c.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "target": self.target, "device": self.device,
                "engine": self.engine or f"torch ({self.device})",
                "inputs": [v.to_dict() for v in self.inputs], "notes": self.notes,
                "stage": self.stage, "error": None if self.error_type is None else
                {"type": self.error_type, "message": self.error_message,
                 "module": self.failing_path, "context": self.context},
                "diagnoses": [d.to_dict() for d in self.diagnoses],
                "uncalled": self.uncalled,
                "tree": self.root.to_dict() if self.root else None}


# --------------------------------------------------------------------------- settings of a module


def spec_from_module(module: Any) -> LayerSpec | None:
    """A recurrent module's constructor arguments, read from its attributes (None: not recurrent).

    Works for ``nn.RNN/LSTM/GRU`` and the cells, and for subclasses (their class name
    aside): the mode comes from ``module.mode`` or the nearest torch base class.
    """
    cls = _recurrent_base(type(module))
    if cls is None:
        return None
    mode = CLASS_TO_MODE[cls]
    given = {"input_size", "hidden_size"}
    values: dict[str, Any] = {"input_size": module.input_size, "hidden_size": module.hidden_size}
    if not mode.endswith("-cell"):
        for name in ("num_layers", "bias", "batch_first", "dropout", "bidirectional"):
            values[name] = getattr(module, name)
        proj = getattr(module, "proj_size", 0)
        if mode == "lstm":
            values["proj_size"] = proj
        if mode == "rnn":
            values["nonlinearity"] = getattr(module, "nonlinearity", "tanh")
    else:
        values["bias"] = getattr(module, "bias", True)
        if mode == "rnn-cell":
            values["nonlinearity"] = getattr(module, "nonlinearity", "tanh")
    defaults = LayerSpec(mode=mode, input_size=0, hidden_size=0)
    given |= {k for k, v in values.items() if getattr(defaults, k) != v}
    return LayerSpec(mode=mode, given=frozenset(given), **values)


def _recurrent_base(cls: type) -> str | None:
    for base in cls.__mro__:
        if base.__module__.startswith("torch.nn") and base.__name__ in CLASS_TO_MODE:
            return base.__name__
        if base.__module__.startswith("torch.nn") and base.__name__ == "RNNBase":
            return None
    return None


def module_settings(module: Any) -> str:
    spec = spec_from_module(module)
    if spec is not None:
        return spec.to_code(prefix="")
    try:
        extra = module.extra_repr()
    except Exception:  # a user's extra_repr may fail on meta tensors
        extra = ""
    return f"{type(module).__name__}({extra})"


# --------------------------------------------------------------------------- importing the model


def parse_target(target: str) -> tuple[str, str]:
    """``models/net.py:Net`` or ``pkg.mod:factory`` -> (module or path, attribute)."""
    if ":" not in target.replace(":\\", "").replace(":/", "") or target.endswith(":"):
        raise TraceError(f"{target!r}: name the model as path/to/model.py:ClassName or "
                         "package.module:factory")
    where, attr = target.rsplit(":", 1)
    if not attr.replace(".", "").replace("_", "a").isalnum():
        raise TraceError(f"{target!r}: {attr!r} is not a Python name")
    return where, attr


def load_target(target: str) -> Any:
    """Import the file or module and return the named attribute (class, factory or instance)."""
    where, attr = parse_target(target)
    is_file = where.endswith(".py") or os.sep in where or "/" in where
    try:
        if is_file:
            path = os.path.abspath(where)
            if not os.path.exists(path):
                raise TraceError(f"{where!r}: no such file")
            folder = os.path.dirname(path)
            if folder not in sys.path:  # the model's own sibling imports
                sys.path.insert(0, folder)
            name = "_rnnshape_user_" + os.path.splitext(os.path.basename(path))[0]
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise TraceError(f"{where!r} cannot be imported as Python")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(where)
    except TraceError:
        raise
    except BaseException as exc:  # the user's code: SyntaxError, ImportError, SystemExit...
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise TraceError(f"importing {where!r} failed: {type(exc).__name__}: {exc}\n"
                         f"{_user_frames(exc)}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(module) if not n.startswith("_")]
            raise TraceError(f"{where!r} has no {attr!r}; it defines: {', '.join(names[:30])}")
        obj = getattr(obj, part)
    return obj


def _user_frames(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f'  File "{f.filename}", line {f.lineno}: {f.line}' for f in frames
             if "importlib" not in f.filename and "rnnshape" not in f.filename]
    return "\n".join(lines[-3:])


def parse_init_args(text: str | None) -> tuple[list[Any], dict[str, Any]]:
    """``--init-args``: a JSON object (keyword arguments) or array (positional)."""
    if text is None or not text.strip():
        return [], {}
    try:
        value = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer over Python's 4,300 digits
        where = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
        raise TraceError(f"--init-args is not JSON ({where}): write e.g. "
                         "'{\"vocab_size\": 100, \"hidden\": 32}' or '[100, 32]'") from None
    if isinstance(value, dict):
        return [], value
    if isinstance(value, list):
        return value, {}
    raise TraceError("--init-args must be a JSON object (keyword arguments) or array (positional "
                     f"arguments), not {type(value).__name__}")


def dtype_name(text: str) -> str:
    key = text.strip().lower().replace("torch.", "")
    if key not in DTYPE_ALIASES:
        raise TraceError(f"--input-dtype {text!r} is not a dtype: use one of "
                         f"{', '.join(sorted(set(DTYPE_ALIASES)))}")
    return DTYPE_ALIASES[key]


# --------------------------------------------------------------------------- tracing


def trace_model(target: str | Any, input_shapes: list[tuple[int, ...]], *,
                input_dtypes: list[str] | None = None, input_values: list[Any] | None = None,
                init_args: tuple[list[Any], dict[str, Any]] | None = None,
                device: str | None = None, input_files: list[str] | None = None) -> TraceResult:
    """Build the model on ``device`` and trace one forward.

    ``target``: ``"path.py:Name"``/``"pkg.mod:factory"``, or the class, factory or module
    itself. Inputs are passed positionally: one tensor per ``input_shapes`` entry (dtype
    from ``input_dtypes``: one for all, or one each), then one per ``input_values`` entry
    (a literal list, e.g. lengths, made with ``torch.tensor`` on the CPU). ``input_files``
    (``PATH[:KEY]``, read by :mod:`rnnshape.engine.tensors`) are real inputs, passed after the
    ``input_shapes`` ones and before the values. ``device=None``
    (or ``"fast"``): cpu for a small model, else meta, falling back to cpu when the model
    cannot run there.
    """
    obj = load_target(target) if isinstance(target, str) else target
    label = target if isinstance(target, str) else getattr(target, "__qualname__", type(target).__name__)
    dtypes = [dtype_name(d) for d in (input_dtypes or ["float32"])]
    if len(dtypes) not in (1, len(input_shapes)):
        raise TraceError(f"{len(dtypes)} --input-dtype for {len(input_shapes)} --input-shape: give one "
                         "dtype for all inputs, or one per input, in order")
    files = load_input_files(input_files or [])
    if not input_shapes and not input_values and not files:
        raise TraceError("give the model's input: --input-shape 32,50 or --input x.pt (repeat it for several "
                         "inputs)")
    args, kwargs = init_args or ([], {})
    if files:  # real tensors travel as values (below), shapes first: the order of the call
        input_values = [*files, *(input_values or [])]
    if device is not None and device.strip().lower() == FAST:
        device = None
    if device is not None:
        from rnnshape.engine.run import DeviceError, resolve_device

        try:
            resolved = resolve_device(device)
        except DeviceError as exc:
            raise TraceError(str(exc)) from None
        return _trace_on(obj, label, resolved, input_shapes, dtypes, input_values or [], args, kwargs)
    if _small_model(obj, args, kwargs, input_shapes):  # the fast engine: cpu, no meta kernels
        result = _trace_on(obj, label, "cpu", input_shapes, dtypes, input_values or [], args, kwargs)
        result.engine = "torch (cpu), the fast engine for a small model"
        return result
    result = _trace_on(obj, label, "meta", input_shapes, dtypes, input_values or [], args, kwargs)
    if result.stage is not None and _meta_limitation(result):
        why = f"{result.error_type}: {(result.error_message or '').splitlines()[0][:200]}"
        refused = _cpu_refusal(obj, input_shapes, dtypes, args, kwargs)
        if refused is not None:
            result.notes.insert(0, f"this model does not run on the meta device ({why}); it was not "
                                   f"retried on cpu: {refused}")
            return result
        retry = _trace_on(obj, label, "cpu", input_shapes, dtypes, input_values or [], args, kwargs)
        retry.notes.insert(0, f"this model does not run on the meta device ({why}); traced on cpu "
                              "instead (real memory and compute).")
        return retry
    return result


def _cpu_refusal(obj: Any, shapes: list[tuple[int, ...]], dtypes: list[str], args: list[Any],
                 kwargs: dict[str, Any]) -> str | None:
    """Why the cpu retry would not fit in memory (the memory guard of inspect), or None.

    Counts what the retry allocates before the forward: the inputs, and the parameters
    and buffers of the model as built on meta (its activations are not known here).
    """
    import torch

    from rnnshape.engine.report import human_bytes
    from rnnshape.engine.run import free_memory_bytes
    from rnnshape.model.memory import numel

    need = sum(numel(s) * torch.empty((), dtype=getattr(torch, dtypes[i if len(dtypes) > 1 else 0])).element_size()
               for i, s in enumerate(shapes))
    need += _model_bytes(obj, args, kwargs) or 0  # a failed meta build: the inputs alone are counted
    free = free_memory_bytes("cpu")
    if free is None or need <= free:
        return None
    return (f"its inputs and parameters alone need {human_bytes(need)}, more than the "
            f"{human_bytes(free)} free here; nothing was allocated on cpu.")


def load_input_files(paths: list[str]) -> list[Any]:
    """``--input PATH[:KEY]``: the user's own tensors, read on the CPU (``weights_only=True``)."""
    from rnnshape.engine.tensors import TensorFileError, load

    try:
        return [load(p, device="cpu", what="--input").tensor for p in paths]
    except TensorFileError as exc:
        raise TraceError(str(exc)) from None


def _place(tensor: Any, device: str) -> Any:
    """A file's tensor on the trace device; on meta only its shape and dtype travel."""
    import torch

    if device == "meta":
        return torch.empty_like(tensor, device="meta")
    return tensor.to(device)


def _small_model(obj: Any, args: list[Any], kwargs: dict[str, Any], shapes: list[tuple[int, ...]]) -> bool:
    """Small enough for the fast engine's cpu run: parameters and buffers (counted on meta) and inputs."""
    from rnnshape.engine.run import FAST_CPU_BYTES
    from rnnshape.model.memory import numel

    if any(numel(s) > FAST_CPU_BYTES // 8 for s in shapes):
        return False
    model_bytes = _model_bytes(obj, args, kwargs)
    return model_bytes is not None and model_bytes <= FAST_CPU_BYTES


def _model_bytes(obj: Any, args: list[Any], kwargs: dict[str, Any]) -> int | None:
    """Bytes of the model's parameters and buffers, counted on meta; None when it cannot be built there.

    An instance is counted as it is. A class or factory is built once on meta with
    ``torch.nn.init``'s functions standing still: on meta they have no values to fill, and their
    meta kernels import torch._dynamo (over a second). A failure (a model's sys.exit too) is left
    to the trace, which reports it with the line.
    """
    import torch

    if isinstance(obj, torch.nn.Module):
        model = obj
    else:
        init = torch.nn.init
        saved = {n: getattr(init, n) for n in dir(init) if n.endswith("_") and not n.startswith("_")}
        try:
            for name in saved:
                setattr(init, name, lambda tensor, *a, **k: tensor)
            model = _build(obj, "meta", args, kwargs)
        except (Exception, SystemExit):
            return None
        finally:
            for name, fn in saved.items():
                setattr(init, name, fn)
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def _meta_limitation(result: TraceResult) -> bool:
    """A failure on meta worth retrying on cpu: the device's, not an error rnnshape can name."""
    if result.error_type == "SystemExit":  # the model chose to exit: it would on cpu too
        return False
    message = result.error_message or ""
    if any(w in message for w in _META_WORDS) or result.error_type == "NotImplementedError":
        return True
    return all(d.code == "torch-error" for d in result.diagnoses)


def _make_input(torch: Any, shape: tuple[int, ...], dtype: str, device: str, gen: Any) -> Any:
    t = getattr(torch, dtype)
    if device == "meta":
        return torch.empty(shape, dtype=t, device=device)
    if t.is_floating_point:
        return torch.randn(shape, generator=gen).to(device=device, dtype=t)
    return torch.zeros(shape, dtype=t, device=device)


def _build(obj: Any, device: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    import torch

    if isinstance(obj, torch.nn.Module):
        return copy.deepcopy(obj).to(device)  # the user's instance stays where it is
    if not callable(obj):
        raise TraceError(f"{obj!r} is neither an nn.Module class, a factory nor a module")
    with torch.device(device):
        model = obj(*args, **kwargs)
    if not isinstance(model, torch.nn.Module):
        raise TraceError(f"calling {getattr(obj, '__qualname__', obj)!r} returned "
                         f"{type(model).__name__}, not an nn.Module")
    return model


def _trace_on(obj: Any, label: str, device: str, shapes: list[tuple[int, ...]], dtypes: list[str],
              values: list[Any], args: list[Any], kwargs: dict[str, Any]) -> TraceResult:
    import torch

    gen = torch.Generator().manual_seed(0)
    inputs = [_make_input(torch, s, dtypes[i if len(dtypes) > 1 else 0], device, gen)
              for i, s in enumerate(shapes)]
    inputs += [_place(v, device) if isinstance(v, torch.Tensor) else torch.tensor(v)  # literal values
               for v in values]  # (lengths) stay on the CPU
    given = [_describe(f"input {i}", x) for i, x in enumerate(inputs)]
    result = TraceResult(label, device, [v for d in given for v in d], None)
    try:
        model = _build(obj, device, args, kwargs)
    except TraceError:
        raise
    except (Exception, SystemExit) as exc:  # sys.exit in the model is its failure, not rnnshape's exit
        _failed(result, exc, "construct", None)
        return result
    model.eval()
    names = {id(m): n for n, m in model.named_modules()}
    stack: list[Call] = []
    top: list[Call] = []

    def pre(module: Any, a: tuple, kw: dict) -> None:
        spec = spec_from_module(module)
        node = Call(names.get(id(module), "?"), type(module).__name__, module_settings(module),
                    _values(module, spec, a, kw, outputs=False), spec=spec)
        if spec is not None:
            node.dtype = next((_dt(p.dtype) for p in module.parameters(recurse=False)), None)
        (stack[-1].children if stack else top).append(node)
        stack.append(node)

    def post(module: Any, a: tuple, kw: dict, out: Any) -> None:
        if not stack:
            return
        node = stack.pop()
        node.outputs = _values(module, node.spec, (out,), {}, outputs=True)
        node.status = "ok"
        if node.spec is not None:
            _explain_recurrent(node, result)

    handles = []
    for _, m in model.named_modules():
        handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(m.register_forward_hook(post, with_kwargs=True))
    try:
        with torch.no_grad():
            model(*inputs)
    except (Exception, SystemExit) as exc:
        failing = stack[-1] if stack else None
        for node in stack:
            node.status = "inside"
        if failing is not None:
            failing.status = "failed"
        result.root = top[0] if top else None
        _failed(result, exc, "forward", failing)
    else:
        result.root = top[0] if top else None
    finally:
        for h in handles:
            h.remove()
    if result.root is not None:
        _collapse(result.root)
        called = {c.path for c in result.root.walk()}
        result.uncalled = [n for n in names.values() if n and n not in called
                           and (n.rsplit(".", 1)[0] if "." in n else "") in called]
    return result


# --------------------------------------------------------------------------- values


def _describe(label: str, value: Any) -> list[Value]:
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(value, PackedSequence):
        sizes = value.batch_sizes.tolist() if value.batch_sizes.device.type != "meta" else []
        shown = sizes if len(sizes) <= 8 else [*sizes[:3], "…", *sizes[-2:]]
        return [Value(label, "packed", tuple(value.data.shape), _dt(value.data.dtype),
                      str(value.data.device), f"batch_sizes {shown}".replace("'", ""))]
    if isinstance(value, torch.Tensor):
        return [Value(label, "tensor", tuple(value.shape), _dt(value.dtype), str(value.device))]
    if value is None:
        return [Value(label, "none")]
    if isinstance(value, (tuple, list)):
        out: list[Value] = []
        for i, v in enumerate(value):
            out += _describe(f"{label}[{i}]", v)
        return out
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _describe(f"{label}[{k!r}]", v)
        return out
    text = repr(value)
    return [Value(label, "other", detail=text if len(text) <= 40 else type(value).__name__)]


def _dt(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def _values(module: Any, spec: LayerSpec | None, args: tuple, kwargs: dict, *, outputs: bool) -> list[Value]:
    """Label the values: input/h_0/c_0 and output/h_n/c_n for recurrent layers."""
    if spec is None:
        if outputs:
            return _describe("out", args[0])
        found = []
        for i, a in enumerate(args):
            found += _describe(f"arg {i}" if len(args) > 1 or kwargs else "in", a)
        for k, v in kwargs.items():
            found += _describe(k, v)
        return found
    if outputs:
        out = args[0]
        if spec.is_cell:
            names = ("h_1", "c_1")
            return [v for n, x in zip(names, out if isinstance(out, tuple) else (out,), strict=False)
                    for v in _describe(n, x)]
        if isinstance(out, tuple) and len(out) == 2:
            output, state = out
            found = _describe("output", output)
            if isinstance(state, tuple) and len(state) == 2:
                return found + _describe("h_n", state[0]) + _describe("c_n", state[1])
            return found + _describe("h_n", state)
        return _describe("out", out)
    call = list(args) + list(kwargs.values())
    found = _describe("input", call[0]) if call else []
    if len(call) > 1:
        state = call[1]
        if isinstance(state, tuple) and len(state) == 2 and spec.is_lstm:
            found += _describe("h_0", state[0]) + _describe("c_0", state[1])
        else:
            found += _describe("h_0", state)
    return found


def _known_axes(inputs: list[Value]) -> dict[int, Axis]:
    """Axis meanings the model's own inputs reveal, by size: token ids are (batch, seq_len).

    Only sizes that occur once count: a batch of 16 next to 16 time steps says nothing.
    """
    found: dict[int, Axis] = {}
    seen: list[int] = []
    for v in inputs:
        if v.kind != "tensor" or v.shape is None:
            continue
        seen += list(v.shape)
        if len(v.shape) == 2 and (v.dtype or "").startswith(("int", "uint")):
            found.setdefault(v.shape[0], Axis(AxisRole.BATCH, f"the first axis of the ids ({v.label})"))
            found.setdefault(v.shape[1], Axis(AxisRole.TIME, f"the second axis of the ids ({v.label})"))
    return {size: axis for size, axis in found.items() if seen.count(size) == 1}


def _axes_for(shape: tuple[int, ...], known: dict[int, Axis]) -> tuple[Axis | None, ...] | None:
    """The recurrent input's (batch, time) axes, matched by size to the model's inputs."""
    if len(shape) != 3 or not known or shape[0] == shape[1]:
        return None
    axes = (known.get(shape[0]), known.get(shape[1]), None)
    return axes if any(axes) else None


def _request(node: Call, known: dict[int, Axis] | None = None) -> Request | None:
    """The call as the shape model sees it; None when the values are not plain tensors.

    ``known``: axis meanings from the model's inputs (:func:`_known_axes`), by size.
    """
    spec = node.spec
    assert spec is not None
    by = {v.label: v for v in node.inputs}
    x = by.get("input")
    if x is None or x.kind not in ("tensor", "packed"):
        return None
    where = f"the input of {node.name}"
    lengths = None
    if x.kind == "packed":
        sizes = [int(s) for s in x.detail.removeprefix("batch_sizes [").rstrip("]").split(",")
                 if s.strip().isdigit()]
        if not sizes or "…" in x.detail:
            return None
        lengths = tuple(sum(1 for b in sizes if b > i) for i in range(sizes[0]))
        feat = (x.shape or (0, 0))[-1]
        shape = (sizes[0], len(sizes), feat) if spec.batch_first else (len(sizes), sizes[0], feat)
    else:
        shape = x.shape or ()
    states = []
    for label in ("h_0", "c_0"):
        v = by.get(label)
        if v is not None and v.kind not in ("tensor", "none"):
            return None
        states.append(TensorArg(v.shape or (), v.dtype, f"{label} of {node.name}")
                      if v is not None and v.kind == "tensor" else None)
    dtype = node.dtype or "float32"
    axes = _axes_for(tuple(shape), known) if known and lengths is None else None
    return Request(spec, TensorArg(tuple(shape), x.dtype, where, axes=axes), states[0], states[1], dtype,
                   lengths=lengths)


def _explain_recurrent(node: Call, result: TraceResult) -> None:
    req = _request(node, _known_axes(result.inputs))
    if req is None:
        return
    pred = predict(req)
    if pred.error is not None:
        return
    for d in pred.diagnoses:  # warnings: the call works but means something else
        if d.code == "batch-first-suspect":
            found = _verified(req, d, result.device)
            result.diagnoses.append(_named(found, node.path))
    for v in [*node.inputs, *node.outputs]:
        key = v.label + ("_packed" if v.kind == "packed" else "")
        info = pred.tensors.get(key)
        if info is None or v.kind not in ("tensor", "packed"):
            continue
        if info.shape != v.shape:
            result.diagnoses.append(dx.model_disagrees(
                detail=f"{node.name} {v.label}: model {info.shape}, torch {v.shape}."))
            continue
        text = info.describe()
        node.explained[v.label] = f"PackedSequence data {text}, {v.detail}" if v.kind == "packed" else text


def _failed(result: TraceResult, exc: BaseException, stage: str, failing: Call | None) -> None:
    from rnnshape.explain.explainer import explain_text

    result.stage = stage
    result.error_type = type(exc).__name__
    result.error_message = str(exc)
    result.traceback_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    result.failing_path = failing.name if failing is not None else None
    found: list[dx.Diagnosis] = []
    if failing is not None:
        result.context.append(f"failed in {failing.name}: {failing.settings}")
        for v in failing.inputs:
            result.context.append(f"  {v.label}: {v.text()}  (as the hooks saw it)")
        before = _previous_call(result.root, failing)
        if before is not None:
            outs = ", ".join(f"{v.label} {v.text()}" for v in before.outputs)
            result.context.append(f"the call before it: {before.name} ({before.settings}) gave {outs}")
        if failing.spec is not None:
            req = _request(failing, _known_axes(result.inputs))
            if req is not None and (pred := predict(req)).error is not None:
                found.append(_verified(req, pred.error, result.device))
    # the model's recurrent layers, as constructors: what ties a generic error (a Linear's matmul
    # after an LSTM) to them, as pasted code would for `explain`
    layers = "\n".join(c.spec.to_code() for c in (result.root.walk() if result.root else ())
                       if c.spec is not None)
    explained = explain_text(result.traceback_text, code=layers or None)
    codes = {d.code for d in found}
    for d in explained.diagnoses:
        if d.code not in codes:
            found.append(d)
            codes.add(d.code)
    if not found:
        found.append(dx.torch_error(message=str(exc), kind=type(exc).__name__))
    evidence = {"module": result.failing_path,
                "module_settings": failing.settings if failing else None,
                "seen_inputs": {v.label: v.text() for v in failing.inputs} if failing else None,
                "stage": stage}
    result.diagnoses.extend(replace(_named(d, result.failing_path), evidence={**d.evidence, **evidence})
                            for d in found)


def _verified(req: Request, d: dx.Diagnosis, device: str) -> dx.Diagnosis:
    """The layer-level fixes applied to the model, then re-run on the layer in torch."""
    from rnnshape.engine.report import verify_by_torch

    return verify_by_torch(req, verify_by_model(req, d), device, {})


def _named(d: dx.Diagnosis, path: str | None) -> dx.Diagnosis:
    """Fixes say ``rnn``/``self.fc``; the hooks know the module's real attribute."""
    if not path or not all(part.isidentifier() for part in path.split(".")):
        return d
    names = {"rnn": f"self.{path}"}
    if "." not in path:
        names["self.fc"] = f"self.{path}"
    return dx.renamed_in_fixes(d, names)


def _previous_call(root: Call | None, failing: Call) -> Call | None:
    """The last call that finished before ``failing`` started."""
    if root is None:
        return None
    done = [c for c in root.walk() if c.status == "ok" and c is not failing]
    order = list(root.walk())
    idx = order.index(failing)
    before = [c for c in done if order.index(c) < idx and failing not in list(c.walk())]
    return before[-1] if before else None


def _collapse(node: Call) -> None:
    """Consecutive identical calls of one module (a decoder loop) become one row, ``xN``."""
    merged: list[Call] = []
    for child in node.children:
        _collapse(child)
        if merged and merged[-1].signature() == child.signature() and not child.children:
            merged[-1].repeats += 1
        else:
            merged.append(child)
    node.children = merged
