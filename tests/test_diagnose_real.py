"""``rnnshape diagnose`` on code real users pasted in public threads (tests/data/snippets_real).

Each snippet is kept verbatim, with the thread's URL and established cause in manifest.json; the lines a
snippet needs to run (sizes the thread states, a missing import) live apart, in its ``completion``.

Two checks per snippet:

1. The corpus is real: the snippet (with its completion) runs for real in torch, all of them in one
   subprocess, and fails on the line and with the message the thread reports, or runs cleanly for the
   silent bugs (code that computes the wrong thing without an error).
2. ``diagnose --json`` (static, through the CLI, so the follower's internals can change freely) finds the
   thread's bug on that line, names the ``--shape`` hint it needs, or warns of the silent bug. What the
   follower cannot do yet is an ``xfail(strict=True)`` whose reason says what is missing; the lead flips
   them as the follower learns.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rnnshape.cli import app

CORPUS = Path(__file__).parent / "data" / "snippets_real"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())
runner = CliRunner()

#: Warning codes for the silent bugs of issue #9 (names proposed here; the lead reconciles them).
SILENT_CODES = {"bidirectional-one-direction", "bidirectional-last-step", "state-read-batch-first",
                "output-feature-index", "last-batch-smaller"}
#: A silent bug may also expect this existing code: a layer without batch_first fed batch-first data.
SILENT_EXISTING = {"batch-first-suspect"}
ERAS = {"0.3", "0.4", "1.x", "2.x"}

_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.|In \[\d+\]:|\.\.\.:)(?: |$)")
# a paste is a REPL session only when it has a primary prompt: a lone ``...`` line is also an Ellipsis body
_PRIMARY = re.compile(r"^\s*(?:>>>|In \[\d+\]:)(?: |$)")


def runnable(text: str) -> str:
    """The paste as Python with its line numbers kept: REPL prompts stripped, their output blanked, and a
    first line that lost its indentation in a code fence (the rest indented) realigned when that is the
    only way the paste parses."""
    lines = text.splitlines()
    if any(_PRIMARY.match(ln) for ln in lines):
        lines = [_PROMPT.sub("", ln, count=1) if _PROMPT.match(ln) else "" for ln in lines]
    code = textwrap.dedent("\n".join(lines)) + "\n"
    try:
        compile(code, "<paste>", "exec")
    except SyntaxError:
        if lines and lines[0].strip() and not lines[0][0].isspace():
            return lines[0] + "\n" + textwrap.dedent("\n".join(lines[1:])) + "\n"
    return code


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["file"].split(".")[0] for i in items]


@pytest.fixture(scope="module")
def oracle() -> dict[str, Any]:
    """Run every snippet with its completion for real, once, in one subprocess."""
    from conftest import run_in_torch

    jobs = {}
    for item in MANIFEST:
        completion = item.get("completion", {})
        jobs[item["file"]] = {"code": runnable((CORPUS / item["file"]).read_text()),
                              "before": completion.get("before", ""), "after": completion.get("after", "")}
    # the machine has no GPU: old pastes call .cuda() everywhere, an identity here; nothing else of torch is touched
    return run_in_torch(jobs, no_gpu=True)


# --------------------------------------------------------------------------- 1. the corpus is real


@pytest.mark.parametrize("item", MANIFEST, ids=_ids(MANIFEST))
def test_snippet_behaves_in_torch_as_the_thread_says(item: dict[str, Any], oracle: dict[str, Any]) -> None:
    real, said = oracle[item["file"]], item["torch"]
    if said.get("runs"):
        assert real["ok"], f"the thread's code should run (a silent bug), torch raised {real}"
        return
    assert not real["ok"], "the thread's code ran cleanly"
    assert (real["kind"], real["line"]) == (said["error"], said["line"]), real
    assert said["message"] in real["message"], (real["message"], said["message"])


# --------------------------------------------------------------------------- 2. diagnose meets the thread


def diagnose_json(item: dict[str, Any]) -> dict[str, Any]:
    args = ["diagnose", "--json", str(CORPUS / item["file"])]
    for hint in item["diagnose"].get("shape", []):
        args += ["--shape", hint]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), (result.exit_code, result.output[-2000:])
    return json.loads(result.stdout)


def said(data: dict[str, Any]) -> str:
    """What diagnose reported, in one line, for failure messages."""
    return "; ".join(f"{d['code']}@{d['line']} ({d['severity']}): {d['title']}" for d in data["diagnoses"]) or "nothing"


def meets(expect: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether diagnose's JSON holds the expected finding."""
    if "error" in expect:
        # a thread whose code holds two real bugs lists both codes: either one, found first, is right
        codes = expect["error"] if isinstance(expect["error"], list) else [expect["error"]]
        err = data["error"]
        return err is not None and err["code"] in codes and err["line"] == expect["line"]
    if "warning" in expect:
        return any((d["code"], d["line"], d["severity"]) == (expect["warning"], expect["line"], "warning")
                   for d in data["diagnoses"])
    wanted = f"--shape {expect['hint']}="
    return data["error"] is None and any(wanted in (d["evidence"].get("hint") or "") + d["fix"]
                                         for d in data["diagnoses"])


def _diagnose_params() -> list[Any]:
    params = []
    for item in MANIFEST:
        marks = [pytest.mark.xfail(strict=True, reason=item["xfail"])] if "xfail" in item else []
        params.append(pytest.param(item, marks=marks, id=item["file"].split(".")[0]))
    return params


@pytest.mark.parametrize("item", _diagnose_params())
def test_diagnose_finds_the_threads_bug_or_names_its_hint(item: dict[str, Any]) -> None:
    data = diagnose_json(item)
    expect = item["diagnose"]["expect"]
    assert meets(expect, data), f"expected {expect}, diagnose said: {said(data)}"


# --------------------------------------------------------------------------- the manifest itself


def test_manifest_is_complete_and_every_file_is_in_it() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name.endswith(".txt")}
    assert files == {i["file"] for i in MANIFEST}
    for item in MANIFEST:
        assert item["url"].startswith("https://"), item["file"]
        assert item["cause"].strip() and item["era"] in ERAS, item["file"]
        expect = item["diagnose"]["expect"]
        assert len({"error", "warning", "hint"} & set(expect)) == 1, item["file"]
        if item["torch"].get("runs"):  # a silent bug: only a warning can meet it
            assert expect.get("warning") in SILENT_CODES | SILENT_EXISTING, item["file"]
        else:
            assert {"error", "line", "message"} <= set(item["torch"]), item["file"]
        if "xfail" in item:
            assert item["xfail"].startswith("diagnose "), item["file"]
    assert {i["era"] for i in MANIFEST} == ERAS
    silent = [i for i in MANIFEST if i["torch"].get("runs")]
    assert SILENT_CODES <= {i["diagnose"]["expect"]["warning"] for i in silent}


#: What issue #11 (40 pasted errors) and the corpus brief (10 silent bugs) ask for.
TARGET_ERRORS, TARGET_SILENT = 40, 10


def test_corpus_reaches_the_sizes_asked() -> None:
    errors = [i for i in MANIFEST if not i["torch"].get("runs")]
    silent = [i for i in MANIFEST if i["torch"].get("runs")]
    assert len(errors) >= TARGET_ERRORS and len(silent) >= TARGET_SILENT, (len(errors), len(silent))


def test_runnable_keeps_line_numbers_of_a_repl_paste() -> None:
    text = ">>> import torch\n>>> x = torch.zeros(2,\n...     3)\ntensor([[0.]])\nIn [2]: y = x\n   ...: z = y\n"
    code = runnable(text)
    assert code.splitlines() == ["import torch", "x = torch.zeros(2,", "    3)", "", "y = x", "z = y"]


def test_runnable_keeps_an_ellipsis_body_of_a_file() -> None:
    text = "class P(Protocol):\n    def f(self) -> None:\n        ...\n\nx = 1\n"
    assert runnable(text) == text


# --------------------------------------------------------------------------- 3. every fix diagnose prints holds


def _apply_printed(code: str, rewrites: list[dict[str, Any]]) -> str:
    """The paste with the lines ``diagnose`` printed as the fix put in place (indentation as the paste has it)."""
    lines = code.split("\n")
    for rw in rewrites:
        line = lines[rw["line"] - 1]
        assert line.strip() == rw["old"].strip(), (line, rw["old"])
        lines[rw["line"] - 1] = line[:len(line) - len(line.lstrip())] + rw["new"].lstrip()
    return "\n".join(lines)


def test_every_fix_printed_for_a_real_snippet_runs_and_keeps_the_axes() -> None:
    """A fix diagnose prints for a met error snippet, applied and re-run in torch with the thread's completion:
    the error is gone and every recurrent call reads its input as before (batch still batch, time still time)."""
    from conftest import axes_kept, run_in_torch

    jobs: dict[str, dict[str, str]] = {}
    for item in MANIFEST:
        if "xfail" in item or item["torch"].get("runs"):
            continue
        error = diagnose_json(item)["error"]
        if not error or not error["rewrites"]:
            continue
        completion = item.get("completion", {})
        code = runnable((CORPUS / item["file"]).read_text())
        job = {"globals": completion.get("before", "")}
        jobs[item["file"]] = {**job, "code": code + "\n" + completion.get("after", "")}
        jobs[item["file"] + "#fixed"] = {**job, "code": _apply_printed(code, error["rewrites"]) + "\n"
                                         + completion.get("after", "")}
    assert jobs, "no real snippet gets a printed fix"
    runs = run_in_torch(jobs, no_gpu=True)
    for key in (k for k in runs if k.endswith("#fixed")):
        before, after = runs[key.removesuffix("#fixed")], runs[key]
        assert not before["ok"], key
        assert after["ok"], (key, after)
        assert axes_kept(before["records"], after["records"]), (key, before["records"], after["records"])
