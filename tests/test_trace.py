"""``rnnshape trace``: the examples' models and broken variants, against what real torch does.

The oracle: the same model run on the CPU with plain torch forward hooks written here.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from rnnshape.cli import app
from rnnshape.engine.trace import TraceError, spec_from_module, trace_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()


def _oracle(model: nn.Module, *inputs) -> dict[str, list[tuple[int, ...]]]:
    """Each submodule's output tensor shapes, flattened in order, from plain torch hooks (CPU)."""
    seen: dict[str, list[tuple[int, ...]]] = {}
    names = {id(m): n for n, m in model.named_modules()}

    def flat(value):
        from torch.nn.utils.rnn import PackedSequence

        if isinstance(value, PackedSequence):
            return [tuple(value.data.shape)]
        if isinstance(value, torch.Tensor):
            return [tuple(value.shape)]
        if isinstance(value, (tuple, list)):
            return [s for v in value for s in flat(v)]
        return []

    def hook(module, args, out):
        seen.setdefault(names[id(module)], flat(out))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(*inputs)
    for h in handles:
        h.remove()
    return seen


def _load(path: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_t_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def _shapes(call) -> list[tuple[int, ...]]:
    return [v.shape for v in call.outputs if v.kind in ("tensor", "packed")]


def _assert_matches_torch(result, oracle) -> None:
    for path, shapes in oracle.items():
        call = result.find(path)
        assert call is not None, f"{path!r} missing from the trace"
        assert _shapes(call) == shapes, (path, _shapes(call), shapes)


# --------------------------------------------------------------------------- the examples


def test_sentiment_tree_matches_torch() -> None:
    cls = _load(EXAMPLES / "sentiment" / "model.py", "SentimentClassifier")
    oracle = _oracle(cls(), torch.randint(0, 100, (8, 20)))
    result = trace_model(f"{EXAMPLES}/sentiment/model.py:SentimentClassifier", [(8, 20)],
                         input_dtypes=["long"])
    assert result.ok and result.device == "cpu" and not result.notes  # a small model: the fast engine
    assert result.engine == "torch (cpu), the fast engine for a small model"
    _assert_matches_torch(result, oracle)
    lstm = result.find("lstm")
    assert [v.label for v in lstm.inputs + lstm.outputs] == ["input", "output", "h_n", "c_n"]
    assert lstm.explained["output"] == "(8, 20, 64) = (batch 8, seq_len 20, 2 directions x hidden_size 32)"
    assert lstm.explained["h_n"].startswith("(2, 8, 32) = (num_layers 1 x 2 directions")
    assert lstm.spec.to_code() == "nn.LSTM(16, 32, batch_first=True, bidirectional=True)"
    assert result.root.inputs[0].dtype == "int64"


def test_tagger_factory_with_init_args_on_cpu() -> None:
    factory = _load(EXAMPLES / "tagger" / "model.py", "build_tagger")
    oracle = _oracle(factory(tags=9), torch.randint(0, 50, (4, 12)))
    result = trace_model(f"{EXAMPLES}/tagger/model.py:build_tagger", [(4, 12)], input_dtypes=["long"],
                         init_args=([], {"tags": 9}), device="cpu")
    assert result.ok and result.device == "cpu"
    _assert_matches_torch(result, oracle)
    assert result.find("tagger").outputs[0].shape == (4, 12, 9)
    assert result.find("gru").explained["h_n"].startswith("(4, 4, 16) = (num_layers 2 x 2 directions")


def test_seq2seq_packed_falls_back_to_cpu_with_a_note(monkeypatch) -> None:
    from rnnshape.engine import run

    monkeypatch.setattr(run, "FAST_CPU_BYTES", 0)  # as a large model: meta first, then the fallback
    cls = _load(EXAMPLES / "seq2seq" / "model.py", "Encoder")
    lengths = [5, 7, 2, 3]
    oracle = _oracle(cls(), torch.randint(1, 60, (4, 7)), torch.tensor(lengths))
    result = trace_model(f"{EXAMPLES}/seq2seq/model.py:Encoder", [(4, 7)], input_dtypes=["long"],
                         input_values=[lengths])
    assert result.ok, result.diagnoses
    if result.device == "cpu":  # torch 2.13 cannot pad_packed_sequence on meta
        assert "does not run on the meta device" in result.notes[0]
    _assert_matches_torch(result, oracle)
    lstm = result.find("lstm")
    assert lstm.inputs[0].kind == "packed"
    assert lstm.explained["input"].startswith("PackedSequence data (17, 16) = (sum of lengths 17")
    assert lstm.explained["input"].endswith("batch_sizes [4, 4, 3, 2, 2, 1, 1]")
    assert lstm.explained["h_n"].startswith("(4, 4, 24)")


def test_explicit_meta_does_not_fall_back() -> None:
    result = trace_model(f"{EXAMPLES}/seq2seq/model.py:Encoder", [(4, 7)], input_dtypes=["long"],
                         input_values=[[5, 7, 2, 3]], device="meta")
    assert result.device == "meta" and not result.notes
    assert result.stage == "forward" and not result.ok


def test_the_users_instance_is_never_moved_or_hooked(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.GRU(8, 6, batch_first=True))
    result = trace_model(model, [(2, 5, 4)])
    assert result.ok and result.device == "cpu"  # a small model: the fast engine's copy on the cpu
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert model.training  # eval() was called on the copy only
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert result.find("1").outputs[0].shape == (2, 5, 6)


# --------------------------------------------------------------------------- broken models


def test_broken_example_marks_the_linear_and_explains_it() -> None:
    cls = _load(EXAMPLES / "broken" / "model.py", "BrokenClassifier")
    with pytest.raises(RuntimeError, match="mat1 and mat2"):  # torch fails on the CPU too
        cls()(torch.randint(0, 100, (8, 20)))
    result = trace_model(f"{EXAMPLES}/broken/model.py:BrokenClassifier", [(8, 20)], input_dtypes=["long"])
    assert not result.ok and result.stage == "forward"
    assert result.failing_path == "classifier"
    assert result.root.status == "inside"
    assert [c.status for c in result.root.children] == ["ok", "ok", "failed"]
    assert result.find("classifier").inputs[0].shape == (8, 64)
    d = result.diagnoses[0]
    assert d.code == "linear-mismatch"
    assert d.evidence["module"] == "classifier"
    assert d.evidence["module_settings"] == "Linear(in_features=32, out_features=2, bias=True)"
    assert d.evidence["seen_inputs"] == {"in": "(8, 64)"}
    assert "nn.Linear(64, 2)" in d.fix
    assert any("lstm" in line and "(2, 8, 32)" in line for line in result.context)


def test_wrong_input_size_is_diagnosed_by_the_shape_model_on_the_real_input() -> None:
    cls = _load(EXAMPLES / "broken" / "model.py", "WrongEmbeddingSize")
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        cls()(torch.randint(0, 100, (8, 20)))
    result = trace_model(f"{EXAMPLES}/broken/model.py:WrongEmbeddingSize", [(8, 20)],
                         input_dtypes=["long"])
    assert result.failing_path == "lstm"
    d = result.diagnoses[0]
    assert d.code == "input-size-mismatch"
    assert d.evidence["expected"] == 32 and d.evidence["got"] == 16
    assert d.evidence["origin"] == "the input of lstm"
    assert "nn.LSTM(16, 32, batch_first=True)" in d.fix
    assert len({x.code for x in result.diagnoses}) == len(result.diagnoses)  # no duplicate codes


def _model_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "net.py"
    path.write_text("import torch\nfrom torch import nn\n\n" + textwrap.dedent(body))
    return str(path)


def test_state_with_the_wrong_batch(tmp_path: Path) -> None:
    target = _model_file(tmp_path, """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 6, num_layers=2, batch_first=True)
                self.h0 = torch.zeros(2, 8, 6)   # built for batch 8

            def forward(self, x):
                return self.gru(x, self.h0.to(x.device))[0]
    """)
    result = trace_model(target + ":Net", [(3, 5, 4)], device="cpu")
    assert result.failing_path == "gru"
    assert result.diagnoses[0].code == "hidden-batch-mismatch"
    gru = result.find("gru")
    assert [(v.label, v.shape) for v in gru.inputs] == [("input", (3, 5, 4)), ("h_0", (2, 8, 6))]


def test_a_constructor_error_is_explained(tmp_path: Path) -> None:
    target = _model_file(tmp_path, """
        class Net(nn.Module):
            def __init__(self, hidden=20):
                super().__init__()
                self.lstm = nn.LSTM(10, hidden, proj_size=30)
    """)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(10, 20, proj_size=30)
    result = trace_model(target + ":Net", [(5, 3, 10)], device="cpu")
    assert result.stage == "construct" and result.root is None
    assert result.diagnoses[0].code == "invalid-config"


def test_repeated_calls_collapse(tmp_path: Path) -> None:
    target = _model_file(tmp_path, """
        class Decoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.LSTMCell(4, 6)

            def forward(self, x):
                h = c = torch.zeros(x.size(1), 6, device=x.device)
                for step in x:
                    h, c = self.cell(step, (h, c))
                return h
    """)
    result = trace_model(target + ":Decoder", [(5, 2, 4)])
    assert result.ok
    (cell,) = result.root.children
    assert cell.repeats == 5
    assert [(v.label, v.shape) for v in cell.outputs] == [("h_1", (2, 6)), ("c_1", (2, 6))]
    assert cell.explained["h_1"] == "(2, 6) = (batch 2, hidden_size 6)"


def test_uncalled_modules_are_listed(tmp_path: Path) -> None:
    target = _model_file(tmp_path, """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.RNN(4, 6)
                self.unused = nn.Sequential(nn.Linear(6, 6))

            def forward(self, x):
                return self.rnn(x)[0]
    """)
    result = trace_model(target + ":Net", [(5, 2, 4)])
    assert result.uncalled == ["unused"]


def test_spec_from_module_reads_every_setting() -> None:
    m = nn.LSTM(6, 10, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True,
                proj_size=3)
    assert spec_from_module(m).to_code() == ("nn.LSTM(6, 10, num_layers=2, bias=False, batch_first=True, "
                                             "dropout=0.5, bidirectional=True, proj_size=3)")
    assert spec_from_module(nn.RNN(3, 4, nonlinearity="relu")).nonlinearity == "relu"
    assert spec_from_module(nn.GRUCell(3, 4, bias=False)).to_code() == "nn.GRUCell(3, 4, bias=False)"

    class MyLSTM(nn.LSTM):
        pass

    assert spec_from_module(MyLSTM(3, 4)).mode == "lstm"
    assert spec_from_module(nn.Linear(3, 4)) is None


# --------------------------------------------------------------------------- usage errors and the CLI


@pytest.mark.parametrize("target, words", [
    ("nope/model.py:Net", "no such file"),
    ("no_colon_here", "path/to/model.py:ClassName"),
    ("{examples}/sentiment/model.py:Nope", "has no 'Nope'"),
    ("rnnshape_no_such_pkg.models:Net", "importing 'rnnshape_no_such_pkg.models' failed"),
])
def test_bad_targets_are_usage_errors(target: str, words: str) -> None:
    with pytest.raises(TraceError, match=words):
        trace_model(target.format(examples=EXAMPLES), [(2, 3)])


def test_import_error_in_the_users_file(tmp_path: Path) -> None:
    target = _model_file(tmp_path, "import not_a_module_anywhere\n")
    out = runner.invoke(app, ["trace", target + ":Net", "--input-shape", "2,3"])
    assert out.exit_code == 2
    assert "ModuleNotFoundError" in out.output and "not_a_module_anywhere" in out.output


def test_package_module_factory_target(tmp_path: Path, monkeypatch) -> None:
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text("from torch import nn\n\ndef make(hidden=6):\n"
                                   "    return nn.GRU(4, hidden)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    out = runner.invoke(app, ["trace", "mypkg.models:make", "--input-shape", "5,2,4",
                              "--init-args", '{"hidden": 7}', "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    want = nn.GRU(4, 7)(torch.randn(5, 2, 4))
    assert data["tree"]["outputs"][0]["shape"] == list(want[0].shape)
    assert data["tree"]["outputs"][1]["shape"] == list(want[1].shape)
    assert data["tree"]["layer"]["code"] == "nn.GRU(4, 7)"


def test_cli_broken_model_exit_1_and_json() -> None:
    target = f"{EXAMPLES}/broken/model.py:BrokenClassifier"
    out = runner.invoke(app, ["trace", target, "--input-shape", "8,20", "--input-dtype", "long"])
    assert out.exit_code == 1
    assert "failed here" in out.output and "linear-mismatch" in out.output
    out = runner.invoke(app, ["trace", target, "--input-shape", "8,20", "--input-dtype", "long", "--json"])
    data = json.loads(out.output)
    assert data["ok"] is False and data["error"]["module"] == "classifier"
    assert data["diagnoses"][0]["code"] == "linear-mismatch"


@pytest.mark.parametrize("args, words", [
    ([], "give the model's input"),
    (["--input-shape", "2,a"], "not a shape"),
    (["--input-shape", "2,3", "--input-dtype", "complex"], "not a dtype"),
    (["--input-shape", "2,3", "--init-args", "{bad"], "not JSON"),
    (["--input-shape", "2,3", "--input-value", "[1,"], "not JSON"),
    (["--input-shape", "2,3", "--input-dtype", "long", "--input-dtype", "long", "--input-dtype", "long"],
     "3 --input-dtype for 1"),
])
def test_cli_usage_errors(args: list[str], words: str) -> None:
    out = runner.invoke(app, ["trace", f"{EXAMPLES}/sentiment/model.py:SentimentClassifier", *args])
    assert out.exit_code == 2, out.output
    assert words in out.output
