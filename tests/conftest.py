"""Shared test helpers. Each block belongs to one area; add yours as a new block."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


# --------------------------------------------------------------------------- CLI runners and torch oracle
# (issue #13: the helpers every CLI and differential test shares)


def cli(*args: object, command: str | None = None) -> Any:
    """``rnnshape ARGS`` in-process (typer's CliRunner); whatever the input, no exception may escape.

    ``command``: prepended to ``args`` (``cli("lstm", command="inspect")``).
    """
    from typer.testing import CliRunner

    from rnnshape.cli import app

    argv = ([command] if command else []) + [str(a) for a in args]
    res = CliRunner().invoke(app, argv)
    assert res.exception is None or isinstance(res.exception, SystemExit), f"uncaught {res.exception!r} for {argv}"
    assert "Traceback" not in res.output, res.output
    assert res.exit_code in (0, 1, 2), res.output
    return res


def cli_json(*args: object, code: int = 0, command: str | None = None) -> dict:
    """``rnnshape ARGS --json``: the exit code must be ``code``; the parsed JSON object."""
    res = cli(*args, "--json", command=command)
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    return json.loads(res.stdout)


def run_module(*args: str, timeout: float = 300, env: dict[str, str] | None = None,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m rnnshape ARGS`` in a fresh process, from the repository root (this tree's package)."""
    full_env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rnnshape", *args], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, timeout=timeout, input=stdin)


def run_python(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python ARGS`` from the repository root (the example scripts)."""
    env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def imported_by(*args: str, stdin: str | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m rnnshape ARGS``: the process and every module it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rnnshape", *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
                          input=stdin)
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    return proc, modules


def torch_outputs(module: Any, x: Any, hx: Any = None) -> dict[str, Any]:
    """Run ``module`` on ``x`` (and ``hx``) under no_grad; name the results as the torch docs do.

    A PackedSequence output is padded back (``output``) and its data kept as ``output_packed``.
    """
    import torch
    from torch import nn
    from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

    module.eval()
    with torch.no_grad():
        out = module(x) if hx is None else module(x, hx)
    if isinstance(module, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        return {"h_1": out[0], "c_1": out[1]} if isinstance(module, nn.LSTMCell) else {"h_1": out}
    output, state = out
    found: dict[str, Any] = {}
    if isinstance(output, PackedSequence):
        found["output_packed"] = output.data
        output = pad_packed_sequence(output, batch_first=module.batch_first)[0]
    found["output"] = output
    if isinstance(module, nn.LSTM):
        found.update(h_n=state[0], c_n=state[1])
    else:
        found["h_n"] = state
    return found


def torch_shapes(module: Any, x_shape: tuple[int, ...], hx: Any = None, *, dtype: Any = None,
                 h: tuple[int, ...] | None = None, c: tuple[int, ...] | None = None,
                 lengths: list[int] | None = None, enforce_sorted: bool = True) -> dict[str, tuple[int, ...]]:
    """The oracle: the shapes real torch gives for ``module`` on an input of ``x_shape``.

    States: ``hx`` (tensors, as given), or ``h``/``c`` shapes (zeros). ``lengths`` packs the input.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    dtype = dtype or torch.float32
    module = module.to(dtype)
    x: Any = torch.zeros(x_shape, dtype=dtype)
    if lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(lengths), batch_first=module.batch_first,
                                 enforce_sorted=enforce_sorted)
    if hx is None and h is not None:
        zeros_h = torch.zeros(h, dtype=dtype)
        hx = (zeros_h, torch.zeros(c, dtype=dtype)) if c is not None else zeros_h
    return {k: tuple(v.shape) for k, v in torch_outputs(module, x, hx).items()}


def json_shapes(payload: dict) -> dict[str, tuple[int, ...]]:
    """The tensor shapes of an ``inspect --json`` payload (or a Report's to_dict())."""
    return {name: tuple(t["shape"]) for name, t in payload["tensors"].items()}
