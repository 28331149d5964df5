"""Catalog entries for the constructor's errors (ValueError, TypeError) and torch's warnings.
"""

from __future__ import annotations

import re

from rnnshape import diagnoses as dx
from rnnshape.explain.catalog_core import (
    _RNN_CONTEXT,
    _RNN_EVIDENCE,
    Builder,
    Context,
    Entry,
    _e,
    _layer,
    _simple,
    _with_causes,
)


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


#: This topic's entries, in the catalog's order (earlier entries win overlaps).
ENTRIES: tuple[Entry, ...] = (
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
)
