"""Startup of every torch-free command against ``python -c "import torch"``, side by side.

Each command runs as a fresh subprocess of this tree's package (``python -m rnnshape`` from the
repository root), interleaved with ``import torch`` in every round; the median counts. Bytecode
is written and reused, as in an installed package. Budgets (issue 16): the ``--json`` forms at
most 0.06x of importing torch, the human forms 0.08x, ``rnnshape --help`` 0.04x.

    python bench/bench_startup.py [--runs 9]
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

ROOT = Path(__file__).resolve().parents[1]
TRACEBACK = '''Traceback (most recent call last):
  File "/home/user/project/train.py", line 42, in <module>
    out, h = model.lstm(x, h0)
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py", line 362, in check_hidden_size
    raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))
RuntimeError: Expected hidden[0] size (2, 7, 64), got [2, 32, 64]
'''
#: 20 lines of a notebook cell whose last line cannot work (diagnose's everyday input).
SNIPPET = "\n".join([
    "import torch", "from torch import nn", "", "vocab, emb_dim, hidden = 100, 16, 32",
    "emb = nn.Embedding(vocab, emb_dim)", "lstm = nn.LSTM(emb_dim, hidden, batch_first=True, bidirectional=True)",
    "head = nn.Linear(hidden, 2)", "", "tokens = torch.randint(0, vocab, (8, 20))", "x = emb(tokens)",
    "print(x.shape)", "out, (h, c) = lstm(x)", "print(out.shape)", "last = out[:, -1]", "# classify",
    "scores = head(last)", "loss = scores.sum()", "loss.backward()", "print(loss)", "",
]) + "\n"
BUDGETS = {"json": 0.06, "human": 0.08, "help": 0.04}


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def commands(folder: Path) -> dict[str, tuple[str, list[str]]]:
    err, snippet = folder / "err.txt", folder / "snippet.py"
    err.write_text(TRACEBACK)
    snippet.write_text(SNIPPET)
    cases = str(ROOT / "examples" / "sentiment" / "check.toml")
    me = [sys.executable, "-m", "rnnshape"]
    return {
        "explain --json": ("json", [*me, "explain", "-f", str(err), "--json"]),
        "explain": ("human", [*me, "explain", "-f", str(err)]),
        "inspect --dry-run --json": ("json", [*me, "inspect", "lstm", "16", "32", "--dry-run", "--json"]),
        "inspect --dry-run": ("human", [*me, "inspect", "lstm", "16", "32", "--dry-run"]),
        "diagnose --json (20 lines)": ("json", [*me, "diagnose", str(snippet), "--json"]),
        "diagnose (20 lines)": ("human", [*me, "diagnose", str(snippet)]),
        "check --dry-run --json": ("json", [*me, "check", cases, "--dry-run", "--json"]),
        "check --dry-run": ("human", [*me, "check", cases, "--dry-run"]),
        "rnnshape --help": ("help", [*me, "--help"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(COLUMNS="80", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "rnnshape")], env=env, check=False,
                   capture_output=True)
    todo = commands(Path(tempfile.mkdtemp()))
    baseline = [sys.executable, "-c", "import torch"]
    times: dict[str, list[float]] = {"import torch": [], **{k: [] for k in todo}}
    for _kind, cmd in todo.values():  # warm the file cache once
        wall(cmd, env)
    for _ in range(args.runs):
        times["import torch"].append(wall(baseline, env))
        for name, (_kind, cmd) in todo.items():
            times[name].append(wall(cmd, env))
    torch_s = statistics.median(times["import torch"])
    print(f"python {sys.version.split()[0]}, median of {args.runs} interleaved runs (fresh process each)")
    print(f"  {'import torch':<28} {torch_s * 1000:7.0f} ms")
    failed = 0
    for name, (kind, _cmd) in todo.items():
        med = statistics.median(times[name])
        ratio, budget = med / torch_s, BUDGETS[kind]
        verdict = "ok" if ratio <= budget else "OVER"
        failed += verdict == "OVER"
        print(f"  {name:<28} {med * 1000:7.0f} ms   {ratio:.3f}x import torch   (budget {budget}x: {verdict})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
