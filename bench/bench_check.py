"""Wall time of ``rnnshape check`` on a file of 200 cases, on meta and with --dry-run,
beside ``python -c "import torch"`` (what any torch-based check pays first).

Each command runs as a fresh subprocess, interleaved, several times; the median counts.

    python bench/bench_check.py [--runs 5] [--cases 200]
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

LAYERS = [
    ("nn.LSTM({i}, {h}, num_layers=2, bidirectional=True, batch_first=True)", "batch_first"),
    ("nn.GRU({i}, {h}, num_layers=3)", "seq_first"),
    ("nn.RNN({i}, {h}, nonlinearity='relu', batch_first=True)", "batch_first"),
    ("nn.LSTM({i}, {h}, proj_size={p})", "seq_first"),
]


def cases_file(n: int) -> str:
    """``n`` varied cases: four layer kinds, states, packed batches, and expected errors."""
    out = []
    for k in range(n):
        ctor, layout = LAYERS[k % len(LAYERS)]
        i, h, batch, seq = 8 + k % 32, 16 + k % 48, 1 + k % 16, 5 + k % 100
        code = ctor.format(i=i, h=h, p=max(1, h // 4))
        x = [batch, seq, i] if layout == "batch_first" else [seq, batch, i]
        case = [f'[[case]]\nname = "case-{k}"\nlayer = "{code}"']
        if k % 10 == 9:  # a wrong feature size that must be diagnosed
            x[-1] += 1
            case.append(f"input = {x}\nexpect_error = \"input-size-mismatch\"")
        elif k % 10 == 5 and layout == "batch_first":  # a packed batch
            lengths = sorted({seq - j % seq for j in range(batch)} | {seq}, reverse=True)[:batch]
            lengths += [1] * (batch - len(lengths))
            case.append(f"input = {x}\nlengths = {lengths}")
        else:
            case.append(f"input = {x}")
        out.append("\n".join(case))
    return "\n\n".join(out) + "\n"


def wall(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    exe = shutil.which("rnnshape") or sys.exit("rnnshape is not installed (pip install -e .)")
    folder = Path(tempfile.mkdtemp())
    path = folder / "cases.toml"
    path.write_text(cases_file(args.cases))
    commands = {
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        f"rnnshape check ({args.cases} cases, meta)": [exe, "check", str(path)],
        f"rnnshape check ({args.cases} cases, --dry-run)": [exe, "check", str(path), "--dry-run"],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            seconds, rc = wall(cmd)
            if rc != 0:
                sys.exit(f"{name} exited {rc}: the generated cases should all pass")
            times[name].append(seconds)
    print(f"python {sys.version.split()[0]}, median of {args.runs} runs (fresh process each)")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"  {name:<42} {med * 1000:8.0f} ms   (min {min(samples) * 1000:.0f}, "
              f"max {max(samples) * 1000:.0f})")
    torch_s = statistics.median(times['python -c "import torch"'])
    for name, samples in list(times.items())[1:]:
        med = statistics.median(samples)
        print(f"  {name}: {med / torch_s:.2f}x import torch, {med / args.cases * 1000:.2f} ms per case")


if __name__ == "__main__":
    main()
