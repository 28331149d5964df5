"""Diagnoses that only the static follower of ``rnnshape diagnose`` makes: their prose, written once here.

The follower never writes a title, an explanation or a fix itself: it calls these builders (and
those of :mod:`rnnshape.diagnoses`). :func:`with_sizes` is the one place where a finished
diagnosis is re-rendered: the shape model ran on placeholder numbers for symbolic sizes
(``hidden_size`` -> 100003), and its text is given back the symbols' names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rnnshape.diagnoses import CODES, Diagnosis, batch_first_suspect, classifier_whole_sequence, unpack_outputs

#: The codes only the follower emits (registered in :data:`rnnshape.diagnoses.CODES`).
FOLLOW_CODES: dict[str, str] = {
    "bidirectional-one-direction": "h_n[-1] of a bidirectional layer is the backward direction alone",
    "bidirectional-last-step": "output[:, -1] of a bidirectional layer: its backward half has seen one step",
    "state-read-batch-first": "h_n indexed as if it were batch-first; states are (layers, batch, hidden)",
    "output-feature-index": "a recurrent output indexed on its feature axis (out[:, :, -1])",
    "last-batch-smaller": "the DataLoader's last batch is smaller than batch_size, and a line needs the full size",
    "unknown-keyword": "a keyword a recurrent layer's forward does not take (h_0= for hx=)",
}
for _code, _meaning in FOLLOW_CODES.items():
    CODES.setdefault(_code, _meaning)


def with_sizes(d: Diagnosis, rewrite: Callable[[Any], Any]) -> Diagnosis:
    """``d`` with the placeholder numbers of symbolic sizes written back as the sizes' names."""
    return replace(d, title=rewrite(d.title), explanation=rewrite(d.explanation), fix=rewrite(d.fix),
                   evidence=rewrite(dict(d.evidence)))


def only_when(d: Diagnosis, condition: str) -> Diagnosis:
    """``d`` found only when the model is built with a flag its constructor defaults otherwise (the deciding
    value named in the title, the explanation and the evidence)."""
    return replace(d, title=f"{d.title} (with {condition})",
                   explanation=(f"With {condition} (the constructor takes the flag; its default does not show "
                                f"this): {d.explanation}"),
                   evidence={**d.evidence, "only_when": condition})


def as_error(d: Diagnosis, torch_message: str | None = None) -> Diagnosis:
    """A warning that the code reaches a failing line with (the classifier's loss): an error."""
    return replace(d, severity="error", evidence={**d.evidence, "torch_message": torch_message})


def classifier_loss(*, batch_first: bool, torch_message: str | None) -> Diagnosis:
    return as_error(classifier_whole_sequence(layer="the classifier", batch_first=batch_first), torch_message)


def gru_state_split(*, target: str, layer: str, n: int, expected: int) -> Diagnosis:
    base = unpack_outputs(expected=expected, got=n, too_many=False, layer=layer, torch_message=None)
    return Diagnosis(
        code="unpack-outputs", severity="warning",
        title=f"{target} splits h_n's {n} layers/directions: a GRU or RNN has no cell state",
        explanation=base.explanation + f" Here h_n's first dimension happens to be {n}, so nothing fails: "
        "the names get one layer or direction each.",
        fix=base.fix, evidence={**base.evidence, "layers": n})


def state_index_is_c(*, expr: str, base: str, layer: str) -> Diagnosis:
    return Diagnosis(
        code="state-tuple-as-tensor", severity="warning",
        title=f"{expr} is c_n, the LSTM's cell state, not the last layer's h_n",
        explanation=(f"{base} holds the LSTM's state tuple (h_n, c_n), so {expr} picks c_n, the cell state, "
                     "rather than indexing h_n. The shapes work, but the classifier reads the wrong tensor. "
                     "Unpack the tuple: out, (h_n, c_n) = lstm(x), then use h_n[-1]."),
        fix="out, (h_n, c_n) = lstm(x)\nlast = h_n[-1]          # the last layer's final hidden state",
        evidence={"layer": layer, "where": expr, "torch_message": None})


def batch_first_from_code(*, layer: str, origin: str, shape: tuple[Any, ...], batch_first: bool,
                          batch_dim: int, because: str, rebuilt_code: str | None) -> Diagnosis:
    """The layer reads the batch axis as time, and the code says which axis is the batch."""
    base = batch_first_suspect(shape=shape, batch_first=batch_first, rebuilt_code=rebuilt_code)
    reading = "batch, seq_len" if batch_first else "seq_len, batch"
    return Diagnosis(
        code="batch-first-suspect", severity="warning",
        title=f"{layer} reads dimension {1 - batch_dim} of {origin} as the batch, but the code says it is "
              f"dimension {batch_dim}",
        explanation=(f"{layer} reads {origin} {_fmt(shape)} as ({reading}, features), but the code says "
                     f"dimension {batch_dim} is the batch ({because}). The shapes still work, so nothing "
                     "fails: the layer recurs over the batch and treats the time steps as independent "
                     f"sequences. Build it with batch_first={not batch_first}, or transpose the input."),
        fix=(rebuilt_code or f"{layer}(..., batch_first={not batch_first})") + "\n# or: x = x.transpose(0, 1)",
        evidence={**base.evidence, "batch_dimension": batch_dim, "because": because, "layer": layer})


def _fmt(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def one_direction(*, expr: str, base: str, layer: str, hidden: Any, error: bool,
                  torch_message: str | None = None, picture: dict[str, Any] | None = None) -> Diagnosis:
    """``fc(h_n[-1])`` after a bidirectional layer: the last layer's backward direction alone."""
    both = f"torch.cat([{base}[-2], {base}[-1]], dim=1)"
    tail = ("so it has hidden_size features, not the 2 * hidden_size the Linear was built for. Do not "
            "shrink the Linear: that would silently drop the forward direction." if error else
            "and the shapes work only because the Linear was built for hidden_size features: the forward "
            "direction's summary of the sequence is thrown away.")
    return Diagnosis(
        code="linear-mismatch" if error else "bidirectional-one-direction",
        severity="error" if error else "warning",
        title=f"{expr} is only the backward direction of bidirectional {layer}",
        explanation=(f"For a bidirectional {layer}, h_n is (num_layers * 2, batch, hidden_size) with the "
                     f"directions interleaved: {base}[-2] is the last layer's forward direction and {base}[-1] "
                     f"its backward direction. {expr} is the backward direction alone ({hidden} features), "
                     f"{tail} Concatenate both directions, {both}, which has 2 * hidden_size features."),
        fix=f"last = {both}     # (batch, 2 * hidden_size)",
        evidence={"expr": expr, "hidden_size": hidden, "torch_message": torch_message, "picture": picture})


def last_step_bidirectional(*, expr: str, base: str, layer: str, batch_first: bool,
                            picture: dict[str, Any] | None = None) -> Diagnosis:
    h = "h_n"
    state = "(h_n, c_n)" if layer.endswith("LSTM") else "h_n"
    return Diagnosis(
        code="bidirectional-last-step", severity="warning",
        title=f"{expr} of bidirectional {layer}: the backward half has seen one time step",
        explanation=(f"The output of a bidirectional {layer} is [forward; backward] at every step. At the last "
                     "step the forward half has read the whole sequence, but the backward half has read only "
                     f"that one step (it runs from the end). Use the final states of both directions, "
                     f"torch.cat([{h}[-2], {h}[-1]], dim=1), which each summarise the whole sequence."),
        fix=f"{base}, {state} = rnn(x)\nlast = torch.cat([{h}[-2], {h}[-1]], dim=1)   # (batch, 2 * hidden_size)",
        evidence={"expr": expr, "base": base, "batch_first": batch_first, "torch_message": None,
                  "picture": picture})


def state_read_batch_first(*, expr: str, base: str, layer: str) -> Diagnosis:
    return Diagnosis(
        code="state-read-batch-first", severity="warning",
        title=f"{expr} reads h_n as if it were batch-first",
        explanation=(f"batch_first=True changes the layout of the input and the output only. The states of "
                     f"{layer} are always (num_layers * num_directions, batch, hidden_size), so {expr} picks "
                     f"along the batch axis, not the last layer. The last layer's final state is {base}[-1]."),
        fix=f"last = {base}[-1]        # (batch, hidden_size)",
        evidence={"expr": expr, "torch_message": None})


def output_feature_index(*, expr: str, base: str, batch_first: bool | None, inferred: str | None = None) -> Diagnosis:
    """``output[:, :, -1]``: the feature axis is last whatever the layout (``batch_first=None``: not known)."""
    if batch_first is None:
        layout = "(batch, seq_len, features) with batch_first=True, (seq_len, batch, features) otherwise"
        last = f"{base}[:, -1] (batch_first=True) or {base}[-1]"
        fix = f"last = {base}[:, -1]      # batch_first=True: (batch, features)\n# or: last = {base}[-1]"
    else:
        layout = f"({'batch, seq_len' if batch_first else 'seq_len, batch'}, features)"
        last = f"{base}[:, -1]" if batch_first else f"{base}[-1]"
        fix = f"last = {last}      # (batch, features)"
    because = f" ({inferred}.)" if inferred else ""
    return Diagnosis(
        code="output-feature-index", severity="warning",
        title=f"{expr} picks one feature of every step, not the last time step",
        explanation=(f"The output is {layout}, so {expr} indexes the feature axis: one number per step. The last "
                     f"time step is {last}.{because}"),
        fix=fix,
        evidence={"expr": expr, "batch_first": batch_first, "inferred": inferred, "torch_message": None})


def last_batch_smaller(*, rows: int, batch_size: int, last: int, torch_message: str | None,
                       inner: Diagnosis) -> Diagnosis:
    return Diagnosis(
        code="last-batch-smaller", severity="error",
        title=f"the DataLoader's last batch has {last} rows, not {batch_size}, and this line needs {batch_size}",
        explanation=(f"The DataLoader splits {rows} rows into batches of {batch_size}; the last one holds "
                     f"{rows} % {batch_size} = {last}. {inner.title}: the state must follow the batch it meets. "
                     "Build it from the input (x.size(0) batch-first, x.size(1) otherwise), or pass "
                     "drop_last=True to the DataLoader."),
        fix=("batch = x.size(0)   # x.size(1) when batch_first=False\n"
             "h0 = torch.zeros(num_layers, batch, hidden_size)\n"
             "# or: DataLoader(..., drop_last=True)"),
        evidence={"rows": rows, "batch_size": batch_size, "last": last, "inner": inner.code,
                  "torch_message": torch_message})


#: The keywords a recurrent layer's forward takes, by kind (torch's signatures: ``forward(input, hx=None)``).
FORWARD_KEYWORDS = frozenset({"input", "hx"})
#: Names users give the state argument (the documentation's h_0, c_0, or a variable's name).
STATE_KEYWORDS = frozenset({"h_0", "h0", "hidden", "h", "hx", "state", "states", "hidden_state", "h_c"})


def unknown_keyword(*, keyword: str, layer: str, kind: str) -> Diagnosis:
    """``rnn(x, h_0=h)``: forward() takes ``input`` and ``hx`` only (the docs name the states h_0, c_0)."""
    state = keyword in STATE_KEYWORDS
    return Diagnosis(
        code="unknown-keyword", severity="error",
        title=f"{layer}'s forward takes no keyword {keyword}=",
        explanation=(f"{layer}(...) is forward(input, hx=None): its only keywords are input= and hx=. "
                     + (f"The documentation calls the initial state h_0 (and c_0 for an LSTM), but the argument "
                        f"is named hx: pass hx={keyword}'s value, or give it positionally."
                        if state else f"{keyword}= is not one of them.")),
        fix=("out, h_n = rnn(x, hx=h_0)        # or rnn(x, h_0), positionally" if state else
             "out, h_n = rnn(x, hx)"),
        evidence={"keyword": keyword, "layer": layer,
                  "torch_message": f"{kind}.forward() got an unexpected keyword argument '{keyword}'"})


def state_view_mixes_batch(*, expr: str, base: str, layer: str) -> Diagnosis:
    """A view of h_n that does not keep its (num_layers * num_directions) axis apart from the batch."""
    return Diagnosis(
        code="state-read-batch-first", severity="warning",
        title=f"{expr} mixes h_n's layers/directions axis into the batch",
        explanation=(f"The final state of {layer} is (num_layers * num_directions, batch, hidden_size), batch "
                     f"second, whatever batch_first says. Viewing it as {expr} reads it in memory order, so each "
                     "new row takes values from several sequences of the batch (the shapes work, the numbers "
                     "are mixed). Move the batch first, then flatten: "
                     f"{base}.permute(1, 0, 2).reshape({base}.size(1), -1), or take {base}[-1] for the last "
                     "layer (torch.cat([h_n[-2], h_n[-1]], dim=1) for both directions)."),
        fix=f"state = {base}.permute(1, 0, 2).reshape({base}.size(1), -1)   # (batch, layers * dirs * hidden)",
        evidence={"expr": expr, "torch_message": None})


def last_batch_reaches_layer(*, name: str, batch_size: str, layer: str, made_at: int) -> Diagnosis:
    """The call a state made once for full batches reaches: where torch raises on a smaller last batch."""
    return Diagnosis(
        code="last-batch-smaller", severity="warning",
        title=f"{layer} raises here if the DataLoader's last batch is smaller than {batch_size}: {name} (line "
              f"{made_at}) is made once for {batch_size} rows",
        explanation=(f"Every batch reaches {layer} with the state {name}, built at line {made_at} for {batch_size} "
                     "rows. The DataLoader does not drop its last batch, which holds len(dataset) % batch_size rows: "
                     f"unless the data size is a multiple of {batch_size}, this call raises on it (Expected "
                     "hidden size ...). Build the state from each batch, or pass drop_last=True to the DataLoader."),
        fix=("for inputs, labels in loader:\n"
             "    h = net.init_hidden(inputs.size(0))   # the batch this step really has\n"
             "# or: DataLoader(..., drop_last=True)"),
        evidence={"name": name, "batch_size": batch_size, "made_at": made_at, "torch_message": None})


def last_batch_may_be_smaller(*, name: str, batch_size: str, layer: str) -> Diagnosis:
    """A state made once with the DataLoader's batch size, fed to a layer batch after batch."""
    return Diagnosis(
        code="last-batch-smaller", severity="warning",
        title=f"{name} is made once for batches of {batch_size}, but the DataLoader's last batch may be smaller",
        explanation=(f"{name} is built before the loop with {batch_size} rows and given to {layer} on every batch. "
                     "The DataLoader does not drop its last batch, which holds len(dataset) % batch_size rows "
                     f"when the data size is not a multiple of {batch_size}: there {layer} raises (Expected hidden "
                     "size ...). Build the state from each batch (x.size(0) batch-first, x.size(1) otherwise), or "
                     "pass drop_last=True to the DataLoader."),
        fix=("for inputs, labels in loader:\n"
             "    h = net.init_hidden(inputs.size(0))   # the batch this step really has\n"
             "# or: DataLoader(..., drop_last=True)"),
        evidence={"name": name, "batch_size": batch_size, "torch_message": None})
