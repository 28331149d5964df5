"""End to end: the installed ``rnnshape`` command and ``python -m rnnshape`` as subprocesses.

Expected shapes come from torch's documented rules, written out here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _installed_script() -> str | None:
    bindir = Path(sys.executable).parent
    for name in ("rnnshape", "rnnshape.exe"):
        if (bindir / name).is_file():
            return str(bindir / name)
    return shutil.which("rnnshape", path=str(bindir)) or shutil.which("rnnshape")


SCRIPT = _installed_script()
ENV = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}

needs_script = pytest.mark.skipif(SCRIPT is None, reason="the rnnshape script is not installed")


def run(*args: str, module: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "rnnshape", *args] if module else [SCRIPT, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV,
                          check=False, encoding="utf-8")


@needs_script
def test_default_run():
    proc = run("inspect")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # nn.RNN(10, 20) on (seq_len 5, batch 1, input_size 10): output (L, N, H), h_n (1, N, H)
    for text in ("nn.RNN(10, 20)", "(5, 1, 10)", "(5, 1, 20)", "(1, 1, 20)", "shapes work"):
        assert text in proc.stdout


@needs_script
def test_diagnosis_exits_1():
    proc = run("inspect", "nn.RNN(input_size=8, hidden_size=4)", "--input-shape", "5,3,10",
               "--device", "cpu")
    assert proc.returncode == 1
    assert "input-size-mismatch" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@needs_script
@pytest.mark.parametrize("args", [
    ["inspect", "--dtype", "int8"],
    ["inspect", "--input-shape", "5,1,y"],
    ["inspect", "__import__('os').system('echo pwned')"],
    ["inspect", "--expect", "nonsense"],
    ["inspect", "--no-such-flag"],
])
def test_usage_error_exits_2_without_traceback(args):
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "pwned" not in proc.stdout  # `echo pwned` never ran (stderr quotes the input)
    assert proc.stderr.strip()


@needs_script
def test_json_parses():
    proc = run("inspect", "lstm", "10", "20", "--num-layers", "2", "--bidirectional",
               "--batch-first", "--input-shape", "3,7,10", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ok"] is True
    tensors = {k: v["shape"] for k, v in payload["tensors"].items()}
    # torch docs, batch_first: output (N, L, D * H_out); states (D * num_layers, N, H) always
    assert tensors["output"] == [3, 7, 40]
    assert tensors["h_n"] == [4, 3, 20]
    assert tensors["c_n"] == [4, 3, 20]


def test_python_dash_m_json_parses():
    proc = run("inspect", "gru", "--device", "cpu", "--json", module=True)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["module"]["class"] == "GRU"
    assert payload["tensors"]["output"]["shape"] == [5, 1, 20]


def test_python_dash_m_usage_error_json():
    proc = run("inspect", "--dtype", "int8", "--json", module=True)
    assert proc.returncode == 2
    payload = json.loads(proc.stdout)
    assert payload["ok"] is False and payload["exit_code"] == 2
    assert "int8" in payload["error"]
    assert "Traceback" not in proc.stderr


DRY_RUN_PROBE = """
import sys
sys.argv = ["rnnshape", "inspect", "lstm", "10", "20", "--num-layers", "2", "--dry-run", "--json"]
from rnnshape.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print("EXIT", code, file=sys.stderr)
print("TORCH", "torch" in sys.modules, file=sys.stderr)
"""


def test_dry_run_does_not_import_torch():
    proc = subprocess.run([sys.executable, "-c", DRY_RUN_PROBE], capture_output=True, text=True,
                          timeout=60, env=ENV, check=False)
    assert "EXIT 0" in proc.stderr, proc.stderr
    assert "TORCH False" in proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
