"""Symbolic sizes for ``rnnshape diagnose``: integers that the code does not pin down.

A size the snippet cannot tell (``hidden_size`` passed to ``__init__``, ``x.size(0)`` of an
unknown batch, the ``B`` of ``--shape x=B,T,300``) is a :class:`Sym`: a polynomial with integer
coefficients over named symbols. Arithmetic on it is kept exactly (``2 * hidden_size`` stays
``2*hidden_size``), so equalities and mismatches are decided symbolically, not guessed.

**Deciding an equality** (:func:`compare`). Sizes are >= 1, so ``a - b`` is surely non-zero
when all its coefficients share one sign (``2*h - h = h``), or when it is a constant, or when it
is linear in one symbol whose solution is not a positive integer (``2*h = 7``). Otherwise it
can be made to hold by *binding* one symbol (``F := 300``): the follower records that as an
assumption, says so, and carries on, as a type checker unifies. Anything else (``a*b = c``) is
undecidable and reported as such, never guessed.

**Using the shape model with symbols** (:class:`Placeholders`). ``shapes.predict`` takes ints.
Each free symbol gets a large distinct prime as a placeholder (:data:`PRIMES`); the model runs
on those numbers, and its numbers are read back into symbols through a table of every
expression in play (``k * s`` and ``s + k`` for small ``k`` included), and any diagnosis text it
wrote is rewritten the same way (``expected 100003`` becomes ``expected hidden_size``). Two
different polynomials of low degree and small coefficients cannot take the same value at these
points except by a coincidence the caller confirms on a second assignment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rnnshape.model.vocab import VerdictKind
from rnnshape.records import record

Monomial = tuple[str, ...]  # sorted symbol names, repeated for powers; () is the constant


@record(frozen=True)
class Sym:
    """A polynomial over named symbols with integer coefficients (immutable, hashable)."""

    terms: tuple[tuple[Monomial, int], ...]

    # equality and hash written here, as the generated ones read them (the follower hashes and compares sizes
    # at every step: one call each, whatever the class decorator generates)
    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self.terms == other.terms  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.terms,))

    # ---- construction
    @staticmethod
    def const(n: int) -> Sym:
        # one Sym per small integer, made once: a long paste makes the same few constants over and over
        known = _CONSTS.get(n)
        if known is not None:
            return known
        made = Sym((((), int(n)),)) if n else ZERO
        if type(n) is int and len(_CONSTS) < _MAX_CONSTS:
            _CONSTS[n] = made
        return made

    @staticmethod
    def var(name: str) -> Sym:
        return Sym((((name,), 1),))

    @staticmethod
    def _from(d: Mapping[Monomial, int]) -> Sym:
        return Sym(tuple(sorted((m, c) for m, c in d.items() if c)))

    def _dict(self) -> dict[Monomial, int]:
        return dict(self.terms)

    # ---- queries
    @property
    def is_const(self) -> bool:
        for m, _ in self.terms:   # a loop, not all(...): asked of every size the follower touches
            if m:
                return False
        return True

    @property
    def value(self) -> int | None:
        """The integer, when the expression is a constant."""
        terms = self.terms
        if not terms:
            return 0
        for m, _ in terms:
            if m:
                return None
        return terms[0][1]

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(s for m, _ in self.terms for s in m)

    def evaluate(self, values: Mapping[str, int]) -> int:
        total = 0
        for mono, coeff in self.terms:
            term = coeff
            for s in mono:
                term *= values[s]
            total += term
        return total

    def substitute(self, bindings: Mapping[str, Sym]) -> Sym:
        if not bindings or not (self.symbols & bindings.keys()):
            return self
        out = ZERO
        for mono, coeff in self.terms:
            term = Sym.const(coeff)
            for s in mono:
                term = term * (bindings[s] if s in bindings else Sym.var(s))
            out = out + term
        return out

    # ---- arithmetic
    def __add__(self, other: Sym | int) -> Sym:
        o = as_sym(other)
        if not o.terms:
            return self
        pair = _constants(self, o)
        if pair is not None:   # the common case, without the dict and the sort
            return Sym.const(pair[0] + pair[1])
        d = self._dict()
        for m, c in o.terms:
            d[m] = d.get(m, 0) + c
        return Sym._from(d)

    __radd__ = __add__

    def __neg__(self) -> Sym:
        return Sym(tuple((m, -c) for m, c in self.terms))

    def __sub__(self, other: Sym | int) -> Sym:
        o = as_sym(other)
        pair = _constants(self, o)
        if pair is not None:
            return Sym.const(pair[0] - pair[1])
        return self + (-o)

    def __rsub__(self, other: Sym | int) -> Sym:
        return as_sym(other) - self

    def __mul__(self, other: Sym | int) -> Sym:
        o = as_sym(other)
        pair = _constants(self, o)
        if pair is not None:
            return Sym.const(pair[0] * pair[1])
        d: dict[Monomial, int] = {}
        for m1, c1 in self.terms:
            for m2, c2 in o.terms:
                m = tuple(sorted(m1 + m2))
                d[m] = d.get(m, 0) + c1 * c2
        return Sym._from(d)

    __rmul__ = __mul__

    def exact_div(self, other: Sym | int) -> Sym | None:
        """``self / other`` when it divides exactly (by a constant or a single monomial)."""
        o = as_sym(other)
        if o == ZERO:
            return None
        if o.is_const:
            k = o.value or 0
            if all(c % k == 0 for _, c in self.terms):
                return Sym._from({m: c // k for m, c in self.terms})
            return None
        if len(o.terms) == 1:
            mono, k = o.terms[0]
            d: dict[Monomial, int] = {}
            for m, c in self.terms:
                rest = list(m)
                for s in mono:
                    if s not in rest:
                        return None
                    rest.remove(s)
                if c % k:
                    return None
                d[tuple(rest)] = c // k
            return Sym._from(d)
        # a common factor of a sum: try each of self's monomials' ratio
        if self == o:
            return ONE
        for k in range(2, 9):
            if self == o * k:
                return Sym.const(k)
        return None

    # ---- display
    def __str__(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for mono, coeff in sorted(self.terms, key=lambda t: (-len(t[0]), t[0])):
            name = "*".join(_wrap(s) for s in mono)
            if not mono:
                body = str(abs(coeff))
            elif abs(coeff) == 1:
                body = name
            else:
                body = f"{abs(coeff)}*{name}"
            parts.append(("-" if coeff < 0 else "+", body))
        text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
        for sign, body in parts[1:]:
            text += f" {sign} {body}"
        return text

    def __repr__(self) -> str:
        return f"Sym({self})"


def _constants(a: Sym, b: Sym) -> tuple[int, int] | None:
    """Both as integers when both are constants (0 included: at most one term each, with no symbol), else None."""
    p, q = a.terms, b.terms
    if len(p) > 1 or len(q) > 1 or (p and p[0][0]) or (q and q[0][0]):
        return None
    return (p[0][1] if p else 0), (q[0][1] if q else 0)


def _wrap(name: str) -> str:
    return name if re.fullmatch(r"[\w.\[\]()]+", name) and "+" not in name else f"({name})"


ZERO = Sym(())
ONE = Sym((((), 1),))
_CONSTS: dict[int, Sym] = {0: ZERO, 1: ONE}
_MAX_CONSTS = 4096   # bounds the table whatever integers a paste holds


def as_sym(value: Sym | int) -> Sym:
    if isinstance(value, Sym):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not a size: {value!r}")
    return Sym.const(value)


def fmt(value: Sym | int | None) -> str:
    if value is None:
        return "?"
    return str(value)


def fmt_dims(dims: Iterable[Sym | None]) -> str:
    items = [fmt(d) for d in dims]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


# --------------------------------------------------------------------------- deciding equalities


@record(frozen=True)
class Verdict:
    """The answer to "is a == b?": ``equal``, ``differ`` (for every size), ``bind`` or ``unknown``."""

    kind: VerdictKind
    symbol: str | None = None
    value: Sym | None = None

    @property
    def equal(self) -> bool:
        return self.kind == "equal"

    @property
    def differ(self) -> bool:
        return self.kind == "differ"


#: The verdicts without a binding, made once (a verdict is immutable; compare runs for every size checked).
EQUAL = Verdict("equal")
DIFFER = Verdict("differ")
UNKNOWN = Verdict("unknown")


def surely_nonzero(p: Sym) -> bool:
    """True when ``p`` cannot be 0 for any sizes >= 1 (all coefficients one sign)."""
    if not p.terms:
        return False
    signs = {c > 0 for _, c in p.terms}
    return len(signs) == 1


def compare(a: Sym | int, b: Sym | int, *, prefer: Iterable[str] = ()) -> Verdict:
    """Decide ``a == b`` for sizes; see the module docstring. ``prefer``: symbols to bind first."""
    if a is b and isinstance(a, Sym):   # one size object (constants are shared, dims travel): equal, no arithmetic
        return EQUAL
    diff = as_sym(a) - as_sym(b)
    if not diff.terms:   # diff == ZERO
        return EQUAL
    if diff.is_const or surely_nonzero(diff):
        return DIFFER
    order = list(dict.fromkeys([*prefer, *sorted(diff.symbols)]))
    for s in order:
        if s not in diff.symbols:
            continue
        linear = [(m, c) for m, c in diff.terms if s in m]
        if len(linear) != 1 or linear[0][0] != (s,):
            continue
        coeff = linear[0][1]
        rest = Sym._from({m: c for m, c in diff.terms if m != (s,)})
        solution = (-rest).exact_div(coeff)
        if solution is None:
            if rest.is_const:
                return DIFFER  # e.g. 2*h = 7 has no integer solution
            continue
        if solution.is_const and (solution.value or 0) < 1:
            return DIFFER  # a size cannot be 0 or negative
        return Verdict("bind", s, solution)
    return UNKNOWN


# --------------------------------------------------------------------------- placeholders


#: Placeholder values for free symbols: large, distinct, prime (no one is a multiple of another):
#: the 48 primes from 100003 on.
PRIMES: tuple[int, ...] = (
    100003, 100019, 100043, 100049, 100057, 100069, 100103, 100109,
    100129, 100151, 100153, 100169, 100183, 100189, 100193, 100207,
    100213, 100237, 100267, 100271, 100279, 100291, 100297, 100313,
    100333, 100343, 100357, 100361, 100363, 100379, 100391, 100393,
    100403, 100411, 100417, 100447, 100459, 100469, 100483, 100493,
    100501, 100511, 100517, 100519, 100523, 100537, 100547, 100549,
)
PLACEHOLDER_MIN = 100_000
_BIG_NUMBER = re.compile(r"(?<![\w.])-?\d{6,}(?![\w.])")


class Placeholders:
    """Gives every free symbol a placeholder int and reads the model's numbers back as symbols."""

    def __init__(self, exprs: Iterable[Sym], *, shift: int = 0) -> None:
        self.values: dict[str, int] = {}
        self.exprs: list[Sym] = []
        for e in exprs:
            terms = e.terms
            if len(terms) > 1 or (terms and terms[0][0]):   # not a constant (most sizes are): see add
                self.add(e)
        self._shift = shift
        self._assign()

    def add(self, e: Sym) -> None:
        # a constant needs no placeholder and is no entry of the table: only expressions with symbols are kept
        # (most sizes are constants, and `in` on the list compares each with every one kept)
        if not e.is_const and e not in self.exprs:
            self.exprs.append(e)

    def _assign(self) -> None:
        names = sorted({s for e in self.exprs for s in e.symbols})
        for i, name in enumerate(names):
            self.values[name] = PRIMES[(i + self._shift) % len(PRIMES)] + (
                (i + self._shift) // len(PRIMES)) * 1_000_003

    def ints(self, e: Sym | int) -> int:
        e = as_sym(e)
        terms = e.terms
        if len(terms) <= 1 and not (terms and terms[0][0]):   # a constant (most sizes): its own number
            return terms[0][1] if terms else 0
        if not e.symbols <= self.values.keys():
            self.add(e)
            self._assign()
        return e.evaluate(self.values)

    def table(self) -> dict[int, Sym]:
        """value -> expression, for every expression in play and its small multiples."""
        table: dict[int, Sym] = {}
        for e in self.exprs:
            if e.is_const:
                continue
            for k in (1, 2, 3, 4, 6, 8):
                table.setdefault(self.ints(e * k), e * k)
            for k in (1, 2):
                table.setdefault(self.ints(e + k), e + k)
                table.setdefault(self.ints(e - k), e - k)
        for name in self.values:
            table.setdefault(self.values[name], Sym.var(name))
        return table

    def back(self, n: int) -> Sym | None:
        """A number the model produced, as an expression; None when it is no known expression."""
        if abs(n) < PLACEHOLDER_MIN:
            return Sym.const(n)
        return self.table().get(n)

    def rewrite(self, value: Any) -> Any:
        """Placeholders in text, numbers and containers, written back as their expressions."""
        if not self.values:
            return value
        table = self.table()
        if isinstance(value, str):
            return _BIG_NUMBER.sub(lambda m: str(table.get(int(m.group(0)), m.group(0))), value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            sym = table.get(value)
            return str(sym) if sym is not None else value
        if isinstance(value, (list, tuple)):
            return type(value)(self.rewrite(v) for v in value)
        if isinstance(value, dict):
            return {k: self.rewrite(v) for k, v in value.items()}
        return value
