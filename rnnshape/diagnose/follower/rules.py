"""torch's tensor operations as a registry of shape rules, one rule per op whatever its spelling.

``a + b``, ``a.add(b)`` and ``torch.add(a, b)`` all reach the rule registered as ``"add"``
(like torch's own meta registrations, or astroid's inference tips): the follower turns an
operator into its op name, a method call into ``[self, *args]``, and ``torch.f(x, ...)`` /
``F.f(x, ...)`` into the same list. Creation functions, which have no tensor to start from,
are registered under their ``torch.`` name. Registering one name twice is an error.

Each rule is ``rule(f, args, kwargs, node) -> Value``: ``f`` is the follower (for ``f.sub``,
``f.equal``, ``f.stop``, ``f.src``), ``args[0]`` the tensor the op applies to.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower.values import (
    MAX_ITEMS,
    Const,
    Device,
    DType,
    Int,
    Iter,
    NotFollowed,
    Packed,
    Tensor,
    Tup,
    Unknown,
    UnknownItem,
    Value,
    keep_role,
    norm_device,
    tensor_with,
)
from rnnshape.diagnoses import follow_findings as ff
from rnnshape.model.shapes import FLOAT_DTYPES, INT_DTYPES
from rnnshape.model.symbolic import ONE, Sym, fmt_dims

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower

Rule = Callable[["Follower", list[Value], dict[str, Value], ast.AST], Value]
RULES: dict[str, Rule] = {}

#: Python's operators, by the op they spell.
OPERATORS: dict[type, str] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
                              ast.FloorDiv: "floor_divide", ast.Mod: "remainder", ast.Pow: "pow",
                              ast.MatMult: "matmul"}
COMPARISONS: dict[type, str] = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt",
                                ast.GtE: "ge"}

DTYPE_METHODS = {"float": "float32", "double": "float64", "half": "float16", "bfloat16": "bfloat16",
                 "long": "int64", "int": "int32", "short": "int16", "bool": "bool", "byte": "uint8",
                 "char": "int8"}


def register(*names: str) -> Callable[[Rule], Rule]:
    """Register ``fn`` as the shape rule of every spelling in ``names``."""
    def deco(fn: Rule) -> Rule:
        for name in names:
            if name in RULES:
                raise ValueError(f"a shape rule for {name!r} is already registered")
            RULES[name] = fn
        return fn
    return deco


def lookup(name: str) -> Rule | None:
    return RULES.get(name)


# --------------------------------------------------------------------------- helpers


def tensor_arg(f: Follower, v: Value, where: str) -> Tensor:
    """The tensor an op applies to; the classic non-tensors (an output tuple, a PackedSequence) stop."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, Tup) and v.role:
        f.tuple_as_tensor(v, where)
    if isinstance(v, Packed):
        f.stop(dx.packed_as_tensor(where=where, torch_message=None))
    raise NotFollowed(v.reason if isinstance(v, Unknown) else f"{where} of a value rnnshape does not follow")


def const_int(f: Follower, v: Value | None) -> int | None:
    if isinstance(v, Int):
        s = f.sub(v.sym)
        return s.value if s.is_const else None
    return None


def dim_index(f: Follower, t: Tensor, v: Value | None, op: str, extra: int = 0) -> int:
    rank = t.rank + extra
    d = const_int(f, v)
    if d is None:
        raise NotFollowed(f"{op} along a dimension rnnshape cannot read")
    lo, hi = -max(rank, 1), max(rank, 1) - 1
    if not lo <= d <= hi:
        f.stop(dx.shape_op(op=op, detail=(
            f"dimension {d} does not exist in the {t.rank}-D tensor {fmt_dims(f.tensor_dims(t))}"),
            torch_message=f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})"))
    return d % max(rank, 1)


def size_args(args: list[Value], kwargs: dict[str, Value], key: str = "size") -> list[Int] | None:
    items: list[Value] = list(args)
    if key in kwargs:
        items = [kwargs[key]]
    if len(items) == 1 and isinstance(items[0], Tup):
        items = list(items[0].items)
    if not all(isinstance(i, Int) for i in items):
        return None
    return items  # type: ignore[return-value]


def device_of(v: Value | None) -> str | None:
    if isinstance(v, Const):
        if isinstance(v.value, Device):
            return norm_device(v.value.name)
        if isinstance(v.value, str):
            return norm_device(v.value)
    return None


def new_tensor(f: Follower, sizes: list[Int], kwargs: dict[str, Value], node: ast.AST, dtype: str = "float32",
               largest: Sym | None = None) -> Value:
    dims, labels = [], []
    for s in sizes:
        v = f.sub(s.sym)
        if v.is_const and (v.value or 0) < 0:
            f.stop(dx.shape_op(op="tensor creation", detail=f"a negative size {v}", torch_message=None))
        dims.append(v)
        labels.append(s.label)
    dt = kwargs.get("dtype")
    if isinstance(dt, Const) and isinstance(dt.value, DType):
        dtype = dt.value.name
    return Tensor(tuple(dims), tuple(labels), dtype, device_of(kwargs.get("device")), origin=f.src(node),
                  line=f.line, node=node, largest=largest)


def _same(f: Follower, t: Tensor, node: ast.AST, **changes: Any) -> Tensor:
    return tensor_with(t, node=None, line=f.line, **changes)


# --------------------------------------------------------------------------- elementwise


@register("eq", "ne", "lt", "le", "gt", "ge")
def compare(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    """A comparison broadcasts like arithmetic and gives bools."""
    out = broadcast(f, args, kwargs, node)
    return replace(out, dtype="bool") if isinstance(out, Tensor) else out


@register("add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "pow", "maximum", "minimum",
          "add_", "sub_", "mul_", "div_", "pow_", "atan2", "float_power")
def broadcast(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    a = args[0] if args else Unknown("no operand")
    b = args[1] if len(args) > 1 else kwargs.get("other", Unknown("no operand"))
    for v in (a, b):
        if isinstance(v, Tup) and v.role:
            f.tuple_as_tensor(v, "an arithmetic operation")
        if isinstance(v, Packed):
            f.stop(dx.packed_as_tensor(where="an arithmetic operation", torch_message=None))
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return a if isinstance(a, Unknown) else b if isinstance(b, Unknown) else \
            Unknown("an operation rnnshape does not follow")
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        t = a if isinstance(a, Tensor) else b
        other = b if t is a else a
        assert isinstance(t, Tensor)
        if not isinstance(other, (Int, Const)):
            return Unknown("an operation with a value rnnshape does not follow")
        dtype = t.dtype
        if isinstance(other, Const) and isinstance(other.value, float) and dtype in INT_DTYPES:
            dtype = "float32"
        return replace(t, role=None, node=None, largest=None, dtype=dtype, line=f.line)
    da, db = f.tensor_dims(a), f.tensor_dims(b)
    n = max(len(da), len(db))
    pa = (ONE,) * (n - len(da)) + da
    pb = (ONE,) * (n - len(db)) + db
    out: list[Sym] = []
    for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if x == ONE:
            out.append(y)
        elif y == ONE:
            out.append(x)
        else:
            v = f.equal(x, y, "broadcasting in an elementwise operation")
            if v.differ:
                msg = None
                if x.is_const and y.is_const:
                    msg = (f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                           f"non-singleton dimension {i}")
                f.stop(dx.shape_op(op="elementwise operation", detail=(
                    f"the shapes {fmt_dims(da)} and {fmt_dims(db)} do not broadcast: dimension {i} "
                    f"is {x} on one side and {y} on the other"), torch_message=msg))
            if v.kind == "unknown":
                return Unknown(f"whether {x} equals {y} (broadcasting)")
            out.append(f.sub(x))
    dtype = a.dtype if a.dtype in FLOAT_DTYPES else b.dtype
    return Tensor(tuple(out), dtype=dtype, device=a.device or b.device, origin=a.origin, line=f.line,
                  role=a.role if a.role == "logits-per-step" else None, layer=a.layer)


@register("matmul", "mm", "bmm")
def matmul(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    a = args[0] if args else Unknown("")
    b = args[1] if len(args) > 1 else Unknown("")
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return Unknown("a matrix product with a value rnnshape does not follow")
    da, db = f.tensor_dims(a), f.tensor_dims(b)
    if not da or not db:
        return Unknown("a matrix product of 0-d tensors")
    k1, k2 = da[-1], db[0] if len(db) == 1 else db[-2]
    v = f.equal(k1, k2, "matrix product")
    if v.differ:
        msg = None
        if len(da) == 2 and len(db) == 2 and all(d.is_const for d in (*da, *db)):
            msg = f"mat1 and mat2 shapes cannot be multiplied ({da[0]}x{da[1]} and {db[0]}x{db[1]})"
        f.stop(dx.shape_op(op="matrix product", detail=(
            f"{fmt_dims(da)} @ {fmt_dims(db)}: the inner sizes {k1} and {k2} differ"), torch_message=msg))
    if v.kind == "unknown":
        return Unknown(f"whether {k1} equals {k2} (matrix product)")
    if len(db) == 1:
        return Tensor(da[:-1], dtype=a.dtype, line=f.line)
    if len(da) == 1:
        return Tensor(db[:-2] + db[-1:], dtype=a.dtype, line=f.line)
    return Tensor(da[:-1] + db[-1:], dtype=a.dtype, line=f.line)


@register("contiguous", "detach", "clone", "requires_grad_", "relu", "tanh", "sigmoid", "exp", "log",
          "abs", "neg", "sqrt", "softmax", "log_softmax", "masked_fill", "masked_fill_", "clamp", "clamp_",
          "zero_", "fill_", "normal_", "uniform_", "pin_memory", "gelu", "dropout", "relu_", "tanh_", "sigmoid_",
          "round", "floor", "ceil", "square", "leaky_relu", "elu", "silu", "to_dense", "nan_to_num",
          "sign", "normalize", "layer_norm", "type_as", "detach_", "selu", "softplus", "mish", "hardtanh")
def same_shape(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0] if args else kwargs.get("input", Unknown("no input")), f"{f.op}()")
    keeps = isinstance(node, ast.Call) and f.op in ("contiguous", "detach", "clone")
    return _same(f, t, node, largest=None, role=t.role if keeps else keep_role(t))


@register("cpu", "cuda", "to", "type")
def move(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    """``.to(device)``, ``.cuda()``, ``.cpu()``, ``.to(dtype)``: same shape, the device or dtype tracked."""
    t = tensor_arg(f, args[0], f"{f.op}()")
    name = f.op
    if name == "cuda":
        return _same(f, t, node, device="cuda:0")
    if name == "cpu":
        return _same(f, t, node, device="cpu")
    out = t
    for v in [*args[1:], *kwargs.values()]:
        if isinstance(v, Const) and isinstance(v.value, DType):
            out = replace(out, dtype=v.value.name)
        elif isinstance(v, Tensor):
            out = replace(out, dtype=v.dtype, device=v.device)
        elif device_of(v) is not None:
            out = replace(out, device=device_of(v))
        elif isinstance(v, Unknown):
            out = replace(out, device=None)   # a device the snippet does not pin
    return _same(f, out, node)


def _dtype_method(dtype: str) -> Rule:
    def rule(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
        t = tensor_arg(f, args[0], f".{f.op}()")
        return replace(t, dtype=dtype, node=None, line=f.line)
    return rule


for _name, _dtype in DTYPE_METHODS.items():
    register(_name)(_dtype_method(_dtype))


# --------------------------------------------------------------------------- sizes


@register("size")
def size(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".size()")
    dims = f.tensor_dims(t)
    if len(args) > 1 or "dim" in kwargs:
        d = dim_index(f, t, args[1] if len(args) > 1 else kwargs["dim"], ".size()")
        base = f.src(node.func.value) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else "x"
        return Int(dims[d], t.labels[d] or f"{base}.size({d})")
    return Tup(tuple(Int(d, lab) for d, lab in zip(dims, t.labels, strict=True)), "size")


@register("dim", "ndimension")
def ndim(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    return Int(Sym.const(tensor_arg(f, args[0], ".dim()").rank))


@register("numel")
def numel(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    total = ONE
    for d in f.tensor_dims(tensor_arg(f, args[0], ".numel()")):
        total = total * d
    return Int(total)


# --------------------------------------------------------------------------- reshaping


def _state_view(f: Follower, t: Tensor, dims: tuple[Sym, ...], new: list[Sym], node: ast.AST) -> None:
    """``h_n.view(-1, 2 * hidden)`` or ``h_n.view(batch, -1)`` where h_n holds more than one layer or direction:
    the view runs the (layers * directions) axis into the batch axis instead of keeping it apart."""
    layer = t.layer
    if t.role != "h_n" or layer is None or layer.mode.endswith("cell") or len(dims) != 3 or not new:
        return
    first = dims[0]
    if not (layer.args.get("bidirectional") is True or (first.is_const and (first.value or 0) > 1)):
        return
    rest = ONE
    for s in new[1:]:
        rest = rest * s
    if new[0] == first or (new[0] == Sym.const(-1) and rest == dims[1] * dims[2]) or _splits_first(first, dims, new):
        return
    base = f.src(node.func.value) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else "h_n"
    f.warn(ff.state_view_mixes_batch(expr=f.src(node), base=base, layer=f"nn.{layer.kind}"))


def _splits_first(first: Sym, dims: tuple[Sym, ...], new: list[Sym]) -> bool:
    """``h_n.view(num_layers, num_directions, batch, hidden)``: the leading sizes multiply to (layers * directions)
    and the others to (batch * hidden), so the view keeps the two apart (the layout torch's docs give)."""
    lead = ONE
    for k in range(1, len(new)):
        lead = lead * new[k - 1]
        if lead == first:
            rest = ONE
            for s in new[k:]:
                rest = rest * s
            return rest == dims[1] * dims[2]
    return False


def _direction_role(t: Tensor, dims: tuple[Sym, ...], new: list[Sym]) -> str | None:
    """``output.view(seq_len, batch, 2, hidden)`` of a bidirectional layer: the features split into
    (directions, hidden), as torch's docs show; indexing it can then pick one direction's step."""
    layer = t.layer
    if t.role != "output" or layer is None or layer.args.get("bidirectional") is not True or len(dims) != 3 \
            or len(new) != 4:
        return None
    if new[0] == dims[0] and new[1] == dims[1] and new[2] == Sym.const(2) and new[3] * Sym.const(2) == dims[2]:
        return "output-directions"
    return None


@register("view", "reshape")
def view(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    name = f.op
    t = tensor_arg(f, args[0], f".{name}()")
    sizes = size_args(args[1:], kwargs, "shape")
    if sizes is None:
        if len(args) > 1 and isinstance(args[1], Const) and isinstance(args[1].value, DType):
            return _same(f, t, node, dtype=args[1].value.name)
        return Unknown(f".{name} with sizes rnnshape cannot read")
    dims = f.tensor_dims(t)
    total = ONE
    for d in dims:
        total = total * d
    new = [f.sub(s.sym) for s in sizes]
    _state_view(f, t, dims, new, node)
    holes = [i for i, s in enumerate(new) if s == Sym.const(-1)]
    if len(holes) > 1:
        f.stop(dx.shape_op(op=f".{name}()", detail="only one dimension can be inferred (-1)",
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
                f.stop(dx.shape_op(op=f".{name}()", detail=(
                    f"{fmt_dims(dims)} holds {total} values, which {shape_txt} cannot hold: {total} is "
                    f"not divisible by {known}"), torch_message=msg))
            return Unknown(f".{name}{shape_txt}: {total} divided by {known} is not an exact expression")
        new[holes[0]] = q
    else:
        v = f.equal(total, known, f".{name}()")
        if v.differ:
            f.stop(dx.shape_op(op=f".{name}()", detail=(
                f"{fmt_dims(dims)} holds {total} values but {shape_txt} holds {known}"), torch_message=msg))
        if v.kind == "unknown" and not all(s.is_const or s in dims for s in new):
            return Unknown(f"whether {fmt_dims(dims)} fits {shape_txt}")
        if v.kind == "unknown":   # every size the code's own (x.size(0), 16): that shape, or torch raises here
            f.result.assumptions.append((f.line, f"{fmt_dims(dims)} fits {shape_txt}, as the .{name}() says"))
    # a size kept in place keeps its label
    labels = [s.label or (t.labels[i] if i < len(dims) and dims[i] == new[i] else None) for i, s in enumerate(sizes)]
    role = "logits-per-step" if t.role == "logits-per-step" else _direction_role(t, dims, new)
    return replace(t, dims=tuple(new), labels=tuple(labels), origin=f.src(node), line=f.line, node=None, role=role)


def permuted(f: Follower, t: Tensor, order: list[int], node: ast.AST) -> Value:
    dims = f.tensor_dims(t)
    if len(order) != t.rank:
        f.stop(dx.shape_op(op=".permute()", detail=(
            f"{f.src(node)[:60]} gives {len(order)} dimensions for the {t.rank}-D tensor {fmt_dims(dims)}"),
            torch_message=None))
    norm = []
    for d in order:
        if not -t.rank <= d < t.rank:
            f.stop(dx.shape_op(op=".permute()", detail=f"dimension {d} does not exist in {fmt_dims(dims)}",
                               torch_message=None))
        norm.append(d % t.rank if t.rank else 0)
    if len(set(norm)) != len(norm):
        f.stop(dx.shape_op(op=".permute()", detail="a dimension appears twice", torch_message=None))
    return replace(t, dims=tuple(dims[i] for i in norm), labels=tuple(t.labels[i] for i in norm),
                   origin=f.src(node), line=f.line, node=None, role=None)


@register("permute")
def permute(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".permute()")
    rest = args[1:] or ([kwargs["dims"]] if "dims" in kwargs else [])
    order_v = rest[0].items if len(rest) == 1 and isinstance(rest[0], Tup) else rest
    order = [const_int(f, v) for v in order_v]
    if any(o is None for o in order):
        return Unknown(".permute with dimensions rnnshape cannot read")
    return permuted(f, t, order, node)  # type: ignore[arg-type]


@register("transpose", "swapaxes", "swapdims")
def transpose(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    name = f.op
    t = tensor_arg(f, args[0], f".{name}()")
    if len(args) < 3:
        return Unknown(f".{name}()")
    a, b = dim_index(f, t, args[1], f".{name}()"), dim_index(f, t, args[2], f".{name}()")
    order = list(range(t.rank))
    order[a], order[b] = order[b], order[a]
    return permuted(f, t, order, node)


@register("t")
def t_(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".t()")
    if t.rank > 2:
        f.stop(dx.shape_op(op=".t()", detail=f".t() expects a tensor with <= 2 dimensions, but "
                           f"{fmt_dims(f.tensor_dims(t))} has {t.rank}", torch_message=(
                               f"t() expects a tensor with <= 2 dimensions, but self is {t.rank}D")))
    return permuted(f, t, list(range(t.rank))[::-1], node)


@register("unsqueeze")
def unsqueeze(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".unsqueeze()")
    d = dim_index(f, t, args[1] if len(args) > 1 else kwargs.get("dim"), ".unsqueeze()", extra=1)
    dims, labels = list(f.tensor_dims(t)), list(t.labels)
    dims.insert(d, ONE)
    labels.insert(d, None)
    return _same(f, t, node, dims=tuple(dims), labels=tuple(labels), role=keep_role(t), origin=f.src(node))


@register("squeeze")
def squeeze(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".squeeze()")
    dims = f.tensor_dims(t)
    if len(args) > 1 or "dim" in kwargs:
        d = dim_index(f, t, args[1] if len(args) > 1 else kwargs["dim"], ".squeeze()")
        if not dims[d].is_const:
            return Unknown(f"squeezing dimension {d} of size {dims[d]}, which may or may not be 1",
                           "--shape with a number for that dimension")
        if dims[d].value != 1:
            return _same(f, t, node, role=keep_role(t))
        return _same(f, t, node, dims=dims[:d] + dims[d + 1:], labels=t.labels[:d] + t.labels[d + 1:],
                     role=keep_role(t))
    if any(not d.is_const for d in dims):
        return Unknown("squeeze() of a tensor with sizes that may be 1", "--shape with numbers")
    kept = [(d, lab) for d, lab in zip(dims, t.labels, strict=True) if d.value != 1]
    return _same(f, t, node, dims=tuple(d for d, _ in kept), labels=tuple(lab for _, lab in kept),
                 role=keep_role(t))


@register("flatten")
def flatten(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".flatten()")
    dims = f.tensor_dims(t)
    if t.rank == 0:
        return _same(f, t, node, dims=(ONE,), labels=(None,))
    start_v = args[1] if len(args) > 1 else kwargs.get("start_dim")
    end_v = args[2] if len(args) > 2 else kwargs.get("end_dim")
    start = dim_index(f, t, start_v, ".flatten()") if start_v is not None else 0
    end = dim_index(f, t, end_v, ".flatten()") if end_v is not None else t.rank - 1
    merged = ONE
    for d in dims[start:end + 1]:
        merged = merged * d
    return _same(f, t, node, dims=dims[:start] + (merged,) + dims[end + 1:],
                 labels=t.labels[:start] + (None,) + t.labels[end + 1:], role=None)


@register("expand", "repeat")
def expand(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    name = f.op
    t = tensor_arg(f, args[0], f".{name}()")
    sizes = size_args(args[1:], kwargs)
    if sizes is None:
        return Unknown(f".{name} with sizes rnnshape cannot read")
    new = [f.sub(s.sym) for s in sizes]
    if len(new) < t.rank:
        if name == "expand":
            return Unknown(".expand to fewer dimensions")
        f.stop(dx.shape_op(op=".repeat()", detail="fewer repeat counts than dimensions", torch_message=(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")))
    pad = (ONE,) * (len(new) - t.rank) + f.tensor_dims(t)
    if name == "expand":
        out = tuple(p if n == Sym.const(-1) else n for p, n in zip(pad, new, strict=True))
    else:
        out = tuple(p * n for p, n in zip(pad, new, strict=True))
    return Tensor(out, dtype=t.dtype, device=t.device, origin=f.src(node), line=f.line)


@register("mean", "sum", "prod", "std", "var", "amax", "amin", "logsumexp", "norm", "argmax", "argmin", "all",
          "any", "max", "min", "median", "mode")
def reduce(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    name = f.op
    t = tensor_arg(f, args[0], f".{name}()")
    dim_v = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = f.truth(kwargs.get("keepdim", args[2] if len(args) > 2 else Const(False)))
    dtype = "int64" if name.startswith("arg") else t.dtype
    if dim_v is None:
        return Tensor((), dtype=dtype, line=f.line)
    if isinstance(dim_v, Tensor) and name in ("max", "min"):
        return broadcast(f, [t, dim_v], {}, node)   # torch.max(a, b): elementwise
    if isinstance(dim_v, Tup):
        return Unknown(f".{name} over several dimensions")
    d = dim_index(f, t, dim_v, f".{name}()")
    dims = f.tensor_dims(t)
    new = dims[:d] + ((ONE,) if keepdim else ()) + dims[d + 1:]
    labels = t.labels[:d] + ((None,) if keepdim else ()) + t.labels[d + 1:]
    out = Tensor(new, labels, dtype, t.device, origin=f.src(node), line=f.line)
    if name in ("max", "min", "median", "mode"):
        return Tup((out, replace(out, dtype="int64")), "tuple")
    return out


@register("unbind")
def unbind(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0], ".unbind()")
    d = dim_index(f, t, args[1], ".unbind()") if len(args) > 1 else 0
    dims = f.tensor_dims(t)
    elem = _same(f, t, node, dims=dims[:d] + dims[d + 1:], labels=t.labels[:d] + t.labels[d + 1:])
    n = dims[d].value if dims[d].is_const else None
    if n is not None and n <= MAX_ITEMS:
        return Tup((elem,) * n, "tuple")
    return Iter(elem, count=dims[d])


@register("new_zeros", "new_ones", "new_empty", "new_full")
def new_like(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    name = f.op
    t = tensor_arg(f, args[0], f".{name}()")
    sizes = size_args(args[1:2] if name == "new_full" else args[1:], kwargs)
    if sizes is None:
        return Unknown(f".{name} with sizes rnnshape cannot read")
    out = new_tensor(f, sizes, kwargs, node, t.dtype)
    if isinstance(out, Tensor) and out.device is None:
        out = replace(out, device=t.device)
    return out


@register("item", "tolist", "numpy", "chunk", "split", "masked_select", "nonzero")
def not_followed(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    return Unknown(f".{f.op}() (a value or size rnnshape does not follow)")


@register("backward", "retain_grad", "register_hook")
def returns_none(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    return Const(None)


# --------------------------------------------------------------------------- creation (torch.* only)


@register("torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty")
def creation(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    sizes = size_args(args, kwargs)
    if sizes is None:
        sizes = _unknown_sizes(f, args, node)
    if sizes is None:   # a size a loop binds from what it does not model: that reason, not a symbol
        return next((a for a in args if isinstance(a, UnknownItem)), None) or \
            Unknown(f"torch.{f.op} with sizes rnnshape cannot read")
    return new_tensor(f, sizes, kwargs, node)


def _unknown_sizes(f: Follower, args: list[Value], node: ast.AST) -> list[Value] | None:
    """``torch.zeros(1, x.size(1), self.hidden_size)`` with sizes the snippet does not define: the rank is
    the number of arguments (two or more: one alone may be a shape tuple), each unknown size a symbol named
    after its code, which nothing else constrains."""
    if not isinstance(node, ast.Call) or len(node.args) != len(args):
        return None
    codes: list[ast.expr] = list(node.args)
    if len(args) == 1 and isinstance(args[0], Tup) and isinstance(codes[0], (ast.Tuple, ast.List)) and \
            len(codes[0].elts) == len(args[0].items):   # torch.zeros((layers, x.size(0), hidden))
        codes, args = list(codes[0].elts), list(args[0].items)
    elif len(args) < 2:
        return None
    if not all(isinstance(a, (Int, Unknown)) for a in args) or any(isinstance(a, UnknownItem) for a in args):
        return None
    return [a if isinstance(a, Int) else Int(Sym.var(f.src(n)), f.src(n)) for a, n in zip(args, codes, strict=True)]


@register("torch.full")
def full(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    sizes = size_args(args[:1], kwargs)
    fill = args[1] if len(args) > 1 else kwargs.get("fill_value")
    if sizes is None:
        return Unknown("torch.full with sizes rnnshape cannot read")
    dtype = "int64" if isinstance(fill, Int) else "bool" if isinstance(fill, Const) and \
        isinstance(fill.value, bool) else "float32"
    return new_tensor(f, sizes, kwargs, node, dtype)


@register("torch.randint")
def randint(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    ints = [a for a in args if isinstance(a, Int)]
    shape = next((a for a in args if isinstance(a, Tup)), kwargs.get("size"))
    high = kwargs.get("high", ints[-1] if ints else None)
    sizes = size_args([shape], {}) if isinstance(shape, Tup) else None
    if sizes is None or not isinstance(high, Int):
        return Unknown("torch.randint with arguments rnnshape cannot read")
    return new_tensor(f, sizes, kwargs, node, "int64", largest=f.sub(high.sym) - 1)


_LEGACY = {"LongTensor": "int64", "FloatTensor": "float32", "IntTensor": "int32", "BoolTensor": "bool",
           "DoubleTensor": "float64", "ByteTensor": "uint8", "Tensor": "float32"}


@register("torch.tensor", "torch.as_tensor", *(f"torch.{n}" for n in _LEGACY))
def literal(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    """``torch.tensor([[1, 2]])``; the legacy ``torch.FloatTensor(2, 3)`` (sizes) or ``(data)``."""
    name = f.op
    if not args:
        return Unknown(f"torch.{name}()")
    if isinstance(args[0], Tensor):   # torch.FloatTensor(t), torch.as_tensor(t): a conversion
        return replace(args[0], dtype=_LEGACY.get(name, args[0].dtype), node=None, line=f.line)
    if name in _LEGACY and all(isinstance(a, Int) for a in args):   # torch.FloatTensor(2, 3): sizes
        return new_tensor(f, list(args), kwargs, node, _LEGACY[name])  # type: ignore[arg-type]
    shape, kind, largest, flat = literal_shape(f, args[0])
    if shape is None:
        return Unknown(f"torch.{name} of data rnnshape cannot read", "--shape NAME=SHAPE")
    dtype = _LEGACY.get(name, kind)
    t = new_tensor(f, [Int(Sym.const(s)) for s in shape], kwargs, node, dtype,
                   largest=Sym.const(largest) if largest is not None and dtype in INT_DTYPES else None)
    if isinstance(t, Tensor) and len(shape) == 1 and flat is not None:
        t = replace(t, values=tuple(flat))
    return t


def literal_shape(f: Follower, v: Value) -> tuple[list[int] | None, str, int | None, list[int] | None]:
    """Shape, dtype, largest value and (1-D ints) the values of a nested literal."""
    if isinstance(v, Int):
        s = f.sub(v.sym)
        return ([], "int64", s.value, None) if s.is_const else (None, "", None, None)
    if isinstance(v, Const) and isinstance(v.value, (bool, float, complex)):
        kind = "bool" if isinstance(v.value, bool) else "complex64" if isinstance(v.value, complex) else "float32"
        return [], kind, None, None
    if isinstance(v, Tup) and v.kind in ("list", "tuple") and v.count is None:
        if not v.items:
            return [0], "float32", None, []
        subs = [literal_shape(f, i) for i in v.items]
        if any(s[0] is None for s in subs) or len({tuple(s[0] or ()) for s in subs}) != 1:
            return None, "", None, None
        kinds = {s[1] for s in subs}
        kind = next((k for k in ("complex64", "float32", "int64") if k in kinds), "bool")
        largest = max((s[2] for s in subs if s[2] is not None), default=None)
        flat = [s[2] for s in subs] if all(s[0] == [] and s[1] == "int64" for s in subs) else None
        return [len(v.items), *(subs[0][0] or [])], kind, largest, flat  # type: ignore[list-item]
    return None, "", None, None


@register("torch.arange")
def arange(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    ints = [a for a in args if isinstance(a, Int)]
    if len(ints) == 1 == len(args):
        return new_tensor(f, ints, kwargs, node, "int64", largest=f.sub(ints[0].sym) - 1)
    if len(ints) == 2 == len(args):
        n = Int(f.sub(ints[1].sym) - f.sub(ints[0].sym))
        return new_tensor(f, [n], kwargs, node, "int64", largest=f.sub(ints[1].sym) - 1)
    return Unknown("torch.arange with arguments rnnshape cannot read")


@register("zeros_like", "ones_like", "randn_like", "rand_like", "empty_like", "full_like")
def like(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    t = tensor_arg(f, args[0] if args else Unknown("no input"), f"torch.{f.op}()")
    out = replace(t, origin=f.src(node), line=f.line, node=None, role=None, largest=None)
    dt = kwargs.get("dtype")
    if isinstance(dt, Const) and isinstance(dt.value, DType):
        out = replace(out, dtype=dt.value.name)
    return out


@register("torch.manual_seed", "torch.no_grad", "torch.set_grad_enabled", "torch.inference_mode", "torch.save",
          "torch.load", "torch.set_printoptions", "torch.set_default_dtype", "torch.set_num_threads")
def no_shape(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    return Const(None)


@register("torch.device")
def device(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    if args and isinstance(args[0], Const) and isinstance(args[0].value, str):
        return Const(Device(args[0].value))
    return Unknown("a device the snippet does not pin")


@register("torch.from_numpy")
def from_numpy(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    return Unknown("torch.from_numpy of an array rnnshape does not follow", "--shape NAME=SHAPE")


# --------------------------------------------------------------------------- joining


@register("cat", "concat", "concatenate", "stack")
def cat(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    name = f.op
    seq = args[0] if args else kwargs.get("tensors")
    dim_v = args[1] if len(args) > 1 else kwargs.get("dim", Int(Sym.const(0)))
    if not isinstance(seq, Tup) or seq.kind == "unknown-list":
        return Unknown(f"torch.{name} of a sequence rnnshape does not follow")
    for item in seq.items:
        if isinstance(item, Tup) and item.role:
            f.stop(dx.output_tuple(layer=f"nn.{item.layer.kind}" if item.layer else "the recurrent layer",
                                   where=f"torch.{name}()", torch_message=None), f.tuple_rewrite(item))
    ts = [t for t in seq.items if isinstance(t, Tensor)]
    dim = const_int(f, dim_v)
    if len(ts) != len(seq.items) or not ts or dim is None:
        return Unknown(f"torch.{name} of tensors rnnshape does not follow")
    shapes = [f.tensor_dims(t) for t in ts]
    rank = len(shapes[0])
    if name == "stack":
        return _stack(f, seq, ts, shapes, dim, node)
    if not -rank <= dim < rank:
        f.stop(dx.shape_op(op=f"torch.{name}", detail=f"dim {dim} is out of range for {rank}-D tensors",
                           torch_message=f"Dimension out of range (expected to be in range of [{-rank}, "
                           f"{rank - 1}], but got {dim})"))
    d = dim % rank
    total = shapes[0][d] * (seq.count or ONE)
    for k, s in enumerate(shapes[1:], 1):
        if len(s) != rank:
            f.stop(dx.shape_op(op=f"torch.{name}", detail=(
                f"tensors of different ranks: {fmt_dims(shapes[0])} and {fmt_dims(s)}"), torch_message=(
                f"Tensors must have same number of dimensions: got {rank} and {len(s)}")))
        for i, (a, b) in enumerate(zip(shapes[0], s, strict=True)):
            if i == d:
                continue
            v = f.equal(a, b, f"torch.{name}")
            if v.differ:
                msg = None
                if a.is_const and b.is_const:
                    msg = (f"Sizes of tensors must match except in dimension {d}. Expected size {a} but got "
                           f"size {b} for tensor number {k} in the list.")
                f.stop(dx.shape_op(op=f"torch.{name}", detail=(
                    f"joining along dim {d}, every other dimension must match: {fmt_dims(shapes[0])} and "
                    f"{fmt_dims(s)} differ in dimension {i} ({a} vs {b})"), torch_message=msg))
            if v.kind == "unknown":
                return Unknown(f"whether {a} equals {b} (torch.{name})")
        total = total + s[d]
    dims = list(f.tensor_dims(ts[0]))
    dims[d] = total
    return Tensor(tuple(dims), ts[0].labels, ts[0].dtype, ts[0].device, origin=f.src(node), line=f.line)


def _stack(f: Follower, seq: Tup, ts: list[Tensor], shapes: list[tuple[Sym, ...]], dim: int,
           node: ast.AST) -> Value:
    rank = len(shapes[0])
    for k, s in enumerate(shapes[1:], 1):
        if len(s) != rank or any(f.equal(a, b, "torch.stack").differ for a, b in zip(s, shapes[0], strict=True)):
            msg = None
            if all(d.is_const for d in (*s, *shapes[0])):
                msg = (f"stack expects each tensor to be equal size, but got [{', '.join(map(str, shapes[0]))}]"
                       f" at entry 0 and [{', '.join(map(str, s))}] at entry {k}")
            f.stop(dx.shape_op(op="torch.stack", detail=(
                f"torch.stack needs tensors of one shape; entry 0 is {fmt_dims(shapes[0])} and entry {k} "
                f"is {fmt_dims(s)}"), torch_message=msg))
    if not -rank - 1 <= dim <= rank:
        f.stop(dx.shape_op(op="torch.stack", detail=f"dim {dim} is out of range", torch_message=None))
    d = dim % (rank + 1)
    dims, labels = list(shapes[0]), list(ts[0].labels)
    dims.insert(d, seq.count if seq.count is not None else Sym.const(len(ts)))
    labels.insert(d, None)
    return Tensor(tuple(dims), tuple(labels), ts[0].dtype, ts[0].device, origin=f.src(node), line=f.line)
