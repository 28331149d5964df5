"""Diagnoses for messages only older torch releases print, or that come from loading weights.

Builders in the style of :mod:`rnnshape.diagnoses` (keyword arguments in, a frozen
:class:`~rnnshape.diagnoses.Diagnosis` out, all prose here); kept in their own module so the
shared builders stay untouched.
"""

from __future__ import annotations

from rnnshape.diagnoses import Diagnosis, fmt_shape

#: Gate blocks stacked in the rows of weight_ih/weight_hh/bias: LSTM i,f,g,o; GRU r,z,n; RNN one.
GATES: dict[str, int] = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _hidden_candidates(param: str, shape: tuple[int, ...]) -> dict[str, int]:
    """Hidden size for each layer type that could own a parameter of this shape."""
    rows = shape[0] if shape else 0
    out = {kind: rows // g for kind, g in GATES.items() if g and rows % g == 0 and rows}
    if param.startswith("weight_hh") and len(shape) == 2 and shape[1]:
        # weight_hh is (gates x hidden, hidden) without projections: the ratio names the layer.
        out = {kind: shape[1] for kind, g in GATES.items() if rows == g * shape[1]} or out
    return out


def state_dict_size_mismatch(*, param: str, module: str, checkpoint: tuple[int, ...],
                             model: tuple[int, ...], layer: str | None = None,
                             torch_message: str | None = None) -> Diagnosis:
    """``load_state_dict``: a recurrent weight of the checkpoint has another shape than the model's.

    The rows of every recurrent weight are (number of gates) x hidden_size, so the two shapes
    tell the two hidden sizes; weight_hh's ratio of rows to columns also tells the layer type.
    """
    kinds = [layer] if layer in GATES else None
    ck = _hidden_candidates(param, checkpoint)
    md = _hidden_candidates(param, model)
    if kinds is None:
        common = [k for k in GATES if k in ck and k in md]
        kinds = common[:1] if param.startswith("weight_hh") and len(common) == 1 else common
    where = f"{module}.{param}" if module else param
    input_changed = param.startswith("weight_ih") and len(checkpoint) == 2 and len(model) == 2 \
        and checkpoint[0] == model[0] and checkpoint[1] != model[1]
    if input_changed:
        story = (f"{where} is (gates x hidden_size, input_size): the hidden sizes agree, but the "
                 f"checkpoint was trained with input_size {checkpoint[1]} and the model is built "
                 f"with input_size {model[1]}.")
        kind = kinds[0] if kinds else "LSTM"
        hidden = checkpoint[0] // GATES[kind]
        fix = f"nn.{kind}(input_size={checkpoint[1]}, hidden_size={hidden})   # as in the checkpoint"
        code = "input-size-mismatch"
        evidence_h: dict[str, int] = {}
    else:
        per_kind = [f"{k}: {GATES[k]} x hidden_size, so hidden_size {ck[k]} in the checkpoint and "
                    f"{md[k]} in the model" for k in kinds if k in ck and k in md]
        story = (f"{where} holds one block of rows per gate (LSTM 4, GRU 3, RNN 1) of hidden_size "
                 f"rows each. The checkpoint's {fmt_shape(checkpoint)} and the model's "
                 f"{fmt_shape(model)} give " + ("; ".join(per_kind) if per_kind else
                                                 "no whole number of gates") + ".")
        if len(per_kind) == 1:
            k = kinds[0]
            story += (f" The model is built with hidden_size {md[k]}; the checkpoint was trained "
                      f"with hidden_size {ck[k]}.")
            fix = (f"nn.{k}(input_size, hidden_size={ck[k]})   # the checkpoint's size\n"
                   f"# or load only matching weights: model.load_state_dict(sd, strict=False) "
                   f"after deleting {where}")
        else:
            fix = ("hidden_size = <the checkpoint's>   # build the layer as it was trained\n"
                   "# LSTM: rows / 4, GRU: rows / 3, RNN: rows")
        code = "hidden-size-mismatch"
        evidence_h = {k: {"checkpoint": ck[k], "model": md[k]} for k in kinds if k in ck and k in md}
    return Diagnosis(
        code=code, severity="error",
        title=f"load_state_dict: {where} is {fmt_shape(checkpoint)} in the checkpoint, "
              f"{fmt_shape(model)} in the model",
        explanation=story, fix=fix,
        evidence={"parameter": where, "checkpoint": list(checkpoint), "model": list(model),
                  "hidden_sizes": evidence_h, "torch_message": torch_message})


def legacy_inconsistent_size(*, sizes: tuple[tuple[int, ...], ...],
                             torch_message: str | None = None) -> Diagnosis:
    """torch before 0.4 had no shape checks in recurrent layers: a wrong state surfaced as TH's
    "inconsistent tensor size" from inside the cell's arithmetic."""
    shown = ", ".join(fmt_shape(s) for s in sizes) if sizes else "the tensors' sizes"
    return Diagnosis(
        code="hidden-size-mismatch", severity="error",
        title="inconsistent tensor size inside the recurrent layer (torch before 0.4)",
        explanation=(
            "torch releases before 0.4 did not check the shapes given to recurrent layers; a "
            "state (h_0, c_0) whose batch or hidden size differs from the input's surfaced as "
            f"TH's 'inconsistent tensor size' in the gate arithmetic ({shown}). torch 0.4 and "
            "later name the wrong state and its expected shape."),
        fix=("h_0 = torch.zeros(num_layers * num_directions, batch, hidden_size)   # batch from x\n"
             "# run once on torch >= 0.4 for the exact expected shape"),
        evidence={"sizes": [list(s) for s in sizes], "torch_message": torch_message})
