"""``json.dumps(value, indent=2, default=repr)``, the text every ``--json`` prints, without importing ``json``.

Importing ``json`` compiles six regular expressions and loads its decoder, which no command's
output needs: about a fortieth of ``explain --json``'s whole run (bench/bench_startup.py). Strings
are escaped by the C function ``json.dumps`` itself uses (``_json.encode_basestring_ascii``),
numbers written as ``json`` writes them; anything this does not know how to write exactly as
``json`` would (a key that is not a string, a circular value) is handed to ``json.dumps``.
``tests/test_startup.py`` checks the two agree on generated values and on every command's output.
"""

from __future__ import annotations

from _json import encode_basestring_ascii as _string
from typing import Any

_INDENT = "  "


class _NotPlain(Exception):
    """A value only ``json`` itself should write (its own error included)."""


def dumps(value: Any) -> str:
    """``value`` as ``json.dumps(value, indent=2, default=repr)`` writes it."""
    out: list[str] = []
    try:
        _write(value, 0, out, set())
    except (_NotPlain, RecursionError):
        import json

        return json.dumps(value, indent=2, default=repr)
    return "".join(out)


def _write(value: Any, level: int, out: list[str], seen: set[int]) -> None:
    # the order of json.encoder._make_iterencode's tests: a str subclass is a string, bool is not an int
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (list, tuple)):
        _container(value, level, out, seen, "[]", lambda item, inner: _write(item, inner, out, seen))
    elif isinstance(value, dict):
        _container(list(value.items()), level, out, seen, "{}", lambda item, inner: _pair(item, inner, out, seen),
                   identity=id(value))
    else:
        _write(repr(value), level, out, seen)


def _container(items: Any, level: int, out: list[str], seen: set[int], brackets: str,
               write_item: Any, identity: int | None = None) -> None:
    if not items:
        out.append(brackets)
        return
    key = id(items) if identity is None else identity
    if key in seen:  # json raises "Circular reference detected": let it
        raise _NotPlain
    seen.add(key)
    inner = level + 1
    out.append(brackets[0] + "\n" + _INDENT * inner)
    for i, item in enumerate(items):
        if i:
            out.append(",\n" + _INDENT * inner)
        write_item(item, inner)
    out.append("\n" + _INDENT * level + brackets[1])
    seen.discard(key)


def _pair(item: tuple[Any, Any], level: int, out: list[str], seen: set[int]) -> None:
    key, value = item
    if not isinstance(key, str):  # json converts some keys and refuses others: it decides
        raise _NotPlain
    out.append(_string(key) + ": ")
    _write(value, level, out, seen)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)
