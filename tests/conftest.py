"""Shared test helpers. Each block belongs to one area; add yours in its own block."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

# --------------------------------------------------------------------------- diagnose: the torch oracle for snippets
# One script runs every snippet test's code for real (tests/test_diagnose*.py): the corpus, the real users' pastes
# and the printed fixes.

_RUN_ALL = r'''
import contextlib, io, json, sys, warnings
import torch
import torch.nn as nn
options, jobs = json.load(sys.stdin)
if options["no_gpu"]:
    torch.Tensor.cuda = lambda self, *a, **k: self
    torch.nn.Module.cuda = lambda self, *a, **k: self
results = {}
records = []
def pre(mod, args):
    if isinstance(mod, (nn.RNNBase, nn.RNNCellBase)) and args and isinstance(args[0], torch.Tensor):
        f = sys._getframe(1)
        while f is not None and not f.f_code.co_filename.startswith("<snippet"):
            f = f.f_back
        records.append({"line": f.f_lineno if f else None, "input": list(args[0].shape),
                        "batch_first": bool(getattr(mod, "batch_first", False))})
torch.nn.modules.module.register_module_forward_pre_hook(pre)
for name, job in jobs.items():
    if isinstance(job, str):
        job = {"code": job}
    path = "<snippet " + name + ">"
    torch.manual_seed(0)
    g = {"__name__": "__main__"}
    exec(job.get("globals", ""), g)
    records.clear()
    res = {"ok": True}
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(job.get("before", ""), "<completion before>", "exec"), g)
            exec(compile(job["code"], path, "exec"), g)
            exec(compile(job.get("after", ""), "<completion after>", "exec"), g)
    except Exception as exc:
        line, tb = None, exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == path:
                line = tb.tb_lineno
            tb = tb.tb_next
        res = {"ok": False, "kind": type(exc).__name__, "message": str(exc), "line": line}
    else:
        if "value" in job:
            value = g.get(job["value"])
            tensor = isinstance(value, torch.Tensor)
            res.update(shape=list(value.shape) if tensor else None,
                       dtype=str(value.dtype).replace("torch.", "") if tensor else None)
    res["records"] = list(records)
    results[name] = res
json.dump(results, sys.stdout)
'''


def run_in_torch(jobs: dict[str, str | dict[str, str]], *, no_gpu: bool = False) -> dict[str, dict]:
    """Run each snippet for real, all in one subprocess (a crash cannot take pytest down).

    A job is the code, or a dict: ``code``; ``globals`` (run first, outside the snippet's error handling);
    ``before``/``after`` (a completion run around the code, in its error handling but outside its line
    numbers); ``value`` (a name: the shape and dtype of its tensor, None for anything else).
    ``no_gpu``: ``.cuda()`` is an identity (old pastes call it everywhere; this machine has no GPU).

    Each result: ``ok``, or the exception's ``kind``, ``message`` and ``line`` in the code; ``shape`` and
    ``dtype`` of the ``value``; every recurrent call's ``records`` (line, input shape, batch_first).
    """
    out = subprocess.run([sys.executable, "-c", _RUN_ALL], input=json.dumps([{"no_gpu": no_gpu}, jobs]),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def apply_rewrite(code: str, finding) -> str:
    """The snippet with every line ``diagnose`` printed as the finding's fix put in place."""
    lines = code.split("\n")
    for rw in finding.rewrites:
        assert lines[rw.line - 1] == rw.old, (lines[rw.line - 1], rw.old)
        lines[rw.line - 1] = rw.new
    return "\n".join(lines)


def axes_kept(before: list[dict], after: list[dict]) -> bool:
    """The fix fed no recurrent call an input it did not get before, nor flipped batch_first: the batch
    is still the batch and time still time (a fix that transposes the data or the flag would show here)."""
    seen = {(r["line"], tuple(r["input"]), r["batch_first"]) for r in before}
    reached = {r["line"] for r in before}   # a call the error stopped before has nothing to compare with
    return all((r["line"], tuple(r["input"]), r["batch_first"]) in seen for r in after if r["line"] in reached)


# Per-construct rule tables (tests/test_diagnose_rules.py, tests/test_diagnose_conv.py): CASES maps a key to
# (code, the name whose shape is asked, the expected shape text or "!code" for an error or "?" for not followed).
RULE_HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def follow_rule_cases(cases: dict[str, tuple[str, str, str]]) -> dict:
    from rnnshape.diagnose.snippets import diagnose_paste

    return {k: diagnose_paste(RULE_HEAD + code) for k, (code, _, _) in cases.items()}


def torch_rule_cases(cases: dict[str, tuple[str, str, str]], static_only: set[str]) -> dict:
    """Each case run in real torch (the shape and dtype of its name), but those torch cannot run as written."""
    return run_in_torch({k: {"code": RULE_HEAD + code, "value": name} for k, (code, name, expected) in cases.items()
                         if expected != "?" and k not in static_only})


def followed_shape(r, name: str) -> str:
    """What diagnose says of ``name``: its last shape text, ``!code`` of the error, or ``?``."""
    if r.error is not None:
        return "!" + r.error.diagnosis.code
    texts = [s.text for line in sorted(r.followed.shapes) for s in r.followed.shapes[line] if s.name == name]
    return texts[-1] if texts else "?"


def assert_rule_agrees_with_torch(expected: str, real: dict, r, *, every_shape_concrete: bool) -> None:
    """torch fails on diagnose's line with the message it quotes, or gives the expected shape and dtype
    (``every_shape_concrete``: each expected shape is numbers; otherwise symbolic ones are not compared)."""
    if expected.startswith("!"):
        assert not real["ok"] and real["line"] == r.error.line, real
        said = r.error.diagnosis.evidence.get("torch_message")
        assert not said or said == real["message"], (said, real["message"])
        return
    assert real["ok"], real
    m = re.fullmatch(r"\(([\d, ]*)\)(?: (\w+))?", expected)
    if every_shape_concrete:
        assert m and real["shape"] is not None
    if m and real["shape"] is not None:
        assert [int(d) for d in m.group(1).replace(",", " ").split()] == real["shape"]
        assert (m.group(2) or "float32") == real["dtype"]


# --------------------------------------------------------------------------- hostile input (issue 15)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs its arguments as a child and reports the child's peak RSS (getrusage of the children).
_MEASURE = (
    "import json, resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)\n"
    "print(json.dumps({'rc': p.returncode, 'out': p.stdout.decode('utf-8', 'replace'),\n"
    "                  'err': p.stderr.decode('utf-8', 'replace'),\n"
    "                  'peak': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))\n"
)


@dataclass
class Measured:
    rc: int
    out: str
    err: str
    peak_bytes: int


def rnnshape_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": REPO, "COLUMNS": "80"}


def measured_run(*args: str, timeout: float = 120) -> Measured:
    """``python -m rnnshape ARGS`` in a subprocess: exit code, output and peak resident memory."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "rnnshape", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO, env=rnnshape_env())
    found = json.loads(proc.stdout)
    return Measured(found["rc"], found["out"], found["err"], found["peak"])


def invoke_main(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    """``rnnshape ARGS`` in-process through ``cli.run`` (main's contract, the parser's errors included)."""
    from typer.testing import CliRunner

    from rnnshape import cli

    with CliRunner().isolation(input=input) as (out, err, _):
        code = cli.run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")


def one_json_object(stdout: str) -> dict:
    """stdout holds exactly one JSON object (``json.loads`` refuses anything after it)."""
    found = json.loads(stdout)
    assert isinstance(found, dict), stdout
    return found


# --------------------------------------------------------------------------- live mode (rnnshape run)

_REPO = Path(__file__).resolve().parent.parent
_LIVE_ENV = {**os.environ, "PYTHONPATH": str(_REPO), "COLUMNS": "80", "NO_COLOR": "1"}


def _live_rnnshape_run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnshape", "run", *args], cwd=cwd, env=_LIVE_ENV,
                          input=stdin, capture_output=True, text=True, timeout=180, check=False)


def _live_python_run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_LIVE_ENV, input=stdin,
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def live() -> SimpleNamespace:
    """``live.rnnshape_run(...)`` and ``live.python_run(...)``: one program run both ways, in subprocesses."""
    return SimpleNamespace(rnnshape_run=_live_rnnshape_run, python_run=_live_python_run, env=_LIVE_ENV)



ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


# --------------------------------------------------------------------------- CLI runners and torch oracle
# (issue #13: the helpers every CLI and differential test shares)


def cli(*args: object, command: str | None = None) -> Any:
    """``rnnshape ARGS`` in-process (typer's CliRunner); whatever the input, no exception may escape.

    ``command``: prepended to ``args`` (``cli("lstm", command="inspect")``).
    """
    from typer.testing import CliRunner

    from rnnshape.cli import app

    argv = ([command] if command else []) + [str(a) for a in args]
    res = CliRunner().invoke(app, argv)
    assert res.exception is None or isinstance(res.exception, SystemExit), f"uncaught {res.exception!r} for {argv}"
    assert "Traceback" not in res.output, res.output
    assert res.exit_code in (0, 1, 2), res.output
    return res


def cli_json(*args: object, code: int = 0, command: str | None = None) -> dict:
    """``rnnshape ARGS --json``: the exit code must be ``code``; the parsed JSON object."""
    res = cli(*args, "--json", command=command)
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    return json.loads(res.stdout)


def run_module(*args: str, timeout: float = 300, env: dict[str, str] | None = None,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m rnnshape ARGS`` in a fresh process, from the repository root (this tree's package)."""
    full_env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, timeout=timeout, input=stdin)


def run_python(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python ARGS`` from the repository root (the example scripts)."""
    env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def imported_by(*args: str, stdin: str | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m rnnshape ARGS``: the process and every module it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rnnshape", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
                          input=stdin)
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    return proc, modules


def torch_outputs(module: Any, x: Any, hx: Any = None) -> dict[str, Any]:
    """Run ``module`` on ``x`` (and ``hx``) under no_grad; name the results as the torch docs do.

    A PackedSequence output is padded back (``output``) and its data kept as ``output_packed``.
    """
    import torch
    from torch import nn
    from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

    module.eval()
    with torch.no_grad():
        out = module(x) if hx is None else module(x, hx)
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        return {"h_1": out[0], "c_1": out[1]} if isinstance(module, nn.LSTMCell) else {"h_1": out}
    output, state = out
    found: dict[str, Any] = {}
    if isinstance(output, PackedSequence):
        found["output_packed"] = output.data
        output = pad_packed_sequence(output, batch_first=module.batch_first)[0]
    found["output"] = output
    if isinstance(module, nn.LSTM):
        found.update(h_n=state[0], c_n=state[1])
    else:
        found["h_n"] = state
    return found


def torch_shapes(module: Any, x_shape: tuple[int, ...], hx: Any = None, *, dtype: Any = None,
                 h: tuple[int, ...] | None = None, c: tuple[int, ...] | None = None,
                 lengths: list[int] | None = None, enforce_sorted: bool = True) -> dict[str, tuple[int, ...]]:
    """The oracle: the shapes real torch gives for ``module`` on an input of ``x_shape``.

    States: ``hx`` (tensors, as given), or ``h``/``c`` shapes (zeros). ``lengths`` packs the input.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    dtype = dtype or torch.float32
    module = module.to(dtype)
    x: Any = torch.zeros(x_shape, dtype=dtype)
    if lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(lengths), batch_first=module.batch_first,
                                 enforce_sorted=enforce_sorted)
    if hx is None and h is not None:
        zeros_h = torch.zeros(h, dtype=dtype)
        hx = (zeros_h, torch.zeros(c, dtype=dtype)) if c is not None else zeros_h
    return {k: tuple(v.shape) for k, v in torch_outputs(module, x, hx).items()}


def json_shapes(payload: dict) -> dict[str, tuple[int, ...]]:
    """The tensor shapes of an ``inspect --json`` payload (or a Report's to_dict())."""
    return {name: tuple(t["shape"]) for name, t in payload["tensors"].items()}
