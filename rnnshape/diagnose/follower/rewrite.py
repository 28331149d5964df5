"""Fix rewriting: a line of the snippet, rewritten so the error goes away (columns from ``ast``)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from rnnshape.diagnose.follower.values import (
    Layer,
    RecurrentLayer,
    Rewrite,
    Tensor,
    Tup,
)
from rnnshape.model.spec import POSITIONAL
from rnnshape.model.symbolic import Sym

if TYPE_CHECKING:
    from rnnshape.diagnose.follower.core import Follower


class RewriteMixin:
    def _unpack_rewrite(self: Follower, stmt: ast.stmt, target: ast.expr, tup: Tup | None,
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

    def _expr_for(self: Follower, node: ast.AST, cur: Sym | None, want: Sym) -> str:
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

    def _rewrite_node(self: Follower, line: int, node: ast.AST, new: str) -> Rewrite | None:
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

    def tuple_rewrite(self: Follower, tup: Tup) -> Rewrite | None:
        """The assignment that kept the layer's tuple whole, unpacked as it should be (``out, (h_n, c_n) =``)."""
        if tup.fix is None:
            return None
        node, new = tup.fix
        return self._rewrite_node(getattr(node, "lineno", 0), node, new)

    def _ctor_rewrite(self: Follower, layer: Layer, index: int, value: Sym, kw: str | None = None,
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

    def _hx_rewrite(self: Follower, node: ast.Call, hx: Tup) -> Rewrite | None:
        if len(node.args) > 1 and isinstance(node.args[1], ast.Tuple) and node.args[1].elts:
            return self._rewrite_node(node.lineno, node.args[1], self.src(node.args[1].elts[0]))
        return None

    def _tensor_rewrite(self: Follower, t: Tensor, expected: list[Any], twin: Tensor | None = None) -> Rewrite | None:
        """The call that built ``t`` with the sizes torch expects; ``twin`` (c_0 built alike on the same line
        as h_0, ``(torch.zeros(1, 1, H), torch.zeros(1, 1, H))``) gets the same edit."""
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
        edits = list(zip(size_nodes, new_parts, strict=True))
        if twin is not None and isinstance(twin.node, ast.Call) and twin.line == t.line and \
                self.src(twin.node) == self.src(call) and twin.node is not call:
            twin_nodes = list(twin.node.args)
            if len(twin_nodes) == 1 and isinstance(twin_nodes[0], (ast.Tuple, ast.List)):
                twin_nodes = list(twin_nodes[0].elts)
            edits += list(zip(twin_nodes, new_parts, strict=True))
        line_text = self.lines[t.line - 1] if 0 < t.line <= len(self.lines) else ""
        if not all(getattr(n, "lineno", None) == getattr(n, "end_lineno", None) == t.line for n, _ in edits):
            return None
        raw = line_text.encode()
        for n, new in sorted(edits, key=lambda p: -p[0].col_offset):   # right to left: the columns stay valid
            raw = raw[:n.col_offset] + new.encode() + raw[n.end_col_offset:]  # type: ignore[index]
        return Rewrite(t.line, line_text, raw.decode(errors="replace"))

    def _ctor_rewrite_flag(self: Follower, layer: RecurrentLayer, flag: str, value: bool) -> Rewrite | None:
        if layer.node is None or layer.line is None:
            return None
        return self.flag_rewrite(layer.node, flag, value, POSITIONAL[layer.kind])

    def flag_rewrite(self: Follower, call: ast.Call, flag: str, value: bool,
                     positional: tuple[str, ...] = ()) -> Rewrite | None:
        """``flag=value`` set in the call: its keyword or positional argument replaced, else appended."""
        if call.lineno != call.end_lineno or call.end_col_offset is None:
            return None
        for k in call.keywords:
            if k.arg == flag:
                return self._rewrite_node(call.lineno, k.value, repr(value))
        if flag in positional and positional.index(flag) < len(call.args):
            return self._rewrite_node(call.lineno, call.args[positional.index(flag)], repr(value))
        text = self.lines[call.lineno - 1]
        raw = text.encode()
        end = call.end_col_offset
        insert = f", {flag}={value!r}" if (call.args or call.keywords) else f"{flag}={value!r}"
        return Rewrite(call.lineno, text, (raw[:end - 1] + insert.encode() + raw[end - 1:]).decode(errors="replace"))
