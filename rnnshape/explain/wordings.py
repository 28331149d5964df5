"""Every wording of torch's recurrent-layer messages that the catalog knows, with its releases.

Each :class:`Wording` ties one message text (as a release of torch printed it) to the catalog
entry that explains it, with ``probes``: literal fragments of torch's own code (the Python
format string, or the C++ string constants) that ``tools/harvest_wordings.py`` looks for in
the wheels of several releases. The releases found are generated into
:mod:`rnnshape.explain.releases`; ``rnnshape explain --list`` prints them.

``example`` is a verbatim message (from a user's report where one exists, else from the
release's own code with numbers filled in); tests/test_catalog.py feeds every example to
``explain`` and checks that its entry answers.
"""

from __future__ import annotations

from rnnshape.records import record


@record(frozen=True)
class Wording:
    id: str
    entry: str                 # the catalog entry that explains it
    example: str               # one message in this wording, verbatim
    probes: tuple[str, ...]    # literal fragments of torch's code that print it (all must appear)
    source: str = ""           # where the example comes from (a report's URL), if not torch's code
    note: str = ""
    unread: str = ""           # why no release read prints it (the table then says so)


W = Wording

WORDINGS: tuple[Wording, ...] = (
    # ---- the state
    W("hidden-size-unindexed", "hidden-size",
      "RuntimeError: Expected hidden size (1, 32L, 256), got (2L, 32L, 256L)",
      ("Expected hidden size {}, got {}",),
      note="torch 0.3-0.4 under Python 2 printed long integers with an L suffix"),
    W("hidden0-size-tuple", "hidden-size",
      "RuntimeError: Expected hidden[0] size (1, 32, 32), got (2, 32, 32)",
      ("Expected hidden[0] size {}, got {}", "tuple(hx.size())"),
      source="https://github.com/ngarneau/understanding-pytorch-batching-lstm/issues/1"),
    W("hidden0-size-list", "hidden-size",
      "RuntimeError: Expected hidden[0] size (2, 1, 1024), got [1, 1, 1024]",
      ("Expected hidden[0] size {}, got {}", "list(hx.size())"),
      source="https://github.com/aladdinpersson/Machine-Learning-Collection/issues/110"),
    W("hidden1-size", "hidden-size",
      "RuntimeError: Expected hidden[1] size (1, 3, 16), got [1, 4, 16]",
      ("Expected hidden[1] size {}, got {}",)),
    W("hx-rank", "hx-rank",
      "RuntimeError: For batched 3-D input, hx and cx should also be 3-D but got (2-D, 2-D) tensors",
      ("should also be",)),
    W("cell-batch-python", "cell-batch",
      "RuntimeError: Input batch size 1 doesn't match hidden[0] batch size 512",
      ("Input batch size {} doesn't match hidden{} batch size {}",),
      source="https://github.com/PetrochukM/PyTorch-NLP/issues/62",
      note="the Python check of torch 0.4-1.x; hidden[0] is an LSTMCell's h"),
    W("cell-batch-aten", "cell-batch",
      "RuntimeError: Input batch size 3 doesn't match hidden0 batch size 2",
      ("Input batch size ", " doesn't match hidden", " batch size ")),
    W("cell-input-size", "cell-input-size",
      "RuntimeError: input has inconsistent input_size: got 10 expected 8",
      ("input has inconsistent input_size: got ",)),
    W("cell-hidden-size", "cell-hidden-size",
      "RuntimeError: hidden0 has inconsistent hidden_size: got 20, expected 16",
      (" has inconsistent hidden_size: got ",)),
    W("old-inconsistent-size", "old-inconsistent-size",
      "RuntimeError: inconsistent tensor size, expected r_ [5 x 25], t [5 x 25] and src [2 x 25] to "
      "have thesame number of elements, but got 125, 125 and 50 elements respectively at "
      "/opt/conda/conda-bld/pytorch_1503970438496/work/torch/lib/TH/generic/THTensorMath.c:887",
      ("inconsistent tensor size, expected ",),
      source="https://github.com/pytorch/pytorch/issues/3851",
      note="torch < 0.4 had no shape check in recurrent layers; generic TH message, so it is "
           "only claimed with a recurrent layer in the paste"),
    # ---- the input
    W("input-size", "input-size",
      "RuntimeError: input.size(-1) must be equal to input_size. Expected 8, got 10",
      ("input.size(-1) must be equal to input_size. Expected ",)),
    W("input-rank-3", "input-rank-old",
      "RuntimeError: input must have 3 dimensions, got 2",
      ("input must have ", " dimensions, got ")),
    W("input-rank-2d-3d", "input-rank",
      "ValueError: LSTM: Expected input to be 2D or 3D, got 4D input instead",
      ("Expected input to be 2D or 3D, got ",)),
    W("input-rank-2d-3d-assert", "input-rank",
      "AssertionError: LSTM: Expected input to be 2-D or 3-D but received 4-D tensor",
      ("Expected input to be 2-D or 3-D but received ",)),
    W("cell-input-rank", "cell-input-rank",
      "ValueError: LSTMCell: Expected input to be 1D or 2D, got 3D instead",
      ("Expected input to be 1D or 2D, got ",)),
    W("cell-hidden-rank", "cell-hidden-rank",
      "ValueError: GRUCell: Expected hidden to be 1D or 2D, got 3D instead",
      ("Expected hidden to be 1D or 2D, got ",),
      note="GRUCell and RNNCell; cells did not check the state's rank before 2.1"),
    W("cell-hx-rank", "cell-hidden-rank",
      "ValueError: LSTMCell: Expected hx[0] to be 1D or 2D, got 3D instead",
      ("LSTMCell: Expected hx[", "] to be 1D or 2D, got ")),
    W("cell-input-rank-assert", "cell-input-rank",
      "AssertionError: LSTMCell: Expected input to be 1-D or 2-D but received 3-D tensor",
      ("Expected input to be 1-D or 2-D but received ",)),
    W("empty-sequence", "empty-sequence",
      "RuntimeError: Expected sequence length to be larger than 0 in RNN",
      ("Expected sequence length to be larger than 0 in RNN",)),
    # ---- dtypes and devices
    W("rnn-dtype", "rnn-dtype",
      "ValueError: RNN input dtype (torch.float64) does not match weight dtype (torch.float32). "
      "Convert input: input.to(torch.float32), or convert model: model.to(torch.float64)",
      ("does not match weight dtype",)),
    W("rnn-dtype-old", "rnn-dtype-old",
      "ValueError: input must have the type torch.float32, got type torch.float64",
      ("input must have the type ", ", got type "),
      source="https://github.com/pytorch/pytorch/issues/136931"),
    W("rnn-tensors-dtype", "rnn-tensors-dtype",
      "RuntimeError: Input and parameter tensors are not the same dtype, found input tensor with "
      "Double and parameter tensor with Float",
      ("Input and ", " tensors are not the same dtype, found input tensor with "),
      source="https://github.com/Rhuax/text-summarization/issues/1",
      note="ATen's RNN.h check_attributes, reached through the cuDNN and MIOpen kernels"),
    W("rnn-tensors-device", "device",
      "RuntimeError: Input and hidden tensors are not at the same device, found input tensor at cuda:0 and "
      "hidden tensor at cpu",
      ("Input and ", " tensors are not at the same device, found input tensor at "),
      source="https://github.com/taishan1994/pytorch_triple_extraction/issues/8"),
    W("fused-cell-bf16", "fused-cell-dtype",
      "RuntimeError: \"_thnn_fused_lstm_cell_cuda\" not implemented for 'BFloat16'",
      ("_thnn_fused_lstm_cell_cuda",),
      source="https://github.com/cassidylaidlaw/minecraft-building-assistance-game/pull/61"),
    W("old-scalar-type", "old-scalar-type",
      "RuntimeError: Expected object of scalar type Double but got scalar type Float for argument "
      "#2 'mat2'", ("Expected object of scalar type ",)),
    W("old-object-type", "old-object-type",
      "RuntimeError: Expected object of type torch.cuda.FloatTensor but found type "
      "torch.FloatTensor for argument #2 'mat2'", ("Expected object of type ",)),
    W("onednn-dtype", "onednn-dtype", "RuntimeError: get_mkldnn_dtype: unsupported data type",
      ("get_mkldnn_dtype: unsupported data type",)),
    # ---- packing
    W("packing-unsorted-python", "packing-unsorted",
      "ValueError: lengths array has to be sorted in decreasing order",
      ("lengths array has to be sorted in decreasing order",),
      source="https://github.com/OpenNMT/OpenNMT-py/issues/412",
      unread="0.2-0.4 (torch/nn/utils/rnn.py's Python packing raised it; 1.0 moved the check to ATen: "
             "packing-unsorted-aten-old; no wheel before 1.0 was read)"),
    W("packing-unsorted-aten-old", "packing-unsorted",
      "RuntimeError: 'lengths' array has to be sorted in decreasing order",
      ("'lengths' array has to be sorted in decreasing order",),
      source="https://github.com/bentrevett/pytorch-sentiment-analysis/issues/37"),
    W("packing-unsorted-enforce", "packing-unsorted",
      "RuntimeError: `lengths` array must be sorted in decreasing order when `enforce_sorted` is "
      "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
      "sidestep this requirement if you do not need ONNX exportability.",
      ("array must be sorted in decreasing order when",),
      source="https://github.com/facebookresearch/fairseq/issues/1692"),
    W("pad-sequence-unsorted", "packing-unsorted",
      "ValueError: sequences must be sorted in the order of decreasing length",
      ("sequences must be sorted in the order of decreasing length",),
      source="https://github.com/pytorch/pytorch/pull/7283",
      unread="0.4 (pack_sequence and pad_sequence required sorted sequences; no wheel before 1.0 was "
             "read)"),
    W("packing-zero-length", "packing-bad-length",
      "RuntimeError: Length of all samples has to be greater than 0, but found an element in "
      "'lengths' that is <= 0", ("Length of all samples has to be greater than 0",)),
    W("packing-lengths-batch", "packing-lengths-batch",
      "RuntimeError: Expected `len(lengths)` to be equal to batch_size, but got 5 (batch_size=3)",
      ("to be equal to batch_size, but got ",)),
    W("packing-lengths-device", "packing-lengths-device",
      "RuntimeError: 'lengths' argument should be a 1D CPU int64 tensor, but got 1D cuda:0 Long tensor",
      ("'lengths' argument should be a 1D CPU int64 tensor",)),
    W("packing-total-length", "packing-total-length",
      "ValueError: Expected total_length to be at least the length of the longest sequence in "
      "input, but got total_length=4 and max sequence length being 5",
      ("Expected total_length to be at least the length of the longest sequence in input",)),
    W("packed-batch-sizes-cuda", "packing-batch-sizes-cuda",
      "ValueError: batch_sizes should always be on CPU. Instances of PackedSequence should never be "
      "created manually. They should be instantiated by functions like pack_sequence and "
      "pack_padded_sequences in nn.utils.rnn. "
      "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence",
      ("batch_sizes should always be on CPU",)),
    W("packed-data-pair", "packed-by-hand",
      "AssertionError: Expected data to be a list or tuple of length 2",
      ("Expected data to be a list or tuple of length 2",),
      note="PackedSequence(data) built by hand without batch_sizes"),
    W("pad-sequence-not-iterable", "pad-sequence-not-iterable",
      "RuntimeError: pad_sequence: Expected iterable for input sequences, but got arg of type: <class 'int'>",
      ("pad_sequence: Expected iterable for input sequences, but got arg of type: ",)),
    W("packed-four-fields", "unpack",
      "ValueError: too many values to unpack (expected 2)",
      ("'sorted_indices', 'unsorted_indices'",),
      note="PackedSequence has had 4 fields since 1.1: `data, batch_sizes = packed` fails"),
    W("packed-four-fields-typed", "unpack",
      "ValueError: too many values to unpack (expected 2)",
      ("unsorted_indices: Optional[torch.Tensor]",),
      note="the same four fields, declared as a typed NamedTuple since 2.x"),
    # ---- warnings, weights, kernels
    W("dropout-warning", "dropout-warning",
      "UserWarning: dropout option adds dropout after all but last recurrent layer, so non-zero "
      "dropout expects num_layers greater than 1, but got dropout=0.5 and num_layers=1",
      ("so non-zero dropout expects ", "num_layers greater than 1, but got drop")),
    W("flatten-parameters", "non-contiguous-weights",
      "UserWarning: RNN module weights are not part of single contiguous chunk of memory. This "
      "means they need to be compacted at every call, possibly greatly increasing memory usage. "
      "To compact weights again call flatten_parameters().",
      ("RNN module weights are not part of single contiguous chunk of memory",)),
    # ---- the constructor
    W("ctor-dropout-range", "ctor-dropout",
      "ValueError: dropout should be a number in range [0, 1] representing the probability of an "
      "element being zeroed",
      ("dropout should be a number in range [0, 1]",)),
    W("ctor-bias-type", "ctor-type", "TypeError: bias should be of type bool, got: int",
      ("bias should be of type bool, got: ",)),
    W("ctor-batch-first-type", "ctor-type", "TypeError: batch_first should be of type bool, got: int",
      ("batch_first should be of type bool, got: ",)),
    W("ctor-input-size-type", "ctor-type", "TypeError: input_size should be of type int, got: float",
      ("input_size should be of type int, got: ",)),
    W("ctor-hidden-size-type", "ctor-type", "TypeError: hidden_size should be of type int, got: float",
      ("hidden_size should be of type int, got: ",)),
    W("ctor-input-size-positive", "ctor-positive", "ValueError: input_size must be greater than zero",
      ("input_size must be greater than zero",)),
    W("ctor-hidden-size-positive", "ctor-positive", "ValueError: hidden_size must be greater than zero",
      ("hidden_size must be greater than zero",)),
    W("ctor-num-layers-positive", "ctor-positive", "ValueError: num_layers must be greater than zero",
      ("num_layers must be greater than zero",)),
    W("ctor-proj-size-negative", "ctor-proj-negative",
      "ValueError: proj_size should be a positive integer or zero to disable projections",
      ("proj_size should be a positive integer or zero to disable projections",)),
    W("ctor-proj-size-too-big", "ctor-proj-size", "ValueError: proj_size has to be smaller than hidden_size",
      ("proj_size has to be smaller than hidden_size",)),
    W("ctor-proj-size-gru", "ctor-proj-gru",
      "ValueError: proj_size argument is only supported for LSTM, not RNN or GRU",
      ("proj_size argument is only supported for LSTM, not RNN or GRU",)),
    W("ctor-nonlinearity-old", "ctor-nonlinearity", "ValueError: Unknown nonlinearity 'sigmoid'",
      ("Unknown nonlinearity '{}'",)),
    W("ctor-nonlinearity-select", "ctor-nonlinearity",
      "ValueError: Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'.",
      ("'. Select from 'tanh' or 'relu'.",)),
    W("cell-nonlinearity", "ctor-nonlinearity", "RuntimeError: Unknown nonlinearity: sigmoid",
      ("Unknown nonlinearity: ",),
      note="nn.RNNCell checks nonlinearity only in forward"),
    W("ctor-mode", "ctor-mode", "ValueError: Unrecognized RNN mode: BiLSTM", ("Unrecognized RNN mode: ",)),
    # ---- weights
    W("state-dict-size", "state-dict-size",
      "RuntimeError: Error(s) in loading state_dict for Net:\n\tsize mismatch for "
      "lstm.weight_hh_l0_reverse: copying a param with shape torch.Size([512, 128]) from "
      "checkpoint, the shape in current model is torch.Size([256, 64]).",
      ("copying a param with shape ", " from checkpoint, ", "the shape in current model is "),
      source="https://github.com/dqwang122/HeterSumGraph/issues/22"),
    W("state-dict-size-old", "state-dict-size",
      "RuntimeError: While copying the parameter named lstm.weight_hh_l0, whose dimensions in "
      "the model are torch.Size([256, 64]) and whose dimensions in the checkpoint are "
      "torch.Size([512, 128]).", ("While copying the parameter named ",)),
    W("cudnn-eval-backward", "cudnn-eval-backward",
      "RuntimeError: cudnn RNN backward can only be called in training mode",
      ("cudnn RNN backward can only be called in training mode",)),
    W("cudnn-hx-contiguous", "cudnn-state-contiguous", "RuntimeError: rnn: hx is not contiguous",
      ("rnn: hx is not contiguous",)),
    W("cudnn-cx-contiguous", "cudnn-state-contiguous", "RuntimeError: rnn: cx is not contiguous",
      ("rnn: cx is not contiguous",), note="an LSTM's c_0 (cuDNN checks it after hx)"),
    W("inplace-modified", "state-modified-inplace",
      "RuntimeError: one of the variables needed for gradient computation has been modified by an "
      "inplace operation", ("one of the variables needed for gradient computation has been modified by an "
                            "inplace operation",),
      source="https://github.com/vikrant7/mobile-vod-bottleneck-lstm/issues/25",
      note="torch 0.x-1.x printed no tensor; the autograd message, claimed only with a recurrent layer or "
           "a kept state in the paste"),
    W("inplace-modified-versioned", "state-modified-inplace",
      "RuntimeError: one of the variables needed for gradient computation has been modified by an "
      "inplace operation: [torch.cuda.FloatTensor [10, 20, 64]], which is output 0 of CudnnRnnBackward, "
      "is at version 1; expected version 0 instead.",
      ("; expected version ", ", which is output "),
      source="https://github.com/lucidrains/x-transformers/pull/55"),
    W("backward-twice", "backward-twice",
      "RuntimeError: Trying to backward through the graph a second time, but the buffers have "
      "already been freed. Specify retain_graph=True when calling backward the first time.",
      ("Trying to backward through the graph a second time",)),
)


def _runs(found: tuple[str, ...], harvested: tuple[str, ...]) -> str:
    """("1.0.1", "1.4.0", "2.0.1") of harvested releases -> "1.0.1-1.4.0, 2.0.1" (contiguous runs)."""
    if not found:
        return "none of the releases read (known from user reports)"
    runs: list[list[str]] = []
    previous = -2
    for version in found:
        i = harvested.index(version)
        if i == previous + 1:
            runs[-1].append(version)
        else:
            runs.append([version])
        previous = i
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def cuda_only(found: tuple[str, ...], harvested: tuple[str, ...], cuda: tuple[str, ...]) -> bool:
    """Found only in CUDA builds, and missing from a CPU-only build read between them: a wording
    of a CUDA kernel (cuDNN, the fused CUDA cells), which CPU wheels cannot show."""
    if not found or not set(found) <= set(cuda):
        return False
    first, last = harvested.index(found[0]), harvested.index(found[-1])
    return any(v not in cuda and v not in found for v in harvested[first:last + 1])


def releases_text(found: tuple[str, ...], harvested: tuple[str, ...], cuda: tuple[str, ...]) -> str:
    if cuda_only(found, harvested, cuda):
        return f"{_runs(found, cuda)} (CUDA builds; CUDA wheels read: {', '.join(cuda)})"
    return _runs(found, harvested)


def listing() -> tuple[list[dict[str, object]], tuple[str, ...]]:
    """Every wording with its releases (from the generated table), and the releases read."""
    from rnnshape.explain.releases import CUDA_HARVESTED, HARVESTED, RELEASES, REPORT_ONLY

    rows = []
    for w in WORDINGS:
        found = RELEASES.get(w.id, ())
        rows.append({"id": w.id, "entry": w.entry, "example": w.example, "releases": list(found),
                     "cuda_only": cuda_only(found, HARVESTED, CUDA_HARVESTED),
                     "releases_text": releases_text(found, HARVESTED, CUDA_HARVESTED) if found or not w.source
                     else f"{REPORT_ONLY.get(w.id, 'reported')}: {w.source}", "source": w.source or None,
                     "note": w.note or None})
    return rows, HARVESTED
