"""``diagnose --run``'s sandbox (issue 15): process group killed whole, output capped, limits, SIGSTOP-proof."""

from __future__ import annotations

import os
import sys
import time

import pytest
from conftest import measured_run

from rnnshape.diagnose.sandbox import MAX_OUTPUT_BYTES, run_sandboxed


def _gone(pid: int, within: float = 5.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a killed child re-parented to init is reaped there; a zombie still answers kill(0)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(")")[-1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_background_children_die_when_the_run_ends(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    code = (f"import subprocess\np = subprocess.Popen(['sleep', '300'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n")
    got = run_sandboxed(_python(code), timeout=30, cwd=str(tmp_path))
    assert got.returncode == 0 and not got.timed_out, got.stderr
    assert _gone(int(pid_file.read_text()))


def test_the_whole_group_is_killed_at_the_time_limit(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    code = (f"import subprocess, time\np = subprocess.Popen(['sleep', '300'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(p.pid))\ntime.sleep(300)\n")
    t0 = time.monotonic()
    got = run_sandboxed(_python(code), timeout=3, cwd=str(tmp_path))
    assert got.timed_out and time.monotonic() - t0 < 15
    assert _gone(int(pid_file.read_text()))


def test_stopping_its_parent_does_not_stop_the_clock(tmp_path) -> None:
    code = "import os, signal, time\nos.kill(os.getppid(), signal.SIGSTOP)\ntime.sleep(300)\n"
    t0 = time.monotonic()
    got = run_sandboxed(_python(code), timeout=3, cwd=str(tmp_path))
    assert got.timed_out and time.monotonic() - t0 < 15


def test_stopping_its_own_group_does_not_stop_the_clock(tmp_path) -> None:
    code = "import os, signal\nos.killpg(0, signal.SIGSTOP)\n"
    t0 = time.monotonic()
    got = run_sandboxed(_python(code), timeout=3, cwd=str(tmp_path))
    assert got.timed_out and time.monotonic() - t0 < 15


def test_output_is_capped(tmp_path) -> None:
    code = "import sys\nfor _ in range(20000):\n    sys.stdout.write('x' * 1000)\n"
    got = run_sandboxed(_python(code), timeout=60, cwd=str(tmp_path))
    assert got.returncode == 0 and got.truncated
    assert len(got.stdout) == MAX_OUTPUT_BYTES


def test_address_space_is_limited(tmp_path) -> None:
    code = "x = bytearray(64 * 1024**3)\n"
    got = run_sandboxed(_python(code), timeout=30, cwd=str(tmp_path))
    assert got.returncode == 1 and "MemoryError" in got.stderr


def test_the_child_runs_under_cpu_and_address_space_limits(tmp_path) -> None:
    code = ("import resource\nprint(resource.getrlimit(resource.RLIMIT_CPU)[0], "
            "resource.getrlimit(resource.RLIMIT_AS)[0])\n")
    got = run_sandboxed(_python(code), timeout=7, cwd=str(tmp_path), address_space=8 * 1024**3)
    assert got.stdout.split() == ["8", str(8 * 1024**3)]


@pytest.mark.long  # 20 s of a child printing flat out: CI's long step
def test_a_printing_loop_costs_rnnshape_no_memory(tmp_path) -> None:
    script = tmp_path / "loop.py"
    script.write_text("while True:\n    print('x' * 10000)\n")
    got = measured_run("diagnose", str(script), "--run", "--timeout", "20", "--json", timeout=120)
    assert got.rc in (0, 1), got.err
    assert '"timed_out": true' in got.out
    # rnnshape and its children together: torch in the child, never the gigabytes of output
    assert got.peak_bytes < 1024**3, got.peak_bytes
