"""The follower's fast paths (issue 16) give what the general paths give.

Sizes: constants are shared (``Sym.const``) and two constants are added, subtracted and multiplied as
integers; here each result is compared with the polynomial arithmetic written out in the test. Caches
that live across calls (``check_config``'s answer by spec object, the routes of ``torch.*`` paths, the
statement table) must not carry one paste's state into another: the same paste followed again, after
others, reads the same.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnshape.diagnose.snippets import diagnose_paste
from rnnshape.model.spec import LayerSpec, check_config
from rnnshape.model.symbolic import ZERO, Placeholders, Sym, compare

SNIPPETS = Path(__file__).parent / "data" / "snippets"

small_ints = st.integers(min_value=-10**6, max_value=10**6)
names = st.sampled_from(["h", "b", "n", "input_size"])


@st.composite
def polynomials(draw: st.DrawFn) -> Sym:
    """A constant, a symbol, or a small sum of both (0 included)."""
    const = Sym.const(draw(small_ints))
    terms = draw(st.lists(st.tuples(names, st.integers(-5, 5)), max_size=3))
    out = const
    for name, k in terms:
        out = out + Sym.var(name) * Sym.const(k) if k else out
    return out


def _by_dict(a: Sym, b: Sym, op: str) -> Sym:
    """The polynomial arithmetic itself: monomials summed (or multiplied pairwise), zeros dropped, sorted."""
    out: dict[tuple[str, ...], int] = {}
    if op == "*":
        for m1, c1 in a.terms:
            for m2, c2 in b.terms:
                m = tuple(sorted(m1 + m2))
                out[m] = out.get(m, 0) + c1 * c2
    else:
        sign = 1 if op == "+" else -1
        for m, c in a.terms:
            out[m] = out.get(m, 0) + c
        for m, c in b.terms:
            out[m] = out.get(m, 0) + sign * c
    return Sym(tuple(sorted((m, c) for m, c in out.items() if c)))


@settings(max_examples=150, deadline=None)
@given(polynomials(), polynomials())
def test_arithmetic_agrees_with_the_polynomials(a: Sym, b: Sym) -> None:
    assert a + b == _by_dict(a, b, "+")
    assert a - b == _by_dict(a, b, "-")
    assert a * b == _by_dict(a, b, "*")
    assert hash(a + b) == hash(_by_dict(a, b, "+"))


@settings(max_examples=100, deadline=None)
@given(small_ints, small_ints)
def test_constants_are_plain_integers(x: int, y: int) -> None:
    assert (Sym.const(x) + Sym.const(y)).value == x + y
    assert (Sym.const(x) - Sym.const(y)).value == x - y
    assert (Sym.const(x) * Sym.const(y)).value == x * y
    assert Sym.const(x) == Sym((((), x),)) if x else Sym.const(x) == ZERO
    assert Placeholders([Sym.const(x)]).ints(Sym.const(x)) == x
    assert compare(Sym.const(x), Sym.const(x)).kind == "equal"
    assert compare(Sym.const(x), Sym.const(y)).kind == ("equal" if x == y else "differ")


def test_a_shared_constant_is_the_value_it_names() -> None:
    assert Sym.const(True) == Sym.const(1) and Sym.const(False) == ZERO
    assert Sym.const(3) + 0 == Sym.const(3) and 0 + Sym.const(3) == Sym.const(3)
    h = Sym.var("h")
    assert compare(h, h).kind == "equal" and compare(h * 2, h).kind == "differ"
    assert (Sym.const(2) * h) - h == h and (h - h) == ZERO
    assert Placeholders([Sym.const(7), Sym.const(100_003)]).values == {}


def test_check_config_remembered_answer_is_a_fresh_list() -> None:
    spec = LayerSpec("lstm", 10, 20, dropout=0.5)   # one layer and dropout: a warning
    error, warnings = check_config(spec)
    assert error is None and [w.code for w in warnings] == ["dropout-single-layer"]
    warnings.clear()   # the caller's list: the next answer for the same spec is whole
    again_error, again = check_config(spec)
    assert again_error is None and [w.code for w in again] == ["dropout-single-layer"]
    other = LayerSpec("lstm", 10, 20, dropout=0.5)   # an equal spec, another object: the same answer
    assert [w.code for w in check_config(other)[1]] == ["dropout-single-layer"]


def _followed(name: str) -> str:
    text = (SNIPPETS / name).read_text()
    return json.dumps(diagnose_paste(text, {}, name=name).to_dict(), sort_keys=True, default=repr)


def test_a_paste_reads_the_same_after_others() -> None:
    """The caches kept between runs (spec answers, path routes, shared constants) hold no paste's state."""
    order = ["model_class_ok.py.txt", "classifier_loss_per_step.py.txt", "model_class_ok.py.txt"]
    assert all((SNIPPETS / n).exists() for n in order)
    first, other, again = (_followed(n) for n in order)
    assert first == again and first != other
