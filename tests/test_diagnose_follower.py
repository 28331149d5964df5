"""The static follower on the code people paste (issue 11), its wrong-fix cases (issue 9), its caps
(issue 15): every example of the issues, each diagnosis checked against real torch, each printed fix
applied and re-run."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import apply_rewrite, axes_kept, run_in_torch

from rnnshape.diagnose.follower import rules
from rnnshape.diagnose.snippets import diagnose_paste, parse_hints

ROOT = Path(__file__).resolve().parents[1]


def _d(code: str, *hints: str):
    return diagnose_paste(textwrap.dedent(code).lstrip("\n"), parse_hints(list(hints)))


def _warnings(r) -> list[str]:
    return sorted(f"{f.diagnosis.code}@{f.line}" for f in r.findings if f.diagnosis.severity == "warning")


#: name -> (code, hints, expected error "code@line" or None, expected warnings)
CASES: dict[str, tuple[str, list[str], str | None, list[str]]] = {
    "variable_and_friends": ("""
        import torch
        import torch.nn as nn
        from torch.autograd import Variable
        lstm = nn.LSTM(10, 20)
        x = Variable(torch.randn(5, 3, 10), volatile=True)
        h0 = Variable(torch.zeros(1, 4, 20)).data
        c0 = Variable(torch.FloatTensor(1, 3, 20).zero_())
        out, _ = lstm(x, (h0, c0))
        """, [], "hidden-batch-mismatch@8", []),
    "cuda_moves_follow": ("""
        import torch
        import torch.nn as nn
        device = torch.device("cpu")
        model = nn.GRU(8, 16).to(device)
        x = torch.randn(5, 3, 8).to(device)
        h = torch.zeros(1, 3, 16, device=device)
        out, h = model(x, h)
        out = nn.Linear(16, 4)(out.cpu())
        """, [], None, []),
    "forward_argument_is_symbolic": ("""
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(300, 64, batch_first=True, bidirectional=True)
                self.fc = nn.Linear(64, 2)
            def forward(self, x):
                out, (h_n, c_n) = self.lstm(x)
                return self.fc(out.mean(dim=1))
        """, [], "linear-mismatch@9", []),
    "base_class_builds_the_layers": ("""
        import torch
        import torch.nn as nn
        class Base(nn.Module):
            def __init__(self, n_in):
                super(Base, self).__init__()
                self.rnn = nn.GRU(n_in, 16)
        class Model(Base):
            def __init__(self):
                super().__init__(8)
            def forward(self, x):
                out, h = self.rnn(x)
                return h
        m = Model()
        h = m(torch.randn(5, 3, 10))
        """, [], "input-size-mismatch@11", []),
    "module_list_loop": ("""
        import torch
        import torch.nn as nn
        class Stack(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList([nn.GRU(8, 16), nn.GRU(16, 16), nn.GRU(32, 16)])
            def forward(self, x):
                for layer in self.layers:
                    x, _ = layer(x)
                return x
        y = Stack()(torch.randn(5, 3, 8))
        """, [], "input-size-mismatch@9", []),
    "module_list_comprehension_ok": ("""
        import torch
        import torch.nn as nn
        layers = nn.ModuleList([nn.LSTM(8 if i == 0 else 16, 16) for i in range(3)])
        x = torch.randn(5, 3, 8)
        for layer in layers:
            x, _ = layer(x)
        y = nn.Sequential(nn.Linear(16, 4), nn.ReLU())(x)
        """, [], None, []),
    "init_hidden_and_self_hidden": ("""
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden_dim = 20
                self.lstm = nn.LSTM(10, self.hidden_dim)
                self.hidden = self.init_hidden()
            def init_hidden(self):
                return (torch.zeros(1, 1, self.hidden_dim), torch.zeros(1, 1, self.hidden_dim))
            def forward(self, x):
                out, self.hidden = self.lstm(x, self.hidden)
                return out
        m = M()
        out = m(torch.randn(5, 3, 10))
        """, [], "hidden-batch-mismatch@12", []),
    "dataloader_last_batch": ("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, TensorDataset
        X = torch.randn(100, 7, 12)
        loader = DataLoader(TensorDataset(X), batch_size=32, shuffle=True)
        rnn = nn.GRU(12, 24, batch_first=True)
        h0 = torch.zeros(1, 32, 24)
        for (xb,) in loader:
            out, h = rnn(xb, h0)
        """, [], "last-batch-smaller@9", []),
    "dataloader_drop_last_ok": ("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, TensorDataset
        X = torch.randn(100, 7, 12)
        loader = DataLoader(TensorDataset(X), batch_size=32, drop_last=True)
        rnn = nn.GRU(12, 24, batch_first=True)
        h0 = torch.zeros(1, 32, 24)
        for (xb,) in loader:
            out, h = rnn(xb, h0)
        """, [], None, []),
    "main_block": ("""
        import torch
        import torch.nn as nn
        def main():
            rnn = nn.RNN(8, 4)
            out, h = rnn(torch.randn(3, 2, 10))
        if __name__ == "__main__":
            main()
        """, [], "input-size-mismatch@5", []),
    "dropout_parameter_is_no_error": ("""
        import torch.nn as nn
        class Enc(nn.Module):
            def __init__(self, n_in, hidden, layers, p):
                super().__init__()
                self.rnn = nn.LSTM(n_in, hidden, num_layers=layers, dropout=p, bidirectional=False)
            def forward(self, x):
                return self.rnn(x)
        """, [], None, []),
    # issue 9: a bidirectional layer's h_n[-1] is one direction
    "bidirectional_linear_40": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(10, 20, bidirectional=True)
        fc = nn.Linear(40, 2)
        x = torch.randn(7, 3, 10)
        out, (h_n, c_n) = lstm(x)
        logits = fc(h_n[-1])
        """, [], "linear-mismatch@7", []),
    "bidirectional_linear_20_warns": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(10, 20, bidirectional=True)
        fc = nn.Linear(20, 2)
        x = torch.randn(7, 3, 10)
        out, (h_n, c_n) = lstm(x)
        logits = fc(h_n[-1])
        """, [], None, ["bidirectional-one-direction@7"]),
    "bidirectional_last_step": ("""
        import torch
        import torch.nn as nn
        gru = nn.GRU(10, 20, batch_first=True, bidirectional=True)
        x = torch.randn(3, 7, 10)
        out, h_n = gru(x)
        last = out[:, -1]
        """, [], None, ["bidirectional-last-step@6"]),
    "h_n_read_batch_first": ("""
        import torch
        import torch.nn as nn
        gru = nn.GRU(10, 20, num_layers=2, batch_first=True)
        x = torch.randn(2, 7, 10)
        out, h_n = gru(x)
        last = h_n[:, -1]
        """, [], None, ["state-read-batch-first@6"]),
    "output_feature_axis": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(10, 20, batch_first=True)
        x = torch.randn(3, 7, 10)
        out, _ = lstm(x)
        last = out[:, :, -1]
        """, [], None, ["output-feature-index@6"]),
    "packed_batch_first_correct": ("""
        import torch
        import torch.nn as nn
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        batch_size, seq_len = 4, 6
        gru = nn.GRU(8, 16, batch_first=True)
        x = torch.randn(batch_size, seq_len, 8)
        lengths = torch.tensor([6, 5, 3, 2])
        packed = pack_padded_sequence(x, lengths, batch_first=True)
        out, h = gru(packed)
        padded, _ = pad_packed_sequence(out, batch_first=True)
        """, [], None, []),
    "batch_first_suspect_names_the_gru": ("""
        import torch
        import torch.nn as nn
        batch_size, seq_len = 16, 50
        gru = nn.GRU(8, 32)
        x = torch.randn(batch_size, seq_len, 8)
        out, h = gru(x)
        """, [], None, ["batch-first-suspect@6"]),
    "power_of_two_is_no_evidence": ("""
        import torch
        import torch.nn as nn
        gru = nn.GRU(8, 32)
        x = torch.randn(32, 50, 8)
        out, h = gru(x)
        """, [], None, []),
    # follower2: what the real pastes of tests/data/snippets_real needed
    "unknown_keyword_h_0": ("""
        import torch
        import torch.nn as nn
        rnn = nn.RNN(6, 3)
        x = torch.randn(5, 2, 6)
        out, h = rnn(x, h_0=torch.zeros(1, 2, 3))
        """, [], "unknown-keyword@5", []),
    "loop_feeds_the_cell_tuple_back": ("""
        import torch
        import torch.nn as nn
        cell = nn.LSTMCell(10, 20)
        x = torch.randn(6, 3, 10)
        hx = torch.randn(3, 20)
        cx = torch.randn(3, 20)
        for i in range(6):
            hx = cell(x[i], (hx, cx))
        """, [], "state-tuple-as-tensor@8", []),
    "state_view_mixes_directions_into_batch": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(10, 20, bidirectional=True)
        x = torch.randn(5, 3, 10)
        out, (h, c) = lstm(x)
        flat = h.view(-1, 40)
        kept = h.view(2, -1)
        """, [], None, ["state-read-batch-first@6"]),
    "unpinned_argument_transposed_and_sized": ("""
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(4, 8, bidirectional=True)
            def forward(self, X):
                b = X.shape[0]
                x = X.transpose(0, 1)
                h = torch.zeros(2, b, 8)
                out, _ = self.lstm(x, (h, h))
                return out[-1]
        """, [], None, ["bidirectional-last-step@12"]),
    "pack_sequence_of_an_empty_tensor": ("""
        import torch
        from torch.nn.utils.rnn import pack_sequence
        tensors = [torch.randn(abs(n - 2), 3) for n in range(4)]
        packed = pack_sequence(tensors, enforce_sorted=False)
        """, [], "packing-bad-length@4", []),
    "both_branches_return_the_state": ("""
        import torch
        import torch.nn as nn
        def on_device(t):
            if torch.cuda.is_available():
                return t.cuda()
            else:
                return t
        lstm = nn.LSTM(4, 8)
        h = on_device(torch.zeros(1, 2, 8))
        out, hn = lstm(torch.randn(3, 2, 4), (h, h))
        """, [], None, []),
    "unpacking_the_shape_pins_the_rank": ("""
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(4, 8, batch_first=True)
            def forward(self, x):
                b, t, f = x.size()
                h = torch.zeros(b, 8)
                return self.lstm(x, (h, h))
        """, [], "hidden-rank@10", []),
    "init_hidden_from_a_parameter": ("""
        import torch
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.n_layers, self.hidden = 2, 8
                self.lstm = nn.LSTM(4, 8, 2)
            def init_hidden(self, batch):
                weight = next(self.parameters()).data
                return (weight.new(self.n_layers, batch, self.hidden).zero_(),
                        weight.new_zeros(1, batch, self.hidden))
            def forward(self, x, h):
                return self.lstm(x, h)
        net = Net()
        out = net(torch.randn(5, 3, 4), net.init_hidden(3))
        """, [], "cell-shape-mismatch@13", []),
    "unpinned_argument_sized_then_read": ("""
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.LSTMCell(4, 8)
            def forward(self, x):
                h = torch.zeros(1, x.size(0), 8)
                return self.cell(x, (h, h))
        """, [], "hidden-rank@9", []),
}


#: What the oracle adds to run a model the snippet never calls.
CALLS = {"forward_argument_is_symbolic": "import torch\nNet()(torch.randn(4, 9, 300))",
         "dropout_parameter_is_no_error": "import torch\nEnc(8, 16, 2, 0.3)(torch.randn(5, 3, 8))",
         "unpinned_argument_sized_then_read": "M()(torch.randn(3, 4))",
         "unpacking_the_shape_pins_the_rank": "M()(torch.randn(2, 3, 4))"}


@pytest.fixture(scope="module")
def results() -> dict:
    return {name: _d(code, *hints) for name, (code, hints, _, _) in CASES.items()}


@pytest.fixture(scope="module")
def torch_runs(results: dict) -> dict:
    """Each case run for real; each printed fix applied and run again."""
    jobs = {}
    for name, r in results.items():
        call = "\n" + CALLS.get(name, "")
        jobs[name] = r.code + call
        if r.error is not None and r.error.rewrite is not None:
            jobs[name + "#fixed"] = apply_rewrite(r.code, r.error) + call
    return run_in_torch(jobs)


@pytest.mark.parametrize("name", list(CASES))
def test_issue_example(name: str, results: dict) -> None:
    _, _, error, warnings = CASES[name]
    r = results[name]
    got = f"{r.error.diagnosis.code}@{r.error.line}" if r.error else None
    assert got == error, r.error.diagnosis.title if r.error else r.findings
    assert _warnings(r) == warnings


@pytest.mark.parametrize("name", list(CASES))
def test_issue_example_against_torch(name: str, results: dict, torch_runs: dict) -> None:
    r, real = results[name], torch_runs[name]
    if r.error is None:
        assert real["ok"], real
        return
    assert not real["ok"] and real["line"] == r.error.line, real
    said = r.error.diagnosis.evidence.get("torch_message")
    if said:
        assert real["message"] == said
    if r.error.rewrite is not None:
        fixed = torch_runs[name + "#fixed"]
        assert fixed["ok"], (r.error.rewrite, fixed)
        assert axes_kept(real["records"], fixed["records"]), (real["records"], fixed["records"])


def test_the_bidirectional_fix_is_both_directions_not_a_smaller_linear(results: dict) -> None:
    r = results["bidirectional_linear_40"]
    assert r.error.rewrite.new.strip() == "logits = fc(torch.cat([h_n[-2], h_n[-1]], dim=1))"
    assert "torch.cat([h_n[-2], h_n[-1]], dim=1)" in r.error.diagnosis.fix
    warn = next(f for f in results["bidirectional_linear_20_warns"].findings)
    assert "torch.cat([h_n[-2], h_n[-1]], dim=1)" in warn.diagnosis.fix


def test_batch_first_warning_says_why_and_names_the_layer(results: dict) -> None:
    w = results["batch_first_suspect_names_the_gru"].findings[0]
    assert "nn.GRU" in w.diagnosis.fix and "nn.LSTM" not in w.diagnosis.fix + w.diagnosis.explanation
    assert w.diagnosis.evidence["because"] == "its size comes from batch_size"
    assert w.rewrite.new.strip() == "gru = nn.GRU(8, 32, batch_first=True)"


def test_last_batch_names_the_sizes_and_fixes_with_drop_last(results: dict) -> None:
    e = results["dataloader_last_batch"].error
    assert e.diagnosis.evidence["last"] == 4 and e.diagnosis.evidence["batch_size"] == 32
    assert "drop_last=True" in e.rewrite.new


def test_forward_argument_assumption_is_said(results: dict) -> None:
    r = results["forward_argument_is_symbolic"]
    assert any("x = (B, T, 300)" in a for _, a in r.followed.assumptions)
    assert r.error.rewrite.new.strip() == "self.fc = nn.Linear(128, 2)"


# --------------------------------------------------------------------------- honest verdicts


def test_nothing_followed_is_nothing_to_check_not_a_green_tick(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text("out, (h, c) = model.lstm(batch)\nloss = criterion(out, y)\n")
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-m", "rnnshape", "diagnose", str(path)], capture_output=True, text=True,
                         cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("· nothing to check: 0 recurrent calls checked") and "✓" not in res.stdout
    js = json.loads(subprocess.run([sys.executable, "-m", "rnnshape", "diagnose", "--json", str(path)],
                                   capture_output=True, text=True, cwd=ROOT, env=env).stdout)
    assert js["verdict"] == "nothing-to-check" and js["exit_code"] == 0


def test_green_tick_counts_the_checked_calls(results: dict) -> None:
    from rnnshape.render.diagnose import verdict

    r = results["module_list_comprehension_ok"]
    assert r.verdict == "ok" and r.checked == 3
    assert verdict(r).plain.startswith("✓ 3 recurrent calls checked, no shape error found")


def test_not_followed_calls_are_counted_with_their_hint() -> None:
    r = _d("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(10, 20)
        out, _ = lstm(torch.randn(5, 3, 10))
        out2, _ = lstm(batch)
        """)
    assert r.checked == 1 and r.not_followed == {5: "--shape batch=T,B,10"}
    from rnnshape.render.diagnose import verdict

    assert "1 not followed (give --shape batch=T,B,10)" in verdict(r).plain


def test_an_input_taken_to_be_what_the_layer_reads_is_not_a_checked_call() -> None:
    """A class the snippet never calls: its forward's x, assumed to be exactly what the LSTM reads, checks no
    size the snippet fixes, so the verdict is "nothing to check" with the hint, never a green tick."""
    r = _d("""
        import torch
        import torch.nn as nn
        class Generator(nn.Module):
            def __init__(self, latent_dim, hidden):
                super().__init__()
                self.lstm = nn.LSTM(latent_dim, hidden, batch_first=True)
            def forward(self, x):
                out, _ = self.lstm(x)
                return out
        """)
    assert r.error is None and r.verdict == "nothing-to-check" and r.checked == 0
    assert r.not_followed == {8: "--shape x=B,T,latent_dim"}
    assert any(f.diagnosis.evidence.get("hint") == "--shape x=B,T,latent_dim" for f in r.findings)
    # the hint it prints is one --shape accepts, and pinned, the call is checked
    pinned = _d(textwrap.dedent(r.code), "x=B,T,latent_dim")
    assert pinned.verdict == "ok" and pinned.checked == 1


HINT_REBOUND = """
import torch
import torch.nn as nn
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Mystery()
        self.gru = nn.GRU(12, 8)
    def forward(self, inputs):
        spec = self.conv(inputs)
        spec = torch.transpose(spec, 1, 3)
        B, T, D, C = spec.size()
        spec = torch.reshape(spec, [B, T, D * C])
        return self.gru(spec)[0]
"""


def test_a_hint_pins_the_binding_the_layer_reads_not_the_first_one() -> None:
    """``spec`` is bound four times; diagnose asks for the one the GRU reads, and the hint pins that one: the
    first (4-D, from a module the paste does not define) stays unknown, so no transpose of a 3-D tensor fails."""
    r = _d(HINT_REBOUND)
    assert r.error is None and r.not_followed == {13: "--shape spec=T,B,12"}
    pinned = _d(HINT_REBOUND, "spec=T,B,12")
    assert pinned.error is None and pinned.checked == 1, [(f.line, f.diagnosis.code) for f in pinned.findings]
    # torch runs it (the module stands in as the identity on a (B, C, D, T) = (2, 3, 4, 5) batch)
    res = run_in_torch({"m": {"globals": "Mystery = lambda: (lambda x: x)",
                              "code": HINT_REBOUND + "M()(torch.randn(2, 3, 4, 5))\n"}})["m"]
    assert res["ok"], res


def test_a_hint_pins_a_name_bound_once_even_when_a_layer_reads_an_expression_of_it() -> None:
    code = """
        import torch
        rnn = torch.nn.GRU(5, 6)
        batch = next(iter(loader))
        out, h = rnn(batch.float())
        """
    assert _d(code).verdict == "nothing-to-check"
    pinned = _d(code, "batch=T,B,5")
    assert pinned.verdict == "ok" and pinned.checked == 1


def test_a_hint_for_a_parameter_the_body_rebinds_pins_what_the_layer_reads() -> None:
    code = """
        import torch
        import torch.nn as nn
        class A(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(10, 6)
            def forward(self, input):
                input = input.transpose(0, 1)
                output, _ = self.lstm(input)
                return output
        """
    r = _d(code)
    assert r.verdict == "nothing-to-check" and r.not_followed == {9: "--shape input=T,B,10"}
    pinned = _d(code, "input=T,B,10")
    assert pinned.checked == 1 and not pinned.findings, [(f.line, f.diagnosis.code) for f in pinned.findings]


SUM_OF_SIZES = """
import torch
import torch.nn as nn
class PoseRNN(nn.Module):
    def __init__(self, image_latent_size, hidden_size):
        super().__init__()
        self.rnn = nn.LSTM(image_latent_size + hidden_size, hidden_size, batch_first=True)
    def forward(self, frames, prev):
        rnn_input = torch.cat([frames, prev], dim=2)
        return self.rnn(rnn_input)
"""


def test_a_size_solved_from_a_hint_makes_no_config_error() -> None:
    """``input_size = image_latent_size + hidden_size`` against a pinned 14: solving it gives hidden_size =
    14 - image_latent_size, which the snippet does not fix; no "hidden_size must be greater than zero"."""
    r = _d(SUM_OF_SIZES)
    hint = r.not_followed[9]
    assert hint == "--shape rnn_input=B,T,F"   # printed in a form --shape accepts
    assert _d(SUM_OF_SIZES, hint.split(" ", 1)[1]).error is None
    pinned = _d(SUM_OF_SIZES, "rnn_input=2,1,14")
    assert pinned.error is None and 9 in pinned.not_followed, [(f.line, f.diagnosis.code) for f in pinned.findings]
    # torch builds and runs it for sizes that sum to 14
    res = run_in_torch({"m": SUM_OF_SIZES + "PoseRNN(8, 6)(torch.randn(2, 1, 8), torch.randn(2, 1, 6))\n"})["m"]
    assert res["ok"], res


def test_a_size_a_loop_binds_from_what_it_does_not_model_is_no_symbol() -> None:
    """``for seq_len in lengths():`` over a value rnnshape does not model: seq_len may be any size, 0 included,
    so the call it sizes is not followed (never a green tick on a length assumed positive)."""
    r = _d("""
        import torch
        rnn = torch.nn.GRU(5, 6)
        for seq_len in lengths():
            output, h_n = rnn(torch.zeros(seq_len, 10, 5))
        """)
    assert r.error is None and r.verdict == "nothing-to-check" and list(r.not_followed) == [4]
    assert any("what iterating lengths() gives is not known" in f.diagnosis.explanation for f in r.findings)
    # torch: with a length of 0 among them, the call fails (pytorch/pytorch#50192)
    res = run_in_torch({"m": {"globals": "lengths = lambda: [3, 0]", "code": textwrap.dedent("""
        import torch
        rnn = torch.nn.GRU(5, 6)
        for seq_len in lengths():
            output, h_n = rnn(torch.zeros(seq_len, 10, 5))
        """).lstrip()}})["m"]
    assert not res["ok"] and res["line"] == 4, res


def test_a_state_the_snippet_builds_keeps_the_call_checked() -> None:
    r = _d("""
        import torch
        import torch.nn as nn
        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)
            def forward(self, x):
                return self.gru(x, torch.zeros(1, x.size(1), 8))
        """)
    assert r.verdict == "ok" and r.checked == 1


def test_notebook_code_cells_in_order(tmp_path: Path) -> None:
    nb = {"cells": [
        {"cell_type": "markdown", "source": ["# an RNN"]},
        {"cell_type": "code", "source": ["import torch\n", "import torch.nn as nn\n", "rnn = nn.RNN(8, 4)"],
         "outputs": [{"output_type": "stream", "text": ["✓ fine\n"]}]},
        {"cell_type": "code", "source": "x = torch.randn(5, 3, 10)\nout, h = rnn(x)", "outputs": []},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    r = diagnose_paste(json.dumps(nb), name="nb.ipynb")
    assert r.error.diagnosis.code == "input-size-mismatch" and r.error.line == 6
    assert r.notes[0].startswith("read as a Jupyter notebook: its 2 code cells")


def test_operators_agree_with_their_method_and_function_forms() -> None:
    base = "import torch\na = torch.randn(3, 4)\nb = torch.randn(5, 4)\n"
    for spelling in ("a + b", "a.add(b)", "torch.add(a, b)"):
        r = diagnose_paste(base + f"c = {spelling}\n")
        assert r.error.diagnosis.code == "shape-op", spelling
        assert r.error.diagnosis.evidence["torch_message"] == (
            "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 0")
    for spelling in ("a @ b.T", "a.matmul(b.t())", "torch.matmul(a, b.T)", "torch.mm(a, b.t())"):
        r = diagnose_paste(base + f"c = {spelling}\n")
        assert r.ok and r.followed.shapes[4][0].text == "(3, 5)", spelling
    for spelling, text in (("a == 1", "(3, 4) bool"), ("a.eq(1)", "(3, 4) bool"), ("torch.eq(a, 1)", "(3, 4) bool"),
                           ("a * 2", "(3, 4)"), ("a.mul(2)", "(3, 4)"), ("torch.mul(a, 2)", "(3, 4)")):
        r = diagnose_paste(base + f"c = {spelling}\n")
        assert r.followed.shapes[4][0].text == text, spelling


def test_a_rule_registered_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        rules.register("add")(rules.broadcast)
    assert rules.lookup("add") is rules.lookup("sub") is rules.broadcast


# --------------------------------------------------------------------------- caps (issue 15)

CAPPED = {
    "tuple": "t = (1,) * (3 * 10**8)\nn = len(t)\n",
    "squares": "n = 3\n" + "n = n * n\n" * 30 + "import torch\nx = torch.zeros(n)\n",
    "symbolic squares": "def f(n):\n" + "    n = (n + 1) * (n + 1)\n" * 30 + "    return n\nf(2)\nclass M:\n"
                        "    def forward(self, k):\n        return f(k)\n",
    "range": "for i in range(10**30):\n    j = i\nr = list(range(10**30))\n",
    "zero step": "import torch\nx = torch.randn(5, 3)\ny = x[::0]\nz = (1, 2, 3)[::0]\n",
    "huge int": "import sys\nn = " + "9" * 4400 + "\nimport torch\nx = torch.zeros(n, 2)\n",
    "huge list": "a = [0] * 100000\nb = a + a\n",
}


@pytest.mark.parametrize("name", list(CAPPED))
def test_static_reading_caps_what_it_builds(name: str, tmp_path: Path) -> None:
    """No internal error, bounded memory (peak RSS of the whole CLI run) and time."""
    path = tmp_path / "s.py"
    path.write_text(CAPPED[name])
    probe = ("import resource, subprocess, sys, time\nt = time.perf_counter()\n"
             f"p = subprocess.run([sys.executable, '-m', 'rnnshape', 'diagnose', '--json', {str(path)!r}], "
             "capture_output=True, text=True)\n"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)\n"
             "print(p.stdout)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    head, body = out.stdout.split("\n", 1)
    code, rss_kb, seconds = head.split()
    assert code in ("0", "1"), out.stdout + out.stderr
    assert int(rss_kb) < 300_000 and float(seconds) < 30
    assert json.loads(body)["exit_code"] == int(code)


# --------------------------------------------------------------------------- output at 80 columns


def test_fix_lines_and_source_lines_survive_80_columns_and_a_pipe(tmp_path: Path) -> None:
    code = textwrap.dedent(CASES["bidirectional_linear_40"][0]).lstrip("\n")
    code = code.replace("logits = fc(h_n[-1])", "logits_for_every_sequence_in_the_batch = fc(h_n[-1])  # classify")
    path = tmp_path / "s.py"
    path.write_text(code)
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "rnnshape", "diagnose", str(path)], capture_output=True,
                         text=True, cwd=ROOT, env=env).stdout
    for src in code.splitlines():
        if src.strip():
            assert any(line.endswith(src) or src in line for line in out.splitlines()), src
    lines = out.splitlines()
    fix_at = lines.index("Fix:")
    block = []
    for line in lines[fix_at + 1:]:
        if not line or line.startswith("line "):
            break
        block.append(line)
    ast.parse("\n".join(block))
    plus = next(line for line in lines if line.startswith("+ "))
    ast.parse(plus[2:])


def test_json_output_imports_neither_rich_nor_torch(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text(textwrap.dedent(CASES["bidirectional_linear_40"][0]).lstrip("\n"))
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "rnnshape", "diagnose", "--json", str(path)],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 1 and json.loads(res.stdout)["error"]["code"] == "linear-mismatch"
    imported = {line.split("|")[-1].strip() for line in res.stderr.splitlines() if "|" in line}
    assert not {m for m in imported if m.split(".")[0] in ("rich", "torch", "numpy")}


#: Constructs of real pastes that torch cannot run as they stand (a name the paste does not define, lines cut
#: from a method): what the follower makes of them. Their torch truth is pinned by the real pastes of
#: tests/data/snippets_real, which run with their thread's completion (tests/test_diagnose_real.py).
STATIC_CASES: dict[str, tuple[str, str | None, list[str]]] = {
    "wrapper_not_in_the_paste": ("""
        import torch
        import torch.nn as nn
        cell = nn.LSTMCell(4, 8)
        wrapped = WeightDrop(cell, ['weight_hh'], dropout=0.5)
        out = wrapped(torch.randn(2, 4), torch.randn(2, 8))
        """, "hidden-not-tuple@5", []),
    "method_fragment_uses_self": ("""
        self.cell = nn.LSTMCell(embed_size, hidden_size)
        hidden = torch.zeros(1, x.size(1), self.hidden_size)
        state = (hidden, hidden)
        h, c = self.cell(x[0], state)
        """, "hidden-rank@4", []),
    "state_rank_fine_for_some_input": ("""
        self.lstm = nn.LSTM(embed_size, hidden_size)
        hidden = torch.zeros(x.size(1), self.hidden_size)
        out, h = self.lstm(x, (hidden, hidden))
        """, None, []),
    "undefined_sizes_in_a_model": ("""
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self, n_in, n_hidden):
                super().__init__()
                self.gru = nn.GRU(n_in, n_hidden, batch_first=True, bidirectional=True)
            def forward(self, x):
                out, h = self.gru(x)
                return out[:, -1, :]
        model = M(input_size, hidden_size)
        """, None, ["bidirectional-last-step@9"]),
    "state_not_known_outputs_still_followed": ("""
        import torch
        import torch.nn as nn
        gru = nn.GRU(4, 8, num_layers=2, bidirectional=True)
        h0 = make_state()
        out, h = gru(torch.randn(5, 3, 4), h0)
        fc = nn.Linear(8, 2)
        y = fc(h[-1])
        """, None, ["bidirectional-one-direction@7"]),
    "input_not_known_state_carried": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(4, 8, num_layers=3)
        h0 = torch.zeros((3, n, 8))
        out, (h, c) = lstm(data, (h0, h0))
        flat = h.view(-1, 8)
        """, None, ["state-read-batch-first@6"]),
    "input_not_known_state_not_the_layers": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(4, 8, num_layers=3)
        h0 = torch.zeros((2, n, 8))
        out, (h, c) = lstm(data, (h0, h0))
        flat = h.view(-1, 8)
        """, None, []),
    "state_made_once_for_a_loader_of_unknown_size": ("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, TensorDataset
        loader = DataLoader(TensorDataset(torch.from_numpy(xs)), batch_size=32)
        lstm = nn.LSTM(4, 8)
        h = (torch.zeros(1, 32, 8), torch.zeros(1, 32, 8))
        for (x,) in loader:
            out, _ = lstm(x.transpose(0, 1), h)
        """, None, ["last-batch-smaller@6", "last-batch-smaller@8"]),
    "state_made_per_batch_for_a_loader_of_unknown_size": ("""
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader, TensorDataset
        loader = DataLoader(TensorDataset(torch.from_numpy(xs)), batch_size=32, drop_last=True)
        lstm = nn.LSTM(4, 8)
        h = (torch.zeros(1, 32, 8), torch.zeros(1, 32, 8))
        for (x,) in loader:
            out, _ = lstm(x.transpose(0, 1), h)
        """, None, []),
    "one_size_alone_may_be_a_shape": ("""
        import torch
        import torch.nn as nn
        cell = nn.GRUCell(4, 8)
        h = torch.zeros(shape)
        out = cell(torch.randn(2, 4), h)
        """, None, []),
}


@pytest.mark.parametrize("name", list(STATIC_CASES))
def test_constructs_of_real_pastes(name: str) -> None:
    code, error, warnings = STATIC_CASES[name]
    r = _d(code)
    got = f"{r.error.diagnosis.code}@{r.error.line}" if r.error else None
    assert got == error, r.findings
    assert _warnings(r) == warnings


def test_a_wrapper_the_paste_does_not_define_is_said() -> None:
    r = _d(STATIC_CASES["wrapper_not_in_the_paste"][0])
    assert any("WeightDrop(...) is not defined in the snippet" in n for n in r.notes), r.notes


def test_a_method_fragment_says_what_self_is() -> None:
    r = _d(STATIC_CASES["method_fragment_uses_self"][0])
    assert any("self is used outside a class" in n for n in r.notes), r.notes


def test_a_paste_whose_first_line_lost_its_indentation_is_realigned() -> None:
    code = ("import torch\n      rnn = torch.nn.GRU(input_size=5, hidden_size=4)\n      x = torch.randn(3, 4, 5)\n"
            "      hidden = torch.randn(2, 4, 4)\n      rnn(x, hidden)\n")
    r = diagnose_paste(code, {})
    assert r.error is not None and (r.error.diagnosis.code, r.error.line) == ("hidden-layers-mismatch", 5)
    # a paste that parses as it is keeps its lines
    assert diagnose_paste("import torch\nx = torch.randn(2, 3)\n", {}).error is None
