#!/usr/bin/env python
"""Wall-clock benchmark of ``rnnshape inspect`` against plain torch, in one run.

Every figure is the median wall time of N fresh subprocesses (default 5), with
the commands interleaved round by round so that machine drift hits all of them
alike. Measured:

* ``python -c "import torch"``                     the baseline
* ``rnnshape inspect --dry-run``                   target: <= 0.2 x baseline
* ``rnnshape inspect rnn 10 20 --device cpu``      target: <= 1.3 x the bare one-liner
  ``python -c "import torch; m=torch.nn.RNN(10,20); m(torch.randn(5,1,10))"``
* ``rnnshape inspect MODE 10 20 --num-layers 2 --bidirectional --batch 64 --seq-len L``
  with ``--device meta`` and with ``--dry-run``, for MODE in lstm, gru, rnn and
  L in 10, 10_000, 10_000_000: each must stay flat in L (max/min of the medians
  across L <= --flat-tol, default 1.25).

The CLI is run as the installed ``rnnshape`` script next to ``sys.executable``
(falling back to ``sys.executable -m rnnshape``; ``--module`` forces the latter).

Usage::

    python bench/bench_inspect.py            # table, exit 1 if a target fails
    python bench/bench_inspect.py -n 9 --json
    python bench/bench_inspect.py --quick    # N=2, no warm-up: a smoke run

This is a script, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

BASELINE_CODE = "import torch"
ONE_LINER_CODE = "import torch; m=torch.nn.RNN(10,20); m(torch.randn(5,1,10))"
DRY_RUN_TARGET = 0.2
CPU_TARGET = 1.3
DEFAULT_SEQ_LENS = (10, 10_000, 10_000_000)
DEFAULT_MODES = ("lstm", "gru", "rnn")


@dataclass
class Bench:
    """One command and its timings."""

    name: str
    cmd: list[str]
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    def to_dict(self) -> dict[str, object]:
        return {
            "cmd": self.cmd,
            "median_s": self.median,
            "min_s": min(self.times) if self.times else None,
            "max_s": max(self.times) if self.times else None,
            "times_s": self.times,
            "failures": self.failures,
        }


@dataclass
class Check:
    name: str
    value: float
    target: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.value == self.value and self.value <= self.target  # NaN fails

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "target": self.target,
                "pass": self.passed, "detail": self.detail}


def cli_prefix(force_module: bool = False) -> list[str]:
    """The installed ``rnnshape`` script beside this interpreter, else ``python -m rnnshape``."""
    if not force_module:
        bindir = Path(sys.executable).parent
        for name in ("rnnshape", "rnnshape.exe"):
            script = bindir / name
            if script.is_file() and os.access(script, os.X_OK):
                return [str(script)]
        found = shutil.which("rnnshape", path=str(bindir))
        if found:
            return [found]
    return [sys.executable, "-m", "rnnshape"]


def build_benches(prefix: list[str], modes: list[str], seq_lens: list[int]) -> list[Bench]:
    py = sys.executable
    benches = [
        Bench("import torch", [py, "-c", BASELINE_CODE]),
        Bench("torch one-liner RNN(10,20)", [py, "-c", ONE_LINER_CODE]),
        Bench("inspect --dry-run", [*prefix, "inspect", "--dry-run"]),
        Bench("inspect rnn 10 20 --device cpu",
              [*prefix, "inspect", "rnn", "10", "20", "--seq-len", "5", "--batch", "1",
               "--device", "cpu"]),
    ]
    for mode in modes:
        for engine in ("meta", "dry"):
            for seq in seq_lens:
                tail = ["--device", "meta"] if engine == "meta" else ["--dry-run"]
                benches.append(Bench(
                    f"{mode} {engine} L={seq:,}",
                    [*prefix, "inspect", mode, "10", "20", "--num-layers", "2", "--bidirectional",
                     "--batch", "64", "--seq-len", str(seq), *tail]))
    return benches


def time_once(cmd: list[str], timeout: float) -> tuple[float, str | None]:
    """Wall seconds of one fresh subprocess, and a failure note (None when it exited 0)."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, f"timed out after {timeout:.0f} s"
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        return elapsed, f"exit {proc.returncode}: {err[-1] if err else ''}"
    return elapsed, None


def measure(benches: list[Bench], runs: int, warmup: int, timeout: float,
            progress: bool) -> None:
    """Interleave: every command once per round, so drift spreads evenly."""
    total = runs + warmup
    for rnd in range(total):
        timed = rnd >= warmup
        if progress:
            label = f"run {rnd - warmup + 1}/{runs}" if timed else f"warm-up {rnd + 1}/{warmup}"
            print(f"  {label} ...", file=sys.stderr, flush=True)
        for bench in benches:
            elapsed, failure = time_once(bench.cmd, timeout)
            if failure is not None:
                if failure not in bench.failures:
                    bench.failures.append(failure)
                continue
            if timed:
                bench.times.append(elapsed)


def evaluate(benches: list[Bench], modes: list[str], seq_lens: list[int],
             flat_tol: float) -> tuple[list[Check], dict[str, dict[str, float]]]:
    by_name = {b.name: b for b in benches}
    base = by_name["import torch"].median
    one_liner = by_name["torch one-liner RNN(10,20)"].median
    dry = by_name["inspect --dry-run"].median
    cpu = by_name["inspect rnn 10 20 --device cpu"].median
    checks = [
        Check("dry-run vs import torch", dry / base, DRY_RUN_TARGET,
              f"{dry:.3f} s / {base:.3f} s"),
        Check("--device cpu vs torch one-liner", cpu / one_liner, CPU_TARGET,
              f"{cpu:.3f} s / {one_liner:.3f} s"),
    ]
    flat: dict[str, dict[str, float]] = {}
    for mode in modes:
        for engine in ("meta", "dry"):
            medians = [by_name[f"{mode} {engine} L={s:,}"].median for s in seq_lens]
            ratio = max(medians) / min(medians) if len(medians) > 1 else 1.0
            flat[f"{mode} {engine}"] = {
                "max_over_min": ratio, "vs_import_torch": statistics.median(medians) / base,
                **{f"L={s}": m for s, m in zip(seq_lens, medians, strict=True)}}
            checks.append(Check(f"{mode} --{'device meta' if engine == 'meta' else 'dry-run'} "
                                f"flat in seq_len", ratio, flat_tol,
                                " / ".join(f"{m:.3f}" for m in medians) + " s"))
    for bench in benches:
        if bench.failures:
            checks.append(Check(f"{bench.name} ran cleanly", float("nan"), 0.0,
                                "; ".join(bench.failures)))
    return checks, flat


def print_table(benches: list[Bench], checks: list[Check], base: float, prefix: list[str],
                runs: int) -> None:
    print(f"rnnshape inspect benchmark: median of {runs} runs, CLI = {' '.join(prefix)}")
    print(f"python {platform.python_version()}, torch {_version('torch')}, "
          f"rnnshape {_version('rnnshape')}, {platform.machine()} x{os.cpu_count()}")
    print()
    width = max(len(b.name) for b in benches)
    print(f"{'command':<{width}}  {'median':>9}  {'min':>9}  {'max':>9}  {'x import torch':>14}")
    for b in benches:
        if b.times:
            print(f"{b.name:<{width}}  {b.median:>8.3f}s  {min(b.times):>8.3f}s  "
                  f"{max(b.times):>8.3f}s  {b.median / base:>14.2f}")
        else:
            print(f"{b.name:<{width}}  {'failed':>9}")
    print()
    width = max(len(c.name) for c in checks)
    print(f"{'target':<{width}}  {'ratio':>7}  {'limit':>7}  result  detail")
    for c in checks:
        print(f"{c.name:<{width}}  {c.value:>7.3f}  {c.target:>7.2f}  "
              f"{'PASS' if c.passed else 'FAIL':<6}  {c.detail}")
    failed = [c for c in checks if not c.passed]
    print()
    print("all targets met" if not failed else f"{len(failed)} target(s) FAILED")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _int_list(text: str) -> list[int]:
    return [int(p.replace("_", "")) for p in text.split(",") if p.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--runs", type=int, default=5, help="timed runs per command (median)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    ap.add_argument("--seq-lens", type=_int_list, default=list(DEFAULT_SEQ_LENS),
                    help="comma-separated sequence lengths (default 10,10000,10000000)")
    ap.add_argument("--modes", type=lambda s: [m for m in s.split(",") if m],
                    default=list(DEFAULT_MODES), help="comma-separated modes (default lstm,gru,rnn)")
    ap.add_argument("--flat-tol", type=float, default=1.25,
                    help="largest max/min ratio across seq lens that counts as flat (default 1.25)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per subprocess")
    ap.add_argument("--module", action="store_true", help="run `python -m rnnshape`, not the script")
    ap.add_argument("--quick", action="store_true", help="smoke run: -n 2 --warmup 0")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.warmup = 2, 0
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    prefix = cli_prefix(args.module)
    benches = build_benches(prefix, args.modes, args.seq_lens)
    measure(benches, args.runs, args.warmup, args.timeout, progress=not args.json)
    base = benches[0].median
    checks, flat = evaluate(benches, args.modes, args.seq_lens, args.flat_tol)
    ok = all(c.passed for c in checks)
    if args.json:
        print(json.dumps({
            "ok": ok,
            "runs": args.runs,
            "warmup": args.warmup,
            "cli": prefix,
            "python": platform.python_version(),
            "torch": _version("torch"),
            "rnnshape": _version("rnnshape"),
            "machine": f"{platform.machine()} x{os.cpu_count()}",
            "baseline_s": base,
            "results": {b.name: b.to_dict() for b in benches},
            "flat": flat,
            "checks": [c.to_dict() for c in checks],
        }, indent=2))
    else:
        print_table(benches, checks, base, prefix, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
