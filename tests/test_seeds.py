"""The tutorial rnnshape grew from (../shared/seeds/000_*.txt), its examples as CLI runs.

Each test first checks that the tutorial still says what the test relies on,
then asks rnnshape, and compares with real torch running the tutorial's code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import cli, cli_json, json_shapes
from torch import nn

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
TUTORIALS = sorted(SEEDS.glob("000_*.txt")) if SEEDS.is_dir() else []

pytestmark = pytest.mark.skipif(
    not TUTORIALS, reason=f"needs the course tutorial {SEEDS}/000_*.txt (the shared/ folder next to this "
                          "repository, present in the project's workspace, not in a plain clone)")


@pytest.fixture(scope="module")
def tutorial() -> str:
    return " ".join(TUTORIALS[0].read_text(encoding="utf-8").split())


def inspect(*args: str, code: int = 0) -> dict:
    return cli_json(*args, code=code, command="inspect")


shapes = json_shapes


def says(tutorial: str, *snippets: str) -> None:
    for snippet in snippets:
        assert snippet in tutorial, f"the tutorial no longer says {snippet!r}"


def test_rnn_10_20_1_on_5_1_10(tutorial):
    says(tutorial, "rnn = torch.nn.RNN(10, 20, 1)", "input_seq = torch.randn(5, 1, 10)",
         "output, hidden = rnn(input_seq)")
    rnn = torch.nn.RNN(10, 20, 1)
    output, hidden = rnn(torch.randn(5, 1, 10))
    assert (tuple(output.shape), tuple(hidden.shape)) == ((5, 1, 20), (1, 1, 20))
    for engine in (["--device", "cpu"], ["--device", "meta"], ["--dry-run"]):
        d = inspect("rnn = torch.nn.RNN(10, 20, 1)", "--input-shape", "5,1,10", *engine)
        assert d["ok"] is True
        got = shapes(d)
        assert got["input"] == (5, 1, 10)
        assert got["output"] == tuple(output.shape)
        assert got["h_n"] == tuple(hidden.shape)


def test_rnn_10_20_1_with_explicit_hidden(tutorial):
    says(tutorial, "hidden = torch.zeros(1, 1, 20) output, hidden = rnn(input_seq, hidden)")
    rnn = torch.nn.RNN(10, 20, 1)
    output, hidden = rnn(torch.randn(5, 1, 10), torch.zeros(1, 1, 20))
    d = inspect("torch.nn.RNN(10, 20, 1)", "--input-shape", "5,1,10", "--hidden-shape", "1,1,20",
                "--device", "cpu")
    got = shapes(d)
    assert got["h_0"] == (1, 1, 20)
    assert got["output"] == tuple(output.shape) == (5, 1, 20)
    assert got["h_n"] == tuple(hidden.shape) == (1, 1, 20)


def test_rnn_3_5_on_4_1_3(tutorial):
    says(tutorial, "input_size = 3 hidden_size = 5 sequence_length = 4 batch_size = 1",
         "rnn = nn.RNN(input_size, hidden_size, num_layers=1)",
         "hidden = torch.zeros(1, batch_size, hidden_size)")
    input_size, hidden_size, sequence_length, batch_size = 3, 5, 4, 1
    rnn = nn.RNN(input_size, hidden_size, num_layers=1)
    input_seq = torch.randn(sequence_length, batch_size, input_size)
    output, hidden = rnn(input_seq, torch.zeros(1, batch_size, hidden_size))
    d = inspect("nn.RNN(3, 5, num_layers=1)", "--input-shape", "4,1,3", "--hidden-shape", "1,1,5",
                "--device", "cpu")
    got = shapes(d)
    assert got["input"] == tuple(input_seq.shape) == (4, 1, 3)
    assert got["output"] == tuple(output.shape) == (4, 1, 5)
    assert got["h_n"] == tuple(hidden.shape) == (1, 1, 5)
    # the same example from flags: seq_len 4, batch 1
    d = inspect("rnn", "3", "5", "--seq-len", "4", "--batch", "1", "--device", "cpu")
    assert shapes(d)["output"] == tuple(output.shape)


def test_quiz_output_shape(tutorial):
    says(tutorial, "rnn = torch.nn.RNN(input_size=5, hidden_size=3, num_layers=1)",
         "input_seq = torch.randn(4, 2, 5)", "(4, 2, 3) -> Option C")
    rnn = torch.nn.RNN(input_size=5, hidden_size=3, num_layers=1)
    output, hidden = rnn(torch.randn(4, 2, 5))
    d = inspect("rnn = torch.nn.RNN(input_size=5, hidden_size=3, num_layers=1)",
                "--input-shape", "4,2,5", "--device", "cpu",
                "--expect", "output=4,2,3")  # the quiz's answer, as an assertion
    assert d["ok"] is True
    assert shapes(d)["output"] == tuple(output.shape) == (4, 2, 3)
    assert shapes(d)["h_n"] == tuple(hidden.shape)


def test_quiz_input_size_mismatch(tutorial):
    says(tutorial, "rnn = torch.nn.RNN(input_size=8, hidden_size=4)",
         "input_seq = torch.randn(5, 3, 10)", "input_seq has wrong input_size dimension")
    rnn = torch.nn.RNN(input_size=8, hidden_size=4)
    with pytest.raises(RuntimeError, match="input_size"):
        rnn(torch.randn(5, 3, 10))
    for engine in (["--device", "cpu"], ["--dry-run"]):
        d = inspect("rnn = torch.nn.RNN(input_size=8, hidden_size=4)", "--input-shape", "5,3,10",
                    *engine, code=1)
        assert d["ok"] is False
        errors = [x for x in d["diagnoses"] if x["severity"] == "error"]
        assert [x["code"] for x in errors] == ["input-size-mismatch"]
        assert "8" in errors[0]["explanation"] and "10" in errors[0]["explanation"]


def test_quiz_correct_constructor(tutorial):
    says(tutorial, "rnn = torch.nn.RNN(input_size=10, hidden_size=20, num_layers=1) correctly")
    d = inspect("rnn = torch.nn.RNN(input_size=10, hidden_size=20, num_layers=1)", "--device", "cpu")
    assert d["ok"] is True
    params = [(p["name"], tuple(p["shape"])) for p in d["parameters"]]
    rnn = torch.nn.RNN(input_size=10, hidden_size=20, num_layers=1)
    assert params == [(n, tuple(p.shape)) for n, p in rnn.named_parameters()]


def test_no_flags_is_the_tutorial_example():
    """``rnnshape inspect`` alone shows nn.RNN(10, 20) on a (5, 1, 10) input."""
    rnn = torch.nn.RNN(10, 20)
    output, hidden = rnn(torch.randn(5, 1, 10))
    d = inspect()
    assert d["module"]["code"] == "nn.RNN(10, 20)"
    got = shapes(d)
    assert got["input"] == (5, 1, 10)
    assert got["output"] == tuple(output.shape)
    assert got["h_n"] == tuple(hidden.shape)
    res = cli("inspect")
    assert res.exit_code == 0
    assert "nn.RNN(10, 20)" in res.stdout and "(5, 1, 10)" in res.stdout
