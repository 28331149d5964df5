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
from typing import Any

from rnnshape.records import record

#: A header bigger than this is not a safetensors header (the format caps it at 100 MB).
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
                       "BOOL": "bool"}
SUFFIXES = (".pt", ".pth", ".npy", ".npz", ".safetensors")


class TensorFileError(ValueError):
    """A tensor file that cannot be used: missing, unreadable, hostile, or without that key."""


@record
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


def load(text: str, *, device: str, keep_device: bool = False, what: str = "--input",
         max_bytes: int | None = None) -> Loaded:
    """Load ``PATH[:KEY]`` as a torch tensor placed on ``device`` (or where it was saved).

    Only regular files are opened (FIFOs and devices are refused at once). The chosen
    tensor's size is read from the file's header (npy header, npz member header,
    safetensors header, torch's zip records through ``mmap=True``) and checked against
    ``max_bytes`` (default: the memory free on this machine) before its bytes are read.
    """
    from rnnshape.textio import InputFileError, regular_file_size

    path, key = split_source(text)
    suffix = os.path.splitext(path)[1].lower()
    try:
        file_size = regular_file_size(path, what)
    except InputFileError as exc:
        raise TensorFileError(str(exc)) from None
    if suffix not in SUFFIXES:
        raise TensorFileError(
            f"{what} {path!r}: unknown file type {suffix or '(none)'}; rnnshape reads "
            f"{', '.join(SUFFIXES)}.")
    guard = _Guard(max_bytes if max_bytes is not None else _free_cpu_bytes(), max_bytes is not None)
    try:
        readers = {".pt": _load_torch, ".pth": _load_torch, ".npy": _load_npy, ".npz": _load_npz,
                   ".safetensors": _load_safetensors}
        tensor, saved, origin = readers[suffix](path, key, device, keep_device, what, guard, file_size)
    except TensorFileError:
        raise
    except MemoryError:
        raise TensorFileError(f"{what} {path!r} does not fit in memory.") from None
    except Exception as exc:  # corrupt or truncated files raise all sorts of things
        raise TensorFileError(
            f"{what} {path!r} could not be read ({type(exc).__name__}: {_first_line(exc)}); the "
            f"file looks corrupt or truncated.") from None
    return Loaded(tensor, origin, saved)


@record(frozen=True)
class _Guard:
    """The memory check every tensor passes before its bytes are read."""

    limit: int | None
    from_flag: bool  # --max-memory, rather than the memory free here

    def check(self, label: str, shape: tuple[int, ...], dtype: str, nbytes: int) -> None:
        """``label``: the flag and the file, e.g. ``--input 'x.npz':input``."""
        if self.limit is None or nbytes <= self.limit:
            return
        from rnnshape.engine.report import human_bytes

        bound = "--max-memory allows" if self.from_flag else "this machine has free"
        raise TensorFileError(
            f"{label}: its tensor {shape} {dtype} needs {human_bytes(nbytes)} to load, "
            f"more than the {human_bytes(self.limit)} {bound}; it was not loaded (its size comes from "
            f"the file's header). Give its shape instead: --input-shape/--hidden-shape/--cell-shape.")


def _free_cpu_bytes() -> int | None:
    from rnnshape.engine.run import free_memory_bytes

    return free_memory_bytes("cpu")


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


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


def _load_torch(path: str, key: str | None, device: str, keep_device: bool, what: str,
                guard: _Guard, file_size: int):
    import pickle

    import torch

    try:
        # Zip-format files are mapped, not read: sizes come from the records, bytes stay on disk.
        obj = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
    except RuntimeError as exc:
        if "mmap can only be used" not in str(exc):
            raise
        # The legacy format stores tensors raw in the pickle: they are no larger than the file.
        guard.check(f"{what} {path!r}", (), "(legacy .pt file)", file_size)
        try:
            obj = torch.load(path, weights_only=True, map_location="cpu")
        except pickle.UnpicklingError as err:
            raise _refusal(err, path, what) from None
    except pickle.UnpicklingError as exc:
        raise _refusal(exc, path, what) from None
    tensor, origin = _pick(obj, key, path, what)
    guard.check(f"{what} {origin}", tuple(tensor.shape), str(tensor.dtype).replace("torch.", ""),
                tensor.numel() * tensor.element_size())
    if not keep_device:
        return tensor.to(device), device, origin
    saved = _saved_device(path, tensor)
    return tensor.to(saved if _device_exists(saved) else device), saved, origin


def _refusal(exc: Exception, path: str, what: str) -> TensorFileError:
    """weights_only's refusal (a global it will not import) is "would run code"; the rest is corruption."""
    text = str(exc)
    if "Weights only load failed" in text or "Unsupported global" in text or "GLOBAL" in text:
        return TensorFileError(
            f"{what} {path!r} refused: loading it would run code stored in the file "
            f"({_first_line(exc)}). rnnshape loads with torch.load(..., weights_only=True), "
            f"which only accepts tensors and plain containers, and it will not run a file's "
            f"code. Save the tensors alone: torch.save({{'input': x}}, 'x.pt').")
    return TensorFileError(f"{what} {path!r} is not a torch file ({_first_line(exc)}); it looks "
                           f"corrupt or is another kind of file.")


def _saved_device(path: str, tensor: Any) -> str:
    """Where the file says the tensor lived: torch records it per storage (mapped here on cpu)."""
    import torch

    try:
        located: list[str] = []
        torch.load(path, weights_only=True, mmap=True,
                   map_location=lambda storage, loc: located.append(loc) or storage)
    except Exception:  # the file loaded once already; a second look is only for the note
        return str(tensor.device)
    return located[0] if located and len(set(located)) == 1 else str(tensor.device)


def _device_exists(device: str) -> bool:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available()
    return device in ("cpu", "meta") or (device == "mps" and torch.backends.mps.is_available())


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


def _npy_header(fh: Any) -> tuple[tuple[int, ...], Any]:
    """(shape, dtype) from a .npy header; the data is not read."""
    fmt = _numpy().lib.format
    version = fmt.read_magic(fh)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _fortran, dtype = read(fh)
    return tuple(int(d) for d in shape), dtype


def _check_npy(label: str, shape: tuple[int, ...], dtype: Any, guard: _Guard) -> None:
    if dtype.hasobject:
        raise TensorFileError(
            f"{label} refused: it holds pickled Python objects, and loading them could run "
            f"code from the file. rnnshape loads with allow_pickle=False.")
    guard.check(label, shape, str(dtype), _count(shape) * dtype.itemsize)


def _load_npy(path: str, key: str | None, device: str, keep_device: bool, what: str,
              guard: _Guard, file_size: int):
    np = _numpy()
    if key is not None:
        raise TensorFileError(f"{what} {path!r}: a .npy file holds one array; drop ':{key}'.")
    with open(path, "rb") as fh:
        shape, dtype = _npy_header(fh)
    _check_npy(f"{what} {path!r}", shape, dtype, guard)
    array = _no_pickle(lambda: np.load(path, allow_pickle=False), f"{what} {path!r}")
    return _from_numpy(array, device, path, what), "cpu", path


#: An .npz listing in a message names at most this many arrays.
_MAX_LISTED = 20
#: An .npz with more members than this is refused before any is read.
_MAX_MEMBERS = 10_000


def _npz_headers(path: str) -> dict[str, tuple[tuple[int, ...], Any] | None]:
    """Each member's (shape, dtype) from its own .npy header (a few bytes inflated, never the data)."""
    import zipfile

    found: dict[str, tuple[tuple[int, ...], Any] | None] = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise TensorFileError(f"{path!r} holds {len(infos)} members; rnnshape reads .npz files of at "
                                  f"most {_MAX_MEMBERS:,} arrays.")
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            try:
                with archive.open(info) as member:
                    found[name] = _npy_header(member)
            except Exception:  # a member that is not an .npy array: listed as such
                found[name] = None
    return found


def _npz_listing(headers: dict[str, tuple[tuple[int, ...], Any] | None]) -> str:
    def describe(name: str, header: tuple[tuple[int, ...], Any] | None) -> str:
        if header is None:
            return f"{name} (not an array)"
        shape, dtype = header
        return f"{name} (pickled objects)" if dtype.hasobject else f"{name} {shape} {dtype}"

    items = list(headers.items())
    listed = ", ".join(describe(n, h) for n, h in items[:_MAX_LISTED])
    return listed + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _load_npz(path: str, key: str | None, device: str, keep_device: bool, what: str,
              guard: _Guard, file_size: int):
    np = _numpy()
    headers = _npz_headers(path)
    names = list(headers)
    if not names:
        raise TensorFileError(f"{what} {path!r} holds no array.")
    if key is None and len(names) > 1:
        raise TensorFileError(f"{what} {path!r} holds {len(names)} arrays; pick one with PATH:KEY. "
                              f"It has: {_npz_listing(headers)}.")
    name = key if key is not None else names[0]
    if name not in names and name.isdigit() and int(name) < len(names):
        name = names[int(name)]
    if name not in names:
        raise TensorFileError(f"{what} {path!r} has no array {key!r}. It has: {_npz_listing(headers)}.")
    header = headers[name]
    if header is None:
        raise TensorFileError(f"{what} {path!r}:{name} is not an .npy array.")
    _check_npy(f"{what} {path!r}:{name}", *header, guard)
    with np.load(path, allow_pickle=False) as archive:
        array = _no_pickle(lambda: archive[name], f"{what} {path!r}:{name}")
    return _from_numpy(array, device, path, what), "cpu", f"{path}:{name}"


def _safetensors_entry(entry: Any, label: str) -> tuple[str, tuple[int, ...], int, int]:
    """(dtype, shape, start, end) of one header entry, every field checked for its JSON type."""
    if not isinstance(entry, dict):
        raise TensorFileError(f"{label}: its header entry is not an object; the file is corrupt.")
    dtype = _SAFETENSORS_DTYPES.get(entry.get("dtype"))  # type: ignore[arg-type]
    if dtype is None:
        raise TensorFileError(f"{label} has dtype {entry.get('dtype')!r}, which rnnshape does not read.")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not isinstance(shape, list) or not all(_is_size(s) for s in shape):
        raise TensorFileError(f"{label}: its shape {shape!r} is not a list of sizes; the file is corrupt.")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_size(v) for v in offsets):
        raise TensorFileError(f"{label}: its data_offsets {offsets!r} are not two byte offsets; the file "
                              f"is corrupt.")
    return dtype, tuple(shape), offsets[0], offsets[1]


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _describe_entry(name: str, entry: Any) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("shape"), list):
        return f"{name} {tuple(entry['shape'])} {entry.get('dtype')}"
    return f"{name} (unreadable entry)"


def _load_safetensors(path: str, key: str | None, device: str, keep_device: bool, what: str,
                      guard: _Guard, file_size: int):
    import torch

    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise TensorFileError(f"{what} {path!r} is too short to be a safetensors file.")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_SAFETENSORS_HEADER, file_size - 8):
            raise TensorFileError(f"{what} {path!r}: its header length ({n}) does not fit the "
                                  f"file; it is not a safetensors file or it is truncated.")
        header = json.loads(fh.read(n).decode("utf-8"))
        if not isinstance(header, dict):
            raise TensorFileError(f"{what} {path!r}: its header is not a JSON object; the file is corrupt.")
        header.pop("__metadata__", None)
        if not header:
            raise TensorFileError(f"{what} {path!r} holds no tensor.")
        names = list(header)
        listing = ", ".join(_describe_entry(k, v) for k, v in list(header.items())[:_MAX_LISTED])
        if key is None:
            if len(names) > 1:
                raise TensorFileError(f"{what} {path!r} holds {len(names)} tensors; pick one with "
                                      f"PATH:KEY. It has: {listing}.")
            key = names[0]
        if key not in header:
            raise TensorFileError(f"{what} {path!r} has no entry {key!r}. It has: {listing}.")
        label = f"{what} {path!r}:{key}"
        dtype, shape, start, end = _safetensors_entry(header[key], label)
        item = torch.empty((), dtype=getattr(torch, dtype)).element_size()
        if _count(shape) * item != end - start:
            raise TensorFileError(f"{label}: {end - start} bytes of data for shape {shape} {dtype}; the "
                                  f"file is corrupt.")
        if start > end or 8 + n + end > file_size:
            raise TensorFileError(f"{label}: its data runs past the end of the file (truncated).")
        guard.check(label, shape, dtype, end - start)
        fh.seek(8 + n + start)
        data = bytearray(fh.read(end - start))
    torch_dtype = getattr(torch, dtype)
    if not data:
        tensor = torch.empty(shape, dtype=torch_dtype)
    else:
        tensor = torch.frombuffer(data, dtype=torch_dtype).reshape(shape)
    return tensor.to(device), "cpu", f"{path}:{key}"
