"""Wall time of ``rnnshape diagnose`` against ``python -c "import torch"``, side by side.

Each command runs as a fresh subprocess, interleaved, several times; the median counts. Targets
(issues 11 and 16): a 20-line snippet <= 0.15x importing torch; a 10,000-line file <= 1x (aim
0.3x); from 1,000 to 10,000 lines the time grows at most 11x (linear: the follower's scopes are
chained, never copied per call). Also timed: a ~1 MB paste, and --run for scale.
The subprocesses run with bytecode caching on (PYTHONDONTWRITEBYTECODE unset), as an installed
package has its .pyc files; without them every run recompiles rnnshape's sources (~40 ms more).

    python bench/bench_diagnose.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SNIPPETS = Path(__file__).resolve().parents[1] / "tests" / "data" / "snippets"


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, check=False, env=ENV)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    model = SNIPPETS / "classifier_loss_per_step.py.txt"
    repl = SNIPPETS / "repl_session.txt"
    tmp = Path(tempfile.mkdtemp(prefix="rnnshape-bench-"))
    big = tmp / "big.py"
    block = (SNIPPETS / "model_class_ok.py.txt").read_text() + "\n"
    big.write_text(block * (1_000_000 // len(block)))
    lines_1k, lines_10k = tmp / "lines_1k.py", tmp / "lines_10k.py"
    per_block = block.count("\n")
    lines_1k.write_text(block * (1_000 // per_block))
    lines_10k.write_text(block * (10_000 // per_block))
    twenty = tmp / "twenty.py"
    twenty.write_text(block)
    rn = [sys.executable, "-m", "rnnshape"]
    commands: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        "rnnshape explain (a traceback)": rn + ["explain", "--file", str(repl)],
        "rnnshape diagnose model class": rn + ["diagnose", str(model)],
        "rnnshape diagnose --json model class": rn + ["diagnose", "--json", str(model)],
        f"rnnshape diagnose --json {per_block} lines": rn + ["diagnose", "--json", str(twenty)],
        "rnnshape diagnose --json 1,000 lines": rn + ["diagnose", "--json", str(lines_1k)],
        "rnnshape diagnose --json 10,000 lines": rn + ["diagnose", "--json", str(lines_10k)],
        "rnnshape diagnose REPL paste + traceback": rn + ["diagnose", str(repl)],
        f"rnnshape diagnose --json 1 MB ({big.stat().st_size // 1024} KB)": rn + ["diagnose", "--json", str(big)],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for cmd in commands.values():  # warm the file cache once
        wall(cmd)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    run_s = statistics.median(wall(rn + ["diagnose", "--run", "--json", str(model)]) for _ in range(3))
    for f in (big, lines_1k, lines_10k, twenty):
        f.unlink()
    tmp.rmdir()
    torch_s = statistics.median(times['python -c "import torch"'])
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, interleaved; median wall time")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:48s} {med * 1000:8.1f} ms   {med / torch_s:5.3f}x import torch")
    print(f"  {'rnnshape diagnose --run model class (3 runs)':48s} {run_s * 1000:8.1f} ms   "
          f"{run_s / torch_s:5.3f}x import torch")
    small = [statistics.median(ts) for name, ts in times.items()
             if "diagnose" in name and "MB" not in name and "000 lines" not in name]
    worst = max(small)
    verdict = "OK" if worst <= 0.15 * torch_s else "OVER BUDGET"
    print(f"slowest diagnose (snippet) / import torch = {worst / torch_s:.3f} (target ~0.1, budget 0.15): {verdict}")
    t1k = statistics.median(times["rnnshape diagnose --json 1,000 lines"])
    t10k = statistics.median(times["rnnshape diagnose --json 10,000 lines"])
    print(f"10,000 lines / import torch = {t10k / torch_s:.3f} (budget 1, aim 0.3): "
          f"{'OK' if t10k <= torch_s else 'OVER BUDGET'}")
    print(f"growth 1,000 -> 10,000 lines = {t10k / t1k:.2f}x (budget 11x): {'OK' if t10k <= 11 * t1k else 'OVER'}")


if __name__ == "__main__":
    main()
