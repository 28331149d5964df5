"""Wall time of ``rnnshape explain`` against ``python -c "import torch"``, side by side.

Each command runs as a fresh subprocess, interleaved, several times; the median counts.
Budgets: a traceback explained in at most 0.15x of importing torch (issue 3); pastes of
1 KB to 10 MB (a training log with the error at its end) in linear time, 10 MB at most 2x
importing torch, and 10x the text at most 12x the time (issue 10).

    python bench/bench_explain.py [--runs 9] [--sizes-runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRACEBACK = '''Traceback (most recent call last):
  File "/home/user/project/train.py", line 42, in <module>
    out = model(x, h0)
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1789, in _call_impl
    return forward_call(*args, **kwargs)
  File "/home/user/project/model.py", line 18, in forward
    out, h = self.lstm(x, h0)
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py", line 1159, in forward
    self.check_forward_args(input, hx, batch_sizes)
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py", line 362, in check_hidden_size
    raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))
RuntimeError: Expected hidden[0] size (2, 7, 64), got [2, 32, 64]
'''


def wall(cmd: list[str], stdin: str | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0


SIZES = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
LOG_LINE = "epoch 3 step 1200 loss 0.2513 acc 0.913 lr 0.001 lstm h0 torch.Size([32, 50, 128])\n"


def paste_of(size: int) -> str:
    """A log of about ``size`` bytes: training lines, then the traceback."""
    lines = max(0, size - len(TRACEBACK)) // len(LOG_LINE)
    return LOG_LINE * lines + TRACEBACK


def sizes_sweep(runs: int) -> None:
    """explain --json on files of 1 KB to 10 MB, interleaved with import torch."""
    import os

    files = {}
    for size in SIZES:
        fd, path = tempfile.mkstemp(suffix=".log")
        with os.fdopen(fd, "w") as fh:
            fh.write(paste_of(size))
        files[size] = path
    torch_cmd = [sys.executable, "-c", "import torch"]
    times: dict[object, list[float]] = {"torch": [], **{size: [] for size in SIZES}}
    for _ in range(runs):
        times["torch"].append(wall(torch_cmd))
        for size, path in files.items():
            times[size].append(wall([sys.executable, "-m", "rnnshape", "explain", "--json", "--file", path]))
    for path in files.values():
        Path(path).unlink()
    torch_s = statistics.median(times["torch"])
    print(f"\nexplain --json --file LOG, median of {runs}; import torch {torch_s * 1000:.0f} ms")
    previous = None
    for size in SIZES:
        med = statistics.median(times[size])
        growth = f"   x{med / previous:5.2f} for 10x text" if previous else ""
        print(f"  {size:>10,d} bytes {med * 1000:9.1f} ms   {med / torch_s:6.3f}x import torch{growth}")
        previous = med
    big, one_mb = statistics.median(times[SIZES[-1]]), statistics.median(times[SIZES[-2]])
    # The measure: 10x the text may take at most 12x the time (the whole command).
    ratio = big / one_mb
    print(f"10 MB / import torch = {big / torch_s:.2f} (budget 2): {'OK' if big <= 2 * torch_s else 'OVER'}; "
          f"1 MB -> 10 MB time grows x{ratio:.1f} (budget 12): {'OK' if ratio <= 12 else 'OVER'}")
    work_growth(runs)


def work_growth(runs: int) -> None:
    """The reading alone, in this process (no start-up to subtract, so no noise from it): 1 -> 10 -> 20 MB."""
    sys.path.insert(0, str(ROOT))
    from rnnshape.explain.explainer import explain_text

    best = {}
    for size in (1_000_000, 10_000_000, 20_000_000):
        text = paste_of(size)
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            explain_text(text)
            samples.append(time.perf_counter() - t0)
        best[size] = min(samples)
    print(f"explain_text alone, best of {runs}: 1 MB {best[1_000_000] * 1000:.0f} ms, 10 MB "
          f"{best[10_000_000] * 1000:.0f} ms (x{best[10_000_000] / best[1_000_000]:.1f}), 20 MB "
          f"{best[20_000_000] * 1000:.0f} ms (x{best[20_000_000] / best[10_000_000]:.2f} for 2x text)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sizes-runs", type=int, default=3)
    args = parser.parse_args()
    exe = shutil.which("rnnshape")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(TRACEBACK)
        tb_path = fh.name
    commands: dict[str, tuple[list[str], str | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        'python -c "import torch"': ([sys.executable, "-c", "import torch"], None),
        "python -m rnnshape explain --file tb": (
            [sys.executable, "-m", "rnnshape", "explain", "--file", tb_path], None),
        "python -m rnnshape explain --json < tb": (
            [sys.executable, "-m", "rnnshape", "explain", "--json"], TRACEBACK),
    }
    if exe:
        commands["rnnshape explain --file tb"] = ([exe, "explain", "--file", tb_path], None)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for cmd, stdin in commands.values():  # warm the file cache once
        wall(cmd, stdin)
    for _ in range(args.runs):
        for name, (cmd, stdin) in commands.items():
            times[name].append(wall(cmd, stdin))
    Path(tb_path).unlink()
    torch_s = statistics.median(times['python -c "import torch"'])
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, interleaved; median wall time")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:42s} {med * 1000:8.1f} ms   {med / torch_s:5.3f}x import torch")
    worst = max(statistics.median(ts) for name, ts in times.items() if "explain" in name)
    verdict = "OK" if worst <= 0.15 * torch_s else "OVER BUDGET"
    print(f"slowest explain / import torch = {worst / torch_s:.3f} (budget 0.15): {verdict}")
    sizes_sweep(args.sizes_runs)


if __name__ == "__main__":
    main()
