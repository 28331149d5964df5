"""``render.jsontext.dumps`` against ``json.dumps(indent=2)`` on the output of a 10,000-line ``diagnose --json``.

In-process, CPU time, interleaved rounds, the cyclic collector paused as ``diagnose`` pauses it; the
median counts. The output (1.4 MB: ``lines`` with their shapes) is the largest any command prints in
the benches; ``dumps`` must write exactly ``json.dumps(value, indent=2, default=repr)``'s text (checked
here too) in at most half the time ``json``'s own indented encoder takes (the old ``dumps`` took as long).

    python bench/bench_jsontext.py [--runs 21]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnshape.diagnose.snippets import diagnose_paste  # noqa: E402 - this tree's package, not an installed one
from rnnshape.render.jsontext import dumps  # noqa: E402

BUDGET = 0.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    block = (ROOT / "tests" / "data" / "snippets" / "model_class_ok.py.txt").read_text() + "\n"
    value = diagnose_paste(block * (10_000 // block.count("\n")), name="lines_10k.py").to_dict()
    text = dumps(value)
    if text != json.dumps(value, indent=2, default=repr):
        sys.exit("jsontext.dumps and json.dumps(indent=2) disagree")
    writers = {"jsontext.dumps": dumps,
               "json.dumps(indent=2)": lambda v: json.dumps(v, indent=2, default=repr),
               "json.dumps (compact, C)": json.dumps}
    times: dict[str, list[float]] = {name: [] for name in writers}
    gc.collect()
    gc.disable()  # as `diagnose` writes it: its collector is paused through the output (commands/diagnose.py)
    for _ in range(args.runs):
        for name, write in writers.items():
            t0 = time.process_time()
            write(value)
            times[name].append(time.process_time() - t0)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"python {sys.version.split()[0]}, {len(text) / 1e6:.1f} MB of JSON, median CPU of {args.runs} rounds")
    for name, m in med.items():
        print(f"  {name:<26} {m * 1000:7.1f} ms")
    ratio = med["jsontext.dumps"] / med["json.dumps(indent=2)"]
    verdict = "OK" if ratio <= BUDGET else "OVER"
    print(f"jsontext.dumps / json.dumps(indent=2) = {ratio:.2f} (budget {BUDGET}): {verdict}")
    sys.exit(0 if ratio <= BUDGET else 1)


if __name__ == "__main__":
    main()
