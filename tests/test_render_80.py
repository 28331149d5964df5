"""Output that survives an 80-column terminal and a pipe (a CI log): code stays Python.

Every command runs in a subprocess with COLUMNS=80 and stdout a pipe (not a tty).
Every fix block (a ``# fix`` comment line, then code, then a blank line) must parse
with ast.parse, every fix line must fit in 80 columns, and check's table must fold
case names and codes only at word boundaries.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rnnshape.render.report import fit_code

ROOT = Path(__file__).resolve().parents[1]


def run80(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run([sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def fix_blocks(text: str) -> list[str]:
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("# fix"):
            current = [line]
            blocks.append(current)
        elif current is not None and line.strip() and not line.startswith(("╭", "│", "╰", "✗", "✓")):
            current.append(line)
        else:
            current = None
    return ["\n".join(b) for b in blocks]


def assert_fixes_parse(text: str, at_least: int = 1) -> None:
    blocks = fix_blocks(text)
    assert len(blocks) >= at_least, text
    for block in blocks:
        ast.parse(block)  # raises on a line wrapped or cut mid-token
        assert all(len(line) <= 80 for line in block.splitlines()), block
        assert len(block.splitlines()) >= 2, block  # a heading and its code


INSPECT_CASES = [
    ("nn.LSTM(32, 64)", "--input-shape", "16,50,32", "--hidden-shape", "1,16,64", "--cell-shape", "1,16,64"),
    ("gru-cell", "10", "20", "--input-shape", "3,10", "--hidden-shape", "1,3,20"),
    ("lstm", "10", "20", "--input-shape", "2,5,3,10"),
    ("nn.LSTM(10, 20, num_layers=3, bidirectional=True, batch_first=True)", "--input-shape", "4,7,10",
     "--hidden-shape", "6,32,20", "--cell-shape", "6,32,20"),
    ("nn.GRU(64, 32)", "--input-shape", "7,3,50"),
]


@pytest.mark.parametrize("args", INSPECT_CASES, ids=lambda a: a[0])
def test_inspect_fixes_parse_at_80_columns_through_a_pipe(args: tuple[str, ...]) -> None:
    assert_fixes_parse(run80("inspect", *args, "--device", "cpu"))


def test_check_table_folds_at_word_boundaries_and_fixes_parse(tmp_path: Path) -> None:
    cases = tmp_path / "cases.toml"
    names = ["encoder-lstm-bidirectional-last-batch-small", "decoder_gru_projection_features", "ok"]
    cases.write_text(textwrap.dedent(f"""
        [[case]]
        name = "{names[0]}"
        layer = "nn.LSTM(32, 64, num_layers=2, bidirectional=True, batch_first=True)"
        input = [4, 50, 32]
        hidden = [4, 32, 64]
        cell = [4, 32, 64]

        [[case]]
        name = "{names[1]}"
        layer = "nn.GRU(50, 64)"
        input = [7, 3, 50]

        [[case]]
        name = "{names[2]}"
        mode = "gru"
        input_size = 10
        hidden_size = 20
        input = [5, 3, 10]
    """))
    out = run80("check", str(cases), "--dry-run")
    table = out.split("\n\n")[0].splitlines()[1:]
    width = len(table[0]) - len(table[0][18:].lstrip()) if table else 18
    pieces = [line[:width].strip() for line in table if line[:width].strip()]
    joined = "".join(pieces)
    for name in names:
        assert name in joined
    for piece in pieces:
        assert piece in names or piece.endswith(("-", "_")) or any(n.endswith(piece) for n in names), piece
    assert "hidden-batch-mismatch" in out  # the code whole, never "hidden-batch-mis…"
    assert all(len(line) <= 80 for line in table)
    assert_fixes_parse(out)


def test_trace_fixes_parse_at_80_columns(tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text(textwrap.dedent("""
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(100, 32)
                self.lstm = nn.LSTM(32, 64)
            def forward(self, ids):
                h0 = torch.zeros(1, ids.size(0), 64)
                c0 = torch.zeros(1, ids.size(0), 64)
                return self.lstm(self.emb(ids), (h0, c0))[0]
    """))
    out = run80("trace", f"{model}:Net", "--input-shape", "16,50", "--input-dtype", "int64", "--device", "cpu")
    assert_fixes_parse(out)
    assert "self.lstm = nn.LSTM(32, 64, batch_first=True)" in out


@pytest.mark.parametrize("width", [20, 30, 40, 80])
def test_fit_code_keeps_python_valid_at_any_width(width: int) -> None:
    code = ("h_0 = torch.zeros(num_layers * 2, x.size(0 if rnn.batch_first else 1), 64, dtype=x.dtype, "
            "device=x.device)   # (num_layers * num_directions, batch, hidden_size)\n"
            "packed = pack_padded_sequence(x, lengths, batch_first=rnn.batch_first, enforce_sorted=False)")
    fitted = fit_code(code, width)
    ast.parse(fitted)
    assert ast.dump(ast.parse(fitted)) == ast.dump(ast.parse(code))  # the same program
    long_tokens = [t for t in code.split() if len(t) > width - 4]
    assert all(len(line) <= width for line in fitted.splitlines()) or long_tokens


def test_every_fix_explain_gives_for_real_pasted_errors_is_python() -> None:
    """The explain corpus (real users' errors): each fix, whatever its builder, parses."""
    from rnnshape.explain.explainer import explain_text

    corpus = sorted((ROOT / "tests" / "data" / "explain_corpus").glob("*.txt"))
    assert corpus
    fixes = [d.fix for path in corpus for d in explain_text(path.read_text()).diagnoses if d.fix]
    assert fixes
    for fix in fixes:
        ast.parse(fix)
        ast.parse(fit_code(fix, 80))
