"""Wall time of ``rnnshape explain`` against ``python -c "import torch"``, side by side.

Each command runs as a fresh subprocess, interleaved, several times; the median counts.
The budget (issue 3): explain at most 0.15x of importing torch.

    python bench/bench_explain.py [--runs 9]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
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


if __name__ == "__main__":
    main()
