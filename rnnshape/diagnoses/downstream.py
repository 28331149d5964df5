"""Builders for mistakes around the layer: its outputs used downstream, and what diagnose follows."""

from __future__ import annotations

from rnnshape.diagnoses.fixes import code_fix
from rnnshape.diagnoses.record import Diagnosis, _d, _reworded

# --------------------------------------------------------------------------- explain: downstream


def output_tuple(*, layer: str = "the recurrent layer", where: str = "",
                 torch_message: str | None = None) -> Diagnosis:
    at = f" ({where})" if where else ""
    lstm = "LSTM" in layer
    shape = "(output, (h_n, c_n))" if lstm else "(output, h_n)"
    return _d(
        "output-tuple", f"{layer}'s output tuple used as a tensor{at}",
        f"{layer} returns a tuple {shape}, not a tensor. The tuple was passed on as if it "
        "were the output tensor, for example into nn.Linear, another recurrent layer, "
        "nn.Sequential, or a .size()/.view() call. Unpack it first: keep output for the "
        "per-step features, or h_n for one vector per sequence.",
        ("out, (h_n, c_n) = self.lstm(x)\n" if lstm or layer == "the recurrent layer"
         else "out, h_n = self.rnn(x)\n")
        + "y = self.fc(out)        # every time step\n"
        "# or: y = self.fc(h_n[-1])   # last layer's final state, one per sequence\n"
        "# in nn.Sequential, wrap the layer in a module that returns only `out`",
        {"layer": layer, "where": where, "torch_message": torch_message})


def state_tuple_method(*, attr: str, torch_message: str | None = None) -> Diagnosis:
    """``'tuple' object has no attribute 'detach'``: an LSTM's (h, c) state treated as one tensor."""
    d = output_tuple(layer="nn.LSTM", where=f".{attr}()", torch_message=torch_message)
    method = "detach" if attr == "data" else attr
    return _reworded(d, explanation=(
        f"An LSTM's state is the tuple (h, c), and a tuple has no .{attr}(). Apply it to "
        "each tensor of the state."), fix=code_fix(f"hidden = tuple(h.{method}() for h in hidden)"))


def unpack_outputs(*, expected: int | None, got: int | None, too_many: bool,
                   layer: str = "the recurrent layer", packed: bool = False,
                   torch_message: str | None = None) -> Diagnosis:
    """``packed``: the line unpacked a PackedSequence, which has had 4 fields since torch 1.1."""
    if too_many:
        title = f"too many values to unpack (expected {expected}" + (
            f", got {got})" if got is not None else ")")
    else:
        title = f"not enough values to unpack (expected {expected}, got {got})"
    lines = [
        "nn.LSTM returns 2 values, (output, (h_n, c_n)); nn.GRU and nn.RNN return 2 "
        "values, (output, h_n). The line that failed unpacked "
        + (f"into {expected} names" if expected else "into the wrong number of names")
        + (f" but got {got}." if got is not None else ".")
    ]
    if not too_many and expected == 3 and got == 2:
        lines.append("Writing out, h, c = lstm(x) expects 3 values: the LSTM's two states "
                     "come back nested in one tuple.")
    elif not too_many and expected == 2 and got == 1:
        lines.append("A GRU's or RNN's h_n is a single tensor; unpacking it as (h, c) "
                     "iterates over its first dimension, which has size 1 "
                     "(num_layers x num_directions).")
    elif too_many and expected == 2:
        lines.append("Unpacking a tensor iterates over its first dimension: a state "
                     "(num_layers x num_directions, batch, hidden) unpacked as (h, c) fails "
                     "when that dimension is not 2, and silently splits layers when it is.")
    fix = ("data, batch_sizes = packed.data, packed.batch_sizes\n"
           "# or all four: data, batch_sizes, sorted_indices, unsorted_indices = packed") if packed else (
        "out, (h_n, c_n) = lstm(x, (h_0, c_0))   # LSTM\n"
        "out, h_n = gru(x, h_0)                  # GRU and RNN")
    return _d(
        "unpack-outputs", title, " ".join(lines), fix,
        {"expected": expected, "got": got, "layer": layer, "torch_message": torch_message})


def gru_given_tuple(*, layer: str = "GRU", torch_message: str | None = None) -> Diagnosis:
    return _d(
        "gru-given-tuple", f"{layer} was given a tuple as its state",
        f"{layer} has one state, h, and takes it as a single tensor (num_layers x "
        "num_directions, batch, hidden_size). Only an LSTM takes the tuple (h_0, c_0). A "
        "tuple here usually comes from code written for an LSTM, or from passing the whole "
        "(output, h_n) tuple back in as the state.",
        "out, h_n = gru(x, h_0)          # h_0: a tensor, not (h_0, c_0)\n"
        "# carrying state across calls: out, h = gru(x, h)",
        {"layer": layer, "torch_message": torch_message})


def linear_mismatch(*, rows: int, got: int, expected: int, out_features: int | None = None,
                    meta: bool = False, torch_message: str | None = None) -> Diagnosis:
    """``mat1 and mat2 shapes cannot be multiplied (rows x got and expected x out)``."""
    out = out_features if out_features is not None else "out_features"
    story = [
        f"A Linear layer built with in_features={expected} received features of size {got} "
        f"(the input, flattened to rows, is {rows} x {got}; the weight, transposed, is "
        f"{expected} x {out})."
    ]
    causes = []
    if got == 2 * expected:
        story.append(
            f"{got} = 2 x {expected}: a bidirectional recurrent layer concatenates both "
            f"directions, so its output has 2 x hidden_size = {got} features.")
        causes.append(f"bidirectional=True doubles the output features to {got}; build "
                      f"nn.Linear({got}, {out})")
    if expected and got % expected == 0 and got // expected > 2:
        k = got // expected
        story.append(
            f"{got} = {k} x {expected}: the output was flattened over time (seq_len {k} x "
            f"hidden {expected}), e.g. out.view(batch, -1) or out.reshape(batch, -1).")
        causes.append(f"the output was flattened over {k} time steps; take one step "
                      "(out[:, -1]) or apply the Linear per step")
    elif got == 2 * expected:
        causes.append("the output was flattened over 2 time steps (out.view(batch, -1)); take "
                      "one step (out[:, -1]) or apply the Linear per step")
    if expected == 2 * got:
        story.append(
            f"{expected} = 2 x {got}: the Linear expects both directions, but the layer "
            "(or the slice you took, such as h_n[-1]) has one.")
        causes.append("the Linear was built for a bidirectional layer; the input holds one "
                      "direction (h_n[-1] is the last direction only)")
    causes.append(f"the Linear's in_features does not match the feature size {got}")
    fix = (f"self.fc = nn.Linear({got}, {out})   # in_features = the size you actually feed\n"
           f"# bidirectional: in_features = 2 * hidden_size;  last step only: out[:, -1, :]")
    return _d(
        "linear-mismatch", f"Linear expects {expected} features, got {got}", " ".join(story),
        fix, {"rows": rows, "got": got, "expected": expected, "out_features": out_features,
              "meta": meta, "causes": causes, "torch_message": torch_message})


# --------------------------------------------------------------------------- diagnose: around the layers


def unknown_shape(*, what: str, reason: str, hint: str | None = None) -> Diagnosis:
    hint_text = f" Give it with {hint} and rnnshape follows on." if hint else ""
    return _d(
        "unknown-shape", f"cannot follow {what}",
        f"rnnshape follows shapes without running the code, and {reason}. It does not guess: "
        f"the shapes after this point are not checked.{hint_text}",
        f"rnnshape diagnose snippet.py {hint}" if hint and hint.startswith("--shape") else "",
        {"what": what, "reason": reason, "hint": hint}, severity="info")


def shape_op(*, op: str, detail: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "shape-op", f"{op}: {detail}",
        f"{detail[:1].upper()}{detail[1:]}. This is a plain tensor operation, before or after the "
        "recurrent layer: check which dimension holds what (batch, time steps, features) at this "
        "line; the margin shows each tensor's shape.",
        "# print the shapes just before this line:\nprint(x.shape)",
        {"op": op, "detail": detail, "torch_message": torch_message})


def state_tuple_as_tensor(*, layer: str = "nn.LSTM", where: str = "",
                          torch_message: str | None = None) -> Diagnosis:
    at = f" ({where})" if where else ""
    return _d(
        "state-tuple-as-tensor", f"{layer}'s state tuple (h_n, c_n) used as a tensor{at}",
        f"{layer} returns (output, (h_n, c_n)): its state is a tuple of two tensors. Writing "
        "out, h = lstm(x) puts that whole tuple in h, so h is not the hidden state tensor: "
        "h.size() and nn.Linear(h) fail, and h[-1] silently picks c_n, the cell state.",
        "out, (h_n, c_n) = lstm(x)\nlast = h_n[-1]          # the last layer's final hidden state",
        {"layer": layer, "where": where, "torch_message": torch_message})


def embedding_float_input(*, dtype: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "embedding-float-input", f"nn.Embedding got {dtype} values, not token ids",
        f"nn.Embedding looks rows up by integer index: its input must hold token ids (int64 or "
        f"int32), but it got {dtype}. Float features need no embedding: feed them to the recurrent "
        "layer directly (input_size = the number of features), or pass the ids as a LongTensor.",
        "x = x.long()              # if x really holds token ids\n"
        "# float features: drop the embedding, nn.LSTM(input_size=n_features, ...)",
        {"dtype": dtype, "torch_message": torch_message})


def embedding_index_range(*, largest: int, num_embeddings: int,
                          torch_message: str | None = None) -> Diagnosis:
    return _d(
        "embedding-index-range",
        f"token id {largest} is out of range for nn.Embedding({num_embeddings}, ...)",
        f"nn.Embedding(num_embeddings={num_embeddings}) has rows 0..{num_embeddings - 1}, but the "
        f"input holds ids up to {largest}. num_embeddings must be the vocabulary size: the largest "
        "id + 1 (count the padding and unknown tokens too).",
        f"embed = nn.Embedding(num_embeddings={largest + 1}, embedding_dim=...)   # vocab_size = max id + 1",
        {"largest": largest, "num_embeddings": num_embeddings, "torch_message": torch_message})


def classifier_whole_sequence(*, layer: str = "the classifier", batch_first: bool = True,
                              torch_message: str | None = None) -> Diagnosis:
    last = "out[:, -1, :]" if batch_first else "out[-1]"
    return _d(
        "classifier-whole-sequence", f"{layer} is fed the whole output sequence",
        f"The recurrent layer's output holds one vector per time step, and {layer} is applied to all "
        "of them, giving one prediction per step. For one prediction per sequence (a label, a "
        f"sentiment, a class), feed it the last step ({last}) or the final hidden state h_n[-1], or "
        "pool over time.",
        f"logits = self.fc({last})     # or self.fc(h_n[-1]), or out.mean(dim={1 if batch_first else 0})",
        {"layer": layer, "batch_first": batch_first, "torch_message": torch_message},
        severity="warning")


def output_last_step_batch_first(*, expr: str, base: str = "output") -> Diagnosis:
    return _d(
        "output-last-step-batch-first", f"{expr} is the last sequence of the batch, not the last step",
        f"With batch_first=True the output is (batch, seq_len, features), so {expr} indexes the "
        f"batch: it is the whole last sequence, (seq_len, features). The shapes may still work, "
        f"silently. The last time step of every sequence is {base}[:, -1]; h_n[-1] is the same for a "
        "one-directional layer without padding.",
        f"last = {base}[:, -1]        # (batch, features)\n# or: last = h_n[-1]",
        {"expr": expr, "torch_message": None}, severity="warning")


#: The last step of each sequence, whatever the layer's layout (the user's names: out, rnn).
_LAST_STEP = "last = out[:, -1] if rnn.batch_first else out[-1]   # last steps"
_CLASSIFY_LAST_STEP = f"{_LAST_STEP}\nlogits = fc(last)   # (batch, classes): one row per label"


def loss_batch_mismatch(*, rows: int, labels: int, torch_message: str | None = None) -> Diagnosis:
    """``Expected input batch_size (320) to match target batch_size (32)`` after a recurrent layer: the logits
    are one row per time step and the labels one per sequence (rows = k x labels), or the reverse; other
    ratios are the time steps of one sequence taken for the batch (out[-1] of a batch-first output)."""
    evidence = {"rows": rows, "labels": labels, "torch_message": torch_message}
    many, few = max(rows, labels), min(rows, labels)
    if rows != labels and many % few == 0:
        steps = many // few
        if rows > labels:
            kind, why, fix = (
                "one per time step",
                "The classifier was applied to every step of the recurrent layer's output and the steps were "
                "flattened into rows, while the labels are one per sequence. Classify each sequence once, from its "
                "last step (or from h_n[-1], or a mean over time).",
                _CLASSIFY_LAST_STEP)
        else:
            kind, why, fix = (
                "one label per time step",
                "The labels are one per step, but the model gives one prediction per sequence. Keep a prediction "
                "for every step and flatten both the same way.",
                "logits = fc(out)   # one prediction per step: (..., seq_len, classes)\n"
                "loss = criterion(logits.reshape(-1, logits.size(-1)), y.reshape(-1))")
        return _d(
            "loss-batch-mismatch", f"{rows} predictions for {labels} labels: {kind}",
            f"The loss got {rows} rows of logits but {labels} labels: {many} = {few} sequences x {steps} "
            f"time steps. {why}", fix, {**evidence, "steps": steps})
    return _d(
        "loss-batch-mismatch", f"{rows} predictions for {labels} labels",
        f"The loss got {rows} rows of logits but {labels} labels, and neither is a multiple of the other. "
        "After a recurrent layer this is most often the time axis taken for the batch: with batch_first=True, "
        f"out[-1] is the last sequence (seq_len rows), not the last step of every sequence. Print out.shape "
        "and y.shape: the batch is the axis whose size the labels have.",
        _CLASSIFY_LAST_STEP, {**evidence, "deciding_fact": "which axis of out has the labels' size (the batch)"})
