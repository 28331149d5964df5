"""Loading the user's tensors from files, safely.

Formats: ``.pt``/``.pth`` (``torch.load(..., weights_only=True)``: a tensor, a dict
or a list/tuple of tensors), ``.npy``, ``.npz`` (``allow_pickle=False``) and
``.safetensors`` (read here from its documented layout: an 8-byte header length,
a JSON header, raw little-endian data; no extra dependency). ``PATH:KEY`` picks
an entry by name or index.

Nothing here runs code from a file: pickles that need code are refused, with the
reason. Every failure is a :class:`TensorFileError` (a usage error, exit 2) that
says what was wrong and what the file does hold.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any

#: A header bigger than this is not a safetensors header (the format caps it at 100 MB).
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
                       "BOOL": "bool"}
SUFFIXES = (".pt", ".pth", ".npy", ".npz", ".safetensors")


class TensorFileError(ValueError):
    """A tensor file that cannot be used: missing, unreadable, hostile, or without that key."""


@dataclass
class Loaded:
    """One tensor from a file, and where it came from."""

    tensor: Any  # torch.Tensor
    origin: str  # e.g. "x.pt:input"
    saved_device: str  # where the file says it lived ("cpu" for numpy/safetensors)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)

    @property
    def dtype(self) -> str:
        return str(self.tensor.dtype).replace("torch.", "")

    @property
    def device(self) -> str:
        return str(self.tensor.device)


def split_source(text: str) -> tuple[str, str | None]:
    """``data.pt:input`` -> ``("data.pt", "input")``; a path that exists as written has no key."""
    if os.path.exists(text) or ":" not in text:
        return text, None
    path, key = text.rsplit(":", 1)
    return path, (key or None)


def load(text: str, *, device: str, keep_device: bool = False, what: str = "--input") -> Loaded:
    """Load ``PATH[:KEY]`` as a torch tensor placed on ``device`` (or where it was saved)."""
    path, key = split_source(text)
    if not os.path.exists(path):
        raise TensorFileError(f"{what} {path!r}: no such file.")
    if os.path.isdir(path):
        raise TensorFileError(f"{what} {path!r} is a folder, not a tensor file.")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise TensorFileError(
            f"{what} {path!r}: unknown file type {suffix or '(none)'}; rnnshape reads "
            f"{', '.join(SUFFIXES)}.")
    try:
        readers = {".pt": _load_torch, ".pth": _load_torch, ".npy": _load_npy, ".npz": _load_npz,
                   ".safetensors": _load_safetensors}
        tensor, saved, origin = readers[suffix](path, key, device, keep_device, what)
    except TensorFileError:
        raise
    except MemoryError:
        raise TensorFileError(f"{what} {path!r} does not fit in memory.") from None
    except Exception as exc:  # corrupt or truncated files raise all sorts of things
        raise TensorFileError(
            f"{what} {path!r} could not be read ({type(exc).__name__}: {_first_line(exc)}); the "
            f"file looks corrupt or truncated.") from None
    return Loaded(tensor, origin, saved)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _pick(container: Any, key: str | None, path: str, what: str) -> tuple[Any, str]:
    """Choose one tensor from a tensor, dict or sequence by KEY (name or index)."""
    import torch

    if _numbers(container):  # a plain list of numbers (lengths saved as a Python list)
        container = torch.tensor(list(container))
    if isinstance(container, torch.Tensor):
        if key is not None:
            raise TensorFileError(f"{what} {path!r} holds a single tensor; drop ':{key}'.")
        return container, path
    if isinstance(container, dict):
        entries = {str(k): _tensor_or_none(v) for k, v in container.items()}
        entries = {k: v for k, v in entries.items() if v is not None}
        labels = list(entries)
    elif isinstance(container, (list, tuple)):
        entries = {str(i): _tensor_or_none(v) for i, v in enumerate(container)}
        entries = {k: v for k, v in entries.items() if v is not None}
        labels = list(entries)
    else:
        raise TensorFileError(
            f"{what} {path!r} holds a {type(container).__name__}, not a tensor, a dict or a list "
            f"of tensors.")
    if not entries:
        raise TensorFileError(f"{what} {path!r} holds no tensor.")
    if key is None:
        if len(entries) == 1:
            only = labels[0]
            return entries[only], f"{path}:{only}"
        raise TensorFileError(
            f"{what} {path!r} holds {len(entries)} tensors; pick one with PATH:KEY. "
            f"It has: {_listing(entries)}.")
    if key not in entries:
        raise TensorFileError(
            f"{what} {path!r} has no entry {key!r}. It has: {_listing(entries)}.")
    return entries[key], f"{path}:{key}"


def _numbers(value: Any) -> bool:
    """A non-empty flat list or tuple of plain Python numbers."""
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(v, (int, float)) for v in value))


def _tensor_or_none(value: Any) -> Any:
    """An entry as a tensor: a tensor, or a flat list of numbers (e.g. lengths); else None."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    return torch.tensor(list(value)) if _numbers(value) else None


def _listing(entries: dict[str, Any]) -> str:
    return ", ".join(f"{k} {tuple(v.shape)} {str(v.dtype).replace('torch.', '')}"
                     for k, v in entries.items())


def _load_torch(path: str, key: str | None, device: str, keep_device: bool, what: str):
    import pickle

    import torch

    try:
        # Load where it was saved when that device exists here, else on the chosen one.
        obj = torch.load(path, weights_only=True, map_location=None if keep_device else device)
    except pickle.UnpicklingError as exc:
        raise TensorFileError(
            f"{what} {path!r} refused: loading it would run code stored in the file "
            f"({_first_line(exc)}). rnnshape loads with torch.load(..., weights_only=True), "
            f"which only accepts tensors and plain containers, and it will not run a file's "
            f"code. Save the tensors alone: torch.save({{'input': x}}, 'x.pt').") from None
    except RuntimeError as exc:
        if keep_device and ("CUDA" in str(exc) or "device" in str(exc)):
            obj = torch.load(path, weights_only=True, map_location=device)
        else:
            raise
    tensor, origin = _pick(obj, key, path, what)
    return tensor, str(tensor.device), origin


def _numpy():
    try:
        import numpy
    except ImportError:  # torch does not require numpy
        raise TensorFileError("reading .npy/.npz files needs numpy: pip install numpy") from None
    return numpy


def _from_numpy(array: Any, device: str, path: str, what: str) -> Any:
    import torch

    np = _numpy()
    if array.dtype == object:
        raise TensorFileError(f"{what} {path!r} holds Python objects, not numbers.")
    if not isinstance(array, np.ndarray):
        raise TensorFileError(f"{what} {path!r} does not hold an array.")
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _no_pickle(read, label: str) -> Any:
    """Run a numpy read with allow_pickle=False; a pickled payload becomes a refusal."""
    try:
        return read()
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise TensorFileError(
                f"{label} refused: it holds pickled Python objects, and loading them could run "
                f"code from the file. rnnshape loads with allow_pickle=False.") from None
        raise


def _load_npy(path: str, key: str | None, device: str, keep_device: bool, what: str):
    np = _numpy()
    if key is not None:
        raise TensorFileError(f"{what} {path!r}: a .npy file holds one array; drop ':{key}'.")
    array = _no_pickle(lambda: np.load(path, allow_pickle=False), f"{what} {path!r}")
    return _from_numpy(array, device, path, what), "cpu", path


def _npz_listing(archive: Any) -> str:
    def describe(name: str) -> str:
        try:
            array = archive[name]
        except ValueError:
            return f"{name} (pickled objects)"
        return f"{name} {array.shape} {array.dtype}"

    return ", ".join(describe(n) for n in archive.files)


def _load_npz(path: str, key: str | None, device: str, keep_device: bool, what: str):
    np = _numpy()
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if not names:
            raise TensorFileError(f"{what} {path!r} holds no array.")
        if key is None and len(names) > 1:
            raise TensorFileError(f"{what} {path!r} holds {len(names)} arrays; pick one with PATH:KEY. "
                                  f"It has: {_npz_listing(archive)}.")
        name = key if key is not None else names[0]
        if name not in names and name.isdigit() and int(name) < len(names):
            name = names[int(name)]
        if name not in names:
            raise TensorFileError(f"{what} {path!r} has no array {key!r}. It has: {_npz_listing(archive)}.")
        array = _no_pickle(lambda: archive[name], f"{what} {path!r}:{name}")
    return _from_numpy(array, device, path, what), "cpu", f"{path}:{name}"


def _load_safetensors(path: str, key: str | None, device: str, keep_device: bool, what: str):
    import torch

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise TensorFileError(f"{what} {path!r} is too short to be a safetensors file.")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_SAFETENSORS_HEADER, size - 8):
            raise TensorFileError(f"{what} {path!r}: its header length ({n}) does not fit the "
                                  f"file; it is not a safetensors file or it is truncated.")
        header = json.loads(fh.read(n).decode("utf-8"))
        header.pop("__metadata__", None)
        if not header:
            raise TensorFileError(f"{what} {path!r} holds no tensor.")
        names = list(header)
        listing = ", ".join(f"{k} {tuple(v.get('shape', ()))} {v.get('dtype')}" for k, v in header.items())
        if key is None:
            if len(names) > 1:
                raise TensorFileError(f"{what} {path!r} holds {len(names)} tensors; pick one with "
                                      f"PATH:KEY. It has: {listing}.")
            key = names[0]
        if key not in header:
            raise TensorFileError(f"{what} {path!r} has no entry {key!r}. It has: {listing}.")
        entry = header[key]
        dtype = _SAFETENSORS_DTYPES.get(entry.get("dtype"))
        if dtype is None:
            raise TensorFileError(f"{what} {path!r}:{key} has dtype {entry.get('dtype')!r}, "
                                  f"which rnnshape does not read.")
        shape = tuple(int(s) for s in entry["shape"])
        start, end = (int(v) for v in entry["data_offsets"])
        base = 8 + n
        if not 0 <= start <= end or base + end > size:
            raise TensorFileError(f"{what} {path!r}:{key}: its data runs past the end of the file "
                                  f"(truncated).")
        fh.seek(base + start)
        data = bytearray(fh.read(end - start))
    torch_dtype = getattr(torch, dtype)
    count = 1
    for s in shape:
        count *= s
    if count * torch.empty((), dtype=torch_dtype).element_size() != len(data):
        raise TensorFileError(f"{what} {path!r}:{key}: {len(data)} bytes of data for shape {shape} "
                              f"{dtype}; the file is corrupt.")
    if count == 0:
        tensor = torch.empty(shape, dtype=torch_dtype)
    else:
        tensor = torch.frombuffer(data, dtype=torch_dtype).reshape(shape)
    return tensor.to(device), "cpu", f"{path}:{key}"
