"""The examples run as CI would run them: each model script, `rnnshape check` on each check
file, `rnnshape trace` on the broken model; the CI documents name the real command lines.

Running the model scripts and tracing them takes minutes (a fresh torch per subprocess):
those are marked ``long``, which CI runs as its second step (``pytest -m long``)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, run_module, run_python

CHECK_FILES = sorted(EXAMPLES.glob("*/check.toml"))


@pytest.mark.long
@pytest.mark.parametrize("script", ["sentiment", "tagger", "seq2seq"])
def test_model_scripts_run(script: str) -> None:
    out = run_python(f"examples/{script}/model.py")
    assert out.returncode == 0, out.stderr


@pytest.mark.long
def test_the_broken_script_fails_like_training_would() -> None:
    out = run_python("examples/broken/model.py")
    assert out.returncode == 1 and "mat1 and mat2 shapes cannot be multiplied" in out.stderr


def test_there_is_a_check_file_per_model() -> None:
    assert [p.parent.name for p in CHECK_FILES] == ["sentiment", "seq2seq", "tagger"]


@pytest.mark.parametrize("path", [p if p.parent.name == "sentiment" else pytest.param(p, marks=pytest.mark.long)
                                  for p in CHECK_FILES], ids=lambda p: p.parent.name)
def test_check_files_pass(path: Path, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    out = run_module("check", str(path.relative_to(ROOT)), "--junit-xml", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "failed" not in out.stdout.split("\n")[-2]
    import xml.etree.ElementTree as ET

    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("failures") == "0" and suite.get("errors") == "0"


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda p: p.parent.name)
def test_check_files_pass_dry(path: Path) -> None:
    out = run_module("check", str(path), "--dry-run", "--json")
    assert out.returncode == 0, out.stdout
    data = json.loads(out.stdout)
    assert data["summary"]["failed"] == 0
    # the saved-batch case needs torch to read its file: skipped, never failed
    assert all(c["status"] == "passed" or "tensor file" in c["message"] for c in data["cases"])


@pytest.mark.long
def test_trace_of_the_broken_model_shows_the_diagnosis() -> None:
    out = run_module("trace", "examples/broken/model.py:BrokenClassifier", "--input-shape", "8,20",
                    "--input-dtype", "long")
    assert out.returncode == 1, out.stdout + out.stderr
    text = out.stdout
    assert "classifier  Linear(in_features=32, out_features=2, bias=True)  ✗ failed here" in text
    assert "error linear-mismatch" in text
    assert "nn.Linear(64, 2)" in text
    assert "(8, 20, 64) = (batch 8, seq_len 20, 2 directions x hidden_size 32)" in text


@pytest.mark.long
@pytest.mark.parametrize("name, target, args", [
    ("sentiment", "examples/sentiment/model.py:SentimentClassifier", ["--input-shape", "8,20"]),
    ("tagger", "examples/tagger/model.py:build_tagger", ["--input-shape", "4,12", "--init-args", '{"tags": 9}']),
    ("seq2seq", "examples/seq2seq/model.py:Encoder", ["--input-shape", "4,7", "--input-value", "[5, 7, 2, 3]"]),
])
def test_trace_of_each_working_model(name: str, target: str, args: list[str]) -> None:
    out = run_module("trace", target, *args, "--input-dtype", "long", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["ok"] is True


def _commands(text: str) -> list[list[str]]:
    """Every `rnnshape check ...` command line in a CI document."""
    found = []
    for m in re.finditer(r"rnnshape check[^\n\"']*", text):
        found.append(shlex.split(m.group(0)))
    return found


@pytest.mark.parametrize("doc", ["github-workflow.yml", ".pre-commit-hooks.yaml", "pre-commit-config.yaml"])
def test_ci_documents_run_rnnshape_check(doc: str) -> None:
    text = (EXAMPLES / "ci" / doc).read_text()
    try:  # parse them where PyYAML is installed; otherwise the command lines are enough
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:
        data = yaml.safe_load(text)
        assert data
    commands = _commands(text)
    assert commands, f"{doc} does not run rnnshape check"
    for argv in commands:  # every check file they name exists, and its cases pass
        files = [a for a in argv[2:] if a.endswith(".toml") and "/" in a]
        for f in files:
            assert (ROOT / f).exists(), f
            out = run_module("check", f, "--dry-run")
            assert out.returncode == 0, out.stdout


def test_pre_commit_hook_definition_has_the_required_keys() -> None:
    text = (EXAMPLES / "ci" / ".pre-commit-hooks.yaml").read_text()
    for key in ("- id: rnnshape-check", "name:", "entry: rnnshape check", "language:"):
        assert key in text
