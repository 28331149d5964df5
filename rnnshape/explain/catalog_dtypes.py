"""Catalog entries for dtypes and devices, old torch wordings (0.4-1.x), checkpoint sizes, and
an LSTM's state given as one tensor.
"""

from __future__ import annotations

import ast
import re

from rnnshape import diagnoses as dx
from rnnshape.diagnoses import versions as vx
from rnnshape.diagnoses.dtypes import INPUT_OR_STATE
from rnnshape.explain.catalog_core import _RNN_EVIDENCE, Context, Entry, _e, _Merged, _with_causes
from rnnshape.lazyre import lazy

_DTYPE_NAMES = {"Long": "int64", "Int": "int32", "Short": "int16", "Char": "int8",
                "Byte": "uint8", "Bool": "bool", "Float": "float32", "Double": "float64",
                "Half": "float16", "BFloat16": "bfloat16", "float": "float32",
                "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                "ComplexFloat": "complex64", "ComplexDouble": "complex128", "ComplexHalf": "complex32"}


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


#: A whole layer's kernel on a padded batch, ``_VF.lstm(input, hx, ...)``: its first product is input x weights,
#: written in the input's dtype, so "expected scalar type A but found B" there means input A, weights B
#: (pytorch#68377, #99998, #71614: a Long or complex input reported as "expected Long/ComplexFloat").
_WHOLE_LAYER_KERNEL = lazy(r"_VF\.(?:lstm|gru|rnn_tanh|rnn_relu)\(\s*input\s*,\s*hx\b")
#: The old wording names the argument whose dtype was found ("... for argument #2 'mat1'").
_FOUND_ARGUMENT = lazy(r"for argument #\d+ '(?P<arg>\w+)'")
_INPUT_ARGUMENTS = frozenset({"mat1", "input", "batch1"})
_WEIGHT_ARGUMENTS = frozenset({"mat2", "weight", "batch2"})


def _scalar_type(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    """Which of torch's two dtypes is the input's depends on the kernel: read it from what is sure."""
    expected, found = _norm_dtype(m["expected"]), _norm_dtype(m["found"])
    if _is_int(expected) != _is_int(found):  # weights are never integers: the integer tensor is the input
        return _dtype_pair(*((expected, found) if _is_int(expected) else (found, expected)), msg)
    argument = _FOUND_ARGUMENT.search(msg)
    if argument and argument["arg"] in _INPUT_ARGUMENTS:  # the input, or a state in the state's own product
        return _dtype_pair(found, expected, msg, what=INPUT_OR_STATE)
    if argument and argument["arg"] in _WEIGHT_ARGUMENTS:
        return _dtype_pair(expected, found, msg, what=INPUT_OR_STATE)
    if ctx.failing_line and _WHOLE_LAYER_KERNEL.search(ctx.failing_line) and _passes_no_state(ctx.user_line):
        return _dtype_pair(expected, found, msg)
    return _with_causes(dx.dtype_mismatch_unordered(dtypes=(found, expected), torch_message=msg), [
        "data loaded from numpy (float64 by default) into a float32 model: torch.from_numpy(a).float()",
        "a state (h_0, c_0) created with another dtype than the input and the layer",
        "the model was converted (.half(), .double()) but not its input or state"])


def _passes_no_state(user_line: str | None) -> bool:
    """True when the user's line calls the layer with its input alone (or ``hx=None``): the state torch makes
    then has the input's dtype, so the mismatch is between the input and the weights."""
    if not user_line:
        return False
    try:
        tree = ast.parse(user_line.strip())
    except (SyntaxError, ValueError):
        return False
    stmt = tree.body[0] if len(tree.body) == 1 else None
    value = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr, ast.Return)) else None
    while isinstance(value, (ast.Subscript, ast.Attribute)):  # model(x)[0], model(x).squeeze()
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    given = [*value.args[1:], *(k.value for k in value.keywords if k.arg in ("hx", "h0", "h_0", "hidden"))]
    if any(k.arg is None for k in value.keywords) or any(isinstance(a, ast.Starred) for a in value.args):
        return False
    return len(value.args) >= 1 and all(isinstance(g, ast.Constant) and g.value is None for g in given)


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


#: The state named as the tensor on the other device: "Input and hidden tensors are not at the same device, found
#: input tensor at cuda:0 and hidden tensor at cpu", "(when checking argument for argument hx in method ...)".
_STATE_OFF_DEVICE = lazy(r"hidden tensors? are not at the same device|argument for argument (?:hx|cx)\b")
_DEVICE_RE = lazy(r"\b(cuda:\d+|cuda|cpu|mps(?::\d+)?|meta|xpu:\d+|xpu|GPU|CPU)\b")


def _device(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    devices = list(dict.fromkeys(
        {"GPU": "cuda", "CPU": "cpu"}.get(d, d) for d in _DEVICE_RE.findall(msg)))
    if "MPS" in msg and "mps" not in devices:
        devices = ["mps", "cpu"]
    low = msg.lower()
    if _STATE_OFF_DEVICE.search(msg):  # the input and the weights agree (torch checks them first): the state moves
        layer = ctx.layer or ""
        lstm = True if layer.startswith("LSTM") else False if layer.startswith(("GRU", "RNN")) else None
        return _with_causes(dx.state_device_mismatch(devices=devices, lstm=lstm, torch_message=msg), [
            "h_0/c_0 created with torch.zeros(...) without device=x.device",
            "a state stored on the module as a plain tensor (model.to() moves parameters and buffers only)",
            "a state kept from an earlier call on another device"])
    d = dx.device_mismatch(devices=devices, torch_message=msg)
    if "parameter tensor" in low:
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


#: This topic's entries, in the catalog's order (earlier entries win overlaps).
ENTRIES: tuple[Entry, ...] = (
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
)
