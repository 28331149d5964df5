"""Issue 9's examples of wrong advice, each with the right fix pinned and re-run in torch.

Each test reproduces the case a user hit, asserts the exact fix rnnshape now prints
(and that the wrong one is gone), then applies that fix in real torch and checks the
call works and still means the same thing (batch is batch, time is time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import Verified
from rnnshape.engine.trace import trace_model
from rnnshape.explain.explainer import explain_text
from rnnshape.model.shapes import Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec

ROOT = Path(__file__).resolve().parents[1]


def rnnshape(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def inspect_json(*args: str) -> dict:
    done = rnnshape("inspect", *args, "--json")
    return json.loads(done.stdout)


def run_fix(code: str, **values) -> dict:
    ns = {"torch": torch, "nn": nn, **values}
    exec(compile(code, "<fix>", "exec"), ns)  # noqa: S102 - the fix as printed
    return ns


# --------------------------------------------------------------------------- the last batch, batch-first


def test_batch_first_gru_state_for_32_meets_a_last_batch_of_4() -> None:
    out = inspect_json("nn.GRU(10, 20, batch_first=True)", "--input-shape", "4,7,10",
                       "--hidden-shape", "1,32,20", "--device", "cpu")
    (d,) = out["diagnoses"]
    assert d["code"] == "hidden-batch-mismatch"
    assert d["fix"] == "h_0 = torch.zeros(1, x.size(0), 20, dtype=x.dtype, device=x.device)"
    assert "x.size(1)" not in d["fix"]  # the sequence length for a batch-first layer
    assert d["fixes"][0]["verified"] == "verified-by-torch"
    gru = nn.GRU(10, 20, batch_first=True)
    x = torch.randn(4, 7, 10)
    ns = run_fix(d["fix"], x=x, rnn=gru)
    out_, h_n = gru(x, ns["h_0"])
    assert out_.shape == (4, 7, 20) and h_n.shape == (1, 4, 20)


def test_explain_of_the_last_batch_never_assumes_the_layout() -> None:
    found = explain_text("RuntimeError: Expected hidden size (1, 4, 20), got [1, 32, 20]").diagnoses
    d = next(d for d in found if d.code == "hidden-batch-mismatch")
    assert "x.size(0) if rnn.batch_first else x.size(1)" in d.fix
    for batch_first, shape in ((True, (4, 7, 10)), (False, (7, 4, 10))):
        gru = nn.GRU(10, 20, batch_first=batch_first)
        ns = run_fix(d.fix, x=torch.randn(shape), rnn=gru)
        assert gru(ns["x"], ns["h_0"])[1].shape == (1, 4, 20)


def test_trace_of_a_batch_first_gru_with_a_state_built_for_32(tmp_path: Path) -> None:
    path = tmp_path / "last_batch.py"
    path.write_text(textwrap.dedent("""
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(10, 20, batch_first=True)
                self.h = torch.zeros(1, 32, 20)

            def forward(self, x):
                return self.gru(x, self.h)[0]
    """))
    result = trace_model(f"{path}:Net", [(4, 7, 10)], device="cpu")
    d = next(d for d in result.diagnoses if d.code == "hidden-batch-mismatch")
    assert d.fix == "h_0 = torch.zeros(1, x.size(0), 20, dtype=x.dtype, device=x.device)"
    assert d.fixes[0].verified is Verified.BY_TORCH


# --------------------------------------------------------------------------- forgot batch_first=True

FORGOT = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.lstm = nn.LSTM(32, 64)  # forgot batch_first=True
        self.fc = nn.Linear(64, 2)

    def forward(self, ids):
        h0 = torch.zeros(1, ids.size(0), 64, device=ids.device)
        c0 = torch.zeros(1, ids.size(0), 64, device=ids.device)
        out, _ = self.lstm(self.emb(ids), (h0, c0))
        return self.fc(out[:, -1])


class NoState(nn.Module):
    def __init__(self, batch_first=False):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.lstm = nn.LSTM(32, 64, batch_first=batch_first)

    def forward(self, ids):
        return self.lstm(self.emb(ids))[0]
"""


@pytest.fixture()
def forgot(tmp_path: Path) -> Path:
    path = tmp_path / "forgot.py"
    path.write_text(FORGOT)
    return path


def test_trace_of_a_model_that_forgot_batch_first_fixes_the_flag(forgot: Path) -> None:
    result = trace_model(f"{forgot}:Net", [(16, 50)], input_dtypes=["int64"], device="cpu")
    d = next(d for d in result.diagnoses if d.code == "hidden-batch-mismatch")
    assert d.fix == "self.lstm = nn.LSTM(32, 64, batch_first=True)"
    assert "50" not in d.fix  # never a state resized to the sequence length
    assert d.fixes[0].verified is Verified.BY_TORCH
    model = _load(forgot, "Net")
    exec(compile(d.fix, "<fix>", "exec"), {"self": model, "nn": nn})  # noqa: S102
    ids = torch.randint(0, 100, (16, 50))
    assert model(ids).shape == (16, 2)


def test_trace_warns_when_the_layer_reads_the_batch_as_time(forgot: Path) -> None:
    wrong = trace_model(f"{forgot}:NoState", [(16, 50)], input_dtypes=["int64"], device="cpu")
    (d,) = [d for d in wrong.diagnoses if d.code == "batch-first-suspect"]
    assert d.fixes[0].code == "self.lstm = nn.LSTM(32, 64, batch_first=True)"
    assert "the first axis of the ids" in d.explanation
    right = trace_model(f"{forgot}:NoState", [(16, 50)], input_dtypes=["int64"], device="cpu",
                        init_args=([], {"batch_first": True}))
    assert not [d for d in right.diagnoses if d.code == "batch-first-suspect"]


def test_no_batch_first_warning_without_provenance() -> None:
    """The old power-of-two guess fired on right code; numbers alone now say nothing."""
    spec = LayerSpec(mode="lstm", input_size=10, hidden_size=20)
    assert predict(Request(spec, TensorArg((32, 7, 10)))).diagnoses == []


def _load(path: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_adv_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


# --------------------------------------------------------------------------- inspect's rank fixes


def test_gru_cell_with_a_batched_input_and_a_3d_state_squeezes_dim_0() -> None:
    out = inspect_json("gru-cell", "10", "20", "--input-shape", "3,10", "--hidden-shape", "1,3,20")
    (d,) = out["diagnoses"]
    assert d["code"] == "hidden-rank"
    assert "unbatched 2-D" not in d["explanation"] and "batched 2-D" in d["explanation"]
    assert d["fix"] == "h_0 = h_0.squeeze(0)   # (1, 3, 20) -> (3, 20)"
    cell = nn.GRUCell(10, 20)
    ns = run_fix(d["fix"], h_0=torch.zeros(1, 3, 20))
    assert cell(torch.randn(3, 10), ns["h_0"]).shape == (3, 20)


def test_lstm_with_a_4d_input_merges_the_extra_axis_into_the_batch() -> None:
    out = inspect_json("lstm", "10", "20", "--input-shape", "2,5,3,10")
    (d,) = out["diagnoses"]
    assert d["code"] == "input-rank"
    assert "start_dim=2" not in d["fix"]  # (2, 5, 30): fails
    assert d["fixes"][0]["code"] == ["x = x.flatten(1, 2)   # (2, 5, 3, 10) -> (2, 15, 10)"]
    assert all(f["verified"] == "verified-by-torch" for f in d["fixes"])
    ns = run_fix(d["fixes"][0]["code"][0], x=torch.randn(2, 5, 3, 10))
    out_, _ = nn.LSTM(10, 20)(ns["x"])
    assert out_.shape == (2, 15, 20)  # time (2 steps) kept on axis 0


# --------------------------------------------------------------------------- dtypes and devices


def test_token_ids_get_an_embedding_never_an_integer_model() -> None:
    ids = torch.randint(0, 50, (7, 3))
    req = Request(LayerSpec(mode="lstm", input_size=16, hidden_size=8), TensorArg((7, 3), "int64", largest=49))
    d = predict(req).error
    assert d.code == "integer-input"
    assert "model.to" not in d.fix and "int32" not in d.fix
    assert d.fixes[0].code.startswith("embed = nn.Embedding(num_embeddings=50, embedding_dim=16)")
    ns = run_fix(d.fixes[0].code, x=ids)
    assert nn.LSTM(16, 8)(ns["x"])[0].shape == (7, 3, 8)


def test_float_values_into_an_embedding_are_converted_not_the_weights() -> None:
    message = ("RuntimeError: Expected tensor for argument #1 'indices' to have one of the following "
               "scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments "
               "for embedding)")
    # explain claims an Embedding error only when the paste ties it to a recurrent model (issue 9, item 4)
    assert not explain_text(message).diagnoses
    code = "self.embedding = nn.Embedding(5, 3)\nself.lstm = nn.LSTM(3, 8)\n"
    (d,) = [d for d in explain_text(message, code=code).diagnoses if d.code == "dtype-mismatch"]
    assert "weights are int64" not in d.title + d.explanation
    assert "model.to" not in d.fix
    ns = run_fix(d.fix, x=torch.tensor([[1.0, 2.0]]))
    assert nn.Embedding(5, 3)(ns["x"]).shape == (1, 2, 3)


def test_device_mismatch_moves_the_tensor_to_the_models_device() -> None:
    message = ("RuntimeError: Input and parameter tensors are not at the same device, found input "
               "tensor at cpu and parameter tensor at cuda:0")
    d = dx.device_mismatch(devices=["cpu", "cuda:0"], torch_message=message)
    assert d.fix.startswith("x = x.to('cuda:0')")
    assert "model.to" not in d.fix and "cpu" not in d.fix.split("#")[0]
    # the same rule in the shape model, re-run in torch where this machine can: layer on meta
    req = Request(LayerSpec(mode="gru", input_size=3, hidden_size=2), TensorArg((4, 2, 3), device="cpu"),
                  device="meta")
    found = predict(req).error
    assert found.fix.startswith("x = x.to('meta')")
    gru = nn.GRU(3, 2, device="meta")
    ns = run_fix(found.fix, x=torch.randn(4, 2, 3))
    assert gru(ns["x"])[0].shape == (4, 2, 2)


# --------------------------------------------------------------------------- messages


def test_max_memory_names_the_users_limit_not_free_memory() -> None:
    done = rnnshape("inspect", "lstm", "10", "20", "--seq-len", "500", "--batch", "64",
                    "--max-memory", "10KB")
    assert done.returncode == 2
    assert "the --max-memory limit is 10.0 KB" in done.stderr
    assert "free" not in done.stderr.split(";")[0]


def test_lengths_saved_as_a_python_list_are_found(tmp_path: Path) -> None:
    path = tmp_path / "batch.pt"
    torch.save({"input": torch.randn(5, 3, 10), "lengths": [5, 3, 2]}, path)
    out = inspect_json("lstm", "10", "20", "--input", f"{path}:input", "--lengths", f"{path}:lengths")
    assert out["ok"] and out["packed"]["lengths"] == [5, 3, 2]


def test_input_size_mismatch_wording_and_both_fixes_run() -> None:
    out = inspect_json("nn.GRU(64, 32)", "--input-shape", "7,3,50")
    (d,) = out["diagnoses"]
    assert "down to" not in d["explanation"] + d["fix"]  # 50 -> 64 is not down
    assert [f["kind"] for f in d["fixes"]] == ["constructor-argument", "feature-projection"]
    assert all(f["verified"] == "verified-by-torch" for f in d["fixes"])
    x = torch.randn(7, 3, 50)
    rebuilt = run_fix(d["fixes"][0]["code"][0], x=x)
    assert rebuilt["rnn"](x)[0].shape == (7, 3, 32)
    projected = run_fix("\n".join(d["fixes"][1]["code"]), x=x)
    assert nn.GRU(64, 32)(projected["x"])[0].shape == (7, 3, 32)
