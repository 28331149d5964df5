"""Builders for tensors of the wrong dtype or on the wrong device."""

from __future__ import annotations

import re

from rnnshape.diagnoses.fixes import Fix, FixKind, code_fix
from rnnshape.diagnoses.record import Diagnosis, _reworded

_INT_DTYPES = ("int64", "int32", "int16", "int8", "uint8", "bool", "long", "int")
#: What torch's old "for argument #2 'mat1'" names: the input of a product, or the state in the state's product.
INPUT_OR_STATE = "the input or a state"


def integer_input(*, dtype: str = "int64", vocab_size: int | None = None,
                  input_size: int | None = None, torch_message: str | None = None,
                  shape: tuple[int, ...] | None = None) -> Diagnosis:
    vocab = str(vocab_size) if vocab_size else "vocab_size"
    dim = str(input_size) if input_size else "rnn.input_size"
    fixes = []
    if shape is None or len(shape) <= 2 or shape[-1] != input_size:
        fixes.append(Fix(FixKind.EMBED,
                         f"embed = nn.Embedding(num_embeddings={vocab}, embedding_dim={dim})\n"
                         "x = embed(x)   # token ids -> vectors: x.shape + (input_size,)",
                         "x", input_size, label="if x holds token ids"))
    if shape is None or shape[-1] == input_size:
        fixes.append(Fix(FixKind.CONVERT, "x = x.float()   # numbers stored as integers", "x", "float32",
                         label="if x holds numeric features"))
    return Diagnosis(
        code="integer-input",
        severity="error",
        title=f"integer input ({dtype}) fed into a recurrent layer",
        explanation=(
            f"The input holds integers ({dtype}), which usually means token ids. A recurrent "
            "layer multiplies its input by float weights, so ids must first become vectors: "
            "put an nn.Embedding in front, which maps each id to a vector of input_size floats. "
            "Never convert the model to an integer dtype (torch's own message suggests it): "
            "integer weights cannot learn."
        ),
        fixes=tuple(fixes),
        evidence={"dtype": dtype, "vocab_size": vocab_size, "torch_message": torch_message,
                  "deciding_fact": "whether x holds token ids or numbers" if len(fixes) > 1 else ""},
    )


def dtype_mismatch(*, what: str, got: str, expected: str,
                   torch_message: str | None = None) -> Diagnosis:
    var = _var(what)
    if expected in _INT_DTYPES:  # an index tensor (token ids): never the weights' dtype
        return Diagnosis(
            code="dtype-mismatch",
            severity="error",
            title=f"{what} is {got} but must hold integer indices",
            explanation=(
                f"{what[:1].upper()}{what[1:]} is looked up by index: it must hold integer token ids "
                f"(int64, or int32), but it is {got}. Convert the ids; if the values are "
                "already feature vectors, they need no embedding."
            ),
            fixes=(Fix(FixKind.CONVERT, f"{var} = {var}.long()   # token ids are integers", var, "int64"),),
            evidence={"what": what, "got": got, "expected": expected, "torch_message": torch_message},
        )
    if " " in expected:  # torch did not name the dtypes: read the layer's own
        fixes = [code_fix(f"{var} = {var}.to(next(rnn.parameters()).dtype)   # the layer's dtype")]
    else:
        code = f"{var} = {var}.to(torch.{expected})   # the layer's dtype"
        if what == INPUT_OR_STATE:  # torch named a product's operand, which a state can be as well as the input
            code += f"\n# and a state you pass: h_0 = h_0.to(torch.{expected}) (c_0 too)"
        fixes = [Fix(FixKind.CONVERT, code, var, expected)]
    if got not in _INT_DTYPES and " " not in got:
        fixes.append(Fix(FixKind.CONSTRUCTOR, f"rnn = rnn.to(torch.{got})   # the whole model in {got}",
                         "rnn", {"dtype": got}, label=f"if you want the model in {got}"))
    return Diagnosis(
        code="dtype-mismatch",
        severity="error",
        title=f"{what} is {got} but the layer's weights are {expected}",
        explanation=(
            f"All tensors in a recurrent forward must share one floating dtype. The layer's "
            f"weights are {expected} and {what} is {got}. Convert the tensor (cheap), or the "
            "whole model if you really want it in that precision."
        ),
        fixes=tuple(fixes),
        evidence={"what": what, "got": got, "expected": expected, "torch_message": torch_message},
    )


#: When torch's message names no dtypes: give the input and the state the weights' dtype.
_SAME_DTYPE_FIX = ("dtype = next(model.parameters()).dtype   # the weights' dtype\n"
                   "x = x.to(dtype)\n"
                   "h_0, c_0 = h_0.to(dtype), c_0.to(dtype)   # a state, if you pass one")


def dtype_mismatch_unordered(*, dtypes: tuple[str, str], torch_message: str | None = None) -> Diagnosis:
    """Two floating dtypes meet, and torch's message does not say which tensor holds which: its "expected"
    type is the input's in one kernel (a whole layer's first product) and the weights' in another (a cell, a
    packed batch, the state's product). The fix that holds either way gives the input and the state the
    weights' dtype, read from the model."""
    a, b = dtypes
    return Diagnosis(
        code="dtype-mismatch",
        severity="error",
        title=f"{a} and {b} tensors meet in one recurrent forward",
        explanation=(
            f"The input, the state you pass (h_0, c_0) and the layer's weights must share one dtype, but torch "
            f"found {a} and {b}. Its message does not say which tensor is which: its 'expected' type is the "
            "input's in some kernels and the weights' in others. Give the input and any state the weights' "
            "dtype (float32 unless the model was converted with .double() or .half())."
        ),
        fixes=(code_fix(_SAME_DTYPE_FIX),),
        evidence={"dtypes": [a, b], "torch_message": torch_message},
    )


def dtype_mismatch_unnamed(*, what: str, expected: str, onednn: bool = False,
                           torch_message: str | None = None) -> Diagnosis:
    """A dtype mismatch whose message names neither dtype (``onednn``: mkldnn's 'unsupported data type')."""
    d = dtype_mismatch(what=what, got="another dtype", expected=expected, torch_message=torch_message)
    note = (" On the CPU, oneDNN (mkldnn) runs the LSTM and reports this mismatch only as "
            "'unsupported data type'.") if onednn else ""
    return _reworded(d, explanation=d.explanation + note, fix=code_fix(_SAME_DTYPE_FIX))


_PARAMETER_DEVICE = re.compile(r"parameter tensor at (\S+?)[,.]?(?:\s|$)")


def device_mismatch(*, devices: list[str], torch_message: str | None = None,
                    model_device: str | None = None, what: str = "x") -> Diagnosis:
    """Tensors on several devices. The model stays where it is: tensors go to the model."""
    devs = " and ".join(devices) if devices else "two devices"
    if model_device is None and torch_message:
        found = _PARAMETER_DEVICE.search(torch_message)
        model_device = found.group(1) if found else None
    if model_device is not None:
        fixes = [Fix(FixKind.MOVE, f"{what} = {what}.to('{model_device}')   # where the model's "
                     "weights are", what, model_device)]
    else:
        fixes = [code_fix("device = next(model.parameters()).device   # where the weights are\n"
                          "x = x.to(device)\n"
                          "# and any state you pass: h_0 = h_0.to(device) (c_0 too, for an LSTM)")]
    return Diagnosis(
        code="device-mismatch",
        severity="error",
        title=f"tensors are on different devices ({devs})",
        explanation=(
            f"The layer's weights, the input and the states must live on one device, but "
            f"they are spread over {devs}. Move the tensors to the device of the model's "
            "weights (the model is where you put it on purpose); tensors you create yourself "
            "(inputs, h_0, c_0) need device=x.device."
        ),
        fixes=tuple(fixes),
        evidence={"devices": devices, "model_device": model_device, "torch_message": torch_message},
    )


def state_device_mismatch(*, devices: list[str], lstm: bool | None, torch_message: str | None = None) -> Diagnosis:
    """The state (h_0, c_0) on another device than the input, which is where the weights are (torch checks the
    input against the weights first): the state follows the input."""
    if lstm:
        move = "h_0, c_0 = h_0.to(x.device), c_0.to(x.device)   # where the input is"
    elif lstm is False:
        move = "h_0 = h_0.to(x.device)   # where the input is"
    else:
        move = ("h_0 = h_0.to(x.device)   # where the input is\n"
                "# an LSTM's state is a pair: h_0, c_0 = h_0.to(x.device), c_0.to(x.device)")
    d = device_mismatch(devices=devices, torch_message=torch_message)
    return _reworded(d, explanation=d.explanation + (
        " Here the state is the odd one out: build it on the input's device each time "
        "(torch.zeros(..., device=x.device)), or move it as below."), fix=code_fix(move))


def _var(what: str) -> str:
    return {"input": "x", "h_0": "h_0", "c_0": "c_0"}.get(what, "x")
