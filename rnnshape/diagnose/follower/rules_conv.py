"""Convolutions, pooling, batch norm and Flatten: shape rules registered into :mod:`.rules`' one registry.

One rule per op whatever its spelling: ``nn.Conv2d(4, 32, 8)(x)`` is followed as ``F.conv2d(x, weight, ...)``
with the weight the module holds, ``nn.MaxPool2d(2)(x)`` as ``F.max_pool2d(x, 2)``, ``nn.BatchNorm1d(n)(x)`` as
``F.batch_norm(x, running_mean, running_var)`` after the module's own rank check, ``nn.Flatten()(x)`` as
``x.flatten(1)``. A module is a :class:`ModuleOp`: its op and the arguments its ``forward`` passes on.

Each spatial axis follows torch's formula, ``(L + 2p - d(k - 1) - 1) // s + 1``; a symbolic length stays
symbolic (an exact division, else a symbol named by the formula). Dimension 0 of a batched input is the batch
by the op's own definition: it keeps its label, or takes ``conv2d's batch axis``, so that the batch-first warning sees
through a CNN feeding a recurrent layer. A size is an error only when the code fixes every number involved.
"""

from __future__ import annotations

import ast
from dataclasses import field, replace
from typing import TYPE_CHECKING

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower.rules import const_int, register, tensor_arg
from rnnshape.diagnose.follower.values import Const, Int, Layer, NotFollowed, Tensor, Tup, Unknown, Value, value_class
from rnnshape.model.symbolic import ONE, Sym, fmt_dims
from rnnshape.model.vocab import MODULE_OP_KINDS, ModuleOpKind

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower

#: Each module's constructor arguments, in order, and the functional op its forward calls.
SIGNATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Conv": ("conv", ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")),
    "MaxPool": ("max_pool", ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")),
    "AvgPool": ("avg_pool", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                             "divisor_override")),
    "BatchNorm": ("batch_norm", ("num_features",)),
}
#: The functional forms' arguments after the input, in order.
FUNCTIONAL: dict[str, tuple[str, ...]] = {
    "conv": ("weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
}
#: The ranks each batch norm module accepts (its ``_check_input_dim``), with torch's words for them.
BATCH_NORM_RANKS: dict[str, tuple[tuple[int, ...], str]] = {"BatchNorm1d": ((2, 3), "2D or 3D"),
                                                            "BatchNorm2d": ((4,), "4D")}


@value_class
class ModuleOp(Layer):
    """A module whose forward is one functional op: the op, and the arguments after the input."""

    op: str = ""
    extra: tuple[Value, ...] = ()
    params: dict[str, Value] = field(default_factory=dict)


def is_module_op(name: str) -> bool:
    return name in MODULE_OP_KINDS


def _bind(args: list[Value], kwargs: dict[str, Value], names: tuple[str, ...]) -> dict[str, Value]:
    bound = dict(zip(names, args, strict=False))
    bound.update({k: v for k, v in kwargs.items() if k in names})
    return bound


def build(f: Follower, name: ModuleOpKind, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
    """``nn.Conv2d(...)`` and its kin: the module, as the op its forward calls with the arguments it holds."""
    if name == "Flatten":
        bound = _bind(args, kwargs, ("start_dim", "end_dim"))
        params = {"start_dim": bound.get("start_dim", Int(ONE)), "end_dim": bound.get("end_dim", Int(Sym.const(-1)))}
        return ModuleOp(name, f.line, node, op="flatten", params=params)
    family, nd = name[:-2], name[-2]
    op, names = SIGNATURES[family]
    bound = _bind(args, kwargs, names)
    if family == "BatchNorm":
        sizes = f._sizes(args, kwargs, ("num_features",), node)
        if sizes is None:
            return Unknown(f"nn.{name} with a size rnnshape cannot read")
        stat = Tensor((sizes[0],), origin=f"nn.{name}'s running_mean", line=f.line)
        return ModuleOp(name, f.line, node, op=op, extra=(stat, stat))
    if family == "Conv":
        return _build_conv(f, name, int(nd), args, kwargs, bound, node)
    return ModuleOp(name, f.line, node, op=f"{op}{nd}d", params=dict(bound))


def _build_conv(f: Follower, name: ModuleOpKind, nd: int, args: list[Value], kwargs: dict[str, Value],
                bound: dict[str, Value], node: ast.Call) -> Value:
    sizes = f._sizes(args, kwargs, ("in_channels", "out_channels"), node)
    kernel = _per_axis(f, bound.get("kernel_size"), nd)
    groups = const_int(f, bound.get("groups", Int(ONE)))
    if sizes is None or kernel is None or not groups or groups < 1:
        return Unknown(f"nn.{name} with sizes rnnshape cannot read")
    per_group = sizes[0].exact_div(groups)
    if per_group is None:
        return Unknown(f"nn.{name} whose groups do not divide in_channels")
    weight = Tensor((sizes[1], per_group, *kernel), origin=f"nn.{name}'s weight", line=f.line)
    params = {k: bound[k] for k in ("stride", "padding", "dilation", "groups") if k in bound}
    return ModuleOp(name, f.line, node, op=f"conv{nd}d", extra=(weight,), params=params)


def call_module(f: Follower, layer: ModuleOp, x: Value, node: ast.Call) -> Value:
    """Calling the module: its own checks, then its op's rule."""
    if isinstance(x, Unknown):
        return x
    ranks = BATCH_NORM_RANKS.get(layer.kind)
    if ranks is not None and isinstance(x, Tensor) and x.rank not in ranks[0]:
        f.stop(dx.shape_op(op=f"nn.{layer.kind}", detail=(
            f"it takes a {ranks[1]} input, and {fmt_dims(f.tensor_dims(x))} is {x.rank}-D"),
            torch_message=f"expected {ranks[1]} input (got {x.rank}D input)"))
    return f.apply(layer.op, [x, *layer.extra], dict(layer.params), node)


def free_input(layer: Layer, batch: Sym) -> tuple[Sym, ...] | None:
    """What a convolution reads when it is the first to read an unpinned argument: (B, C_in, L...) symbolic."""
    if not isinstance(layer, ModuleOp) or not layer.op.startswith("conv") or not layer.extra:
        return None
    weight = layer.extra[0]
    assert isinstance(weight, Tensor)
    nd = weight.rank - 2
    groups = layer.params.get("groups")
    spatial = ("L",) if nd == 1 else ("H", "W")
    channels = weight.dims[1] * (groups.sym if isinstance(groups, Int) else ONE)
    return (batch, channels, *(Sym.var(s) for s in spatial))


# --------------------------------------------------------------------------- sizes


def _per_axis(f: Follower, v: Value | None, nd: int, default: int | None = None) -> tuple[Sym, ...] | None:
    """An int or a tuple of ints, one per spatial axis (None: not readable)."""
    if v is None or (isinstance(v, Const) and v.value is None):
        return None if default is None else (Sym.const(default),) * nd
    if isinstance(v, Int):
        return (f.sub(v.sym),) * nd
    if isinstance(v, Tup) and len(v.items) == nd and all(isinstance(i, Int) for i in v.items):
        return tuple(f.sub(i.sym) for i in v.items)  # type: ignore[union-attr]
    if isinstance(v, Tup) and not v.items and default is not None:
        return (Sym.const(default),) * nd
    return None


def _arg(args: list[Value], kwargs: dict[str, Value], names: tuple[str, ...], name: str) -> Value | None:
    i = names.index(name) + 1
    return args[i] if i < len(args) else kwargs.get(name)


def out_length(length: Sym, k: Sym, s: Sym, p: Sym, d: Sym, ceil_mode: bool = False) -> Sym:
    """torch's output length of a window of ``k`` (dilation ``d``) sliding by ``s`` over ``length`` padded by
    ``p`` on each side; the last window may start in the padding under ``ceil_mode`` but never past it."""
    span = length + p * 2 - d * (k - 1) - 1
    if all(v.is_const for v in (span, s)):
        n, step = span.value or 0, s.value or 1
        out = (-(-n // step) if ceil_mode else n // step) + 1
        if ceil_mode and (out - 1) * step >= (length + p).value:  # type: ignore[operator]
            out -= 1
        return Sym.const(out)
    exact = span.exact_div(s)
    if exact is not None and not ceil_mode:
        return exact + 1
    return Sym.var(f"({span}){'/' if ceil_mode else '//'}{s}+1")


def _batch_label(op: str) -> str:
    return f"{op}'s batch axis"


def _batch_labels(x: Tensor, nd: int, op: str) -> tuple[str | None, ...]:
    """The labels kept on (N, C): N is the batch by the op's definition when the input has one."""
    if x.rank == nd + 2:
        return (x.labels[0] or _batch_label(op), x.labels[1])
    return (x.labels[0],)


def _spatial(f: Follower, x: Tensor, nd: int, op: str, window: tuple[tuple[Sym, ...], ...],
             ceil_mode: bool = False) -> tuple[Sym, ...]:
    """The output lengths of the last ``nd`` axes; one that fixed sizes make empty stops."""
    k, s, p, d = window
    dims = f.tensor_dims(x)
    out = tuple(out_length(dims[-nd + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(nd))
    if any(o.is_const and (o.value or 0) < 1 for o in out):
        f.stop(dx.shape_op(op=op, detail=(
            f"the input {fmt_dims(dims)} is too small for its window {fmt_dims(k)}: the output would be "
            f"{fmt_dims(out)}"), torch_message=None))
    return out


def _rank(f: Follower, x: Tensor, nd: int, op: str) -> None:
    if x.rank not in (nd + 1, nd + 2):
        dims = f.tensor_dims(x)
        msg = None
        if op.startswith("conv") and all(d.is_const for d in dims):
            msg = (f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input of size: "
                   f"[{', '.join(str(d) for d in dims)}]")
        f.stop(dx.shape_op(op=op, detail=f"it takes a {nd + 1}-D or {nd + 2}-D input, and {fmt_dims(dims)} is "
                                         f"{x.rank}-D", torch_message=msg))


# --------------------------------------------------------------------------- rules


@register("conv1d", "conv2d")
def conv(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    """(N, C_in, L...) -> (N, C_out, L_out...), C_in checked against the weight's (C_in / groups) x groups."""
    nd, names = int(f.op[-2]), FUNCTIONAL["conv"]
    x = tensor_arg(f, args[0] if args else kwargs.get("input", Unknown("no input")), f"{f.op}()")
    weight = _arg(args, kwargs, names, "weight")
    if not isinstance(weight, Tensor) or weight.rank != nd + 2:
        raise NotFollowed(f"{f.op}() with a weight rnnshape does not follow")
    _rank(f, x, nd, f.op)
    groups = const_int(f, _arg(args, kwargs, names, "groups")) or 1
    dims, wdims = f.tensor_dims(x), f.tensor_dims(weight)
    got, expected = dims[-nd - 1], wdims[1] * groups
    v = f.equal(got, expected, f"{f.op}'s in_channels")
    if v.differ:
        msg = None
        if all(d.is_const for d in (*dims, *wdims)):
            shown = dims if x.rank == nd + 2 else (ONE, *dims)
            msg = (f"Given groups={groups}, weight of size [{', '.join(str(d) for d in wdims)}], expected "
                   f"input[{', '.join(str(d) for d in shown)}] to have {expected} channels, but got {got} "
                   "channels instead")
        f.stop(dx.shape_op(op=f.op, detail=(
            f"the layer takes {expected} input channels and {fmt_dims(dims)} has {got} in dimension "
            f"{x.rank - nd - 1}"), torch_message=msg))
    if v.kind == "unknown":
        return Unknown(f"whether {got} equals {expected} ({f.op}'s in_channels)")
    pad_v = _arg(args, kwargs, FUNCTIONAL["conv"], "padding")
    if isinstance(pad_v, Const) and pad_v.value == "same":   # every length kept; torch refuses it with a stride
        if _per_axis(f, _arg(args, kwargs, FUNCTIONAL["conv"], "stride"), nd, 1) != (ONE,) * nd:
            raise NotFollowed(f"{f.op}() with padding='same' and a stride")
        out = dims[-nd:]
    else:
        out = _spatial(f, x, nd, f.op, _conv_window(f, args, kwargs, nd, wdims[2:]))
    labels = _batch_labels(x, nd, f.op)
    return Tensor((*dims[:x.rank - nd - 1], wdims[0], *out), (*labels[:-1], None), x.dtype, x.device,
                  origin=f.src(node), line=f.line)


def _conv_window(f: Follower, args: list[Value], kwargs: dict[str, Value], nd: int,
                 kernel: tuple[Sym, ...]) -> tuple[tuple[Sym, ...], ...]:
    names = FUNCTIONAL["conv"]
    stride = _per_axis(f, _arg(args, kwargs, names, "stride"), nd, 1)
    dilation = _per_axis(f, _arg(args, kwargs, names, "dilation"), nd, 1)
    pad_v = _arg(args, kwargs, names, "padding")
    padding = (Sym.const(0),) * nd if isinstance(pad_v, Const) and pad_v.value == "valid" else \
        _per_axis(f, pad_v, nd, 0)
    if stride is None or dilation is None or padding is None:
        raise NotFollowed(f"{f.op}() with a stride, padding or dilation rnnshape cannot read")
    return kernel, stride, padding, dilation


@register("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d")
def pool(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    """(N, C, L...) -> (N, C, L_out...): channels kept, each window's length by torch's formula."""
    nd, family = int(f.op[-2]), f.op[:-2]
    names = FUNCTIONAL[family]
    x = tensor_arg(f, args[0] if args else kwargs.get("input", Unknown("no input")), f"{f.op}()")
    _rank(f, x, nd, f.op)
    kernel = _per_axis(f, _arg(args, kwargs, names, "kernel_size"), nd)
    stride_v = _arg(args, kwargs, names, "stride")
    stride = kernel if stride_v is None or (isinstance(stride_v, Const) and stride_v.value is None) or \
        (isinstance(stride_v, Tup) and not stride_v.items) else _per_axis(f, stride_v, nd)
    padding = _per_axis(f, _arg(args, kwargs, names, "padding"), nd, 0)
    dilation = _per_axis(f, _arg(args, kwargs, names, "dilation"), nd, 1) if family == "max_pool" else \
        (ONE,) * nd
    ceil = f.truth(_arg(args, kwargs, names, "ceil_mode") or Const(False))
    if kernel is None or stride is None or padding is None or dilation is None or ceil is None:
        raise NotFollowed(f"{f.op}() with a window rnnshape cannot read")
    if any(p.is_const and k.is_const and (p.value or 0) * 2 > (k.value or 0)
           for p, k in zip(padding, kernel, strict=True)):
        f.stop(dx.shape_op(op=f.op, detail=f"the padding {fmt_dims(padding)} is more than half the window "
                                           f"{fmt_dims(kernel)}", torch_message=None))
    out = _spatial(f, x, nd, f.op, (kernel, stride, padding, dilation), ceil)
    dims = f.tensor_dims(x)
    result = Tensor((*dims[:x.rank - nd], *out), (*_batch_labels(x, nd, f.op), *(None,) * nd), x.dtype, x.device,
                    origin=f.src(node), line=f.line)
    if family == "max_pool" and f.truth(_arg(args, kwargs, names, "return_indices") or Const(False)):
        return Tup((result, replace(result, dtype="int64")), "tuple")
    return result


@register("batch_norm")
def batch_norm(f: Follower, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
    """(N, C, ...) unchanged, C checked against the running statistics' size."""
    x = tensor_arg(f, args[0] if args else kwargs.get("input", Unknown("no input")), "batch_norm()")
    stat = args[1] if len(args) > 1 else kwargs.get("running_mean")
    dims = f.tensor_dims(x)
    if isinstance(stat, Tensor) and stat.rank == 1 and x.rank >= 2:
        n = f.sub(stat.dims[0])
        v = f.equal(dims[1], n, "batch norm's num_features")
        if v.differ:
            msg = f"running_mean should contain {dims[1]} elements not {n}" if dims[1].is_const and n.is_const \
                else None
            f.stop(dx.shape_op(op="batch norm", detail=(
                f"it normalises {n} features and {fmt_dims(dims)} has {dims[1]} in dimension 1"),
                torch_message=msg))
    labels = ((x.labels[0] or _batch_label("batch_norm")), *x.labels[1:]) if x.rank >= 2 else x.labels
    return replace(x, labels=labels, node=None, line=f.line, origin=f.src(node), role=None, largest=None)
