"""Packed sequences: the shape model against real pack_padded_sequence + forward + pad_packed_sequence."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnshape.engine.report import inspect_layer
from rnnshape.model.shapes import UNSAFE, Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec

torch.set_num_threads(1)
CI = settings(max_examples=200, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
LONG = settings(CI, max_examples=600)  # -m long: CI's second step


@st.composite
def packed_requests(draw) -> Request:
    mode = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    feat, hid = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    kw = {"num_layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans()),
          "batch_first": draw(st.booleans())}
    if mode == "lstm" and draw(st.booleans()):
        kw["proj_size"] = draw(st.integers(1, hid - 1))
    spec = LayerSpec(mode=mode, input_size=feat, hidden_size=hid,
                     given=frozenset({"input_size", "hidden_size", *kw}), **kw)
    batch, seq = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    x_feat = feat if draw(st.integers(0, 5)) else feat + 1
    x = (batch, seq, x_feat) if spec.batch_first else (seq, batch, x_feat)
    n = batch if draw(st.integers(0, 6)) else draw(st.integers(0, 5))
    lengths = tuple(draw(st.lists(st.integers(-1 if draw(st.integers(0, 8)) == 0 else 1, seq + (1 if draw(
        st.integers(0, 8)) == 0 else 0)), min_size=n, max_size=n)))
    enforce = draw(st.booleans())
    if enforce and draw(st.booleans()):
        lengths = tuple(sorted(lengths, reverse=True))
    hidden = cell = None
    if draw(st.booleans()):
        d = 2 if spec.bidirectional else 1
        h_out = kw.get("proj_size") or hid
        shape = [kw["num_layers"] * d, batch, h_out]
        if draw(st.integers(0, 3)) == 0:
            i = draw(st.integers(0, 2))
            shape[i] += 1
        hidden = TensorArg(tuple(shape))
        if mode == "lstm":
            cell = TensorArg((kw["num_layers"] * d, batch, hid))
    return Request(spec, TensorArg(x), hidden, cell, lengths=lengths, enforce_sorted=enforce)


def torch_packed(req: Request):
    spec = req.spec
    module = getattr(torch.nn, spec.class_name)(**spec.ctor_kwargs())
    x = torch.randn(req.input.shape)
    hx = None
    if req.hidden is not None:
        h = torch.randn(req.hidden.shape)
        hx = (h, torch.randn(req.cell.shape)) if req.cell is not None else h
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        packed = pack_padded_sequence(x, torch.tensor(req.lengths, dtype=torch.int64),
                                      batch_first=spec.batch_first, enforce_sorted=req.enforce_sorted)
        out, state = module(packed) if hx is None else module(packed, hx)
    padded = pad_packed_sequence(out, batch_first=spec.batch_first)[0]
    shapes = {"output": tuple(padded.shape), "output_packed": tuple(out.data.shape),
              "input_packed": tuple(packed.data.shape)}
    if spec.is_lstm:
        shapes.update(h_n=tuple(state[0].shape), c_n=tuple(state[1].shape))
    else:
        shapes["h_n"] = tuple(state.shape)
    return shapes


@CI
@given(packed_requests())
def test_packed_model_matches_torch(req: Request) -> None:
    check_packed_against_torch(req)


@pytest.mark.long
@LONG
@given(packed_requests())
def test_packed_model_matches_torch_long(req: Request) -> None:
    check_packed_against_torch(req)


def check_packed_against_torch(req: Request) -> None:
    pred = predict(req)
    if pred.error is not None and pred.error.evidence.get(UNSAFE):
        return  # lengths past the input, or a bad state for packed LSTM: never run
    try:
        real = torch_packed(req)
    except Exception as exc:
        assert pred.error is not None, f"torch raised {exc!r}, model saw no error: {req}"
        expected = pred.error.evidence.get("torch_message")
        if expected is not None:
            assert str(exc) == expected, (req, str(exc), expected)
        return
    if pred.error is not None:
        # stricter than torch only where torch is silent: no torch wording is claimed
        assert pred.error.evidence.get("torch_message") is None, (req, pred.error)
        return
    for name, shape in real.items():
        assert pred.tensors[name].shape == shape, (name, req)


def test_lengths_beyond_the_input_are_caught_although_torch_is_silent() -> None:
    """torch packs lengths longer than the sequence without complaint (reading past the data)."""
    x = torch.randn(5, 3, 4)
    packed = pack_padded_sequence(x, torch.tensor([7, 3, 2]))
    assert int(packed.batch_sizes.sum()) != packed.data.shape[0]  # torch's result is inconsistent
    spec = LayerSpec(mode="gru", input_size=4, hidden_size=6, given=frozenset({"input_size", "hidden_size"}))
    report = inspect_layer(Request(spec, TensorArg((5, 3, 4)), lengths=(7, 3, 2)), device="cpu")
    assert [d.code for d in report.diagnoses] == ["packing-lengths-too-long"]
    assert "not run" in report.engine


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_h_n_comes_back_in_the_original_batch_order(mode: str, batch_first: bool) -> None:
    """Unsorted lengths with enforce_sorted=False: h_n[:, i] is sequence i's own final state."""
    torch.manual_seed(0)
    lengths = [2, 5, 3]
    module = getattr(torch.nn, mode.upper())(4, 6)
    x = torch.randn(3, 5, 4) if batch_first else torch.randn(5, 3, 4)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    with torch.no_grad():
        _, state = module(packed)
        h_n = state[0] if mode == "lstm" else state
        for i, n in enumerate(lengths):
            seq = x[i, :n] if batch_first else x[:n, i]
            _, alone = module(seq.unsqueeze(1))
            alone_h = alone[0] if mode == "lstm" else alone
            torch.testing.assert_close(h_n[:, i], alone_h[:, 0])
    spec = LayerSpec(mode=mode, input_size=4, hidden_size=6, batch_first=batch_first,
                     given=frozenset({"input_size", "hidden_size", "batch_first"}))
    report = inspect_layer(Request(spec, TensorArg(tuple(x.shape)), lengths=tuple(lengths),
                                   enforce_sorted=False), device="cpu")
    assert report.ok and report.tensors["h_n"].shape == tuple(h_n.shape)


def test_packed_input_on_meta_is_answered_by_the_model() -> None:
    """torch 2.13 cannot unsort a packed batch on meta ("Cannot copy out of meta tensor")."""
    with pytest.raises(NotImplementedError, match="meta"):
        module = torch.nn.LSTM(4, 6, device="meta")
        out, _ = module(pack_padded_sequence(torch.empty(5, 3, 4, device="meta"), [2, 5, 3],
                                             enforce_sorted=False))
        pad_packed_sequence(out)
    spec = LayerSpec(mode="lstm", input_size=4, hidden_size=6, given=frozenset({"input_size", "hidden_size"}))
    req = Request(spec, TensorArg((5, 3, 4)), lengths=(2, 5, 3), enforce_sorted=False)
    meta = inspect_layer(req, device="meta")
    cpu = inspect_layer(req, device="cpu")
    assert "shape model" in meta.engine
    assert {n: t.shape for n, t in meta.tensors.items()} == {n: t.shape for n, t in cpu.tensors.items()}
