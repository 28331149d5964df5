"""``rnnshape diagnose``: the snippet corpus checked against real torch, the tutorial's answers,
paste cleaning, symbolic sizes, bad input, the CLI and ``--run``.

The oracle: every snippet of ``tests/data/snippets`` is run for real (one subprocess for the
whole corpus, so a crash cannot take pytest down), and the code must fail exactly where, and as,
``diagnose`` says, or run cleanly where it reports no error.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rnnshape import diagnoses as dx
from rnnshape.cli import app
from rnnshape.diagnose import linekinds, snippets
from rnnshape.diagnose.snippets import MAX_BYTES, clean, diagnose_paste, parse_hints, parse_partial
from rnnshape.model.symbolic import Placeholders, Sym, compare

CORPUS = Path(__file__).parent / "data" / "snippets"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
runner = CliRunner()

#: Every code ``diagnose`` can emit from the code alone; the corpus must hold each one.
STATIC_CODES = {
    "input-rank", "input-size-mismatch", "hidden-rank", "hidden-layers-mismatch", "hidden-batch-mismatch",
    "hidden-size-mismatch", "hidden-batch-first", "proj-hidden-size", "cell-shape-mismatch",
    "hidden-not-tuple", "empty-sequence", "dtype-mismatch", "integer-input", "device-mismatch",
    "invalid-config", "dropout-single-layer", "batch-first-suspect", "packing-unsorted",
    "packing-bad-length", "packing-lengths-batch", "packing-total-length", "packing-lengths-too-long",
    "packed-as-tensor", "output-tuple", "unpack-outputs", "gru-given-tuple", "linear-mismatch",
    "shape-op", "state-tuple-as-tensor", "embedding-float-input", "embedding-index-range",
    "classifier-whole-sequence", "output-last-step-batch-first",
}

#: For an error with no exact torch message predicted: the exception types torch raises for it.
EXCEPTIONS = {
    "output-tuple": ("TypeError", "AttributeError"), "state-tuple-as-tensor": ("TypeError", "AttributeError"),
    "packed-as-tensor": ("TypeError", "AttributeError"), "shape-op": ("RuntimeError", "IndexError", "ValueError"),
    "packing-lengths-batch": ("RuntimeError", "ValueError"), "backward-twice": ("RuntimeError",),
}

def _diagnose(item: dict):
    return diagnose_paste((CORPUS / item["file"]).read_text(), parse_hints(item.get("hints", [])),
                          name=item["file"])


@pytest.fixture(scope="module")
def oracle() -> dict:
    """Run every snippet for real, once, in one subprocess."""
    from conftest import run_in_torch

    jobs = {}
    for item in MANIFEST:
        o = item["oracle"]
        if "skip" in o:
            continue
        code = _diagnose(item).code + ("\n" + o["append"] if "append" in o else "")
        jobs[item["file"]] = {"code": code, "globals": o.get("globals", "")}
    return run_in_torch(jobs)


# --------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("item", MANIFEST, ids=[i["file"] for i in MANIFEST])
def test_corpus_diagnosis(item: dict) -> None:
    r = _diagnose(item)
    err = r.error
    if item["error"] is None:
        assert err is None, (err.line, err.diagnosis.title)
    else:
        assert err is not None, "no error found"
        assert (err.diagnosis.code, err.line, err.source) == (
            item["error"]["code"], item["error"]["line"], item["error"]["source"]), err.diagnosis.title
        assert err.diagnosis.fix or err.rewrite or err.source != "static", "an error without a fix"
    warnings = sorted({f"{f.diagnosis.code}@{f.line}" for f in r.findings if f.diagnosis.severity == "warning"})
    assert warnings == item["warnings"]
    if "rewrite" in item:
        assert err is not None and err.rewrite is not None
        assert (err.rewrite.line, err.rewrite.new.strip()) == (item["rewrite"]["line"], item["rewrite"]["new"])
    for line, names in item.get("shapes", {}).items():
        shown = {s.name: s.text for s in r.followed.shapes.get(int(line), [])}
        for name, text in names.items():
            assert shown.get(name) == text, (line, name, shown)


@pytest.mark.parametrize("item", MANIFEST, ids=[i["file"] for i in MANIFEST])
def test_corpus_against_torch(item: dict, oracle: dict) -> None:
    if "skip" in item["oracle"]:
        pytest.skip(item["oracle"]["skip"])
    real = oracle[item["file"]]
    expected = item["error"]
    if expected is None:
        assert real["ok"], f"diagnose found no error, torch raised {real}"
        return
    assert not real["ok"], f"diagnose says {expected}, the code ran cleanly"
    assert real["line"] == expected["line"], (real, expected)
    d = _diagnose(item).error.diagnosis
    said = d.evidence.get("torch_message")
    if said:
        assert real["message"] == said, (real["message"], said)
    else:
        assert real["kind"] in EXCEPTIONS.get(d.code, ("RuntimeError", "ValueError")), real


def test_corpus_covers_every_static_code() -> None:
    seen = {i["error"]["code"] for i in MANIFEST if i["error"]}
    seen |= {w.split("@")[0] for i in MANIFEST for w in i["warnings"]}
    assert STATIC_CODES <= seen, STATIC_CODES - seen
    assert STATIC_CODES <= set(dx.CODES)
    assert len(MANIFEST) >= 40
    pastes = {i["file"] for i in MANIFEST if not i["file"].endswith(".py.txt")}
    assert {"repl_session.txt", "ipython_session.txt", "notebook_cell.txt"} <= pastes


def test_corpus_files_all_in_manifest() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name.endswith(".txt")}
    assert files == {i["file"] for i in MANIFEST}


# --------------------------------------------------------------------------- the tutorial


TUTORIAL = {
    "tutorial_basic.py.txt": "rnn = torch.nn.RNN(10, 20, 1) input_seq = torch.randn(5, 1, 10)",
    "tutorial_program.py.txt": "input_seq = torch.randn(sequence_length, batch_size, input_size)",
    "tutorial_quiz_shape.py.txt": "rnn = torch.nn.RNN(input_size=5, hidden_size=3, num_layers=1)",
    "tutorial_quiz_error.py.txt": "rnn = torch.nn.RNN(input_size=8, hidden_size=4)",
}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the clone")
def test_tutorial_snippets_give_the_answers_it_states() -> None:
    text = " ".join(p.read_text() for p in sorted(SEEDS.glob("000_*.txt")))
    flat = re.sub(r"\s+", " ", text)
    for file, excerpt in TUTORIAL.items():
        assert excerpt in flat, f"{file} is not the tutorial's snippet"
        code = " ".join(ln.split("#")[0].strip() for ln in (CORPUS / file).read_text().splitlines() if ln.strip())
        for stmt in re.findall(r"(\w+ = torch\.[\w.]+\([^)]*\))", code):
            assert stmt in flat, (file, stmt)
    # "Output shape = (seq_len, batch, hidden_size) = (4, 2, 3)"
    assert "(4, 2, 3)" in flat
    r = diagnose_paste((CORPUS / "tutorial_quiz_shape.py.txt").read_text())
    assert {s.name: s.text for s in r.followed.shapes[4]}["output"] == "(4, 2, 3)"
    # "input_seq has wrong input_size dimension"
    assert "input_seq has wrong input_size dimension" in flat
    r = diagnose_paste((CORPUS / "tutorial_quiz_error.py.txt").read_text())
    assert r.error.diagnosis.code == "input-size-mismatch" and r.error.line == 4
    assert "expected 8, got 10" in r.error.diagnosis.title
    # the full program's printed shapes
    r = diagnose_paste((CORPUS / "tutorial_program.py.txt").read_text())
    assert r.ok and {s.name: s.text for s in r.followed.shapes[20]} == {"output": "(4, 1, 5)",
                                                                           "hidden": "(1, 1, 5)"}


# --------------------------------------------------------------------------- pastes


def test_repl_prompts_output_and_traceback_are_sorted() -> None:
    p = clean((CORPUS / "repl_session.txt").read_text())
    assert p.kinds[6] == "output" and p.code_lines[6] == ""
    assert p.code_lines[2].startswith("lstm = nn.LSTM(")
    assert p.traceback.startswith("Traceback") and "Expected hidden[0]" in p.traceback
    assert set(p.lines_of("traceback")) == set(range(10, 21))


def test_traceback_numbers_join_the_evidence() -> None:
    r = diagnose_paste((CORPUS / "repl_session.txt").read_text())
    tb = r.error.diagnosis.evidence["traceback"]
    assert tb["agrees"] is True and tb["code"] == "hidden-layers-mismatch"
    assert "got [1, 3, 20]" in tb["message"]


def test_traceback_that_disagrees_is_said_so() -> None:
    text = (CORPUS / "tutorial_quiz_error.py.txt").read_text() + (
        "RuntimeError: input.size(-1) must be equal to input_size. Expected 8, got 12\n")
    r = diagnose_paste(text)
    assert r.error.diagnosis.evidence["traceback"]["agrees"] is False


def test_traceback_alone_becomes_the_error_at_its_line() -> None:
    r = diagnose_paste((CORPUS / "traceback_backward_twice.txt").read_text())
    assert (r.error.source, r.error.line, r.error.diagnosis.code) == ("traceback", 10, "backward-twice")


def test_notebook_magics_and_ipython_prompts() -> None:
    p = clean("%timeit x\n!ls\nIn [1]: import torch\n\nIn [2]: x = torch.zeros(2)\nOut[2]: tensor([0., 0.])\n")
    assert p.kinds[:2] == ["output", "output"] or p.lines_of("magic") in ([], [1, 2])
    p = clean("%matplotlib inline\n!pip install torch\nimport torch\n")
    assert p.lines_of("magic") == [1, 2] and p.code_lines[2] == "import torch"
    p = clean("In [1]: import torch\n\nIn [2]: x = torch.zeros(2)\nOut[2]: tensor([0., 0.])\n")
    assert p.code_lines[2] == "x = torch.zeros(2)" and p.kinds[3] == "output"


def test_indented_paste_is_dedented() -> None:
    code = "    import torch\n    x = torch.zeros(3, 4)\n    y = x.view(5, -1)\n"
    r = diagnose_paste(code)
    assert r.error.diagnosis.code == "shape-op" and r.error.line == 3


# lines that could be something other than code: every per-line test of clean() needs one of linekinds.MARKERS
_LINE_PIECES = st.sampled_from([
    "x = 1", "    ", "\x0c", "Traceback (most recent call last):", "-" * 22, "RuntimeError: bad", "Error", "Exception",
    "KeyboardInterrupt", "UserWarning:", "%time", "!ls", "a != b", "torch.Size([2, 3])", "tensor([1.])",
    "Output", "Input size", "Hidden", "shape: 3", "out: torch.Size([1])", ">>> ", "... ", "In [3]: ", "Out[3]: "])
_LINES = st.lists(st.lists(_LINE_PIECES | st.text(max_size=6), max_size=3).map("".join), max_size=12)


@given(_LINES)
@settings(max_examples=200, deadline=None)
def test_a_line_without_a_marker_is_code_to_every_test_of_clean(lines: list[str]) -> None:
    # clean() sorts the runs of lines holding no marker in bulk, as code or blank: true only while every test
    # that makes a line something else needs a marker's text
    for line in lines:
        other = (linekinds.TB_START in line or linekinds.is_tb_rule(line) or linekinds.is_error_line(line)
                 or linekinds.is_magic(line) or linekinds.is_printed(line))
        if other:
            assert any(marker in line for marker in linekinds.MARKERS), line
    text = "\n".join(lines)
    assert linekinds.marked_lines(text) == [
        i for i, line in enumerate(text.split("\n")) if any(marker in line for marker in linekinds.MARKERS)]


@given(_LINES)
@settings(max_examples=200, deadline=None)
def test_clean_sorts_lines_in_bulk_as_it_sorts_them_one_by_one(lines: list[str]) -> None:
    # every line marked: the loop tests each line itself, as before the shortcut; the result must not change
    text = "\n".join(lines)
    with mock.patch.object(snippets, "marked_lines", lambda text: list(range(text.count("\n") + 1))):
        one_by_one = clean(text)
    in_bulk = clean(text)
    assert (in_bulk.lines, in_bulk.code_lines, in_bulk.kinds, in_bulk.traceback, in_bulk.notes) == \
        (one_by_one.lines, one_by_one.code_lines, one_by_one.kinds, one_by_one.traceback, one_by_one.notes)


def test_dedent_and_first_line_flush_read_the_whole_paste() -> None:
    # the shortcuts stop at the first line at column 0: a paste whose only such line is its last, or its first
    assert clean("    a = 1\n    b = 2\nc = 3\n").code_lines[:3] == ["    a = 1", "    b = 2", "c = 3"]
    assert clean("        a = 1\n    b = 2\n").code_lines[:2] == ["    a = 1", "b = 2"]
    fenced = clean("import torch\n    x = torch.zeros(2)\n    y = x + 1\n")
    assert fenced.code_lines[:3] == ["import torch", "x = torch.zeros(2)", "y = x + 1"]
    kept = clean("import torch\n    x = torch.zeros(2)\nz = 1\n")
    assert kept.code_lines[:3] == ["import torch", "    x = torch.zeros(2)", "z = 1"]


def test_partial_parse_reports_skipped_lines() -> None:
    lines = ["import torch", "x = torch.zeros(2, 3", "y = torch.ones(4)", "def f(:", "    pass", "z = y"]
    parsed = parse_partial(lines)
    skipped = {ln for a, b, _ in parsed.skipped for ln in range(a, b + 1)}
    assert 2 in skipped and 4 in skipped and 3 not in skipped and 6 not in skipped
    compile("\n".join(parsed.lines), "<x>", "exec")


def test_printed_output_lines_are_set_aside() -> None:
    r = diagnose_paste((CORPUS / "partial_parse.txt").read_text())
    assert r.paste.kinds[7] == "output"
    assert [(a, b) for a, b, _ in r.skipped] == [(9, 9), (10, 10)]


# --------------------------------------------------------------------------- symbolic sizes


def test_compare_decides_or_binds_never_guesses() -> None:
    h, f, b = Sym.var("hidden_size"), Sym.var("F"), Sym.var("B")
    assert compare(2 * h, h).differ
    assert compare(2 * h, 7).differ            # no integer solution
    assert compare(h + 1, h).differ
    assert compare(h * 2, h + h).equal
    v = compare(f, 300)
    assert (v.kind, v.symbol, v.value) == ("bind", "F", Sym.const(300))
    assert compare(h, 0).differ                # a size is >= 1
    assert compare(b * f, h).kind == "bind"
    assert compare(b * f, h * f).kind == "unknown"   # not linear in one symbol: undecided, not guessed
    assert compare(b * f, h * h).kind == "unknown"


def test_placeholders_read_the_model_back() -> None:
    h = Sym.var("hidden_size")
    p = Placeholders([h])
    assert p.back(p.ints(2 * h)) == 2 * h
    text = f"expected {p.ints(h)}, got ({p.ints(2 * h)}, 3)"
    assert p.rewrite(text) == "expected hidden_size, got (2*hidden_size, 3)"


def test_symbolic_bidirectional_linear_is_a_diagnosis_without_numbers() -> None:
    code = textwrap.dedent("""\
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self, input_size, hidden_size, n):
                super().__init__()
                self.rnn = nn.GRU(input_size, hidden_size, bidirectional=True)
                self.fc = nn.Linear(hidden_size, n)
            def forward(self, x):
                out, h = self.rnn(x)
                return self.fc(out)
        """)
    r = diagnose_paste(code, parse_hints(["x=T,B,F"]))
    d = r.error.diagnosis
    assert (d.code, r.error.line) == ("linear-mismatch", 9)
    assert "2*hidden_size" in d.title and "hidden_size" in d.title
    assert r.error.rewrite.new.strip() == "self.fc = nn.Linear(2 * hidden_size, n)"


def test_unknown_is_reported_with_the_hint_never_guessed() -> None:
    code = "import torch.nn as nn\nlstm = nn.LSTM(10, 20)\nx = load_batch()\nout, (h, c) = lstm(x)\n"
    r = diagnose_paste(code)
    assert r.ok
    info = [f for f in r.findings if f.diagnosis.code == "unknown-shape"]
    assert info and info[0].line == 4 and info[0].diagnosis.evidence["hint"] == "--shape x=T,B,10"
    r = diagnose_paste(code, parse_hints(["x=7,3,12"]))
    assert r.error.diagnosis.code == "input-size-mismatch"


def test_hint_symbols_are_assumed_and_said() -> None:
    code = "import torch.nn as nn\nlstm = nn.LSTM(300, 64, batch_first=True)\nout, _ = lstm(x)\n"
    r = diagnose_paste(code, parse_hints(["x=B,T,F"]))
    assert r.ok
    assert any("F = 300" in a for _, a in r.followed.assumptions)
    assert {s.name: s.text for s in r.followed.shapes[3]}["out"] == "(B, T, 64)"


# --------------------------------------------------------------------------- CLI


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    res = runner.invoke(app, ["diagnose", str(CORPUS / "tutorial_quiz_error.py.txt"), "--json"])
    assert res.exit_code == 1, res.output
    payload = json.loads(res.stdout)
    assert payload["ok"] is False and payload["ran"] is False
    assert payload["error"]["code"] == "input-size-mismatch" and payload["error"]["line"] == 4
    assert payload["error"]["rewrite"]["new"].strip() == "rnn = torch.nn.RNN(input_size=10, hidden_size=4)"
    assert {"line": 3, "code": "input_seq = torch.randn(5, 3, 10) # seq_len=5, batch=3, input_size=10"}.items() \
        <= payload["lines"][1].items()
    res = runner.invoke(app, ["diagnose", str(CORPUS / "tutorial_quiz_shape.py.txt")])
    assert res.exit_code == 0 and "(4, 2, 3)" in res.stdout and "not run" in res.stdout
    res = runner.invoke(app, ["diagnose", "-"], input=(CORPUS / "tutorial_quiz_error.py.txt").read_text())
    assert res.exit_code == 1 and "input-size-mismatch" in res.stdout and "line 2, rewritten" in res.stdout


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x00\x01\x02binary\xff" * 50, "binary"),
    (bytes(range(128, 256)) * 40, "not UTF-8"),
    (b"x = 1\n" * (MAX_BYTES // 6 + 10), "MB"),
])
def test_bad_input_is_a_usage_error(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "paste.py.txt"
    path.write_bytes(data)
    res = runner.invoke(app, ["diagnose", str(path)])
    assert res.exit_code == 2, res.output
    assert words in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["diagnose", str(path), "--json"])
    assert res.exit_code == 2 and json.loads(res.stdout)["exit_code"] == 2


@pytest.mark.parametrize("args", [["--shape", "x"], ["--shape", "x=3,-1"], ["--shape", "1x=3"],
                                  ["--shape", "x=3:complex"], ["--timeout", "0"]])
def test_bad_flags_are_usage_errors(args: list[str]) -> None:
    res = runner.invoke(app, ["diagnose", str(CORPUS / "tutorial_basic.py.txt"), *args])
    assert res.exit_code == 2 and "rnnshape: error" in res.output


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for target in (str(tmp_path / "nope.py.txt"), str(tmp_path)):
        res = runner.invoke(app, ["diagnose", target])
        assert res.exit_code == 2 and "Traceback" not in res.output


def _never_crashes(text: str) -> None:
    res = runner.invoke(app, ["diagnose", "-", "--json"], input=text)
    assert res.exit_code in (0, 1, 2), (res.exit_code, res.output[-500:])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)


@pytest.mark.parametrize("text", [
    "x = " + "(" * 300 + "1" + ")" * 300 + "\n",
    "".join("    " * i + "if True:\n" for i in range(120)) + "    " * 120 + "pass\n",
    "y = " + " + ".join(["1"] * 20000) + "\n",
    "import torch\nx = torch.zeros(" + ", ".join(["1"] * 5000) + ")\n",
    "def f(x):\n    return f(x)\nf(1)\n",
    "class A:\n    def __init__(self):\n        self.a = A()\nA()\n",
    "for i in range(10):\n" * 50 + "    " * 50 + "pass\n",
    "\ufeffimport torch\r\nx = torch.zeros(2)\r\n",
])
def test_hostile_code_never_crashes(text: str) -> None:
    _never_crashes(text)


def test_one_megabyte_paste_is_diagnosed(tmp_path: Path) -> None:
    block = (CORPUS / "model_class_ok.py.txt").read_text()
    text = (block + "\n") * (1_000_000 // len(block))
    path = tmp_path / "big.py.txt"
    path.write_text(text)
    res = runner.invoke(app, ["diagnose", str(path), "--json"])
    assert res.exit_code in (0, 1), res.output[-500:]
    assert json.loads(res.stdout)["ok"] is True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(list("xyz()[]{}:=.,+-*/ \n\t>%!#'\"0123456789") + [
    "torch.", "nn.LSTM(", "lstm(", ">>> ", "... ", "def ", "class ", "    ", "self.", "randn(", "view(",
    "Traceback (most recent call last):\n", "RuntimeError: ", "import torch\n", "x = torch.randn(5, 3, 10)\n",
    "lstm = nn.LSTM(10, 20)\n", "out, (h, c) = lstm(x)\n"]), max_size=80).map("".join))
def test_fuzzed_pastes_never_crash(text: str) -> None:
    diagnose_paste(text)


def test_diagnose_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rnnshape.cli import app\n"
        f"r = CliRunner().invoke(app, ['diagnose', {str(CORPUS / 'classifier_loss_per_step.py.txt')!r}])\n"
        "assert r.exit_code == 1, r.output\n"
        f"r = CliRunner().invoke(app, ['diagnose', '--json', {str(CORPUS / 'repl_session.txt')!r}])\n"
        "assert r.exit_code == 1, r.output\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"diagnose imported: {out.stdout}"


# --------------------------------------------------------------------------- --run


def test_run_records_real_shapes_and_agrees() -> None:
    res = runner.invoke(app, ["diagnose", str(CORPUS / "hidden_layers_bidirectional.py.txt"), "--run", "--json"])
    assert res.exit_code == 1, res.output
    payload = json.loads(res.stdout)
    assert payload["ran"] is True and payload["run"]["ran"] is True
    run_ev = payload["error"]["evidence"]["run"]
    assert run_ev["agrees"] is True and run_ev["line"] == 9 and run_ev["kind"] == "RuntimeError"
    assert run_ev["shapes"][0]["layer"] == "LSTM"
    assert run_ev["shapes"][0]["inputs"][0] == [5, 3, 10]
    res = runner.invoke(app, ["diagnose", str(CORPUS / "packing_ok.py.txt"), "--run"])
    assert res.exit_code == 0 and "ran the code" in res.stdout and "shapes recorded by the run" in res.stdout


def test_run_finds_what_static_following_cannot(tmp_path: Path) -> None:
    code = ("import torch, torch.nn as nn\nlstm = nn.LSTM(4, 8)\n"
            "x = torch.randn(3, 2, 4).numpy()\nx = torch.from_numpy(x).double()\nout, _ = lstm(x)\n")
    path = tmp_path / "s.py.txt"
    path.write_text(code)
    res = runner.invoke(app, ["diagnose", str(path), "--json"])
    assert res.exit_code == 0  # static: from_numpy is not followed, so nothing is claimed
    res = runner.invoke(app, ["diagnose", str(path), "--json", "--run"])
    payload = json.loads(res.stdout)
    assert res.exit_code == 1 and payload["error"]["source"] == "run" and payload["error"]["line"] == 5
    assert payload["error"]["code"] == "dtype-mismatch"


def test_run_time_limit(tmp_path: Path) -> None:
    path = tmp_path / "slow.py.txt"
    path.write_text("import time\nwhile True:\n    time.sleep(0.05)\n")
    res = runner.invoke(app, ["diagnose", str(path), "--run", "--timeout", "3", "--json"])
    payload = json.loads(res.stdout)
    assert payload["run"]["timed_out"] is True


# --------------------------------------------------------------------------- every printed fix, run in torch


@pytest.fixture(scope="module")
def fixed_runs() -> dict:
    """Each corpus snippet whose error comes with a rewrite: run as it is and with the rewrite applied."""
    from conftest import apply_rewrite, run_in_torch

    jobs = {}
    for item in MANIFEST:
        r = _diagnose(item)
        o = item["oracle"]
        if r.error is None or r.error.rewrite is None or "skip" in o:
            continue
        tail = "\n" + o["append"] if "append" in o else ""
        g = o.get("globals", "")
        jobs[item["file"]] = {"code": r.code + tail, "globals": g}
        jobs[item["file"] + "#fixed"] = {"code": apply_rewrite(r.code, r.error) + tail, "globals": g}
    return run_in_torch(jobs)


def test_every_corpus_fix_runs_and_keeps_the_axes(fixed_runs: dict) -> None:
    from conftest import axes_kept

    fixed = [k for k in fixed_runs if k.endswith("#fixed")]
    assert len(fixed) >= 10
    for key in fixed:
        before, after = fixed_runs[key.removesuffix("#fixed")], fixed_runs[key]
        assert not before["ok"], key
        assert after["ok"], (key, after)
        assert axes_kept(before["records"], after["records"]), (key, before["records"], after["records"])


def test_diagnose_in_process_gives_the_collector_back_unfrozen() -> None:
    """Only ``cli.main`` (the process ends with the command) freezes what diagnose built instead of collecting
    it; called in-process, the collector is back on and nothing is frozen, so cycles left behind are still freed
    (freezing there grew a test process by ~30 MB per 10,000-line run)."""
    import gc

    frozen = gc.get_freeze_count()
    result = runner.invoke(app, ["diagnose", "--json", str(CORPUS / "classifier_loss_per_step.py.txt")])
    assert result.exit_code in (0, 1), result.output
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def _frozen_after_main(args: list[str]) -> tuple[int, bool]:
    """``gc.get_freeze_count()`` and ``gc.isenabled()`` after ``cli.main(args)`` in a fresh process."""
    probe = ("import gc, sys\n"
             "from rnnshape import cli\n"
             "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write(f'FROZEN {gc.get_freeze_count()} {gc.isenabled()}')\n")
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    count, enabled = done.stderr.rsplit("FROZEN ", 1)[1].split()
    return int(count), enabled == "True"


def test_diagnose_as_the_process_freezes_what_it_built(tmp_path: Path) -> None:
    """From ``cli.main`` diagnose's objects are frozen on the way out (no full collection of them, at the end
    or at exit): what is frozen grows with the paste, and the collector is back on."""
    block = (CORPUS / "model_class_ok.py.txt").read_text() + "\n"
    small, big = tmp_path / "small.py", tmp_path / "big.py"
    small.write_text(block)
    big.write_text(block * 20)
    count_small, _ = _frozen_after_main(["diagnose", "--json", str(small)])
    count_big, enabled = _frozen_after_main(["diagnose", "--json", str(big)])
    assert enabled
    assert count_big > count_small + 1000
