"""Reading pasted constructors, and the constructor rules, against real torch."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnshape.model.memory import parameter_shapes
from rnnshape.model.spec import LayerSpec, SpecError, cell_nonlinearity_error, check_config, parse_constructor

nn = torch.nn

CONSTRUCTORS = [
    "nn.RNN(10, 20)",
    "nn.RNN(10, 20, 2)",
    "nn.RNN(10, 20, 2, 'relu')",
    "nn.RNN(input_size=10, hidden_size=20, num_layers=1)",
    "torch.nn.RNN(5, 3, nonlinearity='relu', bias=False)",
    "nn.LSTM(10, 20, num_layers=2, batch_first=True)",
    "nn.LSTM(10, 20, 2, False, True, 0.5, True, 5)",
    "torch.nn.GRU(100, 64, num_layers=2, bidirectional=True, batch_first=True)",
    "nn.GRU(8, 16, 3, True, False, 0.0, True)",
    "nn.RNNCell(4, 6)",
    "nn.RNNCell(4, 6, False, 'relu')",
    "nn.LSTMCell(input_size=4, hidden_size=6)",
    "nn.GRUCell(4, 6, bias=False)",
    "nn.LSTM(10, 20, device='cpu', dtype=torch.float32)".replace("dtype=torch.float32", "dtype=None"),
    "LSTM(10, 20)",
]


@pytest.mark.parametrize("text", CONSTRUCTORS)
def test_parsed_constructor_builds_the_same_module_as_torch(text: str) -> None:
    """Parse without running, rebuild from our spec, and compare with torch running the text."""
    spec = parse_constructor(text)
    ours = getattr(nn, spec.class_name)(**spec.ctor_kwargs())
    theirs = eval(text, {"nn": nn, "torch": torch, **vars(nn)})  # our own test strings only
    assert type(ours) is type(theirs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in theirs.named_parameters()] == parameter_shapes(spec)


@pytest.mark.parametrize("text", CONSTRUCTORS)
def test_to_code_round_trips(text: str) -> None:
    spec = parse_constructor(text)
    again = parse_constructor(spec.to_code())
    assert again.settings() == spec.settings()


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('echo hacked')", "not a recurrent layer"),
    ("nn.LSTM(*args)", "without running code"),
    ("nn.LSTM(**kw)", "without running code"),
    ("nn.LSTM(n, 20)", "not a literal"),
    ("nn.LSTM(10, 20", "cannot read"),
    ("nn.Linear(10, 20)", "not a recurrent layer"),
    ("os.LSTM(10, 20)", "not a recurrent layer"),
    ("nn.LSTM(10)", "missing the required argument 'hidden_size'"),
    ("nn.LSTM(10, 20, foo=1)", "unexpected keyword argument 'foo'"),
    ("nn.LSTM(10, 20, nonlinearity='relu')", "unexpected keyword argument 'nonlinearity'"),
    ("nn.LSTMCell(10, 20, num_layers=2)", "unexpected keyword argument 'num_layers'"),
    ("nn.GRU(1, 2, 3, 4, 5, 6, 7, 8, 9)", "at most 7 positional"),
    ("nn.RNN(10, 20, num_layers=1, num_layers=2)", ""),
])
def test_unreadable_constructors_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_constructor(text)
    assert fragment in str(info.value)


def test_unexpected_keywords_are_refused_like_torch() -> None:
    """Where we refuse a keyword, torch refuses it too (a TypeError)."""
    for text in ("nn.LSTM(10, 20, nonlinearity='relu')", "nn.LSTMCell(10, 20, num_layers=2)",
                 "nn.LSTM(10, 20, foo=1)"):
        with pytest.raises(TypeError):
            eval(text, {"nn": nn})


_VALUES = st.one_of(st.integers(-2, 6), st.floats(-0.5, 1.5, allow_nan=False),
                    st.booleans(), st.sampled_from(["tanh", "relu", "gelu", "1"]))


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(mode=st.sampled_from(["rnn", "lstm", "gru", "rnn-cell", "lstm-cell", "gru-cell"]),
       values=st.fixed_dictionaries({}, optional={
           "input_size": _VALUES, "hidden_size": _VALUES, "num_layers": _VALUES,
           "bias": _VALUES, "batch_first": _VALUES, "dropout": _VALUES,
           "bidirectional": st.booleans(), "proj_size": _VALUES, "nonlinearity": _VALUES}))
def test_constructor_rules_match_torch(mode: str, values: dict) -> None:
    """Any literal arguments: we reject exactly what torch's constructor (or first forward) rejects."""
    spec = LayerSpec(mode=mode, input_size=values.pop("input_size", 4),
                     hidden_size=values.pop("hidden_size", 3), given=frozenset(), **{})
    cls = spec.class_name
    allowed = {"RNN": {"num_layers", "bias", "batch_first", "dropout", "bidirectional",
                       "nonlinearity", "proj_size"},
               "LSTM": {"num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"},
               "GRU": {"num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"},
               "RNNCell": {"bias", "nonlinearity"}, "LSTMCell": {"bias"}, "GRUCell": {"bias"}}[cls]
    kwargs = {k: v for k, v in values.items() if k in allowed}
    spec = spec.with_(given=frozenset({"input_size", "hidden_size", *kwargs}), **kwargs)
    error, warns = check_config(spec)
    error = error or cell_nonlinearity_error(spec)  # refused by RNNCell's first forward
    torch_error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = getattr(nn, cls)(spec.input_size, spec.hidden_size, **kwargs)
            x = torch.randn(2, spec.input_size) if spec.is_cell else torch.randn(2, 1, spec.input_size)
            module(x)  # some arguments are only refused by the first forward
        except Exception as exc:
            torch_error = exc
    if torch_error is None:
        # Stricter than torch only where no torch wording is claimed (bool sizes, which
        # torch.empty accepts in some positions only: docs/limitations.md).
        assert error is None or error.evidence.get("torch_message") is None, (spec, error)
    else:
        assert error is not None and error.code == "invalid-config", (spec, torch_error)
        predicted = error.evidence.get("torch_message")
        if predicted is not None:
            assert str(torch_error) == predicted
    torch_warned = any("non-zero dropout" in str(w.message) for w in caught)
    assert torch_warned == any(w.code == "dropout-single-layer" for w in warns)
