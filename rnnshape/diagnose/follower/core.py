"""The follower: an abstract interpreter over ``ast`` that follows tensor shapes without running code.

Nothing is executed. Statements are followed in order (a loop body once, an ``if`` whose condition
is known on its branch only), every value is one of :mod:`.values`, torch's ops are the rules of
:mod:`.rules`, and the first call whose shapes cannot work stops the follower with a diagnosis at
that line. Recurrent layers are never modelled here: every RNN/LSTM/GRU/cell call goes to
:func:`rnnshape.model.shapes.predict` (through :class:`rnnshape.model.symbolic.Placeholders`).

Scopes are chained (``collections.ChainMap``): a call's locals sit in front of the module's
names, never a copy of them, so following stays linear in the length of the code.
"""

from __future__ import annotations

import ast
import itertools
from typing import TYPE_CHECKING, Any

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower.calls import CallsMixin
from rnnshape.diagnose.follower.expressions import ExpressionsMixin, e_methods
from rnnshape.diagnose.follower.layers import LayersMixin
from rnnshape.diagnose.follower.packing import PackingMixin
from rnnshape.diagnose.follower.rewrite import RewriteMixin
from rnnshape.diagnose.follower.statements import StatementsMixin, hinted_stores
from rnnshape.diagnose.follower.values import (
    Const,
    Embedding,
    Env,
    Finding,
    FollowResult,
    Free,
    Function,
    Halt,
    Instance,
    Int,
    Linear,
    Packed,
    RecurrentLayer,
    Returned,
    Rewrite,
    Shown,
    Stop,
    Tensor,
    Tup,
    Unknown,
    UserClass,
    Value,
    shape_hint,
)
from rnnshape.diagnoses import follow_findings as ff
from rnnshape.model.symbolic import Sym, Verdict, compare, fmt_dims

if TYPE_CHECKING:
    from rnnshape.model.spec import LayerSpec


class Follower(StatementsMixin, ExpressionsMixin, CallsMixin, LayersMixin, PackingMixin, RewriteMixin):
    MAX_DEPTH = 24
    MAX_STEPS = 200_000
    MAX_FLAGS = 2     # on/off constructor arguments whose other values a never-built class is followed with

    def __init__(self, lines: list[str], hints: dict[str, Value] | None = None) -> None:
        self.lines = lines
        self.hints = hints or {}
        self.hint_stores: dict[str, list[tuple[int, int]]] = {}   # each hinted name's assignments (see run)
        self.hint_symbols = {s for v in self.hints.values() if isinstance(v, Tensor) for d in v.dims
                             for s in d.symbols}
        self.result = FollowResult()
        self.bindings: dict[str, Sym] = {}
        self.depth = 0
        self.steps = 0
        self.line = 0
        self.classes: list[UserClass] = []
        self.classifier_class = False  # a model class named like a classifier (SentimentRNN, Classifier)
        self.loops: list[tuple[Sym | None, set[int]]] = []  # trip count, ids of lists made inside
        self.freed: dict[int, Tensor] = {}   # unpinned forward arguments, once a layer decided their shape
        self.kept_free: list[Free] = []      # the arguments freed holds, kept alive: a new one never reuses an id
        self.op = ""                          # the op whose shape rule runs (for its messages)
        self.module_env: Env = Env()
        self.assigned_at: dict[tuple[int, str], int] = {}   # (scope, name) -> the line that last set it
        #: in a loop over a DataLoader of unknown size: states made before it with its batch size, and where
        self.full_batch_states: list[tuple[Sym, list[tuple[Value, int, str]]]] = []
        self.second_pass = False              # following a loop's body a second time (see for_)
        self.called_defs: set[int] = set()    # ids of the FunctionDefs the snippet's code called
        #: what the class's methods nobody calls return, when it is a state (init_state): (method, line, value)
        self.state_builders: list[tuple[str, int, Value]] = []
        self.stmt: ast.stmt | None = None     # the statement being followed (its targets tell a call's use)
        self._dim_texts: dict[Sym, str] = {}
        self._spec_by_args: dict[tuple[Any, ...], LayerSpec] = {}   # see LayersMixin._spec
        self._e_methods = e_methods(type(self))
        self._tensor_texts: dict[tuple[tuple[Sym, ...], str], tuple[list[str], str]] = {}

    def run(self, tree: ast.Module) -> FollowResult:
        self.module_env = env = Env({"__name__": Const("__main__")})
        self.hint_stores = hinted_stores(tree, set(self.hints)) if self.hints else {}
        if _uses_self(tree, self.lines):
            # lines cut from a method: self is an instance of a class the paste does not show, whose
            # attributes are those the lines set (the others are unknown)
            env["self"] = Instance(UserClass(ast.ClassDef(name="the pasted method's class", bases=[], keywords=[],
                                                          body=[], decorator_list=[]), {}))
            self.result.notes.append("self is used outside a class: its attributes are those the snippet sets")
        try:
            try:
                self.block(tree.body, env)
            except (Returned, Halt):
                pass
            self._uncalled_models()
            self._uncalled_methods_alone(env)
        except Stop as stop:
            self.result.error = stop.finding
        except RecursionError:
            self.result.notes.append(f"line {self.line}: too deeply nested to follow; stopped there")
        self._final_shapes()
        return self.result

    def _uncalled_models(self) -> None:
        """A model class the snippet never calls: its forward followed with symbolic sizes (or the hints);
        its other methods nobody calls (``init_state(seq_len)``, ``inference(n)``) too, first, with symbolic
        arguments, so that what they do with the sizes the code fixes is checked. A class the snippet never
        builds is followed once more for each other value of its on/off arguments (``bidirectional=False``):
        what fails only then is reported with that value."""
        for cls in self.classes:
            fwd = self.method_of(cls, "forward")
            helpers = [m for name, m in cls.methods.items() if not name.startswith("__") and name != "forward"
                       and id(m) not in self.called_defs]
            follow_forward = not cls.called and fwd is not None
            if not follow_forward and not helpers:
                continue
            # an instance the snippet made keeps the sizes it was built with; else the class alone
            variants: list[dict[str, Value]] = [{}] if cls.last else [{}, *self._flag_variants(cls)]
            for kwargs in variants:
                inst = cls.last or self.instantiate(cls, [], kwargs, None, symbolic=True)
                if not isinstance(inst, Instance):
                    break
                if cls.last is None:
                    # built by a caller the paste does not show: it may have moved the model anywhere
                    self._move(inst, "to", [Unknown("where the caller puts the model")], {})
                if not kwargs:
                    self._follow_class(cls, inst, helpers, follow_forward, quiet=False)
                    continue
                flags = ", ".join(f"{k}={v.value}" for k, v in kwargs.items() if isinstance(v, Const))
                self._follow_variant(cls, inst, helpers, follow_forward, f"{cls.node.name}(..., {flags})")

    def _flag_variants(self, cls: UserClass) -> list[dict[str, Value]]:
        """The constructor's on/off arguments (a True/False default; the first MAX_FLAGS), each other
        combination of them as keyword arguments."""
        init = self.method_of(cls, "__init__")
        if init is None:
            return []
        params = init.args.args[len(init.args.args) - len(init.args.defaults):]
        flags = [(p.arg, d.value) for p, d in zip(params, init.args.defaults, strict=True)
                 if isinstance(d, ast.Constant) and isinstance(d.value, bool)][:self.MAX_FLAGS]
        out = []
        for bits in itertools.product((False, True), repeat=len(flags)):
            kwargs: dict[str, Value] = {name: Const(b) for (name, default), b in zip(flags, bits, strict=True)
                                        if b != default}
            if kwargs:
                out.append(kwargs)
        return out

    def _follow_variant(self, cls: UserClass, inst: Instance, helpers: list[ast.FunctionDef],
                        follow_forward: bool, when: str) -> None:
        """One more pass over the class built with ``when``'s flags: its warnings and error say so; the rest of
        what it records (notes, assumptions, unknowns, the calls it checks) repeats the first pass and is dropped."""
        r = self.result
        warnings, notes, assumptions, unknowns = len(r.warnings), len(r.notes), len(r.assumptions), len(r.unknowns)
        not_followed, checked, bindings = dict(r.not_followed), set(r.checked), dict(self.bindings)
        try:
            self._follow_class(cls, inst, helpers, follow_forward, quiet=True)
        except Stop as stop:
            f = stop.finding
            raise Stop(Finding(f.line, ff.only_when(f.diagnosis, when), f.rewrite, f.source, f.more)) from None
        finally:
            for f in r.warnings[warnings:]:
                f.diagnosis = ff.only_when(f.diagnosis, when)
            del r.notes[notes:], r.assumptions[assumptions:], r.unknowns[unknowns:]
            r.not_followed, r.checked, self.bindings = not_followed, checked, bindings

    def _follow_class(self, cls: UserClass, inst: Instance, helpers: list[ast.FunctionDef], follow_forward: bool,
                      *, quiet: bool) -> None:
        self.state_builders = []
        self._follow_helpers(cls, inst, helpers, quiet=quiet)
        fwd = self.method_of(cls, "forward")
        if not follow_forward or fwd is None:
            return
        if not quiet:
            hinted = any(a.arg in self.hints for a in fwd.args.args)
            self.result.notes.append(
                f"{cls.node.name} is never called in the snippet: its forward was followed with "
                + ("the --shape hints" if hinted else "symbolic sizes for its arguments (pin them with "
                   "--shape NAME=SHAPE)"))
        try:
            self.call_function(Function(fwd, inst), [], {}, from_hints=True)
        except Halt:
            pass

    def _follow_helpers(self, cls: UserClass, inst: Instance, helpers: list[ast.FunctionDef], *,
                        quiet: bool) -> None:
        """Each method nobody calls, with symbolic arguments; a state it returns is kept as the class's way of
        building one (see LayersMixin.state_from_builder)."""
        for fn in helpers:
            if not quiet:
                self.result.notes.append(f"{cls.node.name}.{fn.name}() is never called in the snippet: it was "
                                         "followed with symbolic arguments")
            try:
                value = self.call_function(Function(fn, inst, cls), [], {}, from_hints=True,
                                           sizes=size_parameters(fn))
            except Halt:
                continue
            if isinstance(value, (Tensor, Tup)) and not any(name == fn.name for name, _, _ in self.state_builders):
                self.state_builders.append((fn.name, fn.lineno, value))

    def _uncalled_methods_alone(self, env: Env) -> None:
        """A method pasted without its class (``def forward(self, x):`` at the top level) that nothing calls:
        followed with ``self`` an instance of a class the paste does not show, its arguments symbolic."""
        for value in list(env.maps[0].values()):
            if not isinstance(value, Function) or value.owner is not None or id(value.node) in self.called_defs:
                continue
            params = value.node.args.args
            if not params or params[0].arg != "self":
                continue
            inst = env.get("self")
            if not isinstance(inst, Instance):
                inst = Instance(UserClass(ast.ClassDef(name="the pasted method's class", bases=[], keywords=[],
                                                       body=[], decorator_list=[]), {}))
            self.result.notes.append(f"{value.node.name}(self, ...) is a method pasted without its class: followed "
                                     "with self an instance whose attributes are those the snippet sets, its "
                                     "arguments symbolic")
            try:
                self.call_function(Function(value.node, inst), [], {}, from_hints=True,
                                   sizes=size_parameters(value.node))
            except Halt:
                continue

    def set_freed(self, free: Free, value: Value) -> None:
        self.freed[id(free)] = value   # type: ignore[assignment]
        self.kept_free.append(free)

    def sub(self, s: Sym) -> Sym:
        return s.substitute(self.bindings) if self.bindings else s

    def tensor_dims(self, t: Tensor) -> tuple[Sym, ...]:
        if not self.bindings:   # the common case (nothing assumed yet): the dims as they are, no new tuple
            return t.dims
        return tuple(d.substitute(self.bindings) for d in t.dims)

    def show(self, line: int, name: str, value: Value) -> None:
        if name == "_" or getattr(value, "loop_index", False):
            return
        earlier = self.result.shapes.get(line)
        if earlier:
            for s in earlier:
                if s.name == name:
                    return  # a line followed twice (a loop, two calls) keeps its first shapes
        shape = None
        dtype = None
        if isinstance(value, Tensor):  # each dimension written once, for the margin's text and the JSON's shape
            shape, text = self.tensor_texts(value)
            dtype = value.dtype
        else:
            text = self.describe(value)
            if text is None:
                return
        if earlier is None:
            self.result.shapes[line] = [Shown(name, text, dtype, shape, value)]
        else:
            earlier.append(Shown(name, text, dtype, shape, value))

    def tensor_texts(self, t: Tensor) -> tuple[list[str], str]:
        """A tensor's dimensions as text (a new list) and its margin text, written once per (dims, dtype): the
        margins of a long paste show the same few shapes over and over."""
        key = (self.tensor_dims(t), t.dtype)
        known = self._tensor_texts.get(key)
        if known is None:
            shape = [self.dim_text(d) for d in key[0]]
            known = self._tensor_texts[key] = (shape, _tensor_text(shape, t.dtype))
        return list(known[0]), known[1]

    def dim_text(self, d: Sym) -> str:
        """``str(d)``, once per size: the margins of a long paste write the same few sizes over and over."""
        text = self._dim_texts.get(d)
        if text is None:
            text = self._dim_texts[d] = str(d)
        return text

    def _final_shapes(self) -> None:
        """Margins written with what was assumed later (``input_size = 20``) substituted."""
        if not self.bindings:
            return
        for shown in self.result.shapes.values():
            for s in shown:
                if s.value is None:
                    continue
                text = self.describe(s.value)
                if text is not None:
                    s.text = text
                if isinstance(s.value, Tensor):
                    s.shape = [str(d) for d in self.tensor_dims(s.value)]

    def describe(self, value: Value) -> str | None:
        if isinstance(value, Tensor):
            return self.tensor_texts(value)[1]
        if isinstance(value, Int):
            s = self.sub(value.sym)
            return str(s) if s.is_const or value.label else f"= {s}"
        if isinstance(value, RecurrentLayer):
            a = value.args
            kind = "|".join(value.choice) or value.kind
            return f"{kind}({self._fmt_arg(a.get('input_size'))} → {self._fmt_arg(a.get('hidden_size'))})"
        if isinstance(value, Linear):
            return f"Linear({self.dim_text(self.sub(value.in_features))} → " \
                   f"{self.dim_text(self.sub(value.out_features))})"
        if isinstance(value, Embedding):
            return f"Embedding({self.dim_text(self.sub(value.num))} ids → {self.dim_text(self.sub(value.dim))})"
        if isinstance(value, Packed):
            return f"packed {fmt_dims(self.tensor_dims(value.padded))}"
        if isinstance(value, Tup) and value.role == "state":
            inner = [self.describe(v) or "?" for v in value.items]
            return "(" + ", ".join(inner) + ")"
        if isinstance(value, Unknown):
            return "?"
        return None

    def _fmt_arg(self, v: Any) -> str:
        if isinstance(v, Sym):
            return str(self.sub(v))
        return str(v)

    def src(self, node: ast.AST) -> str:
        """The code of ``node``: its text in the paste when on one line (cheap), else ``ast.unparse``."""
        try:   # expressions and statements have positions; other nodes (an argument, a repaired tree's) may not
            line, end = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        except AttributeError:
            line = end = None
        if line is not None and line == end and 0 < line <= len(self.lines):
            text = self.lines[line - 1]
            a, b = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
            if text.isascii():
                return text[a:b]
            return text.encode()[a:b].decode(errors="replace")
        try:
            return ast.unparse(node)
        except Exception:  # noqa: BLE001 - ast.unparse of a repaired tree
            return "?"

    def stop(self, diagnosis: dx.Diagnosis, rewrite: Rewrite | None = None, line: int | None = None) -> None:
        raise Stop(Finding(line if line is not None else self.line, diagnosis, rewrite))

    def warn(self, diagnosis: dx.Diagnosis, rewrite: Rewrite | None = None) -> None:
        if any(f.diagnosis.code == diagnosis.code and f.line == self.line for f in self.result.warnings):
            return
        self.result.warnings.append(Finding(self.line, diagnosis, rewrite))

    def unknown(self, what: str, value: Value | None, hint_name: str | None = None,
                example: str = "...") -> None:
        """Record that following stops being exact here (info, not an error)."""
        reason = value.reason if isinstance(value, Unknown) else "its shape is not known"
        hint = value.hint if isinstance(value, Unknown) and value.hint else None
        if hint_name:
            hint = f"--shape {hint_name}={shape_hint(example)}"
        d = dx.unknown_shape(what=what, reason=reason, hint=hint)
        if not any(f.line == self.line and f.diagnosis.title == d.title for f in self.result.unknowns):
            self.result.unknowns.append(Finding(self.line, d))

    def assume(self, verdict: Verdict, why: str) -> None:
        assert verdict.symbol is not None and verdict.value is not None
        self.bindings = {k: v.substitute({verdict.symbol: verdict.value}) for k, v in self.bindings.items()}
        self.bindings[verdict.symbol] = verdict.value
        self.result.assumptions.append((self.line, f"{verdict.symbol} = {verdict.value} ({why})"))

    def equal(self, a: Sym, b: Sym, why: str) -> Verdict:
        """Decide a == b; binds a symbol (and records the assumption) when that makes it hold."""
        v = compare(self.sub(a), self.sub(b), prefer=sorted(self.hint_symbols) if self.hint_symbols else ())
        if v.kind == "bind":
            self.assume(v, why)
        return v


#: Calls whose arguments are sizes: an argument of a method nobody calls that reaches one is a size, not a tensor.
SIZE_TAKERS = frozenset({"zeros", "ones", "randn", "rand", "empty", "full", "randint", "arange", "Tensor",
                         "FloatTensor", "LongTensor", "new_zeros", "new_ones", "new_empty", "new", "view", "reshape",
                         "expand", "repeat", "range"})


def size_parameters(fn: ast.FunctionDef) -> frozenset[str]:
    """The parameters of ``fn`` the code passes as sizes (``torch.zeros(n_layers, batch_size, h)``)."""
    params = {a.arg for a in fn.args.args}
    found: set[str] = set()
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else None
        if name not in SIZE_TAKERS:
            continue
        found.update(n for arg in node.args for n in _size_names(arg) if n in params)
    return frozenset(found)


def _size_names(node: ast.expr) -> list[str]:
    """The names an argument is made of as a size: ``n``, ``2 * n``, ``[n, h]``; not ``x`` of ``x.size(0)``."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.BinOp):
        return _size_names(node.left) + _size_names(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [n for e in node.elts for n in _size_names(e)]
    return []


def _tensor_text(dims: list[str], dtype: str) -> str:
    """A tensor in the margin: its dimensions (``fmt_dims``), and its dtype when not float32."""
    text = fmt_dims(dims)
    return text if dtype == "float32" else f"{text} {dtype}"


def _uses_self(tree: ast.Module, lines: list[str]) -> bool:
    """Whether code outside any def or class reads ``self`` (a fragment of a method's body).

    Only statements whose text can hold the name are walked (a non-ASCII one can spell it in other letters
    that Python normalizes to it): most pastes have no module-level ``self`` anywhere.
    """
    todo: list[ast.AST] = [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                       ast.ClassDef)) and _may_name_self(s, lines)]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and node.id == "self":
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _may_name_self(stmt: ast.stmt, lines: list[str]) -> bool:
    first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
    if not 0 < first <= last <= len(lines):
        return True
    for line in lines[first - 1:last]:   # a loop, not any(...): run for every module-level statement
        if "self" in line or not line.isascii():
            return True
    return False
