"""Expressions: names, constants, operators, attributes, subscripts and calls."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower import rules
from rnnshape.diagnose.follower.values import (
    BUILTINS,
    COMPARE,
    DTYPES,
    IDENTITIES,
    MAX_INT_BITS,
    MAX_ITEMS,
    MODEL_METHODS,
    TENSOR_ATTRS,
    UNIMPORTED,
    BoundMethod,
    Const,
    Dataset,
    Device,
    DType,
    Env,
    Free,
    Function,
    Instance,
    Int,
    Layer,
    Loader,
    ModRef,
    Packed,
    Parameter,
    Super,
    Tensor,
    Tup,
    Unknown,
    UserClass,
    Value,
    capped,
    layer_picture,
)
from rnnshape.diagnoses import follow_findings as ff
from rnnshape.model.symbolic import ONE, Sym, fmt_dims

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower


#: follower class -> (node type -> its ``e_`` method, or None when it has none).
_E_METHODS: dict[type, dict[type, Any]] = {}


def e_methods(follower_class: type) -> dict[type, Any]:
    """The table of ``follower_class``'s ``e_`` methods by node type, filled as node types are met."""
    return _E_METHODS.setdefault(follower_class, {})


class ExpressionsMixin:
    _e_methods: dict[type, Any]   # e_methods(type(self)), set by the follower's __init__

    def expr(self: Follower, node: ast.expr | None, env: dict[str, Value]) -> Value:
        if node is None:
            return Const(None)
        try:
            method = self._e_methods[node.__class__]
        except KeyError:  # looked up once per kind of node, not on each of a long paste's expressions
            method = self._e_methods[node.__class__] = getattr(type(self), "e_" + node.__class__.__name__, None)
        if method is None:
            return Unknown(f"{self.src(node)[:60]} is not followed")
        return method(self, node, env)

    def e_Constant(self: Follower, node: ast.Constant, env: Env) -> Value:
        v = node.value
        if type(v) is int:   # (not a bool)
            if v.bit_length() > MAX_INT_BITS:
                return Unknown("an integer too large to be a size")
            return Int(Sym.const(v))
        return Const(v)

    def e_Name(self: Follower, node: ast.Name, env: Env) -> Value:
        name = node.id
        try:
            scopes = env.maps
        except AttributeError:   # a plain dict (index_tensor's)
            scopes = (env,)
        for scope in scopes:  # ChainMap's lookup, once instead of `in` then `[]`
            if name in scope:
                value = scope[name]
                return self.freed.get(id(value), value) if isinstance(value, Free) else value
        if node.id in self.hints:
            return self.hints[node.id]
        if node.id in ("torch",):
            return ModRef("torch")
        if node.id == "nn":
            return ModRef("torch.nn")
        if node.id == "F":
            return ModRef("torch.nn.functional")
        if node.id in BUILTINS:
            return ModRef("builtins." + node.id)
        if node.id in IDENTITIES:   # Variable without its import (pastes of the 0.3 era)
            return ModRef("torch.autograd." + node.id)
        if node.id in UNIMPORTED:
            return ModRef(UNIMPORTED[node.id])
        star = _lookup(env, "__star__")
        if isinstance(star, ModRef):
            return ModRef(f"{star.path}.{node.id}")
        return Unknown(f"{node.id} is not defined in the snippet", f"--shape {node.id}=...")

    def e_Tuple(self: Follower, node: ast.Tuple, env: Env) -> Value:
        return Tup(self._items(node.elts, env), "tuple", line=node.lineno, node=node)

    def _items(self: Follower, elts: list[ast.expr], env: Env) -> tuple[Value, ...]:
        """A literal's items, ``*rest`` spliced in when rest is a tuple we follow."""
        out: list[Value] = []
        for e in elts:
            v = self.expr(e, env)
            if isinstance(e, ast.Starred) and isinstance(v, Tup) and v.count is None:
                out.extend(v.items)
            else:
                out.append(v)
        return tuple(out)

    def e_List(self: Follower, node: ast.List, env: Env) -> Value:
        lst = Tup(self._items(node.elts, env), "list", line=node.lineno, node=node)
        if self.loops:
            self.loops[-1][1].add(id(lst))
        return lst

    def e_JoinedStr(self: Follower, node: ast.JoinedStr, env: dict[str, Value]) -> Value:
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                self.expr(v.value, env)
        return Const("")

    def e_UnaryOp(self: Follower, node: ast.UnaryOp, env: dict[str, Value]) -> Value:
        v = self.expr(node.operand, env)
        if isinstance(node.op, ast.USub):
            if isinstance(v, Int):
                return Int(-v.sym)
            if isinstance(v, Const) and isinstance(v.value, (int, float, complex)):
                return Const(-v.value)
            if isinstance(v, Tensor):
                return replace(v, role=None, node=None)
        if isinstance(node.op, ast.Not):
            t = self.truth(v)
            return Const(not t) if t is not None else Unknown("a condition")
        if isinstance(node.op, ast.UAdd):
            return v
        return Unknown("a unary operation")

    def e_BoolOp(self: Follower, node: ast.BoolOp, env: dict[str, Value]) -> Value:
        values = [self.truth(self.expr(v, env)) for v in node.values]
        if isinstance(node.op, ast.And):
            if False in values:
                return Const(False)
            return Const(True) if all(v is True for v in values) else Unknown("a condition")
        if True in values:
            return Const(True)
        return Const(False) if all(v is False for v in values) else Unknown("a condition")

    def e_Compare(self: Follower, node: ast.Compare, env: Env) -> Value:
        left = self.expr(node.left, env)
        if len(node.ops) != 1:
            return Unknown("a chained comparison")
        right = self.expr(node.comparators[0], env)
        op = node.ops[0]
        name = rules.COMPARISONS.get(type(op))
        if name is not None and any(isinstance(v, Tensor) for v in (left, right)):
            return self.apply(name, [left, right], {}, node)
        if isinstance(op, (ast.Is, ast.IsNot)):
            ln = isinstance(left, Const) and left.value is None
            rn = isinstance(right, Const) and right.value is None
            if isinstance(left, Unknown) or isinstance(right, Unknown) or not (ln or rn):
                return Unknown("an identity comparison")
            return Const((ln and rn) == isinstance(op, ast.Is))
        if isinstance(left, Int) and isinstance(right, Int):
            a, b = self.sub(left.sym), self.sub(right.sym)
            if a.is_const and b.is_const and name is not None:
                return Const(COMPARE[name](a.value, b.value))
        if isinstance(left, Const) and isinstance(right, Const) and isinstance(op, (ast.Eq, ast.NotEq)):
            return Const((left.value == right.value) == isinstance(op, ast.Eq))
        return Unknown("a comparison")

    def e_IfExp(self: Follower, node: ast.IfExp, env: dict[str, Value]) -> Value:
        cond = self.truth(self.expr(node.test, env))
        if cond is True:
            return self.expr(node.body, env)
        if cond is False:
            return self.expr(node.orelse, env)
        a, b = self.expr(node.body, env), self.expr(node.orelse, env)
        if self.same(a, b):
            return a
        return Unknown(f"{self.src(node)[:60]} depends on a condition rnnshape cannot decide")

    def e_Starred(self: Follower, node: ast.Starred, env: dict[str, Value]) -> Value:
        return self.expr(node.value, env)

    def e_Lambda(self: Follower, node: ast.Lambda, env: dict[str, Value]) -> Value:
        return Unknown("a lambda")

    def e_ListComp(self: Follower, node: ast.ListComp, env: Env) -> Value:
        """``[nn.LSTM(...) for i in range(n)]``: unrolled when short, else one item and the count."""
        if len(node.generators) != 1 or node.generators[0].ifs:
            return Unknown("a list comprehension with several loops or a condition")
        gen = node.generators[0]
        source = self.expr(gen.iter, env)
        scope = env.new_child()
        items = self.unrolled(source)
        if items is not None:
            out = []
            for item in items:
                self.assign(gen.target, item, scope, node)  # type: ignore[arg-type]
                out.append(self.expr(node.elt, scope))
            return Tup(tuple(out), "list")
        it = self.iterate(source, gen.iter)
        if it.empty:
            return Tup((), "list")
        self.assign(gen.target, it.element, scope, node)  # type: ignore[arg-type]
        return Tup((self.expr(node.elt, scope),), "list", count=it.count)

    def e_BinOp(self: Follower, node: ast.BinOp, env: Env) -> Value:
        return self.binop(node.op, self.expr(node.left, env), self.expr(node.right, env), node)

    def binop(self: Follower, op: ast.operator, a: Value, b: Value, node: ast.AST) -> Value:
        """An operator: integer arithmetic on sizes, tuples joined, else the op's shape rule."""
        if isinstance(a, Int) and isinstance(b, Int):
            return self.int_arith(op, self.sub(a.sym), self.sub(b.sym))
        if isinstance(a, (Const, Int)) and isinstance(b, (Const, Int)):   # 0.5 * 2: plain numbers
            return self.const_arith(op, self._number(a), self._number(b))
        if isinstance(a, Tup) and isinstance(b, Tup) and isinstance(op, ast.Add) and not (a.role or b.role):
            if len(a.items) + len(b.items) > MAX_ITEMS or a.count is not None or b.count is not None:
                return Unknown("a list too long to follow")
            return Tup(a.items + b.items, a.kind)
        if isinstance(a, Tup) and isinstance(b, Int) and isinstance(op, ast.Mult) and not a.role:
            n = self.sub(b.sym).value
            if n is None or n * len(a.items) > MAX_ITEMS:
                return Unknown("a list too long to follow")
            return Tup(a.items * n, a.kind)
        name = rules.OPERATORS.get(type(op))
        if name is not None and any(isinstance(v, (Tensor, Tup, Packed, Free)) for v in (a, b)):
            return self.apply(name, [a, b], {}, node)
        if isinstance(a, Unknown):
            return a
        if isinstance(b, Unknown):
            return b
        return Unknown("an operation rnnshape does not follow")

    def int_arith(self: Follower, op: ast.operator, x: Sym, y: Sym) -> Value:
        out: Sym | None = None
        if isinstance(op, ast.Add):
            out = x + y
        elif isinstance(op, ast.Sub):
            out = x - y
        elif isinstance(op, ast.Mult):
            out = x * y
        elif isinstance(op, ast.FloorDiv):
            if x.is_const and y.is_const and y.value:
                out = Sym.const(x.value // y.value)  # type: ignore[operator]
            else:
                out = x.exact_div(y) or Sym.var(f"{x}//{y}")
        elif isinstance(op, ast.Mod) and x.is_const and y.is_const and y.value:
            out = Sym.const(x.value % y.value)  # type: ignore[operator]
        elif isinstance(op, ast.Pow) and x.is_const and y.is_const and 0 <= (y.value or 0) < MAX_INT_BITS \
                and abs(x.value or 0).bit_length() * (y.value or 0) <= MAX_INT_BITS:
            out = Sym.const(x.value ** y.value)  # type: ignore[operator]
        elif isinstance(op, ast.Div):
            return Const(x.value / y.value) if x.is_const and y.is_const and y.value else Const(None)
        if out is None:
            return Unknown("integer arithmetic rnnshape does not follow")
        if capped(out):
            return Unknown("a size too large (or too complex) to follow")
        return Int(out)

    def _number(self: Follower, v: Const | Int) -> Any:
        return v.value if isinstance(v, Const) else self.sub(v.sym).value

    def const_arith(self: Follower, op: ast.operator, p: Any, q: Any) -> Value:
        if isinstance(p, (int, float, bool, complex)) and isinstance(q, (int, float, bool, complex)):
            try:
                fn = {ast.Add: lambda: p + q, ast.Sub: lambda: p - q, ast.Mult: lambda: p * q,
                      ast.Div: lambda: p / q}.get(type(op))
                if fn is not None:
                    return Const(fn())
            except ZeroDivisionError:
                pass
        return Const(None)

    def e_Attribute(self: Follower, node: ast.Attribute, env: dict[str, Value]) -> Value:
        base = node.value
        # self.x, torch.x, nn.x: the commonest attributes, their name read without expr's dispatch
        obj = self.e_Name(base, env) if base.__class__ is ast.Name else self.expr(base, env)
        if isinstance(obj, Unknown) and node.attr in UNIMPORTED and isinstance(node.value, ast.Name) and \
                node.value.id not in env:
            # rnn_utils.pack_padded_sequence with the import cut off: the name is torch's alone
            return ModRef(UNIMPORTED[node.attr])
        return self.attribute(obj, node.attr, node)

    def attribute(self: Follower, obj: Value, attr: str, node: ast.AST) -> Value:
        if isinstance(obj, ModRef):
            if obj.path == "torch" and attr in DTYPES:
                return Const(DType(DTYPES[attr]))
            return ModRef(f"{obj.path}.{attr}")
        if isinstance(obj, Instance):
            if attr in obj.attrs:
                return obj.attrs[attr]
            owner = self.owner_of(obj.cls, attr)
            if owner is not None:
                return Function(owner.methods[attr], obj, owner)
            if attr in ("to", "cuda", "cpu"):
                return BoundMethod(obj, attr)
            if attr in MODEL_METHODS:
                return ModRef(f"<method {attr}>")
            return Unknown(f"self.{attr} is not set in the snippet", None)
        if isinstance(obj, Super):
            for base in obj.cls.bases:
                owner = self.owner_of(base, attr) if isinstance(base, UserClass) else None
                if owner is not None:
                    return Function(owner.methods[attr], obj.inst, owner)
            return ModRef(f"<method {attr}>")   # nn.Module's own (__init__): nothing to follow
        if isinstance(obj, Tensor):
            return self.tensor_attribute(obj, attr, node)
        if isinstance(obj, (Free, Parameter)):
            return obj if attr == "data" else BoundMethod(obj, attr)
        if isinstance(obj, Tup):
            if obj.role and attr in TENSOR_ATTRS:
                self.tuple_as_tensor(obj, f".{attr}")
            return BoundMethod(obj, attr)
        if isinstance(obj, Packed):
            if attr == "data":
                return Tensor((Sym.var("sum(lengths)"), *self.tensor_dims(obj.padded)[2:]),
                              dtype=obj.padded.dtype)
            if attr in TENSOR_ATTRS:
                self.stop(dx.packed_as_tensor(
                    where=f".{attr}", torch_message=f"'PackedSequence' object has no attribute '{attr}'"))
            return Unknown(f"the PackedSequence's .{attr}")
        if isinstance(obj, (Layer, Loader, Dataset)):
            return BoundMethod(obj, attr)
        if isinstance(obj, Unknown):
            return obj
        return Unknown(f"the attribute .{attr}")

    def tensor_attribute(self: Follower, t: Tensor, attr: str, node: ast.AST) -> Value:
        if attr == "shape":
            return Tup(tuple(Int(d, lab) for d, lab in zip(self.tensor_dims(t), t.labels, strict=True)), "size")
        if attr in ("data", "grad"):
            return t          # Variable's .data: the same tensor
        if attr == "T":
            return rules.permuted(self, t, list(range(t.rank))[::-1], node)
        if attr == "mT" and t.rank >= 2:
            return rules.permuted(self, t, [*range(t.rank - 2), t.rank - 1, t.rank - 2], node)
        if attr == "dtype":
            return Const(DType(t.dtype))
        if attr == "device":
            return Const(Device(t.device or "cpu"))
        if attr == "ndim":
            return Int(Sym.const(t.rank))
        if attr == "is_cuda":
            return Const((t.device or "cpu").startswith("cuda"))
        return BoundMethod(t, attr)

    def e_Subscript(self: Follower, node: ast.Subscript, env: dict[str, Value]) -> Value:
        obj = self.expr(node.value, env)
        sl = node.slice
        parts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        if isinstance(obj, BoundMethod) and isinstance(obj.obj, Free) and obj.name == "shape" and \
                id(obj.obj) not in self.freed and len(parts) == 1:
            index = self.expr(parts[0], env)
            return self.free_size(obj.obj, index) if isinstance(index, Int) else self.unfree(obj.obj)
        if isinstance(obj, Free) and id(obj) not in self.freed and len(parts) == 1 and \
                not isinstance(parts[0], ast.Slice) and not isinstance(self.expr(parts[0], env), (Int, Const)):
            # x[sorted_idx], an index tensor: still a tensor no layer has read (the reading layer pins its rank)
            return Free(obj.name)
        if isinstance(obj, Free):
            obj = self.unfree(obj)
        if isinstance(obj, Tensor):
            return self.index_tensor(obj, parts, node, env=env)
        if isinstance(obj, Tup):
            if obj.role and isinstance(sl, ast.Tuple):
                name = f"nn.{obj.layer.kind}" if obj.layer else "the recurrent layer"
                maker = dx.state_tuple_as_tensor if obj.role == "state" else dx.output_tuple
                self.stop(maker(layer=name, where=f"indexed as a tensor, {self.src(node)}",
                                torch_message="tuple indices must be integers or slices, not tuple"),
                          self.tuple_rewrite(obj))
            if obj.role == "state" and len(parts) == 1:
                idx = self.expr(parts[0], env)
                if isinstance(idx, Int) and self.sub(idx.sym).is_const:
                    i = self.sub(idx.sym).value or 0
                    if i in (-1, 1) and obj.layer is not None:
                        self.warn(ff.state_index_is_c(expr=self.src(node), base=self.src(node.value),
                                                      layer=f"nn.{obj.layer.kind}"), self.tuple_rewrite(obj))
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
        if isinstance(obj, Packed):   # a namedtuple: [0] is .data, [1] .batch_sizes; x[:, -1] is the mistake
            index = self.expr(sl, env) if not isinstance(sl, (ast.Tuple, ast.Slice)) else None
            if isinstance(index, Int) and self.sub(index.sym).value == 0:
                return self.attribute(obj, "data", node)
            if isinstance(sl, ast.Tuple):
                self.stop(dx.packed_as_tensor(where="indexing", torch_message=(
                    "tuple indices must be integers or slices, not tuple")))
            return Unknown(f"{self.src(node)[:60]}: a PackedSequence field")
        if isinstance(obj, Unknown):
            return obj
        return Unknown(f"{self.src(node)[:60]} is not followed")

    def _const_int(self: Follower, node: ast.expr | None, env: dict[str, Value]) -> int | None:
        if node is None:
            return None
        v = self.expr(node, env)
        if isinstance(v, Int):
            s = self.sub(v.sym)
            return s.value if s.is_const else None
        return None

    def _span(self: Follower, lower: ast.expr, upper: ast.expr, env: dict[str, Value]) -> int | None:
        """``x[t:t+k]`` spans k items whatever t is (within the tensor): the bounds' difference."""
        lo, hi = self.expr(lower, env), self.expr(upper, env)
        if isinstance(lo, Int) and isinstance(hi, Int):
            d = self.sub(hi.sym) - self.sub(lo.sym)
            if d.is_const and (d.value or 0) > 0 and not self.sub(lo.sym).is_const:
                return d.value
        return None

    def index_tensor(self: Follower, t: Tensor, parts: list[ast.expr], node: ast.AST, *, silent: bool = False,
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
                lo, hi, st = (self._const_int(p.lower, env), self._const_int(p.upper, env),
                              self._const_int(p.step, env))
                known = all(x is None or self._const_int(x, env) is not None for x in (p.lower, p.upper, p.step))
                if p.lower is None and p.upper is None and p.step is None:
                    out.append(size)
                elif st is not None and st <= 0:
                    return Unknown(f"{self.src(node)[:60]}: a slice step that is not positive")
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
            self._last_step_warnings(t, parts, node)
        if t.role == "output-directions" and not silent:
            self._backward_last_step(t, parts, node)
        if t.role in ("h_n", "c_n"):
            role = "h_n-slice"
            if not silent:
                role = self._state_index(t, parts, node) or role
        return Tensor(tuple(out), tuple(out_labels), t.dtype, t.device, origin=self.src(node), line=self.line,
                      role=role, layer=t.layer, node=node if role == "h_n-backward" else None)

    def _last_step_warnings(self: Follower, t: Tensor, parts: list[ast.expr], node: ast.AST) -> None:
        """output[-1] of a batch-first layer, output[:, -1] of a bidirectional one, out[:, :, -1]."""
        layer = t.layer
        if layer is None or t.role != "output" or t.rank != 3 or not isinstance(node, ast.Subscript):
            return
        bf = layer.args.get("batch_first") is True
        base = self.src(node.value)
        time_axis = 1 if bf else 0
        picks = [_is_last(p) for p in parts] + [False] * (3 - len(parts))
        full = [_is_full(p) for p in parts] + [True] * (3 - len(parts))
        if picks[0] and all(full[1:]) and bf:
            self.warn(dx.output_last_step_batch_first(expr=self.src(node), base=base),
                      self._rewrite_node(self.line, node, f"{base}[:, -1]"))
        elif picks[time_axis] and all(full[a] for a in range(3) if a != time_axis) and \
                layer.args.get("bidirectional") is True:
            self.warn(ff.last_step_bidirectional(expr=self.src(node), base=base, layer=f"nn.{layer.kind}",
                                                 batch_first=bf, picture=layer_picture(layer)))
        elif len(parts) == 3 and picks[2] and full[0] and full[1] and layer.inferred:
            # a layer the paste does not build: its layout is not known, so no line is rewritten
            self.warn(ff.output_feature_index(expr=self.src(node), base=base, batch_first=None,
                                              inferred=layer.inferred))
        elif len(parts) == 3 and picks[2] and full[0] and full[1]:
            self.warn(ff.output_feature_index(expr=self.src(node), base=base, batch_first=bf),
                      self._rewrite_node(self.line, node, f"{base}[:, -1, :]" if bf else f"{base}[-1]"))

    def _backward_last_step(self: Follower, t: Tensor, parts: list[ast.expr], node: ast.AST) -> None:
        """``out.view(T, B, 2, H)[-1, :, 1]``: the backward direction at the last step has read one input only."""
        layer = t.layer
        if layer is None or t.rank != 4 or len(parts) < 3 or not isinstance(node, ast.Subscript):
            return
        bf = layer.args.get("batch_first") is True
        direction = parts[2]
        backward = _is_last(direction) or (isinstance(direction, ast.Constant) and direction.value == 1)
        if _is_last(parts[1 if bf else 0]) and backward:
            self.warn(ff.last_step_bidirectional(expr=self.src(node), base=self.src(node.value),
                                                 layer=f"nn.{layer.kind}", batch_first=bf,
                                                 picture=layer_picture(layer)))

    def _state_index(self: Follower, t: Tensor, parts: list[ast.expr], node: ast.AST) -> str | None:
        """h_n[:, -1] of a batch-first layer (read as if batch-first); h_n[-1] of a bidirectional one."""
        layer = t.layer
        if layer is None or t.rank != 3 or not isinstance(node, ast.Subscript) or layer.mode.endswith("cell"):
            return None
        if len(parts) >= 2 and _is_full(parts[0]) and _is_last(parts[1]) and layer.args.get("batch_first"):
            base = self.src(node.value)
            self.warn(ff.state_read_batch_first(expr=self.src(node), base=base, layer=f"nn.{layer.kind}"),
                      self._rewrite_node(self.line, node, f"{base}[-1]"))
            return None
        if _is_last(parts[0]) and all(_is_full(p) for p in parts[1:]) and layer.args.get("bidirectional") is True:
            return "h_n-backward"
        return None



def _lookup(env: dict[str, Value], name: str) -> Value | None:
    """``env.get(name)``, by ChainMap's own lookup written once (its ``get`` tests ``in`` first, in Python)."""
    for scope in getattr(env, "maps", (env,)):
        if name in scope:
            return scope[name]
    return None


def _is_last(p: ast.expr) -> bool:
    """``-1`` as an index."""
    return isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.USub) and isinstance(p.operand, ast.Constant) \
        and p.operand.value == 1


def _is_full(p: ast.expr) -> bool:
    """``:`` as an index."""
    return isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None
