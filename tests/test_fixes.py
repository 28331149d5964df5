"""Every fix rnnshape prints is applied and re-run in real torch (issue 9).

For each diagnosis code that carries a fix, hypothesis generates calls with exactly
that mistake; the fixes that survive rnnshape's verification are then executed *as
printed* (tests/fixcheck.py) and the call re-run in torch: the error must be gone,
and the layer must still read the batch as the batch and time as time (markers in
the input). Zero wrong fixes. A bigger run is behind ``-m slow``.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from fixcheck import apply_and_call, meaning_kept
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import requests

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import FixKind, Verified
from rnnshape.model.fixing import verify_by_model
from rnnshape.model.shapes import Axis, AxisRole, Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BATCH = Axis(AxisRole.BATCH, "the data loader's batch_size")
TIME = Axis(AxisRole.TIME, "seq_len")


@st.composite
def right_calls(draw, modes=("rnn", "lstm", "gru"), states: bool | None = None, proj: bool = False) -> Request:
    """A call that works, with the input's axes known: (batch, time) laid out as the layer reads."""
    mode = draw(st.sampled_from(modes))
    cell = mode.endswith("-cell")
    feat, hid = draw(st.integers(2, 6)), draw(st.integers(1, 6))
    batch = draw(st.integers(1, 5))
    seq = draw(st.integers(1, 5).filter(lambda s: s != batch))
    kw: dict = {}
    if not cell:
        kw = {"num_layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans()),
              "batch_first": draw(st.booleans())}
        if mode == "lstm" and (proj or draw(st.booleans())):
            hid = max(hid, 2)
            kw["proj_size"] = draw(st.integers(1, hid - 1))
    spec = LayerSpec(mode=mode, input_size=feat, hidden_size=hid, given=frozenset({"input_size", "hidden_size",
                                                                                   *kw}), **kw)
    if cell:
        x = TensorArg((batch, feat), origin="x")
        shape_h = shape_c = (batch, hid)
    else:
        layers = spec.state_layers
        bf = spec.batch_first
        x = TensorArg((batch, seq, feat) if bf else (seq, batch, feat), origin="x",
                      axes=(BATCH, TIME, None) if bf else (TIME, BATCH, None))
        shape_h, shape_c = (layers, batch, spec.h_out), (layers, batch, hid)
    with_state = draw(st.booleans()) if states is None else states
    h = TensorArg(shape_h, origin="h_0") if with_state else None
    c = TensorArg(shape_c, origin="c_0") if with_state and spec.is_lstm else None
    return Request(spec, x, h, c, "float32")


def _swap01(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[1], shape[0], *shape[2:])


@st.composite
def mistakes(draw, code: str) -> Request:
    """A right call with exactly the mistake ``code`` names."""
    if code in ("cell-shape-mismatch",):
        req = draw(right_calls(modes=("lstm",), states=True))
        c = req.cell
        bad = (c.shape[0], c.shape[1], c.shape[2] + draw(st.integers(1, 3)))
        return dataclasses.replace(req, cell=TensorArg(bad, origin="c_0"))
    if code == "cell-batch":  # a cell's state built for another batch (the last-batch problem)
        req = draw(right_calls(modes=("rnn-cell", "gru-cell", "lstm-cell"), states=True))
        n = req.hidden.shape[0] + draw(st.integers(1, 30))
        bad = TensorArg((n, req.hidden.shape[1]), origin="h_0")
        return dataclasses.replace(req, hidden=bad, cell=bad if req.cell is not None else None)
    stateful = code.startswith(("hidden", "proj"))
    req = draw(right_calls(modes=("lstm",) if code == "proj-hidden-size" else ("rnn", "lstm", "gru"),
                           states=True if stateful else None if code == "device-mismatch" else False,
                           proj=code == "proj-hidden-size"))
    spec, x = req.spec, req.input
    if code == "input-rank":
        four = (*x.shape[:-1], draw(st.integers(2, 3)), x.shape[-1])
        axes = (*x.axes[:2], None, None) if x.axes else None
        return dataclasses.replace(req, input=TensorArg(four, origin="x", axes=axes))
    if code == "input-size-mismatch":
        feat = x.shape[-1] + draw(st.integers(1, 3))
        return dataclasses.replace(req, input=dataclasses.replace(x, shape=(*x.shape[:-1], feat)))
    if code == "integer-input":
        ids = x.shape[:-1]  # token ids: (seq, batch) or (batch, seq)
        return dataclasses.replace(req, input=TensorArg(ids, "int64", "ids", largest=draw(st.integers(1, 50))))
    if code == "dtype-mismatch":
        return dataclasses.replace(req, input=dataclasses.replace(x, dtype="float64"))
    if code == "device-mismatch":  # the layer lives on meta, the data on the cpu
        return dataclasses.replace(req, device="meta", input=dataclasses.replace(x, device="cpu"))
    if code == "packing-unsorted":
        batch = x.shape[0] if spec.batch_first else x.shape[1]
        seq = x.shape[1] if spec.batch_first else x.shape[0]
        assume(batch >= 2 and seq >= 2)
        lengths = tuple([1] + [seq] * (batch - 1))
        return dataclasses.replace(req, lengths=lengths, hidden=None, cell=None)
    if code == "dropout-single-layer":
        return dataclasses.replace(req, spec=spec.with_(num_layers=1, dropout=0.5,
                                                         given=spec.given | {"dropout", "num_layers"}))
    if code == "batch-first-suspect":  # the data is (batch, time) but the layer reads the other way
        assume(req.hidden is None)
        flipped = spec.with_(batch_first=not spec.batch_first, given=spec.given | {"batch_first"})
        return dataclasses.replace(req, spec=flipped)
    h = req.hidden
    assume(h is not None)
    layers, batch, size = h.shape
    if code == "hidden-rank":
        return dataclasses.replace(req, hidden=TensorArg((batch, size), origin="h_0"), cell=None
                                   if not spec.is_lstm else TensorArg((batch, spec.hidden_size), origin="c_0"))
    if code == "hidden-layers-mismatch":
        bad = (layers + draw(st.integers(1, 2)), batch, size)
    elif code == "hidden-batch-mismatch":
        bad = (layers, batch + draw(st.integers(1, 30)), size)
    elif code == "hidden-size-mismatch":
        bad = (layers, batch, size + draw(st.integers(1, 3)))
    elif code == "hidden-batch-first":
        if layers == batch:
            batch += 1
            req = dataclasses.replace(req, input=dataclasses.replace(
                x, shape=(batch, *x.shape[1:]) if spec.batch_first else (x.shape[0], batch, x.shape[2])))
        bad = (batch, layers, size)
    elif code == "proj-hidden-size":
        assume(spec.proj_size > 0)
        bad = (layers, batch, spec.hidden_size)
    else:
        raise AssertionError(code)
    new_c = req.cell
    if spec.is_lstm and code != "proj-hidden-size":
        new_c = TensorArg((*bad[:2], spec.hidden_size), origin="c_0") if code != "hidden-rank" else new_c
    return dataclasses.replace(req, hidden=TensorArg(bad, origin="h_0"), cell=new_c)


CODES = ["input-rank", "input-size-mismatch", "integer-input", "dtype-mismatch", "device-mismatch",
         "hidden-rank", "hidden-layers-mismatch", "hidden-batch-mismatch", "hidden-size-mismatch",
         "hidden-batch-first", "proj-hidden-size", "cell-shape-mismatch", "cell-batch",
         "packing-unsorted", "dropout-single-layer", "batch-first-suspect"]


def _expected_code(code: str) -> str:
    return "hidden-batch-mismatch" if code == "cell-batch" else code


def check_fixes_of(req: Request, code: str) -> None:
    found = [d for d in predict(req).diagnoses if d.code == _expected_code(code)]
    assume(found)
    d = verify_by_model(req, found[0])
    checked = [f for f in d.fixes if f.verified is not Verified.UNCHECKED]
    assert checked, f"{code}: no fix survived verification for {req}: {found[0].fixes}"
    for fix in checked:
        ns = apply_and_call(req, fix.code)  # raises if torch still refuses the call
        assert meaning_kept(ns, req), f"{code}: {fix.code!r} makes the layer read batch as time"


def _run(code: str, cases: settings) -> None:
    @cases
    @given(mistakes(code))
    def run(req: Request) -> None:
        check_fixes_of(req, code)
    run()


@pytest.mark.parametrize("code", CODES)
def test_every_verified_fix_works_in_torch_and_keeps_the_axes(code: str) -> None:
    _run(code, FAST)


@pytest.mark.slow
@pytest.mark.parametrize("code", CODES)
def test_every_verified_fix_works_in_torch_many_cases(code: str) -> None:
    _run(code, SLOW)


@FAST
@given(requests())
def test_no_verified_fix_fails_in_torch_on_any_generated_call(req: Request) -> None:
    """Any call at all (right, or wrong in any dimension): a fix the model verified runs in torch
    without raising the error it fixed."""
    pred = predict(req)
    error = pred.error
    assume(error is not None and error.fixes and not error.evidence.get("unsafe_for_torch"))
    d = verify_by_model(req, error)
    for fix in d.fixes:
        if fix.verified is Verified.UNCHECKED:
            continue
        try:
            apply_and_call(req, fix.code)
        except Exception as exc:  # another, later mistake may remain; this one must be gone
            from rnnshape.explain.catalog import code_for

            assert code_for(str(exc)) != d.code, f"{fix.code!r} left {d.code}: {exc}"


def test_a_failing_fix_is_dropped_and_an_unappliable_one_is_unchecked() -> None:
    req = Request(LayerSpec(mode="lstm", input_size=4, hidden_size=3), TensorArg((5, 2, 7)))
    bad = dx.Fix(FixKind.PROJECT, "x = nn.Linear(7, 5)(x)", "x", 5)  # to 5 features: still wrong
    advice = dx.code_fix("# read the docs")
    d = dx.with_verified_fixes(predict(req).error, [bad, advice])
    checked = verify_by_model(req, d)
    assert [f.code for f in checked.fixes] == ["# read the docs"]
    assert checked.fixes[0].verified is Verified.UNCHECKED


def test_diagnosis_keeps_fix_text_and_fixes_in_step() -> None:
    d = dx.hidden_rank(name="h_0", got_rank=3, expected_rank=2, input_rank=2, layer="GRUCell",
                       got_shape=(1, 3, 20), expected_shape=(3, 20))
    assert d.fix == d.fixes[0].code == "h_0 = h_0.squeeze(0)   # (1, 3, 20) -> (3, 20)"
    replaced = dataclasses.replace(d, fix="h_0 = h_0[0]")  # someone rewrote the text
    assert replaced.fixes[0].code == "h_0 = h_0[0]" and replaced.fixes[0].kind is FixKind.CODE
    assert replaced.to_dict()["fixes"][0]["verified"] == "unchecked"
    assert torch.zeros(1, 3, 20).squeeze(0).shape == (3, 20)
