"""The catalog: PyTorch's own error messages, matched and turned into diagnoses.

Each :class:`Entry` pairs a regular expression (tolerant of the wording of
several torch releases, and of cuDNN, MPS and oneDNN variants) with a builder
that reads the numbers out of the match and calls the shared builders in
:mod:`rnnshape.diagnoses`, and with the likely causes, most likely first.

The runner uses :func:`match` to name the exception torch raised;
``rnnshape explain`` uses :func:`scan` on pasted text and passes a
:class:`Context` (the user's line, the layer named by the traceback) so that the
diagnosis can cite them. No torch import here: this module must load in
milliseconds.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.diagnoses import states as sx
from rnnshape.diagnoses import versions as vx
from rnnshape.explain.lazyre import LazyPattern, lazy


@dataclass(frozen=True)
class Context:
    """What the traceback around a message says (all optional: a bare message has none)."""

    layer: str | None = None          # "LSTM", "GRUCell", ... named by the frames or the message
    user_line: str | None = None      # the user's own line, e.g. "out, h = self.lstm(x, h0)"
    where: str | None = None          # "train.py:42"
    failing_line: str | None = None   # torch's own line that raised, e.g. "if hx.dim() != 3:"
    frames_text: str = ""             # the frames of this traceback, for context-gated entries
    built: tuple[str, ...] = ()       # layer types the paste constructs (nn.LSTM(...) in pasted code)
    ctor_text: str = ""               # the paste's constructor lines, e.g. "nn.GRU(8, 16, num_layers=2)"
    batch_first: bool | None = None   # batch_first=... as the paste's constructors say (None: unknown)
    shapes: tuple[tuple[int, ...], ...] = ()   # tensor shapes printed in the paste (torch.Size([...]))


NO_CONTEXT = Context()

Builder = Callable[["re.Match[str]", str, Context], dx.Diagnosis]


@dataclass(frozen=True)
class Entry:
    """One error pattern: what it matches, the code it yields, how to explain it, and why."""

    name: str
    code: str
    pattern: LazyPattern
    build: Builder
    #: Likely causes, most likely first (a builder may replace them via evidence["causes"]).
    causes: tuple[str, ...] = ()
    #: A generic Python message (``'tuple' object has no attribute 'dim'``) is only read as
    #: a recurrent-layer mistake when the traceback around it matches this.
    needs: LazyPattern | None = None
    #: Other codes the builder may return, depending on the numbers or the context.
    also: tuple[str, ...] = field(default=())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in re.findall(r"-?\d+", text))


def _layer(ctx: Context, default: str = "the layer") -> str:
    return f"nn.{ctx.layer}" if ctx.layer else default


# --------------------------------------------------------------------------- input


def _input_size(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    exp, got = int(m["expected"]), int(m["got"])
    d = dx.input_size_in_message(expected=exp, got=got, layer_type=ctx.layer, torch_message=msg)
    causes = [f"the features per time step are {got}, but the layer was built for {exp} "
              "(a changed embedding size, feature set or vocabulary)"]
    if got > 0 and exp > 0 and (got < exp and exp % got == 0 or got > exp and got % exp == 0):
        causes.append("the input's dimensions are in the wrong order: the features must be "
                      "the last dimension (permute a (batch, features, seq_len) tensor)")
    if exp == 2 * got or got == 2 * exp:
        causes.append("a bidirectional layer before this one outputs 2 x hidden_size features")
    causes.append("the input is 2-D (seq_len, batch) and the layer reads batch as features: "
                  "add the feature axis with x.unsqueeze(-1)")
    return _with_causes(d, causes)


def _seq_input_rank(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    rank = int(m["rank"])
    d = dx.input_rank(layer=m["layer"] or ctx.layer or "RNN", got_rank=rank, torch_message=msg)
    if rank == 4:
        causes = ["image-like input (batch, channels, height, width) or a CNN's feature map "
                  "fed straight in: flatten it to (batch, seq_len, features)",
                  "an extra axis from unsqueeze or a DataLoader around pre-batched data"]
    elif rank == 1:
        causes = ["one univariate series: it needs a feature axis, x.unsqueeze(-1)"]
    else:
        causes = ["the input lacks or has an extra dimension"]
    return _with_causes(d, causes)


def _old_input_rank(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    want = int(m["want"])
    d = dx.input_rank(layer=ctx.layer or "RNN", got_rank=int(m["rank"]), torch_message=msg)
    if want == 2:
        return _with_causes(d, ["a packed input's data must be 2-D (total steps, features)"])
    return _with_causes(d, [
        "older torch (before 1.11) only accepts 3-D input (seq_len, batch, features): "
        "add the batch axis with x.unsqueeze(1) (or unsqueeze(0) with batch_first=True)",
        "a 2-D (batch, features) tensor from a Linear or a pooling step"])


def _cell_input_rank(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = dx.input_rank(layer=m["layer"], got_rank=int(m["rank"]), is_cell=True, torch_message=msg)
    return _with_causes(d, ["a whole sequence given to a cell: cells take one time step; "
                            f"loop over time, or use nn.{m['layer'].replace('Cell', '')}"])


def _cell_hidden_rank(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    name = "c_0" if m["which"] == "hx[1]" else "h_0"
    d = dx.hidden_rank(name=name, got_rank=int(m["rank"]), expected_rank=2,
                       layer=m["layer"], torch_message=msg)
    return _with_causes(d, ["a state shaped for nn.LSTM/GRU (num_layers, batch, hidden) "
                            "given to a cell, which takes (batch, hidden): h.squeeze(0)"])


def _hx_rank(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    want = int(m["want"])
    ranks = _ints(m["got"])
    name, got = ("h_0", ranks[0]) if ranks[0] != want or len(ranks) == 1 else ("c_0", ranks[1])
    d = sx.state_rank(name=name, got_rank=got, expected_rank=want, layer=_layer(ctx), torch_message=msg)
    causes = []
    if len(ranks) == 2 and want == 3 and ranks == (2, 2):
        causes.append("the LSTM's state was given as one tensor instead of the tuple "
                      "(h_0, c_0): torch split its first dimension into 'h' and 'c'")
    if got == want - 1:
        causes.append("the state is missing the num_layers x num_directions axis: "
                      "torch.zeros(num_layers * num_directions, batch, hidden_size)")
    if got > want and want == 3:
        causes.insert(0, f"an extra axis, not a missing one: the state is {got}-D where the layer "
                         f"wants 3-D (num_layers x num_directions, batch, hidden) -- an unsqueeze "
                         f"too many (or states stacked): {name}.squeeze(0) on the axis of size 1")
    elif got == want + 1:
        causes.append("the input is unbatched (2-D) while the state is batched: give the "
                      "input a batch axis, or drop the state's batch axis")
    return _with_causes(d, causes)


# --------------------------------------------------------------------------- state


def _hidden_size(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    expected, got = _ints(m["expected"]), _ints(m["got"])
    is_c = m["idx"] == "1"
    name = "c_0" if is_c else "h_0"
    if len(expected) != 3 or len(got) != 3:
        d = sx.state_size_rank(name=name, expected=expected, got=got, layer=_layer(ctx), torch_message=msg)
        return _with_causes(d, _rank_causes(name, expected, got))
    input_dims = _input_shape(ctx, expected, got)
    batch_first = ctx.batch_first
    if input_dims and batch_first is None and input_dims[1] == expected[1] != input_dims[0]:
        batch_first = False   # torch took the input's dimension 1 as the batch: not batch-first
    causes = _state_causes(sx.state_code(expected, got, is_cell_state=is_c), expected, got, ctx)
    paste = sx.PasteLayout(layer=ctx.layer, attr=_layer_attr(ctx), batch_first=ctx.batch_first,
                           shapes_printed=bool(ctx.shapes),
                           input_batch_first=bool(causes) and causes[0].startswith(_LAYOUT))
    d = sx.state_size_mismatch(name=name, expected=expected, got=got, is_cell_state=is_c, paste=paste,
                               input_dims=input_dims, batch_first=batch_first if input_dims else None,
                               torch_message=msg)
    return _with_causes(d, causes)


def _rank_causes(name: str, e: tuple[int, ...], g: tuple[int, ...]) -> list[str]:
    if len(g) > len(e):
        extra = [i for i, n in enumerate(g) if n == 1]
        squeeze = f"{name}.squeeze({extra[0]})" if extra else f"{name}.view({', '.join(map(str, e))})"
        return [f"an extra axis, not a missing one: {dx.fmt_shape(g)} has {len(g)} dimensions, the "
                f"layer wants {len(e)} {dx.fmt_shape(e)}; an unsqueeze (or a stack of states) too "
                f"many: {squeeze}"]
    return [f"the state {dx.fmt_shape(g)} lacks the num_layers x num_directions axis: "
            f"{name}.unsqueeze(0)"]


def _input_shape(ctx: Context, e: tuple[int, ...], g: tuple[int, ...]) -> tuple[int, ...] | None:
    """A 3-D input shape printed in the paste that torch's expected batch came from."""
    for shape in ctx.shapes:
        if len(shape) == 3 and e[1] in (shape[0], shape[1]) and shape[-1] != e[2]:
            return shape
    return None


def _layer_attr(ctx: Context) -> str:
    """The user's name for the layer (``self.rnn`` in ``out, h = self.rnn(x, h0)``)."""
    if ctx.user_line:
        for name in re.findall(r"([A-Za-z_][\w.]{0,80})\s*\(", ctx.user_line[:400]):
            last = name.rsplit(".", 1)[-1].lower()
            if any(k in last for k in ("lstm", "gru", "rnn", "encoder", "decoder")):
                return name
    return "rnn"


def _says(ctx: Context, pattern: str) -> bool:
    return bool(ctx.ctor_text and re.search(pattern, ctx.ctor_text))


def _layers_causes(e0: int, g0: int, ctx: Context) -> list[str]:
    """1 vs 2 (or n vs 2n) in the first dimension: num_layers or bidirectional, by the evidence."""
    bidir = _says(ctx, r"bidirectional\s*=\s*True")
    layered = re.findall(r"num_layers\s*=\s*(\d+)", ctx.ctor_text or "")
    deeper = any(int(n) > 1 for n in layered)
    test = ("to tell them apart: print(rnn.num_layers, rnn.bidirectional) -- the first "
            "dimension is num_layers x (2 if bidirectional else 1)")
    causes: list[str] = []
    if g0 > 8 and g0 not in (2 * e0, e0 // 2 if e0 % 2 == 0 else -1):
        causes.append(f"not a state at all: {g0} is a sequence length, not num_layers x "
                      "num_directions -- an output sequence passed as h_0 (pass h_n instead)")
    if e0 == 2 * g0:
        layer_cause = (f"num_layers={e0} forgotten in the state (a {g0}-layer state for a model "
                       f"with num_layers={e0})" if g0 == 1 else
                       f"num_layers differs: the state holds {g0} layer state(s), the layer "
                       f"needs {e0}")
        bidir_cause = f"bidirectional=True forgotten in the state: {e0} = 2 directions x {g0} layer(s)"
        if bidir and not deeper:
            causes += [bidir_cause + " (the paste builds a bidirectional layer)"]
        elif deeper and not bidir:
            causes += [layer_cause + " (the paste builds num_layers=" + layered[0] + ")"]
        else:
            causes += [bidir_cause, layer_cause, test]
    elif g0 == 2 * e0:
        enc = (f"the state comes from a bidirectional layer ({g0} = 2 x {e0}): an encoder's h_n "
               "passed to a one-direction decoder; merge the directions (sum, or cat + Linear) "
               "first")
        deep = f"the state comes from a deeper layer ({g0} layers) than this one ({e0})"
        if deeper and not bidir:
            causes += [deep + " (the paste builds num_layers=" + layered[0] + ")", enc]
        elif bidir and not deeper:
            causes += [enc + " (the paste builds a bidirectional layer)"]
        else:
            causes += [enc, deep, test]
    elif not causes:
        causes.append(f"num_layers differs: the state holds {g0} layer state(s), the layer needs "
                      f"num_layers x num_directions = {e0}")
    return causes


def _state_causes(code: str, e: tuple[int, ...], g: tuple[int, ...],
                  ctx: Context = NO_CONTEXT) -> list[str]:
    causes: list[str] = []
    if code == "hidden-batch-first":
        causes.append(f"the state was built batch-first {dx.fmt_shape(g)}; states are always "
                      "(num_layers x num_directions, batch, size), even with batch_first=True")
    if g[0] == e[1] and g[1] != e[1] and g[0] != e[0] and g[1] > 1 and code != "hidden-batch-first":
        causes.append(f"not a state at all: {dx.fmt_shape(g)} reads as (batch {g[0]}, seq_len "
                      f"{g[1]}, features {g[2]}) -- an encoder's output sequence passed as h_0; "
                      "pass the encoder's h_n (the second thing it returns)")
    if e[0] != g[0]:
        causes += [c for c in _layers_causes(e[0], g[0], ctx) if c not in causes]
    if e[1] != g[1] and code != "hidden-batch-first":
        causes += _batch_causes(e[1], g[1], ctx)
    if e[2] != g[2]:
        if g[2] == 2 * e[2]:
            causes.append(f"the state's size {g[2]} = 2 x {e[2]}: both directions of a "
                          "bidirectional encoder concatenated into one state")
        causes.append(f"the state was built with another hidden_size ({g[2]}); use the "
                      f"layer's own ({e[2]}), or proj_size for an LSTM with projections")
    return causes


_LAYOUT = "the input is batch-first"


def _batch_causes(e1: int, g1: int, ctx: Context) -> list[str]:
    """State batch g1 vs torch's batch e1 (x.size(1), or x.size(0) with batch_first=True)."""
    layout = (f"{_LAYOUT} but the layer was built without batch_first=True: it then reads "
              f"dimension 1 as the batch (here {e1}, which would be the sequence length)")
    shape = _input_shape(ctx, (0, e1, 0), (0, g1, 0))
    looks_batch_first = shape is not None and shape[0] == g1 and shape[1] == e1
    last = (f"the last batch of the DataLoader is smaller ({e1}) than the batch size the state "
            f"was built for ({g1}): build the state from x's batch each call, or "
            "DataLoader(..., drop_last=True)")
    kept = ("a state kept from training (or built in __init__) reused with a different batch "
            "size in evaluation")
    small = (f"the state was built for batch {g1} (e.g. batch 1 at inference) but the input has "
             f"batch {e1}")
    if ctx.batch_first is True:
        return [last, kept] if g1 > e1 else [small]
    if looks_batch_first:
        return [layout + f" (x is {dx.fmt_shape(shape)})", last if g1 > e1 else small]
    return [last, kept, layout] if g1 > e1 else [layout, small]


def _cell_batch(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = _cell_state(int(m["idx"]), (int(m["input"]), None), (int(m["hidden"]), None), 0, msg)
    e, g = int(m["input"]), int(m["hidden"])
    if "hidden[" in m.group(0) and g > e:
        # torch 0.4-1.x named an LSTMCell's h as hidden[0]: given h alone, it took h[0] (a vector
        # of hidden_size) as the state, so the "batch" it reports is the hidden size.
        alone = (f"an LSTMCell given h alone instead of the tuple (h, c): torch read h[0], a vector "
                 f"of {g} = hidden_size, as the state -- pass cell(x, (h, c))")
        causes = list(d.evidence["causes"])
        causes.insert(0 if e == 1 else 1, alone)
        d = replace(d, evidence={**d.evidence, "causes": causes})
    return d


def _cell_hidden(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    return _cell_state(int(m["idx"]), (None, int(m["expected"])), (None, int(m["got"])), 1, msg)


def _cell_state(idx: int, expected: tuple, got: tuple, dim: int, msg: str) -> dx.Diagnosis:
    return dx.cell_state_mismatch(name="c_0" if idx == 1 else "h_0", dimension=dim, expected=expected,
                                  got=got, torch_message=msg)


def _empty(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    return _with_causes(dx.empty_sequence(torch_message=msg), [
        "a filter, a truncation or a sliding window produced 0 time steps",
        "seq_len and batch swapped: an empty batch read as an empty sequence"])


# --------------------------------------------------------------------------- dtypes, devices


_DTYPE_NAMES = {"Long": "int64", "Int": "int32", "Short": "int16", "Char": "int8",
                "Byte": "uint8", "Bool": "bool", "Float": "float32", "Double": "float64",
                "Half": "float16", "BFloat16": "bfloat16", "float": "float32",
                "double": "float64", "half": "float16", "long": "int64", "int": "int32"}


def _norm_dtype(name: str) -> str:
    name = name.replace("torch.", "").strip()
    return _DTYPE_NAMES.get(name, name)


def _is_int(dtype: str) -> bool:
    return dtype.startswith(("int", "uint", "bool"))


def _dtype_pair(got: str, expected: str, msg: str, what: str = "input") -> dx.Diagnosis:
    got, expected = _norm_dtype(got), _norm_dtype(expected)
    if _is_int(got):
        return _with_causes(dx.integer_input(dtype=got, torch_message=msg), [
            "token ids fed straight into the recurrent layer: put an nn.Embedding first",
            "numeric features loaded as integers (numpy int64): x.float()"])
    return _with_causes(dx.dtype_mismatch(what=what, got=got, expected=expected,
                                          torch_message=msg), [
        f"data loaded as {got} (numpy defaults to float64): torch.from_numpy(a).float()",
        f"a state (h_0, c_0) created with another dtype than the layer's {expected}",
        "the model was converted (.half(), .double()) but not its input"])


def _rnn_dtype(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    return _dtype_pair(m["got"], m["weight"], msg)


def _mat_dtype(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    if m["a"] is None:
        d = dx.dtype_mismatch_unnamed(what="a tensor", expected="the weights' dtype", torch_message=msg)
        return _with_causes(d, ["the input or state has another dtype than the layer's weights"])
    return _dtype_pair(m["a"], m["b"], msg)


def _scalar_type(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    # "expected scalar type Float but found Double": expected is the weights' dtype.
    return _dtype_pair(m["found"], m["expected"], msg)


def _mkldnn_dtype(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = dx.dtype_mismatch_unnamed(what="a state or the input", expected="the layer's dtype", onednn=True,
                                  torch_message=msg)
    return _with_causes(d, [
        "c_0 or h_0 has another dtype than the input and weights (e.g. float64 from numpy)",
        "the input is float64 or float16 while the weights are float32"])


def _not_tuple(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = dx.hidden_not_tuple(layer=ctx.layer or "LSTM", torch_message=msg)
    return _with_causes(d, [
        "h_0 passed alone: an LSTM needs (h_0, c_0)",
        "the hidden state kept from a GRU version of the model",
        "only h_n kept from the previous call: keep the whole (h_n, c_n)"])


_DEVICE_RE = lazy(r"\b(cuda:\d+|cuda|cpu|mps(?::\d+)?|meta|xpu:\d+|xpu|GPU|CPU)\b")


def _device(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    devices = list(dict.fromkeys(
        {"GPU": "cuda", "CPU": "cpu"}.get(d, d) for d in _DEVICE_RE.findall(msg)))
    if "MPS" in msg and "mps" not in devices:
        devices = ["mps", "cpu"]
    d = dx.device_mismatch(devices=devices, torch_message=msg)
    low = msg.lower()
    if "hidden tensor" in low:
        causes = ["h_0/c_0 created with torch.zeros(...) without device=x.device",
                  "a state stored on the module as a plain tensor (model.to() moves "
                  "parameters and buffers only)"]
    elif "parameter tensor" in low:
        causes = ["the model was not moved: model.to(device)",
                  "the input was not moved: x = x.to(device)"]
    elif "placeholder storage" in low:
        causes = ["a tensor (input, h_0 or c_0) created on the CPU while the model is on "
                  "mps: create it with device=x.device"]
    else:
        causes = ["the input or a state created on the CPU while the model is on the GPU",
                  "a layer created after model.to(device), or kept in a plain list instead "
                  "of nn.ModuleList, is still on the CPU"]
    return _with_causes(d, causes)


def _rnn_tensors_dtype(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    what = "h_0/c_0" if m["what"].lower() == "hidden" else "input"
    if what == "input":
        return _dtype_pair(m["got"], m["weight"], msg)
    d = dx.dtype_mismatch(what="the state (h_0, c_0)", got=_norm_dtype(m["weight"]),
                          expected=_norm_dtype(m["got"]), torch_message=msg)
    return _with_causes(d, ["h_0/c_0 created with another dtype than the input (numpy float64)",
                            "the model converted with .half()/.double() but not its state"])


def _fused_cell_dtype(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    dtype = _norm_dtype(m["dtype"])
    device = "cuda" if "cuda" in m.group(0) else "cpu"
    d = dx.dtype_unsupported(dtype=dtype, device=device, torch_message=msg)
    return _with_causes(d, [
        f"autocast or .to({dtype}) in a torch release whose fused {m['cell'].upper()} cell kernel "
        f"had no {dtype} version (added in later releases): upgrade torch, or run the recurrent "
        "layer in float32",
        "the recurrent layer run inside torch.autocast: wrap it in "
        "torch.autocast(device_type, enabled=False) and cast its input to float32"])


def _old_object_type(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    expected, found = m["expected"], m["found"]
    if (".cuda." in expected) != (".cuda." in found):
        devices = ["cuda", "cpu"] if ".cuda." in expected else ["cpu", "cuda"]
        return _with_causes(dx.device_mismatch(devices=devices, torch_message=msg), [
            "the input or a state (h_0, c_0) on the CPU while the model is on the GPU "
            "(torch 0.4-1.x wording)", "the model not moved: model.cuda()"])
    pick = re.compile(r"(\w+)Tensor$")
    e, f = pick.search(expected), pick.search(found)
    return _dtype_pair(f.group(1) if f else found, e.group(1) if e else expected, msg)


def _old_inconsistent(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    sizes = tuple(tuple(int(t) for t in re.findall(r"\d+", s))
                  for s in re.findall(r"\[([\d x]+)\]", m["detail"] or ""))
    return _with_causes(vx.legacy_inconsistent_size(sizes=sizes, torch_message=msg), [
        "h_0/c_0 built for another batch size than the input's (torch < 0.4 did not check)",
        "batch_first=True input with a state laid out (batch, layers, hidden)"])


def _state_dict_size(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    g = _Merged(m)
    param = g["param"]
    prefix = (m["prefix"] or m["prefix2"] or "").rstrip(".")
    ck = tuple(int(t) for t in re.findall(r"\d+", g["ckpt"]))
    md = tuple(int(t) for t in re.findall(r"\d+", g["model"]))
    owner = prefix.rsplit(".", 1)[-1].lower()
    layer = next((k for k in ("LSTM", "GRU", "RNN") if k.lower() in owner), None)
    d = vx.state_dict_size_mismatch(param=param, module=prefix, checkpoint=ck, model=md,
                                    layer=layer, torch_message=msg)
    return _with_causes(d, [
        "the model is built with other sizes (hidden_size, input_size) than the checkpoint "
        "was trained with: read them from the checkpoint's config",
        "a vocabulary or embedding size changed since training (weight_ih's columns)",
        "bidirectional or num_layers changed: the checkpoint holds other _reverse/_lN keys"])


# --------------------------------------------------------------------------- constructor


def _config(fix: str, causes: tuple[str, ...] = ()) -> Builder:
    def build(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
        first = msg.strip().splitlines()[0].rstrip(".")
        d = dx.invalid_config(message=first, fix=fix.format(**{k: v for k, v in
                                                                m.groupdict().items() if v}),
                              layer=_layer(ctx, "the recurrent layer"), torch_message=msg)
        return _with_causes(d, list(causes))
    return build


def _unexpected_kw(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    import difflib

    arg = m["arg"]
    close = difflib.get_close_matches(arg, dx.RECURRENT_ARGS, n=1)
    if arg == "nonlinearity":
        why = "only nn.RNN and nn.RNNCell take nonlinearity; LSTM and GRU have fixed gates"
    elif close:
        why = f"a misspelt argument: {close[0]}"
    else:
        why = "not an argument of recurrent layers"
    d = dx.unexpected_argument(arg=arg, close=close[0] if close else None,
                               layer=_layer(ctx, "the recurrent layer"), torch_message=msg)
    return _with_causes(d, [why])


# --------------------------------------------------------------------------- packing


def _simple(builder: Callable[..., dx.Diagnosis], causes: tuple[str, ...] = ()) -> Builder:
    def build(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
        return _with_causes(builder(torch_message=msg), list(causes))
    return build


def _lengths_batch(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    got, batch = int(m["got"]), int(m["batch"])
    return _with_causes(dx.packing_lengths_batch(got=got, batch=batch, torch_message=msg), [
        "batch_first does not match the layout of x (pack_padded_sequence then reads "
        "seq_len as the batch)",
        "lengths from another batch, or not filtered along with the samples"])


def _lengths_device(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    rank = int(m["rank"]) if m["rank"] else None
    d = dx.packing_lengths_device(rank=rank, device=m["device"], dtype=m["dtype"],
                                  torch_message=msg)
    return _with_causes(d, ["lengths moved to the GPU along with the batch "
                            "(batch.to(device) in the training loop)",
                            "lengths computed from a CUDA tensor (mask.sum(1))"])


def _total_length(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = dx.packing_total_length(total_length=int(m["total"]), longest=int(m["longest"]),
                                torch_message=msg)
    return _with_causes(d, ["total_length set to a fixed maximum smaller than the data",
                            "total_length taken from the wrong dimension of x"])


def _packed_attr(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    where = f".{m['attr']}" if m["attr"] else (f"{m['func']}()" if m["func"] else "")
    return _with_causes(dx.packed_as_tensor(where=where, torch_message=msg), [
        "the packed output of the recurrent layer used without pad_packed_sequence",
        "a PackedSequence passed to a layer that only takes tensors (Linear, a cell, "
        "Dropout)"])


def _batch_sizes(detail: str) -> Builder:
    def build(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
        return _with_causes(dx.packing_batch_sizes(detail=detail, torch_message=msg), [detail])
    return build


# --------------------------------------------------------------------------- downstream


def _tuple_attr(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    attr = m["attr"]
    failing = ctx.failing_line or ""
    user = ctx.user_line or ""
    if attr == "dim" and re.search(r"\bhx\b", failing):
        d = dx.gru_given_tuple(layer=ctx.layer or "GRU", torch_message=msg)
        return _with_causes(d, [f"(h, c) passed to {ctx.layer or 'a GRU'}: only an LSTM takes "
                                "a state tuple", "the whole (output, h_n) tuple passed back "
                                "as the state"])
    if attr == "dim" and ctx.layer in ("GRU", "RNN") and not re.search(r"\binput\b", failing) \
            and re.search(r"\(\s*[^,()]+,\s*[^)]", user):
        d = dx.gru_given_tuple(layer=ctx.layer, torch_message=msg)
        return _with_causes(d, ["a (h, c) tuple passed as the state",
                                "the previous layer's output tuple passed as the input"])
    if attr in ("detach", "detach_", "to", "cuda", "cpu", "zero_", "data") and not \
            re.search(r"\b(out|output)s?\b", user):
        return _with_causes(dx.state_tuple_method(attr=attr, torch_message=msg), [
            "repackaging/detaching an LSTM's state written for a GRU (one tensor)",
             "the whole (output, state) tuple kept instead of the state"])
    layer = _layer(ctx, "the recurrent layer") if ctx.layer not in ("Linear",) else \
        "the recurrent layer"
    d = dx.output_tuple(layer=layer, where=f".{attr}" if attr != "dim" else "as an input",
                        torch_message=msg)
    if attr == "dim" and not ctx.frames_text:
        return _with_causes(d, [
            "the (output, state) tuple of the previous recurrent layer passed on as the input",
            "an LSTM-style (h, c) tuple passed as the state of a GRU or RNN, which takes one "
            "tensor (paste the traceback to tell these apart)"])
    return _with_causes(d, [
        "the (output, state) tuple of the previous recurrent layer passed on whole, e.g. "
        "inside nn.Sequential",
        "x = self.lstm(x) instead of x, _ = self.lstm(x)"])


def _tuple_arg(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    where = f"{m['func']}()" if m["func"] else "torch.cat/stack"
    d = dx.output_tuple(layer="the recurrent layer", where=where, torch_message=msg)
    return _with_causes(d, [
        "x = self.lstm(x) instead of x, _ = self.lstm(x), then x fed to the next layer",
        "nn.Sequential containing a recurrent layer: it passes the whole tuple on"])


def _unpack(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    too_many = m["kind"].lower().startswith("too")
    exp = int(m["expected"])
    got = int(m["got"]) if m["got"] else None
    packed = too_many and exp == 2 and bool(re.search(r"batch_sizes|pack", ctx.user_line or ""))
    d = dx.unpack_outputs(expected=exp, got=got, too_many=too_many, packed=packed,
                          layer=_layer(ctx, "the recurrent layer"), torch_message=msg)
    causes = []
    if packed:
        causes.append("a PackedSequence has had 4 fields since torch 1.1 (data, batch_sizes, "
                      "sorted_indices, unsorted_indices): code written for 0.4 that unpacks two fails")
    if not too_many and exp == 3 and got == 2:
        causes.append("out, h, c = lstm(x): write out, (h, c) = lstm(x)")
    if not too_many and exp == 2 and got == 1:
        causes.append("out, (h, c) = gru(x): a GRU/RNN has no cell state; write out, h = gru(x)")
    if too_many and exp == 2:
        causes.append("h, c = h_n: unpacking a state tensor iterates over "
                      "num_layers x num_directions")
        causes.append("a model's forward returns more values than the caller unpacks")
    causes.append("the number of names on the left does not match what the call returns")
    return _with_causes(d, causes)


_RECURRENT_CALL = lazy(r"_VF\.(?:lstm|gru|rnn_tanh|rnn_relu)|_cudnn_rnn|\brnn\.py\b")


def _matmul(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    a, b, c, d_ = (int(m[k]) for k in ("a", "b", "c", "d"))
    meta = "reduction dim" in m.group(0)
    in_rnn = bool(ctx.failing_line and _RECURRENT_CALL.search(ctx.failing_line)) or (
        ctx.layer is not None and ctx.layer != "Linear" and "linear.py" not in ctx.frames_text
        and bool(_RECURRENT_CALL.search(ctx.frames_text)))
    if in_rnn:
        # Inside the recurrent kernel (a packed input skips the input_size check):
        # mat2 is weight_ih transposed, (input_size x gates * hidden_size).
        d = dx.input_size_mismatch(expected=c, got=b, layer=_layer(ctx), torch_message=msg)
        return _with_causes(d, [f"the packed input has {b} features, the layer was built for "
                                f"input_size={c}"])
    d = dx.linear_mismatch(rows=a, got=b, expected=c, out_features=d_, meta=meta,
                           torch_message=msg)
    return d


def _backend(backend: str, detail: str) -> Builder:
    def build(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
        return dx.backend_error(backend=backend, detail=detail, torch_message=msg)
    return build


def _cudnn_status(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    status = m["status"].upper()
    if status == "CUDNN_STATUS_EXECUTION_FAILED":
        return _with_causes(dx.cudnn_error(status=status, torch_message=msg), [
            "an input or state (h_0, c_0) left on the CPU: torch 0.3-0.4 reported it as a cuDNN "
            "failure; x = x.cuda() (and the state)",
            "a torch build older than the GPU (e.g. a CUDA 9 build on an RTX 20xx/30xx): install "
            "a build for your GPU",
            "out of GPU memory inside cuDNN (very long sequences or huge batches)"])
    return _with_causes(dx.cudnn_error(status=status, torch_message=msg), [
        "a non-contiguous input or state (made by transpose or permute)",
        "states of another dtype or device than the input",
        "an input too large for one cuDNN call (very long sequences or huge batches)",
        "a real shape error hidden by cuDNN: run once with cuDNN disabled"])


def _not_contiguous_state(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    return _with_causes(dx.state_not_contiguous(which=m["which"], torch_message=msg), [
        "a state transposed from batch-first layout without .contiguous()",
         "a state sliced from a bigger tensor (e.g. every other layer)"])


# --------------------------------------------------------------------------- assembly


def _with_causes(d: dx.Diagnosis, causes: list[str]) -> dx.Diagnosis:
    if not causes:
        return d
    return replace(d, evidence={**d.evidence, "causes": list(causes)})


def _e(name: str, code: str, pattern: str, build: Builder, causes: tuple[str, ...] = (),
       needs: str | None = None, also: tuple[str, ...] = ()) -> Entry:
    return Entry(name, code, lazy(pattern, re.IGNORECASE), build, causes,
                 lazy(needs, re.IGNORECASE) if needs else None, also)


#: Frames that show the error came from building or running a recurrent layer.
_RNN_CONTEXT = (r"torch[/\\]nn[/\\]modules[/\\]rnn\.py|\bnn\.(?:RNN|LSTM|GRU)(?:Cell)?\s*\("
                r"|\b(?:RNN|LSTM|GRU)(?:Cell)?\s*\(|RNNBase")

#: What ties a generic Python or ATen message (an unpacking error, an index out of range, a
#: matmul, a device or dtype clash) to a recurrent layer: torch's rnn modules or kernels in
#: the frames, packing, a layer's or a state's name in the user's code.
_RNN_EVIDENCE = (r"lstm|gru|rnn|_VF\.|PackedSequence|pack_padded|pad_packed|pack_sequence|packed"
                 r"|\bh_?[0n]\b|\bc_?[0n]\b|\bhx\b|\bcx\b|\bhidden\b|\bhiddens\b|\bcell_state\b")

#: Sizes as torch printed them: (2, 3, 16), [2, 3, 16], torch.Size([2, 3, 16]), and Python 2's
#: long integers of torch 0.x, (2L, 32L, 256L).
_STATE_SIZE = (r"(?P<expected>\([\dL, ]*\)), got (?P<got>\[[\dL, ]*\]|\([\dL, ]*\)"
               r"|torch\.Size\(\[[\dL, ]*\]\))")

#: Ordered: where two entries match the same text, the earlier one wins.
ENTRIES: tuple[Entry, ...] = (
    # ---- input
    _e("input-size", "input-size-mismatch",
       r"input\.size\(-1\) must be equal to input_size\.?\s*Expected (?P<expected>\d+), got (?P<got>\d+)",
       _input_size),
    _e("cell-input-size", "input-size-mismatch",
       r"input has inconsistent input_size: got (?P<got>\d+),? expected (?P<expected>\d+)",
       _input_size),
    _e("input-rank", "input-rank",
       r"(?:\b(?P<layer>\w{1,40}): )?Expected input to be 2-?D or 3-?D(?:, got| but received) (?P<rank>\d+)-?D",
       _seq_input_rank),
    _e("input-rank-old", "input-rank",
       r"input must have (?P<want>\d) dimensions, got (?P<rank>\d+)", _old_input_rank),
    _e("cell-input-rank", "input-rank",
       r"\b(?P<layer>\w{1,40}): Expected input to be 1-?D or 2-?D(?:, got| but received) (?P<rank>\d+)-?D",
       _cell_input_rank),
    _e("cell-hidden-rank", "hidden-rank",
       r"\b(?P<layer>\w{1,40}): Expected (?P<which>hidden|hx\[\d\]) to be 1-?D or 2-?D(?:, got| but received) "
       r"(?P<rank>\d+)-?D",
       _cell_hidden_rank),
    _e("hx-rank", "hidden-rank",
       r"input, hx(?: and cx)? should also be (?P<want>\d)-D but got (?P<got>\(?[\d\-D, ]+\)?)",
       _hx_rank),
    # ---- state
    _e("hidden-size", "hidden-size-mismatch",
       r"Expected hidden(?:\[(?P<idx>\d)\])? size " + _STATE_SIZE, _hidden_size,
       also=("hidden-layers-mismatch", "hidden-batch-mismatch", "hidden-batch-first",
             "cell-shape-mismatch", "hidden-rank")),
    _e("cell-batch", "hidden-batch-mismatch",
       r"Input batch size (?P<input>\d+) doesn't match hidden\[?(?P<idx>\d)\]? batch size (?P<hidden>\d+)",
       _cell_batch, also=("cell-shape-mismatch",)),
    _e("cell-hidden-size", "hidden-size-mismatch",
       r"hidden\[?(?P<idx>\d)\]? has inconsistent hidden_size: got (?P<got>\d+), expected (?P<expected>\d+)",
       _cell_hidden, also=("cell-shape-mismatch",)),
    _e("empty-sequence", "empty-sequence", r"Expected sequence length to be larger than 0", _empty),
    # ---- dtypes
    _e("rnn-dtype", "dtype-mismatch",
       r"input dtype \((?P<got>[\w.]+)\) does not match weight dtype \((?P<weight>[\w.]+)\)",
       _rnn_dtype, also=("integer-input",)),
    _e("rnn-dtype-old", "dtype-mismatch",
       r"input must have the type (?P<weight>torch\.\w+), got type (?P<got>torch\.\w+)",
       _rnn_dtype, also=("integer-input",)),
    _e("rnn-tensors-dtype", "dtype-mismatch",
       r"Input and (?P<what>parameter|hidden) tensors are not the same dtype, found input tensor with "
       r"(?P<got>\w+) and (?:parameter|hidden) tensor with (?P<weight>\w+)", _rnn_tensors_dtype,
       also=("integer-input",)),
    _e("fused-cell-dtype", "dtype-unsupported",
       r"\"?_thnn_fused_(?P<cell>lstm|gru)_cell(?:_cuda)?\"? not implemented for '(?P<dtype>\w+)'",
       _fused_cell_dtype),
    _e("old-object-type", "dtype-mismatch",
       r"Expected object of type (?P<expected>torch\.[\w.]+) but found type (?P<found>torch\.[\w.]+)",
       _old_object_type, also=("device-mismatch", "integer-input"), needs=_RNN_EVIDENCE),
    _e("old-inconsistent-size", "hidden-size-mismatch",
       r"inconsistent tensor size(?:, expected (?P<detail>[\s\S]{0,300}?elements respectively))?",
       _old_inconsistent, needs=_RNN_EVIDENCE),
    _e("state-dict-size", "hidden-size-mismatch",
       r"size mismatch for (?P<prefix>[\w.]*\.)?(?P<param>(?:weight|bias)_(?:ih|hh|hr)_l\d+(?:_reverse)?): "
       r"copying a param with shape torch\.Size\(\[(?P<ckpt>[\d, ]*)\]\) from checkpoint, "
       r"the shape in current model is torch\.Size\(\[(?P<model>[\d, ]*)\]\)"
       r"|While copying the parameter named \"?(?P<prefix2>[\w.]*\.)?(?P<param2>(?:weight|bias)_(?:ih|hh|hr)"
       r"_l\d+(?:_reverse)?)\"?, whose dimensions in the model are torch\.Size\(\[(?P<model2>[\d, ]*)\]\) "
       r"and whose dimensions in the checkpoint are torch\.Size\(\[(?P<ckpt2>[\d, ]*)\]\)",
       _state_dict_size, also=("input-size-mismatch", "invalid-config")),
    _e("mat-dtype", "dtype-mismatch",
       r"(?:mat1|self) and mat2 must have the same dtype(?:, but got (?P<a>\w+) and (?P<b>\w+))?",
       _mat_dtype, also=("integer-input",), needs=_RNN_EVIDENCE),
    _e("scalar-type", "dtype-mismatch",
       r"expected scalar type (?P<expected>\w+) but found (?P<found>\w+)", _scalar_type,
       also=("integer-input",), needs=_RNN_EVIDENCE),
    _e("old-scalar-type", "dtype-mismatch",
       r"Expected object of scalar type (?P<expected>\w+) but got scalar type (?P<found>\w+)",
       _scalar_type, also=("integer-input",), needs=_RNN_EVIDENCE),
    _e("embedding-indices", "dtype-mismatch",
       r"Expected tensor for argument #1 'indices' to have (?:one of the following )?scalar "
       r"types?:? [\w, ]+; but got (?:torch\.(?:cuda\.)?)?(?P<got>\w+?)(?:Tensor)? instead",
       lambda m, msg, ctx: _with_causes(
           dx.dtype_mismatch(what="the nn.Embedding's input", got=_norm_dtype(m["got"]),
                             expected="int64", torch_message=msg),
           ["token ids stored as floats (from numpy or a float collate): x.long()",
            "features that are already vectors fed to nn.Embedding: skip the Embedding"]),
       needs=_RNN_EVIDENCE),
    _e("onednn-dtype", "dtype-mismatch", r"get_mkldnn_dtype: unsupported data type", _mkldnn_dtype,
       needs=_RNN_EVIDENCE),
    # ---- the LSTM state given as one tensor
    _e("lstm-hx-tensor", "hidden-not-tuple",
       r"index 1 is out of bounds for dimension 0 with size 1|must be tuple of Tensors, not Tensor"
       r"|invalid index of a 0-dim tensor", _not_tuple, needs=_RNN_EVIDENCE),
    # ---- devices
    _e("device", "device-mismatch",
       r"Expected all tensors to be on the same device|not at the same device"
       r"|Expected object of device type \w+ but got device type \w+"
       r"|Placeholder storage has not been allocated on MPS device"
       r"|is on (?:CPU|GPU), but expected (?:it|them) to be on (?:CPU|GPU)", _device, needs=_RNN_EVIDENCE),
    # ---- warnings
    _e("dropout-warning", "dropout-single-layer",
       r"non-zero dropout expects num_layers greater than 1, but got dropout=(?P<dropout>[\d.]+)",
       lambda m, msg, ctx: _with_causes(
           dx.dropout_single_layer(dropout=float(m["dropout"]), torch_message=msg),
           ["dropout passed to a one-layer recurrent layer: it only acts between layers",
            "num_layers meant to be more than 1 but left at its default"])),
    _e("non-contiguous-weights", "non-contiguous-weights",
       r"RNN module weights are not part of single contiguous chunk of memory",
       _simple(dx.non_contiguous_weights, (
           "weight dropout (WeightDrop, AWD-LSTM) replaces the weights on every forward",
           "nn.DataParallel replicas: call flatten_parameters() at the top of forward",
           "parameters modified or reloaded after the model was moved to the GPU"))),
    # ---- constructor errors (ValueError, TypeError)
    _e("ctor-dropout", "invalid-config", r"dropout should be a number in range \[0, 1\]",
       _config("nn.LSTM(..., num_layers=2, dropout=0.2)   # a probability in [0, 1]",
               ("dropout given as a percentage (20 instead of 0.2)",
                "dropout and another positional argument swapped"))),
    _e("ctor-type", "invalid-config",
       r"(?P<arg>bias|batch_first|input_size|hidden_size) should be of type (?P<type>bool|int), got: (?P<got>\w+)",
       _config("{arg}=...   # must be {type}; e.g. int(hidden_size) or hidden_size // 2",
               ("a size computed with / (true division gives a float): use //",
                "a size read from a config file or argparse as a string or float",
                "positional arguments in the wrong order"))),
    _e("ctor-positive", "invalid-config",
       r"(?P<arg>input_size|hidden_size|num_layers) must be greater than zero",
       _config("{arg}=1   # must be at least 1",
               ("a size computed from data that came out 0 (an empty vocabulary or feature list)",
                "num_layers=0 meant as 'no extra layers': the minimum is 1"))),
    _e("ctor-proj-negative", "invalid-config",
       r"proj_size should be a positive integer or zero", _config(
           "nn.LSTM(input_size, hidden_size, proj_size=0)   # 0 disables projections",
           ("a negative proj_size, e.g. computed as a difference of sizes",))),
    _e("ctor-proj-size", "invalid-config", r"proj_size has to be smaller than hidden_size",
       _config("nn.LSTM(input_size, hidden_size=64, proj_size=32)   # proj_size < hidden_size",
               ("proj_size and hidden_size swapped",
                "proj_size meant as the output size: it must shrink h, never grow it"))),
    _e("ctor-proj-gru", "invalid-config",
       r"proj_size argument is only supported for LSTM", _config(
           "nn.GRU(input_size, hidden_size)\nproj = nn.Linear(hidden_size, proj_size)  "
           "# project the output yourself", ("proj_size exists for nn.LSTM only",))),
    _e("ctor-nonlinearity", "invalid-config",
       r"Unknown nonlinearity[: ]+'?(?P<got>[^'.\s]+)'?", _config(
           "nn.RNN(input_size, hidden_size, nonlinearity='tanh')   # or 'relu'",
           ("nn.RNN supports only 'tanh' and 'relu'; for gated units use nn.GRU or nn.LSTM",))),
    _e("ctor-mode", "invalid-config", r"Unrecognized RNN mode: (?P<mode>\w+)", _config(
        "nn.LSTM(...) / nn.GRU(...) / nn.RNN(...)   # not nn.RNNBase",
        ("nn.RNNBase used directly with a mode other than LSTM, GRU, RNN_TANH, RNN_RELU",))),
    _e("ctor-unexpected-kw", "invalid-config",
       r"__init__\(\) got an unexpected keyword argument '(?P<arg>\w+)'", _unexpected_kw, needs=_RNN_EVIDENCE),
    _e("ctor-too-many-args", "invalid-config",
       r"__init__\(\) takes from \d+ to \d+ positional arguments but \d+ were given",
       _config("nn.LSTM(input_size, hidden_size, num_layers=2, batch_first=True)   "
               "# keywords", ("too many positional arguments: pass options by keyword",)),
       needs=_RNN_CONTEXT),
    _e("ctor-positional-nonlinearity", "invalid-config",
       r"'<=' not supported between instances of '(?P<t>str|NoneType|tuple)' and 'int'",
       _config("nn.RNN(input_size, hidden_size, nonlinearity='relu')   # by keyword",
               ("nonlinearity passed as the third positional argument, which is num_layers",)),
       needs=_RNN_CONTEXT),
    _e("ctor-float-layers", "invalid-config",
       r"'float' object cannot be interpreted as an integer",
       _config("num_layers=int(num_layers)",
               ("num_layers (or a size) is a float, e.g. from a config file or a division",)),
       needs=_RNN_CONTEXT),
    _e("ctor-float-dropout", "invalid-config",
       r"could not convert string to float: '(?P<got>[^']*)'",
       _config("dropout=0.2   # a number, not a string",
               ("dropout read from a config file or argparse as a string",)),
       needs=_RNN_CONTEXT),
    _e("ctor-cell-size", "invalid-config",
       r"Trying to create tensor with negative dimension (?P<dim>-\d+)"
       r"|empty\(\): argument 'size' \(position 1\) must be tuple of ints, but found element of "
       r"type float", _config(
           "nn.LSTMCell(input_size, hidden_size)   # positive ints",
           ("a negative or float size given to a cell (cells check sizes only when they "
            "allocate their weights)", "a size computed with / instead of //")), needs=_RNN_EVIDENCE),
    # ---- packing
    _e("packing-unsorted", "packing-unsorted",
       r"[`']?lengths[`']? array (?:must be|has to be) sorted in decreasing order"
       r"|sequences must be sorted in the order of decreasing length",
       _simple(dx.packing_unsorted, ("the batch is not sorted by length (shuffled DataLoader)",
                                     "lengths sorted ascending instead of descending"))),
    _e("packing-bad-length", "packing-bad-length",
       r"Length of all samples has to be greater than 0|found an element in 'lengths' that is <= 0",
       _simple(dx.packing_bad_length, ("an empty sample in the dataset (empty text or "
                                       "audio after filtering)",
                                       "lengths computed from a padding mask that is all padding"))),
    _e("packing-lengths-batch", "packing-lengths-batch",
       r"Expected `?len\(lengths\)`? to be equal to batch_size, but got (?P<got>\d+) \(batch_size=(?P<batch>\d+)\)",
       _lengths_batch),
    _e("packing-lengths-device", "packing-lengths-device",
       r"'lengths' argument should be a 1D CPU int64 tensor"
       r"(?:, but got (?P<rank>\d+)D (?P<device>[\w:]+) (?P<dtype>\w+) tensor)?",
       _lengths_device),
    _e("packing-total-length", "packing-total-length",
       r"Expected total_length to be at least the length of the longest sequence in input, but got "
       r"total_length=(?P<total>\d+) and max sequence length being (?P<longest>\d+)", _total_length),
    _e("packing-empty", "packing-empty", r"received an empty list of sequences",
       _simple(dx.packing_empty, ("an empty batch after filtering",))),
    _e("packed-as-tensor", "packed-as-tensor",
       r"'PackedSequence' object has no attribute '(?P<attr>\w+)'"
       r"|\b(?P<func>\w{1,60})\(\): argument '\w+' \(position \d+\) must be Tensor, not PackedSequence"
       r"|'PackedSequence' object is not subscriptable", _packed_attr),
    _e("packing-batch-sizes-cuda", "packing-batch-sizes", r"batch_sizes should always be on CPU",
       _batch_sizes("batch_sizes is on the GPU: the PackedSequence was built by hand or its "
                    "batch_sizes moved with .to(device)")),
    _e("pad-packed-tensor", "packing-batch-sizes",
       r"'Tensor' object has no attribute 'batch_sizes'",
       _batch_sizes("pad_packed_sequence was given a plain tensor: the recurrent layer only "
                    "returns a PackedSequence when its input was packed"), needs=_RNN_CONTEXT
       + r"|pad_packed_sequence"),
    # ---- downstream mistakes
    _e("tuple-attribute", "output-tuple",
       r"'tuple' object has no attribute '(?P<attr>\w+)'", _tuple_attr, also=("gru-given-tuple",), needs=_RNN_EVIDENCE),
    _e("tuple-argument", "output-tuple",
       r"\b(?P<func>\w{1,60})\(\): argument '\w+' \(position \d+\) must be Tensor, not tuple"
       r"|expected Tensor as element \d+ in argument \d+, but got tuple", _tuple_arg, needs=_RNN_EVIDENCE),
    _e("unpack", "unpack-outputs",
       r"(?P<kind>not enough|too many) values to unpack \(expected (?P<expected>\d+)(?:, got (?P<got>\d+))?\)",
       _unpack, needs=_RNN_EVIDENCE),
    _e("matmul-shapes", "linear-mismatch",
       r"mat1 and mat2 shapes cannot be multiplied \((?P<a>\d+)x(?P<b>\d+) and (?P<c>\d+)x(?P<d>\d+)\)"
       r"|a and b must have same reduction dim, but got \[(?P<a2>\d+), (?P<b2>\d+)\] X \[(?P<c2>\d+), (?P<d2>\d+)\]"
       r"|size mismatch, m1: \[(?P<a3>\d+) x (?P<b3>\d+)\], m2: \[(?P<c3>\d+) x (?P<d3>\d+)\]",
       lambda m, msg, ctx: _matmul(_Merged(m), msg, ctx), also=("input-size-mismatch",), needs=_RNN_EVIDENCE),
    # ---- autograd and backends
    _e("backward-twice", "backward-twice",
       r"Trying to backward through the graph a second time",
       _simple(dx.backward_twice, (
           "the hidden state carried from the previous batch without .detach()",
           "a state stored on the model (self.hidden) reused across batches",
           "backward called twice on the same loss")), needs=_RNN_EVIDENCE),
    _e("cudnn-eval-backward", "cudnn-eval-backward",
       r"cudnn RNN backward can only be called in training mode"
       r"|backward_input can only be called in training mode",
       _simple(dx.cudnn_eval_backward, (
           "model.eval() before a forward whose gradient you need",
           "a helper (sampling, validation) switched the model to eval and never back"))),
    _e("cudnn-double-backward", "cudnn-double-backward",
       r"Double backwards is not supported for CuDNN RNNs"
       r"|derivative for '?_cudnn_rnn_backward'? is not implemented",
       _simple(dx.cudnn_double_backward, (
           "a second-order method (create_graph=True) through a recurrent layer on CUDA",))),
    _e("cudnn-state-contiguous", "cudnn-error",
       r"rnn: (?P<which>hx|cx) is not contiguous", _not_contiguous_state),
    _e("cudnn-status", "cudnn-error",
       r"(?:cuDNN error: )?(?P<status>CUDNN_STATUS_[A-Z_]+)", _cudnn_status, needs=_RNN_EVIDENCE),
    _e("mps-lstm", "backend-error",
       r"total derivative last state.{0,400}?not broadcast compatible",
       _backend("MPS", "The MPS LSTM backward failed to broadcast its states (a known bug of "
                       "torch 1.12-1.13 with batch_first=True or a smaller last batch).")),
)



#: Cheap pre-filter for :func:`scan`: an entry's pattern only runs on text holding one of its
#: words (lower case). Keeps a multi-megabyte log at tens of milliseconds.
_HINTS: dict[str, tuple[str, ...]] = {
    "input-size": ("input_size",), "cell-input-size": ("input_size",),
    "input-rank": ("2d or 3d", "2-d or 3-d"), "input-rank-old": ("dimensions, got",),
    "cell-input-rank": ("1d or 2d", "1-d or 2-d"), "cell-hidden-rank": ("1d or 2d", "1-d or 2-d"),
    "hx-rank": ("should also be",), "hidden-size": ("expected hidden",),
    "cell-batch": ("batch size",), "cell-hidden-size": ("inconsistent hidden_size",),
    "empty-sequence": ("sequence length",), "rnn-dtype": ("weight dtype",),
    "mat-dtype": ("same dtype",), "scalar-type": ("scalar type",),
    "old-scalar-type": ("scalar type",), "embedding-indices": ("'indices'",),
    "onednn-dtype": ("mkldnn",),
    "lstm-hx-tensor": ("out of bounds", "tuple of tensors", "0-dim tensor"),
    "device": ("device", "expected it to be on", "expected them to be on"), "dropout-warning": ("dropout",),
    "non-contiguous-weights": ("contiguous chunk",), "ctor-dropout": ("dropout should",),
    "ctor-type": ("should be of type",), "ctor-positive": ("greater than zero",),
    "ctor-proj-negative": ("proj_size",), "ctor-proj-size": ("proj_size",),
    "ctor-proj-gru": ("proj_size",), "ctor-nonlinearity": ("nonlinearity",),
    "ctor-mode": ("rnn mode",), "ctor-unexpected-kw": ("unexpected keyword",),
    "ctor-too-many-args": ("positional arguments",), "ctor-positional-nonlinearity": ("'<='",),
    "ctor-float-layers": ("interpreted as an integer",),
    "ctor-float-dropout": ("convert string to float",),
    "ctor-cell-size": ("negative dimension", "tuple of ints"),
    "packing-bad-length": ("length",),
    "packing-lengths-batch": ("len(lengths)",), "packing-lengths-device": ("'lengths'",),
    "packing-total-length": ("total_length",), "packing-empty": ("empty list of sequences",),
    "packed-as-tensor": ("packedsequence",), "packing-batch-sizes-cuda": ("batch_sizes",),
    "pad-packed-tensor": ("batch_sizes",), "tuple-attribute": ("'tuple' object",),
    "tuple-argument": ("got tuple", "not tuple"), "unpack": ("values to unpack",),
    "matmul-shapes": ("mat1 and mat2", "reduction dim", "size mismatch"),
    "backward-twice": ("second time",), "cudnn-eval-backward": ("training mode",),
    "cudnn-double-backward": ("double backward", "_cudnn_rnn_backward"),
    "cudnn-state-contiguous": ("not contiguous",), "cudnn-status": ("cudnn_status",),
    "mps-lstm": ("broadcast compatible",),
    "rnn-dtype-old": ("must have the type",), "rnn-tensors-dtype": ("not the same dtype",),
    "fused-cell-dtype": ("_thnn_fused_",), "old-object-type": ("expected object of type",),
    "old-inconsistent-size": ("inconsistent tensor size",),
    "state-dict-size": ("size mismatch for", "while copying the parameter"),
    "packing-unsorted": ("decreasing order", "decreasing length"),
}


class _Merged:
    """One view over the alternative groups of ``matmul-shapes`` (a/a2/a3, ...)."""

    def __init__(self, m: re.Match[str]) -> None:
        self._m = m

    def __getitem__(self, key: str) -> str:
        for k in (key, key + "2", key + "3"):
            v = self._m.group(k)
            if v is not None:
                return v
        raise KeyError(key)

    def group(self, i: int = 0) -> str:
        return self._m.group(i)


def _numbers(m: re.Match[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in m.groupdict().items():
        if v is None:
            continue
        k = k.rstrip("23") if k[-1:] in "23" and len(k) == 2 else k
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def build(entry: Entry, m: re.Match[str], message: str,
          context: Context = NO_CONTEXT) -> dx.Diagnosis:
    """The entry's diagnosis for this match, with its numbers, causes and context."""
    d = entry.build(m, message, context)
    causes = list(d.evidence.get("causes") or entry.causes)
    evidence = {**d.evidence, "catalog_entry": entry.name, "numbers": _numbers(m),
                "causes": causes}
    if context.layer:
        evidence["layer"] = context.layer
    if context.user_line:
        evidence["user_line"] = context.user_line
        evidence["where"] = context.where
    return dx.with_traceback_context(d, evidence=evidence, causes=causes, layer=context.layer,
                                     user_line=context.user_line, where=context.where)


def applies(entry: Entry, context: Context, message: str = "", *, trusted: bool = False) -> bool:
    """Generic entries only fire when the message or the traceback ties them to a recurrent layer.

    ``trusted`` is for the runner, which raised the error from a recurrent layer itself.
    """
    if entry.needs is None or trusted or context.built:
        return True
    text = "\n".join(t for t in (message, context.frames_text, context.user_line or "",
                                 context.failing_line or "") if t)
    return bool(entry.needs.search(text))


def match(message: str, context: Context | None = None) -> tuple[Entry, dx.Diagnosis] | None:
    """The first entry matching ``message``, and its diagnosis; ``None`` if none does.

    Without a context the caller is the runner, which saw the error come out of a recurrent
    layer: generic entries then need no further tie.
    """
    ctx = context or NO_CONTEXT
    for entry in ENTRIES:
        m = entry.pattern.search(message)
        if m and applies(entry, ctx, message, trusted=context is None):
            return entry, build(entry, m, message, ctx)
    return None


def code_for(message: str) -> str | None:
    found = match(message)
    return found[1].code if found else None


def scan(text: str) -> list[tuple[int, int, Entry, re.Match[str]]]:
    """Every non-overlapping entry match in ``text``, in order; earlier entries win overlaps."""
    found: list[tuple[int, int, int, Entry, re.Match[str]]] = []
    low = text.lower()
    present: dict[str, bool] = {}   # several entries share a hint: search the text once per hint

    def has(hint: str) -> bool:
        if hint not in present:
            present[hint] = hint in low
        return present[hint]

    for rank, entry in enumerate(ENTRIES):
        hints = _HINTS.get(entry.name)
        if hints and not any(has(h) for h in hints):
            continue
        for m in entry.pattern.finditer(text):
            found.append((m.start(), m.end(), rank, entry, m))
    found.sort(key=lambda f: (f[2], f[0]))
    # The kept spans never overlap, so sorted by start each new span need only be checked
    # against its two neighbours: O(log n) per match instead of a scan of all kept spans.
    starts: list[int] = []
    ends: list[int] = []
    kept = []
    for start, end, _rank, entry, m in found:
        i = bisect.bisect_right(starts, start)
        if (i > 0 and ends[i - 1] > start) or (i < len(starts) and starts[i] < end):
            continue
        starts.insert(i, start)
        ends.insert(i, end)
        kept.append((start, end, entry, m))
    kept.sort(key=lambda f: f[0])
    return kept
