"""The ``inspect`` command's contract, through ``typer.testing.CliRunner``.

Every expected shape here comes from real torch (the module is built and run in
the test) or from torch's documented rules written out in the test; none is
copied from rnnshape's own output.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import cli, cli_json, json_shapes, torch_outputs, torch_shapes
from torch import nn

CELL_CLASSES = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


# --------------------------------------------------------------------------- helpers


def invoke(*args: object):
    """Run ``rnnshape inspect ARGS``; whatever the input, no exception may escape."""
    return cli(*args, command="inspect")


def run_json(*args: object, code: int = 0) -> dict:
    return cli_json(*args, code=code, command="inspect")


def codes(payload: dict) -> list[str]:
    return [d["code"] for d in payload["diagnoses"]]


shapes = json_shapes


def torch_forward(module: nn.Module, x_shape, hx=None, dtype=torch.float32) -> dict:
    """Run ``module`` on zeros of ``x_shape``; name the results as the torch docs do."""
    return torch_outputs(module.to(dtype), torch.zeros(x_shape, dtype=dtype), hx)


def torch_params(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(n, tuple(p.shape)) for n, p in module.named_parameters()]


def assert_matches_torch(payload: dict, module: nn.Module, x_shape, hx=None) -> None:
    """Every tensor torch produced, and every parameter, with rnnshape's numbers."""
    got = shapes(payload)
    assert got["input"] == tuple(x_shape)
    for name, shape in torch_shapes(module, x_shape, hx).items():
        assert got.get(name) == shape, (name, got, shape)
    params = [(p["name"], tuple(p["shape"])) for p in payload["parameters"]]
    assert params == torch_params(module)
    for p in payload["parameters"]:
        assert p["count"] == math.prod(p["shape"])


def torch_raises(module: nn.Module, x_shape, hx=None) -> bool:
    try:
        torch_forward(module, x_shape, hx)
    except (RuntimeError, ValueError, IndexError, TypeError):
        return True
    return False


# --------------------------------------------------------------------------- the layer


def test_positional_mode_and_sizes():
    d = run_json("lstm", 10, 20, "--device", "cpu")
    assert d["ok"] is True
    assert d["module"]["class"] == "LSTM" and d["module"]["mode"] == "lstm"
    assert (d["module"]["input_size"], d["module"]["hidden_size"]) == (10, 20)
    assert d["module"]["code"] == "nn.LSTM(10, 20)"
    # --help documents the dummy input's defaults: seq_len 5, batch 1, (L, N, H_in) layout
    assert_matches_torch(d, nn.LSTM(10, 20), (5, 1, 10))


@pytest.mark.parametrize("args", [
    ["--mode", "gru", "--input-size", "7", "--hidden-size", "3"],
    ["gru", "--input-size", "7", "--hidden-size", "3"],
    ["gru", "7", "3"],
    ["GRU", "7", "3"],
])
def test_mode_spellings_agree(args):
    d = run_json(*args, "--seq-len", 4, "--batch", 2, "--device", "cpu")
    assert d["module"]["class"] == "GRU"
    assert_matches_torch(d, nn.GRU(7, 3), (4, 2, 7))


def test_mode_underscore_alias():
    d = run_json("--mode", "lstm_cell", "--batch", 2, "--dry-run")
    assert d["module"]["class"] == "LSTMCell"


def test_defaults_are_rnn_10_20():
    d = run_json("--device", "cpu")
    assert d["module"]["code"] == "nn.RNN(10, 20)"
    assert_matches_torch(d, nn.RNN(10, 20), (5, 1, 10))


IN, H, L, N = 6, 11, 4, 3

LAYER_FLAGS = [
    ("rnn", [], {}),
    ("rnn", ["--nonlinearity", "relu"], {"nonlinearity": "relu"}),
    ("lstm", ["--num-layers", "3"], {"num_layers": 3}),
    ("gru", ["--bidirectional"], {"bidirectional": True}),
    ("lstm", ["--batch-first"], {"batch_first": True}),
    ("lstm", ["--proj-size", "7"], {"proj_size": 7}),
    ("lstm", ["--num-layers", "2", "--bidirectional", "--batch-first", "--proj-size", "5"],
     {"num_layers": 2, "bidirectional": True, "batch_first": True, "proj_size": 5}),
    ("gru", ["--no-bias"], {"bias": False}),
    ("gru", ["--num-layers", "2", "--dropout", "0.3"], {"num_layers": 2, "dropout": 0.3}),
    ("rnn", ["--num-layers", "2", "--bidirectional", "--batch-first", "--no-bias"],
     {"num_layers": 2, "bidirectional": True, "batch_first": True, "bias": False}),
    ("rnn-cell", [], {}),
    ("rnn-cell", ["--nonlinearity", "relu", "--no-bias"], {"nonlinearity": "relu", "bias": False}),
    ("lstm-cell", [], {}),
    ("lstm-cell", ["--no-bias"], {"bias": False}),
    ("gru-cell", [], {}),
]
TORCH_CLASS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU,
               "rnn-cell": nn.RNNCell, "lstm-cell": nn.LSTMCell, "gru-cell": nn.GRUCell}


def documented_input(mode: str, kwargs: dict) -> tuple[int, ...]:
    """torch docs: cells take (N, H_in); layers (L, N, H_in), or (N, L, H_in) batch-first."""
    if mode.endswith("-cell"):
        return (N, IN)
    return (N, L, IN) if kwargs.get("batch_first") else (L, N, IN)


@pytest.mark.parametrize("engine", [["--device", "cpu"], ["--device", "meta"], ["--dry-run"]],
                         ids=["cpu", "meta", "dry-run"])
@pytest.mark.parametrize(("mode", "flags", "kwargs"), LAYER_FLAGS,
                         ids=[f"{m}{''.join(f)}" for m, f, _ in LAYER_FLAGS])
def test_layer_flags_match_torch(mode, flags, kwargs, engine):
    sizes = ["--batch", N] if mode.endswith("-cell") else ["--seq-len", L, "--batch", N]
    d = run_json(mode, IN, H, *flags, *sizes, *engine)
    assert d["ok"] is True
    module = TORCH_CLASS[mode](IN, H, **kwargs)
    assert_matches_torch(d, module, documented_input(mode, kwargs))
    for key, value in kwargs.items():
        assert d["module"][key] == value
    assert d["module"]["class"] == type(module).__name__


def test_dropout_on_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="dropout"):
        nn.GRU(IN, H, dropout=0.5)
    d = run_json("gru", IN, H, "--dropout", 0.5, "--device", "cpu")
    assert d["ok"] is True
    warning = next(x for x in d["diagnoses"] if x["code"] == "dropout-single-layer")
    assert warning["severity"] == "warning"


def test_invalid_flag_value_is_a_diagnosis_like_torch():
    with pytest.raises(ValueError):
        nn.LSTM(10, 20, proj_size=20)
    d = run_json("lstm", 10, 20, "--proj-size", 20, "--device", "cpu", code=1)
    assert codes(d) == ["invalid-config"]


@pytest.mark.parametrize("args", [
    ["rnn-cell", "--num-layers", "2"],
    ["lstm-cell", "--bidirectional"],
    ["gru-cell", "--batch-first"],
    ["lstm-cell", "--proj-size", "3"],
    ["gru", "--nonlinearity", "relu"],
    ["lstm-cell", "--seq-len", "3"],
    ["rnn", "--mode", "lstm"],
    ["lstm", "10", "20", "--input-size", "10"],
    ["lstm", "10", "20", "--hidden-size", "20"],
    ["conv2d"],
    ["--unbatched", "--batch", "2"],
    ["--input-shape", "5,1,10", "--seq-len", "5"],
    ["--input-shape", "5,1,10", "--unbatched"],
])
def test_contradictory_or_inapplicable_flags_are_usage_errors(args):
    res = invoke(*args, "--dry-run")
    assert res.exit_code == 2
    assert res.stderr.startswith("rnnshape: error:")


# --------------------------------------------------------------------------- pasted constructors

CONSTRUCTORS = [
    ("nn.LSTM(10, 20, num_layers=2, batch_first=True)",
     lambda: nn.LSTM(10, 20, num_layers=2, batch_first=True), (3, 5, 10)),
    ("torch.nn.GRU(8, 16, 2, True, False, 0.0, True)",
     lambda: nn.GRU(8, 16, 2, True, False, 0.0, True), (7, 2, 8)),
    ("torch.nn.GRU(input_size=8, hidden_size=16, bidirectional=True)",
     lambda: nn.GRU(input_size=8, hidden_size=16, bidirectional=True), (7, 2, 8)),
    ("nn.RNN(4, 6, 2, 'relu')", lambda: nn.RNN(4, 6, 2, "relu"), (3, 2, 4)),
    ("rnn = nn.RNN(10, 20, 1)", lambda: nn.RNN(10, 20, 1), (5, 1, 10)),
    ("self.lstm = nn.LSTM(5, 9, proj_size=3)", lambda: nn.LSTM(5, 9, proj_size=3), (4, 2, 5)),
    ("LSTM(10, 20)", lambda: nn.LSTM(10, 20), (5, 3, 10)),
    ("  nn.GRU( 10 , 20 , batch_first = True )  ", lambda: nn.GRU(10, 20, batch_first=True),
     (2, 9, 10)),
    ("nn.LSTM(10, 20, device='cpu')", lambda: nn.LSTM(10, 20, device="cpu"), (5, 1, 10)),
    ("nn.RNNCell(3, 4, nonlinearity='relu')", lambda: nn.RNNCell(3, 4, nonlinearity="relu"), (2, 3)),
    ("nn.LSTMCell(10, 20)", lambda: nn.LSTMCell(10, 20), (6, 10)),
    ("torch.nn.GRUCell(4, 5, bias=False)", lambda: nn.GRUCell(4, 5, bias=False), (4,)),
]


@pytest.mark.parametrize("engine", [["--device", "cpu"], ["--dry-run"]], ids=["cpu", "dry-run"])
@pytest.mark.parametrize(("text", "factory", "x_shape"), CONSTRUCTORS,
                         ids=[c[0].strip() for c in CONSTRUCTORS])
def test_pasted_constructor_matches_torch(text, factory, x_shape, engine):
    module = factory()
    d = run_json(text, "--input-shape", ",".join(map(str, x_shape)), *engine)
    assert d["ok"] is True
    assert d["module"]["class"] == type(module).__name__
    assert d["module"]["code"].startswith(f"nn.{type(module).__name__}(")
    assert_matches_torch(d, module, x_shape)


@pytest.mark.parametrize("text", [
    "nn.Linear(10, 20)",
    "nn.LSTM(10)",
    "nn.LSTM(10, 20, foo=1)",
    "nn.LSTM(10, 20, 1, True, False, 0.0, False, 0, 9)",
    "nn.LSTM(10, 20, num_layers=2, num_layers=3)",
    "nn.LSTM(10, 20))",
    "nn.LSTM(10, 20, num_layers=n)",
    "nn.LSTM(10, 2 ** 10)",
    "nn.GRUCell(10, 20, num_layers=2)",
    "torch.nn.modules.rnn.Foo(1, 2)",
])
def test_unreadable_constructor_is_a_usage_error(text):
    res = invoke(text, "--dry-run")
    assert res.exit_code == 2
    assert res.stderr.startswith("rnnshape: error:")


def test_pasted_constructor_plus_layer_flags_is_a_usage_error():
    res = invoke("nn.LSTM(10, 20)", "--num-layers", 2)
    assert res.exit_code == 2
    assert "--num-layers" in res.stderr


def test_pasted_constructor_torch_rejects_is_a_diagnosis():
    with pytest.raises(ValueError):
        nn.GRU(10, 20, proj_size=2)
    d = run_json("nn.GRU(10, 20, proj_size=2)", "--device", "cpu", code=1)
    assert codes(d) == ["invalid-config"]


@pytest.mark.parametrize("template", [
    "__import__('pathlib').Path({p!r}).write_text('x')",
    "__import__('os').system('touch {p}')",
    "nn.LSTM(10, __import__('os').system('touch {p}'))",
    "nn.LSTM(10, 20, num_layers=__import__('pathlib').Path({p!r}).write_text('x'))",
    "nn.LSTM(10, 20, num_layers=eval(\"__import__('os').system('touch {p}')\"))",
    "(lambda: __import__('os').system('touch {p}'))()",
    "x = __import__('os').system('touch {p}')",
    "nn.LSTM(10, 20); __import__('os').system('touch {p}')",
    "nn.LSTM(10, 20).__class__.__init__(__import__('os').system('touch {p}'))",
    "getattr(__builtins__, 'exec')(\"open({p!r}, 'w')\")",
    "nn.LSTM(*__import__('os').system('touch {p}'))",
])
def test_hostile_constructor_is_refused_and_never_run(template, tmp_path):
    marker = tmp_path / "pwned"
    text = template.format(p=str(marker))
    res = invoke(text, "--device", "cpu")
    assert res.exit_code == 2
    assert res.stderr.startswith("rnnshape: error:")
    assert not marker.exists(), "the constructor string was executed"


@pytest.mark.parametrize("text", ["nn.LSTM(*args)", "nn.LSTM(**kwargs)", "nn.LSTM(10, *sizes)",
                                  "__import__('os').system('echo hi')"])
def test_star_args_and_calls_are_refused(text):
    res = invoke(text)
    assert res.exit_code == 2
    assert res.stdout == ""  # nothing ran, nothing was printed


# --------------------------------------------------------------------------- the tensors


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("x_shape", [(10,), (5, 10), (5, 3, 10), (2, 5, 3, 10)],
                         ids=["rank1", "rank2", "rank3", "rank4"])
def test_input_shape_of_any_rank(mode, x_shape):
    module = TORCH_CLASS[mode](10, 20)
    args = [mode, 10, 20, "--input-shape", ",".join(map(str, x_shape)), "--device", "cpu"]
    if torch_raises(module, x_shape):
        # torch takes 2-D or 3-D; other ranks are diagnosed (exit 1), not refused (exit 2)
        d = run_json(*args, code=1)
        assert codes(d) == ["input-rank"]
        assert shapes(d)["input"] == x_shape
    else:
        assert len(x_shape) in (2, 3)
        assert_matches_torch(run_json(*args), module, x_shape)


@pytest.mark.parametrize("mode", ["rnn-cell", "lstm-cell", "gru-cell"])
@pytest.mark.parametrize("x_shape", [(10,), (3, 10), (5, 3, 10), (2, 5, 3, 10)],
                         ids=["rank1", "rank2", "rank3", "rank4"])
def test_cell_input_shape_of_any_rank(mode, x_shape):
    module = TORCH_CLASS[mode](10, 20)
    args = [mode, 10, 20, "--input-shape", ",".join(map(str, x_shape)), "--device", "cpu"]
    if torch_raises(module, x_shape):
        d = run_json(*args, code=1)
        assert codes(d) == ["input-rank"]
    else:
        assert len(x_shape) in (1, 2)
        assert_matches_torch(run_json(*args), module, x_shape)


@pytest.mark.parametrize("spelling", ["5,3,10", "(5, 3, 10)", "[5,3,10]", "5x3x10", " 5, 3, 10 "])
def test_input_shape_spellings(spelling):
    d = run_json("--input-shape", spelling, "--dry-run")
    assert_matches_torch(d, nn.RNN(10, 20), (5, 3, 10))


@pytest.mark.parametrize("spelling", ["(10,)", "10", "[10]"])
def test_one_dimensional_spellings(spelling):
    d = run_json("rnn-cell", "--input-shape", spelling, "--dry-run")
    assert_matches_torch(d, nn.RNNCell(10, 20), (10,))


def test_input_size_mismatch_is_diagnosed_like_torch():
    module = nn.LSTM(8, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        torch_forward(module, (5, 3, 10))
    d = run_json("lstm", 8, 4, "--input-shape", "5,3,10", "--device", "cpu", code=1)
    assert codes(d) == ["input-size-mismatch"]
    assert d["ok"] is False


@pytest.mark.parametrize(("mode", "flags", "kwargs"), [
    ("rnn", [], {}), ("lstm", [], {}), ("gru", ["--bidirectional"], {"bidirectional": True}),
    ("lstm", ["--batch-first", "--num-layers", "2"], {"batch_first": True, "num_layers": 2}),
])
def test_unbatched_sequence(mode, flags, kwargs):
    # torch docs: an unbatched input is (L, H_in), batch_first or not
    d = run_json(mode, IN, H, *flags, "--unbatched", "--seq-len", L, "--device", "cpu")
    assert_matches_torch(d, TORCH_CLASS[mode](IN, H, **kwargs), (L, IN))


@pytest.mark.parametrize("mode", ["rnn-cell", "lstm-cell", "gru-cell"])
def test_unbatched_cell(mode):
    d = run_json(mode, IN, H, "--unbatched", "--device", "cpu")
    assert_matches_torch(d, TORCH_CLASS[mode](IN, H), (IN,))


# (mode, layer kwargs, input, h_0, c_0, expected code or None when torch accepts it)
STATES = [
    ("rnn", {"num_layers": 2}, (L, N, IN), (2, N, H), None, None),
    ("gru", {"bidirectional": True}, (L, N, IN), (2, N, H), None, None),
    ("gru", {}, (L, N, IN), (1, N + 1, H), None, "hidden-batch-mismatch"),
    ("gru", {}, (L, N, IN), (2, N, H), None, "hidden-layers-mismatch"),
    ("gru", {}, (L, N, IN), (1, N, H + 1), None, "hidden-size-mismatch"),
    ("rnn", {}, (L, N, IN), (N, H), None, "hidden-rank"),
    ("rnn", {}, (L, IN), (1, H), None, None),
    ("lstm", {}, (L, N, IN), (1, N, H), (1, N, H), None),
    ("lstm", {"proj_size": 5}, (L, N, IN), (1, N, 5), (1, N, H), None),
    ("lstm", {"proj_size": 5}, (L, N, IN), (1, N, H), (1, N, H), "proj-hidden-size"),
    ("lstm", {}, (L, N, IN), (1, N, H), (1, N, H + 1), "cell-shape-mismatch"),
    ("lstm-cell", {}, (N, IN), (N, H), (N, H), None),
    ("rnn-cell", {}, (N, IN), (N, H), None, None),
    ("gru-cell", {}, (N, IN), (N + 1, H), None, "hidden-batch-mismatch"),
]


@pytest.mark.parametrize(("mode", "kwargs", "x", "h", "c", "code"), STATES)
def test_hidden_and_cell_shapes(mode, kwargs, x, h, c, code):
    module = TORCH_CLASS[mode](IN, H, **kwargs)
    hx = torch.zeros(h) if c is None else (torch.zeros(h), torch.zeros(c))
    flags = []
    for key, value in kwargs.items():
        flags += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    args = [mode, IN, H, *flags, "--input-shape", ",".join(map(str, x)),
            "--hidden-shape", ",".join(map(str, h)), "--device", "cpu"]
    if c is not None:
        args += ["--cell-shape", ",".join(map(str, c))]
    if code is None:
        d = run_json(*args)
        assert_matches_torch(d, module, x, hx)
        assert shapes(d)["h_0"] == h
    else:
        assert torch_raises(module, x, hx)
        d = run_json(*args, code=1)
        assert codes(d) == [code]


def test_cell_shape_without_lstm_or_hidden_is_a_usage_error():
    assert invoke("gru", "--hidden-shape", "1,1,20", "--cell-shape", "1,1,20").exit_code == 2
    assert invoke("lstm", "--cell-shape", "1,1,20").exit_code == 2


# --------------------------------------------------------------------------- device, dtype, dry run


def test_device_cpu_and_meta():
    for device in ("cpu", "meta"):
        d = run_json("lstm", "--device", device)
        assert d["device"] == device
        assert {t["device"] for t in d["tensors"].values()} == {device}
        assert_matches_torch(d, nn.LSTM(10, 20), (5, 1, 10))


def test_device_auto_picks_the_best_available():
    if torch.cuda.is_available():
        expected = "cuda"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert run_json("--device", "auto")["device"].startswith(expected)
    assert run_json()["device"].startswith(expected)  # auto is the default


def test_unknown_device_is_a_usage_error():
    res = invoke("--device", "tpu")
    assert res.exit_code == 2
    assert "'tpu'" in res.stderr
    for name in ("cpu", "meta"):
        assert name in res.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_a_usage_error(device):
    res = invoke("--device", device)
    assert res.exit_code == 2
    assert "available:" in res.stderr and "cpu" in res.stderr and "meta" in res.stderr
    assert "--device meta" in res.stderr


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("mode", ["lstm", "gru-cell"])
def test_dtypes(dtype, mode):
    torch_dtype = getattr(torch, dtype)
    x_shape = (3, IN) if mode.endswith("cell") else (L, 2, IN)
    module = TORCH_CLASS[mode](IN, H)
    produced = torch_forward(module, x_shape, dtype=torch_dtype)
    d = run_json(mode, IN, H, "--input-shape", ",".join(map(str, x_shape)), "--dtype", dtype,
                 "--device", "cpu")
    assert d["module"]["dtype"] == dtype
    for name, tensor in produced.items():
        assert d["tensors"][name]["dtype"] == str(tensor.dtype).removeprefix("torch.")
        assert tuple(d["tensors"][name]["shape"]) == tuple(tensor.shape)
    item = torch.empty((), dtype=torch_dtype).element_size()
    assert d["parameter_bytes"] == d["parameter_count"] * item


@pytest.mark.parametrize("dtype", ["int64", "half", "float", "torch.float32", "float128", ""])
def test_bad_dtype_is_a_usage_error(dtype):
    res = invoke("--dtype", dtype)
    assert res.exit_code == 2
    assert "float32" in res.stderr


def test_dry_run_answers_from_the_model():
    d = run_json("gru", IN, H, "--num-layers", 2, "--bidirectional", "--seq-len", L, "--batch", N,
                 "--dry-run")
    assert d["device"] == "none"
    assert "run_ms" not in d["timing"]
    assert_matches_torch(d, nn.GRU(IN, H, num_layers=2, bidirectional=True), (L, N, IN))


# --------------------------------------------------------------------------- --expect


def test_expect_pass():
    want = torch_shapes(nn.LSTM(10, 20, num_layers=2), (5, 3, 10))
    d = run_json("lstm", "--num-layers", 2, "--input-shape", "5,3,10", "--device", "cpu",
                 "--expect", "output=" + ",".join(map(str, want["output"])),
                 "--expect", "h_n=" + ",".join(map(str, want["h_n"])),
                 "--expect", "c_n=" + ",".join(map(str, want["c_n"])),
                 "--expect", "input=5,3,10")
    assert d["ok"] is True and codes(d) == []


def test_expect_fail():
    real = torch_shapes(nn.LSTM(10, 20), (5, 3, 10))["output"]
    wrong = (*real[:-1], real[-1] * 2)
    d = run_json("lstm", "--input-shape", "5,3,10", "--device", "cpu",
                 "--expect", "output=" + ",".join(map(str, wrong)), code=1)
    assert d["ok"] is False
    assert codes(d) == ["expect-failed"]
    assert d["diagnoses"][0]["severity"] == "error"
    res = invoke("lstm", "--input-shape", "5,3,10", "--dry-run",
                 "--expect", "output=" + ",".join(map(str, wrong)))
    assert res.exit_code == 1
    assert "expect-failed" in res.stdout


@pytest.mark.parametrize(("layer", "item"), [
    ("gru", "c_n=1,1,20"),      # a GRU has no cell state
    ("lstm", "hidden=1,1,20"),
    ("rnn-cell", "output=1,20"),  # cells return h_1, not output
    ("rnn", "=5,1,20"),
])
def test_expect_unknown_name_is_a_usage_error(layer, item):
    res = invoke(layer, "--expect", item, "--dry-run")
    assert res.exit_code == 2
    assert "unknown tensor" in res.stderr


@pytest.mark.parametrize("item", ["output", "output=5;1;20", "output=a,b", "output=5,-1,20",
                                  "output=5.0,1,20", "output:5,1,20"])
def test_expect_malformed_is_a_usage_error(item):
    res = invoke("--expect", item, "--dry-run")
    assert res.exit_code == 2
    assert res.stderr.startswith("rnnshape: error:")


# --------------------------------------------------------------------------- --json


def test_json_schema():
    d = run_json("lstm", 10, 20, "--input-shape", "5,3,11", "--device", "cpu", code=1)
    assert set(d) >= {"ok", "module", "tensors", "parameters", "diagnoses", "timing"}
    assert d["ok"] is False
    assert {"mode", "class", "input_size", "hidden_size", "code"} <= set(d["module"])
    assert isinstance(d["module"]["code"], str)
    for name, t in d["tensors"].items():
        assert isinstance(name, str)
        assert {"shape", "dims", "dtype", "device"} <= set(t)
        assert all(isinstance(s, int) for s in t["shape"])
        assert len(t["dims"]) == len(t["shape"]) and all(isinstance(x, str) for x in t["dims"])
    for p in d["parameters"]:
        assert set(p) >= {"name", "shape", "count"}
        assert p["count"] == math.prod(p["shape"])
    assert d["diagnoses"]
    for diag in d["diagnoses"]:
        assert {"code", "severity", "title", "explanation", "fix"} <= set(diag)
        assert diag["severity"] in ("error", "warning", "info")
        assert all(isinstance(diag[k], str) for k in ("code", "title", "explanation", "fix"))
    assert all(v is None or isinstance(v, (int, float)) for v in d["timing"].values())


def test_json_ok_run_has_outputs_and_parameters():
    d = run_json("gru", "--device", "cpu")
    assert d["ok"] is True and d["diagnoses"] == []
    assert {"input", "output", "h_n"} <= set(d["tensors"])
    assert d["parameters"]


def test_json_usage_error_is_json_too():
    res = invoke("--dtype", "int8", "--json")
    assert res.exit_code == 2
    payload = json.loads(res.stdout)
    assert payload["ok"] is False and payload["exit_code"] == 2
    assert "int8" in payload["error"]


def test_json_stdout_is_one_object():
    res = invoke("lstm", "--json", "--dry-run")
    assert res.exit_code == 0
    assert res.stdout.lstrip().startswith("{") and res.stdout.rstrip().endswith("}")
    json.loads(res.stdout)


# --------------------------------------------------------------------------- text output, exit codes


def test_text_report_shows_code_shapes_and_verdict():
    res = invoke("lstm", 10, 20, "--input-shape", "5,3,10", "--device", "cpu")
    assert res.exit_code == 0
    out = res.stdout
    assert "nn.LSTM(10, 20)" in out
    for shape in torch_shapes(nn.LSTM(10, 20), (5, 3, 10)).values():
        assert "(" + ", ".join(map(str, shape)) + ")" in out
    assert "shapes work" in out


def test_exit_codes():
    assert invoke("--dry-run").exit_code == 0
    assert invoke("--input-shape", "5,1,11", "--dry-run").exit_code == 1
    assert invoke("--input-shape", "5,1,y", "--dry-run").exit_code == 2


def test_version_and_help():
    res = cli("--version")
    assert res.exit_code == 0 and res.stdout.startswith("rnnshape ")
    res = cli("inspect", "--help")
    assert res.exit_code == 0
    for flag in ("--input-shape", "--hidden-shape", "--cell-shape", "--device", "--dtype",
                 "--dry-run", "--expect", "--json", "--unbatched"):
        assert flag in res.stdout


# --------------------------------------------------------------------------- bad input, huge sizes


@pytest.mark.parametrize(("args", "code"), [
    (["--input-shape", "5,1,y"], 2),
    (["--input-shape", "5;1;10"], 2),
    (["--input-shape", "5.0,1,10"], 2),
    (["--input-shape", "5,1,1e1"], 2),
    (["--input-shape", "five"], 2),
    (["--input-shape", "5,1,-10"], 2),
    (["--input-shape", "(5, 1, 10"], 2),
    (["--input-shape", "99999999999999999999999999,1,10"], 2),
    (["--hidden-shape", "1,-1,20"], 2),
    (["lstm", "--hidden-shape", "1,1,20", "--cell-shape", "a"], 2),
    (["--seq-len", "-1"], 2),
    (["--batch", "-3"], 2),
    (["--seq-len", "x"], 2),
    (["--input-size", "ten"], 2),
    (["rnn", "-10", "20"], 2),          # click reads -10 as an option
    (["--max-memory", "lots"], 2),
    (["--max-memory", "1KB"], 2),       # the run does not fit: refused before allocating
    (["--input-size=-5"], 1),           # torch: ValueError input_size must be greater than zero
    (["--hidden-size=0"], 1),
    (["--num-layers=0"], 1),
    (["--num-layers=-2"], 1),
    (["--dropout", "2"], 1),
    (["--nonlinearity", "sigmoid"], 1),
    (["--seq-len", "0"], 1),            # torch: Expected sequence length to be larger than 0
    (["--input-shape", ""], 1),         # a 0-D input: the wrong rank, diagnosed
])
def test_bad_input_never_tracebacks(args, code):
    res = invoke(*args, "--device", "cpu")
    assert res.exit_code == code, res.output


@pytest.mark.parametrize("kwargs", [{"input_size": -5}, {"hidden_size": 0}, {"num_layers": 0},
                                    {"dropout": 2.0}, {"nonlinearity": "sigmoid"}])
def test_torch_also_rejects_what_is_diagnosed(kwargs):
    """The exit-1 rows above are torch's own constructor errors."""
    args = {"input_size": 10, "hidden_size": 20, **kwargs}
    with pytest.raises(ValueError):
        nn.RNN(**args)
    flag = next(iter(kwargs))
    d = run_json(f"--{flag.replace('_', '-')}={kwargs[flag]}", "--device", "cpu", code=1)
    assert codes(d) == ["invalid-config"]


#: Larger than any machine's memory, but addressable: torch can make it on meta.
BIG = "100000000,100000000,10"
#: Beyond the 2^63 bytes torch can address in one tensor, even on meta.
HUGE = "100000000,100000000,100000"


def _shape(text: str) -> tuple[int, ...]:
    return tuple(map(int, text.split(",")))


@pytest.mark.parametrize("layer", [[], ["lstm", "10", "20"]], ids=["default", "lstm"])
def test_big_input_on_cpu_is_refused_before_allocating(layer):
    res = invoke(*layer, "--input-shape", BIG, "--device", "cpu")
    assert res.exit_code == 2
    assert "--device meta" in res.stderr


def test_big_layer_on_cpu_is_refused_before_allocating():
    res = invoke("--hidden-size", 100_000, "--num-layers", 50, "--device", "cpu")
    assert res.exit_code == 2
    assert "--device meta" in res.stderr


@pytest.mark.parametrize("engine", [["--device", "meta"], ["--dry-run"]], ids=["meta", "dry-run"])
def test_big_input_works_on_meta_and_dry_run(engine):
    seq, batch, feat = _shape(BIG)
    torch.empty(_shape(BIG), device="meta")  # torch can represent it
    d = run_json("--input-shape", BIG, *engine)
    # torch docs: output (L, N, D * H_out); h_n (D * num_layers, N, H_out)
    assert shapes(d)["output"] == (seq, batch, 20)
    assert shapes(d)["h_n"] == (1, batch, 20)
    # torch's input_size check still runs on the real sizes: diagnosed, nothing allocated
    d = run_json("rnn", 12, 20, "--input-shape", BIG, *engine, code=1)
    assert codes(d) == ["input-size-mismatch"]
    assert "12" in d["diagnoses"][0]["explanation"] and "10" in d["diagnoses"][0]["explanation"]


@pytest.mark.parametrize("engine", [["--device", "cpu"], ["--device", "meta"], ["--dry-run"]],
                         ids=["cpu", "meta", "dry-run"])
@pytest.mark.parametrize("layer", [[], ["rnn", "100000", "20"]], ids=["default", "matching"])
def test_unaddressable_input_is_refused_on_every_engine(layer, engine):
    with pytest.raises(RuntimeError):  # not even meta can hold it
        torch.empty(_shape(HUGE), device="meta")
    res = invoke(*layer, "--input-shape", HUGE, *engine)
    assert res.exit_code == 2
    assert res.stderr.startswith("rnnshape: error:") and "2^63" in res.stderr


@pytest.mark.parametrize("args", [
    ["--hidden-size", "5000000000"],                       # weight_hh: 2.5e19 values
    ["--input-shape", "2,4611686018427387904,10"],         # each dim allowed, numel is not
    ["lstm", "--input-shape", "1,1,10", "--hidden-shape", "4611686018427387904,1,20",
     "--cell-shape", "1,1,20"],
])
def test_storage_overflow_is_a_usage_error_not_a_crash(args):
    res = invoke(*args, "--device", "meta")
    assert res.exit_code == 2
    assert "2^63" in res.stderr


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
def test_meta_handles_ten_million_steps(mode):
    d = run_json(mode, 10, 20, "--num-layers", 2, "--bidirectional", "--batch", 64,
                 "--seq-len", 10_000_000, "--device", "meta")
    # torch docs: output (L, N, D * H_out), state (D * num_layers, N, H_out)
    assert shapes(d)["output"] == (10_000_000, 64, 40)
    assert shapes(d)["h_n"] == (4, 64, 20)


# --------------------------------------------------------------------------- once bugs, now pinned


@pytest.mark.parametrize("text", ["5,,10", ",5,10", "5,3,x", "5,3,10,,"])
def test_empty_dimension_in_shape_is_refused(text):
    result = invoke("--input-shape", text, "--dry-run")
    assert result.exit_code == 2 and "not a shape" in result.stderr


@pytest.mark.parametrize("text", ["nn.LSTM(10, 20, dtype=torch.float64)",
                                  "nn.LSTM(10, 20, device=device)",
                                  "nn.LSTM(10, 20)  # the encoder"])
def test_pasted_dtype_device_and_comments_are_ignored(text):
    assert invoke(text, "--dry-run").exit_code == 0


def test_absurdly_deep_stacks_are_left_to_the_shape_model():
    result = invoke("lstm", "--num-layers", "100000", "--device", "meta")
    assert result.exit_code == 2 and "--dry-run" in result.stderr
    dry = invoke("lstm", "--num-layers", "100000", "--dry-run")
    assert dry.exit_code == 0 and "h_n     (100000, 1, 20)" in dry.stdout
    # the JSON lists every parameter (400,000 for 100,000 layers): 2,000 layers say the same
    deep = invoke("lstm", "--num-layers", "2000", "--dry-run", "--json")
    assert deep.exit_code == 0
    assert json.loads(deep.stdout)["tensors"]["h_n"]["shape"] == [2000, 1, 20]
