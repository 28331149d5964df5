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
    if "first_cause" in item:
        assert item["first_cause"] in result.diagnoses[0].evidence["causes"][0]


def test_corpus_items_say_their_cause() -> None:
    """Items added with the version-spanning catalog record the established cause and era."""
    for item in MANIFEST:
        if item.get("codes") and "era" in item:
            assert item.get("cause"), item["file"]


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


# --------------------------------------------------------------------------- linear time (#10, #15)


def _best_time(fn, repeats: int = 3) -> float:
    """CPU time of this process (not wall time): other processes on a loaded machine do not
    count, so ratios of these times measure the work, not the scheduler."""
    import time

    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _growth(fn_of_text, make, small: int, factor: int = 16) -> float:
    """Time of fn on one text ``factor`` times longer, over the time of ``factor`` runs on the
    short text: ~1 for linear code, ~factor for quadratic code.

    Both measurements do the same amount of linear work, so both span the same number of
    scheduler slices on a loaded machine (a short single run would fit in one slice and make
    the long one look slow). A short run that is already slow fails at once.
    """
    short, long_ = make(small), make(small * factor)
    t_one = _best_time(lambda: fn_of_text(short), repeats=1)
    assert t_one < 0.25, f"{t_one:.2f} s on {len(short)} characters"

    def many_short() -> None:
        for _ in range(factor):
            fn_of_text(short)

    t_small = _best_time(many_short, repeats=2)
    t_long = _best_time(lambda: fn_of_text(long_), repeats=2)
    return t_long / max(t_small, 1e-6)


def _all_patterns() -> list[tuple[str, object]]:
    """Every distinct pattern (entries share their ``needs``), named by its first user."""
    seen: set[tuple[str, int]] = set()
    unique = []
    for name, pattern in _every_pattern():
        key = (pattern._source, pattern._flags)
        if key not in seen:
            seen.add(key)
            unique.append((name, pattern))
    return unique


def _every_pattern() -> list[tuple[str, object]]:
    from rnnshape.explain import catalog, explainer
    from rnnshape.lazyre import LazyPattern

    found = [(f"explainer.{k}", v) for k, v in vars(explainer).items() if isinstance(v, LazyPattern)]
    found += [(f"explainer._VF_LAYER[{i}]", p) for i, (p, _) in enumerate(explainer._VF_LAYER)]
    for module in (catalog, *catalog.TOPICS):
        name = module.__name__.rsplit(".", 1)[-1]
        found += [(f"{name}.{k}", v) for k, v in vars(module).items() if isinstance(v, LazyPattern)]
    for entry in catalog.ENTRIES:
        found.append((f"entry {entry.name}", entry.pattern))
        if entry.needs is not None:
            found.append((f"needs {entry.name}", entry.needs))
    return found


def _atoms(pattern) -> list[str]:
    """Adversarial building blocks: generic ones plus the pattern's own words and punctuation."""
    import re as _re

    generic = ["a", " ", "1, ", "a.", ":", "(", "[1](file", 'File "a", line 1, in ', "File a:1, in f(",
               "a.py in f(", "Error", "torch.Size([1, "]
    source = pattern.pattern
    words = _re.findall(r"[A-Za-z_]{3,}", source)
    prefix = _re.match(r"[^\\\\()\[\]?*+{|^$.]*", source).group(0)
    own = [w + " " for w in words[:4]] + ([prefix] if len(prefix) > 2 else [])
    return generic + own


@pytest.mark.parametrize("name,pattern", _all_patterns(), ids=[n for n, _ in _all_patterns()])
def test_every_pattern_is_linear_on_adversarial_text(name: str, pattern) -> None:
    """#15: each pattern that sees pasted text, fed strings of growing length, grows ~linearly
    (applied the way explain applies it: line patterns with .match, the others searched)."""
    from rnnshape.explain.explainer import MATCH_ONLY

    anchored = name.split(".", 1)[-1] in MATCH_ONLY
    for atom in _atoms(pattern):
        def make(n: int, atom: str = atom) -> str:
            return atom * max(1, n // len(atom)) + "\x00"

        def run(text: str) -> None:
            pattern.match(text)
            if not anchored:
                for _ in pattern.finditer(text):
                    pass

        ratio = _growth(run, make, 4000, factor=8)
        # linear: ~1; quadratic: ~8. The bound leaves room for a loaded machine.
        assert ratio < 4, (name, atom, ratio)


def test_repeated_error_lines_are_linear() -> None:
    """#15: `yes '...Expected hidden[0] size...' | head -n 10000` is one finding, in linear time."""
    line = "RuntimeError: Expected hidden[0] size (2, 16, 128), got [2, 32, 128]\n"
    result = explain_text(line * 10_000)
    assert len(result.findings) == 1 and result.findings[0].repeats == 10_000
    assert _growth(explain_text, lambda n: line * n, 500, factor=16) < 5


def test_rich_border_line_with_blanks_is_linear() -> None:
    assert normalize("│a" + " " * 2500 + "b") == "a" + " " * 2500 + "b"
    assert _growth(normalize, lambda n: "│a" + " " * n + "b", 2500) < 5


def test_long_line_before_an_error_is_linear() -> None:
    message = "RuntimeError: input.size(-1) must be equal to input_size. Expected 8, got 10"
    result = explain_text("x" * 100_000 + "\n" + message)
    assert [d.code for d in result.diagnoses] == ["input-size-mismatch"]
    assert _growth(explain_text, lambda n: "ab(" * n + "\n" + message, 4000) < 5


def test_frames_of_every_format_are_linear() -> None:
    frames = {
        "python": '  File "/a/b.py", line 3, in forward\n    out = self.lstm(x)\n',
        "ipython8": "File ~/a/rnn.py:12, in LSTM.forward(self, input, hx)\n",
        "ipython7": "<ipython-input-3-abc> in forward(self, x)\n",
        "cell": "Cell In[7], line 3, in f(x)\n",
        "vscode": "     [22](vscode-notebook-cell:/c%3A/a.ipynb#X16sZmlsZQ%3D%3D?line=21) x = 1\n",
    }
    tail = "RuntimeError: Expected hidden size (1, 3, 16), got [1, 4, 16]\n"
    for kind, frame in frames.items():
        assert _growth(explain_text, lambda n, f=frame: f * n + tail, 100) < 5, kind


@pytest.mark.slow
def test_ten_megabytes_in_linear_time() -> None:
    noise = "epoch 1 loss 0.25 acc 0.91 lstm h0 torch.Size([32, 50, 8])\n"
    message = "RuntimeError: Expected hidden[0] size (2, 16, 128), got [2, 32, 128]\n"
    big = noise * (10 * 1024 * 1024 // len(noise)) + message
    assert [d.code for d in explain_text(big).diagnoses] == ["hidden-batch-mismatch"]


def test_pipe_of_repeated_errors_finishes(tmp_path: Path) -> None:
    """The reproducer of #15 through the real CLI and a pipe (a hang guard, not a speed test)."""
    line = b"RuntimeError: Expected hidden[0] size (2, 16, 128), got [2, 32, 128]\n"
    out = subprocess.run([sys.executable, "-m", "rnnshape", "explain", "--json"], input=line * 10_000,
                         capture_output=True, timeout=120, cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["errors"][0]["repeats"] == 10_000


# --------------------------------------------------------------------------- bounded reads (#15)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_files_are_refused_at_once(tmp_path: Path, special: str) -> None:
    import os

    path = special
    if special == "fifo":
        path = str(tmp_path / "pipe")
        os.mkfifo(path)
    out = subprocess.run([sys.executable, "-m", "rnnshape", "explain", "--file", path],
                         capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert out.returncode == 2
    assert "not a regular file" in out.stderr and "Traceback" not in out.stderr


def test_stdin_from_a_device_is_refused_at_once() -> None:
    with open("/dev/zero", "rb") as zero:
        out = subprocess.run([sys.executable, "-m", "rnnshape", "explain"], stdin=zero,
                             capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert out.returncode == 2 and "is a device" in out.stderr


def test_stdin_keeps_only_the_tail_within_the_limit() -> None:
    import io

    from rnnshape.textio import read_stream_tail

    data = b"x" * 1000 + b"\nRuntimeError: tail\n"
    kept, note = read_stream_tail(io.BytesIO(data), limit=100)
    assert kept.endswith(b"RuntimeError: tail\n") and len(kept) == 100
    assert note and "only its last" in note


def test_reading_module_is_shared_and_bounded(tmp_path: Path) -> None:
    from rnnshape.textio import InputFileError, read_bounded

    path = tmp_path / "log.txt"
    path.write_bytes(b"a" * 101)
    with pytest.raises(InputFileError, match="larger than"):
        read_bounded(str(path), limit=100, what="--file")
    assert read_bounded(str(path), limit=101, what="--file") == b"a" * 101


# --------------------------------------------------------------------------- precision (#9)


def test_plain_python_unpacking_error_is_not_claimed(tmp_path: Path) -> None:
    script = tmp_path / "report.py"
    script.write_text("rows = [('a', 1, 2)]\nfor name, score in rows:\n    print(name)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert "too many values to unpack" in out.stderr
    result = explain_text(out.stderr)
    assert not result.ok
    r = runner.invoke(app, ["explain", out.stderr])
    assert r.exit_code == 1 and "no recurrent-layer error found" in r.output


def test_plain_indexing_error_is_not_claimed() -> None:
    def index():
        scores = torch.zeros(1)
        return scores[1]

    text = _tb(index)
    assert "out of bounds" in text
    assert not explain_text(text).ok
    r = runner.invoke(app, ["explain", "--json", text])
    assert r.exit_code == 1 and json.loads(r.output)["ok"] is False


def test_generic_message_tied_by_the_frames_is_claimed() -> None:
    def lstm_state():
        lstm = nn.LSTM(8, 16)
        return lstm(torch.zeros(5, 3, 8), torch.zeros(1, 3, 16))

    assert explain_text(_tb(lstm_state)).diagnoses[0].code == "hidden-not-tuple"


# --------------------------------------------------------------------------- ranking by evidence (#10)


def _message(fn) -> str:
    return f"{type(_exc(fn)).__name__}: {_exc(fn)}"


def test_layers_or_bidirectional_decided_by_the_paste() -> None:
    message = _message(lambda: nn.LSTM(8, 16, bidirectional=True)(
        torch.zeros(5, 3, 8), (torch.zeros(1, 3, 16),) * 2))
    bidir = explain_text("lstm = nn.LSTM(8, 16, bidirectional=True)\n" + message).diagnoses[0]
    assert "bidirectional" in bidir.evidence["causes"][0]
    assert not any("num_layers=2 forgotten" in c for c in bidir.evidence["causes"])
    deep = explain_text("lstm = nn.LSTM(8, 16, num_layers=2)\n" + message).diagnoses[0]
    assert "num_layers=2" in deep.evidence["causes"][0]
    both = explain_text(message).diagnoses[0].evidence["causes"]
    assert any("bidirectional" in c for c in both) and any("num_layers" in c for c in both)
    assert any("tell them apart" in c for c in both)


def test_four_dimensional_state_is_an_extra_unsqueeze() -> None:
    message = _message(lambda: nn.GRU(8, 16)(torch.zeros(5, 3, 8), torch.zeros(1, 1, 3, 16)))
    d = explain_text(message).diagnoses[0]
    assert "extra axis" in d.evidence["causes"][0]
    assert "unsqueeze(0)" not in d.fix
    # the fix, applied in torch, removes the error
    h_0 = torch.zeros(1, 1, 3, 16)
    for line in d.fix.splitlines():
        exec(line, {"torch": torch}, scope := {"h_0": h_0})
        h_0 = scope["h_0"]
    nn.GRU(8, 16)(torch.zeros(5, 3, 8), h_0)


def test_encoder_output_sequence_given_as_state() -> None:
    encoder, decoder = nn.GRU(8, 16, batch_first=True), nn.GRU(8, 16)
    out, _ = encoder(torch.zeros(3, 5, 8))
    message = _message(lambda: decoder(torch.zeros(7, 3, 8), out))
    causes = explain_text(message).diagnoses[0].evidence["causes"]
    assert "not a state at all" in causes[0] and "h_n" in causes[0]


def test_batch_first_layout_ranks_before_last_batch() -> None:
    x = torch.zeros(32, 50, 8)                 # (batch, seq_len, features), layer not batch_first
    message = _message(lambda: nn.GRU(8, 16)(x, torch.zeros(1, 32, 16)))
    paste = f"print(x.shape)\n{x.shape}\n{message}"
    d = explain_text(paste).diagnoses[0]
    assert d.evidence["causes"][0].startswith("the input is batch-first")
    assert "batch_first=True" in d.fix and "x.size(1)" not in d.fix


def _apply_fix(fix: str, scope: dict) -> dict:
    exec(compile(fix, "<fix>", "exec"), {"torch": torch, "nn": nn}, scope)
    return scope


@pytest.mark.parametrize("shown", [True, False])
def test_batch_first_gru_last_batch_fix_keeps_batch(shown: bool) -> None:
    """#9: a batch_first GRU's state built for 32 meets a last batch of 4; the fix never sizes
    the state from x.size(1), the sequence length of a batch-first input."""
    rnn = nn.GRU(8, 16, batch_first=True)
    x = torch.zeros(4, 50, 8)
    message = _message(lambda: rnn(x, torch.zeros(1, 32, 16)))
    paste = ("rnn = nn.GRU(8, 16, batch_first=True)\n" if shown else "") + message
    d = explain_text(paste).diagnoses[0]
    assert d.code == "hidden-batch-mismatch"
    assert "batch = x.size(1)" not in d.fix
    scope = _apply_fix(d.fix, {"x": x, "rnn": rnn})
    out, h = rnn(x, scope["h_0"])
    assert scope["h_0"].shape[1] == x.size(0) == h.shape[1]   # batch kept as batch
    assert out.shape[:2] == (4, 50)                            # time kept as time


# --------------------------------------------------------------------------- the numbers hold (#10)


@pytest.mark.parametrize("template,numbers", [
    ("RuntimeError: Expected hidden[0] size ({a}, {b}, {c}), got [{d}, {b}, {c}]", "acd"),
    ("RuntimeError: Expected hidden size ({a}, {b}, {c}), got [{a}, {d}, {c}]", "bcd"),
    ("RuntimeError: input.size(-1) must be equal to input_size. Expected {a}, got {b}", "ab"),
    ("RuntimeError: Input batch size {a} doesn't match hidden0 batch size {b}", "ab"),
    ("RuntimeError: hidden0 has inconsistent hidden_size: got {a}, expected {b}", "ab"),
    ("RuntimeError: Expected `len(lengths)` to be equal to batch_size, but got {a} (batch_size={b})", "ab"),
    ("ValueError: Expected total_length to be at least the length of the longest sequence in input, but "
     "got total_length={a} and max sequence length being {b}", "ab"),
    ("RuntimeError: Error(s) in loading state_dict for Net:\n\tsize mismatch for rnn.weight_hh_l0: copying "
     "a param with shape torch.Size([{a4}, {a}]) from checkpoint, the shape in current model is "
     "torch.Size([{b4}, {b}]).", "ab"),
    ("RuntimeError: Input batch size {a} doesn't match hidden[0] batch size {b}", "ab"),
    ("lstm = nn.LSTM(4, 6)\nRuntimeError: one of the variables needed for gradient computation has been "
     "modified by an inplace operation: [torch.FloatTensor [{a}, {b}]] is at version {c}; expected version {d} "
     "instead.", "abcd"),
])
def test_explanations_carry_the_pasted_numbers(template: str, numbers: str) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    sizes = st.integers(min_value=1, max_value=4096)

    @settings(max_examples=25, deadline=None)
    @given(a=sizes, b=sizes, c=sizes, d=sizes)
    def check(a: int, b: int, c: int, d: int) -> None:
        values = {"a": a, "b": b, "c": c, "d": d, "a4": 4 * a, "b4": 4 * b}
        if len({values[k] for k in numbers}) < len(numbers):
            return   # equal numbers: nothing mismatches, or the message is ambiguous
        result = explain_text(template.format(**values))
        assert result.ok
        diagnosis = result.diagnoses[0]
        prose = f"{diagnosis.title}\n{diagnosis.explanation}\n{diagnosis.fix}"
        for key in numbers:
            assert str(values[key]) in prose, (key, prose)

    check()


# --------------------------------------------------------------------------- rendering, --list, #16


def _fix_blocks(output: str) -> list[str]:
    blocks, current = [], None
    for line in output.splitlines():
        if line.strip() == "Fix:":
            current = []
            blocks.append(current)
        elif current is not None and line.startswith("    "):
            current.append(line[4:])
        else:
            current = None
    return ["\n".join(b) for b in blocks]


def test_fix_code_survives_80_columns_and_a_pipe() -> None:
    import ast
    import os

    texts = [
        _tb(lambda: nn.GRU(8, 16, batch_first=True)(torch.zeros(4, 50, 8), torch.zeros(1, 32, 16))),
        _tb(lambda: nn.LSTM(8, 16, bidirectional=True)(torch.zeros(5, 3, 8),
                                                       (torch.zeros(1, 3, 16),) * 2)),
        _tb(lambda: nn.LSTM(12, 16).load_state_dict(nn.LSTM(8, 16).state_dict())),
    ]
    env = {**os.environ, "COLUMNS": "80"}
    for text in texts:
        out = subprocess.run([sys.executable, "-m", "rnnshape", "explain"], input=text, env=env,
                             capture_output=True, text=True, cwd=Path(__file__).parents[1])
        assert out.returncode == 0, out.stderr
        blocks = _fix_blocks(out.stdout)
        assert blocks, out.stdout
        for block in blocks:
            ast.parse(block)


def test_list_shows_every_wording_with_its_releases() -> None:
    from rnnshape.explain.wordings import WORDINGS

    r = runner.invoke(app, ["explain", "--list", "--json"])
    assert r.exit_code == 0
    payload = json.loads(r.output)
    assert [w["id"] for w in payload["wordings"]] == [w.id for w in WORDINGS]
    assert payload["releases_read"][0].startswith("1.") and payload["releases_read"][-1] == "2.13.0"
    r = runner.invoke(app, ["explain", "--list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0
    assert "hidden0-size-list" in r.output and "2.13.0" in r.output


def test_json_path_imports_no_rich_and_compiles_no_pattern_at_import() -> None:
    code = (
        "import sys\n"
        "import rnnshape.explain.explainer as ex, rnnshape.explain.catalog as cat\n"
        "from rnnshape.lazyre import LazyPattern\n"
        "pats = [v for m in (ex, cat) for v in vars(m).values() if isinstance(v, LazyPattern)]\n"
        "pats += [e.pattern for e in cat.ENTRIES]\n"
        "assert pats and not any(p.is_compiled for p in pats), 'compiled at import'\n"
        "from rnnshape.cli import main\n"
        "sys.argv = ['rnnshape', 'explain', '--json', 'Expected hidden size (1, 3, 16), got [1, 4, 16]']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'torch', 'numpy'))\n"
        "sys.stderr.write('MODULES:' + ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("MODULES:"), out.stderr[-500:]


def test_code_pasted_below_the_error_is_not_part_of_torch_message() -> None:
    """Users paste the traceback, then their code: the message ends where the code starts, while a
    message that really continues (load_state_dict's size mismatches, tab-indented) keeps its lines."""
    lstm, err = torch.nn.LSTM(4, 6), None
    try:
        lstm(torch.randn(5, 3, 4), (torch.zeros(1, 2, 6), torch.zeros(1, 3, 6)))
    except RuntimeError as exc:
        err = exc
    assert err is not None
    code = "lstm = nn.LSTM(4, 6)\nfor x, y in loader:\n    out, hidden = lstm(x, hidden)\nimport torch\n"
    found = explain_text(f"RuntimeError: {err}\n{code}").findings
    assert [f.message for f in found] == [str(err)]

    model = torch.nn.Sequential(torch.nn.LSTM(4, 6))
    try:
        model.load_state_dict(torch.nn.Sequential(torch.nn.LSTM(4, 8)).state_dict())
    except RuntimeError as exc:
        err = exc
    found = explain_text(f"RuntimeError: {err}\nmodel = Model()\n").findings
    said = "\n".join(f.message for f in found)
    mismatches = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
    assert found and len(mismatches) == 4 and all(m in said for m in mismatches), said
    assert "Model()" not in said
