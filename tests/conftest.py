"""Shared test helpers. Each block belongs to one area; add yours in a block of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

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
