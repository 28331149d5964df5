"""Calls: functions and methods of the snippet, torch's functions and builtins, and the unpinned arguments
of a forward() that no layer has read yet (their sizes, their rank)."""

from __future__ import annotations

import ast
import enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rnnshape.diagnose.follower import rules, rules_conv
from rnnshape.diagnose.follower.values import (
    FREE_IDENTITIES,
    IDENTITIES,
    LAYER_SELF,
    MAX_RANGE,
    MODEL_NO_SHAPE,
    RECURRENT,
    RECURRENT_ATTR,
    TENSOR_ATTRS,
    TOO_DEEP,
    WRAPPER_HELPERS,
    BoundMethod,
    Const,
    DType,
    Embedding,
    Env,
    Free,
    Function,
    Instance,
    Int,
    Iter,
    Layer,
    LayerChoice,
    Linear,
    Loss,
    ModRef,
    NotFollowed,
    Parameter,
    RecurrentLayer,
    Returned,
    Sequential,
    Super,
    Tensor,
    Tup,
    Unknown,
    UserClass,
    Value,
)
from rnnshape.model.symbolic import ONE, Sym, fmt_dims

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower


class CallsMixin:
    def e_Call(self: Follower, node: ast.Call, env: dict[str, Value]) -> Value:
        func = self.expr(node.func, env)
        args: list[Value] = []
        for a in node.args:
            if a.__class__ is not ast.Starred:
                args.append(self.expr(a, env))
                continue
            v = self.expr(a.value, env)
            if not isinstance(v, Tup):
                return Unknown(f"*{self.src(a.value)} in a call")
            args.extend(v.items)
        kwargs: dict[str, Value] = {}
        for k in node.keywords:
            if k.arg is None:
                return Unknown(f"**{self.src(k.value)} in a call")
            kwargs[k.arg] = self.expr(k.value, env)
        return self.call(func, args, kwargs, node, env)

    def call(self: Follower, func: Value, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
             env: dict[str, Value]) -> Value:
        kind = type(func)
        handler = _CALL_HANDLERS.get(kind, _UNSEEN)
        if handler is _UNSEEN:   # a subclass (a kind of layer): its base's handler, looked up once
            handler = _CALL_HANDLERS[kind] = next((_CALL_HANDLERS[b] for b in kind.__mro__ if b in _CALL_HANDLERS),
                                                  None)
        if handler is None:
            return Unknown(f"a call to {self.src(node.func)[:40]}")
        return handler(self, func, args, kwargs, node, env)

    def _call_modref(self: Follower, func: ModRef, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                     env: Env) -> Value:
        return self.call_path(func.path, args, kwargs, node, env)

    def _call_bound(self: Follower, func: BoundMethod, args: list[Value], kwargs: dict[str, Value],
                    node: ast.Call, env: Env) -> Value:
        return self.call_method(func.obj, func.name, args, kwargs, node)

    def _call_layer(self: Follower, func: Layer, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                    env: Env) -> Value:
        return self.call_layer(func, args, kwargs, node)

    def _call_class(self: Follower, func: UserClass, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                    env: Env) -> Value:
        return self.instantiate(func, args, kwargs, node)

    def _call_choice(self: Follower, func: LayerChoice, args: list[Value], kwargs: dict[str, Value],
                     node: ast.Call, env: Env) -> Value:
        return self.construct_choice(func, args, kwargs, node)

    def _call_instance(self: Follower, func: Instance, args: list[Value], kwargs: dict[str, Value],
                       node: ast.Call, env: Env) -> Value:
        owner = self.owner_of(func.cls, "forward")
        if owner is None:
            return Unknown(f"{func.cls.node.name} has no forward in the snippet")
        func.cls.called = True
        return self.call_function(Function(owner.methods["forward"], func, owner), args, kwargs)

    def _call_function(self: Follower, func: Function, args: list[Value], kwargs: dict[str, Value],
                       node: ast.Call, env: Env) -> Value:
        return self.call_function(func, args, kwargs)

    def _call_unknown(self: Follower, func: Unknown, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                      env: Env) -> Value:
        inferred = self.inferred_recurrent(node, env)
        if inferred is not None:
            return inferred
        if isinstance(node.func, ast.Name) and node.func.id in WRAPPER_HELPERS and node.func.id not in env and \
                len(args) == 1 and isinstance(args[0], Tensor):
            self.result.notes.append(f"line {self.line}: {node.func.id}(...) is not defined in the snippet; "
                                     "followed as the tensor it is given (the Variable/device helper its name "
                                     "says)")
            return args[0]
        if args and isinstance(args[0], RecurrentLayer) and isinstance(node.func, ast.Name) and \
                node.func.id not in env:
            # WeightDrop(lstm, ...), a wrapper the paste does not define: it runs the layer it wraps
            self.result.notes.append(f"line {self.line}: {node.func.id}(...) is not defined in the snippet; "
                                     f"calls of it were followed as calls of the layer it wraps")
            return args[0]
        return Unknown(func.reason, func.hint)

    def inferred_recurrent(self: Follower, node: ast.Call, env: Env) -> Value | None:
        """``output, hidden = self.rnn(...)`` where the paste never sets ``self.rnn`` (a method pasted without
        its ``__init__``): the attribute's name and the two-way unpacking say it is a recurrent layer, of a
        configuration the paste does not give. Its output is 3-D with sizes of its own (what indexing it means
        holds for any configuration); the call is not checked."""
        func, stmt = node.func, self.stmt
        if not (isinstance(func, ast.Attribute) and RECURRENT_ATTR.fullmatch(func.attr) and isinstance(stmt, ast.Assign)
                and stmt.value is node and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Tuple)
                and len(stmt.targets[0].elts) == 2):
            return None
        owner = self.expr(func.value, env)
        if not isinstance(owner, Instance) or func.attr in owner.attrs or self.owner_of(owner.cls, func.attr):
            return None
        name = self.src(func)
        kind = "LSTM" if "lstm" in func.attr.lower() else "GRU" if "gru" in func.attr.lower() else "RNN"
        why = (f"{name} is a recurrent layer of unknown configuration (the snippet does not set it; inferred from "
               f"its name and from `{self.src(stmt.targets[0])} = {name}(...)`)")
        layer = RecurrentLayer(kind, self.line, None, name=name, mode=RECURRENT[kind], inferred=why)
        self.result.assumptions.append((self.line, why))
        out = Tensor((Sym.var("d0"), Sym.var("d1"), Sym.var("H")),
                     origin=f"{name}(...)", line=self.line, role="output", layer=layer)
        return Tup((out, Unknown(f"the state {name} returns: its configuration is not in the snippet")),
                   role="outputs", layer=layer, line=self.line, node=node)

    def instantiate(self: Follower, cls: UserClass, args: list[Value], kwargs: dict[str, Value],
                    node: ast.Call | None, *, symbolic: bool = False) -> Value:
        if node is not None:
            cls.instances += 1
        inst = Instance(cls)
        if node is not None:
            cls.last = inst
        init = self.method_of(cls, "__init__")
        if init is not None:
            result = self.call_function(Function(init, inst, self.owner_of(cls, "__init__")), args, kwargs,
                                        symbolic=symbolic)
            if isinstance(result, Unknown) and result.reason == TOO_DEEP:
                return result
        return inst

    def method_of(self: Follower, cls: UserClass, name: str) -> ast.FunctionDef | None:
        """A method of ``cls`` or of a base class in the paste (Python's order, depth first)."""
        owner = self.owner_of(cls, name)
        return owner.methods[name] if owner is not None else None

    def owner_of(self: Follower, cls: UserClass, name: str) -> UserClass | None:
        seen: set[int] = set()
        todo = [cls]
        while todo:
            c = todo.pop(0)
            if id(c) in seen:
                continue
            seen.add(id(c))
            if name in c.methods:
                return c
            todo.extend(b for b in c.bases if isinstance(b, UserClass))
        return None


    def _bind_params(self: Follower, fn: ast.FunctionDef, env: Env, args: list[Value],
                     kwargs: dict[str, Value], *, skip_self: bool, symbolic: bool = False,
                     from_hints: bool = False, sizes: frozenset[str] = frozenset()) -> None:
        """Each parameter's value, in the call's own names (``env.maps[0]``); defaults are read in ``env``."""
        scope = env.maps[0]
        params = fn.args.args[1:] if skip_self else fn.args.args
        defaults = fn.args.defaults
        first_default = len(fn.args.args) - len(defaults)
        offset = 1 if skip_self else 0
        for i, p in enumerate(params):
            name = p.arg
            if i < len(args) and isinstance(args[i], Unknown) and fn.name == "__init__":
                scope[name] = Int(Sym.var(name), name)   # a model's size the snippet does not define: a symbol
            elif i < len(args):
                scope[name] = args[i]
            elif name in kwargs:
                scope[name] = kwargs[name]
            elif from_hints and name in self.hints and not _rebinds(fn, name):
                scope[name] = self.hints[name]   # (a name the body rebinds: the layer that reads it takes it)
            elif i + offset >= first_default:
                scope[name] = self.expr(defaults[i + offset - first_default], env)
            elif symbolic or name in sizes:
                scope[name] = Int(Sym.var(name), name)
            elif from_hints:
                scope[name] = Free(name)    # symbolic by default: the first layer that reads it decides
            else:
                scope[name] = Unknown(f"the argument {name} of {fn.name}() is not given",
                                      f"--shape {name}=...")
        for p, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
            if p.arg in kwargs:
                scope[p.arg] = kwargs[p.arg]
            elif d is not None:
                scope[p.arg] = self.expr(d, env)
            else:
                scope[p.arg] = Unknown(f"the argument {p.arg}")
        if fn.args.vararg:
            scope[fn.args.vararg.arg] = Tup(tuple(args[len(params):]))
        if fn.args.kwarg:
            scope[fn.args.kwarg.arg] = Unknown("**kwargs")

    def call_function(self: Follower, fn: Function, args: list[Value], kwargs: dict[str, Value], *,
                      from_hints: bool = False, symbolic: bool = False, sizes: frozenset[str] = frozenset()) -> Value:
        node = fn.node
        self.called_defs.add(id(node))
        # the call's names in front of the module's own dicts (not of the module's ChainMap: a name found there
        # would go through ChainMap's slow __contains__ on every read)
        local: dict[str, Value] = {}
        scope = Env(local, *self.module_env.maps)
        if fn.owner is not None:
            local[node.args.args[0].arg if node.args.args else "self"] = fn.owner
            local["__self__"], local["__class__"] = fn.owner, fn.cls or fn.owner.cls
        self._bind_params(node, scope, args, kwargs, skip_self=fn.owner is not None, from_hints=from_hints,
                          symbolic=symbolic, sizes=sizes)
        for p in node.args.args[1 if fn.owner is not None else 0:]:
            v = local.get(p.arg)   # every parameter is bound in the call's own names
            if isinstance(v, Tensor):
                self.show(node.lineno, p.arg, v)
        saved, saved_stmt = self.line, self.stmt
        self.depth += 1
        try:
            if self.depth > self.MAX_DEPTH:
                return Unknown(TOO_DEEP)
            self.block(node.body, scope)
        except Returned as ret:
            return ret.value
        finally:
            self.depth -= 1
            self.line, self.stmt = saved, saved_stmt
        return Const(None)


    def call_path(self: Follower, path: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                  env: Env) -> Value:
        route = _path_route(path)
        name = route.name
        kind = route.kind
        if kind is _Route.BUILTIN:
            return self.builtin(name, args, kwargs, node, env)
        if kind is _Route.PARAMETERS:
            return Iter(Parameter())
        if kind is _Route.MODEL_METHOD:
            return Const(None) if name in MODEL_NO_SHAPE else Unknown(f"the model's .{name}()")
        if kind is _Route.IDENTITY:   # Variable(x, volatile=True), autograd's old wrapper: x itself
            return args[0] if args else Unknown(f"{name}() of nothing")
        if kind is _Route.MODULE_OP:
            return rules_conv.build(self, name, args, kwargs, node)  # type: ignore[arg-type]
        if kind is _Route.CONSTRUCT:
            return self.construct(name, args, kwargs, node)
        if kind is _Route.PACKING:
            return self.packing(name, args, kwargs, node)
        if kind is _Route.DATA:
            return self.data(name, args, kwargs, node)
        if route.loss and len(args) >= 2:
            return self.call_loss(Loss("CrossEntropyLoss"), args, node)
        if route.rule_of_path:
            return self.apply(path, args, kwargs, node)
        if route.rule_of_name and args:
            return self.apply(name, args, kwargs, node)
        if args and isinstance(args[0], Unknown):
            return args[0]
        return Unknown(f"{path}() is not followed")

    def apply(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
        """The shape rule of op ``name`` (``"add"``, ``"torch.zeros"``) on ``args``."""
        rule = rules.lookup(name)
        if rule is None:
            return Unknown(f"{name}() is not followed")
        freed = [self.unfree(a) if isinstance(a, Free) else a for a in args]
        saved, self.op = self.op, name.removeprefix("torch.")
        try:
            return rule(self, freed, kwargs, node)
        except NotFollowed as nf:
            return Unknown(str(nf))
        finally:
            self.op = saved

    def from_parameter(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        """``weight.new(n_layers, batch, hidden).zero_()``, ``weight.new_zeros(...)`` of a model's parameter: a
        tensor of those sizes (sizes only: ``.new([1, 2])`` of data is not followed)."""
        sizes = rules.size_args(args, kwargs)
        if name not in ("new", "new_zeros", "new_ones", "new_empty") or sizes is None or \
                (name == "new" and not all(isinstance(a, Int) for a in args)):
            return Unknown(f"a parameter's .{name}()")
        return rules.new_tensor(self, sizes, kwargs, node)

    def free_size(self: Follower, v: Free, index: Int) -> Value:
        """``x.size(0)`` of an argument no layer has read yet: a size of its own, which the layer that reads x
        later puts on that axis (see materialize)."""
        i = self.sub(index.sym).value
        if i is None:
            return self.unfree(v)
        sym = v.sizes.setdefault(i, Sym.var(f"{v.name}.size({i})"))
        return Int(sym, f"{v.name}.size({i})")

    def free_moved(self: Follower, v: Free, name: str, args: list[Value], node: ast.Call) -> Free | None:
        """``X.transpose(0, 1)`` of an argument no layer has read: still unpinned, its sizes read so far
        moved to their new axes (the layer reading the result decides its rank)."""
        axes = [0, 1] if name == "t" and not args else \
            [self.sub(a.sym).value if isinstance(a, Int) else None for a in args]
        if name == "t":
            name = "transpose"
        if not axes or any(a is None or a < 0 for a in axes) or (name == "transpose" and len(axes) != 2):
            return None
        if name == "transpose":
            a, b = axes
            where = {i: b if i == a else a if i == b else i for i in v.sizes}
        else:
            where = {i: axes.index(i) for i in v.sizes if i in axes}
        if any(i < 0 for i in v.sizes) or len(where) != len(v.sizes):
            return None
        return Free(self.src(node), {where[i]: s for i, s in v.sizes.items()})

    def unfree(self: Follower, v: Free) -> Value:
        """A forward argument whose rank no layer decided yet: unknown, with the hint that pins it."""
        return self.freed.get(id(v)) or Unknown(f"the shape of {v.name} is not pinned by the snippet",
                                                f"--shape {v.name}=...")

    def builtin(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call,
                env: Env) -> Value:
        if name == "range":
            ints = [self.sub(a.sym) for a in args if isinstance(a, Int)]
            if len(ints) == len(args) and all(i.is_const for i in ints):
                try:
                    r = range(*[i.value for i in ints])  # type: ignore[misc]
                    if len(r) <= MAX_RANGE:
                        return Const(r)
                except (TypeError, ValueError, OverflowError):
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
        if name == "reversed" and args and isinstance(args[0], Const) and isinstance(args[0].value, range):
            return Const(args[0].value[::-1])
        if name == "reversed" and args and isinstance(args[0], Tup) and args[0].count is None and not args[0].role:
            return Tup(args[0].items[::-1], "list")
        if name == "next" and args:
            v = args[0]
            return v.element if isinstance(v, Iter) else Unknown("next() of a value that is not an iterator")
        if name == "super":
            inst, cls = env.get("__self__"), env.get("__class__")
            if isinstance(inst, Instance) and isinstance(cls, UserClass):
                return Super(inst, cls)
            return Unknown("super() outside a method")
        if name in ("min", "max") and len(args) >= 2 and all(isinstance(a, Int) for a in args):
            vals = [self.sub(a.sym) for a in args]  # type: ignore[union-attr]
            if all(v.is_const for v in vals):
                fn = min if name == "min" else max
                return Int(Sym.const(fn(v.value for v in vals)))  # type: ignore[type-var]
        if name == "abs" and len(args) == 1 and isinstance(args[0], Int) and self.sub(args[0].sym).is_const:
            return Int(Sym.const(abs(self.sub(args[0].sym).value or 0)))
        if name == "isinstance":
            return Unknown("isinstance()")
        return Unknown(f"{name}() is not followed")

    def call_method(self: Follower, obj: Value, name: str, args: list[Value], kwargs: dict[str, Value],
                    node: ast.Call) -> Value:
        if isinstance(obj, Layer):
            if name == "forward":
                return self.call_layer(obj, args, kwargs, node)
            if name in ("to", "cuda", "cpu"):
                self._move(obj, name, args, kwargs)
            if name in LAYER_SELF:
                return obj
            return Unknown(f"the layer's .{name}()")
        if isinstance(obj, Tup):
            if obj.role and name in TENSOR_ATTRS:
                self.tuple_as_tensor(obj, f".{name}()")
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
        if isinstance(obj, Parameter):
            return self.from_parameter(name, args, kwargs, node)
        if isinstance(obj, Free):
            if name == "size" and len(args) == 1 and isinstance(args[0], Int) and id(obj) not in self.freed:
                return self.free_size(obj, args[0])
            if name == "size" and not args and id(obj) not in self.freed:
                return BoundMethod(obj, "shape")   # x.size(), as x.shape: unpacking it pins the rank
            if name in ("transpose", "permute", "t") and id(obj) not in self.freed:
                moved = self.free_moved(obj, name, args, node)
                if moved is not None:
                    return moved
            return obj if name in FREE_IDENTITIES else self.unfree(obj)
        if isinstance(obj, Tensor):
            return self.apply(name, [obj, *args], kwargs, node)
        return obj if isinstance(obj, Unknown) else Unknown(f".{name}() of a value rnnshape does not follow")

    def _grow(self: Follower, lst: Tup, name: str, args: list[Value]) -> None:
        """list.append in a loop: the list holds the loop's trip count of such items."""
        item = args[-1] if args else Unknown("")
        if name != "append":
            lst.items, lst.count = (Unknown(f"a list grown with .{name}()"),), None
            lst.kind = "unknown-list"
            return
        if self.loops and id(lst) not in self.loops[-1][1]:
            count: Sym | None = ONE    # the trip counts of every loop entered since the list was made
            for trips, made in reversed(self.loops):
                if id(lst) in made:
                    break
                count = count * trips if count is not None and trips is not None else None
            if not lst.items and count is not None:
                lst.items, lst.count = (item,), self.sub(count)
                return
            lst.kind = "unknown-list"
            return
        if lst.count is not None:
            lst.kind = "unknown-list"
            return
        lst.items = lst.items + (item,)

    def _move(self: Follower, obj: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> None:
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
                d = rules.device_of(v)
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

    def materialize(self: Follower, free: Free, layer: Layer) -> Value:
        """An unpinned forward argument takes the shape the first layer reading it needs: B, T symbolic."""
        batch, time = Sym.var("B"), Sym.var("T")
        if isinstance(layer, RecurrentLayer):
            size = layer.args.get("input_size")
            feat = size if isinstance(size, Sym) else Sym.const(int(size or 0))
            dims: tuple[Sym, ...] = (batch, feat) if layer.mode.endswith("cell") else \
                (batch, time, feat) if layer.args.get("batch_first") else (time, batch, feat)
            dtype = "float32"
        elif isinstance(layer, Embedding):
            dims, dtype = (batch, time), "int64"
        elif isinstance(layer, Linear):
            dims, dtype = (batch, self.sub(layer.in_features)), "float32"
        elif (read := rules_conv.free_input(layer, batch)) is not None:
            dims, dtype = read, "float32"
        else:
            return self.unfree(free)
        dims = self._sizes_read(free, dims, layer)
        t = Tensor(dims, dtype=dtype, origin=f"{free.name} (symbolic: not pinned by the snippet)", line=self.line)
        self.set_freed(free, t)
        self.result.assumptions.append((self.line, f"{free.name} = {fmt_dims(dims)} {dtype}, what "
                                        f"{layer.name or 'nn.' + layer.kind} reads (pin it with --shape "
                                        f"{free.name}=...)"))
        self.show(self.line, free.name, t)
        return t

    def _sizes_read(self: Follower, free: Free, dims: tuple[Sym, ...], layer: Layer) -> tuple[Sym, ...]:
        """The sizes read from the argument before (``x.size(0)``) put on their axes: a new symbol takes the
        axis's place, the feature axis (which the layer fixes) binds it."""
        out = list(dims)
        for i, sym in free.sizes.items():
            k = i + len(out) if i < 0 else i
            if not 0 <= k < len(out):
                continue
            if k == len(out) - 1:
                self.equal(sym, out[k], f"what {layer.name or 'nn.' + layer.kind} reads")
            else:
                out[k] = sym
        return tuple(out)


class _Route(enum.Enum):
    """Where a call of a name outside the snippet (``torch.zeros``, ``nn.LSTM``) goes, by its path alone."""

    BUILTIN = "builtin"
    PARAMETERS = "parameters"       # model.parameters()
    MODEL_METHOD = "model method"   # model.eval(), model.zero_grad()
    IDENTITY = "identity"           # Variable(x)
    MODULE_OP = "module op"         # nn.Conv1d and the other modules of rules_conv
    CONSTRUCT = "construct"         # nn.LSTM, nn.Linear, ...
    PACKING = "packing"
    DATA = "data"
    OTHER = "other"                 # the op rules, by path or name, where the arguments allow


class _PathRoute:
    """A path's route, its last part, and the facts the routes that depend on the arguments need."""

    __slots__ = ("kind", "name", "loss", "rule_of_path", "rule_of_name")

    def __init__(self, kind: _Route, name: str, *, loss: bool = False, rule_of_path: bool = False,
                 rule_of_name: bool = False) -> None:
        self.kind = kind
        self.name = name                  # the path's last part
        self.loss = loss                  # F.cross_entropy / F.nll_loss (given input and target)
        self.rule_of_path = rule_of_path  # torch.NAME with a shape rule under that path
        self.rule_of_name = rule_of_name  # torch.* or F.* whose last part has a shape rule (given arguments)


@lru_cache(maxsize=1024)   # bounded: a paste may name any number of paths
def _path_route(path: str) -> _PathRoute:
    """The route of a path, worked out once per path (its string tests ran on every call of a long paste)."""
    name = path.rsplit(".", 1)[-1]
    if path.startswith("builtins."):
        return _PathRoute(_Route.BUILTIN, name)
    if path == "<method parameters>":
        return _PathRoute(_Route.PARAMETERS, name)
    if path.startswith("<method"):
        return _PathRoute(_Route.MODEL_METHOD, name)
    if name in IDENTITIES:
        return _PathRoute(_Route.IDENTITY, name)
    nn_class = path.startswith(("torch.nn.", "nn.")) and name[:1].isupper() and ".functional" not in path \
        and ".utils" not in path
    if nn_class and rules_conv.is_module_op(name):
        return _PathRoute(_Route.MODULE_OP, name)
    if nn_class or (path.count(".") == 0 and name in RECURRENT):
        return _PathRoute(_Route.CONSTRUCT, name)
    if path.startswith("torch.nn.utils.rnn.") or name in ("pack_padded_sequence", "pad_packed_sequence"):
        return _PathRoute(_Route.PACKING, name)
    if path.startswith("torch.utils.data.") or name in ("TensorDataset", "DataLoader"):
        return _PathRoute(_Route.DATA, name)
    return _PathRoute(
        _Route.OTHER, name,
        loss=path.startswith("torch.nn.functional.") and name in ("cross_entropy", "nll_loss"),
        rule_of_path=path.startswith("torch.") and path.count(".") == 1 and rules.lookup(path) is not None,
        rule_of_name=path.startswith(("torch.nn.functional.", "torch.")) and rules.lookup(name) is not None)


def _rebinds(fn: ast.FunctionDef, name: str) -> bool:
    """Whether a function's body assigns its parameter ``name`` again: a --shape hint then pins the binding a
    layer reads (the one diagnose asked about), not the argument."""
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               for s in fn.body for n in ast.walk(s))


_UNSEEN = object()
#: what calling each kind of value does (CallsMixin.call dispatches on the callee's type: one dict lookup,
#: not a chain of isinstance tests per call); subclasses are added on first sight, None for "not callable"
_CALL_HANDLERS: dict[type, Any] = {
    ModRef: CallsMixin._call_modref, BoundMethod: CallsMixin._call_bound, Layer: CallsMixin._call_layer,
    UserClass: CallsMixin._call_class, LayerChoice: CallsMixin._call_choice, Instance: CallsMixin._call_instance,
    Function: CallsMixin._call_function, Unknown: CallsMixin._call_unknown,
}
