"""Builders for autograd and backend failures (cuDNN, MPS, oneDNN, dtypes a device lacks)."""

from __future__ import annotations

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
