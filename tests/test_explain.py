"""``rnnshape explain``: tracebacks of every shape, the user-report corpus, the CLI, and speed
hygiene (the command never imports torch). Tracebacks are produced by real torch here; the
corpus holds what users pasted in public reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from typer.testing import CliRunner

from rnnshape.cli import app
from rnnshape.explain.explainer import MAX_BYTES, explain_text, normalize

CORPUS = Path(__file__).parent / "data" / "explain_corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
runner = CliRunner()


def _tb(fn) -> str:
    try:
        fn()
    except Exception:  # noqa: BLE001
        return traceback.format_exc()
    raise AssertionError("no error")


class Seq2Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.GRU(8, 16, bidirectional=True)
        self.decoder = nn.GRU(8, 16)

    def forward(self, x):
        _, h = self.encoder(x)
        out, h = self.decoder(x, h)
        return out


# --------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("item", MANIFEST, ids=[i["file"] for i in MANIFEST])
def test_corpus_item(item: dict) -> None:
    text = (CORPUS / item["file"]).read_text()
    result = explain_text(text)
    assert [d.code for d in result.diagnoses] == item["codes"], item["source"]
    prose = "\n".join(f"{d.title}\n{d.explanation}\n{d.fix}" for d in result.diagnoses)
    for number in item["numbers"]:
        assert number in prose, (number, prose)
    if "user_line" in item:
        assert result.user_line == item["user_line"]
    if "layer" in item:
        assert result.layer == item["layer"]
    if "repeats" in item:
        assert result.findings[0].repeats == item["repeats"]
    for entry in item["entries"]:
        assert entry in {d.evidence["catalog_entry"] for d in result.diagnoses}


def test_corpus_items_name_their_source() -> None:
    for item in MANIFEST:
        assert item["source"].startswith("https://"), item["file"]
        assert (CORPUS / item["file"]).is_file()


# --------------------------------------------------------------------------- traceback shapes


def test_seq2seq_bidirectional_encoder_state_into_decoder() -> None:
    result = explain_text(_tb(lambda: Seq2Seq()(torch.zeros(5, 3, 8))))
    d = result.diagnoses[0]
    assert d.code == "hidden-layers-mismatch"
    assert result.user_line == "out, h = self.decoder(x, h)"
    assert any("bidirectional" in c and "decoder" in c for c in d.evidence["causes"])


def test_chained_traceback_explains_both() -> None:
    def chained():
        try:
            nn.LSTM(8, 16)(torch.zeros(5, 3, 10))
        except RuntimeError:
            pack = torch.nn.utils.rnn.pack_padded_sequence
            pack(torch.zeros(3, 5, 8), [1, 5, 3], batch_first=True)

    def caused():
        try:
            nn.GRU(8, 16)(torch.zeros(5, 3, 8), torch.zeros(2, 3, 16))
        except RuntimeError as exc:
            raise ValueError("while running the encoder") from exc

    text = _tb(chained)
    assert "During handling of the above exception" in text
    assert [d.code for d in explain_text(text).diagnoses] == ["input-size-mismatch",
                                                              "packing-unsorted"]
    text = _tb(caused)
    assert "direct cause" in text
    result = explain_text(text)
    assert [d.code for d in result.diagnoses] == ["hidden-layers-mismatch"]
    assert result.unrecognised == ("ValueError: while running the encoder",)


def test_warning_line_and_error_in_one_paste() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.GRU(8, 16, dropout=0.25)
    w = caught[0]
    text = warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
    text += _tb(lambda: nn.GRU(8, 16)(torch.zeros(5, 3, 8), torch.zeros(1, 4, 16)))
    result = explain_text(text)
    assert [d.code for d in result.diagnoses] == ["dropout-single-layer", "hidden-batch-mismatch"]
    assert "dropout=0.25" in result.diagnoses[0].title
    assert result.findings[0].kind == "UserWarning"


def test_ansi_and_ipython_markers_are_stripped() -> None:
    red, off = "\x1b[0;31m", "\x1b[0m"
    text = (f"{red}RuntimeError{off}                              Traceback (most recent call last)\n"
            "Cell In[7], line 3\n      1 lstm = nn.LSTM(8, 16)\n      2 x = torch.zeros(5, 3, 10)\n"
            f"{red}----> 3{off} out, (h, c) = lstm(x)\n\n"
            "File ~/venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py:1120, in "
            "LSTM.forward(self, input, hx)\n"
            f"{red}-> 1120{off}     self.check_forward_args(input, hx, batch_sizes)\n\n"
            f"{red}RuntimeError{off}: input.size(-1) must be equal to input_size. Expected 8, got 10")
    assert "\x1b" not in normalize(text)
    result = explain_text(text)
    d = result.diagnoses[0]
    assert d.code == "input-size-mismatch"
    assert result.user_line == "out, (h, c) = lstm(x)"
    assert result.layer == "LSTM"
    assert "nn.LSTM(10," in d.fix


def test_duplicate_errors_are_counted_not_repeated() -> None:
    message = str(_exc(lambda: nn.GRU(8, 16)(torch.zeros(5, 3, 10))))
    result = explain_text(f"RuntimeError: {message}\n" * 3)
    assert len(result.findings) == 1 and result.findings[0].repeats == 3


def _exc(fn) -> Exception:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("no error")


def test_unknown_error_reports_the_line_it_looked_at() -> None:
    result = explain_text("Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n"
                          "    import foo\nModuleNotFoundError: No module named 'foo'\n")
    assert not result.ok
    assert result.looked_at == ("ModuleNotFoundError: No module named 'foo'",)


def test_source_lines_in_frames_are_not_messages() -> None:
    """torch's own source shown in a frame (a format string) is not the error."""
    text = ('  File "/x/site-packages/torch/nn/modules/rnn.py", line 1, in check\n'
            "    'Expected hidden[0] size (2, 3, 16), got [1, 3, 16]'\n"
            "ValueError: something else\n")
    assert not explain_text(text).ok


def test_huge_paste_is_handled() -> None:
    noise = ("epoch 1 loss 0.25 acc 0.91\n" * 200_000)[: 5 * 1024 * 1024]
    message = str(_exc(lambda: nn.GRU(8, 16)(torch.zeros(5, 3, 10))))
    result = explain_text(noise + "RuntimeError: " + message + "\n")
    assert [d.code for d in result.diagnoses] == ["input-size-mismatch"]


# --------------------------------------------------------------------------- CLI


def test_cli_argument_text_and_exit_codes() -> None:
    message = str(_exc(lambda: nn.LSTM(8, 16)(torch.zeros(5, 3, 10))))
    r = runner.invoke(app, ["explain", message])
    assert r.exit_code == 0, r.output
    assert "input-size-mismatch" in r.output and "input_size=8" in r.output
    r = runner.invoke(app, ["explain", "all is well"])
    assert r.exit_code == 1
    assert "looked at: all is well" in r.output


def test_cli_stdin_and_dash() -> None:
    text = _tb(lambda: nn.GRU(8, 16, num_layers=2)(torch.zeros(5, 3, 8), torch.zeros(1, 3, 16)))
    for args in (["explain"], ["explain", "-"]):
        r = runner.invoke(app, args, input=text)
        assert r.exit_code == 0, r.output
        assert "hidden-layers-mismatch" in r.output


def test_cli_json_shape_matches_inspect() -> None:
    text = _tb(lambda: nn.GRU(8, 16)(torch.zeros(5, 3, 8), (torch.zeros(1, 3, 16),) * 2))
    r = runner.invoke(app, ["explain", "--json", text])
    assert r.exit_code == 0
    payload = json.loads(r.output)
    assert payload["ok"] is True
    d = payload["diagnoses"][0]
    assert set(d) == {"code", "severity", "title", "explanation", "fix", "fixes", "evidence"}
    assert d["code"] == "gru-given-tuple"
    r = runner.invoke(app, ["explain", "--json", "nothing here"])
    assert r.exit_code == 1 and json.loads(r.output)["ok"] is False


def test_cli_file(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text(_tb(lambda: nn.LSTM(8, 16)(torch.zeros(5, 3, 8), torch.zeros(1, 3, 16))))
    r = runner.invoke(app, ["explain", "--file", str(path)])
    assert r.exit_code == 0 and "hidden-not-tuple" in r.output


@pytest.mark.parametrize("kind", ["missing", "binary", "huge", "empty", "directory", "both"])
def test_cli_bad_input_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "f"
    args = ["explain", "--file", str(path)]
    if kind == "binary":
        path.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    elif kind == "huge":
        path.write_bytes(b"x" * (MAX_BYTES + 1))
    elif kind == "empty":
        path.write_text("   \n")
    elif kind == "directory":
        path.mkdir()
    elif kind == "both":
        path.write_text("RuntimeError: x")
        args = ["explain", "text", "--file", str(path)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "rnnshape: error:" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 2


def test_cli_empty_argument_is_a_usage_error() -> None:
    r = runner.invoke(app, ["explain", ""])
    assert r.exit_code == 2 and "empty" in r.output


# --------------------------------------------------------------------------- no torch, installed


def test_explain_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rnnshape.cli import app\n"
        "r = CliRunner().invoke(app, ['explain', 'RuntimeError: input.size(-1) must be equal to "
        "input_size. Expected 8, got 10'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['explain', '--json', 'Expected hidden size (1, 3, 16), "
        "got [1, 4, 16]'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"explain imported: {out.stdout}"


@pytest.mark.skipif(shutil.which("rnnshape") is None, reason="console script not installed")
def test_installed_command_reads_a_pipe() -> None:
    text = _tb(lambda: nn.LSTM(8, 16, bidirectional=True)(
        torch.zeros(5, 3, 8), (torch.zeros(1, 3, 16), torch.zeros(1, 3, 16))))
    out = subprocess.run(["rnnshape", "explain", "--json"], input=text, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["diagnoses"][0]["code"] == "hidden-layers-mismatch"
    out = subprocess.run(["rnnshape", "explain", "--file", "/nonexistent/log.txt"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "cannot read" in out.stderr and "Traceback" not in out.stderr
