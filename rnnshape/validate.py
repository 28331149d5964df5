"""One validation of user values for every front-end: the CLI, ``check``'s TOML files and the API.

Each check is written once and words its message in the caller's terms: a flag for the CLI
(``--dtype 'float128'``), a keyword for the API (``dtype='float128'``), a key for a TOML case
(``dtype = "float128"``). Every failure is a :class:`UsageError` (exit 2 on the command line;
the API re-raises it as ``ValueError``). Pure Python: torch is imported only to list devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from rnnshape.errors import UsageError
from rnnshape.model.vocab import FLOAT_DTYPES

#: Who gave the value: the command line, the Python API, or a check file.
Caller = Literal["cli", "api", "toml"]


def spelled(name: str, value: Any, caller: Caller) -> str:
    """``name`` given ``value``, as the caller wrote it: ``--seq-len -1``, ``seq_len=-1``, ``seq_len = -1``."""
    if caller == "cli":
        return f"--{name.replace('_', '-')} {value}"
    shown = f'"{value}"' if caller == "toml" and isinstance(value, str) else repr(value)
    return f"{name}={shown}" if caller == "api" else f"{name} = {shown}"


def dtype(value: Any, caller: Caller) -> str:
    """A layer dtype (float32, float64, float16, bfloat16)."""
    if value not in FLOAT_DTYPES:
        shown = repr(value) if caller == "cli" else value
        raise UsageError(f"{spelled('dtype', shown, caller)} is not a layer dtype: use {', '.join(FLOAT_DTYPES)}.")
    return value


def size(value: Any, name: str, caller: Caller) -> int | None:
    """A size of the dummy input (seq_len, batch): a whole number >= 0, or None (the default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{spelled(name, value, caller)}: give a whole number.")
    if value < 0:
        raise UsageError(f"{spelled(name, value, caller)}: sizes cannot be negative.")
    return value


def count(value: int, name: str, caller: Caller) -> int:
    """A count of repetitions: 0 or more."""
    if value < 0:
        raise UsageError(f"{spelled(name, value, caller)}: give a count of 0 or more.")
    return value


def shape(value: Sequence[Any], name: str, caller: Caller) -> tuple[int, ...]:
    """A tensor shape given as numbers (the API's tuples, a TOML list): whole numbers >= 0."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise UsageError(f"{spelled(name, value, caller)} is not a shape: give a sequence of sizes, e.g. (5, 3, 10).")
    for n in value:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise UsageError(f"{spelled(name, tuple(value), caller)} is not a shape: {n!r} is not a whole number.")
        if n < 0:
            raise UsageError(f"{spelled(name, tuple(value), caller)} is not a shape: {n} is negative "
                             "(sizes cannot be).")
    return tuple(int(n) for n in value)


def device(value: str, caller: Caller, *, none: bool = False) -> str:
    """A device name resolved on this machine (``auto`` -> cuda, else mps, else cpu); ``none``: allow "none"."""
    from rnnshape.engine.run import DeviceError, resolve_device

    if none and value == "none":
        return value
    try:
        return resolve_device(value)
    except DeviceError as exc:
        given = spelled("device", repr(value.strip()) if caller == "cli" else value, caller)
        if exc.available is None:
            raise UsageError(f"unknown device: {given}; use fast, auto, cpu, cuda, cuda:N, mps or meta "
                             f"(available here: {exc.here}).") from None
        raise UsageError(f"{given}: that device is not available on this machine; available: {exc.here}. "
                         f"Use {spelled('device', 'meta', caller)} to check shapes without any hardware.") from None


def states(spec: Any, *, hidden: bool, cell: bool, lengths: bool, caller: Caller) -> None:
    """The states and lengths a layer can take: c_0 for LSTMs only and with h_0, lengths for sequences."""
    if cell and not spec.is_lstm:
        raise UsageError(f"{_term('cell', caller)} is for LSTM and LSTMCell; {spec.class_name} has no cell state.")
    if cell and not hidden:
        raise UsageError(f"{_term('cell', caller)} needs {_term('hidden', caller)} too: the LSTM state is the pair "
                         "(h_0, c_0).")
    if lengths and spec.is_cell:
        raise UsageError(f"{_term('lengths', caller)} packs a sequence; {spec.class_name} takes one time step.")


def _term(name: str, caller: Caller) -> str:
    return {"cli": f"--{name.replace('_', '-')}", "api": f"{name}=", "toml": name}[caller]
