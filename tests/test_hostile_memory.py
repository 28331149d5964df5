"""The memory estimate against real CPU runs (issue 15): within 1.5x of the measured peak, cells and layers."""

from __future__ import annotations

import json
import random

import pytest
from conftest import measured_run
from typer.testing import CliRunner

from rnnshape.cli import app

# Each case measures a real forward's peak memory in a fresh process: minutes, so CI's long step.
pytestmark = pytest.mark.long

MIB = 1024**2


def _generated_cases(seed: int, count: int) -> list[list[str]]:
    """Random cells and layers sized so that their work is 150-300 MiB (large against measuring noise)."""
    rng = random.Random(seed)
    modes = ["rnn-cell", "lstm-cell", "gru-cell", "rnn", "lstm", "gru"]
    cases = []
    for i in range(count):
        mode = modes[(i + seed) % len(modes)]
        hidden = rng.choice([128, 256, 512, 1024])
        features = rng.choice([16, 64, 300, 1000])
        target = rng.randint(150, 300) * MIB // 4  # elements
        if mode.endswith("-cell"):
            gates = {"rnn-cell": 1, "lstm-cell": 4, "gru-cell": 3}[mode]
            batch = max(1, target // (hidden * (2 * gates + 2)))
            cases.append([mode, str(features), str(hidden), "--batch", str(batch)])
            continue
        layers = rng.choice([1, 2, 3])
        extra = ["--bidirectional"] if rng.random() < 0.3 else []
        directions = 2 if extra else 1
        seq = rng.choice([50, 100, 200])
        batch = max(1, target // (seq * hidden * directions * 6))
        cases.append([mode, str(features), str(hidden), "--seq-len", str(seq), "--batch", str(batch),
                      "--num-layers", str(layers), *extra])
    return cases


@pytest.fixture(scope="module")
def baseline_peak() -> int:
    """A tiny run's peak: the interpreter, torch and rnnshape themselves."""
    got = measured_run("inspect", "lstm-cell", "8", "8", "--device", "cpu")
    assert got.rc == 0, got.err
    return got.peak_bytes


def _ratio(args: list[str], baseline: int) -> tuple[float, int, int]:
    # a case costs ~25 s of CPU; on two cores shared by other jobs its wall time passed 120 s (a timeout, not
    # a wrong estimate), so the measurement gets 600 s: the 1.5x bound is what the test asserts
    got = measured_run("inspect", *args, "--device", "cpu", "--json", timeout=600)
    assert got.rc == 0, got.err
    estimate = json.loads(got.out)["memory_estimate_bytes"]
    used = got.peak_bytes - baseline
    return estimate / used, estimate, used


@pytest.mark.parametrize("args", _generated_cases(seed=15, count=4), ids=" ".join)
def test_estimate_within_1_5x_of_measured_peak(args: list[str], baseline_peak: int) -> None:
    ratio, estimate, used = _ratio(args, baseline_peak)
    assert 1 / 1.5 <= ratio <= 1.5, f"estimate {estimate / MIB:.0f} MiB, used {used / MIB:.0f} MiB"


@pytest.mark.slow
@pytest.mark.parametrize("args", _generated_cases(seed=7, count=12), ids=" ".join)
def test_estimate_within_1_5x_many(args: list[str], baseline_peak: int) -> None:
    ratio, estimate, used = _ratio(args, baseline_peak)
    assert 1 / 1.5 <= ratio <= 1.5, f"estimate {estimate / MIB:.0f} MiB, used {used / MIB:.0f} MiB"


def test_the_cell_that_peaked_at_3_4_gb_is_refused_under_1100_mb() -> None:
    # The reproducer: estimated 1023 MiB before, ran, and peaked at 3.4 GB.
    result = CliRunner().invoke(app, ["inspect", "lstm-cell", "1024", "4096", "--batch", "20000", "--device",
                                      "cpu", "--max-memory", "1100MB", "--json"])
    assert result.exit_code == 2
    assert "nothing was allocated" in json.loads(result.stdout)["error"]
