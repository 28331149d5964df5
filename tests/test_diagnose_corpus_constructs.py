"""Constructs the GitHub-thread corpus (tests/data/snippets_real, issue 11) needed from the static follower and
the shape model, each pinned here on its own and checked against real torch:

- an LSTM handed one tensor as its state (Manhattan-LSTM#3: a (2, layers, batch, hidden) stack of h_0 and c_0),
  also when the input is not known: torch 2.x refuses it in the kernel's argument parser (TypeError);
- complex literals and complex dtypes (pytorch/pytorch#136931, #71614): a complex input into float32 weights;
- an int given for a bool flag (pytorch/pytorch#136954: bias=10): torch 2.x refuses it in the constructor;
- ``torch.Tensor(nested list)``, the 0.3-era way to make float data (hunkim/PyTorchZeroToAll's one-hot input).
"""

from __future__ import annotations

import textwrap

import pytest
from conftest import run_in_torch

from rnnshape.diagnose.snippets import diagnose_paste, parse_hints
from rnnshape.model.shapes import Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec

#: name -> (code, the error "code@line" diagnose must report, the exception torch raises on that line)
CASES: dict[str, tuple[str, str, str]] = {
    "lstm_state_one_4d_stack": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(4, 6)
        hidden = torch.zeros(2, 1, 3, 6)
        out, hidden = lstm(torch.randn(5, 3, 4), hidden)
        """, "hidden-not-tuple@5", "TypeError"),
    "lstm_state_one_tensor_input_unknown": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(4, 6)
        x = torch.randn(5, 3, 4)
        embedded = embed(x)
        out, hidden = lstm(embedded, torch.zeros(2, 1, 3, 6))
        """, "hidden-not-tuple@6", "TypeError"),
    "complex_literal_into_rnn": ("""
        import torch
        from torch import nn
        x = torch.tensor([[8.+0.j, -3.+0.j, 5.+0.j]])
        rnn = nn.RNN(input_size=3, hidden_size=2)
        rnn(input=x)
        """, "dtype-mismatch@5", "ValueError"),
    "negative_complex_literal_into_rnn": ("""
        import torch
        from torch import nn
        x = torch.tensor([[-1j, 2 - 1j, 3.5j]])
        nn.RNN(3, 2)(x)
        """, "dtype-mismatch@4", "ValueError"),
    "complex64_dtype_into_gru": ("""
        import torch
        gru = torch.nn.GRU(5, 1)
        gru(torch.zeros(3, 4, 5, dtype=torch.complex64))
        """, "dtype-mismatch@3", "ValueError"),
    "cdouble_dtype_into_lstm": ("""
        import torch
        lstm = torch.nn.LSTM(5, 2)
        lstm(torch.randn(3, 4, 5, dtype=torch.cdouble))
        """, "dtype-mismatch@3", "ValueError"),
    "legacy_tensor_of_a_nested_list": ("""
        import torch
        x_one_hot = [[[1, 0, 0, 0, 0],   # h 0
                      [0, 1, 0, 0, 0]]]  # i 1
        inputs = torch.Tensor(x_one_hot)
        rnn = torch.nn.RNN(input_size=5, hidden_size=5, batch_first=True)
        out, _ = rnn(inputs, torch.zeros(2, 1, 5))
        """, "hidden-layers-mismatch@6", "RuntimeError"),
    "int_for_the_bias_flag": ("""
        import torch.nn as nn
        gru = nn.GRU(4, 8, 2, bias=1)
        """, "invalid-config@2", "TypeError"),
    "int_for_the_batch_first_flag": ("""
        import torch
        lstm = torch.nn.LSTM(8, 16, batch_first=0)
        out, _ = lstm(torch.randn(3, 5, 8))
        """, "invalid-config@2", "TypeError"),
}


def _code(name: str) -> str:
    return textwrap.dedent(CASES[name][0]).lstrip("\n")


@pytest.fixture(scope="module")
def torch_runs() -> dict[str, dict]:
    # the unknown-input case gets its embed() here only, so that torch reaches the call diagnose judges
    globals_for = {"lstm_state_one_tensor_input_unknown": "embed = lambda t: t\n"}
    return run_in_torch({name: {"code": _code(name), "globals": globals_for.get(name, "")} for name in CASES})


@pytest.mark.parametrize("name", list(CASES))
def test_diagnose_reports_the_construct(name: str) -> None:
    r = diagnose_paste(_code(name), parse_hints([]))
    assert r.error is not None, r.findings
    assert f"{r.error.diagnosis.code}@{r.error.line}" == CASES[name][1]


@pytest.mark.parametrize("name", list(CASES))
def test_torch_raises_on_the_line_diagnose_names(name: str, torch_runs: dict[str, dict]) -> None:
    real = torch_runs[name]
    assert not real["ok"] and real["kind"] == CASES[name][2], real
    assert real["line"] == int(CASES[name][1].split("@")[1]), real


def test_a_stacked_state_gets_no_zeros_like_rewrite() -> None:
    """(h, torch.zeros_like(h)) fixes a lone (layers, batch, hidden) h_0; for a 4-D stack of h_0 and c_0 it
    would hand torch two 4-D tensors, so no such line is printed."""
    r = diagnose_paste(_code("lstm_state_one_4d_stack"), parse_hints([]))
    assert r.error is not None
    assert not any("zeros_like" in rw.new for rw in r.error.rewrites), r.error.rewrites


def test_the_model_refuses_a_lone_state_whose_halves_fit() -> None:
    """Halves (1, 3, 6) each pass torch's Python checks; the kernel still refuses the tensor (the Manhattan-LSTM
    state), and the model says so instead of predicting an output."""
    spec = LayerSpec(mode="lstm", input_size=4, hidden_size=6)
    pred = predict(Request(spec, TensorArg((5, 3, 4)), TensorArg((2, 1, 3, 6))))
    assert [d.code for d in pred.diagnoses] == ["hidden-not-tuple"]
