"""From command-line values to a Request: the layer, the tensors, the lengths.

This is the "parse" step of the CLI, kept out of the Typer functions so that they
only wire arguments to library calls (and so that ``check`` and the Python API can
reuse it). Loading tensor files is the only part that imports torch, and only when
a file is named.
"""

from __future__ import annotations

import os
from dataclasses import field
from typing import Any

from rnnshape.errors import UsageError
from rnnshape.model.shapes import INT_DTYPES, Axis, AxisRole, Request, TensorArg
from rnnshape.model.spec import MODES, LayerSpec, SpecError, looks_like_constructor, parse_constructor
from rnnshape.parsing import parse_shape
from rnnshape.records import record

#: Layer flags that only the sequence layers take (torch's constructors differ).
_SEQUENCE_ONLY = ("num_layers", "bidirectional", "batch_first", "dropout")


def build_spec(layer: str | None, mode: str | None, input_size: int | None,
               hidden_size: int | None, flags: dict[str, object]) -> LayerSpec:
    """The layer from the positional LAYER (mode or pasted constructor) and the flags."""
    given_flags = {k: v for k, v in flags.items() if v is not None}
    if layer is not None and looks_like_constructor(layer):
        extra = [k for k in ("mode", "input_size", "hidden_size") if
                 {"mode": mode, "input_size": input_size, "hidden_size": hidden_size}[k] is not None]
        if extra or given_flags:
            names = ", ".join("--" + k.replace("_", "-") for k in [*extra, *given_flags])
            raise UsageError(
                f"a pasted constructor already sets the layer; drop {names} or put the values "
                f"inside the constructor.")
        try:
            return parse_constructor(layer)
        except SpecError as exc:
            raise UsageError(str(exc)) from None
    if layer is not None and mode is not None and layer != mode:
        raise UsageError(f"the mode is given twice ({layer!r} and --mode {mode!r}); keep one.")
    chosen = (mode or layer or "rnn").lower().replace("_", "-")
    if chosen not in MODES:
        raise UsageError(
            f"{chosen!r} is not a layer: use one of {', '.join(MODES)}, or paste a constructor "
            f"such as \"nn.LSTM(10, 20, num_layers=2)\".")
    is_cell = chosen.endswith("-cell")
    for name in given_flags:
        if is_cell and name in (*_SEQUENCE_ONLY, "proj_size"):
            raise UsageError(f"--{name.replace('_', '-')} does not apply to {MODES[chosen]}: "
                             f"cells take one time step and have no {name}.")
        if name == "nonlinearity" and chosen not in ("rnn", "rnn-cell"):
            raise UsageError(f"--nonlinearity applies to rnn and rnn-cell only; "
                             f"{MODES[chosen]} has fixed gates.")
    return LayerSpec(
        mode=chosen,
        input_size=10 if input_size is None else input_size,
        hidden_size=20 if hidden_size is None else hidden_size,
        given=frozenset({"input_size", "hidden_size", *given_flags}),
        **given_flags,  # type: ignore[arg-type]
    )


def build_request(spec: LayerSpec, *, seq_len: int | None = None, batch: int | None = None,
                  unbatched: bool = False, input_shape: str | None = None,
                  hidden_shape: str | None = None, cell_shape: str | None = None,
                  dtype: str = "float32", user: UserTensors | None = None,
                  enforce_sorted: bool = True) -> Request:
    """The forward call: the input and states from shapes, dummy sizes or loaded tensors."""
    user = user or UserTensors()
    given = user.tensors
    if "input" in given:
        if input_shape is not None or seq_len is not None or batch is not None or unbatched:
            raise UsageError("--input gives the whole input; drop --input-shape, --seq-len, --batch "
                             "and --unbatched.")
        x = tensor_arg("input", given["input"], user.sources["input"])
    elif input_shape is not None:
        if seq_len is not None or batch is not None or unbatched:
            raise UsageError("--input-shape gives the whole input; drop --seq-len, --batch "
                             "and --unbatched.")
        x = TensorArg(parse_shape(input_shape, "--input-shape"), None,
                      f"--input-shape {input_shape}")
    else:
        shape, no_dtype, origin = _default_input(spec, seq_len, batch, unbatched)
        x = TensorArg(shape, no_dtype, origin, axes=_default_axes(spec, shape, seq_len, batch))
    hidden = _state("h_0", "--hidden", hidden_shape, user)
    cell = _state("c_0", "--cell", cell_shape, user)
    if cell is not None:
        if not spec.is_lstm:
            raise UsageError(f"--cell/--cell-shape is for LSTM and LSTMCell; {spec.class_name} has "
                             f"no cell state.")
        if hidden is None:
            raise UsageError("a cell state needs a hidden state too: the LSTM state is the "
                             "pair (h_0, c_0).")
    if user.lengths is not None and spec.is_cell:
        raise UsageError(f"--lengths packs a sequence; {spec.class_name} takes one time step.")
    return Request(spec, x, hidden, cell, dtype, lengths=user.lengths, enforce_sorted=enforce_sorted)


def _state(name: str, flag: str, shape: str | None, user: UserTensors) -> TensorArg | None:
    if name in user.tensors:
        if shape is not None:
            raise UsageError(f"{flag} and {flag}-shape both give {name}; keep one.")
        return tensor_arg(name, user.tensors[name], user.sources[name])
    if shape is None:
        return None
    return TensorArg(parse_shape(shape, f"{flag}-shape"), None, f"{flag}-shape {shape}")


def _default_input(spec: LayerSpec, seq_len: int | None, batch: int | None,
                   unbatched: bool) -> tuple[tuple[int, ...], None, str]:
    seq = 5 if seq_len is None else seq_len
    n = 1 if batch is None else batch
    feat = spec.input_size if isinstance(spec.input_size, int) else 1
    if unbatched and batch is not None:
        raise UsageError("--unbatched and --batch contradict each other; keep one.")
    if spec.is_cell:
        if seq_len is not None:
            raise UsageError("cells take one time step: --seq-len does not apply.")
        shape = (feat,) if unbatched else (n, feat)
        return shape, None, ("--unbatched and input_size" if unbatched else
                             f"--batch {n} and input_size {feat}")
    if unbatched:
        shape = (seq, feat)
    elif spec.batch_first:
        shape = (n, seq, feat)
    else:
        shape = (seq, n, feat)
    return shape, None, f"--seq-len {seq}, --batch {n} and input_size {feat}"


def _default_axes(spec: LayerSpec, shape: tuple[int, ...], seq_len: int | None,
                  batch: int | None) -> tuple[Axis | None, ...] | None:
    """The dummy input is laid out as the layer reads it: its axes' meaning is known."""
    if spec.is_cell or len(shape) != 3:
        return None
    b = Axis(AxisRole.BATCH, f"--batch {batch}" if batch is not None else "the default batch")
    t = Axis(AxisRole.TIME, f"--seq-len {seq_len}" if seq_len is not None else "the default seq_len")
    return (b, t, None) if spec.batch_first else (t, b, None)


@record
class UserTensors:
    """The user's own tensors (torch tensors, already on their device) and their files."""

    tensors: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    lengths: tuple[int, ...] | None = None


def looks_like_file(text: str) -> bool:
    from rnnshape.engine.tensors import SUFFIXES, split_source

    return os.path.splitext(split_source(text)[0])[1].lower() in SUFFIXES or os.path.exists(text)


def load_user_tensors(*, input: str | None, hidden: str | None, cell: str | None,
                      lengths: str | None, device: str, keep_device: bool,
                      max_bytes: int | None = None) -> UserTensors:
    """Load ``--input/--hidden/--cell`` files and ``--lengths`` (numbers or a file).

    ``max_bytes``: the most one tensor may take (``--max-memory``); by default the memory
    free here. Each file's header is read first, and nothing larger is loaded.
    """
    from rnnshape.engine.tensors import TensorFileError, load

    found = UserTensors()
    try:
        for flag, name, text in (("--input", "input", input), ("--hidden", "h_0", hidden),
                                 ("--cell", "c_0", cell)):
            if text is None:
                continue
            loaded = load(text, device=device, keep_device=keep_device, what=flag, max_bytes=max_bytes)
            found.tensors[name] = loaded.tensor
            note = loaded.origin
            if loaded.saved_device != loaded.device:
                note += f" (saved on {loaded.saved_device}, loaded on {loaded.device})"
            found.sources[name] = note
        if lengths is not None:
            found.lengths = _lengths(lengths, max_bytes)
    except TensorFileError as exc:
        raise UsageError(str(exc)) from None
    return found


#: More lengths than this (sequences in one batch) is refused before they become Python ints.
MAX_LENGTHS = 1_000_000


def _lengths(text: str, max_bytes: int | None = None) -> tuple[int, ...]:
    """``5,3,2``, or a file holding a 1-D integer tensor (read on the CPU, where torch wants it)."""
    if not looks_like_file(text):
        return parse_shape(text, "--lengths")
    from rnnshape.engine.tensors import TensorFileError, load

    loaded = load(text, device="cpu", what="--lengths", max_bytes=max_bytes)
    t = loaded.tensor
    if t.dim() != 1:
        raise TensorFileError(f"--lengths {text!r} holds a {t.dim()}-D tensor {tuple(t.shape)}; "
                              f"lengths are one number per sequence (1-D).")
    if t.dtype.is_floating_point or t.dtype.is_complex:
        if not bool((t == t.round()).all()):
            raise TensorFileError(f"--lengths {text!r} holds fractional numbers; lengths are whole.")
    if t.numel() > MAX_LENGTHS:
        raise TensorFileError(f"--lengths {text!r} holds {t.numel():,} lengths; rnnshape packs at most "
                              f"{MAX_LENGTHS:,} sequences.")
    return tuple(int(v) for v in t.tolist())


def tensor_arg(name: str, tensor: Any, origin: str) -> TensorArg:
    """Describe a loaded tensor for the shape model (shape, dtype, device, largest id)."""
    dtype = str(tensor.dtype).replace("torch.", "")
    largest = None
    if name == "input" and dtype in INT_DTYPES and tensor.numel() and tensor.device.type != "meta":
        largest = int(tensor.max())
    return TensorArg(tuple(tensor.shape), dtype, origin, str(tensor.device), largest)
