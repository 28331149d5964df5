"""Builders for autograd and backend failures (cuDNN, MPS, oneDNN, dtypes a device lacks)."""

from __future__ import annotations

from enum import Enum

from rnnshape.diagnoses.fixes import code_fix
from rnnshape.diagnoses.record import Diagnosis, _d, _reworded

# --------------------------------------------------------------------------- explain: autograd, backends


def backward_twice(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "backward-twice", "backward through a graph that was already freed",
        "Each batch's backward frees the graph it walked. When the hidden state from the "
        "previous batch is fed into the next one without detaching it, the new loss still "
        "reaches back into the freed graph of the previous batch. Detach the state between "
        "batches (truncated backpropagation through time). retain_graph=True silences the "
        "error but keeps every past batch in memory and backpropagates through all of them.",
        "out, hidden = model(x, hidden)\n"
        "hidden = hidden.detach()                          # GRU / RNN\n"
        "# LSTM: hidden = tuple(h.detach() for h in hidden)",
        {"torch_message": torch_message})


class InplaceCause(str, Enum):
    """What changed a tensor that a recurrent layer's backward saved (``state-modified-inplace``)."""

    KEPT_STATE = "kept-state"          # a state carried across batches, retain_graph=True, optimizer.step()
    STATE_WRITTEN = "state-written"    # the state given to the layer written into afterwards (h[...] = ...)
    OUTPUT_WRITTEN = "output-written"  # the layer's output written into afterwards (out += ..., out[...] = ...)


def _saved_tensor(shape: tuple[int, ...] | None, version: int | None, expected: int | None,
                  gates: int | None, hidden: int | None) -> str:
    """"The tensor [24, 4] (now at version 2, saved at version 1)", and a layer's weight when one
    of its dimensions is ``gates`` x ``hidden_size`` (weights stack their gates' rows)."""
    if shape is None:
        return "A tensor that backward needs"
    dims = ", ".join(str(n) for n in shape)
    said = f"The tensor [{dims}]"
    if version is not None and expected is not None:
        said += f" (now at version {version}, saved at version {expected})"
    if gates and hidden and len(shape) == 2 and gates * hidden in shape:
        said += (f", a weight of the layer ({gates * hidden} = {gates} gates x hidden_size "
                 f"{hidden}),")
    return said


def state_modified_inplace(*, cause: InplaceCause, shape: tuple[int, ...] | None = None,
                           version: int | None = None, expected: int | None = None,
                           gates: int | None = None, hidden: int | None = None,
                           layer_kind: str | None = None, torch_message: str | None = None) -> Diagnosis:
    """``one of the variables needed for gradient computation has been modified by an inplace
    operation`` around a recurrent layer; ``gates``: 4 for an LSTM, 3 for a GRU, and ``hidden``
    its hidden_size, when the paste says;
    ``layer_kind``: "LSTM" or "GRU"/"RNN" when the paste says, for the fix's detach line."""
    saved = _saved_tensor(shape, version, expected, gates, hidden)
    evidence = {"cause": cause.value, "shape": list(shape) if shape else None, "version": version,
                "expected_version": expected, "torch_message": torch_message}
    if cause is InplaceCause.OUTPUT_WRITTEN:
        return _d(
            "state-modified-inplace", "the recurrent layer's output was changed in place before backward",
            f"{saved} was changed in place after the graph saved it. The recurrent kernel (cuDNN, "
            "oneDNN) keeps its own output for its backward, so writing into that output afterwards "
            "(out += ..., out[...] = ..., an activation or dropout with inplace=True) changes what "
            "backward needs. Work on a copy or use the out-of-place form.",
            "out, hidden = rnn(x)\nout = out.clone()   # write into the copy; backward keeps the original",
            evidence)
    if cause is InplaceCause.STATE_WRITTEN:
        return _d(
            "state-modified-inplace", "the state given to the recurrent layer was changed in place",
            f"{saved} was changed in place after the graph saved it. A GRU or LSTM keeps the state "
            "it was given (h_0 enters its backward), so writing into that tensor afterwards "
            "(h[...] = 0 to reset finished sequences, .zero_(), +=) changes what backward needs. "
            "Build a new state instead of writing into the old one.",
            "out, hidden = rnn(x, hidden)\nhidden = hidden.clone()   # write into the copy, e.g. "
            "hidden[:, done] = 0", evidence)
    if layer_kind == "LSTM":
        detach = "hidden = tuple(h.detach() for h in hidden)   # (h, c) of an LSTM"
    elif layer_kind in ("GRU", "RNN"):
        detach = "hidden = hidden.detach()"
    else:
        detach = ("if isinstance(hidden, tuple):   # an LSTM's (h, c)\n"
                  "    hidden = tuple(h.detach() for h in hidden)\nelse:\n    hidden = hidden.detach()")
    return _d(
        "state-modified-inplace", "backward through a previous batch whose weights have changed",
        f"{saved} was changed in place after the graph saved it. The hidden state is carried from "
        "batch to batch without .detach(), so each loss still reaches back into the previous "
        "batches' graphs; retain_graph=True keeps those graphs alive, and optimizer.step() has "
        "since updated the layer's weights in place, so a graph saved before the step can no "
        "longer be walked. Detach the state after each forward (truncated backpropagation "
        "through time) and drop retain_graph=True.",
        f"out, hidden = model(x, hidden)\n{detach}\nloss = criterion(out, y)\n"
        "loss.backward()   # without retain_graph=True", evidence)


def cudnn_eval_backward(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "cudnn-eval-backward", "cuDNN RNN backward needs training mode",
        "cuDNN can only backpropagate through an RNN that ran its forward in training mode; "
        "this forward ran after model.eval(). It is common in evaluation code that still "
        "calls backward (gradient-based attribution such as Captum, adversarial examples, "
        "dynamic evaluation) or when a helper switched the model to eval and never back.",
        "model.train()   # before the forward whose backward you need\n"
        "# or keep eval() behaviour and use the native kernel for this forward:\n"
        "with torch.backends.cudnn.flags(enabled=False):\n    out = model(x)",
        {"torch_message": torch_message})


def cudnn_double_backward(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "cudnn-double-backward", "double backward is not supported by cuDNN RNNs",
        "A second-order gradient (create_graph=True: gradient penalties, MAML, TRPO/CPO, "
        "Hessian-vector products) went through a cuDNN RNN, whose backward is not itself "
        "differentiable. Run that RNN's forward with cuDNN disabled; it is slower but "
        "differentiable twice.",
        "with torch.backends.cudnn.flags(enabled=False):\n    output = model(inputs)",
        {"torch_message": torch_message})


def cudnn_error(*, status: str, torch_message: str | None = None) -> Diagnosis:
    hints = {
        "CUDNN_STATUS_BAD_PARAM": "cuDNN got a size or layout it rejects: most often a "
        "non-contiguous input or state, a state from another dtype or device, or a "
        "sequence or batch too large for one call",
        "CUDNN_STATUS_NOT_SUPPORTED": "this combination (dtype, sizes, non-contiguous "
        "input) has no cuDNN kernel",
        "CUDNN_STATUS_EXECUTION_FAILED": "the kernel failed on the GPU, often out of memory "
        "or an earlier asynchronous error surfacing here",
        "CUDNN_STATUS_INTERNAL_ERROR": "cuDNN failed internally, often out of GPU memory",
        "CUDNN_STATUS_MAPPING_ERROR": "an earlier asynchronous CUDA error surfaced here",
    }
    hint = hints.get(status, "cuDNN rejected the call")
    return _d(
        "cudnn-error", f"cuDNN error {status} in a recurrent layer",
        f"{status}: {hint}. cuDNN's statuses do not say which argument is wrong; run the same "
        "call with cuDNN disabled (or on the CPU) to get PyTorch's own shape and dtype "
        "checks, and make the input and states contiguous.",
        "x = x.contiguous(); h_0 = h_0.contiguous()\n"
        "with torch.backends.cudnn.flags(enabled=False):   # clearer errors, to debug\n"
        "    out, h = rnn(x, h_0)\n"
        "# asynchronous errors: rerun with CUDA_LAUNCH_BLOCKING=1",
        {"status": status, "torch_message": torch_message})


def state_not_contiguous(*, which: str, torch_message: str | None = None) -> Diagnosis:
    """``rnn: hx is not contiguous``: cuDNN names the state (``hx`` or ``cx``) it cannot read."""
    name = "h_0" if which == "hx" else "c_0"
    d = cudnn_error(status=f"{which} is not contiguous", torch_message=torch_message)
    return _reworded(d, explanation=(f"cuDNN needs the state {which} in contiguous memory; it was "
                                     "made by transpose, permute or slicing of another tensor."),
                     fix=code_fix(f"{name} = {name}.contiguous()"))


def non_contiguous_weights(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "non-contiguous-weights", "RNN weights are not one contiguous block",
        "cuDNN wants all of a recurrent layer's weights in one flat buffer. After the "
        "weights were replaced or moved piecemeal (weight dropout / WeightDrop, "
        "DataParallel replicas, loading a state dict, .to() on parts of the model) they no "
        "longer are, so every call copies them into a fresh buffer: slower and more memory. "
        "Call flatten_parameters() after the change, in forward if the change happens there.",
        "def forward(self, x, h=None):\n    self.lstm.flatten_parameters()\n"
        "    out, h = self.lstm(x, h)",
        {"torch_message": torch_message}, severity="warning")


def backend_error(*, backend: str, detail: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "backend-error", f"the {backend} backend failed inside a recurrent layer",
        f"{detail} This is a limitation or bug of the {backend} backend rather than a shape "
        "mistake in your code when the same call works on the CPU; upgrade torch, or run "
        "the recurrent layer on the CPU.",
        "# check the same call on the CPU first:\nout, h = rnn.cpu()(x.cpu())",
        {"backend": backend, "torch_message": torch_message})
