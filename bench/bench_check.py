"""Wall time of ``rnnshape check`` and ``trace`` on the default (fast) engine, beside
``python -c "import torch"`` (what any torch-based run pays first).

- 200 varied cases on the default engine, on meta, and with --dry-run (per-case cost);
- 10 small cases on the default engine: at most 1.3x import torch (issue 13);
- 1000 small cases: at most 2 ms per case beyond the fixed cost of 10 (issue 16);
- ``trace`` of the example classifier: at most 1.4x import torch (issue 13).

Each command runs as a fresh subprocess of this tree (``python -m rnnshape``), interleaved,
several times; the median counts.

    python bench/bench_check.py [--runs 5] [--cases 200]
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


def small_cases(n: int) -> str:
    """``n`` small cases, each a different layer size (no cache can answer twice)."""
    return "\n".join(f'[[case]]\nname = "small-{k}"\nlayer = "nn.LSTM({8 + k % 50}, {16 + k % 40}, batch_first=True)"\n'
                     f"input = [4, {5 + k % 30}, {8 + k % 50}]\n" for k in range(n))


ROOT = Path(__file__).resolve().parents[1]
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(ROOT)}


def wall(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=ENV)
    return time.perf_counter() - t0, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    me = [sys.executable, "-m", "rnnshape"]
    folder = Path(tempfile.mkdtemp())
    files = {"varied": cases_file(args.cases), "small10": small_cases(10), "small1000": small_cases(1000)}
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text)
    commands = {
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        f"check ({args.cases} cases, default engine)": [*me, "check", str(folder / "varied.toml")],
        f"check ({args.cases} cases, meta)": [*me, "check", str(folder / "varied.toml"), "--device", "meta"],
        f"check ({args.cases} cases, --dry-run)": [*me, "check", str(folder / "varied.toml"), "--dry-run"],
        "check (10 small cases)": [*me, "check", str(folder / "small10.toml")],
        "check (1000 small cases)": [*me, "check", str(folder / "small1000.toml")],
        "trace (example classifier)": [*me, "trace", "examples/sentiment/model.py:SentimentClassifier",
                                       "--input-shape", "8,20", "--input-dtype", "long"],
    }
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "rnnshape")], env=ENV,
                   capture_output=True, check=False)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            seconds, rc = wall(cmd)
            if rc != 0:
                sys.exit(f"{name} exited {rc}: the generated cases should all pass")
            times[name].append(seconds)
    med = {name: statistics.median(samples) for name, samples in times.items()}
    print(f"python {sys.version.split()[0]}, median of {args.runs} runs (fresh process each)")
    for name, samples in times.items():
        print(f"  {name:<42} {med[name] * 1000:8.0f} ms   (min {min(samples) * 1000:.0f}, "
              f"max {max(samples) * 1000:.0f})")
    torch_s = med['python -c "import torch"']
    for name in list(commands)[1:4]:
        print(f"  {name}: {med[name] / torch_s:.2f}x import torch, {med[name] / args.cases * 1000:.2f} ms per case")
    per_case = (med["check (1000 small cases)"] - med["check (10 small cases)"]) / 990 * 1000
    checks = [
        ("check of 10 small cases", med["check (10 small cases)"] / torch_s, 1.3, "x import torch"),
        ("check, per case beyond the fixed cost", per_case, 2.0, " ms"),
        ("trace of the example classifier", med["trace (example classifier)"] / torch_s, 1.4, "x import torch"),
    ]
    failed = 0
    for label, value, budget, unit in checks:
        verdict = "ok" if value <= budget else "OVER"
        failed += verdict == "OVER"
        print(f"  {label}: {value:.2f}{unit} (budget {budget}{unit}: {verdict})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
