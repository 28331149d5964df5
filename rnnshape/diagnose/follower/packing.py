"""Packing: ``pack_padded_sequence``, ``pack_sequence`` and ``pad_packed_sequence`` followed through the shape
model, so a packed input reaches the recurrent call with its lengths and layout."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING

from rnnshape import diagnoses as dx
from rnnshape.diagnose.follower.values import Const, Int, Packed, Tensor, Tup, Unknown, Value
from rnnshape.model.shapes import UNSAFE, Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec
from rnnshape.model.symbolic import ONE, Sym

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower


class PackingMixin:
    def packing(self: Follower, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
        def arg(i: int, key: str, default: Value) -> Value:
            return args[i] if len(args) > i else kwargs.get(key, default)
        if name == "pack_padded_sequence":
            x = arg(0, "input", Unknown("no input"))
            lengths_v = arg(1, "lengths", Unknown("no lengths"))
            bf = self.truth(arg(2, "batch_first", Const(False)))
            es = self.truth(arg(3, "enforce_sorted", Const(True)))
            if isinstance(x, Tup) and x.role:
                self.tuple_as_tensor(x, "pack_padded_sequence()")
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
        if name == "pack_sequence":
            self._pack_sequence(arg(0, "sequences", Unknown("no sequences")))
            return Unknown("a PackedSequence built by pack_sequence")
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

    def _pack_sequence(self: Follower, seqs: Value) -> None:
        """pack_sequence([...]) of tensors whose lengths (first dimensions) the snippet fixes: none may be 0."""
        if not isinstance(seqs, Tup) or seqs.count is not None or seqs.role:
            return
        firsts = [self.sub(t.dims[0]) for t in seqs.items if isinstance(t, Tensor) and t.rank >= 1]
        if any(d.is_const and (d.value or 0) <= 0 for d in firsts):
            self.stop(dx.packing_bad_length(torch_message=(
                "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0")))

    def _lengths(self: Follower, v: Value) -> tuple[int, ...] | None:
        if isinstance(v, Tup) and all(isinstance(i, Int) and self.sub(i.sym).is_const for i in v.items):
            return tuple(int(self.sub(i.sym).value or 0) for i in v.items)  # type: ignore[union-attr]
        if isinstance(v, Tensor) and v.values is not None and v.rank == 1 and \
                self.sub(v.dims[0]) == Sym.const(len(v.values)):
            return v.values
        return None
