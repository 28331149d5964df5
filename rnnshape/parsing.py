"""Reading the small languages of the command line: shapes, expectations, byte sizes.

Every function raises :class:`UsageError` with a sentence a person can act on.
"""

from __future__ import annotations

import re

from rnnshape.errors import UsageError

#: Larger than any tensor that can exist; refusing beyond it keeps arithmetic sane.
MAX_DIM = 2**62
#: Terminal colour and title codes in a pasted text (explain's and diagnose's pastes share it; here, so
#: that diagnose reads a paste without loading explain's catalog).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def parse_shape(text: str, what: str = "shape") -> tuple[int, ...]:
    """``5,3,10``, ``(5, 3, 10)``, ``[5,3,10]``, ``5x3x10`` or ``5 3 10`` -> ``(5, 3, 10)``.

    ``()`` is 0-D and ``(10,)`` 1-D (a trailing comma, as Python writes it). An empty
    slot (``5,,10``) or a stray separator is refused rather than guessed around.
    """
    inner = text.strip()
    if inner[:1] in "([" and inner[-1:] in ")]":
        inner = inner[1:-1].strip()
    if not inner:
        return ()
    if "," in inner:
        parts = [p.strip() for p in inner.split(",")]
        if parts[-1] == "" and len(parts) > 1:
            parts.pop()  # (10,) is a 1-tuple
    elif re.search(r"[x×]", inner):
        parts = [p.strip() for p in re.split(r"[x×]", inner)]
    else:
        parts = inner.split()
    shape = []
    for p in parts:
        if not re.fullmatch(r"\d+", p):
            if p == "":
                reason = "an empty slot"
            elif p.startswith("-") and p[1:].isdigit():
                reason = f"{p!r} is negative (sizes cannot be)"
            else:
                reason = f"{p!r} is not a whole number"
            raise UsageError(
                f"{what} {text!r} is not a shape: {reason}. Write the sizes separated by commas, "
                f"e.g. 5,3,10.")
        if len(p.lstrip("0")) > len(str(MAX_DIM)):  # before int(): Python refuses 4,300+ digits
            raise UsageError(f"{what}: a size of {len(p.lstrip('0')):,} digits is larger than any tensor "
                             f"dimension can be.")
        n = int(p)
        if n > MAX_DIM:
            raise UsageError(f"{what} {text!r}: {n} is larger than any tensor dimension can be.")
        shape.append(n)
    return tuple(shape)


def parse_expect(items: list[str], valid: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """``["output=5,3,40", "h_n=4,3,20"]`` -> ``{"output": (5, 3, 40), ...}``."""
    out: dict[str, tuple[int, ...]] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(
                f"--expect {item!r} needs the form NAME=SHAPE, e.g. --expect output=5,3,40. "
                f"Names for this layer: {', '.join(valid)}.")
        name, shape = item.split("=", 1)
        name = name.strip()
        if name not in valid:
            raise UsageError(
                f"--expect names an unknown tensor {name!r}; this layer has {', '.join(valid)}.")
        out[name] = parse_shape(shape, f"--expect {name}")
    return out


_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2,
          "MIB": 1024**2, "G": 1024**3, "GB": 1024**3, "GIB": 1024**3, "T": 1024**4,
          "TB": 1024**4, "TIB": 1024**4}


def parse_bytes(text: str) -> int:
    """``1GB``, ``512MB``, ``2.5G``, ``1000`` -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _UNITS:
        raise UsageError(f"--max-memory {text!r} is not a size; write e.g. 512MB or 1GB.")
    value = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if value > 2**63:  # no machine has more; float('1' * 400) is infinite
        raise UsageError(f"--max-memory {text[:40]!r}: larger than any memory; write e.g. 512MB or 1GB.")
    return int(value)
