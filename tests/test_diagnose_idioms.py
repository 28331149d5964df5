"""The follower's rules for code real pastes leave half-said (issue 11): a method pasted without its class, methods
nobody calls, a layer class chosen by a condition, a branch that raises, a class never built whose on/off arguments
decide a bug, helpers the paste does not define. One construct per case; where the snippet runs as it stands (or with
the call the paste leaves out), real torch confirms the line and the error (tests/conftest.py::run_in_torch)."""

from __future__ import annotations

import textwrap
from typing import get_args

import pytest
from conftest import run_in_torch

from rnnshape.diagnose.follower import values
from rnnshape.diagnose.snippets import diagnose_paste, parse_hints
from rnnshape.model import vocab
from rnnshape.model.spec import CLASS_TO_MODE, MODES


def _d(code: str, *hints: str):
    return diagnose_paste(textwrap.dedent(code).lstrip("\n"), parse_hints(list(hints)))


def _codes(r, severity: str) -> list[str]:
    return sorted(f"{f.diagnosis.code}@{f.line}" for f in r.findings if f.diagnosis.severity == severity)


def _error(r) -> str | None:
    return f"{r.error.diagnosis.code}@{r.error.line}" if r.error else None


#: What torch runs around a paste that leaves something out: (code before it, code after it), one run each.
Runs = tuple[tuple[str, str], ...]

#: name -> (code, its torch runs, error "code@line" (torch fails there in every run) or None (every run passes),
#: warnings)
CASES: dict[str, tuple[str, Runs, str | None, list[str]]] = {
    # a method nobody calls, with a size argument: what it does with the sizes the code fixes is checked
    "uncalled_method_fixed_sizes_disagree": ("""
        import torch
        import torch.nn as nn
        class Decoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(10, 30)
            def sample(self, n):
                h = torch.zeros(1, n, 20)
                x = torch.zeros(5, n, 10)
                return self.gru(x, h)
        """, (("", "Decoder().sample(3)"),), "hidden-size-mismatch@10", []),
    "uncalled_method_symbolic_size_is_fine": ("""
        import torch
        import torch.nn as nn
        class Decoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(10, 30)
            def sample(self, n):
                h = torch.zeros(1, n, 30)
                x = torch.zeros(5, n, 10)
                return self.gru(x, h)
        """, (("", "Decoder().sample(3)"),), None, []),
    # the class's one state builder stands for an unpinned state: its batch slot is a sequence length
    "state_builder_sized_by_sequence_length": ("""
        import torch
        import torch.nn as nn
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(50, 16)
                self.lstm = nn.LSTM(16, 32, num_layers=2)
            def forward(self, x, prev_state):
                out, state = self.lstm(self.embedding(x), prev_state)
                return out, state
            def init_state(self, sequence_length):
                return (torch.zeros(2, sequence_length, 32), torch.zeros(2, sequence_length, 32))
        """, (("", "m = Model()\nm(torch.randint(0, 50, (8, 4)), m.init_state(4))"),), None,
        ["batch-first-suspect@9"]),
    "two_state_builders_pick_none": ("""
        import torch
        import torch.nn as nn
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(16, 32)
            def forward(self, x, h):
                return self.gru(x, h)
            def zeros(self, sequence_length):
                return torch.zeros(1, sequence_length, 32)
            def ones(self, sequence_length):
                return torch.ones(1, sequence_length, 32)
        """, (), None, []),
    # nn.RNN or nn.GRU by a condition the snippet leaves open, the other branch raising: both take the same state
    "layer_class_chosen_by_if_elif": ("""
        import torch
        import torch.nn as nn
        def build(kind):
            if kind == 'rnn':
                rnn = nn.RNN
            elif kind == 'gru':
                rnn = nn.GRU
            else:
                raise ValueError(kind)
            layer = rnn(4, 8, num_layers=2)
            return layer(torch.randn(5, 3, 4), torch.zeros(1, 3, 8))
        build(which)
        """, (("which = 'rnn'", ""), ("which = 'gru'", "")), "hidden-layers-mismatch@11", []),
    "layer_class_lstm_or_gru_is_not_one_shape": ("""
        import torch
        import torch.nn as nn
        def build(kind):
            if kind == 'lstm':
                rnn = nn.LSTM
            else:
                rnn = nn.GRU
            layer = rnn(4, 8)
            return layer(torch.randn(5, 3, 4), torch.zeros(1, 3, 8))
        build(which)
        """, (), None, []),   # torch: a GRU runs it, an LSTM refuses a lone tensor state: no verdict for both
    "branch_that_raises_is_not_joined": ("""
        import torch
        import torch.nn as nn
        if mode == 'gru':
            rnn = nn.GRU(4, 8)
        else:
            raise ValueError(mode)
        out, h = rnn(torch.randn(5, 3, 6))
        """, (("mode = 'gru'", ""),), "input-size-mismatch@7", []),
    # a class never built: followed again with its on/off argument's other value, which alone shows the bug
    "bug_only_with_the_flag_the_constructor_takes": ("""
        import torch
        import torch.nn as nn
        class Generator(nn.Module):
            def __init__(self, hidden, bidirectional=False):
                super().__init__()
                self.factor = 2 if bidirectional else 1
                self.gru = nn.GRU(4, hidden, bidirectional=bidirectional)
                self.hidden = hidden
            def generate(self, n):
                h = torch.zeros(self.factor, n, self.hidden).unsqueeze(0)
                if self.factor == 1:
                    h = h.squeeze(0)
                return self.gru(torch.zeros(1, n, 4), h)
        """, (("", "Generator(8, bidirectional=True).generate(3)"),), "hidden-rank@13", []),
    # helpers and modules whose import or definition the paste cut off
    "to_var_and_rnn_utils_the_paste_does_not_define": ("""
        import torch
        import torch.nn as nn
        lstm = nn.LSTM(4, 8, batch_first=True)
        x = to_var(torch.randn(3, 5, 4))
        packed = rnn_utils.pack_padded_sequence(x, [5, 4], batch_first=True)
        """, (("import torch.nn.utils.rnn as rnn_utils\nto_var = lambda x: x", ""),), "packing-lengths-batch@5", []),
    "legacy_torch_tensor_of_sizes": ("""
        import torch
        import torch.nn as nn
        cell = nn.GRUCell(4, 8)
        h = cell(torch.Tensor(3, 5))
        """, (("", ""),), "input-size-mismatch@4", []),
    # a class the snippet never builds: where its caller puts it is not said, so a state moved to cuda behind a
    # flag's default is no device error (built with gpu=False, as a CPU caller would, torch runs it)
    "state_on_cuda_behind_a_flag_of_a_class_never_built": ("""
        import torch
        import torch.nn as nn
        class Encoder(nn.Module):
            def __init__(self, gpu=True):
                super().__init__()
                self.gpu = gpu
                self.lstm = nn.LSTM(4, 6)
            def init_hidden(self, b):
                h0 = torch.zeros(1, b, 6)
                c0 = torch.zeros(1, b, 6)
                if self.gpu:
                    h0 = h0.cuda()
                    c0 = c0.cuda()
                return (h0, c0)
            def forward(self, x):
                return self.lstm(x, self.init_hidden(x.size(1)))
        """, (("", "Encoder(gpu=False)(torch.randn(5, 2, 4))"),), None, []),
    # a loop over a literal range: its symbolic index stands for the positive values, 0 is followed on its own
    "reversed_range_loop_reaches_an_empty_sequence": ("""
        import torch
        rnn = torch.nn.GRU(5, 6)
        for seq_len in reversed(range(3)):
            output, h_n = rnn(torch.zeros(seq_len, 2, 5))
        """, (("", ""),), "empty-sequence@4", []),
    "range_loop_without_zero_is_fine": ("""
        import torch
        rnn = torch.nn.GRU(5, 6)
        for seq_len in reversed(range(1, 4)):
            output, h_n = rnn(torch.zeros(seq_len, 2, 5))
        """, (("", ""),), None, []),
    "reversed_list_loop_follows_each_size": ("""
        import torch
        rnn = torch.nn.GRU(5, 6)
        for steps in reversed([3, 2]):
            output, h_n = rnn(torch.zeros(steps, 4, 5))
        """, (("", ""),), None, []),
    # a body that changes what is outside it (an item here) is not followed a second time with 0
    "range_loop_that_stores_an_item_is_followed_once": ("""
        import torch
        rnn = torch.nn.GRU(5, 6)
        lens = [0, 0]
        for i in range(2):
            lens[i] = i + 1
            output, h_n = rnn(torch.zeros(i + 1, 2, 5))
        """, (("", ""),), None, []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_idiom(name: str) -> None:
    code, _, error, warnings = CASES[name]
    r = _d(code)
    assert _error(r) == error, [(f.line, f.diagnosis.code, f.diagnosis.title) for f in r.findings]
    assert _codes(r, "warning") == warnings


def test_idioms_against_torch() -> None:
    """With what the paste leaves out put around it, torch fails on the line diagnose names, or runs."""
    jobs = {f"{name}#{i}": {"globals": before, "code": textwrap.dedent(code).lstrip("\n") + after + "\n"}
            for name, (code, runs, _, _) in CASES.items() for i, (before, after) in enumerate(runs)}
    for key, res in run_in_torch(jobs).items():
        error = CASES[key.split("#")[0]][2]
        if error is None:
            assert res["ok"], (key, res)
        else:
            assert not res["ok"] and res["line"] == int(error.split("@")[1]), (key, res)


def test_the_flag_that_decides_is_named() -> None:
    r = _d(CASES["bug_only_with_the_flag_the_constructor_takes"][0])
    assert r.error is not None
    d = r.error.diagnosis
    assert "Generator(..., bidirectional=True)" in d.title and d.evidence["only_when"] == \
        "Generator(..., bidirectional=True)"
    # its default alone shows nothing: the first pass's notes, not the variant's, are kept once
    assert sum("Generator.generate() is never called" in n for n in r.notes) == 1


def test_state_builder_is_said_and_the_state_read() -> None:
    r = _d(CASES["state_builder_sized_by_sequence_length"][0])
    w = next(f for f in r.findings if f.diagnosis.code == "batch-first-suspect")
    assert "sequence_length in its batch slot" in w.diagnosis.explanation
    said = [a for _, a in r.followed.assumptions]
    assert any("prev_state is what init_state() returns (line 11)" in a for a in said), said


def test_uncalled_methods_are_said() -> None:
    r = _d(CASES["uncalled_method_symbolic_size_is_fine"][0])
    assert any("Decoder.sample() is never called" in n for n in r.notes), r.notes


# --------------------------------------------------------------------------- a method pasted without its class

METHOD_ALONE = """
def forward(self, inputs):
    encoded = self.encoder(inputs)
    output, hidden = self.rnn(encoded, self.init_hidden())
    return self.decoder(output[:, :, -1])
"""


def test_a_method_pasted_alone_is_followed_and_self_rnn_inferred() -> None:
    r = _d(METHOD_ALONE)
    assert _codes(r, "warning") == ["output-feature-index@4"]
    d = next(f.diagnosis for f in r.findings if f.diagnosis.code == "output-feature-index")
    # its layout is unknown: both readings given, no line rewritten, and the inference said
    assert d.evidence["batch_first"] is None and "inferred from its name" in d.evidence["inferred"]
    assert "output[:, -1]" in d.fix and "output[-1]" in d.fix
    assert not any(f.rewrites for f in r.findings if f.diagnosis.code == "output-feature-index")
    assert any("method pasted without its class" in n for n in r.notes), r.notes
    assert r.error is None


@pytest.mark.parametrize("line", [
    "    h, c = self.lstm_cell(inputs, state)\n    return h[:, :, -1]",   # a cell's (h, c), not a layer's outputs
    "    output = self.rnn(inputs)\n    return output[:, :, -1]",         # not unpacked: nothing says what it is
    "    output, hidden = self.decoder(inputs)\n    return output[:, :, -1]",  # not named like a recurrent layer
])
def test_no_recurrent_layer_is_inferred_without_name_and_unpacking(line: str) -> None:
    r = _d("def forward(self, inputs):\n" + line + "\n")
    assert not _codes(r, "warning") and r.error is None


def test_index_tensor_of_an_unpinned_argument_stays_unpinned() -> None:
    r = _d("""
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(10, 4)
                self.lstm = nn.LSTM(4, 8, bidirectional=True)
            def forward(self, x, order):
                x = x[order]
                out, (h, c) = self.lstm(self.emb(x))
                return out[-1]
        """)
    assert _codes(r, "warning") == ["bidirectional-last-step@11"]


# --------------------------------------------------------------------------- vocabularies (issue 13)


def test_layer_kinds_are_one_vocabulary() -> None:
    assert set(values.RECURRENT) == set(get_args(vocab.RecurrentKind)) == vocab.RECURRENT_KINDS
    assert values.ELEMENTWISE == vocab.ELEMENTWISE_KINDS and values.LOSSES == vocab.LOSS_KINDS
    kinds = set(get_args(vocab.LayerKind))
    assert vocab.RECURRENT_KINDS | vocab.ELEMENTWISE_KINDS | vocab.LOSS_KINDS | vocab.MODULE_OP_KINDS | \
        {"Linear", "Embedding", "Sequential"} == kinds
    modes = set(get_args(vocab.Mode))
    assert modes == set(MODES) == set(vocab.GATES) == {CLASS_TO_MODE[k] for k in vocab.RECURRENT_KINDS}


def test_size_parameters_are_those_passed_as_sizes() -> None:
    import ast

    from rnnshape.diagnose.follower.core import size_parameters
    fn = ast.parse("def f(self, x, n, h, k):\n    a = torch.zeros(x.size(0), 2 * n, [h])\n    return x.view(k, -1)\n")
    assert size_parameters(fn.body[0]) == {"n", "h", "k"}   # x is read for its size, not passed as one


def test_an_if_whose_branches_both_raise_reaches_nothing_after() -> None:
    r = _d("""
        import torch
        import torch.nn as nn
        rnn = nn.GRU(4, 8)
        if mode == 'a':
            raise ValueError(mode)
        elif mode == 'b':
            if strict:
                raise KeyError(mode)
            else:
                raise ValueError(mode)
        else:
            rnn = nn.GRU(6, 8)
        out, h = rnn(torch.randn(5, 3, 6))
        """)
    assert r.error is None and r.checked == 1


def test_a_warning_only_the_flag_shows_names_it() -> None:
    r = _d("""
        import torch
        import torch.nn as nn
        class Encoder(nn.Module):
            def __init__(self, hidden, bidirectional=False):
                super().__init__()
                self.gru = nn.GRU(4, hidden, bidirectional=bidirectional)
            def forward(self, x):
                _, h = self.gru(x)
                return h.view(x.size(1), -1)
        """)
    assert _codes(r, "warning") == ["state-read-batch-first@9"]
    w = next(f.diagnosis for f in r.findings if f.diagnosis.code == "state-read-batch-first")
    assert w.evidence["only_when"] == "Encoder(..., bidirectional=True)" and "(with Encoder(" in w.title
    # the second pass adds no note, assumption or call of its own (x, only what the GRU reads, checks nothing)
    assert sum("Encoder is never called" in n for n in r.notes) == 1 and r.checked == 0
    assert list(r.not_followed) == [8]


def test_a_function_pasted_alone_without_self_is_not_a_method() -> None:
    r = _d("""
        def step(inputs):
            output, hidden = self.rnn(inputs)
            return output[:, :, -1]
        """)
    assert not r.findings or not _codes(r, "warning")
    assert not any("pasted without its class" in n for n in r.notes)
