"""``rnnshape check``: every kind of case, failures, bad files, JSON and JUnit XML.

Expected shapes come from real torch run in the test (``_torch``), never from rnnshape.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cli, torch_shapes
from torch import nn
from typer.testing import CliRunner

from rnnshape.check import CheckFileError, junit_xml, load_cases, run_check
from rnnshape.cli import app

runner = CliRunner()


def _torch(layer: nn.Module, x_shape, h=None, c=None, lengths=None, enforce_sorted=True) -> dict:
    """The shapes real torch produces (the oracle), as TOML-ready lists."""
    shapes = torch_shapes(layer, x_shape, h=h, c=c, lengths=lengths, enforce_sorted=enforce_sorted)
    return {k: list(v) for k, v in shapes.items()}


def _write(tmp_path: Path, text: str, name: str = "cases.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _toml_table(shapes: dict) -> str:
    return "{ " + ", ".join(f"{k} = {v}" for k, v in shapes.items()) + " }"


# --------------------------------------------------------------------------- the README's form


def test_the_issue_form_passes_with_torchs_shapes(tmp_path: Path) -> None:
    tagger = _torch(nn.GRU(100, 64, num_layers=2, bidirectional=True, batch_first=True), (32, 50, 100))
    encoder = _torch(nn.LSTM(10, 20), (5, 3, 10), h=(1, 3, 20), c=(1, 3, 20))
    path = _write(tmp_path, f"""
        [[case]]
        name = "tagger"
        layer = "nn.GRU(100, 64, num_layers=2, bidirectional=True, batch_first=True)"
        input = [32, 50, 100]
        expect = {{ output = {tagger['output']}, h_n = {tagger['h_n']} }}

        [[case]]
        name = "encoder"
        mode = "lstm"
        input_size = 10
        hidden_size = 20
        input = [5, 3, 10]
        hidden = [1, 3, 20]
        cell = [1, 3, 20]
        expect = {{ output = {encoder['output']} }}
    """)
    assert tagger == {"output": [32, 50, 128], "h_n": [4, 32, 64]}  # the issue's numbers hold
    result = run_check(str(path))
    assert result.ok, [r.message for r in result.results]
    assert [r.status for r in result.results] == ["passed", "passed"]
    assert result.device == "fast"  # small layers: torch's checks on a one-step cpu window
    assert all(r.report.engine == "torch (cpu, 1-step window), the fast engine" for r in result.results)
    out = runner.invoke(app, ["check", str(path)])
    assert out.exit_code == 0, out.output
    assert "tagger" in out.output and "encoder" in out.output and "2 passed" in out.output


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("ctor, x, kw", [
    ("nn.LSTM(8, 16, num_layers=3, proj_size=4)", (6, 2, 8), {}),
    ("nn.RNN(5, 7, nonlinearity='relu', batch_first=True)", (3, 9, 5), {}),
    ("nn.GRU(4, 6, bidirectional=True)", (9, 4), {}),  # unbatched
    ("nn.LSTM(4, 6, num_layers=2, bidirectional=True)", (5, 2, 4), {"h": (4, 2, 6), "c": (4, 2, 6)}),
    ("nn.GRU(4, 6, num_layers=2, batch_first=True)", (3, 7, 4), {"h": (2, 3, 6)}),
])
def test_constructor_cases_match_torch(tmp_path: Path, ctor, x, kw, dry_run) -> None:
    layer = eval(ctor, {"nn": nn})
    want = _torch(layer, x, kw.get("h"), kw.get("c"))
    states = "".join(f"{n} = {list(kw[k])}\n" for n, k in (("hidden", "h"), ("cell", "c")) if k in kw)
    path = _write(tmp_path, f'[[case]]\nname = "c"\nlayer = "{ctor}"\ninput = {list(x)}\n{states}'
                            f"expect = {_toml_table(want)}\n")
    result = run_check(str(path), dry_run=dry_run)
    assert result.results[0].status == "passed", result.results[0].message


def test_mode_case_with_every_setting(tmp_path: Path) -> None:
    want = _torch(nn.LSTM(6, 10, num_layers=2, bias=False, batch_first=True, dropout=0.5,
                          bidirectional=True, proj_size=3), (4, 5, 6))
    path = _write(tmp_path, f"""
        [[case]]
        name = "all"
        mode = "lstm"
        input_size = 6
        hidden_size = 10
        num_layers = 2
        bias = false
        batch_first = true
        dropout = 0.5
        bidirectional = true
        proj_size = 3
        input = [4, 5, 6]
        expect = {_toml_table(want)}
    """)
    result = run_check(str(path))
    assert result.results[0].status == "passed", result.results[0].message


def test_cell_cases(tmp_path: Path) -> None:
    h1, c1 = nn.LSTMCell(3, 5)(torch.randn(4, 3))
    g1 = nn.GRUCell(3, 5)(torch.randn(3))
    path = _write(tmp_path, f"""
        [[case]]
        name = "lstm-cell"
        mode = "lstm-cell"
        input_size = 3
        hidden_size = 5
        input = [4, 3]
        expect = {{ h_1 = {list(h1.shape)}, c_1 = {list(c1.shape)} }}

        [[case]]
        name = "gru-cell-unbatched"
        layer = "nn.GRUCell(3, 5)"
        input = [3]
        expect = {{ h_1 = {list(g1.shape)} }}
    """)
    assert run_check(str(path)).ok


def test_dummy_input_keys_like_inspect(tmp_path: Path) -> None:
    want = _torch(nn.GRU(4, 6, batch_first=True), (7, 11, 4))
    path = _write(tmp_path, f"""
        [[case]]
        name = "dummy"
        layer = "nn.GRU(4, 6, batch_first=True)"
        batch = 7
        seq_len = 11
        expect = {_toml_table(want)}
    """)
    assert run_check(str(path)).ok


@pytest.mark.parametrize("enforce_sorted, lengths", [(True, [7, 5, 3, 2]), (False, [5, 7, 2, 3])])
def test_packed_cases(tmp_path: Path, enforce_sorted: bool, lengths: list[int]) -> None:
    layer = nn.LSTM(16, 24, num_layers=2, batch_first=True, bidirectional=True)
    want = _torch(layer, (4, 7, 16), lengths=lengths, enforce_sorted=enforce_sorted)
    path = _write(tmp_path, f"""
        [[case]]
        name = "packed"
        layer = "nn.LSTM(16, 24, num_layers=2, batch_first=True, bidirectional=True)"
        input = [4, 7, 16]
        lengths = {lengths}
        enforce_sorted = {str(enforce_sorted).lower()}
        expect = {_toml_table(want)}
    """)
    for device in ("meta", "cpu"):
        result = run_check(str(path), device=device)
        assert result.results[0].status == "passed", (device, result.results[0].message)


def test_tensor_files_relative_to_the_toml(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    x = torch.randn(3, 6, 16)
    torch.save({"x": x, "h": torch.zeros(1, 3, 8)}, data / "batch.pt")
    np.save(data / "x.npy", x.numpy())
    np.savez(data / "b.npz", x=x.numpy(), lengths=np.array([6, 4, 1]))
    plain = _torch(nn.GRU(16, 8, batch_first=True), (3, 6, 16))
    packed = _torch(nn.GRU(16, 8, batch_first=True), (3, 6, 16), lengths=[6, 4, 1])
    path = _write(tmp_path, f"""
        [[case]]
        name = "pt"
        layer = "nn.GRU(16, 8, batch_first=True)"
        input = "data/batch.pt:x"
        hidden = "data/batch.pt:h"
        expect = {_toml_table(plain)}

        [[case]]
        name = "npy"
        layer = "nn.GRU(16, 8, batch_first=True)"
        input = "data/x.npy"
        expect = {_toml_table(plain)}

        [[case]]
        name = "npz-packed"
        layer = "nn.GRU(16, 8, batch_first=True)"
        input = "data/b.npz:x"
        lengths = "data/b.npz:lengths"
        expect = {_toml_table(packed)}
    """)
    result = run_check(str(path), device="cpu")
    assert [r.status for r in result.results] == ["passed"] * 3, [r.message for r in result.results]
    assert result.results[0].report.sources["input"].endswith("batch.pt:x")
    # --dry-run cannot read tensor files without torch: skipped, said so, not failed
    dry = run_check(str(path), dry_run=True)
    assert [r.status for r in dry.results] == ["skipped"] * 3
    assert dry.ok and "needs torch" in dry.results[0].message


def test_a_missing_tensor_file_is_that_case_s_error(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        [[case]]
        name = "gone"
        layer = "nn.GRU(4, 6)"
        input = "nope.pt"

        [[case]]
        name = "fine"
        layer = "nn.GRU(4, 6)"
        input = [2, 3, 4]
    """)
    result = run_check(str(path))
    assert [r.status for r in result.results] == ["error", "passed"]
    assert "nope.pt" in result.results[0].message
    assert not result.ok
    assert runner.invoke(app, ["check", str(path)]).exit_code == 1


def test_per_case_device_and_dtype(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        [[case]]
        name = "cpu64"
        layer = "nn.RNN(4, 6)"
        input = [2, 3, 4]
        device = "cpu"
        dtype = "float64"
    """)
    r = run_check(str(path)).results[0]
    assert r.status == "passed" and r.report.device == "cpu"
    assert r.report.tensors["output"].dtype == "float64"


# --------------------------------------------------------------------------- failures


def test_failures_exit_1_with_the_diagnosis(tmp_path: Path) -> None:
    want = _torch(nn.GRU(10, 20), (5, 3, 10))
    path = _write(tmp_path, f"""
        [[case]]
        name = "wrong-expectation"
        layer = "nn.GRU(10, 20, bidirectional=True)"
        input = [5, 3, 10]
        expect = {_toml_table(want)}

        [[case]]
        name = "wrong-input"
        layer = "nn.GRU(10, 20)"
        input = [5, 3, 12]

        [[case]]
        name = "good"
        layer = "nn.GRU(10, 20)"
        input = [5, 3, 10]
        expect = {_toml_table(want)}
    """)
    result = run_check(str(path))
    assert [r.status for r in result.results] == ["failed", "failed", "passed"]
    assert {d.code for d in result.results[0].failures} == {"expect-failed"}
    assert result.results[1].failures[0].code == "input-size-mismatch"
    assert "cases.toml" in result.results[1].failures[0].evidence["origin"]
    out = runner.invoke(app, ["check", str(path)])
    assert out.exit_code == 1
    assert "1 passed, 2 failed" in out.output and "input-size-mismatch" in out.output


def test_expect_error_passes_when_diagnosed_and_fails_otherwise(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="input.size"):  # torch agrees it is an error
        nn.LSTM(10, 20)(torch.randn(5, 3, 12))
    path = _write(tmp_path, """
        [[case]]
        name = "caught"
        layer = "nn.LSTM(10, 20)"
        input = [5, 3, 12]
        expect_error = "input-size-mismatch"

        [[case]]
        name = "works-but-error-expected"
        layer = "nn.LSTM(10, 20)"
        input = [5, 3, 10]
        expect_error = "input-size-mismatch"

        [[case]]
        name = "other-error"
        layer = "nn.LSTM(10, 20)"
        input = [5, 3, 10]
        hidden = [2, 3, 20]
        cell = [1, 3, 20]
        expect_error = "input-size-mismatch"

        [[case]]
        name = "warning-code"
        layer = "nn.LSTM(10, 20, dropout=0.3)"
        input = [5, 3, 10]
        expect_error = "dropout-single-layer"
    """)
    for dry in (False, True):
        result = run_check(str(path), dry_run=dry)
        assert [r.status for r in result.results] == ["passed", "failed", "failed", "passed"]
        assert "the call works" in result.results[1].message
        assert "hidden-layers-mismatch" in result.results[2].message


# --------------------------------------------------------------------------- bad files


def _bad(tmp_path: Path, text: str) -> CheckFileError:
    path = _write(tmp_path, text)
    with pytest.raises(CheckFileError) as info:
        load_cases(str(path))
    out = runner.invoke(app, ["check", str(path)])
    assert out.exit_code == 2, out.output
    assert str(path) in out.output
    return info.value


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = _bad(tmp_path, '[[case]]\nname = "a"\nlayer = "nn.GRU(4, 6)"\ninput = [2, 3,\n')
    assert err.line == 4 and "TOML syntax error" in str(err)
    err = _bad(tmp_path, '[[case]]\nname = "a" b\nlayer = "nn.GRU(4, 6)"\n')
    assert err.line == 2 and "cases.toml:2" in str(err)


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    err = _bad(tmp_path, """
        [[case]]
        name = "a"
        layer = "nn.GRU(4, 6)"
        input = [2, 3, 4]

        [[case]]
        name = "b"
        layer = "nn.GRU(4, 6)"
        inputs = [2, 3, 4]
    """)
    assert err.key == "inputs" and err.line == 10
    assert "cases.toml:10" in str(err) and "did you mean 'input'" in str(err)


def test_unknown_tensor_in_expect_points_at_it(tmp_path: Path) -> None:
    err = _bad(tmp_path, """
        [[case]]
        name = "a"
        layer = "nn.GRU(4, 6)"
        input = [2, 3, 4]
        [case.expect]
        output = [2, 3, 6]
        c_n = [1, 3, 6]
    """)
    assert err.key == "c_n" and err.line == 8 and "GRU has input, h_0, output, h_n" in str(err)


@pytest.mark.parametrize("body, key, words", [
    ('name = "a"\ninput = [1, 2, 3]', None, "missing field"),
    ('name = "a"\nmode = "lstm"\ninput_size = 3\ninput = [1, 2, 3]', "mode", "hidden_size"),
    ('name = "a"\nlayer = "nn.GRU(4, 6)"\ninput = [2, -3, 4]', "input", "shape"),
    ('name = "a"\nlayer = "nn.GRU(4, 6)"\ninput = [2, 3, 4]\nexpect = { output = "2,3,6" }', "output", "shape"),
    ('name = "a"\nlayer = "nn.Linear(4, 6)"\ninput = [2, 3, 4]', "layer", "not a recurrent layer"),
    ('name = "a"\nlayer = "nn.GRU(4, 6)"\nbidirectional = true', "bidirectional", "layer already sets"),
    ('name = "a"\nmode = "gru"\ninput_size = 4\nhidden_size = "6"', "hidden_size", "whole number"),
    ('name = "a"\nmode = "gru"\ninput_size = 4\nhidden_size = 6\nbatch_first = 1', "batch_first", "true or false"),
    ('name = "a"\nlayer = "nn.GRU(4, 6)"\nexpect_error = "nope"', "expect_error", "not a diagnosis code"),
    ('name = "a"\nlayer = "nn.GRU(4, 6)"\nexpect_error = "input-rank"\nexpect = { output = [1] }',
     "expect_error", "not both"),
    ('name = "a"\nlayer = "nn.LSTM(4, 6)"\ncell = [1, 1, 6]', "cell", "needs hidden"),
    ('name = "a"\nlayer = "nn.GRU(4, 6)"\ndtype = "int64"', "dtype", "not a layer dtype"),
])
def test_each_bad_case_is_a_clear_error(tmp_path: Path, body: str, key, words: str) -> None:
    err = _bad(tmp_path, "# header\n\n[[case]]\n" + body + "\n")
    assert words in str(err)
    assert err.key == key
    assert err.line is not None and err.line >= 3  # inside the case's block


def test_duplicate_names_and_stray_top_level_keys(tmp_path: Path) -> None:
    err = _bad(tmp_path, '[[case]]\nname = "a"\nlayer = "nn.GRU(4, 6)"\n\n'
                         '[[case]]\nname = "a"\nlayer = "nn.GRU(4, 6)"\n')
    assert err.line == 6 and "two cases are named 'a'" in str(err)
    err = _bad(tmp_path, 'device = "cpu"\n[[case]]\nlayer = "nn.GRU(4, 6)"\n')
    assert err.key == "device" and err.line == 1
    err = _bad(tmp_path, "# nothing here\n")
    assert "no cases" in str(err)


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    out = runner.invoke(app, ["check", str(tmp_path / "none.toml")])
    assert out.exit_code == 2 and "no such file" in out.output


# --------------------------------------------------------------------------- pyproject.toml


def test_pyproject_tool_rnnshape_tables(tmp_path: Path, monkeypatch) -> None:
    want = _torch(nn.GRU(4, 6), (2, 3, 4))
    _write(tmp_path, f"""
        [project]
        name = "demo"

        [tool.ruff]
        line-length = 100

        [[tool.rnnshape.case]]
        name = "gru"
        layer = "nn.GRU(4, 6)"
        input = [2, 3, 4]
        expect = {_toml_table(want)}

        [[tool.rnnshape.case]]
        name = "bad-key"
        layer = "nn.GRU(4, 6)"
        typo = 1
    """, "pyproject.toml")
    with pytest.raises(CheckFileError) as info:
        load_cases(str(tmp_path / "pyproject.toml"))
    assert info.value.line == 17 and info.value.key == "typo"
    text = (tmp_path / "pyproject.toml").read_text().replace("typo = 1\n", "")
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["check"])  # no FILE: ./pyproject.toml
    assert out.exit_code == 0, out.output
    assert "2 passed" in out.output


def test_pyproject_without_the_table(tmp_path: Path) -> None:
    err = _bad(tmp_path, '[project]\nname = "x"\n').detail
    assert "unknown top-level key 'project'" in err
    path = _write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    with pytest.raises(CheckFileError, match=r"no \[tool.rnnshape\] table"):
        load_cases(str(path))


# --------------------------------------------------------------------------- output formats


def _mixed(tmp_path: Path) -> Path:
    (tmp_path / "x.pt").write_bytes(b"")
    return _write(tmp_path, """
        [[case]]
        name = "ok"
        layer = "nn.GRU(4, 6)"
        input = [2, 3, 4]
        expect = { output = [2, 3, 6] }

        [[case]]
        name = "bad <&> \\"quoted\\""
        layer = "nn.GRU(4, 6)"
        input = [2, 3, 5]

        [[case]]
        name = "broken-file"
        layer = "nn.GRU(4, 6)"
        input = "x.pt"
    """)


def test_json_output(tmp_path: Path) -> None:
    out = runner.invoke(app, ["check", str(_mixed(tmp_path)), "--json"])
    assert out.exit_code == 1
    data = json.loads(out.output)
    assert data["ok"] is False and data["device"] == "fast"
    assert data["summary"] == {**data["summary"], "cases": 3, "passed": 1, "failed": 1, "errors": 1}
    bad = data["cases"][1]
    assert bad["status"] == "failed" and bad["failures"][0]["code"] == "input-size-mismatch"
    assert data["cases"][0]["report"]["tensors"]["output"]["shape"] == [2, 3, 6]


def test_junit_xml_parses_and_counts(tmp_path: Path) -> None:
    report = tmp_path / "out" / "junit.xml"
    out = runner.invoke(app, ["check", str(_mixed(tmp_path)), "--junit-xml", str(report)])
    assert out.exit_code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("3", "1", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["ok", 'bad <&> "quoted"', "broken-file"]
    assert all(float(c.get("time")) >= 0 and c.get("classname") == "rnnshape.cases" for c in cases)
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("type") == "input-size-mismatch"
    assert "input.size(-1) must be equal to input_size" in failure.text
    assert cases[1].get("line") == "8"
    assert cases[2].find("error") is not None


def test_junit_marks_skipped_cases(tmp_path: Path) -> None:
    result = run_check(str(_mixed(tmp_path)), dry_run=True)
    root = ET.fromstring(junit_xml(result))
    suite = root.find("testsuite")
    assert suite.get("skipped") == "1"
    assert suite.findall("testcase")[2].find("skipped") is not None


def test_dry_run_never_imports_torch(tmp_path: Path) -> None:
    path = _mixed(tmp_path)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rnnshape.cli import app\n"
        f"r = CliRunner().invoke(app, ['check', {str(path)!r}, '--dry-run', '--json'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(r.exit_code)\n"
        "print(r.output)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, rest = out.stdout.split("\n", 1)
    assert first == "1"
    data = json.loads(rest)
    assert [c["status"] for c in data["cases"]] == ["passed", "failed", "skipped"]


def test_an_unavailable_device_is_exit_2(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = runner.invoke(app, ["check", str(_mixed(tmp_path)), "--device", "cuda"])
    assert out.exit_code == 2 and "not available" in out.output


def test_case_names_layers_and_inputs_are_printed_as_written_never_as_markup(tmp_path: Path) -> None:
    """A case named with brackets or colons keeps them: Rich reads a plain str as markup and emoji codes."""
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nname = "enc [red]dec[/red] :x:"\nlayer = "nn.LSTM(4, 8)"\ninput = [3, 2, 4]\n')
    out = cli(str(path), "--dry-run", command="check").output
    assert "[red]dec[/red]" in out and ":x:" in out and "❌" not in out
