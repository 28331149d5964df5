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


# --------------------------------------------------------------------------- "expected scalar type A but found B"
# Which of the two dtypes is the input's depends on torch's kernel. A whole layer's kernel on a padded batch
# names the input's dtype as "expected" (pytorch#68377, #99998, #71614: users who passed a Long or complex
# input read "expected scalar type Long" and converted the wrong way). Each fix below is applied in torch.

#: pytorch/pytorch#68377 (torch 1.10), verbatim: the reproduction, the traceback as far as the thread shows
#: it, and the message the reporter quotes. Cause: a Long input; the fix is a float input.
ISSUE_68377 = (
    "from torch.nn import RNN\nfrom torch import rand\nmodel = RNN(128,64,batch_first=True)\n"
    "model(rand(32, 192, 128).long())\n\n"
    "RuntimeError                              Traceback (most recent call last)\n"
    "<ipython-input-27-2b9757299ee1> in <module>\n"
    "      2 from torch import rand\n"
    "      3 model = RNN(128,64,batch_first=True)\n"
    "----> 4 model(rand(32, 192, 128).long())\n\n"
    "RuntimeError: expected scalar type Long but found Float\n")
#: pytorch/pytorch#99998 (torch 2.0), verbatim code and message; the same cause.
ISSUE_99998_CODE = ("import torch\nlstm = torch.nn.LSTM(1, 200, 2, batch_first=True)\n"
                    "input = torch.zeros(20, 36, 1).long()\nlstm(input, None)\n")
#: torch 1.x's rnn.py frame around the kernel (its source line, verbatim) under a user's one-argument call.
WHOLE_LAYER_FRAMES = ('Traceback (most recent call last):\n  File "train.py", line 30, in <module>\n'
                      "    {call}\n"
                      '  File "/usr/lib/python3.8/site-packages/torch/nn/modules/rnn.py", line 581, in forward\n'
                      "    result = _VF.lstm(input, hx, self._flat_weights, self.bias, self.num_layers,\n"
                      "RuntimeError: expected scalar type {expected} but found {found}\n")


def _error(text: str, code: str | None = None) -> dx.Diagnosis:
    return next(d for d in explain_text(text, code=code).diagnoses if d.is_error)


def test_a_long_input_reported_as_expected_long_gets_a_float_input_never_long() -> None:
    for d in (_error(ISSUE_68377), _error("RuntimeError: expected scalar type Long but found Float",
                                           code=ISSUE_99998_CODE)):
        assert d.code == "integer-input"
        assert ".long()" not in d.fix and "int64)" not in d.fix
        numeric = next(f.code for f in d.fixes if "float()" in f.code)
        rnn = nn.RNN(128, 64, batch_first=True)
        ns = run_fix(numeric, x=torch.rand(32, 192, 128).long())
        assert rnn(ns["x"])[0].shape == (32, 192, 64)  # batch 32 and time 192 kept
        lstm = nn.LSTM(1, 200, 2, batch_first=True)
        ns = run_fix(numeric, x=torch.zeros(20, 36, 1).long())
        assert lstm(ns["x"], None)[0].shape == (20, 36, 200)


def test_a_float64_input_under_a_whole_layer_kernel_is_converted_to_the_weights_dtype() -> None:
    d = _error(WHOLE_LAYER_FRAMES.format(call="out, _ = lstm(x)", expected="Double", found="Float"))
    assert d.code == "dtype-mismatch"
    assert d.title == "input is float64 but the layer's weights are float32"
    assert d.fixes[0].code.startswith("x = x.to(torch.float32)")
    lstm = nn.LSTM(8, 16, batch_first=True)
    ns = run_fix(d.fixes[0].code, x=torch.randn(4, 7, 8, dtype=torch.float64))
    assert lstm(ns["x"])[0].shape == (4, 7, 16)
    # the other fix: the whole model in the input's dtype
    rebuilt = run_fix(d.fixes[1].code, rnn=nn.LSTM(8, 16, batch_first=True))["rnn"]
    assert rebuilt(torch.randn(4, 7, 8, dtype=torch.float64))[0].shape == (4, 7, 16)


@pytest.mark.parametrize("call", ["out, (h, c) = lstm(x, (h_0, c_0))", "out, _ = lstm(*args)",
                                  "out, h = lstm(x, hidden)"])
def test_when_torch_does_not_say_which_tensor_is_which_the_fix_holds_either_way(call: str) -> None:
    d = _error(WHOLE_LAYER_FRAMES.format(call=call, expected="Float", found="Double"))
    assert d.code == "dtype-mismatch"
    assert "float64" in d.title and "float32" in d.title and "input is" not in d.title
    for x_dtype, state_dtype in ((torch.float64, torch.float32), (torch.float32, torch.float64)):
        lstm = nn.LSTM(8, 16)
        ns = run_fix(d.fix, model=lstm, x=torch.randn(7, 4, 8, dtype=x_dtype),
                     h_0=torch.zeros(1, 4, 16, dtype=state_dtype), c_0=torch.zeros(1, 4, 16, dtype=state_dtype))
        out, (h_n, _) = lstm(ns["x"], (ns["h_0"], ns["c_0"]))
        assert out.shape == (7, 4, 16) and h_n.shape == (1, 4, 16)


def test_a_complex_input_to_a_gru_from_the_real_repl_paste_gets_the_weights_dtype() -> None:
    paste = (ROOT / "tests/data/snippets_real/pytorch_71614_complex_gru_repl.txt").read_text()
    d = _error(paste)
    assert d.code == "dtype-mismatch" and "ComplexFloat" not in d.fix
    assert "weights are complex64" not in d.title + d.explanation
    gru = nn.GRU(5, 1)
    with pytest.warns(UserWarning, match="imaginary part"):  # torch's own caution when complex becomes real
        ns = run_fix(d.fix, model=gru, x=torch.zeros(3, 4, 5, dtype=torch.complex64),
                     h_0=torch.zeros(1, 4, 1), c_0=torch.zeros(1, 4, 1))
    assert gru(ns["x"])[0].shape == (3, 4, 1)


def test_the_old_wording_names_the_argument_whose_dtype_was_found() -> None:
    code = "lstm = nn.LSTM(8, 16)\n"
    mat1 = _error("RuntimeError: Expected object of scalar type Float but got scalar type Double for "
                  "argument #2 'mat1'", code=code)
    # 'mat1' is the input of the layer's first product, or the state in the state's own product
    assert mat1.title == "the input or a state is float64 but the layer's weights are float32"
    mat2 = _error("RuntimeError: Expected object of scalar type Double but got scalar type Float for "
                  "argument #3 'mat2'", code=code)
    assert mat2.title == mat1.title and mat2.fix == mat1.fix
    ns = run_fix(mat1.fixes[0].code, x=torch.randn(7, 4, 8, dtype=torch.float64))
    assert nn.LSTM(8, 16)(ns["x"])[0].shape == (7, 4, 16)
    state = torch.zeros(1, 4, 16, dtype=torch.float64)   # the other reading: the state is the odd one
    said = mat1.fixes[0].code.split("# and a state you pass: ", 1)[1].split(" (c_0")[0]
    ns = run_fix(said, h_0=state)
    assert nn.GRU(8, 16)(torch.randn(7, 4, 8), ns["h_0"])[0].shape == (7, 4, 16)


# --------------------------------------------------------------------------- a 2-D input to torch before 1.11


@pytest.mark.parametrize("batch_first", [False, True])
def test_a_2d_input_for_old_torch_gets_both_readings_each_keeping_its_axes(batch_first: bool) -> None:
    message = "RuntimeError: input must have 3 dimensions, got 2"
    d = _error(message, code=f"self.lstm = nn.LSTM(8, 16, batch_first={batch_first})\n")
    assert d.code == "input-rank" and "reshape(...)" not in d.fix
    one, steps = d.fixes
    assert one.label == "if x is one sequence" and steps.label == "if x is a batch of single time steps"
    lstm = nn.LSTM(8, 16, batch_first=batch_first)
    sequence = run_fix(one.code, x=torch.randn(12, 8), rnn=lstm)["x"]      # 12 time steps of one sequence
    assert lstm(sequence)[0].shape == ((1, 12, 16) if batch_first else (12, 1, 16))
    singles = run_fix(steps.code, x=torch.randn(5, 8), rnn=lstm)["x"]      # a batch of 5, one step each
    assert lstm(singles)[0].shape == ((5, 1, 16) if batch_first else (1, 5, 16))
    # without the constructor in the paste, the fix reads rnn.batch_first at run time: the same results
    unknown = _error(message, code="out, h = self.lstm(x)\n")
    assert "rnn.batch_first" in unknown.fix
    assert lstm(run_fix(unknown.fixes[0].code, x=torch.randn(12, 8), rnn=lstm)["x"])[0].shape == \
        lstm(sequence)[0].shape


# --------------------------------------------------------------------------- a state on another device


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_state_on_another_device_moves_to_the_input_never_the_model(kind: str) -> None:
    """meta stands in for the GPU: torch raises its own message, explain reads it, the fix is applied."""
    layer = getattr(nn, kind)(8, 16, device="meta")
    x = torch.randn(5, 3, 8, device="meta")
    h_0 = c_0 = torch.zeros(1, 3, 16)   # built without device=x.device
    state = (h_0, c_0) if kind == "LSTM" else h_0
    with pytest.raises(RuntimeError) as raised:
        layer(x, state)
    code = f"self.rnn = nn.{kind}(8, 16)\nout, h = self.rnn(x, state)\n"
    d = _error(f"RuntimeError: {raised.value}", code=code)
    assert d.code == "device-mismatch" and "model.to" not in d.fix and "x = x.to" not in d.fix
    ns = run_fix(d.fix, x=x, h_0=h_0, c_0=c_0)
    moved = (ns["h_0"], ns["c_0"]) if kind == "LSTM" else ns["h_0"]
    out, _ = layer(x, moved)
    assert out.shape == (5, 3, 16)
    # the old cuDNN wording names the argument: the state is moved too
    old = _error("RuntimeError: Expected all tensors to be on the same device, but found at least two devices, "
                 "cuda:0 and cpu! (when checking argument for argument hx in method wrapper___cudnn_rnn)",
                 code=code)
    assert old.fix == d.fix


def test_a_device_clash_that_names_no_device_of_the_weights_moves_the_input_to_them() -> None:
    d = _error("RuntimeError: Expected all tensors to be on the same device, but found at least two devices, "
               "cuda:0 and cpu!", code="self.lstm = nn.LSTM(8, 16)\nout, _ = self.lstm(x)\n")
    assert d.code == "device-mismatch" and "..." not in d.fix
    model = nn.LSTM(8, 16, device="meta")
    ns = run_fix(d.fix, model=model, x=torch.randn(5, 3, 8))
    assert model(ns["x"])[0].shape == (5, 3, 16)


# --------------------------------------------------------------------------- the loss: per step or per sequence


@pytest.mark.parametrize("batch_first", [True, False])
def test_logits_for_every_step_against_one_label_per_sequence_classify_the_last_step(batch_first: bool) -> None:
    rnn, fc = nn.LSTM(8, 16, batch_first=batch_first), nn.Linear(16, 3)
    x = torch.randn(4, 5, 8) if batch_first else torch.randn(5, 4, 8)
    y = torch.tensor([0, 1, 2, 1])   # one label per sequence
    out, _ = rnn(x)
    with pytest.raises(ValueError) as raised:
        nn.CrossEntropyLoss()(fc(out).reshape(-1, 3), y)
    d = _error(f"ValueError: {raised.value}", code="out, (h_n, c_n) = self.lstm(x)\n")
    assert d.code == "loss-batch-mismatch" and "20 = 4 sequences x 5 time steps" in d.explanation
    ns = run_fix(d.fix, out=out, rnn=rnn, fc=fc)
    assert ns["logits"].shape == (4, 3)   # one row per sequence: the batch kept
    nn.CrossEntropyLoss()(ns["logits"], y).backward()
    # the last step of each sequence, not of the batch
    expected = out[:, -1] if batch_first else out[-1]
    assert torch.equal(ns["last"], expected)


def test_labels_for_every_step_against_one_prediction_per_sequence_keep_every_step() -> None:
    rnn, fc, criterion = nn.GRU(8, 16, batch_first=True), nn.Linear(16, 3), nn.CrossEntropyLoss()
    out, h_n = rnn(torch.randn(4, 5, 8))
    y = torch.randint(0, 3, (4, 5))   # one label per step
    with pytest.raises(ValueError) as raised:
        criterion(fc(h_n[-1]), y.reshape(-1))
    d = _error(f"ValueError: {raised.value}", code="out, h_n = self.gru(x)\n")
    assert d.code == "loss-batch-mismatch" and "one label per time step" in d.title
    # the bare message, with nothing that ties it to a recurrent layer, is not claimed (a CNN raises it too)
    assert not explain_text(f"ValueError: {raised.value}").diagnoses
    ns = run_fix(d.fix, out=out, fc=fc, criterion=criterion, y=y)
    assert ns["logits"].shape == (4, 5, 3) and ns["loss"].dim() == 0


def test_out_minus_one_of_a_batch_first_output_taken_for_the_last_step_is_fixed_by_the_batch_axis() -> None:
    rnn, fc = nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 3)
    out, _ = rnn(torch.randn(6, 5, 8))   # batch 6, 5 steps: out[-1] is (5, 16), the last sequence
    y = torch.zeros(6, dtype=torch.long)
    with pytest.raises(ValueError) as raised:
        nn.CrossEntropyLoss()(fc(out[-1]), y)
    d = _error(f"ValueError: {raised.value}", code="out, _ = self.lstm(x)\n")
    assert d.code == "loss-batch-mismatch" and d.evidence["deciding_fact"]
    ns = run_fix(d.fix, out=out, rnn=rnn, fc=fc)
    assert ns["logits"].shape == (6, 3)
    nn.CrossEntropyLoss()(ns["logits"], y)
