"""Shared test helpers."""

from __future__ import annotations

# --------------------------------------------------------------------------- hostile input (issue 15)
import json
import os
import subprocess
import sys
from dataclasses import dataclass

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
