"""The Python API: lazy exports without torch, typed results, and assert_rnn_shapes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import EXAMPLES, torch_shapes
from torch import nn

import rnnshape
from rnnshape import assert_rnn_shapes, check_file, explain_error, inspect_layer, layer_spec, trace_model
from rnnshape.engine.report import Report


def test_import_rnnshape_and_the_api_names_do_not_importtorch_shapes() -> None:
    code = ("import sys\nimport rnnshape\n"
            "from rnnshape import inspect_layer, explain_error, check_file, trace_model, assert_rnn_shapes\n"
            "import rnnshape.explain.explainer, rnnshape.check\n"  # the submodules stay modules
            "assert callable(explain_error) and callable(check_file)\n"
            "r = explain_error('RuntimeError: input.size(-1) must be equal to input_size. Expected 8, got 10')\n"
            "assert r.diagnoses[0].code == 'input-size-mismatch'\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "print(rnnshape.__version__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == rnnshape.__version__


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        rnnshape.not_a_name  # noqa: B018
    assert {"inspect_layer", "explain_error", "check_file", "trace_model", "assert_rnn_shapes"} <= set(dir(rnnshape))


@pytest.mark.parametrize("make", [
    lambda: nn.GRU(100, 64, num_layers=2, bidirectional=True, batch_first=True),
    lambda: nn.LSTM(10, 20, proj_size=5),
    lambda: nn.RNN(3, 4, nonlinearity="relu", num_layers=3),
])
def test_assert_rnn_shapes_passes_with_torchs_shapes(make) -> None:
    layer = make()
    x = (4, 7, layer.input_size) if layer.batch_first else (7, 4, layer.input_size)
    want = torch_shapes(layer, x)
    report = assert_rnn_shapes(layer, x, **want)
    assert isinstance(report, Report) and report.ok
    # the same from the constructor string and from the spec
    assert_rnn_shapes(layer_spec(layer).to_code(), x, **want)
    assert_rnn_shapes(layer_spec(layer), x, **want, device="none")


def test_assert_rnn_shapes_message_is_the_diagnosis() -> None:
    layer = nn.GRU(100, 64, num_layers=2, bidirectional=True, batch_first=True)
    with pytest.raises(AssertionError) as info:
        assert_rnn_shapes(layer, (32, 50, 100), output=(32, 50, 64))
    msg = str(info.value)
    assert "output: expected (32, 50, 64), got (32, 50, 128)" in msg
    assert "(32, 50, 128) = (batch 32, seq_len 50, 2 directions x hidden_size 64)" in msg

    with pytest.raises(RuntimeError, match="input.size"):  # torch agrees
        nn.LSTM(10, 20)(torch.randn(5, 3, 12))
    with pytest.raises(AssertionError) as info:
        assert_rnn_shapes(nn.LSTM(10, 20), (5, 3, 12), output=(5, 3, 20))
    msg = str(info.value)
    assert "[input-size-mismatch]" in msg and "input_shape=(5, 3, 12)" in msg
    assert "nn.LSTM(12, 20)" in msg  # the fix
    assert "expect-failed" not in msg  # the cause only, not its echo


def test_assert_rnn_shapes_states_and_wrong_names() -> None:
    layer = nn.LSTM(10, 20, num_layers=2)
    with pytest.raises(AssertionError, match="hidden-layers-mismatch"):
        assert_rnn_shapes(layer, (5, 3, 10), hidden=(1, 3, 20), cell=(2, 3, 20))
    with pytest.raises(TypeError, match="no 'c_n'"):
        assert_rnn_shapes(nn.GRU(3, 4), (2, 1, 3), c_n=(1, 1, 4))
    with pytest.raises(TypeError, match="not a recurrent layer"):
        assert_rnn_shapes(nn.Linear(3, 4), (2, 3))


def test_module_dtype_is_used() -> None:
    report = inspect_layer(nn.GRU(3, 4).double(), (2, 1, 3))
    assert report.request.dtype == "float64" and report.tensors["output"].dtype == "float64"


def test_cell_outputs() -> None:
    h1, c1 = nn.LSTMCell(3, 5)(torch.randn(2, 3))
    assert_rnn_shapes(nn.LSTMCell(3, 5), (2, 3), h_1=tuple(h1.shape), c_1=tuple(c1.shape))


def test_inspect_packed_and_bad_arguments() -> None:
    report = inspect_layer("nn.GRU(4, 6, batch_first=True)", (3, 5, 4), lengths=[5, 3, 2], device="cpu")
    assert report.ok and report.tensors["output_packed"].shape == (10, 6)
    with pytest.raises(ValueError, match="not a constructor"):
        inspect_layer("lstm", (5, 3, 10))
    with pytest.raises(ValueError, match="unknown device"):
        inspect_layer("nn.GRU(4, 6)", (2, 1, 4), device="tpu")


def test_check_and_trace_return_typed_results() -> None:
    result = check_file(str(EXAMPLES / "tagger" / "check.toml"), dry_run=True)
    assert result.ok and len(result.results) == 3
    traced = trace_model(f"{EXAMPLES}/tagger/model.py:build_tagger", [(2, 6)], input_dtypes=["long"],
                   init_args={"tags": 3})
    assert traced.ok and traced.find("tagger").outputs[0].shape == (2, 6, 3)


def test_explain_returns_the_explanation() -> None:
    try:
        nn.GRU(4, 6)(torch.randn(3, 2, 4), torch.zeros(1, 5, 6))
    except RuntimeError as exc:
        message = f"RuntimeError: {exc}"
    result = explain_error(message)
    assert result.ok and result.diagnoses[0].code == "hidden-batch-mismatch"


# --------------------------------------------------------------------------- validation, in the API's words


@pytest.mark.parametrize("kwargs, words", [
    ({"dtype": "float128", "device": "none"}, "dtype='float128' is not a layer dtype"),
    ({"device": "tpu"}, "unknown device: device='tpu'"),
    ({"device": "cuda:7"}, "device='meta'"),
])
def test_api_validates_like_the_cli_in_its_own_words(kwargs, words) -> None:
    if "cuda" in kwargs.get("device", "") and torch.cuda.device_count() > 7:
        pytest.skip("needs a machine without an eighth CUDA device")
    with pytest.raises(ValueError) as info:
        inspect_layer("nn.LSTM(10, 20)", (5, 3, 10), **kwargs)
    assert words in str(info.value) and "--" not in str(info.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"input_shape": (5, 3, -4)}, "input_shape=(5, 3, -4) is not a shape: -4 is negative"),
    ({"input_shape": (5, 3, 10), "hidden": (1, 3, 20), "cell": (1, 3, 20), "layer": "nn.GRU(10, 20)"},
     "cell= is for LSTM and LSTMCell; GRU has no cell state"),
    ({"input_shape": (5, 3, 10), "cell": (1, 3, 20)}, "cell= needs hidden= too"),
    ({"input_shape": (3, 10), "lengths": [2, 1, 1], "layer": "nn.LSTMCell(10, 20)"}, "lengths= packs a sequence"),
    ({"input_shape": (5, 3, 10), "expect": {"out": (5, 3, 20)}}, "expect names an unknown tensor 'out'"),
])
def test_api_errors_never_quote_cli_flags(kwargs, words) -> None:
    layer = kwargs.pop("layer", "nn.LSTM(10, 20)")
    with pytest.raises(ValueError) as info:
        inspect_layer(layer, device="none", **kwargs)
    assert words in str(info.value) and "--" not in str(info.value)


def test_the_same_dtype_rule_in_the_cli_and_a_check_file(tmp_path) -> None:
    from conftest import cli

    res = cli("lstm", "--dtype", "float128", command="inspect")
    assert res.exit_code == 2 and "--dtype 'float128' is not a layer dtype" in res.stderr
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nname = "a"\nlayer = "nn.GRU(4, 6)"\ninput = [2, 3, 4]\ndtype = "float128"\n')
    res = cli(path, command="check")
    assert res.exit_code == 2 and 'dtype = "float128" is not a layer dtype' in res.stderr
