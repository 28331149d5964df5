"""``@record``: ``@dataclass`` with the same behaviour and a fraction of its import-time cost.

``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and (frozen)
``__setattr__``/``__delattr__`` and compiles every one with ``exec`` while the module is imported: 0.3 ms for a
plain class, 1-2 ms for a frozen one, 33 ms of ``diagnose``'s 190 ms start (48 classes, issue 16), though a run
builds only some of them. ``@record`` lets ``dataclasses`` collect the fields (so ``fields``, ``replace``,
``is_dataclass`` and ``field(...)`` work unchanged), then:

- ``__init__`` is the very text ``@dataclass`` would write, compiled on the class's first instantiation;
- ``__eq__``, ``__hash__``, ``__repr__`` and the frozen ``__setattr__``/``__delattr__`` are shared functions that
  read a per-class tuple getter: nothing to compile.

Behaviour is ``@dataclass``'s for the options the package uses (``frozen``, ``eq``, ``repr``, defaults,
``default_factory``, ``init=False``/``compare=False``/``repr=False``/``hash=`` fields, ``__post_init__``, methods
a class writes itself kept, subclasses); ``tests/test_records.py`` compares the two on each. Anything else
(``slots``, ``order``, ``kw_only``, ``InitVar``, ``unsafe_hash``) is handed to ``@dataclass`` itself.
"""

from __future__ import annotations

import dataclasses
from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")

#: What ``@record`` does itself; any other option goes to ``@dataclass`` whole.
_OWN_OPTIONS = frozenset({"frozen", "eq", "repr", "init"})
_REPRS_RUNNING: set[tuple[int, int]] = set()


def record(cls: type[T] | None = None, /, **options: Any) -> Any:
    """``@record``, ``@record(frozen=True)``, ``@record(eq=False, repr=False)``: see the module's docstring."""
    if cls is None:
        return lambda c: _make(c, options)
    return _make(cls, options)


def _make(cls: type[T], options: dict[str, Any]) -> type[T]:
    if not options.keys() <= _OWN_OPTIONS or _has_init_vars(cls):
        return dataclasses.dataclass(cls, **options)
    frozen, eq = options.get("frozen", False), options.get("eq", True)
    _check_frozen_bases(cls, frozen)
    own = dict(cls.__dict__)  # before dataclasses adds to it: what the class wrote itself
    dataclasses.dataclass(cls, init=False, repr=False, eq=False, frozen=False)  # fields only: nothing compiled
    if own.get("__doc__") is None:
        cls.__doc__ = None  # dataclasses wrote one from a signature that is not yet this class's
    cls.__record_frozen__ = frozen  # type: ignore[attr-defined]
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if options.get("init", True) and "__init__" not in own:
        cls.__init__ = _lazy_init(cls, fields, frozen)  # type: ignore[misc]
    if options.get("repr", True) and "__repr__" not in own:
        cls.__repr__ = dataclass_repr  # type: ignore[method-assign]
    if eq:
        _add_eq_and_hash(cls, own, fields, frozen)
    if frozen:
        _add_frozen_setattr(cls, fields)
    return cls


def _has_init_vars(cls: type) -> bool:
    # InitVar and ClassVar are told apart by their annotation: rare, and left to dataclasses
    return any("InitVar" in str(a) for a in cls.__dict__.get("__annotations__", {}).values())


def _check_frozen_bases(cls: type, frozen: bool) -> None:
    """``@dataclass``'s rule: a frozen record's record bases are frozen, a plain one's are plain. (dataclasses sees
    every record as not frozen: a record subclasses records, not ``@dataclass(frozen=True)`` classes.)"""
    bases = [b for b in cls.__mro__[1:] if "__record_frozen__" in b.__dict__]
    if any(b.__dict__["__record_frozen__"] for b in bases) and not frozen:
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
    if bases and frozen and not all(b.__dict__["__record_frozen__"] for b in bases):
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")


# --------------------------------------------------------------------------- __init__, compiled when first used


def _lazy_init(cls: type, fields: tuple[dataclasses.Field, ...], frozen: bool) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        real = _compile_init(cls, fields, frozen)
        cls.__init__ = real  # type: ignore[misc]  # later instances call the compiled one directly
        real(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compile_init(cls: type, fields: tuple[dataclasses.Field, ...], frozen: bool) -> Callable[..., None]:
    """The ``__init__`` ``@dataclass`` writes: parameters in field order, defaults, factories, ``__post_init__``."""
    names: dict[str, Any] = {"__MISSING": dataclasses.MISSING, "__HAS_FACTORY": _HAS_FACTORY,
                             "__setattr": object.__setattr__}
    params, body = [], []
    for f in fields:
        value = f.name
        if f.default_factory is not dataclasses.MISSING:
            names[f"__factory_{f.name}"] = f.default_factory
            if f.init:
                params.append(f"{f.name}=__HAS_FACTORY")
                value = f"__factory_{f.name}() if {f.name} is __HAS_FACTORY else {f.name}"
            else:
                value = f"__factory_{f.name}()"
        elif f.default is not dataclasses.MISSING:
            names[f"__default_{f.name}"] = f.default
            if f.init:
                params.append(f"{f.name}=__default_{f.name}")
            else:
                value = f"__default_{f.name}"
        elif f.init:
            params.append(f.name)
        else:
            continue  # an init=False field with no default is left unset, as @dataclass leaves it
        body.append(f"__setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"])
    exec(source, names)  # noqa: S102 - our own text, built from the class's field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _HasFactory:
    """The default a parameter with a ``default_factory`` shows: the factory runs when it is still there."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasFactory()


# --------------------------------------------------------------------------- shared methods, nothing compiled


def _values_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function from an instance to the tuple of those fields (what ``@dataclass``'s methods compare)."""
    if len(names) >= 2:
        return attrgetter(*names)  # type: ignore[return-value]
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _add_eq_and_hash(cls: type, own: dict[str, Any], fields: tuple[dataclasses.Field, ...], frozen: bool) -> None:
    cls.__record_compared__ = _values_of([f.name for f in fields if f.compare])  # type: ignore[attr-defined]
    if "__eq__" not in own:
        cls.__eq__ = _eq  # type: ignore[method-assign]
    # @dataclass's table: a hash it writes only when frozen; __hash__ = None when not (unless the class wrote one)
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if explicit_hash:
        return
    if frozen:
        hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
        cls.__record_hashed__ = _values_of(hashed)  # type: ignore[attr-defined]
        cls.__hash__ = _hash  # type: ignore[method-assign]
    else:
        cls.__hash__ = None  # type: ignore[assignment]


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        values = self.__class__.__record_compared__
        return values(self) == values(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__class__.__record_hashed__(self))


def _add_frozen_setattr(cls: type, fields: tuple[dataclasses.Field, ...]) -> None:
    names = frozenset(f.name for f in fields)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        if method.__name__ in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {method.__name__} in class {cls.__name__}")
        setattr(cls, method.__name__, method)


def dataclass_repr(obj: object) -> str:
    """What ``@dataclass``'s own ``__repr__`` returns: ``Name(field=value!r, ...)``; ``...`` inside itself."""
    if not dataclasses.is_dataclass(obj):
        return object.__repr__(obj)
    key = id(obj), get_ident()
    if key in _REPRS_RUNNING:
        return "..."
    _REPRS_RUNNING.add(key)
    try:
        inner = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in dataclasses.fields(obj) if f.repr)
        return f"{type(obj).__qualname__}({inner})"
    finally:
        _REPRS_RUNNING.discard(key)
