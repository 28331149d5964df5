"""``json.dumps(value, indent=2, default=repr)``, the text every ``--json`` prints, without importing ``json``.

Importing ``json`` compiles six regular expressions and loads its decoder, which no command's
output needs: about a fortieth of ``explain --json``'s whole run (bench/bench_startup.py). Strings
are escaped by the C function ``json.dumps`` itself uses (``_json.encode_basestring_ascii``),
numbers written as ``json`` writes them; anything this does not know how to write exactly as
``json`` would (a key that is not a string, a circular value) is handed to ``json.dumps``.
``tests/test_startup.py`` checks the two agree on generated values and on every command's output.

Written for speed (a 10,000-line ``diagnose --json`` prints 1.4 MB): each container is one join or
one ``%`` of its items' texts, never a write per piece; the exact built-in types are told apart by
``type(value) is ...`` before ``json``'s own ``isinstance`` order, which subclasses (an ``Enum`` on
``str``) still follow; a list of strings (a shape) is escaped in one C pass; a dict is written
through a template kept per key sequence and level (most dicts of an output share a few key
sequences), and a circular value is found by the recursion it never ends (``RecursionError``:
``json`` is handed the value and raises its own ``ValueError``).
"""

from __future__ import annotations

from _json import encode_basestring_ascii as _string
from typing import Any

#: Templates kept at most (distinct key sequences x levels); beyond, a dict's template is made each time.
_MAX_TEMPLATES = 1024


class _NotPlain(Exception):
    """A value only ``json`` itself should write (its own error included)."""


class _Newlines(dict[int, str]):
    """``"\\n"`` and the indentation of each level, made once per level."""

    def __missing__(self, level: int) -> str:
        text = self[level] = "\n" + "  " * level
        return text


class _Separators(dict[int, str]):
    """``","`` and the next item's line start at each level, made once per level."""

    def __missing__(self, level: int) -> str:
        text = self[level] = "," + _NEWLINE[level]
        return text


class _Templates(dict[tuple[tuple[Any, ...], int], str]):
    """(keys, level) -> the dict's text with ``%s`` for each value: ``{"line": %s, "code": %s}``, indented.

    Only keys that are exactly ``str`` are kept: a ``str`` subclass with its own equality could
    otherwise find the template of another text. Any other key raises ``_NotPlain`` (``json``
    converts some keys and refuses others: it decides)."""

    def __missing__(self, shape: tuple[tuple[Any, ...], int]) -> str:
        keys, level = shape
        if not all(isinstance(key, str) for key in keys):
            raise _NotPlain
        inner = level + 1
        items = _SEPARATOR[inner].join(_string(key).replace("%", "%%") + ": %s" for key in keys)
        text = "{" + _NEWLINE[inner] + items + _NEWLINE[level] + "}"
        if len(self) < _MAX_TEMPLATES and all(type(key) is str for key in keys):
            self[shape] = text
        return text


_NEWLINE = _Newlines()
_SEPARATOR = _Separators()
_TEMPLATES = _Templates()


def dumps(value: Any) -> str:
    """``value`` as ``json.dumps(value, indent=2, default=repr)`` writes it."""
    try:
        return _text(value, 0)
    except (_NotPlain, RecursionError):
        import json

        return json.dumps(value, indent=2, default=repr)


def _text(value: Any, level: int) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is dict:
        return _dict(value, level) if value else "{}"
    if kind is list or kind is tuple:
        return _list(value, level) if value else "[]"
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _subclassed(value, level)


def _subclassed(value: Any, level: int) -> str:
    # the order of json.encoder._make_iterencode's tests: a str subclass is a string, bool is not an int
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, (list, tuple)):
        return _items(value, level) if value else "[]"
    if isinstance(value, dict):
        return _pairs(value, level) if value else "{}"
    return _string(repr(value))


def _list(items: list[Any] | tuple[Any, ...], level: int) -> str:
    if type(items[0]) is str:
        inner = level + 1
        try:  # all strings, most often: escaped in one pass
            return "[" + _NEWLINE[inner] + _SEPARATOR[inner].join(map(_string, items)) + _NEWLINE[level] + "]"
        except TypeError:  # not all: item by item
            pass
    return _items(items, level)


def _items(items: Any, level: int) -> str:
    inner = level + 1
    texts = [_text(item, inner) for item in items]
    return "[" + _NEWLINE[inner] + _SEPARATOR[inner].join(texts) + _NEWLINE[level] + "]"


def _dict(pairs: dict[Any, Any], level: int) -> str:
    template = _TEMPLATES[(tuple(pairs), level)]
    inner = level + 1
    return template % tuple([_string(value) if type(value) is str else _text(value, inner)
                             for value in pairs.values()])


def _pairs(pairs: Any, level: int) -> str:
    """A dict subclass: its ``items()``, as ``json`` reads it."""
    keys, values = [], []
    for key, value in pairs.items():
        keys.append(key)
        values.append(_text(value, level + 1))
    return _TEMPLATES[(tuple(keys), level)] % tuple(values)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)
