"""`rnnshape run --warn`: silent mistakes reported live, once each, without stopping the program."""

from __future__ import annotations

import textwrap

SILENT_BUGS = """
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(12, 7, 8)), batch_size=4)
    lstm = nn.LSTM(8, 16)  # batch_first forgotten: (4, 7, 8) is read as seq 4, batch 7
    for (x,) in loader:
        out, _ = lstm(x)

    gru = nn.GRU(8, 16, bidirectional=True, batch_first=True)
    fc = nn.Linear(16, 2)
    both = nn.Linear(32, 2)
    for _ in range(3):
        out, h = gru(torch.randn(4, 7, 8))
        y = fc(h[-1])                              # the backward direction only
        z = both(torch.cat((h[-2], h[-1]), dim=1))  # right: no warning

    rnn = nn.GRU(4, 6)
    state = torch.zeros(1, 5, 6)  # built for a batch of 5
    packed = pack_padded_sequence(torch.randn(7, 3, 4), [2, 7, 5], enforce_sorted=False)
    out, state2 = rnn(packed, state)
    print("done", flush=True)
"""


def test_warn_reports_each_silent_bug_once_and_never_stops(tmp_path, live):
    script = tmp_path / "silent.py"
    script.write_text(textwrap.dedent(SILENT_BUGS))
    proc = live.rnnshape_run("--warn", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    err = proc.stderr
    assert err.count("warning batch-first-suspect") == 1
    assert "DataLoader(batch_size=4)" in " ".join(err.split())
    assert "silent.py:11  out, _ = lstm(x)" in err
    assert "nn.LSTM(8, 16, batch_first=True)" in err  # the rebuilt layer, as code
    assert err.count("warning bidirectional-one-direction") == 1
    assert "silent.py:18  y = fc(h[-1])" in err
    assert "torch.cat([h_n[-2], h_n[-1]], dim=1)" in err
    assert err.count("warning state-batch-reused") == 1
    assert "built for a batch of 5, the packed batch has 3" in " ".join(err.split())


def test_without_warn_the_same_program_prints_nothing(tmp_path, live):
    script = tmp_path / "silent.py"
    script.write_text(textwrap.dedent(SILENT_BUGS))
    proc = live.rnnshape_run(str(script), cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "done\n", "")


def test_batch_first_layer_with_its_batch_in_place_is_not_flagged(tmp_path, live):
    script = tmp_path / "fine.py"
    script.write_text(textwrap.dedent("""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        loader = DataLoader(TensorDataset(torch.randn(8, 4, 3)), batch_size=4)  # batch 4, seq 4? no: seq 4
        lstm = nn.LSTM(3, 5, batch_first=True)
        other = nn.GRU(3, 5)
        for (x,) in loader:
            lstm(x)                     # (4, 4, 3): ambiguous sizes, no evidence either way
            other(x.transpose(0, 1))    # (seq 4, batch 4): fine
        print("ok")
    """))
    proc = live.rnnshape_run("--warn", str(script), cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")
