"""`%load_ext rnnshape`: the explanation appears under the cell's traceback."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython", reason="IPython is not installed (pip install -e '.[test]' brings it)")
pytest.importorskip("torch")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from rnnshape.live import hooks  # noqa: E402


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    yield ip
    ip.run_line_magic("unload_ext", "rnnshape")
    hooks.uninstall()
    InteractiveShell.clear_instance()


def test_load_ext_explains_a_recurrent_error_under_the_traceback(shell, capsys):
    shell.run_line_magic("load_ext", "rnnshape")
    shell.run_cell("import torch\nfrom torch import nn\nlstm = nn.LSTM(4, 6)")
    result = shell.run_cell("out, _ = lstm(torch.randn(5, 2, 4), (torch.zeros(1, 3, 6), torch.zeros(1, 3, 6)))")
    assert isinstance(result.error_in_exec, RuntimeError)
    out = capsys.readouterr().out
    error_at = out.index("Expected hidden[0] size (1, 2, 6), got [1, 3, 6]")
    assert out.index("rnnshape: the live call behind this error") > error_at
    assert "nn.LSTM(4, 6)" in out and "hidden-batch-mismatch" in out
    assert "h_0    (1, 3, 6) float32 cpu" in out


def test_other_errors_get_the_plain_traceback(shell, capsys):
    shell.run_line_magic("load_ext", "rnnshape")
    result = shell.run_cell("{}['missing']")
    assert isinstance(result.error_in_exec, KeyError)
    out = capsys.readouterr().out
    assert "KeyError" in out and "rnnshape" not in out
