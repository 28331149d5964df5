"""The static shape follower of ``rnnshape diagnose``: an abstract interpreter over ``ast``.

Nothing is executed. Every value the snippet makes is one of a few abstract values (a size,
a tensor with symbolic dims, a layer, a tuple, a user module, ``Unknown``), statements are
followed in order (a loop body once, an ``if`` whose condition is known on its branch only),
and the first call whose shapes cannot work stops the follower with a diagnosis at that line.

Recurrent layers are never modelled here: every RNN/LSTM/GRU/cell call, and every
``pack_padded_sequence``, is handed to :func:`rnnshape.model.shapes.predict` (through
:class:`rnnshape.model.symbolic.Placeholders` when sizes are symbolic). The follower itself only
knows what surrounds them: tensor creation and reshaping, ``nn.Linear``, ``nn.Embedding``,
``nn.Dropout``, ``nn.Sequential``, losses, tuples and unpacking.

What it cannot follow becomes :class:`Unknown` (with the reason and the ``--shape`` hint that
would let it go on), never a guess.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.model.shapes import FLOAT_DTYPES, INT_DTYPES, UNSAFE, Request, TensorArg, predict
from rnnshape.model.spec import POSITIONAL, LayerSpec, check_config
from rnnshape.model.symbolic import ONE, Placeholders, Sym, Verdict, as_sym, compare, fmt_dims
from rnnshape.model.vocab import DTYPE_ALIASES, DTYPE_METHODS, TensorRole, TupKind, TupRole

RECURRENT = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru", "RNNCell": "rnn-cell",
             "LSTMCell": "lstm-cell", "GRUCell": "gru-cell"}
ELEMENTWISE = {"ReLU", "Tanh", "Sigmoid", "GELU", "LeakyReLU", "ELU", "SELU", "Softmax", "LogSoftmax",
               "Identity", "Dropout", "Dropout1d", "AlphaDropout", "LayerNorm", "Softplus", "Mish",
               "SiLU", "Hardtanh", "PReLU"}
LOSSES = {"CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
          "SmoothL1Loss", "HuberLoss"}
SAME_SHAPE = {"contiguous", "detach", "clone", "cpu", "requires_grad_", "relu", "tanh", "sigmoid", "exp",
              "log", "abs", "neg", "sqrt", "softmax", "log_softmax", "masked_fill", "masked_fill_",
              "clamp", "clamp_", "zero_", "fill_", "normal_", "uniform_", "pin_memory", "gelu",
              "dropout", "relu_", "tanh_", "sigmoid_", "round", "floor", "ceil", "pow", "square",
              "leaky_relu", "elu", "silu", "mul", "add", "sub", "div", "mul_", "add_", "sub_",
              "div_", "type_as", "to_dense", "float_power", "nan_to_num", "sign"}
DTYPES = DTYPE_ALIASES  # torch.long, torch.float32, ... -> the canonical name
REDUCE = {"mean", "sum", "prod", "std", "var", "amax", "amin", "logsumexp", "norm", "argmax", "argmin",
          "all", "any"}
_BATCH_NAME = re.compile(r"^(b|bs|n|batch|batch_?size|n_?batch|num_?batch|bsz|mini_?batch)$|batch",
                         re.IGNORECASE)
_CLASS_NAME = re.compile(r"class|label|categor|sentiment|n_out\b|num_out", re.IGNORECASE)


# --------------------------------------------------------------------------- abstract values


class Value:
    """Base of the abstract values."""


@dataclass(eq=False)
class Unknown(Value):
    reason: str
    hint: str | None = None


@dataclass(eq=False)
class Const(Value):
    value: Any


@dataclass(frozen=True)
class DType:
    name: str


@dataclass(frozen=True)
class Device:
    name: str


@dataclass(eq=False)
class Int(Value):
    sym: Sym
    label: str | None = None


@dataclass(eq=False)
class Tensor(Value):
    dims: tuple[Sym, ...]
    labels: tuple[str | None, ...] = ()
    dtype: str = "float32"
    device: str | None = None
    origin: str | None = None          # the expression that made it, for messages
    line: int | None = None            # where it was made
    node: ast.AST | None = None        # the creation call, to rewrite it
    role: TensorRole | None = None
    layer: RecurrentLayer | None = None
    largest: Sym | None = None         # integer data: the largest value, when known
    values: tuple[int, ...] | None = None  # a small 1-D literal's values (lengths for packing)

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.dims):
            self.labels = tuple(self.labels[:len(self.dims)]) + (None,) * (len(self.dims) - len(self.labels))

    @property
    def rank(self) -> int:
        return len(self.dims)

    def shape_text(self) -> str:
        return fmt_dims(self.dims)


@dataclass(eq=False)
class Tup(Value):
    items: tuple[Value, ...]
    kind: TupKind = "tuple"
    role: TupRole | None = None
    layer: RecurrentLayer | None = None
    line: int | None = None
    node: ast.AST | None = None
    count: Sym | None = None          # a list filled in a loop: `count` items like items[0]


@dataclass(eq=False)
class ModRef(Value):
    path: str


@dataclass(eq=False)
class Layer(Value):
    kind: str
    line: int | None = None
    node: ast.Call | None = None
    name: str | None = None           # the variable or attribute it is stored in
    device: str | None = "cpu"        # None: moved somewhere the snippet does not pin


@dataclass(eq=False)
class RecurrentLayer(Layer):
    args: dict[str, Any] = field(default_factory=dict)  # sizes as Sym, flags as Python values
    mode: str = "lstm"

    @property
    def class_name(self) -> str:
        return self.kind


@dataclass(eq=False)
class Linear(Layer):
    in_features: Sym = ONE
    out_features: Sym = ONE
    out_label: str | None = None


@dataclass(eq=False)
class Embedding(Layer):
    num: Sym = ONE
    dim: Sym = ONE


@dataclass(eq=False)
class Sequential(Layer):
    modules: tuple[Value, ...] = ()


@dataclass(eq=False)
class Loss(Layer):
    pass


@dataclass(eq=False)
class Function(Value):
    node: ast.FunctionDef
    owner: Instance | None = None


@dataclass(eq=False)
class UserClass(Value):
    node: ast.ClassDef
    methods: dict[str, ast.FunctionDef]
    instances: int = 0


@dataclass(eq=False)
class Instance(Value):
    cls: UserClass
    attrs: dict[str, Value] = field(default_factory=dict)


@dataclass(eq=False)
class Packed(Value):
    padded: Tensor                     # (T, B, *) in sequence-first order
    lengths: tuple[int, ...] | None
    enforce_sorted: bool = True
    line: int | None = None


@dataclass(eq=False)
class Dataset(Value):
    tensors: tuple[Value, ...]


@dataclass(eq=False)
class Loader(Value):
    dataset: Value
    batch: Int


@dataclass(eq=False)
class Iter(Value):
    """What iterating yields (one representative element), and how many times when known."""

    element: Value
    empty: bool = False
    count: Sym | None = None


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Rewrite:
    """A line of the snippet, rewritten as the fix."""

    line: int
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "old": self.old, "new": self.new}


@dataclass
class Finding:
    line: int | None
    diagnosis: dx.Diagnosis
    rewrite: Rewrite | None = None
    source: str = "static"           # static, traceback, run

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "source": self.source, **self.diagnosis.to_dict(),
                "rewrite": self.rewrite.to_dict() if self.rewrite else None}


@dataclass
class Shown:
    """One tensor (or layer) a line produced, for the margin."""

    name: str
    text: str
    dtype: str | None = None
    shape: list[str] | None = None
    value: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "shape": self.shape, "dtype": self.dtype}


@dataclass
class FollowResult:
    shapes: dict[int, list[Shown]] = field(default_factory=dict)
    error: Finding | None = None
    warnings: list[Finding] = field(default_factory=list)
    unknowns: list[Finding] = field(default_factory=list)
    assumptions: list[tuple[int | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    followed: set[int] = field(default_factory=set)


class Stop(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.diagnosis.title)
        self.finding = finding


class _Return(Exception):
    def __init__(self, value: Value) -> None:
        self.value = value


class _Halt(Exception):
    """Following cannot go on (an unknown that matters); the reason is already recorded."""


# --------------------------------------------------------------------------- the follower


def _dims_text(dims: tuple[Sym, ...]) -> str:
    return fmt_dims(dims)


class Follower:
    MAX_DEPTH = 24
    MAX_STEPS = 200_000

    def __init__(self, lines: list[str], hints: dict[str, Value] | None = None) -> None:
        self.lines = lines
        self.hints = hints or {}
        self.hint_symbols = {s for v in self.hints.values() if isinstance(v, Tensor) for d in v.dims
                             for s in d.symbols}
        self.result = FollowResult()
        self.bindings: dict[str, Sym] = {}
        self.depth = 0
        self.steps = 0
        self.line = 0
        self.classes: list[UserClass] = []
        self.classifier_class = False  # a model class named like a classifier (SentimentRNN, Classifier)
        self.fresh = 0
        self.loops: list[tuple[Sym | None, set[int]]] = []  # trip count, ids of lists made inside

    # ---- entry
    def run(self, tree: ast.Module) -> FollowResult:
        env: dict[str, Value] = {}
        try:
            try:
                self.block(tree.body, env)
            except _Return:
                pass
            except _Halt:
                pass
            self._uncalled_models(env)
        except Stop as stop:
            self.result.error = stop.finding
        except RecursionError:
            self.result.notes.append(f"line {self.line}: too deeply nested to follow; stopped there")
        self._final_shapes()
        return self.result

    def _uncalled_models(self, env: dict[str, Value]) -> None:
        """A model class the snippet never calls: follow its forward with symbols and hints."""
        for cls in self.classes:
            if cls.instances or "forward" not in cls.methods:
                continue
            init = cls.methods.get("__init__")
            inst = Instance(cls)
            if init is not None:
                scope = dict(env)
                scope[init.args.args[0].arg if init.args.args else "self"] = inst
                self._bind_params(init, scope, [], {}, skip_self=True, symbolic=True)
                try:
                    self.block(init.body, scope)
                except _Return:
                    pass
                except _Halt:
                    continue
            fwd = cls.methods["forward"]
            self.result.notes.append(
                f"{cls.node.name} is never called in the snippet: its forward was followed with "
                + ("the --shape hints" if any(a.arg in self.hints for a in fwd.args.args) else
                   "its arguments unknown (give them with --shape NAME=SHAPE)"))
            scope = dict(env)
            try:
                self.call_function(Function(fwd, inst), [], {}, scope_base=env, from_hints=True)
            except _Halt:
                continue

    # ---- bookkeeping
    def sub(self, s: Sym) -> Sym:
        return s.substitute(self.bindings) if self.bindings else s

    def tensor_dims(self, t: Tensor) -> tuple[Sym, ...]:
        return tuple(self.sub(d) for d in t.dims)

    def new_symbol(self, name: str) -> Sym:
        return Sym.var(name)

    def show(self, line: int, name: str, value: Value) -> None:
        if name == "_" or getattr(value, "loop_index", False):
            return
        text = self.describe(value)
        if text is None:
            return
        shown = self.result.shapes.setdefault(line, [])
        if any(s.name == name and s.text == text for s in shown):
            return
        if any(s.name == name for s in shown):
            return  # a line followed twice (a loop, two calls) keeps its first shapes
        shape = None
        dtype = None
        if isinstance(value, Tensor):
            shape = [str(d) for d in self.tensor_dims(value)]
            dtype = value.dtype
        shown.append(Shown(name, text, dtype, shape, value))

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
            dims = self.tensor_dims(value)
            text = _dims_text(dims)
            if value.dtype != "float32":
                text += f" {value.dtype}"
            return text
        if isinstance(value, Int):
            s = self.sub(value.sym)
            return str(s) if s.is_const or value.label else f"= {s}"
        if isinstance(value, RecurrentLayer):
            a = value.args
            return f"{value.kind}({self._fmt_arg(a.get('input_size'))} → {self._fmt_arg(a.get('hidden_size'))})"
        if isinstance(value, Linear):
            return f"Linear({self.sub(value.in_features)} → {self.sub(value.out_features)})"
        if isinstance(value, Embedding):
            return f"Embedding({self.sub(value.num)} ids → {self.sub(value.dim)})"
        if isinstance(value, Packed):
            return f"packed {_dims_text(self.tensor_dims(value.padded))}"
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
            hint = f"--shape {hint_name}={example}"
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
        v = compare(self.sub(a), self.sub(b), prefer=sorted(self.hint_symbols))
        if v.kind == "bind":
            self.assume(v, why)
        return v

    # ---- statements
    def block(self, body: list[ast.stmt], env: dict[str, Value]) -> None:
        for stmt in body:
            self.statement(stmt, env)

    def statement(self, stmt: ast.stmt, env: dict[str, Value]) -> None:
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            self.result.notes.append("the snippet is too long to follow to the end")
            raise _Halt()
        self.line = stmt.lineno
        self.result.followed.add(stmt.lineno)
        try:
            self._statement(stmt, env)
        except RecursionError:
            self.result.notes.append(f"line {stmt.lineno} is too deeply nested to follow; skipped")

    def _statement(self, stmt: ast.stmt, env: dict[str, Value]) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    env[alias.asname] = ModRef(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    env[top] = ModRef(top)
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if alias.name == "*":
                    if stmt.module in ("torch.nn", "torch"):
                        env.setdefault("__star__", ModRef(stmt.module))
                    continue
                env[alias.asname or alias.name] = ModRef(f"{stmt.module}.{alias.name}")
        elif isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value, env)
            for target in stmt.targets:
                self.assign(target, value, env, stmt)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, self.expr(stmt.value, env), env, stmt)
        elif isinstance(stmt, ast.AugAssign):
            left = self.expr(stmt.target, env)
            value = self.binop(stmt.op, left, self.expr(stmt.value, env), stmt)
            self.assign(stmt.target, value, env, stmt)
        elif isinstance(stmt, ast.Expr):
            value = self.expr(stmt.value, env)
            if isinstance(value, Tup) and value.kind == "size":  # a REPL echo of x.shape
                self.show(stmt.lineno, self.src(stmt.value)[:30], Tensor(tuple(
                    i.sym if isinstance(i, Int) else Sym.var("?") for i in value.items)))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            env[stmt.name] = Function(stmt)  # type: ignore[arg-type]
        elif isinstance(stmt, ast.ClassDef):
            methods = {s.name: s for s in stmt.body if isinstance(s, ast.FunctionDef)}
            cls = UserClass(stmt, methods)
            self.classes.append(cls)
            self.classifier_class = self.classifier_class or bool(_CLASS_NAME.search(stmt.name))
            env[stmt.name] = cls
        elif isinstance(stmt, ast.Return):
            raise _Return(self.expr(stmt.value, env) if stmt.value is not None else Const(None))
        elif isinstance(stmt, ast.If):
            self.if_(stmt, env)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.for_(stmt, env)
        elif isinstance(stmt, ast.While):
            cond = self.truth(self.expr(stmt.test, env))
            if cond is not False:
                self.block(stmt.body, env)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                v = self.expr(item.context_expr, env)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, v if not isinstance(v, (Const, ModRef)) else
                                Unknown("a context manager's value"), env, stmt)
            self.block(stmt.body, env)
        elif isinstance(stmt, ast.Try):
            self.block(stmt.body, env)
            self.block(stmt.orelse, env)
            self.block(stmt.finalbody, env)
        elif isinstance(stmt, ast.Delete):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    env.pop(t.id, None)
        # pass, assert, global, raise, break, continue: nothing to follow

    def if_(self, stmt: ast.If, env: dict[str, Value]) -> None:
        cond = self.truth(self.expr(stmt.test, env))
        if cond is True:
            self.block(stmt.body, env)
            return
        if cond is False:
            self.block(stmt.orelse, env)
            return
        # undecidable: follow both on copies and keep only what they agree on
        left, right = dict(env), dict(env)
        self.block(stmt.body, left)
        self.block(stmt.orelse, right)
        for name in set(left) | set(right):
            a, b = left.get(name), right.get(name)
            if a is b:
                if a is not None:
                    env[name] = a
                continue
            if a is not None and b is not None and self.same(a, b):
                env[name] = a
            else:
                env[name] = Unknown(f"{name} depends on a condition rnnshape cannot decide "
                                    f"(line {stmt.lineno})", f"--shape {name}=...")

    def same(self, a: Value, b: Value) -> bool:
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            return self.tensor_dims(a) == self.tensor_dims(b) and a.dtype == b.dtype
        if isinstance(a, Int) and isinstance(b, Int):
            return self.sub(a.sym) == self.sub(b.sym)
        if isinstance(a, Const) and isinstance(b, Const):
            return a.value == b.value
        return a is b

    def for_(self, stmt: ast.For | ast.AsyncFor, env: dict[str, Value]) -> None:
        it = self.iterate(self.expr(stmt.iter, env), stmt.iter)
        if it.empty:
            self.block(stmt.orelse, env)
            return
        element = it.element
        if isinstance(element, Int) and getattr(element, "loop_index", False) and isinstance(stmt.target, ast.Name):
            element = Int(Sym.var(stmt.target.id))
            element.loop_index = True  # type: ignore[attr-defined]
        self.assign(stmt.target, element, env, stmt)
        self.line = stmt.lineno
        self.loops.append((it.count, set()))
        try:
            self.block(stmt.body, env)  # once: one representative iteration
        finally:
            self.loops.pop()

    def iterate(self, value: Value, node: ast.AST) -> Iter:
        if isinstance(value, Const) and isinstance(value.value, range):
            r = value.value
            if len(r) == 0:
                return Iter(Const(None), empty=True)
            if len(r) == 1:
                return Iter(Int(Sym.const(r[0])), count=ONE)
            index = Int(Sym.var("i"))
            index.loop_index = True  # type: ignore[attr-defined]
            return Iter(index, count=Sym.const(len(r)))
        if isinstance(value, Tensor):
            if value.rank == 0:
                self.stop(dx.shape_op(op="iteration", detail="iteration over a 0-d tensor",
                                      torch_message="iteration over a 0-d tensor"))
            return Iter(self.index_tensor(value, [ast.Constant(0)], node, silent=True), count=self.sub(value.dims[0]))
        if isinstance(value, Tup):
            if value.count is not None and value.items:
                return Iter(value.items[0], count=value.count)
            if not value.items:
                return Iter(Const(None), empty=True)
            first = value.items[0]
            if all(self.same(first, v) for v in value.items[1:]):
                return Iter(first)
            return Iter(Unknown(f"the items of {self.src(node)} differ"))
        if isinstance(value, Loader):
            return Iter(self.loader_batch(value))
        if isinstance(value, Iter):
            return value
        return Iter(Unknown(f"what iterating {self.src(node)} gives is not known",
                            "--shape NAME=SHAPE for the loop variables"))

    def loader_batch(self, loader: Loader) -> Value:
        ds = loader.dataset
        items = ds.tensors if isinstance(ds, Dataset) else None
        if items is None:
            return Unknown("a DataLoader over a dataset rnnshape does not follow",
                           "--shape NAME=SHAPE for the batch (e.g. --shape x=32,50,300)")
        out: list[Value] = []
        for t in items:
            if isinstance(t, Tensor) and t.rank >= 1:
                out.append(replace(t, dims=(loader.batch.sym, *t.dims[1:]),
                                   labels=(loader.batch.label or "batch_size", *t.labels[1:]),
                                   origin="a DataLoader batch", role=None, layer=None))
            else:
                out.append(Unknown("a dataset item rnnshape does not follow"))
        return Tup(tuple(out), "list") if len(out) != 1 else out[0]

    # ---- assignment
    def assign(self, target: ast.expr, value: Value, env: dict[str, Value], stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, Unknown) and target.id in self.hints:
                value = self.hints[target.id]
            if isinstance(value, Int) and value.label is None and not getattr(value, "loop_index", False):
                value = Int(value.sym, target.id)
            if isinstance(value, Layer) and value.name is None:
                value.name = target.id
            if isinstance(value, Tensor) and not (value.origin or "").startswith("--shape"):
                value = replace(value, origin=f"{target.id}, line {self.line}")
            env[target.id] = value
            self.show(self.line, target.id, value)
        elif isinstance(target, ast.Attribute):
            obj = self.expr(target.value, env)
            if isinstance(value, Layer) and value.name is None:
                value.name = self.src(target)
            if isinstance(obj, Instance):
                obj.attrs[target.attr] = value
            self.show(self.line, self.src(target), value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, value, env, stmt)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, Unknown("a starred assignment"), env, stmt)
        # subscripts (x[i] = ...) change no shape we follow

    def unpack(self, target: ast.Tuple | ast.List, value: Value, env: dict[str, Value], stmt: ast.stmt) -> None:
        names = target.elts
        m = len(names)
        if any(isinstance(e, ast.Starred) for e in names):
            for e in names:
                self.assign(e.value if isinstance(e, ast.Starred) else e, Unknown("a starred assignment"),
                            env, stmt)
            return
        if isinstance(value, Tup):
            n = len(value.items)
            if n != m:
                layer = value.layer
                d = dx.unpack_outputs(expected=m, got=n if n < m else None, too_many=n > m,
                                      layer=f"nn.{layer.kind}" if layer else "the recurrent layer",
                                      torch_message=(f"not enough values to unpack (expected {m}, got {n})"
                                                     if n < m else f"too many values to unpack (expected {m})"))
                self.stop(d, self._unpack_rewrite(stmt, target, value))
            for e, v in zip(names, value.items, strict=True):
                self.assign(e, v, env, stmt)
            return
        if isinstance(value, Tensor):
            if value.rank == 0:
                self.stop(dx.shape_op(op="unpacking", detail="a 0-d tensor cannot be unpacked",
                                      torch_message="iteration over a 0-d tensor"))
            first = self.sub(value.dims[0])
            n = first.value
            role = value.role
            if n is None:
                for e in names:
                    self.assign(e, Unknown(f"unpacking {value.origin or 'a tensor'} along a dimension of "
                                           f"unknown size {first}"), env, stmt)
                return
            if n != m:
                d = dx.unpack_outputs(expected=m, got=n if n < m else None, too_many=n > m,
                                      layer=f"nn.{value.layer.kind}" if value.layer else "the recurrent layer",
                                      torch_message=(f"not enough values to unpack (expected {m}, got {n})"
                                                     if n < m else f"too many values to unpack (expected {m})"))
                self.stop(d, self._unpack_rewrite(stmt, target, None, value))
            if role in ("h_n", "c_n") and value.layer is not None and value.layer.mode in ("gru", "rnn"):
                d = dx.unpack_outputs(expected=m, got=n, too_many=False,
                                      layer=f"nn.{value.layer.kind}", torch_message=None)
                self.warn(replace(d, severity="warning", title=f"{self.src(target)} splits h_n's {n} layers/"
                                  "directions: a GRU or RNN has no cell state",
                                  explanation=d.explanation + f" Here h_n's first dimension happens to be "
                                  f"{n}, so nothing fails: the names get one layer or direction each."),
                          self._unpack_rewrite(stmt, target, None, value))
            for e in names:
                self.assign(e, self.index_tensor(value, [ast.Constant(0)], target, silent=True), env, stmt)
            return
        if isinstance(value, Iter):
            value = value.element
        for i, e in enumerate(names):
            self.assign(e, Unknown(value.reason if isinstance(value, Unknown) else
                                   f"item {i} of a value rnnshape does not follow",
                                   value.hint if isinstance(value, Unknown) else None), env, stmt)

    def _unpack_rewrite(self, stmt: ast.stmt, target: ast.expr, tup: Tup | None,
                        tensor: Tensor | None = None) -> Rewrite | None:
        layer = (tup.layer if tup else None) or (tensor.layer if tensor else None)
        if layer is None or not isinstance(target, (ast.Tuple, ast.List)):
            return None
        names = [self.src(e) for e in target.elts]
        flat = [n.strip("()") for n in ", ".join(names).replace("(", "").replace(")", "").split(",")]
        flat = [n.strip() for n in flat if n.strip()]
        if tensor is not None and tensor.role in ("h_n", "c_n") and flat:
            new = flat[0]   # h_n unpacked as (h, c): a GRU's or RNN's state is one tensor
        elif layer.mode == "lstm" and len(flat) >= 3:
            new = f"{flat[0]}, ({flat[1]}, {flat[2]})"
        elif layer.mode in ("gru", "rnn") and len(flat) >= 2:
            new = f"{flat[0]}, {flat[1]}"
        else:
            return None
        return self._rewrite_node(stmt.lineno, target, new)

    def _expr_for(self, node: ast.AST, cur: Sym | None, want: Sym) -> str:
        """The new argument: the number for a literal, else the old expression adjusted (2 * hidden_size)."""
        src = self.src(node)
        if isinstance(node, ast.Constant) or cur is None:
            return str(want)
        cur, want = self.sub(cur), self.sub(want)
        k = want.exact_div(cur) if cur != Sym.const(0) else None
        if k is not None and k.is_const and (k.value or 0) > 1:
            wrapped = src if isinstance(node, (ast.Name, ast.Attribute, ast.Call)) else f"({src})"
            return f"{k.value} * {wrapped}"
        diff = want - cur
        if diff.is_const and diff.value in (1, -1):
            return f"{src} + 1" if diff.value > 0 else f"{src} - 1"
        return str(want)

    def _rewrite_node(self, line: int, node: ast.AST, new: str) -> Rewrite | None:
        if getattr(node, "lineno", None) != getattr(node, "end_lineno", None) or line < 1 or \
                line > len(self.lines):
            return None
        text = self.lines[node.lineno - 1]  # type: ignore[attr-defined]
        a, b = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if b is None:
            return None
        raw = text.encode("utf-8")
        new_text = (raw[:a] + new.encode() + raw[b:]).decode("utf-8", errors="replace")
        return Rewrite(node.lineno, text, new_text)  # type: ignore[attr-defined]

    # ---- truth of conditions
    def truth(self, value: Value) -> bool | None:
        if isinstance(value, Const):
            try:
                return bool(value.value)
            except Exception:  # noqa: BLE001
                return None
        if isinstance(value, Int):
            s = self.sub(value.sym)
            if s.is_const:
                return bool(s.value)
            return None
        if isinstance(value, (Tensor, Layer, Instance, Tup)):
            return None if isinstance(value, (Tensor, Tup)) else True
        return None

    # ---- expressions
    def expr(self, node: ast.expr | None, env: dict[str, Value]) -> Value:
        if node is None:
            return Const(None)
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            return Unknown(f"{self.src(node)[:60]} is not followed")
        return method(node, env)

    def e_Constant(self, node: ast.Constant, env: dict[str, Value]) -> Value:
        v = node.value
        if isinstance(v, int) and not isinstance(v, bool):
            return Int(Sym.const(v))
        return Const(v)

    def e_Name(self, node: ast.Name, env: dict[str, Value]) -> Value:
        if node.id in env:
            return env[node.id]
        if node.id in self.hints:
            return self.hints[node.id]
        if node.id in ("torch",):
            return ModRef("torch")
        if node.id == "nn":
            return ModRef("torch.nn")
        if node.id == "F":
            return ModRef("torch.nn.functional")
        if node.id in ("range", "len", "print", "int", "float", "min", "max", "enumerate", "zip", "list",
                       "tuple", "sum", "abs", "round", "isinstance", "super", "str", "bool", "sorted",
                       "reversed", "iter", "next", "type", "dict", "getattr", "hasattr", "id", "map"):
            return ModRef("builtins." + node.id)
        star = env.get("__star__")
        if isinstance(star, ModRef):
            return ModRef(f"{star.path}.{node.id}")
        return Unknown(f"{node.id} is not defined in the snippet", f"--shape {node.id}=...")

    def e_Tuple(self, node: ast.Tuple, env: dict[str, Value]) -> Value:
        return Tup(tuple(self.expr(e, env) for e in node.elts), "tuple", line=node.lineno, node=node)

    def e_List(self, node: ast.List, env: dict[str, Value]) -> Value:
        lst = Tup(tuple(self.expr(e, env) for e in node.elts), "list", line=node.lineno, node=node)
        if self.loops:
            self.loops[-1][1].add(id(lst))
        return lst

    def e_JoinedStr(self, node: ast.JoinedStr, env: dict[str, Value]) -> Value:
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                self.expr(v.value, env)
        return Const("")

    def e_UnaryOp(self, node: ast.UnaryOp, env: dict[str, Value]) -> Value:
        v = self.expr(node.operand, env)
        if isinstance(node.op, ast.USub):
            if isinstance(v, Int):
                return Int(-v.sym)
            if isinstance(v, Const) and isinstance(v.value, (int, float)):
                return Const(-v.value)
            if isinstance(v, Tensor):
                return replace(v, role=None, node=None)
        if isinstance(node.op, ast.Not):
            t = self.truth(v)
            return Const(not t) if t is not None else Unknown("a condition")
        if isinstance(node.op, ast.UAdd):
            return v
        return Unknown("a unary operation")

    def e_BoolOp(self, node: ast.BoolOp, env: dict[str, Value]) -> Value:
        values = [self.truth(self.expr(v, env)) for v in node.values]
        if isinstance(node.op, ast.And):
            if False in values:
                return Const(False)
            return Const(True) if all(v is True for v in values) else Unknown("a condition")
        if True in values:
            return Const(True)
        return Const(False) if all(v is False for v in values) else Unknown("a condition")

    def e_Compare(self, node: ast.Compare, env: dict[str, Value]) -> Value:
        left = self.expr(node.left, env)
        if len(node.ops) != 1:
            return Unknown("a chained comparison")
        right = self.expr(node.comparators[0], env)
        op = node.ops[0]
        if isinstance(op, (ast.Is, ast.IsNot)):
            ln = isinstance(left, Const) and left.value is None
            rn = isinstance(right, Const) and right.value is None
            if isinstance(left, Unknown) or isinstance(right, Unknown):
                return Unknown("a comparison with an unknown value")
            same = ln and rn if (ln or rn) else None
            if same is None:
                return Unknown("an identity comparison")
            return Const(same if isinstance(op, ast.Is) else not same)
        if isinstance(left, Int) and isinstance(right, Int):
            a, b = self.sub(left.sym), self.sub(right.sym)
            if a.is_const and b.is_const:
                x, y = a.value, b.value
                ops = {ast.Eq: x == y, ast.NotEq: x != y, ast.Lt: x < y, ast.LtE: x <= y,  # type: ignore[operator]
                       ast.Gt: x > y, ast.GtE: x >= y}  # type: ignore[operator]
                if type(op) in ops:
                    return Const(ops[type(op)])
        if isinstance(left, Const) and isinstance(right, Const):
            try:
                import operator
                fn = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.In: lambda a, b: a in b}.get(type(op))
                if fn is not None:
                    return Const(fn(left.value, right.value))
            except Exception:  # noqa: BLE001
                pass
        return Unknown("a comparison")

    def e_IfExp(self, node: ast.IfExp, env: dict[str, Value]) -> Value:
        cond = self.truth(self.expr(node.test, env))
        if cond is True:
            return self.expr(node.body, env)
        if cond is False:
            return self.expr(node.orelse, env)
        a, b = self.expr(node.body, env), self.expr(node.orelse, env)
        if self.same(a, b):
            return a
        return Unknown(f"{self.src(node)[:60]} depends on a condition rnnshape cannot decide")

    def e_Starred(self, node: ast.Starred, env: dict[str, Value]) -> Value:
        return self.expr(node.value, env)

    def e_Lambda(self, node: ast.Lambda, env: dict[str, Value]) -> Value:
        return Unknown("a lambda")

    def e_ListComp(self, node: ast.ListComp, env: dict[str, Value]) -> Value:
        return Unknown("a list comprehension", None)

    def e_BinOp(self, node: ast.BinOp, env: dict[str, Value]) -> Value:
        return self.binop(node.op, self.expr(node.left, env), self.expr(node.right, env), node)

    def binop(self, op: ast.operator, a: Value, b: Value, node: ast.AST) -> Value:
        if isinstance(a, Int) and isinstance(b, Int):
            x, y = self.sub(a.sym), self.sub(b.sym)
            if isinstance(op, ast.Add):
                return Int(x + y)
            if isinstance(op, ast.Sub):
                return Int(x - y)
            if isinstance(op, ast.Mult):
                return Int(x * y)
            if isinstance(op, ast.FloorDiv):
                if x.is_const and y.is_const and y.value:
                    return Int(Sym.const(x.value // y.value))  # type: ignore[operator]
                q = x.exact_div(y)
                return Int(q) if q is not None else Int(Sym.var(f"{x}//{y}"))
            if isinstance(op, ast.Mod) and x.is_const and y.is_const and y.value:
                return Int(Sym.const(x.value % y.value))  # type: ignore[operator]
            if isinstance(op, ast.Pow) and x.is_const and y.is_const and 0 <= (y.value or 0) < 64:
                return Int(Sym.const(x.value ** y.value))  # type: ignore[operator]
            if isinstance(op, ast.Div):
                return Const(None) if not (x.is_const and y.is_const and y.value) else \
                    Const(x.value / y.value)  # type: ignore[operator]
            return Unknown("integer arithmetic rnnshape does not follow")
        if isinstance(a, Const) and isinstance(b, Const):
            try:
                fns = {ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q, ast.Mult: lambda p, q: p * q,
                       ast.Div: lambda p, q: p / q}
                fn = fns.get(type(op))
                if fn is not None:
                    return Const(fn(a.value, b.value))
            except Exception:  # noqa: BLE001
                pass
            return Const(None)
        if isinstance(a, Tup) and isinstance(b, Tup) and isinstance(op, ast.Add):
            return Tup(a.items + b.items, a.kind)
        if isinstance(a, Tup) and isinstance(b, Int) and isinstance(op, ast.Mult) and self.sub(b.sym).is_const:
            return Tup(a.items * (self.sub(b.sym).value or 0), a.kind)
        if isinstance(op, ast.MatMult):
            return self.matmul(a, b)
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return self.broadcast(a, b)
        if isinstance(a, Unknown):
            return a
        if isinstance(b, Unknown):
            return b
        return Unknown("an operation rnnshape does not follow")

    def broadcast(self, a: Value, b: Value) -> Value:
        for v in (a, b):
            if isinstance(v, Tup) and v.role:
                self._tuple_as_tensor(v, "an arithmetic operation")
            if isinstance(v, Packed):
                self.stop(dx.packed_as_tensor(where="an arithmetic operation", torch_message=None))
        if not isinstance(a, Tensor):
            if isinstance(a, (Int, Const)):
                return replace(b, role=None, node=None, largest=None)  # type: ignore[type-var]
            return Unknown("an operation with a value rnnshape does not follow")
        if not isinstance(b, Tensor):
            if isinstance(b, (Int, Const)):
                dtype = a.dtype
                if isinstance(b, Const) and isinstance(b.value, float) and dtype in INT_DTYPES:
                    dtype = "float32"
                return replace(a, role=None, node=None, largest=None, dtype=dtype)
            return Unknown("an operation with a value rnnshape does not follow")
        da, db = self.tensor_dims(a), self.tensor_dims(b)
        out: list[Sym] = []
        n = max(len(da), len(db))
        pa = (ONE,) * (n - len(da)) + da
        pb = (ONE,) * (n - len(db)) + db
        for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
            if x == ONE:
                out.append(y)
            elif y == ONE:
                out.append(x)
            else:
                v = self.equal(x, y, "broadcasting in an elementwise operation")
                if v.differ:
                    msg = None
                    if x.is_const and y.is_const:
                        msg = (f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {i}")
                    self.stop(dx.shape_op(op="elementwise operation", detail=(
                        f"the shapes {fmt_dims(da)} and {fmt_dims(db)} do not broadcast: dimension {i} "
                        f"is {x} on one side and {y} on the other"), torch_message=msg))
                if v.kind == "unknown":
                    return Unknown(f"whether {x} equals {y} (broadcasting)")
                out.append(self.sub(x))
        dtype = a.dtype if a.dtype in FLOAT_DTYPES else b.dtype
        return Tensor(tuple(out), dtype=dtype, device=a.device or b.device, origin=a.origin,
                      role=a.role if a.role == "logits-per-step" else None, layer=a.layer)

    def matmul(self, a: Value, b: Value) -> Value:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return Unknown("a matrix product with a value rnnshape does not follow")
        da, db = self.tensor_dims(a), self.tensor_dims(b)
        if len(da) < 1 or len(db) < 1:
            return Unknown("a matrix product of 0-d tensors")
        k1 = da[-1]
        k2 = db[0] if len(db) == 1 else db[-2]
        v = self.equal(k1, k2, "matrix product")
        if v.differ:
            msg = None
            if len(da) == 2 and len(db) == 2 and all(d.is_const for d in (*da, *db)):
                msg = f"mat1 and mat2 shapes cannot be multiplied ({da[0]}x{da[1]} and {db[0]}x{db[1]})"
            self.stop(dx.shape_op(op="matrix product", detail=(
                f"{fmt_dims(da)} @ {fmt_dims(db)}: the inner sizes {k1} and {k2} differ"), torch_message=msg))
        if v.kind == "unknown":
            return Unknown(f"whether {k1} equals {k2} (matrix product)")
        if len(db) == 1:
            return Tensor(da[:-1], dtype=a.dtype)
        if len(da) == 1:
            return Tensor(db[:-2] + db[-1:], dtype=a.dtype)
        return Tensor(da[:-1] + db[-1:], dtype=a.dtype)

    def e_Attribute(self, node: ast.Attribute, env: dict[str, Value]) -> Value:
        obj = self.expr(node.value, env)
        return self.attribute(obj, node.attr, node)

    def attribute(self, obj: Value, attr: str, node: ast.AST) -> Value:
        if isinstance(obj, ModRef):
            path = f"{obj.path}.{attr}"
            if obj.path == "torch" and attr in DTYPES:
                return Const(DType(DTYPES[attr]))
            return ModRef(path)
        if isinstance(obj, Instance):
            if attr in obj.attrs:
                return obj.attrs[attr]
            if attr in obj.cls.methods:
                return Function(obj.cls.methods[attr], obj)
            if attr in ("to", "cuda", "cpu"):
                return BoundMethod(obj, attr)
            if attr in ("eval", "train", "double", "float", "half", "zero_grad",
                        "parameters", "named_parameters", "state_dict", "load_state_dict", "apply"):
                return ModRef(f"<method {attr}>")
            return Unknown(f"self.{attr} is not set in the snippet", None)
        if isinstance(obj, Tensor):
            if attr == "shape":
                return Tup(tuple(Int(d, lab) for d, lab in zip(obj.dims, obj.labels, strict=True)), "size")
            if attr == "T":
                return self.permute(obj, list(range(obj.rank))[::-1], node)
            if attr == "dtype":
                return Const(DType(obj.dtype))
            if attr == "device":
                return Const(Device(obj.device or "cpu"))
            if attr == "ndim":
                return Int(Sym.const(obj.rank))
            if attr in ("data", "mT"):
                return obj if attr == "data" else self.permute(obj, [*range(obj.rank - 2), obj.rank - 1,
                                                                     obj.rank - 2], node)
            if attr == "is_cuda":
                return Const((obj.device or "cpu").startswith("cuda"))
            return BoundMethod(obj, attr)
        if isinstance(obj, Tup):
            if obj.role:
                if attr in ("shape", "size", "view", "reshape", "dim", "detach", "to", "contiguous", "squeeze",
                            "unsqueeze", "permute", "transpose", "float", "cuda", "cpu", "numel", "flatten"):
                    self._tuple_as_tensor(obj, f".{attr}")
            return BoundMethod(obj, attr)
        if isinstance(obj, Packed):
            if attr == "data":
                return Tensor((Sym.var("sum(lengths)"), *self.tensor_dims(obj.padded)[2:]),
                              dtype=obj.padded.dtype)
            if attr in ("shape", "size", "view", "reshape", "contiguous", "squeeze", "unsqueeze", "permute",
                        "transpose", "dim"):
                self.stop(dx.packed_as_tensor(
                    where=f".{attr}", torch_message=f"'PackedSequence' object has no attribute '{attr}'"))
            return Unknown(f"the PackedSequence's .{attr}")
        if isinstance(obj, Layer):
            return BoundMethod(obj, attr)
        if isinstance(obj, (Loader, Dataset)):
            return BoundMethod(obj, attr)
        if isinstance(obj, Const) and isinstance(obj.value, (DType, Device)):
            return Const(None)
        if isinstance(obj, Unknown):
            return obj
        return Unknown(f"the attribute .{attr}")

    def _tuple_as_tensor(self, tup: Tup, where: str) -> None:
        layer = tup.layer
        name = f"nn.{layer.kind}" if layer else "the recurrent layer"
        attr = where.lstrip(".").split("(")[0]
        if tup.role == "state":
            d = dx.state_tuple_as_tensor(layer=name, where=where,
                                         torch_message=f"'tuple' object has no attribute '{attr}'"
                                         if where.startswith(".") else None)
        else:
            d = dx.output_tuple(layer=name, where=where,
                                torch_message=f"'tuple' object has no attribute '{attr}'"
                                if where.startswith(".") else None)
        self.stop(d, self._tuple_rewrite(tup))

    def _tuple_rewrite(self, tup: Tup) -> Rewrite | None:
        """The line that made the tuple, unpacked as it should be."""
        info = getattr(tup, "_assigned", None)
        if info is None:
            return None
        line, target = info
        layer = tup.layer
        if layer is None:
            return None
        if tup.role == "state":
            new = f"{target}, c_n" if False else None  # the assignment's own targets are rewritten below
            stmt_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            m = re.match(r"^(\s*)(\w+)\s*,\s*(\w+)\s*=", stmt_line)
            if m:
                h = m.group(3)
                new = stmt_line.replace(f"{m.group(2)}, {h}", f"{m.group(2)}, ({h}, c_n)", 1) \
                    if f"{m.group(2)}, {h}" in stmt_line else None
                if new:
                    return Rewrite(line, stmt_line, new)
            return None
        stmt_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        m = re.match(r"^(\s*)([\w.]+)\s*=", stmt_line)
        if m:
            state = "(h_n, c_n)" if layer.mode == "lstm" else "h_n"
            new = f"{m.group(1)}{m.group(2)}, {state} =" + stmt_line[m.end():]
            return Rewrite(line, stmt_line, new)
        return None

    def e_Subscript(self, node: ast.Subscript, env: dict[str, Value]) -> Value:
        obj = self.expr(node.value, env)
        sl = node.slice
        parts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        if isinstance(obj, Tensor):
            result = self.index_tensor(obj, parts, node, env=env)
            return result
        if isinstance(obj, Tup):
            if obj.role and isinstance(sl, ast.Tuple):
                name = f"nn.{obj.layer.kind}" if obj.layer else "the recurrent layer"
                maker = dx.state_tuple_as_tensor if obj.role == "state" else dx.output_tuple
                self.stop(maker(layer=name, where=f"indexed as a tensor, {self.src(node)}",
                                torch_message="tuple indices must be integers or slices, not tuple"),
                          self._tuple_rewrite(obj))
            if obj.role == "state" and len(parts) == 1:
                idx = self.expr(parts[0], env)
                if isinstance(idx, Int) and self.sub(idx.sym).is_const:
                    i = self.sub(idx.sym).value or 0
                    if i in (-1, 1) and obj.layer is not None:
                        d = dx.state_tuple_as_tensor(layer=f"nn.{obj.layer.kind}", where=f"[{i}]",
                                                     torch_message=None)
                        self.warn(replace(d, severity="warning", title=(
                            f"{self.src(node)} is c_n, the LSTM's cell state, not the last layer's h_n"),
                            explanation=(
                            f"{self.src(node.value)} holds the LSTM's state tuple (h_n, c_n), so "
                            f"{self.src(node)} picks c_n, the cell state, rather than indexing h_n. The "
                            "shapes work, but the classifier reads the wrong tensor. Unpack the tuple: "
                            "out, (h_n, c_n) = lstm(x), then use h_n[-1].")), self._tuple_rewrite(obj))
            if len(parts) == 1:
                idx = self.expr(parts[0], env) if not isinstance(parts[0], ast.Slice) else None
                if isinstance(idx, Int) and self.sub(idx.sym).is_const:
                    i = self.sub(idx.sym).value or 0
                    if -len(obj.items) <= i < len(obj.items):
                        return obj.items[i]
                    self.stop(dx.shape_op(op="indexing", detail=f"index {i} of a tuple of {len(obj.items)}",
                                          torch_message="tuple index out of range"))
                if isinstance(parts[0], ast.Slice):
                    lo, hi, st = (self._const_int(parts[0].lower, env), self._const_int(parts[0].upper, env),
                                  self._const_int(parts[0].step, env))
                    if None not in (lo, hi, st) or (parts[0].lower is None or lo is not None):
                        try:
                            return Tup(obj.items[slice(lo, hi, st)], obj.kind)
                        except (TypeError, ValueError):
                            pass
            return Unknown(f"{self.src(node)[:60]}")
        if isinstance(obj, Packed):
            self.stop(dx.packed_as_tensor(where="indexing", torch_message="'PackedSequence' object is not "
                                          "subscriptable"))
        if isinstance(obj, Unknown):
            return obj
        return Unknown(f"{self.src(node)[:60]} is not followed")

    def _const_int(self, node: ast.expr | None, env: dict[str, Value]) -> int | None:
        if node is None:
            return None
        v = self.expr(node, env)
        if isinstance(v, Int):
            s = self.sub(v.sym)
            return s.value if s.is_const else None
        return None

    def _span(self, lower: ast.expr, upper: ast.expr, env: dict[str, Value]) -> int | None:
        """``x[t:t+k]`` spans k items whatever t is (within the tensor): the bounds' difference."""
        lo, hi = self.expr(lower, env), self.expr(upper, env)
        if isinstance(lo, Int) and isinstance(hi, Int):
            d = self.sub(hi.sym) - self.sub(lo.sym)
            if d.is_const and (d.value or 0) > 0 and not self.sub(lo.sym).is_const:
                return d.value
        return None

    def index_tensor(self, t: Tensor, parts: list[ast.expr], node: ast.AST, *, silent: bool = False,
                     env: dict[str, Value] | None = None) -> Value:
        env = env or {}
        dims = list(self.tensor_dims(t))
        labels = list(t.labels)
        out: list[Sym] = []
        out_labels: list[str | None] = []
        i = 0
        n_real = sum(1 for p in parts if not (isinstance(p, ast.Constant) and p.value is None)
                     and not (isinstance(p, ast.Constant) and p.value is Ellipsis))
        if n_real > len(dims):
            self.stop(dx.shape_op(op="indexing", detail=(
                f"{self.src(node)} indexes {n_real} dimensions of a {len(dims)}-D tensor {fmt_dims(dims)}"),
                torch_message=f"too many indices for tensor of dimension {len(dims)}"))
        int_only = True
        for p in parts:
            if isinstance(p, ast.Constant) and p.value is None:
                out.append(ONE)
                out_labels.append(None)
                continue
            if isinstance(p, ast.Constant) and p.value is Ellipsis:
                keep = len(dims) - n_real
                out.extend(dims[i:i + keep])
                out_labels.extend(labels[i:i + keep])
                i += keep
                continue
            size = dims[i]
            if isinstance(p, ast.Slice):
                int_only = False
                lo, hi, st = (self._const_int(p.lower, env), self._const_int(p.upper, env),
                              self._const_int(p.step, env))
                known = all(x is None or self._const_int(x, env) is not None for x in (p.lower, p.upper, p.step))
                if p.lower is None and p.upper is None and p.step is None:
                    out.append(size)
                elif known and size.is_const:
                    out.append(Sym.const(len(range(*slice(lo, hi, st).indices(size.value or 0)))))
                elif known and st in (None, 1) and lo is not None and lo < 0 and hi is None:
                    out.append(Sym.const(-lo))  # x[-k:] has k items once the size is >= k
                elif known and st in (None, 1) and hi is not None and hi >= 0 and lo in (None, 0):
                    out.append(Sym.var(f"min({size}, {hi})"))
                elif p.step is None and p.lower is not None and p.upper is not None and \
                        self._span(p.lower, p.upper, env) is not None:
                    out.append(Sym.const(self._span(p.lower, p.upper, env) or 0))  # x[t:t+1]: 1 step
                else:
                    out.append(Sym.var(f"len({self.src(node)})"))
                out_labels.append(labels[i])
                i += 1
                continue
            v = self.expr(p, env) if env is not None else Unknown("")
            if isinstance(p, ast.Constant) and isinstance(p.value, int):
                v = Int(Sym.const(p.value))
            if isinstance(v, Int):
                s = self.sub(v.sym)
                if s.is_const and size.is_const:
                    k = s.value or 0
                    if not -(size.value or 0) <= k < (size.value or 0):
                        self.stop(dx.shape_op(op="indexing", detail=(
                            f"index {k} is out of range for dimension {i} of size {size} in {fmt_dims(dims)}"),
                            torch_message=f"index {k} is out of bounds for dimension {i} with size {size}"))
                i += 1
                continue
            if isinstance(v, Tensor):
                return Unknown(f"advanced indexing {self.src(node)[:60]}")
            return Unknown(f"indexing with {self.src(p)[:40]}")
        out.extend(dims[i:])
        out_labels.extend(labels[i:])
        role = None
        if t.role in ("output", "logits-per-step") and not silent:
            self._last_step_warnings(t, parts, node, int_only)
        if t.role in ("h_n", "c_n"):
            role = "h_n-slice"
        return Tensor(tuple(out), tuple(out_labels), t.dtype, t.device, origin=self.src(node), line=self.line,
                      role=role, layer=t.layer)

    def _last_step_warnings(self, t: Tensor, parts: list[ast.expr], node: ast.AST, int_only: bool) -> None:
        layer = t.layer
        if layer is None or t.role != "output" or t.rank != 3:
            return
        first = parts[0]
        is_minus_one = isinstance(first, ast.UnaryOp) and isinstance(first.op, ast.USub) and \
            isinstance(first.operand, ast.Constant) and first.operand.value == 1
        rest_full = all(isinstance(p, ast.Slice) and p.lower is None and p.upper is None for p in parts[1:])
        if is_minus_one and rest_full and layer.args.get("batch_first") is True:
            base = self.src(node.value) if isinstance(node, ast.Subscript) else "output"
            d = dx.output_last_step_batch_first(expr=self.src(node), base=base)
            rw = self._rewrite_node(self.line, node, f"{base}[:, -1]")
            self.warn(d, rw)

    # ---- calls
    def e_Call(self, node: ast.Call, env: dict[str, Value]) -> Value:
        func = self.expr(node.func, env)
        args: list[Value] = []
        for a in node.args:
            v = self.expr(a.value if isinstance(a, ast.Starred) else a, env)
            if isinstance(a, ast.Starred) and isinstance(v, Tup):
                args.extend(v.items)
            elif isinstance(a, ast.Starred):
                return Unknown(f"*{self.src(a.value)} in a call")
            else:
                args.append(v)
        kwargs: dict[str, Value] = {}
        for k in node.keywords:
            if k.arg is None:
                return Unknown(f"**{self.src(k.value)} in a call")
            kwargs[k.arg] = self.expr(k.value, env)
        return self.call(func, args, kwargs, node, env)

    def call(self, func: Value, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
             env: dict[str, Value]) -> Value:
        if isinstance(func, ModRef):
            return self.call_path(func.path, args, kwargs, node, env)
        if isinstance(func, BoundMethod):
            return self.call_method(func.obj, func.name, args, kwargs, node)
        if isinstance(func, Layer):
            return self.call_layer(func, args, kwargs, node)
        if isinstance(func, UserClass):
            return self.instantiate(func, args, kwargs, node, env)
        if isinstance(func, Instance):
            fwd = func.cls.methods.get("forward")
            if fwd is None:
                return Unknown(f"{func.cls.node.name} has no forward in the snippet")
            return self.call_function(Function(fwd, func), args, kwargs, scope_base=env)
        if isinstance(func, Function):
            return self.call_function(func, args, kwargs, scope_base=env)
        if isinstance(func, Unknown):
            return Unknown(func.reason, func.hint)
        return Unknown(f"a call to {self.src(node.func)[:40]}")

    def instantiate(self, cls: UserClass, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                    env: dict[str, Value]) -> Value:
        cls.instances += 1
        inst = Instance(cls)
        init = cls.methods.get("__init__")
        if init is not None:
            scope = dict(self._globals(env))
            scope[init.args.args[0].arg if init.args.args else "self"] = inst
            self._bind_params(init, scope, args, kwargs, skip_self=True)
            saved = self.line
            self.depth += 1
            try:
                if self.depth > self.MAX_DEPTH:
                    return Unknown("calls nested too deeply to follow")
                self.block(init.body, scope)
            except _Return:
                pass
            finally:
                self.depth -= 1
                self.line = saved
        return inst

    def _globals(self, env: dict[str, Value]) -> dict[str, Value]:
        return env

    def _bind_params(self, fn: ast.FunctionDef, scope: dict[str, Value], args: list[Value],
                     kwargs: dict[str, Value], *, skip_self: bool, symbolic: bool = False,
                     from_hints: bool = False) -> None:
        params = fn.args.args[1:] if skip_self else fn.args.args
        defaults = fn.args.defaults
        first_default = len(fn.args.args) - len(defaults)
        offset = 1 if skip_self else 0
        for i, p in enumerate(params):
            name = p.arg
            if i < len(args):
                scope[name] = args[i]
            elif name in kwargs:
                scope[name] = kwargs[name]
            elif from_hints and name in self.hints:
                scope[name] = self.hints[name]
            elif i + offset >= first_default:
                scope[name] = self.expr(defaults[i + offset - first_default], scope)
            elif symbolic:
                scope[name] = Int(Sym.var(name), name)
            else:
                scope[name] = Unknown(f"the argument {name} of {fn.name}() is not given",
                                      f"--shape {name}=...")
        for p, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
            if p.arg in kwargs:
                scope[p.arg] = kwargs[p.arg]
            elif d is not None:
                scope[p.arg] = self.expr(d, scope)
            else:
                scope[p.arg] = Unknown(f"the argument {p.arg}")
        if fn.args.vararg:
            scope[fn.args.vararg.arg] = Tup(tuple(args[len(params):]))
        if fn.args.kwarg:
            scope[fn.args.kwarg.arg] = Unknown("**kwargs")

    def call_function(self, fn: Function, args: list[Value], kwargs: dict[str, Value], *,
                      scope_base: dict[str, Value], from_hints: bool = False) -> Value:
        node = fn.node
        scope = dict(self._module_env(scope_base))
        if fn.owner is not None:
            scope[node.args.args[0].arg if node.args.args else "self"] = fn.owner
        self._bind_params(node, scope, args, kwargs, skip_self=fn.owner is not None, from_hints=from_hints)
        if fn.owner is not None and not from_hints:
            for i, p in enumerate(node.args.args[1:]):
                if i < len(args) and isinstance(args[i], Tensor):
                    self.show(node.lineno, p.arg, args[i])
        elif from_hints:
            for p in node.args.args[1:]:
                v = scope.get(p.arg)
                if isinstance(v, Tensor):
                    self.show(node.lineno, p.arg, v)
        saved = self.line
        self.depth += 1
        try:
            if self.depth > self.MAX_DEPTH:
                return Unknown("calls nested too deeply to follow")
            self.block(node.body, scope)
        except _Return as ret:
            return ret.value
        finally:
            self.depth -= 1
            self.line = saved
        return Const(None)

    def _module_env(self, env: dict[str, Value]) -> dict[str, Value]:
        return {k: v for k, v in env.items() if isinstance(v, (ModRef, UserClass, Function, Const, Int, Layer,
                                                                  Instance, Tensor, Tup, Loader, Dataset))}

    # ---- torch API by qualified name
    def call_path(self, path: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                  env: dict[str, Value]) -> Value:
        name = path.rsplit(".", 1)[-1]
        if path.startswith("builtins."):
            return self.builtin(name, args, kwargs, node)
        if path.startswith("<method"):
            return Unknown("a method of a model") if name not in ("to>", "cuda>", "eval>", "train>") else Const(None)
        nn_class = path.startswith(("torch.nn.", "nn.")) and name[:1].isupper() and ".functional" not in path \
            and ".utils" not in path
        if nn_class or (path.count(".") == 0 and name in RECURRENT):
            return self.construct(name, args, kwargs, node)
        if path.startswith("torch.nn.utils.rnn.") or name in ("pack_padded_sequence", "pad_packed_sequence"):
            return self.packing(name, args, kwargs, node)
        if path.startswith("torch.utils.data.") or name in ("TensorDataset", "DataLoader"):
            return self.data(name, args, kwargs, node)
        if path.startswith("torch.nn.functional."):
            return self.functional(name, args, kwargs, node)
        if path.startswith("torch.") and path.count(".") == 1:
            return self.torch_fn(name, args, kwargs, node)
        if path.startswith("torch.cuda.") or path.startswith("torch.backends."):
            return Unknown(f"{path}()")
        if path == "torch.device" or name == "device":
            return Const(Device(str(args[0].value))) if args and isinstance(args[0], Const) else Unknown("a device")
        return Unknown(f"{path}() is not followed")

    def builtin(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if name == "range":
            ints = [self.sub(a.sym) for a in args if isinstance(a, Int)]
            if len(ints) == len(args) and all(i.is_const for i in ints):
                try:
                    return Const(range(*[i.value for i in ints]))  # type: ignore[misc]
                except (TypeError, ValueError):
                    pass
            index = Int(Sym.var("i"))
            index.loop_index = True  # type: ignore[attr-defined]
            count = ints[0] if len(ints) == 1 == len(args) else (ints[1] - ints[0] if len(ints) == 2 == len(args)
                                                                 else None)
            return Iter(index, count=count)
        if name == "len":
            a = args[0] if args else Unknown("")
            if isinstance(a, Tensor) and a.rank:
                return Int(a.dims[0], a.labels[0])
            if isinstance(a, Tup) and a.count is not None:
                return Int(a.count)
            if isinstance(a, Tup) and a.kind != "unknown-list":
                return Int(Sym.const(len(a.items)))
            if isinstance(a, Const) and isinstance(a.value, (str, range)):
                return Int(Sym.const(len(a.value)))
            return Unknown("len() of a value rnnshape does not follow")
        if name == "print":
            return Const(None)
        if name == "int" and args and isinstance(args[0], Int):
            return args[0]
        if name in ("enumerate",) and args:
            it = self.iterate(args[0], node)
            return Iter(Tup((Int(Sym.var("i")), it.element)), empty=it.empty)
        if name == "zip" and args:
            its = [self.iterate(a, node) for a in args]
            return Iter(Tup(tuple(i.element for i in its)), empty=any(i.empty for i in its))
        if name in ("list", "tuple") and args and isinstance(args[0], Tup):
            return Tup(args[0].items, name)
        if name in ("iter",) and args:
            return self.iterate(args[0], node)
        if name == "next" and args:
            v = args[0]
            if isinstance(v, Iter):
                return v.element
            return self.iterate(v, node).element
        if name == "super":
            return ModRef("<super>")
        if name in ("min", "max") and len(args) >= 2 and all(isinstance(a, Int) for a in args):
            vals = [self.sub(a.sym) for a in args]  # type: ignore[union-attr]
            if all(v.is_const for v in vals):
                fn = min if name == "min" else max
                return Int(Sym.const(fn(v.value for v in vals)))  # type: ignore[type-var]
        if name == "isinstance":
            return Unknown("isinstance()")
        return Unknown(f"{name}() is not followed")

    def data(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if name == "TensorDataset":
            return Dataset(tuple(args))
        if name == "DataLoader":
            ds = args[0] if args else kwargs.get("dataset", Unknown("no dataset"))
            bs = kwargs.get("batch_size", args[1] if len(args) > 1 else Int(ONE))
            if not isinstance(bs, Int):
                return Unknown("a DataLoader whose batch_size is not known")
            label = bs.label or "batch_size"
            return Loader(ds, Int(bs.sym, label))
        return Unknown(f"{name}() is not followed")

    # ---- construction of layers
    def construct(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if name in RECURRENT:
            return self.construct_recurrent(name, args, kwargs, node)
        if name == "Linear":
            a = self._sizes(args, kwargs, ("in_features", "out_features"))
            if a is None:
                return Unknown("nn.Linear with sizes rnnshape cannot read")
            out_arg = args[1] if len(args) > 1 else kwargs.get("out_features")
            return Linear("Linear", self.line, node, in_features=a[0], out_features=a[1],
                          out_label=out_arg.label if isinstance(out_arg, Int) else None)
        if name == "Embedding":
            a = self._sizes(args, kwargs, ("num_embeddings", "embedding_dim"))
            if a is None:
                return Unknown("nn.Embedding with sizes rnnshape cannot read")
            return Embedding("Embedding", self.line, node, num=a[0], dim=a[1])
        if name in ELEMENTWISE:
            return Layer(name, self.line, node)
        if name == "Sequential":
            return Sequential("Sequential", self.line, node, modules=tuple(args))
        if name in LOSSES:
            return Loss(name, self.line, node)
        return Unknown(f"nn.{name} is not followed")

    def _sizes(self, args: list[Value], kwargs: dict[str, Value], names: tuple[str, ...]) -> list[Sym] | None:
        out = []
        for i, n in enumerate(names):
            v = args[i] if i < len(args) else kwargs.get(n)
            if not isinstance(v, Int):
                return None
            out.append(self.sub(v.sym))
        return out

    def construct_recurrent(self, name: str, args: list[Value], kwargs: dict[str, Value],
                            node: ast.Call) -> Value:
        positional = POSITIONAL[name]
        values: dict[str, Any] = {}
        given: set[str] = set()
        for pname, v in zip(positional, args, strict=False):
            values[pname] = v
            given.add(pname)
        for k, v in kwargs.items():
            if k in ("device", "dtype"):
                continue
            values[k] = v
            given.add(k)
        plain: dict[str, Any] = {}
        for k, v in values.items():
            if isinstance(v, Int):
                s = self.sub(v.sym)
                plain[k] = s if not s.is_const else s.value
            elif isinstance(v, Const):
                plain[k] = v.value
            elif isinstance(v, Unknown):
                if k in ("input_size", "hidden_size", "num_layers", "proj_size"):
                    plain[k] = Sym.var(k)
                elif k == "dropout":
                    plain[k] = 0.0
                else:
                    return Unknown(f"nn.{name}'s {k} comes from a value rnnshape cannot read",
                                   "instantiate the model with literal arguments in the snippet")
            else:
                return Unknown(f"nn.{name}'s {k} is not a number rnnshape can read")
        layer = RecurrentLayer(name, self.line, node, args=plain, mode=RECURRENT[name])
        layer.args.setdefault("__given__", frozenset(given))
        error, warnings = self._check_ctor(layer)
        if error is not None:
            self.stop(error)
        for w in warnings:
            self.warn(w)
        return layer

    def _spec(self, layer: RecurrentLayer, P: Placeholders) -> LayerSpec:
        kw: dict[str, Any] = {}
        for k, v in layer.args.items():
            if k == "__given__":
                continue
            kw[k] = P.ints(self.sub(v)) if isinstance(v, Sym) else v
        given = layer.args.get("__given__", frozenset())
        try:
            return LayerSpec(mode=layer.mode, given=frozenset(given), **kw)
        except TypeError as exc:
            raise Stop(Finding(layer.line, dx.invalid_config(
                message=str(exc).replace("LayerSpec.__init__()", f"{layer.kind}.__init__()"),
                layer=f"nn.{layer.kind}"))) from None

    def _syms_of(self, layer: RecurrentLayer) -> list[Sym]:
        return [self.sub(v) for k, v in layer.args.items() if isinstance(v, Sym)]

    def _check_ctor(self, layer: RecurrentLayer) -> tuple[dx.Diagnosis | None, list[dx.Diagnosis]]:
        P = Placeholders(self._syms_of(layer))
        if "input_size" not in layer.args or "hidden_size" not in layer.args:
            missing = "input_size" if "input_size" not in layer.args else "hidden_size"
            return dx.invalid_config(message=f"missing the required argument {missing!r}",
                                     layer=f"nn.{layer.kind}"), []
        spec = self._spec(layer, P)
        error, warnings = check_config(spec)
        if error is not None and P.values:
            # a verdict that depends on the symbols' order (proj_size < hidden_size) is no verdict
            P2 = Placeholders(self._syms_of(layer), shift=7)
            P2.values = {k: P.values[k] for k in sorted(P.values, reverse=True)}
            P2.values = dict(zip(sorted(P.values), sorted(P.values.values(), reverse=True), strict=True))
            err2, _ = check_config(self._spec(layer, P2))
            if err2 is None or err2.code != error.code:
                self.unknown(f"nn.{layer.kind}'s arguments", Unknown(
                    "whether the constructor accepts them depends on sizes the snippet does not give"))
                return None, []
        if error is not None:
            error = self._rewrite_diag(error, P)
        return error, [self._rewrite_diag(w, P) for w in warnings]

    def _rewrite_diag(self, d: dx.Diagnosis, P: Placeholders) -> dx.Diagnosis:
        if not P.values:
            return d
        return replace(d, title=P.rewrite(d.title), explanation=P.rewrite(d.explanation),
                       fix=P.rewrite(d.fix), evidence=P.rewrite(dict(d.evidence)))

    # ---- layer calls
    def call_layer(self, layer: Layer, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        x = args[0] if args else kwargs.get("input", kwargs.get("x", Unknown("no input")))
        if isinstance(layer, RecurrentLayer):
            hx = args[1] if len(args) > 1 else kwargs.get("hx", kwargs.get("h_0", Const(None)))
            return self.call_recurrent(layer, x, hx, node)
        if isinstance(x, Tup) and x.role:
            self._tuple_as_tensor_call(x, layer, node)
        if isinstance(x, Packed):
            self.stop(dx.packed_as_tensor(where=f"nn.{layer.kind}", torch_message=(
                "linear(): argument 'input' (position 1) must be Tensor, not PackedSequence"
                if isinstance(layer, Linear) else None)))
        if isinstance(layer, Linear):
            return self.call_linear(layer, x, node)
        if isinstance(layer, Embedding):
            return self.call_embedding(layer, x, node)
        if isinstance(layer, Sequential):
            value: Value = x
            for m in layer.modules:
                if isinstance(m, Layer):
                    value = self.call_layer(m, [value], {}, node)
                else:
                    return Unknown("a module inside nn.Sequential that rnnshape does not follow")
            return value
        if isinstance(layer, Loss):
            return self.call_loss(layer, args, node)
        if layer.kind in ELEMENTWISE:
            if isinstance(x, Tensor):
                return replace(x, node=None, origin=self.src(node), largest=None)
            return x if isinstance(x, Unknown) else Unknown("an activation of a value rnnshape does not follow")
        return Unknown(f"nn.{layer.kind}")

    def _tuple_as_tensor_call(self, tup: Tup, layer: Layer, node: ast.Call) -> None:
        name = f"nn.{tup.layer.kind}" if tup.layer else "the recurrent layer"
        where = f"into {layer.name or 'nn.' + layer.kind}"
        if isinstance(layer, Linear):
            msg = "linear(): argument 'input' (position 1) must be Tensor, not tuple"
        elif isinstance(layer, RecurrentLayer):
            msg = "'tuple' object has no attribute 'dim'"
        elif isinstance(layer, Embedding):
            msg = "embedding(): argument 'indices' (position 2) must be Tensor, not tuple"
        else:
            msg = None
        if tup.role == "state":
            d = dx.state_tuple_as_tensor(layer=name, where=where, torch_message=msg)
        else:
            d = dx.output_tuple(layer=name, where=where, torch_message=msg)
        self.stop(d, self._tuple_rewrite(tup))

    def call_linear(self, layer: Linear, x: Value, node: ast.Call) -> Value:
        if not isinstance(x, Tensor):
            if isinstance(x, Unknown):
                self.unknown(f"the input of {layer.name or 'nn.Linear'}", x, self._arg_name(node),
                             f"B,{self.sub(layer.in_features)}")
                return Unknown(x.reason, x.hint)
            return Unknown("nn.Linear applied to a value rnnshape does not follow")
        dims = self.tensor_dims(x)
        if not dims:
            return Unknown("nn.Linear on a 0-d tensor")
        got, expected, out = dims[-1], self.sub(layer.in_features), self.sub(layer.out_features)
        v = self.equal(got, expected, f"{layer.name or 'nn.Linear'}'s in_features")
        if v.differ:
            rows = ONE
            for d in dims[:-1]:
                rows = rows * d
            P = Placeholders([rows, got, expected, out])
            msg = None
            if all(s.is_const for s in (rows, got, expected, out)):
                msg = f"mat1 and mat2 shapes cannot be multiplied ({rows}x{got} and {expected}x{out})"
            d = dx.linear_mismatch(rows=P.ints(rows), got=P.ints(got), expected=P.ints(expected),
                                   out_features=P.ints(out), torch_message=msg)
            d = self._rewrite_diag(d, P)
            if x.role == "h_n-slice" or x.role is None and x.layer is not None:
                pass
            rewrite = self._ctor_rewrite(layer, 0, got, current=expected)
            raise Stop(Finding(self.line, d, rewrite))
        if v.kind == "unknown":
            self.unknown(f"the input of {layer.name or 'nn.Linear'}",
                         Unknown(f"whether {got} equals in_features {expected} cannot be decided"))
            return Unknown(f"whether {got} equals {expected}")
        if x.dtype not in FLOAT_DTYPES:
            self.stop(dx.dtype_mismatch(what="input", got=x.dtype, expected="float32", torch_message=None))
        role = None
        if x.role == "output" and x.rank == 3 and x.layer is not None:
            role = "logits-per-step"
            name = (layer.out_label or "") + " " + (layer.name or "")
            if _CLASS_NAME.search(name) or self.classifier_class:
                d = dx.classifier_whole_sequence(layer=layer.name or "nn.Linear",
                                                 batch_first=bool(x.layer.args.get("batch_first")))
                arg = node.args[0] if node.args else None
                rw = None
                if isinstance(arg, ast.AST):
                    bf = bool(x.layer.args.get("batch_first"))
                    rw = self._rewrite_node(self.line, arg, f"{self.src(arg)}[:, -1, :]" if bf
                                            else f"{self.src(arg)}[-1]")
                self.warn(d, rw)
        return Tensor(tuple(dims[:-1]) + (out,), x.labels[:-1] + (layer.out_label,), "float32", x.device,
                      origin=self.src(node), line=self.line, role=role, layer=x.layer)

    def _arg_name(self, node: ast.Call) -> str | None:
        if node.args and isinstance(node.args[0], ast.Name):
            return node.args[0].id
        return None

    def _ctor_rewrite(self, layer: Layer, index: int, value: Sym, kw: str | None = None,
                      current: Sym | None = None) -> Rewrite | None:
        call = layer.node
        if call is None or layer.line is None:
            return None
        names = POSITIONAL.get(layer.kind, ("in_features", "out_features"))
        key = kw or (names[index] if index < len(names) else None)
        target: ast.AST | None = None
        if index < len(call.args):
            target = call.args[index]
        for k in call.keywords:
            if k.arg == key:
                target = k.value
        if target is None:
            return None
        return self._rewrite_node(layer.line, target, self._expr_for(target, current, value))

    def call_embedding(self, layer: Embedding, x: Value, node: ast.Call) -> Value:
        if not isinstance(x, Tensor):
            if isinstance(x, Unknown):
                self.unknown(f"the input of {layer.name or 'nn.Embedding'}", x, self._arg_name(node), "B,T:int64")
            return Unknown(x.reason if isinstance(x, Unknown) else "an embedding of an unknown value")
        if x.dtype not in ("int64", "int32"):
            got = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
                   "bool": "torch.BoolTensor", "uint8": "torch.ByteTensor", "int16": "torch.ShortTensor",
                   "int8": "torch.CharTensor", "bfloat16": "torch.BFloat16Tensor"}.get(x.dtype, x.dtype)
            self.stop(dx.embedding_float_input(dtype=x.dtype, torch_message=(
                "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
                f"Int; but got {got} instead (while checking arguments for embedding)")))
        if x.largest is not None:
            v = compare(self.sub(x.largest) + 1, self.sub(layer.num))
            big, num = self.sub(x.largest), self.sub(layer.num)
            if big.is_const and num.is_const and (big.value or 0) >= (num.value or 0):
                self.stop(dx.embedding_index_range(largest=big.value or 0, num_embeddings=num.value or 0,
                                                   torch_message="index out of range in self"),
                          self._ctor_rewrite(layer, 0, big + 1, "num_embeddings", current=num))
            del v
        dims = self.tensor_dims(x)
        return Tensor(dims + (self.sub(layer.dim),), x.labels + (None,), "float32", x.device,
                      origin=self.src(node), line=self.line)

    def call_loss(self, layer: Loss, args: list[Value], node: ast.Call) -> Value:
        if len(args) < 2 or not all(isinstance(a, Tensor) for a in args[:2]):
            return Tensor((), dtype="float32")
        inp, target = args[0], args[1]
        assert isinstance(inp, Tensor) and isinstance(target, Tensor)
        if layer.kind in ("CrossEntropyLoss", "NLLLoss"):
            di, dt = self.tensor_dims(inp), self.tensor_dims(target)
            if len(di) == 2 and len(dt) == 1:
                v = self.equal(di[0], dt[0], "the loss's batch")
                if v.differ:
                    msg = None
                    if di[0].is_const and dt[0].is_const:
                        msg = f"Expected input batch_size ({di[0]}) to match target batch_size ({dt[0]})."
                    self.stop(dx.shape_op(op=f"nn.{layer.kind}", detail=(
                        f"the logits {fmt_dims(di)} hold {di[0]} rows but the target {fmt_dims(dt)} has {dt[0]}"),
                        torch_message=msg))
            elif len(di) >= 3 and len(dt) == 1:
                want = (di[0], *di[2:])
                msg = None
                if all(d.is_const for d in (*di, *dt)):
                    msg = f"Expected target size [{', '.join(str(d) for d in want)}], got [{dt[0]}]"
                if inp.role == "logits-per-step":
                    bf = bool(inp.layer.args.get("batch_first")) if inp.layer else True
                    d = dx.classifier_whole_sequence(layer="the classifier", batch_first=bf, torch_message=msg)
                    self.stop(replace(d, severity="error"))
                self.stop(dx.shape_op(op=f"nn.{layer.kind}", detail=(
                    f"the input {fmt_dims(di)} is read as (batch, classes, ...) and needs a target of shape "
                    f"{fmt_dims(want)}, but the target is {fmt_dims(dt)}"), torch_message=msg))
        return Tensor((), dtype="float32")

    # ---- recurrent calls: the shape model decides
    def call_recurrent(self, layer: RecurrentLayer, x: Value, hx: Value, node: ast.Call) -> Value:
        name = layer.name or f"nn.{layer.kind}"
        if isinstance(x, Tup) and x.role:
            self._tuple_as_tensor_call(x, layer, node)
        packed: Packed | None = x if isinstance(x, Packed) else None
        xt = packed.padded if packed else x
        if not isinstance(xt, Tensor):
            self.unknown(f"the input of {name}", xt if isinstance(xt, Unknown) else None, self._arg_name(node),
                         self._example_input(layer))
            return Unknown(f"the outputs of {name}, whose input is not known")
        h: Tensor | None = None
        c: Tensor | None = None
        if isinstance(hx, Tup):
            if hx.role == "outputs":
                self.stop(dx.output_tuple(layer=f"nn.{hx.layer.kind}" if hx.layer else "the recurrent layer",
                                          where=f"as the state of {name}",
                                          torch_message="'tuple' object has no attribute 'dim'" if not
                                          layer.mode == "lstm" else None))
            if layer.mode not in ("lstm", "lstm-cell"):
                self.stop(dx.gru_given_tuple(layer=layer.kind, torch_message=(
                    "'tuple' object has no attribute 'dim'" if not layer.mode.endswith("cell") else None)),
                    self._hx_rewrite(node, hx))
            if len(hx.items) != 2 or not all(isinstance(i, (Tensor, Unknown)) for i in hx.items):
                return Unknown(f"the state given to {name}")
            hv, cv = hx.items
            if isinstance(hv, Unknown) or isinstance(cv, Unknown):
                self.unknown(f"the state of {name}", hv if isinstance(hv, Unknown) else cv)
                return Unknown(f"the outputs of {name}, whose state is not known")
            h, c = hv, cv  # type: ignore[assignment]
        elif isinstance(hx, Tensor):
            h = hx
        elif isinstance(hx, Unknown):
            self.unknown(f"the state of {name}", hx)
            return Unknown(f"the outputs of {name}, whose state is not known")
        if packed is not None and layer.mode.endswith("cell"):
            return Unknown("a PackedSequence fed to a cell")
        return self._predict(layer, xt, h, c, packed, node)

    def _example_input(self, layer: RecurrentLayer) -> str:
        size = layer.args.get("input_size")
        feat = str(self.sub(size)) if isinstance(size, Sym) else str(size)
        if layer.mode.endswith("cell"):
            return f"B,{feat}"
        return f"B,T,{feat}" if layer.args.get("batch_first") is True else f"T,B,{feat}"

    def _hx_rewrite(self, node: ast.Call, hx: Tup) -> Rewrite | None:
        if len(node.args) > 1 and isinstance(node.args[1], ast.Tuple) and node.args[1].elts:
            return self._rewrite_node(node.lineno, node.args[1], self.src(node.args[1].elts[0]))
        return None

    def _predict(self, layer: RecurrentLayer, x: Tensor, h: Tensor | None, c: Tensor | None,
                 packed: Packed | None, node: ast.Call) -> Value:
        name = layer.name or f"nn.{layer.kind}"
        bf = bool(layer.args.get("batch_first"))
        for _attempt in range(8):
            xd = self.tensor_dims(x)
            if packed is not None and len(xd) >= 2 and bf:
                xd = (xd[1], xd[0], *xd[2:])  # Packed.padded is sequence-first
            hd = self.tensor_dims(h) if h is not None else None
            cd = self.tensor_dims(c) if c is not None else None
            exprs = [*self._syms_of(layer), *xd, *(hd or ()), *(cd or ())]
            largest = self.sub(x.largest) if x.largest is not None else None
            if largest is not None:
                exprs.append(largest)
            P = Placeholders(exprs)
            spec = self._spec(layer, P)
            req = Request(
                spec,
                TensorArg(tuple(P.ints(d) for d in xd), x.dtype, x.origin, x.device,
                          P.ints(largest) if largest is not None else None),
                TensorArg(tuple(P.ints(d) for d in hd), h.dtype, h.origin, h.device)
                if h is not None and hd is not None else None,
                TensorArg(tuple(P.ints(d) for d in cd), c.dtype, c.origin, c.device)
                if c is not None and cd is not None else None,
                device=layer.device,
                lengths=packed.lengths if packed is not None else None,
                enforce_sorted=packed.enforce_sorted if packed is not None else True,
            )
            pred = predict(req)
            err = pred.error
            if err is None:
                return self._outputs(layer, pred, P, x, h, packed, node)
            pair = _mismatch_pair(err, P)
            if pair is None:
                self._stop_recurrent(err, P, layer, h, c, xd, node)
            v = self.equal(pair[0], pair[1], f"{name}'s {_what(err)}")  # type: ignore[index]
            if v.differ:
                self._stop_recurrent(err, P, layer, h, c, xd, node)
            if v.kind == "unknown":
                self.unknown(f"the call of {name}", Unknown(
                    f"whether {pair[0]} equals {pair[1]} ({_what(err)}) cannot be decided"))  # type: ignore[index]
                return Unknown(f"the outputs of {name}")
        return Unknown(f"the outputs of {name}")

    def _stop_recurrent(self, err: dx.Diagnosis, P: Placeholders, layer: RecurrentLayer, h: Tensor | None,
                        c: Tensor | None, xd: tuple[Sym, ...], node: ast.Call) -> None:
        d = self._rewrite_diag(err, P)
        if d.evidence.get(UNSAFE):
            d = replace(d, evidence={**d.evidence, "torch_may_not_raise": True})
        rw: Rewrite | None = None
        if d.code == "input-size-mismatch":
            size = layer.args.get("input_size")
            rw = self._ctor_rewrite(layer, 0, xd[-1], current=self.sub(size) if isinstance(size, Sym) else
                                    Sym.const(size) if isinstance(size, int) else None)
        elif d.code in ("hidden-layers-mismatch", "hidden-batch-mismatch", "hidden-size-mismatch",
                        "hidden-batch-first", "proj-hidden-size", "cell-shape-mismatch"):
            which = c if (d.evidence.get("name") == "c_0" and c is not None) else h
            expected = d.evidence.get("expected")
            if which is not None and isinstance(expected, list) and which.node is not None:
                rw = self._tensor_rewrite(which, expected)
        elif d.code == "hidden-not-tuple" and len(node.args) > 1:
            arg = self.src(node.args[1])
            rw = self._rewrite_node(node.lineno, node.args[1], f"({arg}, torch.zeros_like({arg}))")
        raise Stop(Finding(self.line, d, rw))

    def _tensor_rewrite(self, t: Tensor, expected: list[Any]) -> Rewrite | None:
        call = t.node
        if not isinstance(call, ast.Call) or t.line is None:
            return None
        size_nodes: list[ast.expr] = list(call.args)
        if len(size_nodes) == 1 and isinstance(size_nodes[0], (ast.Tuple, ast.List)):
            size_nodes = list(size_nodes[0].elts)
        if len(size_nodes) != len(expected):
            return None
        got = [self.src(n) for n in size_nodes]
        new_parts = []
        for n, want, cur in zip(size_nodes, expected, t.dims, strict=True):
            want_s = str(want)
            if str(self.sub(cur)) == want_s:
                new_parts.append(self.src(n))
                continue
            want_sym = Sym.const(want) if isinstance(want, int) else None
            if want_sym is None:
                new_parts.append(want_s)
                continue
            new = self._expr_for(n, cur, want_sym)
            if not isinstance(n, ast.Constant) and new == want_s:
                return None  # a computed size (a parameter, x.size(0)) is not replaced by a number
            new_parts.append(new)
        if new_parts == got:
            return None
        line_text = self.lines[t.line - 1] if 0 < t.line <= len(self.lines) else ""
        new_line = line_text
        # rewrite the arguments right to left so the columns stay valid
        if all(getattr(n, "lineno", None) == t.line for n in size_nodes):
            raw = line_text.encode()
            for n, new in sorted(zip(size_nodes, new_parts, strict=True), key=lambda p: -p[0].col_offset):
                raw = raw[:n.col_offset] + new.encode() + raw[n.end_col_offset:]  # type: ignore[index]
            new_line = raw.decode(errors="replace")
            return Rewrite(t.line, line_text, new_line)
        return None

    def _outputs(self, layer: RecurrentLayer, pred: Any, P: Placeholders, x: Tensor, h: Tensor | None,
                 packed: Packed | None, node: ast.Call) -> Value:
        name = layer.name or f"nn.{layer.kind}"
        for w in pred.diagnoses:
            if w.is_error or w.code == "dropout-single-layer":
                continue
            if w.code == "batch-first-suspect" and (self._batch_evidence(layer, x) is not None or packed):
                continue  # the code (or the lengths) says where the batch is; that beats the numbers' look
            self.warn(self._rewrite_diag(w, P), self._ctor_rewrite_flag(layer, "batch_first", True)
                      if w.code == "batch-first-suspect" else None)
        ev = self._batch_evidence(layer, x)
        if ev is not None and ev[0] == "suspect" and h is None:
            xd = self.tensor_dims(x)
            PP = Placeholders(list(xd))
            bf = bool(layer.args.get("batch_first"))
            d = dx.batch_first_suspect(shape=tuple(PP.ints(s) for s in xd), batch_first=bf)
            d = self._rewrite_diag(d, PP)
            d = replace(d, explanation=(
                f"{name} reads {x.origin or 'its input'} {fmt_dims(xd)} as "
                f"({'batch, seq_len' if bf else 'seq_len, batch'}, features), but the code says dimension "
                f"{ev[1]} is the batch ({ev[2]}). The shapes still work, so nothing fails: the layer "
                f"recurs over the batch and treats the time steps as independent sequences. Build it with "
                f"batch_first={not bf}, or transpose the input."),
                evidence={**d.evidence, "batch_dimension": ev[1], "because": ev[2]})
            self.warn(d, self._ctor_rewrite_flag(layer, "batch_first", not bf))
        def back(info: Any) -> Tensor:
            dims = []
            for dim in info.dims:
                s = P.back(dim.size)
                dims.append(s if s is not None else Sym.var(dim.name))
            return Tensor(tuple(dims), tuple(self._label_for(dim.name, x) for dim in info.dims),
                          info.dtype, x.device, origin=f"{name}(...)", line=self.line, layer=layer)
        t = pred.tensors
        if layer.mode.endswith("cell"):
            h1 = replace(back(t["h_1"]), role="h_n")
            if layer.mode == "lstm-cell":
                return Tup((h1, replace(back(t["c_1"]), role="c_n")), role="state", layer=layer, line=self.line)
            return h1
        out = replace(back(t["output"]), role="output")
        h_n = replace(back(t["h_n"]), role="h_n")
        if packed is not None:
            padded = out
            if bool(layer.args.get("batch_first")) and out.rank == 3:
                padded = replace(out, dims=(out.dims[1], out.dims[0], out.dims[2]),
                                 labels=(out.labels[1], out.labels[0], out.labels[2]))
            out_v: Value = Packed(padded, packed.lengths, packed.enforce_sorted, self.line)
        else:
            out_v = out
        if layer.mode == "lstm":
            c_n = replace(back(t["c_n"]), role="c_n")
            state: Value = Tup((h_n, c_n), role="state", layer=layer, line=self.line)
        else:
            state = h_n
        return Tup((out_v, state), role="outputs", layer=layer, line=self.line, node=node)

    def _label_for(self, dim_name: str, x: Tensor) -> str | None:
        if dim_name == "batch":
            return "batch"
        return None

    def _ctor_rewrite_flag(self, layer: RecurrentLayer, flag: str, value: bool) -> Rewrite | None:
        call = layer.node
        if call is None or layer.line is None or call.lineno != call.end_lineno:
            return None
        for k in call.keywords:
            if k.arg == flag:
                return self._rewrite_node(layer.line, k.value, repr(value))
        positional = POSITIONAL[layer.kind]
        if flag in positional and positional.index(flag) < len(call.args):
            return self._rewrite_node(layer.line, call.args[positional.index(flag)], repr(value))
        text = self.lines[layer.line - 1]
        raw = text.encode()
        end = call.end_col_offset
        if end is None:
            return None
        insert = f", {flag}={value!r}" if (call.args or call.keywords) else f"{flag}={value!r}"
        new = (raw[:end - 1] + insert.encode() + raw[end - 1:]).decode(errors="replace")
        return Rewrite(layer.line, text, new)

    def _batch_evidence(self, layer: RecurrentLayer, x: Tensor) -> tuple[str, int, str] | None:
        """("ok"|"suspect", the batch's dimension, why) when the code names the batch dimension."""
        if layer.mode.endswith("cell") or x.rank != 3:
            return None
        bf = bool(layer.args.get("batch_first"))
        read = 0 if bf else 1
        other = 1 - read
        lab_read, lab_other = x.labels[read], x.labels[other]
        is_b = lambda s: bool(s) and bool(_BATCH_NAME.search(s or ""))  # noqa: E731
        if is_b(lab_read):
            return ("ok", read, f"{lab_read}")
        if is_b(lab_other) and not is_b(lab_read):
            return ("suspect", other, f"its size comes from {lab_other}")
        return None

    # ---- packing
    def packing(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        def arg(i: int, key: str, default: Value) -> Value:
            return args[i] if len(args) > i else kwargs.get(key, default)
        if name == "pack_padded_sequence":
            x = arg(0, "input", Unknown("no input"))
            lengths_v = arg(1, "lengths", Unknown("no lengths"))
            bf = self.truth(arg(2, "batch_first", Const(False)))
            es = self.truth(arg(3, "enforce_sorted", Const(True)))
            if isinstance(x, Tup) and x.role:
                self._tuple_as_tensor(x, "pack_padded_sequence()")
            if not isinstance(x, Tensor) or bf is None or es is None:
                if isinstance(x, Unknown):
                    self.unknown("the input of pack_padded_sequence", x, self._arg_name(node))
                return Unknown("a PackedSequence of an input rnnshape does not follow")
            lengths = self._lengths(lengths_v)
            dims = self.tensor_dims(x)
            if lengths is not None and len(dims) >= 2 and all(d.is_const for d in dims):
                spec = LayerSpec(mode="gru", input_size=max(int(dims[-1].value or 1), 1), hidden_size=1,
                                 batch_first=bf)
                pred = predict(Request(spec, TensorArg(tuple(int(d.value or 0) for d in dims), x.dtype),
                                       lengths=lengths, enforce_sorted=es))
                err = pred.error
                if err is not None and err.code.startswith("packing"):
                    if err.evidence.get(UNSAFE):
                        err = replace(err, evidence={**err.evidence, "torch_may_not_raise": True})
                    self.stop(err)
            padded_dims = dims if not bf or len(dims) < 2 else (dims[1], dims[0], *dims[2:])
            padded_labels = x.labels if not bf or len(dims) < 2 else (x.labels[1], x.labels[0], *x.labels[2:])
            return Packed(replace(x, dims=padded_dims, labels=padded_labels), lengths, es, self.line)
        if name == "pad_packed_sequence":
            p = arg(0, "sequence", Unknown("no sequence"))
            bf = self.truth(arg(1, "batch_first", Const(False)))
            total = arg(3, "total_length", Const(None))
            if not isinstance(p, Packed) or bf is None:
                return Unknown("pad_packed_sequence of a value rnnshape does not follow")
            dims = list(self.tensor_dims(p.padded))
            longest = max(p.lengths) if p.lengths else None
            if longest is not None:
                dims[0] = Sym.const(longest)
            if isinstance(total, Int):
                t = self.sub(total.sym)
                if t.is_const and longest is not None and (t.value or 0) < longest:
                    self.stop(dx.packing_total_length(
                        total_length=t.value or 0, longest=longest, torch_message=(
                            f"Expected total_length to be at least the length of the longest sequence "
                            f"in input, but got total_length={t.value} and max sequence length being "
                            f"{longest}")))
                dims[0] = t
            labels = list(p.padded.labels)
            if bf and len(dims) >= 2:
                dims[0], dims[1] = dims[1], dims[0]
                labels[0], labels[1] = labels[1], labels[0]
            out = replace(p.padded, dims=tuple(dims), labels=tuple(labels), origin=self.src(node),
                          line=self.line)
            batch = self.tensor_dims(p.padded)[1] if p.padded.rank >= 2 else ONE
            return Tup((out, Tensor((batch,), dtype="int64")), "tuple")
        return Unknown(f"{name}() is not followed")

    def _lengths(self, v: Value) -> tuple[int, ...] | None:
        if isinstance(v, Tup) and all(isinstance(i, Int) and self.sub(i.sym).is_const for i in v.items):
            return tuple(int(self.sub(i.sym).value or 0) for i in v.items)  # type: ignore[union-attr]
        if isinstance(v, Tensor) and v.values is not None and v.rank == 1 and \
                self.sub(v.dims[0]) == Sym.const(len(v.values)):
            return v.values
        return None

    # ---- tensors
    def _size_args(self, args: list[Value], kwargs: dict[str, Value], key: str = "size") -> list[Value] | None:
        items: list[Value] = list(args)
        if key in kwargs:
            items = [kwargs[key]]
        if len(items) == 1 and isinstance(items[0], Tup):
            items = list(items[0].items)
        if not all(isinstance(i, Int) for i in items):
            return None
        return items

    def _new_tensor(self, sizes: list[Value], kwargs: dict[str, Value], node: ast.Call, dtype: str = "float32",
                    largest: Sym | None = None) -> Value:
        dims = []
        labels = []
        for s in sizes:
            assert isinstance(s, Int)
            v = self.sub(s.sym)
            if v.is_const and (v.value or 0) < 0:
                self.stop(dx.shape_op(op="tensor creation", detail=f"a negative size {v}",
                                      torch_message=None))
            dims.append(v)
            labels.append(s.label)
        dt = kwargs.get("dtype")
        if isinstance(dt, Const) and isinstance(dt.value, DType):
            dtype = dt.value.name
        dev = kwargs.get("device")
        device = self._device(dev)
        return Tensor(tuple(dims), tuple(labels), dtype, device, origin=self.src(node), line=self.line, node=node,
                      largest=largest)

    def _device(self, v: Value | None) -> str | None:
        if isinstance(v, Const):
            if isinstance(v.value, Device):
                return _norm_device(v.value.name)
            if isinstance(v.value, str):
                return _norm_device(v.value)
        return None

    def torch_fn(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if name in ("randn", "rand", "zeros", "ones", "empty"):
            sizes = self._size_args(args, kwargs)
            if sizes is None:
                return Unknown(f"torch.{name} with sizes rnnshape cannot read")
            return self._new_tensor(sizes, kwargs, node)
        if name == "full":
            sizes = self._size_args(args[:1], kwargs)
            fill = args[1] if len(args) > 1 else kwargs.get("fill_value")
            if sizes is None:
                return Unknown("torch.full with sizes rnnshape cannot read")
            dtype = "int64" if isinstance(fill, Int) else "bool" if isinstance(fill, Const) and \
                isinstance(fill.value, bool) else "float32"
            return self._new_tensor(sizes, kwargs, node, dtype)
        if name == "randint":
            ints = [a for a in args if isinstance(a, Int)]
            size = next((a for a in args if isinstance(a, Tup)), kwargs.get("size"))
            high = kwargs.get("high", ints[-1] if ints else None)
            if not isinstance(size, Tup) or not isinstance(high, Int):
                return Unknown("torch.randint with arguments rnnshape cannot read")
            sizes = self._size_args([size], {})
            if sizes is None:
                return Unknown("torch.randint with sizes rnnshape cannot read")
            return self._new_tensor(sizes, kwargs, node, "int64", largest=self.sub(high.sym) - 1)
        if name in ("tensor", "LongTensor", "FloatTensor", "as_tensor", "IntTensor", "BoolTensor"):
            if not args:
                return Unknown(f"torch.{name}()")
            shape, kind, largest, flat = self._literal_shape(args[0])
            if shape is None:
                if name in ("LongTensor", "FloatTensor") and all(isinstance(a, Int) for a in args):
                    return self._new_tensor(list(args), kwargs, node,
                                            "int64" if name == "LongTensor" else "float32")
                return Unknown(f"torch.{name} of data rnnshape cannot read")
            dtype = {"LongTensor": "int64", "FloatTensor": "float32", "IntTensor": "int32",
                     "BoolTensor": "bool"}.get(name, kind)
            t = self._new_tensor([Int(Sym.const(s)) for s in shape], kwargs, node, dtype,
                                 largest=Sym.const(largest) if largest is not None and dtype in INT_DTYPES else None)
            if isinstance(t, Tensor) and len(shape) == 1 and flat is not None:
                t = replace(t, values=tuple(flat))
            return t
        if name == "arange":
            ints = [a for a in args if isinstance(a, Int)]
            if len(ints) == 1 and len(args) == 1:
                return self._new_tensor([ints[0]], kwargs, node, "int64", largest=self.sub(ints[0].sym) - 1)
            if len(ints) == 2 == len(args):
                return self._new_tensor([Int(self.sub(ints[1].sym) - self.sub(ints[0].sym))], kwargs, node, "int64",
                                        largest=self.sub(ints[1].sym) - 1)
            return Unknown("torch.arange with arguments rnnshape cannot read")
        if name in ("zeros_like", "ones_like", "randn_like", "rand_like", "empty_like", "full_like"):
            x = args[0] if args else Unknown("no input")
            if not isinstance(x, Tensor):
                return self._not_tensor(x, f"torch.{name}")
            t = replace(x, origin=self.src(node), line=self.line, node=None, role=None, largest=None)
            dt = kwargs.get("dtype")
            if isinstance(dt, Const) and isinstance(dt.value, DType):
                t = replace(t, dtype=dt.value.name)
            return t
        if name in ("cat", "concat", "concatenate", "stack", "hstack", "vstack"):
            return self.cat(name, args, kwargs, node)
        if name in ("manual_seed", "no_grad", "set_grad_enabled", "inference_mode", "save", "load",
                    "set_printoptions", "set_default_dtype"):
            return Const(None)
        if name == "device":
            return Const(Device(str(args[0].value))) if args and isinstance(args[0], Const) else Unknown("a device")
        if name == "from_numpy":
            return Unknown("torch.from_numpy of an array rnnshape does not follow", "--shape NAME=SHAPE")
        # torch.f(x, ...) that mirrors x.f(...)
        if args and isinstance(args[0], (Tensor, Tup, Packed)):
            return self.call_method(args[0], name, args[1:], kwargs, node)
        if args and isinstance(args[0], Unknown):
            return args[0]
        return Unknown(f"torch.{name}() is not followed")

    def _literal_shape(self, v: Value) -> tuple[list[int] | None, str, int | None, list[int] | None]:
        """Shape, dtype, largest value and (1-D ints) the values of a nested literal."""
        if isinstance(v, Int):
            s = self.sub(v.sym)
            return ([], "int64", s.value, None) if s.is_const else (None, "", None, None)
        if isinstance(v, Const):
            if isinstance(v.value, bool):
                return [], "bool", None, None
            if isinstance(v.value, float):
                return [], "float32", None, None
            return None, "", None, None
        if isinstance(v, Tup) and v.kind in ("list", "tuple"):
            if not v.items:
                return [0], "float32", None, []
            subs = [self._literal_shape(i) for i in v.items]
            if any(s[0] is None for s in subs) or len({tuple(s[0] or ()) for s in subs}) != 1:
                return None, "", None, None
            kinds = {s[1] for s in subs}
            kind = "float32" if "float32" in kinds else "int64" if "int64" in kinds else "bool"
            largest = max((s[2] for s in subs if s[2] is not None), default=None)
            flat = [s[2] for s in subs] if all(s[0] == [] and s[1] == "int64" for s in subs) else None
            return [len(v.items), *(subs[0][0] or [])], kind, largest, flat  # type: ignore[list-item]
        return None, "", None, None

    def _not_tensor(self, x: Value, where: str) -> Value:
        if isinstance(x, Tup) and x.role:
            self._tuple_as_tensor(x, f"{where}()")
        if isinstance(x, Packed):
            self.stop(dx.packed_as_tensor(where=f"{where}()", torch_message=None))
        if isinstance(x, Unknown):
            return x
        return Unknown(f"{where} of a value rnnshape does not follow")

    def cat(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        seq = args[0] if args else kwargs.get("tensors")
        dim_v = args[1] if len(args) > 1 else kwargs.get("dim", Int(Sym.const(0)))
        if not isinstance(seq, Tup) or seq.kind == "unknown-list":
            return Unknown(f"torch.{name} of a sequence rnnshape does not follow")
        if seq.count is not None:
            return self._cat_counted(name, seq, dim_v, node)
        for item in seq.items:
            if isinstance(item, Tup) and item.role:
                self.stop(dx.output_tuple(layer=f"nn.{item.layer.kind}" if item.layer else "the recurrent layer",
                                          where=f"torch.{name}()", torch_message=None), self._tuple_rewrite(item))
        ts = [t for t in seq.items if isinstance(t, Tensor)]
        if len(ts) != len(seq.items) or not ts:
            return Unknown(f"torch.{name} of tensors rnnshape does not follow")
        if name in ("hstack", "vstack"):
            return Unknown(f"torch.{name}")
        if not isinstance(dim_v, Int) or not self.sub(dim_v.sym).is_const:
            return Unknown(f"torch.{name} along a dimension rnnshape cannot read")
        dim = int(self.sub(dim_v.sym).value or 0)
        shapes = [self.tensor_dims(t) for t in ts]
        rank = len(shapes[0])
        stack = name == "stack"
        if stack:
            for k, s in enumerate(shapes[1:], 1):
                if len(s) != rank or any(self.equal(a, b, "torch.stack").differ for a, b in zip(s, shapes[0],
                                                                                                 strict=True)):
                    msg = None
                    if all(d.is_const for d in (*s, *shapes[0])):
                        msg = (f"stack expects each tensor to be equal size, but got [{', '.join(map(str, shapes[0]))}]"
                               f" at entry 0 and [{', '.join(map(str, s))}] at entry {k}")
                    self.stop(dx.shape_op(op="torch.stack", detail=(
                        f"torch.stack needs tensors of one shape; entry 0 is {fmt_dims(shapes[0])} and entry {k} "
                        f"is {fmt_dims(s)}"), torch_message=msg))
            if not -rank - 1 <= dim <= rank:
                self.stop(dx.shape_op(op="torch.stack", detail=f"dim {dim} is out of range", torch_message=None))
            d = dim % (rank + 1)
            dims = list(shapes[0])
            dims.insert(d, Sym.const(len(ts)))
            labels = list(ts[0].labels)
            labels.insert(d, None)
            return Tensor(tuple(dims), tuple(labels), ts[0].dtype, ts[0].device, origin=self.src(node), line=self.line)
        if not -rank <= dim < rank:
            self.stop(dx.shape_op(op=f"torch.{name}", detail=f"dim {dim} is out of range for {rank}-D tensors",
                                  torch_message=f"Dimension out of range (expected to be in range of [{-rank}, "
                                  f"{rank - 1}], but got {dim})"))
        d = dim % rank
        total = shapes[0][d]
        for k, s in enumerate(shapes[1:], 1):
            if len(s) != rank:
                self.stop(dx.shape_op(op=f"torch.{name}", detail=(
                    f"tensors of different ranks: {fmt_dims(shapes[0])} and {fmt_dims(s)}"), torch_message=(
                    f"Tensors must have same number of dimensions: got {rank} and {len(s)}")))
            for i, (a, b) in enumerate(zip(shapes[0], s, strict=True)):
                if i == d:
                    continue
                v = self.equal(a, b, f"torch.{name}")
                if v.differ:
                    msg = None
                    if a.is_const and b.is_const:
                        msg = (f"Sizes of tensors must match except in dimension {d}. Expected size {a} but got "
                               f"size {b} for tensor number {k} in the list.")
                    self.stop(dx.shape_op(op=f"torch.{name}", detail=(
                        f"joining along dim {d}, every other dimension must match: {fmt_dims(shapes[0])} and "
                        f"{fmt_dims(s)} differ in dimension {i} ({a} vs {b})"), torch_message=msg))
                if v.kind == "unknown":
                    return Unknown(f"whether {a} equals {b} (torch.{name})")
            total = total + s[d]
        dims = list(self.tensor_dims(ts[0]))
        dims[d] = total
        return Tensor(tuple(dims), ts[0].labels, ts[0].dtype, ts[0].device, origin=self.src(node), line=self.line)

    def _cat_counted(self, name: str, seq: Tup, dim_v: Value, node: ast.Call) -> Value:
        t = seq.items[0]
        if not isinstance(t, Tensor) or not isinstance(dim_v, Int) or not self.sub(dim_v.sym).is_const \
                or name not in ("cat", "stack", "concat"):
            return Unknown(f"torch.{name} of a list filled in a loop")
        dims = list(self.tensor_dims(t))
        labels = list(t.labels)
        d = int(self.sub(dim_v.sym).value or 0)
        n = seq.count or ONE
        if name == "stack":
            if not -len(dims) - 1 <= d <= len(dims):
                return Unknown("torch.stack along a dimension out of range")
            d %= len(dims) + 1
            dims.insert(d, n)
            labels.insert(d, None)
        else:
            if not -len(dims) <= d < len(dims):
                return Unknown("torch.cat along a dimension out of range")
            d %= len(dims)
            dims[d] = dims[d] * n
        return Tensor(tuple(dims), tuple(labels), t.dtype, t.device, origin=self.src(node), line=self.line)

    def functional(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        x = args[0] if args else kwargs.get("input", Unknown("no input"))
        if name in SAME_SHAPE or name in ("softmax", "log_softmax", "dropout", "relu", "gelu", "normalize",
                                          "leaky_relu", "elu", "silu", "layer_norm"):
            if isinstance(x, Tensor):
                return replace(x, node=None, origin=self.src(node), largest=None)
            return self._not_tensor(x, f"F.{name}")
        if name in ("cross_entropy", "nll_loss") and len(args) >= 2:
            return self.call_loss(Loss("CrossEntropyLoss"), args, node)
        return Unknown(f"F.{name}() is not followed")

    def call_method(self, obj: Value, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if isinstance(obj, Layer):
            if name == "forward":
                return self.call_layer(obj, args, kwargs, node)
            if name in ("to", "cuda", "cpu"):
                self._move(obj, name, args, kwargs)
                return obj
            if name in ("eval", "train", "double", "float", "half", "flatten_parameters"):
                return obj
            return Unknown(f"the layer's .{name}()")
        if isinstance(obj, Tup):
            if name in ("size", "view", "reshape", "dim", "detach", "to", "contiguous", "numel"):
                self._tuple_as_tensor(obj, f".{name}()")
            if obj.kind == "list" and not obj.role and name in ("append", "extend", "insert"):
                self._grow(obj, name, args)
                return Const(None)
            if obj.kind == "size" and name == "numel":
                total = ONE
                for i in obj.items:
                    total = total * (i.sym if isinstance(i, Int) else ONE)
                return Int(total)
            return Unknown(f"a tuple's .{name}()")
        if isinstance(obj, Instance):
            self._move(obj, name, args, kwargs)
            return obj
        if isinstance(obj, (Loader, Dataset)):
            return Unknown(f".{name}() of a data loader")
        if not isinstance(obj, Tensor):
            return obj if isinstance(obj, Unknown) else Unknown(f".{name}()")
        return self.tensor_method(obj, name, args, kwargs, node)

    def _grow(self, lst: Tup, name: str, args: list[Value]) -> None:
        """list.append in a loop: the list holds the loop's trip count of such items."""
        item = args[-1] if args else Unknown("")
        if name != "append":
            lst.items, lst.count = (Unknown(f"a list grown with .{name}()"),), None
            lst.kind = "unknown-list"
            return
        if self.loops and id(lst) not in self.loops[-1][1]:
            count = self.loops[-1][0]
            if not lst.items and count is not None:
                lst.items, lst.count = (item,), self.sub(count)
                return
            lst.kind = "unknown-list"
            return
        if lst.count is not None:
            lst.kind = "unknown-list"
            return
        lst.items = lst.items + (item,)

    def _move(self, obj: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> None:
        """model.to(device) / .cuda() / .cpu(): every layer inside follows."""
        if name == "cuda":
            dev: str | None = "cuda:0"
        elif name == "cpu":
            dev = "cpu"
        else:
            dev = "keep"
            for v in [*args, *kwargs.values()]:
                if isinstance(v, Const) and isinstance(v.value, DType):
                    continue
                d = self._device(v)
                dev = d if d is not None else None
        if dev == "keep":
            return
        seen: set[int] = set()

        def visit(v: Value) -> None:
            if id(v) in seen:
                return
            seen.add(id(v))
            if isinstance(v, Layer):
                v.device = dev
                if isinstance(v, Sequential):
                    for m in v.modules:
                        visit(m)
            elif isinstance(v, Instance):
                for a in v.attrs.values():
                    visit(a)
        visit(obj)

    def _dim_index(self, t: Tensor, v: Value, op: str, extra: int = 0) -> int:
        rank = t.rank + extra
        if not isinstance(v, Int) or not self.sub(v.sym).is_const:
            raise _NotFollowed(f"{op} along a dimension rnnshape cannot read")
        d = int(self.sub(v.sym).value or 0)
        lo, hi = -max(rank, 1), max(rank, 1) - 1
        if not lo <= d <= hi:
            self.stop(dx.shape_op(op=op, detail=(
                f"dimension {d} does not exist in the {t.rank}-D tensor {fmt_dims(self.tensor_dims(t))}"),
                torch_message=f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})"))
        return d % max(rank, 1)

    def tensor_method(self, t: Tensor, name: str, args: list[Value], kwargs: dict[str, Value],
                      node: ast.Call) -> Value:
        try:
            return self._tensor_method(t, name, args, kwargs, node)
        except _NotFollowed as nf:
            return Unknown(str(nf))

    def _tensor_method(self, t: Tensor, name: str, args: list[Value], kwargs: dict[str, Value],
                       node: ast.Call) -> Value:
        dims = self.tensor_dims(t)
        origin = self.src(node)
        keep = {"device": t.device, "origin": origin, "line": self.line, "node": None}
        if name == "size":
            if args:
                d = self._dim_index(t, args[0], ".size()")
                base = self.src(node.func.value) if isinstance(node.func, ast.Attribute) else "x"
                return Int(dims[d], t.labels[d] or f"{base}.size({d})")
            return Tup(tuple(Int(d, lab) for d, lab in zip(dims, t.labels, strict=True)), "size")
        if name == "dim":
            return Int(Sym.const(t.rank))
        if name == "numel":
            total = ONE
            for d in dims:
                total = total * d
            return Int(total)
        if name in ("item", "tolist", "numpy"):
            return Unknown(f".{name}()")
        if name in ("view", "reshape"):
            sizes = self._size_args(args, kwargs, "shape")
            if sizes is None:
                if args and isinstance(args[0], Const) and isinstance(args[0].value, DType):
                    return replace(t, dtype=args[0].value.name, **keep)
                return Unknown(f".{name} with sizes rnnshape cannot read")
            return self.view(t, sizes, name, node)
        if name in ("permute",):
            order_v = args[0].items if len(args) == 1 and isinstance(args[0], Tup) else args
            order = []
            for v in order_v:
                if not isinstance(v, Int) or not self.sub(v.sym).is_const:
                    return Unknown(".permute with dimensions rnnshape cannot read")
                order.append(int(self.sub(v.sym).value or 0))
            return self.permute(t, order, node)
        if name in ("transpose", "swapaxes", "swapdims"):
            if len(args) < 2:
                return Unknown(f".{name}()")
            a, b = self._dim_index(t, args[0], f".{name}()"), self._dim_index(t, args[1], f".{name}()")
            order = list(range(t.rank))
            order[a], order[b] = order[b], order[a]
            return self.permute(t, order, node)
        if name == "t":
            if t.rank > 2:
                self.stop(dx.shape_op(op=".t()", detail=f".t() expects a tensor with <= 2 dimensions, but "
                                      f"{fmt_dims(dims)} has {t.rank}", torch_message=(
                                          f"t() expects a tensor with <= 2 dimensions, but self is {t.rank}D")))
            return self.permute(t, list(range(t.rank))[::-1], node)
        if name == "unsqueeze":
            d = self._dim_index(t, args[0] if args else kwargs.get("dim", Unknown("")), ".unsqueeze()", extra=1)
            new = list(dims)
            labels = list(t.labels)
            new.insert(d, ONE)
            labels.insert(d, None)
            return replace(t, dims=tuple(new), labels=tuple(labels), role=_keep_role(t), **keep)
        if name == "squeeze":
            if args or "dim" in kwargs:
                d = self._dim_index(t, args[0] if args else kwargs["dim"], ".squeeze()")
                size = dims[d]
                if not size.is_const:
                    return Unknown(f"squeezing dimension {d} of size {size}, which may or may not be 1",
                                   "--shape with a number for that dimension")
                if size.value != 1:
                    return replace(t, role=_keep_role(t), **keep)
                return replace(t, dims=dims[:d] + dims[d + 1:], labels=t.labels[:d] + t.labels[d + 1:],
                               role=_keep_role(t), **keep)
            if any(not d.is_const for d in dims):
                return Unknown("squeeze() of a tensor with sizes that may be 1", "--shape with numbers")
            kept = [(d, lab) for d, lab in zip(dims, t.labels, strict=True) if d.value != 1]
            return replace(t, dims=tuple(d for d, _ in kept), labels=tuple(lab for _, lab in kept),
                           role=_keep_role(t), **keep)
        if name == "flatten":
            start = self._dim_index(t, args[0], ".flatten()") if args else \
                (self._dim_index(t, kwargs["start_dim"], ".flatten()") if "start_dim" in kwargs else 0)
            end = self._dim_index(t, args[1], ".flatten()") if len(args) > 1 else \
                (self._dim_index(t, kwargs["end_dim"], ".flatten()") if "end_dim" in kwargs else max(t.rank - 1, 0))
            if t.rank == 0:
                return replace(t, dims=(ONE,), labels=(None,), **keep)
            merged = ONE
            for d in dims[start:end + 1]:
                merged = merged * d
            return replace(t, dims=dims[:start] + (merged,) + dims[end + 1:],
                           labels=t.labels[:start] + (None,) + t.labels[end + 1:], role=None, **keep)
        if name in DTYPE_METHODS:
            return replace(t, dtype=DTYPE_METHODS[name], role=t.role, **{**keep, "origin": t.origin})
        if name in ("to", "type"):
            out = t
            for v in [*args, *kwargs.values()]:
                if isinstance(v, Const) and isinstance(v.value, DType):
                    out = replace(out, dtype=v.value.name)
                elif isinstance(v, Const) and isinstance(v.value, (str, Device)):
                    dev = self._device(v)
                    if dev:
                        out = replace(out, device=dev)
                elif isinstance(v, Tensor):
                    out = replace(out, dtype=v.dtype, device=v.device)
                elif isinstance(v, Unknown):
                    out = replace(out, device=None)
            return replace(out, line=self.line, node=None)
        if name == "cuda":
            return replace(t, device="cuda", line=self.line, node=None)
        if name in SAME_SHAPE or name == "type_as":
            return replace(t, **{**keep, "origin": t.origin}, role=t.role if name in (
                "contiguous", "detach", "clone", "cpu") else _keep_role(t))
        if name in REDUCE or name in ("max", "min", "median", "mode"):
            dim_v = args[0] if args else kwargs.get("dim")
            keepdim = self.truth(kwargs.get("keepdim", args[1] if len(args) > 1 and isinstance(args[1], Const)
                                            else Const(False)))
            if dim_v is None:
                return Tensor((), dtype="int64" if name.startswith("arg") else t.dtype)
            if isinstance(dim_v, Tup):
                return Unknown(f".{name} over several dimensions")
            d = self._dim_index(t, dim_v, f".{name}()")
            new = dims[:d] + ((ONE,) if keepdim else ()) + dims[d + 1:]
            labels = t.labels[:d] + ((None,) if keepdim else ()) + t.labels[d + 1:]
            dtype = "int64" if name.startswith("arg") else t.dtype
            out = Tensor(new, labels, dtype, t.device, origin=origin, line=self.line)
            if name in ("max", "min", "median", "mode"):
                return Tup((out, replace(out, dtype="int64")), "tuple")
            return out
        if name in ("new_zeros", "new_ones", "new_empty", "new_full"):
            sizes = self._size_args(args[:1] if name == "new_full" else args, kwargs)
            if sizes is None:
                return Unknown(f".{name} with sizes rnnshape cannot read")
            out = self._new_tensor(sizes, kwargs, node, t.dtype)
            if isinstance(out, Tensor) and out.device is None:
                out = replace(out, device=t.device)
            if isinstance(out, Tensor) and "dtype" not in kwargs:
                out = replace(out, dtype=t.dtype)
            return out
        if name in ("expand", "repeat"):
            sizes = self._size_args(args, kwargs)
            if sizes is None:
                return Unknown(f".{name} with sizes rnnshape cannot read")
            new = [self.sub(s.sym) for s in sizes]  # type: ignore[union-attr]
            if name == "expand":
                if len(new) < t.rank:
                    return Unknown(".expand to fewer dimensions")
                pad = (ONE,) * (len(new) - t.rank) + dims
                out_dims = tuple(p if n == Sym.const(-1) else n for p, n in zip(pad, new, strict=True))
            else:
                if len(new) < t.rank:
                    self.stop(dx.shape_op(op=".repeat()", detail="fewer repeat counts than dimensions",
                                          torch_message=None))
                pad = (ONE,) * (len(new) - t.rank) + dims
                out_dims = tuple(p * n for p, n in zip(pad, new, strict=True))
            return Tensor(out_dims, dtype=t.dtype, device=t.device, origin=origin, line=self.line)
        if name in ("unbind",):
            d = self._dim_index(t, args[0], ".unbind()") if args else 0
            size = dims[d]
            elem = replace(t, dims=dims[:d] + dims[d + 1:], labels=t.labels[:d] + t.labels[d + 1:], **keep)
            if size.is_const:
                return Tup((elem,) * int(size.value or 0), "tuple")
            return Iter(elem)
        if name in ("chunk", "split"):
            return Unknown(f".{name}()")
        if name in ("backward", "zero_", "retain_grad", "register_hook"):
            return Const(None)
        if name in ("matmul", "mm", "bmm"):
            return self.matmul(t, args[0] if args else Unknown(""))
        if name in ("masked_select", "nonzero"):
            return Unknown(f".{name}() (a data-dependent size)")
        return Unknown(f".{name}() is not followed")

    def permute(self, t: Tensor, order: list[int], node: ast.AST) -> Value:
        dims = self.tensor_dims(t)
        if len(order) != t.rank:
            self.stop(dx.shape_op(op=".permute()", detail=(
                f"{self.src(node)[:60]} gives {len(order)} dimensions for the {t.rank}-D tensor {fmt_dims(dims)}"),
                torch_message=None))
        norm = []
        for d in order:
            if not -t.rank <= d < t.rank:
                self.stop(dx.shape_op(op=".permute()", detail=f"dimension {d} does not exist in {fmt_dims(dims)}",
                                      torch_message=None))
            norm.append(d % t.rank if t.rank else 0)
        if len(set(norm)) != len(norm):
            self.stop(dx.shape_op(op=".permute()", detail="a dimension appears twice", torch_message=None))
        return replace(t, dims=tuple(dims[i] for i in norm), labels=tuple(t.labels[i] for i in norm),
                       origin=self.src(node), line=self.line, node=None, role=None)

    def view(self, t: Tensor, sizes: list[Value], name: str, node: ast.AST) -> Value:
        dims = self.tensor_dims(t)
        total = ONE
        for d in dims:
            total = total * d
        new = [self.sub(s.sym) for s in sizes]  # type: ignore[union-attr]
        labels = [s.label for s in sizes]  # type: ignore[union-attr]
        holes = [i for i, s in enumerate(new) if s == Sym.const(-1)]
        if len(holes) > 1:
            self.stop(dx.shape_op(op=f".{name}()", detail="only one dimension can be inferred (-1)",
                                  torch_message="only one dimension can be inferred"))
        known = ONE
        for i, s in enumerate(new):
            if i not in holes:
                known = known * s
        shape_txt = "[" + ", ".join(str(s) for s in new) + "]"
        msg = f"shape '{shape_txt}' is invalid for input of size {total}" if total.is_const and known.is_const else None
        if holes:
            q = total.exact_div(known) if known != Sym.const(0) else None
            if q is None:
                if total.is_const and known.is_const:
                    self.stop(dx.shape_op(op=f".{name}()", detail=(
                        f"{fmt_dims(dims)} holds {total} values, which {shape_txt} cannot hold: {total} is "
                        f"not divisible by {known}"), torch_message=msg))
                return Unknown(f".{name}{shape_txt}: {total} divided by {known} is not an exact expression")
            new[holes[0]] = q
        else:
            v = self.equal(total, known, f".{name}()")
            if v.differ:
                self.stop(dx.shape_op(op=f".{name}()", detail=(
                    f"{fmt_dims(dims)} holds {total} values but {shape_txt} holds {known}"), torch_message=msg))
            if v.kind == "unknown":
                return Unknown(f"whether {fmt_dims(dims)} fits {shape_txt}")
        # a size kept in place keeps its label
        out_labels = [lab if lab else (t.labels[i] if i < len(dims) and dims[i] == new[i] else None)
                      for i, lab in enumerate(labels)]
        role = "logits-per-step" if t.role == "logits-per-step" else None
        return replace(t, dims=tuple(new), labels=tuple(out_labels), origin=self.src(node), line=self.line,
                       node=None, role=role)


class _NotFollowed(Exception):
    pass


@dataclass(eq=False)
class BoundMethod(Value):
    obj: Value
    name: str


def _keep_role(t: Tensor) -> str | None:
    return t.role if t.role in ("h_n-slice",) else None


def _norm_device(name: str) -> str:
    name = name.strip()
    if name == "cuda":
        return "cuda:0"
    return name


def _what(err: dx.Diagnosis) -> str:
    return {"input-size-mismatch": "input_size"}.get(err.code, err.code.replace("-", " "))


def _mismatch_pair(err: dx.Diagnosis, P: Placeholders) -> tuple[Sym, Sym] | None:
    """The two sizes a value-dependent error compares, read back as expressions (None: not value-dependent)."""
    ev = err.evidence
    exp, got = ev.get("expected"), ev.get("got")
    if isinstance(exp, int) and isinstance(got, int):
        a, b = P.back(exp), P.back(got)
        return (a, b) if a is not None and b is not None and not (a.is_const and b.is_const) else None
    if isinstance(exp, (list, tuple)) and isinstance(got, (list, tuple)) and len(exp) == len(got):
        for e, g in zip(exp, got, strict=True):
            if e != g:
                a, b = P.back(e), P.back(g)
                if a is None or b is None or (a.is_const and b.is_const):
                    return None
                return a, b
    return None


# --------------------------------------------------------------------------- hints


def hint_tensor(name: str, dims: list[str], dtype: str = "float32") -> Tensor:
    syms = []
    labels: list[str | None] = []
    for d in dims:
        if re.fullmatch(r"\d+", d):
            syms.append(Sym.const(int(d)))
            labels.append(None)
        else:
            syms.append(Sym.var(d))
            labels.append(d)
    return Tensor(tuple(syms), tuple(labels), dtype, None, origin=f"--shape {name}={','.join(dims)}", line=None)


def as_sym_safe(v: Any) -> Sym | None:
    try:
        return as_sym(v)
    except TypeError:
        return None
