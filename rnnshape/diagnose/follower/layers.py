"""Layers: nn.* construction and calls; recurrent calls are handed to the shape model."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower.rules_conv import ModuleOp, call_module
from rnnshape.diagnose.follower.values import (
    BATCH_NAME,
    CLASS_NAME,
    ELEMENTWISE,
    FLAGS,
    LOSSES,
    RECURRENT,
    TIME_NAME,
    Const,
    Dataset,
    Embedding,
    Finding,
    Free,
    Int,
    Layer,
    LayerChoice,
    Linear,
    Loader,
    Loss,
    Packed,
    RecurrentLayer,
    Rewrite,
    Sequential,
    Stop,
    Tensor,
    Tup,
    Unknown,
    Value,
    layer_picture,
    shape_hint,
    spec_key,
    tensor_with,
)
from rnnshape.diagnoses import follow_findings as ff
from rnnshape.model.shapes import FLOAT_DTYPES, UNSAFE, Request, TensorArg, predict
from rnnshape.model.spec import POSITIONAL, LayerSpec, check_config
from rnnshape.model.symbolic import ONE, Placeholders, Sym, compare, fmt_dims

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower
    from rnnshape.model.vocab import TensorRole


class LayersMixin:
    def tuple_as_tensor(self: Follower, tup: Tup, where: str) -> None:
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
        self.stop(d, self.tuple_rewrite(tup))

    def data(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if name == "TensorDataset":
            return Dataset(tuple(args))
        if name == "DataLoader":
            ds = args[0] if args else kwargs.get("dataset", Unknown("no dataset"))
            bs = kwargs.get("batch_size", args[1] if len(args) > 1 else Int(ONE))
            if not isinstance(bs, Int):
                return Unknown("a DataLoader whose batch_size is not known")
            drop = self.truth(kwargs.get("drop_last", Const(False)))
            return Loader(ds, Int(bs.sym, bs.label or "batch_size"), drop_last=drop is not False, node=node)
        return Unknown(f"{name}() is not followed")

    def construct(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        if name in RECURRENT:
            return self.construct_recurrent(name, args, kwargs, node)
        if name == "Linear":
            a = self._sizes(args, kwargs, ("in_features", "out_features"), node)
            if a is None:
                return Unknown("nn.Linear with sizes rnnshape cannot read")
            out_arg = args[1] if len(args) > 1 else kwargs.get("out_features")
            return Linear("Linear", self.line, node, in_features=a[0], out_features=a[1],
                          out_label=out_arg.label if isinstance(out_arg, Int) else None)
        if name == "Embedding":
            a = self._sizes(args, kwargs, ("num_embeddings", "embedding_dim"), node)
            if a is None:
                return Unknown("nn.Embedding with sizes rnnshape cannot read")
            return Embedding("Embedding", self.line, node, num=a[0], dim=a[1])
        if name in ELEMENTWISE:
            return Layer(name, self.line, node)
        if name == "Sequential":
            return Sequential("Sequential", self.line, node, modules=tuple(args))
        if name == "ModuleList":   # a list of layers: indexing and loops follow each
            items = args[0] if args else Tup((), "list")
            return Tup(items.items, "list", count=items.count) if isinstance(items, Tup) else \
                Unknown("nn.ModuleList of modules rnnshape does not follow")
        if name in LOSSES:
            return Loss(name, self.line, node)
        return Unknown(f"nn.{name} is not followed")

    def construct_choice(self: Follower, choice: LayerChoice, args: list[Value], kwargs: dict[str, Value],
                         node: ast.Call) -> Value:
        """One of several recurrent classes, built with the same arguments: each must accept them; the layer
        kept is the first, with the others listed (calls follow it only where they all agree, see _predict)."""
        built = [self.construct_recurrent(kind, args, kwargs, node) for kind in choice.kinds]
        first = built[0]
        if not all(isinstance(b, RecurrentLayer) for b in built) or not isinstance(first, RecurrentLayer):
            return next((b for b in built if isinstance(b, Unknown)), Unknown("a layer chosen by a condition"))
        first.choice = choice.kinds
        return first

    def _sizes(self: Follower, args: list[Value], kwargs: dict[str, Value], names: tuple[str, ...],
               node: ast.Call) -> list[Sym] | None:
        out = []
        for i, n in enumerate(names):
            v = args[i] if i < len(args) else kwargs.get(n)
            arg = node.args[i] if i < len(node.args) else next((k.value for k in node.keywords if k.arg == n), None)
            if isinstance(v, Unknown) and isinstance(arg, (ast.Name, ast.Attribute)):
                v = Int(Sym.var(self.src(arg)))   # a size the snippet does not define (n_hidden): a symbol
            if not isinstance(v, Int):
                return None
            out.append(self.sub(v.sym))
        return out

    def construct_recurrent(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value],
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
            if k == "dropout" and not isinstance(v, Const):
                plain[k] = 0.0    # a probability the snippet does not fix: nothing to check about it
            elif isinstance(v, Int) and k in FLAGS:
                s = self.sub(v.sym)
                if not s.is_const:
                    return Unknown(f"nn.{name}'s {k} is {s}, which the snippet does not fix",
                                   "instantiate the model with literal arguments in the snippet")
                plain[k] = s.value   # an int flag is no bool: torch 2.x refuses bias=10 (check_config says how)
            elif isinstance(v, Int):
                s = self.sub(v.sym)
                plain[k] = s if not s.is_const else s.value
            elif isinstance(v, Const):
                plain[k] = v.value
            elif isinstance(v, Unknown):
                if k in ("input_size", "hidden_size", "num_layers", "proj_size"):
                    plain[k] = Sym.var(k)
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

    def _spec(self: Follower, layer: RecurrentLayer, P: Placeholders) -> LayerSpec:
        kw = {k: P.ints(self.sub(v)) if isinstance(v, Sym) else v for k, v in layer.args.items() if k != "__given__"}
        given = frozenset(layer.args.get("__given__", frozenset()))
        # layers built with the same arguments share one spec (frozen): check_config's memo, kept by the spec's
        # identity, then answers for all of them (a long paste builds the same few layers over and over)
        key = spec_key(layer.mode, given, kw)
        spec = self._spec_by_args.get(key) if key is not None else None
        try:
            spec = spec or LayerSpec(mode=layer.mode, given=given, **kw)
        except TypeError as exc:
            raise Stop(Finding(layer.line, dx.invalid_config(
                message=str(exc).replace("LayerSpec.__init__()", f"{layer.kind}.__init__()"),
                layer=f"nn.{layer.kind}"))) from None
        if key is not None:
            self._spec_by_args[key] = spec
        return spec

    def _syms_of(self: Follower, layer: RecurrentLayer) -> list[Sym]:
        return [self.sub(v) for k, v in layer.args.items() if isinstance(v, Sym)]

    def _check_ctor(self: Follower, layer: RecurrentLayer) -> tuple[dx.Diagnosis | None, list[dx.Diagnosis]]:
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
            P2.values = dict(zip(sorted(P.values), sorted(P.values.values(), reverse=True), strict=True))
            err2, _ = check_config(self._spec(layer, P2))
            if err2 is None or err2.code != error.code:
                self.unknown(f"nn.{layer.kind}'s arguments", Unknown(
                    "whether the constructor accepts them depends on sizes the snippet does not give"))
                return None, []
        if not P.values:
            return error, warnings
        return (ff.with_sizes(error, P.rewrite) if error is not None else None,
                [ff.with_sizes(w, P.rewrite) for w in warnings])

    def call_layer(self: Follower, layer: Layer, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        x = args[0] if args else kwargs.get("input", kwargs.get("x", Unknown("no input")))
        if isinstance(x, (Unknown, Free)) and id(x) not in self.freed and self._arg_name(node) in self.hints:
            x = self.hints[self._arg_name(node)]   # the binding a hint pins: the one a layer reads unknown
        if isinstance(x, Free):
            x = self.materialize(x, layer)
        if isinstance(layer, RecurrentLayer):
            extra = [k for k in kwargs if k not in ff.FORWARD_KEYWORDS]
            if extra:
                self._unknown_keyword(layer, x, args, kwargs, extra[0], node)
            hx = args[1] if len(args) > 1 else kwargs.get("hx", Const(None))
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
                return tensor_with(x, node=None, origin=self.src(node), largest=None)
            return x if isinstance(x, Unknown) else Unknown("an activation of a value rnnshape does not follow")
        return call_module(self, layer, x, node) if isinstance(layer, ModuleOp) else Unknown(f"nn.{layer.kind}")

    def _tuple_in_state(self: Follower, tup: Tup, name: str) -> None:
        layer = f"nn.{tup.layer.kind}" if tup.layer else "the recurrent layer"
        where, msg = f"inside the state of {name}", "'tuple' object has no attribute 'dim'"
        d = dx.state_tuple_as_tensor(layer=layer, where=where, torch_message=msg) if tup.role == "state" else \
            dx.output_tuple(layer=layer, where=where, torch_message=msg)
        self.stop(d, self.tuple_rewrite(tup))

    def _unknown_keyword(self: Follower, layer: RecurrentLayer, x: Value, args: list[Value],
                         kwargs: dict[str, Value], keyword: str, node: ast.Call) -> None:
        """``rnn(x, h_0=h)``: torch refuses the keyword before it looks at a shape. The fix (``hx=``) is
        printed only when the call then works, as far as the snippet fixes its shapes."""
        name = layer.name or f"nn.{layer.kind}"
        rw = None
        kw = next(k for k in node.keywords if k.arg == keyword)
        if keyword in ff.STATE_KEYWORDS and len(args) < 2 and "hx" not in kwargs:
            try:
                if not isinstance(self.call_recurrent(layer, x, kwargs[keyword], node), Unknown):
                    rw = self._rewrite_node(self.line, kw, f"hx={self.src(kw.value)}")
            except Stop:
                pass
        self.stop(ff.unknown_keyword(keyword=keyword, layer=name, kind=layer.kind), rw)

    def _tuple_as_tensor_call(self: Follower, tup: Tup, layer: Layer, node: ast.Call) -> None:
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
        self.stop(d, self.tuple_rewrite(tup))

    def call_linear(self: Follower, layer: Linear, x: Value, node: ast.Call) -> Value:
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
            d = ff.with_sizes(d, P.rewrite) if P.values else d
            if x.role == "h_n-backward" and self.sub(expected) == self.sub(got) * 2:
                d = ff.one_direction(expr=self.src(x.node) if x.node else "h_n[-1]", base=self._state_base(x),
                                     layer=f"nn.{x.layer.kind}" if x.layer else "the layer", hidden=got,
                                     error=True, torch_message=msg, picture=layer_picture(x.layer))
                raise Stop(Finding(self.line, d, self._both_directions(x)))
            raise Stop(Finding(self.line, d, self._ctor_rewrite(layer, 0, got, current=expected)))
        if v.kind == "unknown":
            self.unknown(f"the input of {layer.name or 'nn.Linear'}",
                         Unknown(f"whether {got} equals in_features {expected} cannot be decided"))
            return Unknown(f"whether {got} equals {expected}")
        if x.dtype not in FLOAT_DTYPES:
            self.stop(dx.dtype_mismatch(what="input", got=x.dtype, expected="float32", torch_message=None))
        if x.role == "h_n-backward":
            self.warn(ff.one_direction(expr=self.src(x.node) if x.node else "h_n[-1]", base=self._state_base(x),
                                       layer=f"nn.{x.layer.kind}" if x.layer else "the layer", hidden=got,
                                       error=False, picture=layer_picture(x.layer)))
        role = None
        if x.role == "output" and x.rank == 3 and x.layer is not None:
            role = "logits-per-step"
            name = (layer.out_label or "") + " " + (layer.name or "")
            if CLASS_NAME.compiled.search(name) or self.classifier_class:
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

    def _state_base(self: Follower, x: Tensor) -> str:
        return self.src(x.node.value) if isinstance(x.node, ast.Subscript) else "h_n"

    def _both_directions(self: Follower, x: Tensor) -> Rewrite | None:
        """``h_n[-1]`` rewritten as both directions of the last layer, where the slice was taken."""
        if not isinstance(x.node, ast.Subscript) or x.line is None:
            return None
        base = self.src(x.node.value)
        return self._rewrite_node(x.line, x.node, f"torch.cat([{base}[-2], {base}[-1]], dim=1)")

    def _arg_name(self: Follower, node: ast.Call) -> str | None:
        if node.args and isinstance(node.args[0], ast.Name):
            return node.args[0].id
        return None

    def call_embedding(self: Follower, layer: Embedding, x: Value, node: ast.Call) -> Value:
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

    def call_loss(self: Follower, layer: Loss, args: list[Value], node: ast.Call) -> Value:
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
                    self.stop(ff.classifier_loss(batch_first=bf, torch_message=msg))
                self.stop(dx.shape_op(op=f"nn.{layer.kind}", detail=(
                    f"the input {fmt_dims(di)} is read as (batch, classes, ...) and needs a target of shape "
                    f"{fmt_dims(want)}, but the target is {fmt_dims(dt)}"), torch_message=msg))
        return Tensor((), dtype="float32")

    def call_recurrent(self: Follower, layer: RecurrentLayer, x: Value, hx: Value, node: ast.Call) -> Value:
        name = layer.name or f"nn.{layer.kind}"
        if len({RECURRENT[k] == "lstm" for k in layer.choice}) > 1:
            # nn.LSTM or nn.GRU: their states differ (a tuple or a tensor), so no call of it is one shape
            self.result.not_followed[self.line] = None
            self.unknown(f"the call of {name}", Unknown(f"{name} is nn.{' or nn.'.join(layer.choice)}, chosen by a "
                                                        "condition the snippet does not decide"))
            return Unknown(f"the outputs of {name}, a choice of layers whose states differ")
        if isinstance(x, Tup) and x.role:
            self._tuple_as_tensor_call(x, layer, node)
        self._state_of_a_full_batch(layer, hx)
        if isinstance(hx, Free) and id(hx) not in self.freed:
            hx = self.state_from_builder(layer, hx) or hx
        packed: Packed | None = x if isinstance(x, Packed) else None
        xt = packed.padded if packed else x
        if not isinstance(xt, Tensor):
            self._state_rank_alone(layer, hx, node)
            states = self._states_given(layer, hx)
            hint = f"--shape {self._arg_name(node)}={self._example_input(layer)}" if self._arg_name(node) else \
                (xt.hint if isinstance(xt, Unknown) else None)
            self.result.not_followed[self.line] = hint
            self.unknown(f"the input of {name}", xt if isinstance(xt, Unknown) else None, self._arg_name(node),
                         self._example_input(layer))
            if states is not None:   # the final states have the shapes of the initial ones, when the call works
                return Tup((Unknown(f"the output of {name}, whose input is not known"), states), role="outputs",
                           layer=layer, line=self.line, node=node)
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
            for item in hx.items:
                if isinstance(item, Tup) and item.role:   # (hx, cx) where hx is still a layer's tuple
                    self._tuple_in_state(item, name)
            items = [self.unfree(i) if isinstance(i, Free) else i for i in hx.items]   # unpinned: not known
            if len(items) != 2 or not all(isinstance(i, (Tensor, Unknown)) for i in items):
                return Unknown(f"the state given to {name}")
            hv, cv = items
            if isinstance(hv, Unknown) or isinstance(cv, Unknown):
                missing = hv if isinstance(hv, Unknown) else cv
                self.result.not_followed[self.line] = missing.hint  # type: ignore[union-attr]
                self.unknown(f"the state of {name}", missing)
                return self._outputs_unchecked(layer, xt, packed, node)
            h, c = hv, cv  # type: ignore[assignment]
        elif isinstance(hx, Tensor):
            h = hx
        elif isinstance(hx, (Unknown, Free)):
            hx = self.unfree(hx) if isinstance(hx, Free) else hx
            self.result.not_followed[self.line] = hx.hint  # type: ignore[union-attr]
            self.unknown(f"the state of {name}", hx)
            return self._outputs_unchecked(layer, xt, packed, node)
        if packed is not None and layer.mode.endswith("cell"):
            return Unknown("a PackedSequence fed to a cell")
        out = self._predict(layer, xt, h, c, packed, node)
        if h is None and xt.line == self.line and any(v is xt for v in self.freed.values()):
            # its input is only what this layer reads, assumed here: no size the snippet fixes was checked
            self.result.checked.discard((self.line, id(layer)))
            self.result.not_followed[self.line] = f"--shape {self._arg_name(node)}={self._example_input(layer)}"
            self.unknown(f"the input of {name}", Unknown(f"{xt.origin.split(' ')[0]} is not given by the snippet "
                                                          "(taken to be what the layer reads, it checks nothing)"),
                         self._arg_name(node), self._example_input(layer))
        return out

    def _state_of_a_full_batch(self: Follower, layer: RecurrentLayer, hx: Value) -> None:
        """Inside a loop over a DataLoader of unknown size, a state sized like one made before the loop with
        the loader's batch size: the last batch may be smaller, and that state will not fit it."""
        if not self.full_batch_states or layer.mode.endswith("cell"):
            return
        state = hx.items[0] if isinstance(hx, Tup) and hx.items else hx
        if not isinstance(state, Tensor) or state.rank != 3:
            return
        batch, made = self.full_batch_states[-1]
        for value, line, name in made:
            if isinstance(value, Tensor) and self.tensor_dims(value) == self.tensor_dims(state):
                d = ff.last_batch_may_be_smaller(name=name, batch_size=str(batch), layer=layer.name or layer.kind)
                if not any(f.diagnosis.code == d.code and f.line == line for f in self.result.warnings):
                    self.result.warnings.append(Finding(line, d))   # where the state is made (the fix goes there)
                # and at the call, where torch raises on that last batch
                self.warn(ff.last_batch_reaches_layer(name=name, batch_size=str(batch),
                                                      layer=layer.name or layer.kind, made_at=line))
                return

    def state_from_builder(self: Follower, layer: RecurrentLayer, free: Free) -> Value | None:
        """An unpinned state argument, where exactly one method of the class nobody calls (``init_state``)
        returns a state of this layer's shape (num_layers * directions, ?, hidden_size): that state, said."""
        fits = [(name, line, v) for name, line, v in self.state_builders if self._is_state_of(layer, v)]
        if len(fits) != 1:
            return None
        name, line, value = fits[0]
        self.result.assumptions.append((self.line, f"{free.name} is what {name}() returns (line {line}), the one "
                                        f"method of the class that builds {layer.name or layer.kind}'s state "
                                        f"(pin it with --shape {free.name}=...)"))
        self.set_freed(free, value)
        return value

    def _is_state_of(self: Follower, layer: RecurrentLayer, value: Value) -> bool:
        if layer.mode.endswith("cell") or layer.args.get("proj_size"):
            return False
        items = value.items if isinstance(value, Tup) and not value.role else (value,)
        if len(items) != (2 if layer.mode == "lstm" else 1):
            return False
        layers, hidden = layer.args.get("num_layers", 1), layer.args.get("hidden_size")
        want = [Sym.const(v) if isinstance(v, int) else v for v in (layers, hidden)]
        if not all(isinstance(w, Sym) for w in want):
            return False
        first = self.sub(want[0] * (2 if layer.args.get("bidirectional") else 1))
        return all(isinstance(t, Tensor) and t.rank == 3 and self.sub(t.dims[0]) == first
                   and self.sub(t.dims[2]) == self.sub(want[1]) for t in items)

    def _outputs_unchecked(self: Follower, layer: RecurrentLayer, x: Tensor, packed: Packed | None,
                           node: ast.Call) -> Value:
        """The outputs of a call whose state is unknown: their shapes follow from the input and the layer
        alone (when the call works), so what reads them goes on; the call itself is not counted as checked."""
        name = layer.name or f"nn.{layer.kind}"
        saved = dict(self.bindings)
        try:
            out = self._predict(layer, x, None, None, packed, node)
        except Stop:
            self.bindings = saved
            return Unknown(f"the outputs of {name}, whose state is not known")
        self.result.checked.discard((self.line, id(layer)))
        return out

    def _states_given(self: Follower, layer: RecurrentLayer, hx: Value) -> Value | None:
        """What a full layer returns as its final state when its input is unknown: the initial state's
        shapes, when they are those of the layer (num_layers * directions, batch, hidden_size)."""
        if layer.mode.endswith("cell") or layer.args.get("proj_size"):
            return None
        items = list(hx.items) if isinstance(hx, Tup) and not hx.role else [hx]
        if len(items) != (2 if layer.mode == "lstm" else 1) or not all(isinstance(t, Tensor) and t.rank == 3
                                                                       for t in items):
            return None
        layers, hidden = layer.args.get("num_layers", 1), layer.args.get("hidden_size")
        want = [Sym.const(v) if isinstance(v, int) else v for v in (layers, hidden)]
        if not all(isinstance(w, Sym) for w in want):
            return None
        first = want[0] * (2 if layer.args.get("bidirectional") else 1)
        out = []
        for t, role in zip(items, ("h_n", "c_n"), strict=False):
            dims = self.tensor_dims(t)  # type: ignore[arg-type]
            if dims[0] != self.sub(first) or dims[2] != self.sub(want[1]):
                return None
            out.append(Tensor(dims, t.labels, t.dtype, t.device, origin=f"{layer.name or layer.kind}(...)",  # type: ignore[union-attr]
                              line=self.line, role=role, layer=layer))
        return Tup(tuple(out), role="state", layer=layer, line=self.line) if len(out) == 2 else out[0]

    def _state_rank_alone(self: Follower, layer: RecurrentLayer, hx: Value, node: ast.Call) -> None:
        """A state whose rank no input could accept (3-D for a cell, 2-D... never 4-D for a layer): the call
        fails whatever its input, so the error needs no input shape."""
        states = list(hx.items) if isinstance(hx, Tup) and hx.role != "outputs" else [hx]
        ranks = {s.rank for s in states if isinstance(s, Tensor)}
        ok = {1, 2} if layer.mode.endswith("cell") else {2, 3}
        lone = layer.mode in ("lstm", "lstm-cell") and isinstance(hx, Tensor)  # an LSTM needs (h, c) for any input
        if not ranks or (ranks <= ok and not lone):
            return
        x = Tensor(tuple(Sym.var(n) for n in (("B",) if layer.mode.endswith("cell") else ("T", "B"))) +
                   (self._feature(layer),), origin="its input (any)", line=self.line)
        h, c = (states[0], states[1]) if len(states) == 2 else (states[0], None)
        if not isinstance(h, Tensor) or (c is not None and not isinstance(c, Tensor)):
            return
        saved = dict(self.bindings)
        try:
            self._predict(layer, x, h, c, None, node)
        except Stop as stop:
            if stop.finding.diagnosis.code in ("hidden-rank", "hidden-not-tuple"):
                raise
        self.bindings = saved

    def _feature(self: Follower, layer: RecurrentLayer) -> Sym:
        size = layer.args.get("input_size")
        return size if isinstance(size, Sym) else Sym.const(int(size or 0))

    def _example_input(self: Follower, layer: RecurrentLayer) -> str:
        size = layer.args.get("input_size")
        feat = str(self.sub(size)) if isinstance(size, Sym) else str(size)
        if layer.mode.endswith("cell"):
            return shape_hint(f"B,{feat}")
        return shape_hint(f"B,T,{feat}" if layer.args.get("batch_first") is True else f"T,B,{feat}")

    def _predict(self: Follower, layer: RecurrentLayer, x: Tensor, h: Tensor | None, c: Tensor | None,
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
            pred = predict(req, describe_inputs=False)   # (only the outputs and the diagnoses are read)
            err = pred.error
            if err is None:
                self.result.checked.add((self.line, id(layer)))
                return self._outputs(layer, pred, P, x, h, packed, node)
            pair = _mismatch_pair(err, P)
            # a layer the constructor check passed, invalid only with placeholders for sizes a solved equation
            # left open (hidden_size = 14 - image_latent_size): the snippet does not fix them, so no error
            open_config = err.code == "invalid-config" and not all(s.is_const for s in self._syms_of(layer))
            if not open_config and (pair is None or self.equal(pair[0], pair[1], f"{name}'s {_what(err)}").differ):
                self.result.checked.add((self.line, id(layer)))
                self._stop_recurrent(err, P, layer, h, c, xd, node)
            if open_config or compare(self.sub(pair[0]), self.sub(pair[1])).kind == "unknown":  # type: ignore[index]
                self.result.not_followed[self.line] = None
                self.unknown(f"the call of {name}", Unknown(
                    f"its sizes {', '.join(map(str, self._syms_of(layer)))} depend on ones the snippet does not fix"
                    if open_config else f"whether {pair[0]} equals {pair[1]} ({_what(err)}) cannot be decided"))  # type: ignore[index]
                return Unknown(f"the outputs of {name}")
        return Unknown(f"the outputs of {name}")

    def _stop_recurrent(self: Follower, err: dx.Diagnosis, P: Placeholders, layer: RecurrentLayer, h: Tensor | None,
                        c: Tensor | None, xd: tuple[Sym, ...], node: ast.Call) -> None:
        d = ff.with_sizes(err, P.rewrite) if P.values else err
        if d.evidence.get(UNSAFE):
            d = replace(d, evidence={**d.evidence, "torch_may_not_raise": True})
        rw: Rewrite | None = None
        more: tuple[Rewrite, ...] = ()
        if d.code == "input-size-mismatch":
            size = layer.args.get("input_size")
            rw = self._ctor_rewrite(layer, 0, xd[-1], current=self.sub(size) if isinstance(size, Sym) else
                                    Sym.const(size) if isinstance(size, int) else None)
        elif d.code in ("hidden-layers-mismatch", "hidden-batch-mismatch", "hidden-size-mismatch",
                        "hidden-batch-first", "proj-hidden-size", "cell-shape-mismatch"):
            which = c if (d.evidence.get("name") == "c_0" and c is not None) else h
            twin = h if which is c else c
            if twin is None or which is None or d.code in ("cell-shape-mismatch", "proj-hidden-size") or \
                    self.tensor_dims(twin) != self.tensor_dims(which):
                twin = None   # only a c_0 built like h_0 must change like it
            expected = d.evidence.get("expected")
            if which is not None and isinstance(expected, list) and which.node is not None:
                rw = self._tensor_rewrite(which, expected, twin)
                if twin is not None and rw is not None and twin.line != which.line:
                    other = self._tensor_rewrite(twin, expected)
                    more = (other,) if other is not None else ()
        elif d.code == "hidden-not-tuple" and len(node.args) > 1 and h is not None and h.rank == len(xd):
            # (h, zeros_like(h)) fits only a state of the input's rank, not a (2, layers, batch, hidden) stack
            arg = self.src(node.args[1])
            rw = self._rewrite_node(node.lineno, node.args[1], f"({arg}, torch.zeros_like({arg}))")
        raise Stop(Finding(self.line, d, rw, more=more))

    def _outputs(self: Follower, layer: RecurrentLayer, pred: Any, P: Placeholders, x: Tensor, h: Tensor | None,
                 packed: Packed | None, node: ast.Call) -> Value:
        name = layer.name or f"nn.{layer.kind}"
        for w in pred.diagnoses:
            # batch-first-suspect from the shape model is a guess from the numbers: provenance decides here
            if not w.is_error and w.code not in ("dropout-single-layer", "batch-first-suspect"):
                self.warn(ff.with_sizes(w, P.rewrite) if P.values else w)
        bf = bool(layer.args.get("batch_first"))
        labels = x.labels
        if packed is not None and bf and len(labels) >= 2:
            labels = (labels[1], labels[0], *labels[2:])   # Packed.padded is sequence-first
        ev = self._batch_evidence(layer, labels)
        if ev is None and h is not None:
            ev = self._state_batch_evidence(layer, h)
        if ev is not None and ev[0] == "suspect" and not _state_names_the_batch(h):
            xd = self.tensor_dims(x)
            if packed is not None and bf:
                xd = (xd[1], xd[0], *xd[2:])
            flag = self._ctor_rewrite_flag(layer, "batch_first", not bf)
            self.warn(ff.batch_first_from_code(
                layer=f"nn.{layer.kind}", origin=x.origin or "its input", shape=tuple(str(d) for d in xd),
                batch_first=bf, batch_dim=ev[1], because=ev[2], rebuilt_code=flag.new.strip() if flag else None),
                flag)
        def back(info: Any, role: TensorRole) -> Tensor:
            dims = []
            for dim in info.dims:
                s = P.back(dim.size)
                dims.append(s if s is not None else Sym.var(dim.name))
            return Tensor(tuple(dims), tuple("batch" if dim.name == "batch" else None for dim in info.dims),
                          info.dtype, x.device, origin=f"{name}(...)", line=self.line, role=role, layer=layer)
        t = pred.tensors
        if layer.mode.endswith("cell"):
            h1 = back(t["h_1"], "h_n")
            if layer.mode == "lstm-cell":
                return Tup((h1, back(t["c_1"], "c_n")), role="state", layer=layer, line=self.line)
            return h1
        out = back(t["output"], "output")
        h_n = back(t["h_n"], "h_n")
        if packed is not None:
            padded = out
            if bool(layer.args.get("batch_first")) and out.rank == 3:
                padded = replace(out, dims=(out.dims[1], out.dims[0], out.dims[2]),
                                 labels=(out.labels[1], out.labels[0], out.labels[2]))
            out_v: Value = Packed(padded, packed.lengths, packed.enforce_sorted, self.line)
        else:
            out_v = out
        if layer.mode == "lstm":
            c_n = back(t["c_n"], "c_n")
            state: Value = Tup((h_n, c_n), role="state", layer=layer, line=self.line)
        else:
            state = h_n
        return Tup((out_v, state), role="outputs", layer=layer, line=self.line, node=node)

    def _batch_evidence(self: Follower, layer: RecurrentLayer,
                        labels: tuple[str | None, ...]) -> tuple[str, int, str] | None:
        """("ok"|"suspect", the batch's dimension, why) when the code says which axis is the batch or time.

        Provenance only (a DataLoader's batch_size, a size named batch_size or seq_len), never the numbers' look.
        """
        if layer.mode.endswith("cell") or len(labels) != 3:
            return None
        read = 0 if layer.args.get("batch_first") else 1
        other = 1 - read
        if _is_batch(labels[read]) or _is_time(labels[other]):
            return ("ok", read, labels[read] or "")
        if _is_batch(labels[other]):
            return ("suspect", other, f"its size comes from {labels[other]}")
        if _is_time(labels[read]):
            return ("suspect", other, f"dimension {read} is {labels[read]}, the time steps")
        return None

    def _state_batch_evidence(self: Follower, layer: RecurrentLayer, h: Tensor) -> tuple[str, int, str] | None:
        """A state whose batch slot the code sizes with a sequence length (``torch.zeros(num_layers, seq_len,
        hidden)``) fits the call only because the layer reads the time axis as the batch."""
        if layer.mode.endswith("cell") or h.rank != 3 or not _is_time(h.labels[1]) or _is_batch(h.labels[1]):
            return None
        read = 0 if layer.args.get("batch_first") else 1
        return ("suspect", 1 - read, f"the state {h.origin or 'h_0'} has {h.labels[1]} in its batch slot")


def _is_batch(label: str | None) -> bool:
    return bool(label) and bool(BATCH_NAME.compiled.search(label or ""))


def _is_time(label: str | None) -> bool:
    return bool(label) and bool(TIME_NAME.compiled.match(label or ""))


def _state_names_the_batch(h: Tensor | None) -> bool:
    """Whether a state passed with the input says, by its provenance, that the axis the layer reads as the batch
    is the batch. A state built for the misread axis (``torch.zeros(layers, seq_len, hidden)``, or sizes with no
    name) agrees with the layer, which is why torch runs: it is no evidence against the input's own names."""
    return h is not None and h.rank == 3 and _is_batch(h.labels[1])


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

