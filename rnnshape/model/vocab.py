"""The words every layer of rnnshape shares: dtypes, gate counts, and the small vocabularies
(roles, kinds, statuses) that travel between modules.

Written once here so that the shape model, the engine, ``check``, ``trace`` and the
follower cannot drift apart. Pure Python, no torch.
"""

from __future__ import annotations

from typing import Literal, get_args

#: The dtypes a recurrent layer can be built with (``--dtype``, a case's ``dtype``).
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float64", "float16", "bfloat16")
#: Integer and boolean dtypes an input may carry (token ids, masks).
INT_DTYPES: tuple[str, ...] = ("int64", "int32", "int16", "int8", "uint8", "bool")
#: Bytes per element, for memory estimates.
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8,
                               "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}
#: Every spelling torch accepts for a dtype (``torch.long``, ``x.half()``), to its canonical name.
DTYPE_ALIASES: dict[str, str] = {
    "float": "float32", "float32": "float32", "double": "float64", "float64": "float64",
    "half": "float16", "float16": "float16", "bfloat16": "bfloat16", "long": "int64",
    "int64": "int64", "int": "int32", "int32": "int32", "short": "int16", "int16": "int16",
    "int8": "int8", "uint8": "uint8", "bool": "bool",
}
#: The tensor methods that cast (``x.float()``, ``x.long()``) and the dtype they give.
DTYPE_METHODS: dict[str, str] = {"float": "float32", "double": "float64", "half": "float16",
                                 "bfloat16": "bfloat16", "long": "int64", "int": "int32", "short": "int16",
                                 "bool": "bool", "byte": "uint8", "char": "int8"}

#: A recurrent layer's mode: the CLI's word for each torch class (``spec.MODES`` maps it to the class name).
Mode = Literal["rnn", "lstm", "gru", "rnn-cell", "lstm-cell", "gru-cell"]
#: Gate blocks per layer, by mode: weight_ih is (gates * hidden_size, input_size).
GATES: dict[Mode, int] = {"rnn": 1, "lstm": 4, "gru": 3, "rnn-cell": 1, "lstm-cell": 4, "gru-cell": 3}

#: What a followed tensor is to ``diagnose`` (a layer's output or state, a slice of h_n, logits per step).
TensorRole = Literal["output", "h_n", "c_n", "h_n-slice", "h_n-backward", "logits-per-step",
                     "output-directions"]
#: The nn modules ``diagnose`` follows, by class name: recurrent layers and cells, activations and dropouts
#: (elementwise: the shape passes through), losses, and the three that change shapes.
RecurrentKind = Literal["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
ElementwiseKind = Literal["ReLU", "Tanh", "Sigmoid", "GELU", "LeakyReLU", "ELU", "SELU", "Softmax", "LogSoftmax",
                          "Identity", "Dropout", "Dropout1d", "AlphaDropout", "LayerNorm", "Softplus", "Mish",
                          "SiLU", "Hardtanh", "PReLU"]
LossKind = Literal["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
                   "SmoothL1Loss", "HuberLoss"]
#: Convolutions, pooling, batch norm and Flatten: each a module spelling of one functional op (rules_conv.py).
ModuleOpKind = Literal["Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "BatchNorm1d",
                       "BatchNorm2d", "Flatten"]
LayerKind = Literal[RecurrentKind, ElementwiseKind, LossKind, ModuleOpKind, "Linear", "Embedding", "Sequential"]
#: A followed sequence: a tuple, a list, a ``.shape``/``.size()`` (size), a list of unknown length.
TupKind = Literal["tuple", "list", "size", "unknown-list"]
#: What a followed tuple is: a recurrent layer's ``(output, state)`` or an LSTM's ``(h, c)``.
TupRole = Literal["outputs", "state"]
#: Is a == b? for every size (``equal``/``differ``), by binding an unknown (``bind``), or ``unknown``.
VerdictKind = Literal["equal", "differ", "bind", "unknown"]
#: Where a ``diagnose`` finding comes from: the static follower, a pasted traceback, or ``--run``.
FindingSource = Literal["static", "traceback", "run"]
#: A traced call's input or output: a tensor, a PackedSequence, None, or anything else.
ValueKind = Literal["tensor", "packed", "none", "other"]
#: A traced call: still running, finished, raised here, or a sub-call raised inside it.
CallStatus = Literal["running", "ok", "failed", "inside"]

#: The names of each layer vocabulary, as sets (``name in ELEMENTWISE_KINDS``).
RECURRENT_KINDS: frozenset[str] = frozenset(get_args(RecurrentKind))
ELEMENTWISE_KINDS: frozenset[str] = frozenset(get_args(ElementwiseKind))
LOSS_KINDS: frozenset[str] = frozenset(get_args(LossKind))
MODULE_OP_KINDS: frozenset[str] = frozenset(get_args(ModuleOpKind))

#: A ``check`` case's outcome.
CaseStatus = Literal["passed", "failed", "error", "skipped"]
CASE_STATUSES: tuple[CaseStatus, ...] = ("passed", "failed", "error", "skipped")


def gates(mode: Mode) -> int:
    """Gate blocks of ``mode`` (``lstm`` -> 4): the multiplier of hidden_size in the weights."""
    return GATES[mode]
