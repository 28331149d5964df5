"""``@record`` behaves as ``@dataclass`` does, for every option the package uses (rnnshape/records.py)."""

from __future__ import annotations

import ast
import copy
import dataclasses
import pickle
import re
from dataclasses import field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rnnshape.records import record

ROOT = Path(__file__).resolve().parents[1]


def _classes(decorate: Any) -> dict[str, type]:
    """The same class shapes, made by ``decorate`` (``dataclass`` or ``record``)."""

    @decorate
    class Plain:
        """a b c."""

        a: int
        b: str = "x"
        c: list[int] = field(default_factory=list)
        k: ClassVar[int] = 3

    @decorate(frozen=True)
    class Frozen:
        """x y."""

        x: int
        y: tuple[int, ...] = ()
        note: str = field(default="", compare=False)
        hidden: int = field(default=0, repr=False)

    @decorate(frozen=True)
    class FrozenChild(Frozen):
        """z."""

        z: int = 1

    @decorate(eq=False)
    class Identity:
        """identity equality."""

        v: int = 0

    @decorate(eq=False, repr=False)
    class Bare:
        """nothing generated but __init__."""

        v: int

    @decorate
    class Post:
        """__post_init__ and an init=False field."""

        n: int
        doubled: int = field(init=False, default=0)
        made: list[int] = field(init=False, default_factory=list)

        def __post_init__(self) -> None:
            self.doubled = 2 * self.n

    @decorate(frozen=True)
    class FrozenPost:
        """a frozen __post_init__ that sets through object.__setattr__."""

        n: int
        sq: int = field(init=False, default=0)

        def __post_init__(self) -> None:
            object.__setattr__(self, "sq", self.n * self.n)

    @decorate(frozen=True)
    class OwnMethods:
        """writes its own __eq__, __hash__ and __repr__."""

        v: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnMethods) and other.v % 10 == self.v % 10

        def __hash__(self) -> int:
            return self.v % 10

        def __repr__(self) -> str:
            return f"<{self.v}>"

    @decorate(frozen=True)
    class HashFlags:
        """hash=True on a compare=False field, hash=False on a compared one."""

        a: int
        b: int = field(default=0, compare=False, hash=True)
        c: int = field(default=0, hash=False)

    @decorate
    class Empty:
        """no fields."""

    return {c.__name__: c for c in (Plain, Frozen, FrozenChild, Identity, Bare, Post, FrozenPost, OwnMethods,
                                    HashFlags, Empty)}


DATA = _classes(dataclasses.dataclass)
RECORD = _classes(record)

#: (class, args, kwargs) of instances to compare, twice each so that equal ones meet.
MADE: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Plain", (1,), {}), ("Plain", (1, "y", [2]), {}), ("Plain", (), {"a": 2, "c": [1]}),
    ("Frozen", (1,), {}), ("Frozen", (1, (2,)), {"note": "n", "hidden": 5}), ("Frozen", (2,), {}),
    ("FrozenChild", (1,), {"z": 3}), ("FrozenChild", (1, (), "q", 0, 4), {}),
    ("Identity", (), {}), ("Bare", (7,), {}), ("Post", (3,), {}), ("FrozenPost", (4,), {}),
    ("OwnMethods", (13,), {}), ("OwnMethods", (3,), {}), ("HashFlags", (1, 2, 3), {}), ("HashFlags", (1, 2, 4), {}),
    ("Empty", (), {}),
]


def _view(obj: Any) -> Any:
    """What a user can see of an instance: its class's name, repr with the class names equal, and its fields."""
    shown = re.sub(r" at 0x[0-9a-f]+", "", repr(obj))  # object.__repr__'s address differs, not the text
    return type(obj).__name__, shown, {f.name: getattr(obj, f.name, "<unset>") for f in dataclasses.fields(obj)}


@pytest.mark.parametrize(("name", "args", "kwargs"), MADE)
def test_a_record_is_built_and_shown_as_a_dataclass(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert _view(RECORD[name](*args, **kwargs)) == _view(DATA[name](*args, **kwargs))


def test_equality_and_hash_agree_with_dataclass_on_every_pair() -> None:
    def outcome(classes: dict[str, type], op: Any, a: tuple[Any, ...], b: tuple[Any, ...]) -> Any:
        try:
            return op(classes[a[0]](*a[1], **a[2]), classes[b[0]](*b[1], **b[2]))
        except TypeError as exc:  # unhashable: the same error on both sides
            return type(exc).__name__, str(exc)

    def hashed(x: Any, y: Any) -> Any:
        return hash(x) == hash(y), hash(x) == hash(type(x)(**{f.name: getattr(x, f.name) for f in
                                                                dataclasses.fields(x) if f.init}))

    for a in MADE:
        for b in MADE:
            for op in (lambda x, y: x == y, lambda x, y: x != y, hashed):
                assert outcome(RECORD, op, a, b) == outcome(DATA, op, a, b), (a, b)


@pytest.mark.parametrize("name", ["Plain", "Identity", "Post", "Empty"])
def test_hash_is_none_or_inherited_as_dataclass_decides(name: str) -> None:
    assert (RECORD[name].__hash__ is None) == (DATA[name].__hash__ is None)


@pytest.mark.parametrize(("name", "args"), [("Frozen", (1,)), ("FrozenChild", (1,)), ("FrozenPost", (2,))])
def test_frozen_records_refuse_assignment_and_deletion_as_dataclass_does(name: str, args: tuple[Any, ...]) -> None:
    def attempts(obj: Any) -> list[str]:
        seen = []
        for act in (lambda: setattr(obj, "x", 5), lambda: setattr(obj, "new", 1), lambda: delattr(obj, "x")):
            with pytest.raises(dataclasses.FrozenInstanceError) as err:
                act()
            seen.append(str(err.value))
        return seen

    assert attempts(RECORD[name](*args)) == attempts(DATA[name](*args))


def test_replace_fields_pickle_copy_and_match_args_work_on_records() -> None:
    made = RECORD["Frozen"](1, (2,), "n", 3)
    assert dataclasses.replace(made, x=9) == RECORD["Frozen"](9, (2,), "n", 3)
    assert [f.name for f in dataclasses.fields(made)] == [f.name for f in dataclasses.fields(DATA["Frozen"])]
    assert RECORD["FrozenChild"].__match_args__ == DATA["FrozenChild"].__match_args__
    post = RECORD["Post"](5)
    with pytest.raises(ValueError, match="init=False"):
        dataclasses.replace(post, doubled=1)
    assert copy.deepcopy(post) == post and copy.deepcopy(post) is not post
    assert RECORD["Plain"](1).c is not RECORD["Plain"](1).c  # each instance its own list, as with dataclass
    globals()["_Pickled"] = RECORD["FrozenChild"]
    RECORD["FrozenChild"].__qualname__ = "_Pickled"
    try:
        child = RECORD["FrozenChild"](1, z=3)
        assert pickle.loads(pickle.dumps(child)) == child
    finally:
        del globals()["_Pickled"]


def test_missing_and_extra_arguments_fail_as_with_dataclass() -> None:
    for classes in (RECORD, DATA):
        with pytest.raises(TypeError):
            classes["Plain"]()
        with pytest.raises(TypeError):
            classes["Bare"](1, 2)
        with pytest.raises(TypeError):
            classes["Post"](1, doubled=3)


def test_frozen_and_plain_records_do_not_mix_in_one_hierarchy() -> None:
    with pytest.raises(TypeError, match="non-frozen dataclass from a frozen one"):
        record(type("Thawed", (RECORD["Frozen"],), {"__annotations__": {"w": "int"}, "w": 0}))
    with pytest.raises(TypeError, match="frozen dataclass from a non-frozen one"):
        record(frozen=True)(type("Frozen2", (RECORD["Plain"],), {"__annotations__": {}}))


def test_options_record_does_not_handle_go_to_dataclass() -> None:
    @record(slots=True)
    class Slotted:
        """slots need a new class: dataclass builds it."""

        v: int

    assert Slotted.__slots__ == ("v",) and Slotted(3) == Slotted(3)


def test_a_record_compiles_nothing_until_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    compiled: list[str] = []
    real_exec = builtins.exec
    monkeypatch.setattr(builtins, "exec", lambda src, *a: (compiled.append(src), real_exec(src, *a))[1])

    @record(frozen=True)
    class Lazy:
        """x."""

        x: int

    assert compiled == []
    Lazy(1) == Lazy(1)  # noqa: B015 - equality and hash need no compiling either
    hash(Lazy(2))
    assert len(compiled) == 1 and compiled[0].startswith("def __init__(self, x)")


def test_the_package_declares_its_records_with_record() -> None:
    """One way to declare a record in rnnshape: ``@dataclass`` only where ``record`` hands over to it anyway."""
    offenders = []
    for path in sorted((ROOT / "rnnshape").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for deco in node.decorator_list:
                    target = deco.func if isinstance(deco, ast.Call) else deco
                    if isinstance(target, ast.Name) and target.id == "dataclass":
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []
