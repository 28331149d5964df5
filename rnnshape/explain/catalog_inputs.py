"""Catalog entries for the input: its size and rank (sequence layers and cells).
"""

from __future__ import annotations

import re

from rnnshape import diagnoses as dx
from rnnshape.diagnoses import states as sx
from rnnshape.explain.catalog_core import Context, Entry, _e, _ints, _layer, _with_causes


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
    d = dx.input_rank(layer=ctx.layer or "RNN", got_rank=int(m["rank"]), batch_first=ctx.batch_first,
                      torch_message=msg)
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


#: This topic's entries, in the catalog's order (earlier entries win overlaps).
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
)
