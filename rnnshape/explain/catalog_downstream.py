"""Catalog entries for mistakes after the layer (its output tuple, unpacking, a Linear's
size) and for autograd and backend errors (cuDNN, MPS).
"""

from __future__ import annotations

import re

from rnnshape import diagnoses as dx
from rnnshape.explain.catalog_core import (
    _RNN_EVIDENCE,
    Builder,
    Context,
    Entry,
    _e,
    _layer,
    _Merged,
    _simple,
    _with_causes,
)
from rnnshape.lazyre import lazy


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


#: A recurrent kernel's own node in the message (``output 0 of CudnnRnnBackward0``,
#: ``MkldnnRnnLayer``): the tensor changed is the layer's output.
_RNN_NODE = lazy(r"rnn|lstm|gru", re.IGNORECASE)
#: The state given to a layer written into: ``h[:, done] = 0``, ``hidden.zero_()``, ``h0 += ...``.
_STATE_WRITE = lazy(r"\b(?:h_?[0n]?|c_?[0n]?|hx|cx|hidden|hiddens|state)(?:\[[^\]\n]{0,80}\]\s*=(?!=)"
                    r"|\s*[-+*/]=|\.(?:zero_|copy_|fill_|add_|mul_|masked_fill_)\()")
#: The sizes a pasted constructor gives: nn.LSTM(4, 6) or nn.GRU(input_size=4, hidden_size=6).
_CTOR_SIZES = lazy(r"\bnn\.(?:LSTM|GRU)(?:Cell)?\(\s*(?:input_size\s*=\s*)?\d{1,9}\s*,\s*"
                   r"(?:hidden_size\s*=\s*)?(?P<hidden>\d{1,9})\b")
#: A state carried over with its graph kept alive.
_RETAINED = lazy(r"retain_graph\s*=\s*True")


def _inplace(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    shape = tuple(int(t) for t in m["shape"].split(", ")) if m["shape"] else None
    version = int(m["version"]) if m["version"] else None
    expected = int(m["expected"]) if m["expected"] else None
    code = "\n".join(t for t in (ctx.user_line, ctx.code_text) if t)
    write = _STATE_WRITE.search(code)
    kept = ("the hidden state kept from the previous batch without .detach(), with "
            "retain_graph=True: optimizer.step() then changed the weights that the previous "
            "batch's graph saved")
    output = ("the recurrent layer's output changed in place afterwards (out += ..., out[...] = ..., "
              "an inplace activation or dropout)")
    written = ("the state passed to the layer written into afterwards (h[...] = 0 to reset finished "
               "sequences, .zero_(), +=)")
    if m["op"] and _RNN_NODE.search(m["op"]):
        cause, causes = dx.InplaceCause.OUTPUT_WRITTEN, [output, written, kept]
    elif write and not _RETAINED.search(code):
        line = code[code.rfind("\n", 0, write.start()) + 1:].split("\n", 1)[0].strip()
        cause, causes = dx.InplaceCause.STATE_WRITTEN, [f"{written}: `{line}`", kept, output]
    else:
        cause, causes = dx.InplaceCause.KEPT_STATE, [kept, written, output]
    layer = ctx.layer if ctx.layer in ("LSTM", "GRU", "RNN") else (
        ctx.built[0].removesuffix("Cell") if len(ctx.built) == 1 else None)
    # only a kept state's message names a weight: the other causes change a state or an output
    gates = {"LSTM": 4, "GRU": 3}.get(layer or "") if cause is dx.InplaceCause.KEPT_STATE else None
    sizes = _CTOR_SIZES.search(ctx.ctor_text) if gates else None
    d = dx.state_modified_inplace(cause=cause, shape=shape, version=version, expected=expected,
                                  gates=gates, hidden=int(sizes["hidden"]) if sizes else None,
                                  layer_kind=layer, torch_message=msg)
    return _with_causes(d, causes)


def _loss_batch(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    rows, labels = int(m["rows"]), int(m["labels"])
    d = dx.loss_batch_mismatch(rows=rows, labels=labels, torch_message=msg)
    if rows > labels:
        causes = ["a classifier applied to every step of the output (out.reshape(-1, hidden)) while the labels "
                  "are one per sequence", "the labels are per step but were taken one per sequence"]
    else:
        causes = ["labels per time step, flattened, against one prediction per sequence (h_n or out[:, -1])",
                  "out[-1] of a batch-first output: the last sequence, not every sequence's last step"]
    return _with_causes(d, causes)


#: This topic's entries, in the catalog's order (earlier entries win overlaps).
ENTRIES: tuple[Entry, ...] = (
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
    _e("loss-batch", "loss-batch-mismatch",
       r"Expected input batch_size \((?P<rows>\d+)\) to match target batch_size \((?P<labels>\d+)\)",
       _loss_batch, needs=_RNN_EVIDENCE, code_ties=True),
    # ---- autograd and backends
    _e("backward-twice", "backward-twice",
       r"Trying to backward through the graph a second time",
       _simple(dx.backward_twice, (
           "the hidden state carried from the previous batch without .detach()",
           "a state stored on the model (self.hidden) reused across batches",
           "backward called twice on the same loss")), needs=_RNN_EVIDENCE),
    _e("state-modified-inplace", "state-modified-inplace",
       r"one of the variables needed for gradient computation has been modified by an in-?place "
       r"operation(?:: \[(?P<type>[\w.]{1,60}) \[(?P<shape>\d{1,9}(?:, \d{1,9}){0,7})?\]\]"
       r"(?:, which is output (?P<index>\d+) of (?P<op>\w{1,80}),)? is at version (?P<version>\d+); "
       r"expected version (?P<expected>\d+) instead)?",
       _inplace, needs=_RNN_EVIDENCE, code_ties=True),
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
