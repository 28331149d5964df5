"""What the forum pastes of tests/data/snippets_real needed from the follower (issue 11), one construct per case,
each case also run in real torch: the silent ones must run, so a warning is about meaning, never a crash torch
would have shown anyway."""

from __future__ import annotations

import textwrap

import pytest
from conftest import run_in_torch

from rnnshape.diagnose.snippets import diagnose_paste, parse_hints


def _d(code: str):
    return diagnose_paste(textwrap.dedent(code).lstrip("\n"), parse_hints([]))


#: name -> (code, expected warnings "code@line"); none of these raises, in torch or in diagnose
CASES: dict[str, tuple[str, list[str]]] = {
    # discuss.pytorch.org 2979: the state was sized for the axis the layer misreads, which is why torch runs
    "state_sized_by_seq_len_keeps_the_batch_first_warning": ("""
        import torch
        import torch.nn as nn
        batch_size, seq_len = 5, 3
        gru = nn.GRU(8, 16)
        x = torch.randn(batch_size, seq_len, 8)
        h0 = torch.zeros(1, seq_len, 16)
        out, h = gru(x, h0)
        """, ["batch-first-suspect@7"]),
    "state_sized_by_literals_keeps_the_batch_first_warning": ("""
        import torch
        import torch.nn as nn
        batch_size, seq_len = 5, 3
        gru = nn.GRU(8, 16)
        x = torch.randn(batch_size, seq_len, 8)
        out, h = gru(x, torch.zeros(1, 3, 16))
        """, ["batch-first-suspect@6"]),
    "state_named_batch_is_left_to_the_numbers": ("""
        import torch
        import torch.nn as nn
        batch_size = seq_len = 4
        gru = nn.GRU(8, 16)
        x = torch.randn(batch_size, seq_len, 8)
        h0 = torch.zeros(1, batch_size, 16)
        out, h = gru(x, h0)
        """, []),
    "state_given_and_layout_right_is_quiet": ("""
        import torch
        import torch.nn as nn
        batch_size, seq_len = 5, 3
        gru = nn.GRU(8, 16, batch_first=True)
        x = torch.randn(batch_size, seq_len, 8)
        h0 = torch.zeros(1, batch_size, 16)
        out, h = gru(x, h0)
        """, []),
    # discuss.pytorch.org 74933: the documented split of h_n and of a bidirectional output
    "h_n_view_layers_directions_batch_hidden_is_no_mixing": ("""
        import torch
        import torch.nn as nn
        rnn = nn.GRU(16, 16, num_layers=2, bidirectional=True)
        out, state = rnn(torch.randn(5, 10, 16))
        per_layer = state.view(2, 2, 10, 16)
        """, []),
    "output_view_backward_at_the_last_step": ("""
        import torch
        import torch.nn as nn
        rnn = nn.GRU(16, 16, bidirectional=True)
        out, state = rnn(torch.randn(5, 10, 16))
        halves = out.view(5, 10, 2, 16)
        backward_last = halves[-1, :, 1]
        """, ["bidirectional-last-step@6"]),
    "output_view_backward_last_step_batch_first": ("""
        import torch
        import torch.nn as nn
        rnn = nn.LSTM(16, 8, batch_first=True, bidirectional=True)
        out, (h, c) = rnn(torch.randn(4, 7, 16))
        halves = out.view(4, 7, 2, 8)
        backward_last = halves[:, -1, -1, :]
        """, ["bidirectional-last-step@6"]),
    "output_view_forward_last_and_backward_first_are_right": ("""
        import torch
        import torch.nn as nn
        rnn = nn.GRU(16, 16, bidirectional=True)
        out, state = rnn(torch.randn(5, 10, 16))
        halves = out.view(5, 10, 2, 16)
        forward_last = halves[-1, :, 0]
        backward_first = halves[0, :, 1]
        """, []),
}


@pytest.fixture(scope="module")
def results() -> dict:
    return {name: _d(code) for name, (code, _) in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_forum_construct(name: str, results: dict) -> None:
    r = results[name]
    assert r.error is None, r.error.diagnosis.title
    assert sorted(f"{f.diagnosis.code}@{f.line}" for f in r.findings if f.diagnosis.severity == "warning") \
        == CASES[name][1]


def test_forum_constructs_run_in_torch(results: dict) -> None:
    runs = run_in_torch({name: r.code for name, r in results.items()})
    assert all(run["ok"] for run in runs.values()), {k: v for k, v in runs.items() if not v["ok"]}
