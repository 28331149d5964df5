"""`trace --input PATH[:KEY]`: a model traced on the user's real tensors, read as inspect reads them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from rnnshape.engine.trace import TraceError, trace_model  # noqa: E402

MODEL = """
    import torch
    from torch import nn


    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            self.lstm = nn.LSTM(8, 16, batch_first=True, bidirectional=True)

        def forward(self, tokens):
            return self.lstm(self.emb(tokens))[0]


    class Raw(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(10, 4, batch_first=True)

        def forward(self, x):
            return self.gru(x)[0]
"""


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(MODEL))
    return path


@pytest.mark.parametrize("device", [None, "cpu"])
def test_a_pt_file_with_a_key_is_the_input(tmp_path, model_file, device):
    tokens = torch.randint(0, 50, (4, 9))
    torch.save({"tokens": tokens, "other": torch.zeros(2)}, tmp_path / "batch.pt")
    result = trace_model(f"{model_file}:Tagger", [], input_files=[f"{tmp_path / 'batch.pt'}:tokens"],
                         device=device)
    assert result.ok
    assert result.inputs[0].shape == (4, 9) and result.inputs[0].dtype == "int64"
    # the oracle: the same model and tensor in plain torch
    namespace: dict = {}
    exec(textwrap.dedent(MODEL), namespace)
    with torch.no_grad():
        expected = tuple(namespace["Tagger"]()(tokens).shape)
    assert result.root.outputs[0].shape == expected == (4, 9, 32)


def test_a_npy_file_that_does_not_fit_is_explained(tmp_path, model_file):
    np.save(tmp_path / "x.npy", np.random.randn(3, 6, 8).astype("float32"))
    result = trace_model(f"{model_file}:Raw", [], input_files=[str(tmp_path / "x.npy")], device="cpu")
    namespace: dict = {}
    exec(textwrap.dedent(MODEL), namespace)
    with pytest.raises(RuntimeError, match="Expected 10, got 8"):
        namespace["Raw"]()(torch.from_numpy(np.load(tmp_path / "x.npy")))
    assert not result.ok and result.diagnoses[0].code == "input-size-mismatch"
    assert result.find("gru").inputs[0].shape == (3, 6, 8)


def test_a_missing_file_is_a_usage_error(tmp_path, model_file):
    with pytest.raises(TraceError, match="no such file"):
        trace_model(f"{model_file}:Raw", [], input_files=[str(tmp_path / "nope.pt")])
    proc = subprocess.run([sys.executable, "-m", "rnnshape", "trace", f"{model_file}:Raw", "--input",
                           str(tmp_path / "nope.pt")], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
