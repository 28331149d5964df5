"""The live hooks: what each recurrent layer was last called with, recorded cheaply.

Installing never imports torch. If torch is already imported the hooks go in at
once; otherwise a finder on ``sys.meta_path`` waits for ``torch.nn.modules.rnn``
(and ``torch.utils.data.dataloader``) to be imported and patches them then, so a
program that never imports torch pays nothing.

What is patched:

- one global forward pre-hook (``register_module_forward_pre_hook``) that records
  recurrent calls and returns at once for any other module. Global, not per module:
  modules built before ``install()`` are seen too, and no hook is stored on a module
  (``torch.save(model)`` pickles exactly what it did without rnnshape). It runs
  before ``forward``, so no rnnshape frame ever enters a traceback.
- with ``--warn`` only: a global forward hook (where h_n is born), the pre-hook also
  looks at ``nn.Linear`` inputs (a bidirectional ``h_n[-1]``, recognised by its
  storage address), and ``DataLoader.__init__`` notes each loader's batch size (the
  evidence that an input is batch-first).

The pre-hook records shapes, dtypes and devices (``torch.Size`` and friends, no
data, no reference to a tensor), keyed by ``id(module)``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from dataclasses import field
from typing import Any

from rnnshape.records import record

#: id(module) -> the last call's arguments: a :class:`Call`, or on the hot path a raw tuple
#: (module type, input, state shapes) that :func:`record_of` turns into one.
RECORDS: dict[int, Any] = {}


@record(slots=True)
class Seen:
    """One tensor argument as the hook saw it (no data).

    The hook keeps torch's own ``Size``, ``dtype`` and ``device`` objects and the
    packed batch's small ``batch_sizes`` tensor; words are made from them only when
    an error needs them (the hook runs on every call, the words almost never).
    """

    label: str
    shape: tuple[int, ...]
    raw_dtype: Any
    raw_device: Any
    raw_batch_sizes: Any = None  # a PackedSequence's batch_sizes (its .data is ``shape``)
    sorted_indices: bool = False  # packed with enforce_sorted=False

    @property
    def dtype(self) -> str:
        return _dt(self.raw_dtype)

    @property
    def device(self) -> str:
        return str(self.raw_device)

    @property
    def packed(self) -> bool:
        return self.raw_batch_sizes is not None

    @property
    def batch_sizes(self) -> tuple[int, ...] | None:
        sizes = self.raw_batch_sizes
        if sizes is None or isinstance(sizes, tuple):
            return sizes
        return tuple(int(b) for b in sizes.tolist()) if sizes.device.type == "cpu" else ()

    def text(self) -> str:
        shape = "(" + ", ".join(str(s) for s in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        if self.packed:
            sizes = list(self.batch_sizes or ())
            shown = sizes if len(sizes) <= 8 else [*sizes[:3], "...", *sizes[-2:]]
            return (f"PackedSequence(data {shape}, batch_sizes {shown}) {self.dtype} "
                    f"{self.device}").replace("'", "")
        return f"{shape} {self.dtype} {self.device}"


@record
class Call:
    """A recurrent module's last call: its class, and the tensors passed."""

    module_type: type
    values: list[Seen] = field(default_factory=list)
    state_kind: str = "none"  # none, tensor, tuple, other


@record
class Settings:
    warn: bool = False
    report: Callable[[Any], None] | None = None  # receives each --warn Diagnosis


SETTINGS = Settings()
_STATE = {"patched": False, "watching": False}
#: What uninstall() undoes: hook handles and patched __init__ methods.
_UNDO: list[Callable[[], None]] = []


# --------------------------------------------------------------------------- describing values


def _dt(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def _torch_types() -> tuple[type, type] | tuple[()]:
    """(Tensor, PackedSequence) once torch is loaded; cached: the hook asks on every call."""
    if not _TYPES:
        torch, utils = sys.modules.get("torch"), sys.modules.get("torch.nn.utils.rnn")
        if torch is None or utils is None:
            return ()
        _TYPES.extend((torch.Tensor, utils.PackedSequence))
    return _TYPES[0], _TYPES[1]


_TYPES: list[type] = []


def describe(label: str, value: Any) -> Seen | None:
    """A tensor or PackedSequence as shapes only; None for anything else."""
    types = _torch_types()
    if not types:
        return None
    tensor, packed = types
    if isinstance(value, tensor):
        return Seen(label, value.shape, value.dtype, value.device)
    if isinstance(value, packed):
        data = value.data
        return Seen(label, data.shape, data.dtype, data.device, value.batch_sizes, value.sorted_indices is not None)
    return None


def describe_call(module: Any, args: tuple, kwargs: dict) -> Call:
    """Label a recurrent call's arguments: input, then h_0 (and c_0 for an LSTM's tuple)."""
    given = list(args) + [kwargs[k] for k in ("input", "hx") if k in kwargs]
    call = Call(type(module))
    if not given:
        return call
    x = describe("input", given[0])
    if x is not None:
        call.values.append(x)
    state = given[1] if len(given) > 1 else None
    if state is None:
        return call
    if isinstance(state, tuple):
        call.state_kind = "tuple"
        for label, v in zip(("h_0", "c_0"), state, strict=False):
            seen = describe(label, v)
            if seen is not None:
                call.values.append(seen)
        return call
    seen = describe("h_0", state)
    call.state_kind = "tensor" if seen is not None else "other"
    if seen is not None:
        call.values.append(seen)
    return call


# --------------------------------------------------------------------------- the hooks


def _pre(module: Any, args: tuple) -> None:
    try:
        if isinstance(module, _RECURRENT):
            if SETTINGS.warn:
                from rnnshape.live import warnings

                call = describe_call(module, args, {})
                RECORDS[id(module)] = call
                warnings.before_forward(module, call)
            else:  # the hot path: torch's own objects in a tuple, words only if an error comes
                RECORDS[id(module)] = (type(module), describe("input", args[0]) if args else None,
                                       _raw_state(args))
        elif SETTINGS.warn and isinstance(module, _LINEAR):
            from rnnshape.live import warnings

            warnings.before_linear(module, args)
    except Exception:  # rnnshape must never break the program it watches
        RECORDS.pop(id(module), None)


def _raw_state(args: tuple) -> Any:
    """The state's shapes (never the tensors: a record must not keep data alive)."""
    if len(args) < 2 or args[1] is None:
        return None
    state = args[1]
    if isinstance(state, tuple):
        return tuple(describe(label, v) for label, v in zip(("h_0", "c_0"), state, strict=False))
    return describe("h_0", state) or _OTHER


_OTHER = object()  # a state that is neither a tensor nor a tuple


def record_of(module: Any) -> Call | None:
    """The hook's record of ``module``'s last call, as a :class:`Call`."""
    found = RECORDS.get(id(module))
    if found is None or isinstance(found, Call):
        return found
    module_type, x, state = found
    call = Call(module_type)
    if x is not None:
        call.values.append(x)
    if isinstance(state, tuple):
        call.state_kind = "tuple"
        call.values += [v for v in state if v is not None]
    elif state is _OTHER:
        call.state_kind = "other"
    elif state is not None:
        call.state_kind = "tensor"
        call.values.append(state)
    return call


def _post(module: Any, args: tuple, kwargs: dict, output: Any) -> None:
    if isinstance(module, _RECURRENT):
        from rnnshape.live import warnings

        try:
            warnings.after_forward(module, output)
        except Exception:  # rnnshape must never break the program it watches
            return


_RECURRENT: tuple[type, ...] = ()
_LINEAR: tuple[type, ...] = ()


def _patch_rnn(rnn_module: Any) -> None:
    global _RECURRENT, _LINEAR
    module_module = sys.modules["torch.nn.modules.module"]
    _RECURRENT = (rnn_module.RNNBase, rnn_module.RNNCellBase)
    _LINEAR = (sys.modules["torch.nn.modules.linear"].Linear,)
    handle = module_module.register_module_forward_pre_hook(_pre)  # global pre-hooks: positional arguments only
    _UNDO.append(handle.remove)
    if SETTINGS.warn:
        _UNDO.append(module_module.register_module_forward_hook(_post, with_kwargs=True).remove)


def _patch_dataloader(loader_module: Any) -> None:
    original = loader_module.DataLoader.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        from rnnshape.live import warnings

        warnings.note_loader_batch(getattr(self, "batch_size", None))

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    loader_module.DataLoader.__init__ = __init__
    _UNDO.append(lambda: setattr(loader_module.DataLoader, "__init__", original))


def _patches() -> dict[str, Callable[[Any], None]]:
    found = {"torch.nn.modules.rnn": _patch_rnn}
    if SETTINGS.warn:
        found["torch.utils.data.dataloader"] = _patch_dataloader
    return found


# --------------------------------------------------------------------------- installing


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a torch module right after it is executed, wherever the import comes from."""

    def __init__(self, patches: dict[str, Callable[[Any], None]]) -> None:
        self.patches = dict(patches)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.patches:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        loader, patch = spec.loader, self.patches.pop(name)
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        if not self.patches and self in sys.meta_path:
            sys.meta_path.remove(self)
        return spec


def install(*, warn: bool = False, report: Callable[[Any], None] | None = None) -> None:
    """Hook recurrent layers now if torch is loaded, else as soon as it is. Idempotent."""
    SETTINGS.warn = SETTINGS.warn or warn
    if report is not None:
        SETTINGS.report = report
    if _STATE["patched"] or _STATE["watching"]:
        return
    waiting = {}
    for name, patch in _patches().items():
        if name in sys.modules:
            patch(sys.modules[name])
        else:
            waiting[name] = patch
    if waiting:
        sys.meta_path.insert(0, _PatchOnImport(waiting))
        _STATE["watching"] = True
    _STATE["patched"] = not waiting


def uninstall() -> None:
    """Remove every hook and patch (the finder too, if torch never came)."""
    while _UNDO:
        _UNDO.pop()()
    for finder in [f for f in sys.meta_path if isinstance(f, _PatchOnImport)]:
        sys.meta_path.remove(finder)
    RECORDS.clear()
    SETTINGS.warn, SETTINGS.report = False, None
    _STATE["patched"] = _STATE["watching"] = False
