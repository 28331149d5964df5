"""Statements: assignment and unpacking, if/for/while/with/try, in order, a loop body once."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower.values import (
    CLASS_NAME,
    UNROLL,
    BoundMethod,
    Const,
    Dataset,
    Env,
    Finding,
    Free,
    Function,
    Halt,
    Instance,
    Int,
    Iter,
    Layer,
    LayerChoice,
    Loader,
    ModRef,
    Returned,
    Stop,
    Tensor,
    Tup,
    Unknown,
    UnknownItem,
    UserClass,
    Value,
    with_origin,
)
from rnnshape.diagnoses import follow_findings as ff
from rnnshape.model.symbolic import ONE, Sym, fmt_dims

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower


class StatementsMixin:
    def block(self: Follower, body: list[ast.stmt], env: Env) -> None:
        for stmt in body:
            self.statement(stmt, env)

    def statement(self: Follower, stmt: ast.stmt, env: Env) -> None:
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            self.result.notes.append("the snippet is too long to follow to the end")
            raise Halt()
        self.line = stmt.lineno
        self.stmt = stmt
        self.result.followed.add(stmt.lineno)
        kind = type(stmt)
        follow = _STATEMENTS.get(kind, _UNSEEN)
        if follow is _UNSEEN:   # a subclass of a node type: its base's handler (looked up once)
            follow = _STATEMENTS[kind] = next((_STATEMENTS[b] for b in kind.__mro__ if b in _STATEMENTS), None)
        if follow is None:   # a statement the follower does not model: pass, raise, global...
            return
        try:
            follow(self, stmt, env)
        except RecursionError:
            self.result.notes.append(f"line {stmt.lineno} is too deeply nested to follow; skipped")

    def _import(self: Follower, stmt: ast.Import, env: Env) -> None:
        for alias in stmt.names:
            if alias.asname:
                env[alias.asname] = ModRef(alias.name)
            else:
                top = alias.name.split(".")[0]
                env[top] = ModRef(top)

    def _import_from(self: Follower, stmt: ast.ImportFrom, env: Env) -> None:
        for alias in stmt.names:
            if alias.name == "*":
                if stmt.module in ("torch.nn", "torch"):
                    env.setdefault("__star__", ModRef(stmt.module))
                continue
            env[alias.asname or alias.name] = ModRef(f"{stmt.module}.{alias.name}")

    def _assign_statement(self: Follower, stmt: ast.Assign, env: Env) -> None:
        value = self.expr(stmt.value, env)
        for target in stmt.targets:
            self.assign(target, value, env, stmt)

    def _ann_assign(self: Follower, stmt: ast.AnnAssign, env: Env) -> None:
        if stmt.value is not None:
            self.assign(stmt.target, self.expr(stmt.value, env), env, stmt)

    def _aug_assign(self: Follower, stmt: ast.AugAssign, env: Env) -> None:
        left = self.expr(stmt.target, env)
        value = self.binop(stmt.op, left, self.expr(stmt.value, env), stmt)
        self.assign(stmt.target, value, env, stmt)

    def _expression_statement(self: Follower, stmt: ast.Expr, env: Env) -> None:
        value = self.expr(stmt.value, env)
        if isinstance(value, Tup) and value.kind == "size":  # a REPL echo of x.shape
            self.show(stmt.lineno, self.src(stmt.value)[:30], Tensor(tuple(
                i.sym if isinstance(i, Int) else Sym.var("?") for i in value.items)))

    def _function_def(self: Follower, stmt: ast.FunctionDef | ast.AsyncFunctionDef, env: Env) -> None:
        env[stmt.name] = Function(stmt)  # type: ignore[arg-type]

    def _class_def(self: Follower, stmt: ast.ClassDef, env: Env) -> None:
        methods = {s.name: s for s in stmt.body if isinstance(s, ast.FunctionDef)}
        cls = UserClass(stmt, methods, tuple(self.expr(b, env) for b in stmt.bases))
        self.classes.append(cls)
        self.classifier_class = self.classifier_class or bool(CLASS_NAME.compiled.search(stmt.name))
        env[stmt.name] = cls

    def _return(self: Follower, stmt: ast.Return, env: Env) -> None:
        raise Returned(self.expr(stmt.value, env) if stmt.value is not None else Const(None))

    def _while(self: Follower, stmt: ast.While, env: Env) -> None:
        cond = self.truth(self.expr(stmt.test, env))
        if cond is not False:
            self.block(stmt.body, env)

    def _with(self: Follower, stmt: ast.With | ast.AsyncWith, env: Env) -> None:
        for item in stmt.items:
            v = self.expr(item.context_expr, env)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, v if not isinstance(v, (Const, ModRef)) else
                            Unknown("a context manager's value"), env, stmt)
        self.block(stmt.body, env)

    def _try(self: Follower, stmt: ast.Try, env: Env) -> None:
        self.block(stmt.body, env)
        self.block(stmt.orelse, env)
        self.block(stmt.finalbody, env)

    def _delete(self: Follower, stmt: ast.Delete, env: Env) -> None:
        for t in stmt.targets:
            if isinstance(t, ast.Name):
                env.pop(t.id, None)

    def if_(self: Follower, stmt: ast.If, env: Env) -> None:
        cond = self.truth(self.expr(stmt.test, env))
        if cond is True:
            self.block(stmt.body, env)
            return
        if cond is False:
            self.block(stmt.orelse, env)
            return
        if _raises(stmt.body) != _raises(stmt.orelse):
            # one branch ends in raise: the lines after the if run only after the other one (both are followed)
            dead, live = (stmt.body, stmt.orelse) if _raises(stmt.body) else (stmt.orelse, stmt.body)
            self.block(dead, env.new_child())
            self.block(live, env)
            return
        # undecidable: follow both in child scopes and keep only what they agree on
        left, right = env.new_child(), env.new_child()
        try:
            self.block(stmt.body, left)
        except Returned as ret:
            self._both_return(ret, stmt.orelse, right)
            raise
        self.block(stmt.orelse, right)
        for name in set(left.maps[0]) | set(right.maps[0]):
            a, b = left.get(name), right.get(name)
            if a is b:
                if a is not None:
                    env[name] = a
                continue
            joined = self.join(a, b) if a is not None and b is not None else None
            if joined is not None:
                env[name] = joined
            else:
                env[name] = Unknown(f"{name} depends on a condition rnnshape cannot decide "
                                    f"(line {stmt.lineno})", f"--shape {name}=...")

    def join(self: Follower, a: Value, b: Value) -> Value | None:
        """What two branches' values agree on: the value itself, a tensor whose device they do not agree on
        (left open), a tuple joined item by item, nn.RNN or nn.GRU as a choice of both; None when they differ."""
        kinds = _recurrent_kinds(a) + _recurrent_kinds(b)
        if kinds and None not in kinds and len(set(kinds)) > 1:
            return LayerChoice(tuple(dict.fromkeys(kinds)))  # type: ignore[arg-type]
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            if self.tensor_dims(a) != self.tensor_dims(b) or a.dtype != b.dtype:
                return None
            return a if a.device == b.device else replace(a, device=None)
        if isinstance(a, Tup) and isinstance(b, Tup) and a is not b:
            if (a.kind, a.role, len(a.items), a.count) != (b.kind, b.role, len(b.items), b.count):
                return None
            items = [self.join(x, y) for x, y in zip(a.items, b.items, strict=True)]
            if any(i is None for i in items):
                return None
            return replace(a, items=tuple(items))  # type: ignore[arg-type]
        return a if self.same(a, b) else None

    def _both_return(self: Follower, ret: Returned, orelse: list[ast.stmt], right: Env) -> None:
        """``if cuda: return x.cuda() else: return x``: when both branches return, the value is what they
        agree on (a device neither pins is left open), never the first branch's alone."""
        try:
            self.block(orelse, right)
        except Returned as other:
            joined = self.join(ret.value, other.value)
            ret.value = joined if joined is not None else Unknown("a value two branches return differently")

    def same(self: Follower, a: Value, b: Value) -> bool:
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            return self.tensor_dims(a) == self.tensor_dims(b) and a.dtype == b.dtype
        if isinstance(a, Int) and isinstance(b, Int):
            return self.sub(a.sym) == self.sub(b.sym)
        if isinstance(a, Const) and isinstance(b, Const):
            return a.value == b.value
        return a is b

    def for_(self: Follower, stmt: ast.For | ast.AsyncFor, env: Env) -> None:
        value = self.expr(stmt.iter, env)
        items = self.unrolled(value, differing_only=True)
        if items is not None:   # `for layer in self.layers:` over layers that differ: each in turn
            for item in items:
                self.assign(stmt.target, item, env, stmt)
                self._loop_body(stmt, env, None)
            return
        it = self.iterate(value, stmt.iter)
        if it.empty:
            self.block(stmt.orelse, env)
            return
        element = it.element
        if isinstance(element, Int) and getattr(element, "loop_index", False) and isinstance(stmt.target, ast.Name):
            element = Int(Sym.var(stmt.target.id))
            element.loop_index = True  # type: ignore[attr-defined]
        self.assign(stmt.target, element, env, stmt)
        before = dict(env.maps[0])
        watched = self._full_batch_states(value, env)
        if watched is not None:
            self.full_batch_states.append(watched)
        try:
            self._loop_body(stmt, env, it.count)   # once: one representative iteration
        finally:
            if watched is not None:
                self.full_batch_states.pop()
        if self._fed_back(stmt, before, env, it.count):
            self.second_pass = True   # the names the body rebinds, as the next iteration reads them
            try:
                self._loop_body(stmt, env, it.count)
            finally:
                self.second_pass = False
        last = value.last_batch(self.sub) if isinstance(value, Loader) else None
        if last is not None:
            self._last_batch(stmt, value, last, env)  # type: ignore[arg-type]
        if isinstance(value, Const) and isinstance(value.value, range) and len(value.value) > 1 and \
                0 in value.value and not self.second_pass and not _mutates(stmt.body):
            self._zero_pass(stmt, env)

    def _zero_pass(self: Follower, stmt: ast.For | ast.AsyncFor, env: Env) -> None:
        """A literal range holding 0 (``for n in reversed(range(4))``): the symbolic index of the representative
        pass stands for the positive values only, so the body is followed once more with 0, where a size made
        from the index is empty. Only its error counts: what else it records repeats the first pass."""
        r = self.result
        warnings, notes, assumptions, unknowns = len(r.warnings), len(r.notes), len(r.assumptions), len(r.unknowns)
        scope = env.new_child()
        self.assign(stmt.target, Int(Sym.const(0)), scope, stmt)
        self.second_pass = True   # never nested: following stays linear
        try:
            self._loop_body(stmt, scope, None)
        finally:
            self.second_pass = False
            del r.warnings[warnings:], r.notes[notes:], r.assumptions[assumptions:], r.unknowns[unknowns:]

    def _full_batch_states(self: Follower, value: Value, env: Env) -> tuple[Sym, list[tuple[Value, int, str]]] | None:
        """Before a loop over a DataLoader whose size the snippet does not fix: the states already made with its
        batch size as their batch (``h = net.init_hidden(batch_size)``), to warn if one reaches a layer."""
        if not isinstance(value, Loader) or not value.rows_unknown():
            return None
        batch = self.sub(value.batch.sym)
        found = []
        for name, v in env.maps[0].items():
            items = v.items if isinstance(v, Tup) and not v.role else (v,)
            if items and all(isinstance(t, Tensor) and t.rank == 3 and self.sub(t.dims[1]) == batch for t in items):
                line = self.assigned_at.get((id(env.maps[0]), name))
                if line is not None:
                    found.append((items[0], line, name))
        return (batch, found) if found else None

    def _fed_back(self: Follower, stmt: ast.For | ast.AsyncFor, before: dict[str, Value], env: Env,
                  count: Sym | None) -> bool:
        """Whether a loop that surely runs twice reads, on its second iteration, a name its first one rebound to
        another kind of value (``hx = cell(x, (hx, cx))`` makes hx the (h, c) tuple). One extra pass, never
        nested, keeps following linear."""
        if self.second_pass or count is None or not self.sub(count).is_const or (self.sub(count).value or 0) < 2:
            return False
        read = {n.id for s in stmt.body for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        return any(name in read and name in env.maps[0] and not self._same_kind(old, env.maps[0][name])
                   for name, old in before.items())

    def _same_kind(self: Follower, a: Value, b: Value) -> bool:
        if type(a) is not type(b):
            return False
        if isinstance(a, Tup) and isinstance(b, Tup):
            return a.role == b.role and len(a.items) == len(b.items)
        return not isinstance(a, Tensor) or self.same(a, b)

    def _loop_body(self: Follower, stmt: ast.For | ast.AsyncFor, env: Env, count: Sym | None) -> None:
        self.line = stmt.lineno
        self.loops.append((count, set()))
        try:
            self.block(stmt.body, env)
        finally:
            self.loops.pop()

    def _last_batch(self: Follower, stmt: ast.For | ast.AsyncFor, loader: Loader, last: tuple[int, int, int],
                    env: Env) -> None:
        """The body again with the DataLoader's smaller last batch: what fails there fails at the epoch's end."""
        rows, size, left = last
        scope = env.new_child()
        self.assign(stmt.target, self.loader_batch(loader, Int(Sym.const(left), loader.batch.label)), scope, stmt)
        try:
            self._loop_body(stmt, scope, None)
        except Stop as stop:
            inner = stop.finding.diagnosis
            fix = self.flag_rewrite(loader.node, "drop_last", True) if loader.node is not None else None
            raise Stop(Finding(stop.finding.line, ff.last_batch_smaller(
                rows=rows, batch_size=size, last=left, torch_message=inner.evidence.get("torch_message"),
                inner=inner), fix)) from None

    def unrolled(self: Follower, value: Value, *, differing_only: bool = False) -> list[Value] | None:
        """The items of a short list or range, to follow one by one (None: follow one representative)."""
        if isinstance(value, Tup) and value.count is None and not value.role and 1 < len(value.items) <= UNROLL:
            if differing_only and all(self.same(value.items[0], v) for v in value.items[1:]):
                return None
            return list(value.items)
        if not differing_only and isinstance(value, Const) and isinstance(value.value, range) and \
                len(value.value) <= UNROLL:
            return [Int(Sym.const(i)) for i in value.value]
        return None

    def iterate(self: Follower, value: Value, node: ast.AST) -> Iter:
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
        return Iter(UnknownItem(f"what iterating {self.src(node)} gives is not known",
                            "--shape NAME=SHAPE for the loop variables"))

    def loader_batch(self: Follower, loader: Loader, batch: Int | None = None) -> Value:
        ds = loader.dataset
        if not isinstance(ds, Dataset):
            return Unknown("a DataLoader over a dataset rnnshape does not follow",
                           "--shape NAME=SHAPE for the batch (e.g. --shape x=32,50,300)")
        batch = batch or loader.batch
        out: list[Value] = []
        for t in ds.tensors:
            if isinstance(t, Tensor) and t.rank >= 1:
                out.append(replace(t, dims=(batch.sym, *t.dims[1:]),
                                   labels=(batch.label or "batch_size", *t.labels[1:]),
                                   origin="a DataLoader batch", role=None, layer=None, node=None))
            else:
                out.append(Unknown("a dataset item rnnshape does not follow"))
        return Tup(tuple(out), "list")   # default_collate: a list, even of one tensor

    def assign(self: Follower, target: ast.expr, value: Value, env: Env, stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            name = target.id
            self.assigned_at[(id(env.maps[0]), name)] = self.line
            if isinstance(value, Unknown) and name in self.hints and self._last_binding(name):
                value = self.hints[name]   # (an earlier binding stays unknown: see LayersMixin.call_layer)
            # one branch per kind of value (the kinds are disjoint): what the name it is bound to adds to it
            if isinstance(value, Tensor):
                if not (value.origin or "").startswith("--shape"):
                    value = with_origin(value, f"{name}, line {self.line}")
            elif isinstance(value, Tup):
                if value.layer is not None and value.fix is None and value.role == "outputs":
                    state = "(h_n, c_n)" if value.layer.mode == "lstm" else "h_n"
                    value.fix = (target, f"{name}, {state}")
                elif value.layer is not None and value.fix is None and value.role == "state":
                    # a cell's (h, c) kept whole: unpacked, hx -> hx, cx
                    value.fix = (target, f"{name}, {'c' + name[1:] if name.startswith('h') else name + '_c'}")
            elif isinstance(value, Int):
                if value.label is None and not getattr(value, "loop_index", False):
                    value = Int(value.sym, name)
            elif isinstance(value, Layer) and value.name is None:
                value.name = name
            env.maps[0][name] = value   # (ChainMap's own __setitem__ does this, one call slower)
            self.show(self.line, name, value)
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

    def _last_binding(self: Follower, name: str) -> bool:
        """Whether the assignment on this line is the last one of ``name`` in its function: the binding a
        --shape hint for it pins (an earlier one of a name assigned again is not the one it was asked for)."""
        stores = self.hint_stores.get(name, [])
        scope = next((sc for line, sc in stores if line == self.line), None)
        return not any(line > self.line and sc == scope for line, sc in stores)

    def unpack(self: Follower, target: ast.Tuple | ast.List, value: Value, env: Env, stmt: ast.stmt) -> None:
        names = target.elts
        m = len(names)
        if any(isinstance(e, ast.Starred) for e in names):
            for e in names:
                self.assign(e.value if isinstance(e, ast.Starred) else e, Unknown("a starred assignment"),
                            env, stmt)
            return
        if isinstance(value, BoundMethod) and isinstance(value.obj, Free) and value.name == "shape" and \
                id(value.obj) not in self.freed:
            value = self.pin_rank(value.obj, names)
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
                if isinstance(v, Tup) and v.role == "state" and isinstance(e, ast.Name) and v.fix is None:
                    v.fix = (e, f"({e.id}, c_n)")
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
                self.warn(ff.gru_state_split(target=self.src(target), layer=f"nn.{value.layer.kind}", n=n,
                                             expected=m), self._unpack_rewrite(stmt, target, None, value))
            for e in names:
                self.assign(e, self.index_tensor(value, [ast.Constant(0)], target, silent=True), env, stmt)
            return
        if isinstance(value, Iter):
            value = value.element
        for i, e in enumerate(names):
            self.assign(e, Unknown(value.reason if isinstance(value, Unknown) else
                                   f"item {i} of a value rnnshape does not follow",
                                   value.hint if isinstance(value, Unknown) else None), env, stmt)

    def pin_rank(self: Follower, free: Free, names: list[ast.expr]) -> Value:
        """``batch, seq_len, features = x.shape`` of an unpinned argument: x has that rank (torch raises
        otherwise), each size a symbol named by the code."""
        dims = []
        for i, e in enumerate(names):
            label = e.id if isinstance(e, ast.Name) and e.id != "_" else f"{free.name}.size({i})"
            dims.append(free.sizes.get(i, Sym.var(label)))
        labels = tuple(e.id if isinstance(e, ast.Name) and e.id != "_" else None for e in names)
        t = Tensor(tuple(dims), labels, origin=f"{free.name} (symbolic: not pinned by the snippet)", line=self.line)
        self.set_freed(free, t)
        self.result.assumptions.append((self.line, f"{free.name} = {fmt_dims(tuple(dims))}, the rank its "
                                        f"unpacking says (pin it with --shape {free.name}=...)"))
        return self.tensor_attribute(t, "shape", names[0])

    def truth(self: Follower, value: Value) -> bool | None:
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


#: Each statement type to how it is followed: one dict lookup per statement instead of a chain of isinstance
#: tests (a long paste has thousands of statements). Types not listed are not followed.
_STATEMENTS: dict[type, Any] = {
    ast.Import: StatementsMixin._import,
    ast.ImportFrom: StatementsMixin._import_from,
    ast.Assign: StatementsMixin._assign_statement,
    ast.AnnAssign: StatementsMixin._ann_assign,
    ast.AugAssign: StatementsMixin._aug_assign,
    ast.Expr: StatementsMixin._expression_statement,
    ast.FunctionDef: StatementsMixin._function_def,
    ast.AsyncFunctionDef: StatementsMixin._function_def,
    ast.ClassDef: StatementsMixin._class_def,
    ast.Return: StatementsMixin._return,
    ast.If: StatementsMixin.if_,
    ast.For: StatementsMixin.for_,
    ast.AsyncFor: StatementsMixin.for_,
    ast.While: StatementsMixin._while,
    ast.With: StatementsMixin._with,
    ast.AsyncWith: StatementsMixin._with,
    ast.Try: StatementsMixin._try,
    ast.Delete: StatementsMixin._delete,
}
_UNSEEN = object()


def _raises(body: list[ast.stmt]) -> bool:
    """Whether a block surely ends in ``raise`` (an if whose branches both do, too)."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, ast.If):
        return _raises(last.body) and _raises(last.orelse)
    return isinstance(last, ast.Raise)


def _mutates(body: list[ast.stmt]) -> bool:
    """Whether a block changes something outside its own names (an attribute, an item, a list it appends to):
    following it once more would change it twice."""
    for node in (n for s in body for n in ast.walk(s)):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("append", "extend", "insert"):
            return True
    return False


def _recurrent_kinds(v: Value) -> tuple[str | None, ...]:
    """The full recurrent layers (not cells) a class reference names: ``nn.GRU`` -> ("GRU",); else (None,)."""
    if isinstance(v, LayerChoice):
        return v.kinds
    name = v.path.rsplit(".", 1)[-1] if isinstance(v, ModRef) else None
    return (name,) if name in ("RNN", "GRU", "LSTM") else (None,)


def hinted_stores(tree: ast.Module, names: set[str]) -> dict[str, list[tuple[int, int]]]:
    """Each hinted name's assignments: (line, the line of the function holding it; 0 for the module)."""
    out: dict[str, list[tuple[int, int]]] = {}
    todo: list[tuple[ast.AST, int]] = [(tree, 0)]
    while todo:
        node, scope = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store) and child.id in names:
                out.setdefault(child.id, []).append((child.lineno, scope))
            inner = child.lineno if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else scope
            todo.append((child, inner))
    return out
