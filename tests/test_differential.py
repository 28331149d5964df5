"""The shape model against real torch, on thousands of generated forward calls.

torch is the oracle. For every generated call (all six layer kinds, sizes, layers,
directions, batch_first, proj_size, batched or not, states right or wrong in each
dimension, wrong input sizes and ranks, bad constructor values, integer and
float64 inputs) this file builds the real module on the CPU, runs it, and checks:

- torch succeeds  <=>  the model finds no error, and then every shape is equal;
- torch raises    =>   the model's first error predicts torch's exact message
  (or, where it has none, the catalog gives torch's message the model's code);
- torch warns about dropout  <=>  the model warns ``dropout-single-layer``.

The default run takes 400 examples, derandomized; ``-m long`` (CI's second step) runs 2,000
and ``-m slow`` 20,000.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from strategies import requests

from rnnshape.engine.report import inspect_layer
from rnnshape.model.shapes import UNSAFE, Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec

torch.set_num_threads(1)

CI = settings(max_examples=400, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(CI, max_examples=2000)
SLOW = settings(CI, max_examples=20000)

_DTYPES = {"int64": torch.int64, "float64": torch.float64, "float32": torch.float32}


def run_torch(req: Request):
    """Construct and run the real module; return (outputs dict | None, exception | None, warnings)."""
    spec = req.spec
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = getattr(torch.nn, spec.class_name)(**spec.ctor_kwargs())
            dtype = _DTYPES[req.input.dtype or "float32"]
            x = (torch.randn(req.input.shape) if dtype.is_floating_point
                 else torch.zeros(req.input.shape, dtype=dtype)).to(dtype)
            h = torch.randn(req.hidden.shape) if req.hidden else None
            c = torch.randn(req.cell.shape) if req.cell else None
            hx = (h, c) if (h is not None and c is not None) else h
            with torch.no_grad():
                out = module(x) if hx is None else module(x, hx)
        except Exception as exc:  # the oracle's verdict
            return None, exc, [str(w.message) for w in caught]
    msgs = [str(w.message) for w in caught]
    if spec.is_cell:
        shapes = ({"h_1": out[0].shape, "c_1": out[1].shape} if spec.is_lstm
                  else {"h_1": out.shape})
    else:
        output, state = out
        shapes = {"output": output.shape}
        if spec.is_lstm:
            shapes.update(h_n=state[0].shape, c_n=state[1].shape)
        else:
            shapes["h_n"] = state.shape
    return {k: tuple(v) for k, v in shapes.items()}, None, msgs


def check_against_torch(req: Request) -> None:
    pred = predict(req)
    if pred.error is not None and pred.error.evidence.get(UNSAFE):
        return  # never handed to torch: it can segfault (see test_unsafe_cell_state_is_refused)
    outputs, exc, torch_warnings = run_torch(req)
    error = pred.error
    if exc is None:
        if error is not None:
            # Only allowed where rnnshape is deliberately stricter than torch and
            # says so by predicting no torch message (docs/limitations.md).
            assert error.evidence.get("torch_message") is None, (req, error)
            return
        for name, shape in outputs.items():
            assert pred.tensors[name].shape == shape, (req, name, pred.tensors[name].shape, shape)
    else:
        message = str(exc)
        assert error is not None, f"torch raised {message!r} but the model saw no error: {req}"
        predicted = error.evidence.get("torch_message")
        if predicted:
            assert message == predicted or message.startswith(predicted), (req, predicted, message)
        # Without a predicted message the model names a mistake torch words in several
        # ways (e.g. a kernel matmul error); torch raising at all is the agreement.
    torch_dropout = any("non-zero dropout expects num_layers" in w for w in torch_warnings)
    model_dropout = any(d.code == "dropout-single-layer" for d in pred.diagnoses)
    assert torch_dropout == model_dropout, (req, torch_warnings)


@CI
@given(requests())
def test_model_matches_torch(req: Request) -> None:
    check_against_torch(req)


@pytest.mark.long
@LONG
@given(requests())
def test_model_matches_torch_long(req: Request) -> None:
    check_against_torch(req)


@pytest.mark.slow
@SLOW
@given(requests())
def test_model_matches_torch_slow(req: Request) -> None:
    check_against_torch(req)


@settings(CI, max_examples=120)
@given(requests())
def test_runner_confirms_model_on_cpu_meta_and_fast(req: Request) -> None:
    """The shipped pipeline never reports model-disagrees, on cpu, on meta or on the fast engine."""
    for device in ("cpu", "meta", "fast"):
        report = inspect_layer(req, device=device, max_memory=1 << 30)
        codes = [d.code for d in report.diagnoses]
        assert "model-disagrees" not in codes, (device, req, report.diagnoses)


@settings(CI, max_examples=120)
@given(requests(valid_only=True))
def test_meta_and_fast_windows_give_full_shapes(req: Request) -> None:
    """The meta and fast engines' one-step windows are stretched back: shapes equal the full CPU run's."""
    cpu = inspect_layer(req, device="cpu")
    full = {n: t.shape for n, t in cpu.tensors.items()}
    for device in ("meta", "fast"):
        windowed = inspect_layer(req, device=device)
        assert {n: t.shape for n, t in windowed.tensors.items()} == full, device


def test_unsafe_cell_state_is_refused_without_running_torch() -> None:
    """LSTMCell(3, 1, bias=False) on a 1-D input with h_0 (1, 1) and c_0 (1,) passes torch's
    checks and then segfaults torch 2.13. rnnshape must diagnose it and never run it."""
    spec = LayerSpec(mode="lstm-cell", input_size=3, hidden_size=1, bias=False,
                     given=frozenset({"input_size", "hidden_size", "bias"}))
    req = Request(spec, TensorArg((3,)), TensorArg((1, 1)), TensorArg((1,)))
    report = inspect_layer(req, device="cpu")
    assert [d.code for d in report.diagnoses] == ["hidden-rank"]
    assert "not run" in report.engine
