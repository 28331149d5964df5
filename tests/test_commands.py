"""Every command through the CLI, checked against real torch; and what each torch-free command imports.

Expected shapes come from torch run in the test (``conftest.torch_shapes``); the import guard runs
each command in a fresh ``python -X importtime`` process and reads the modules it loaded.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import EXAMPLES, cli, cli_json, imported_by, json_shapes, run_module, torch_shapes
from torch import nn

COMMANDS = ("inspect", "explain", "check", "trace", "diagnose", "run")


def _torch_error(call) -> str:
    try:
        call()
    except RuntimeError as exc:
        return str(exc)
    raise AssertionError("torch accepted the call")


# --------------------------------------------------------------------------- each command


def test_help_lists_every_command_in_process_and_installed() -> None:
    full = cli("--help")
    listed = run_module("--help")
    assert full.exit_code == 0 and listed.returncode == 0, listed.stderr
    section = listed.stdout.split("Commands:", 1)[1]
    full_section = full.stdout.split("Commands:", 1)[1]
    for name in COMMANDS:  # the listing shows each command with the real command's help
        line = next(x for x in section.splitlines() if x.strip().startswith(name + " "))
        assert line.split(None, 1)[1][:30] in full_section
    assert run_module("--version").stdout.startswith("rnnshape ")


def test_an_unknown_command_is_a_usage_error() -> None:
    out = run_module("inpsect")
    assert out.returncode == 2 and "No such command 'inpsect'" in out.stderr and "Traceback" not in out.stderr


def test_inspect_gives_torchs_shapes() -> None:
    payload = cli_json("nn.GRU(10, 16, num_layers=2, bidirectional=True)", "--input-shape", "7,3,10",
                       "--device", "cpu", command="inspect")
    want = torch_shapes(nn.GRU(10, 16, num_layers=2, bidirectional=True), (7, 3, 10))
    assert {k: v for k, v in json_shapes(payload).items() if k in want} == want


def test_explain_names_torchs_own_message() -> None:
    message = _torch_error(lambda: nn.LSTM(10, 20)(torch.zeros(5, 3, 12)))
    payload = cli_json(f"RuntimeError: {message}", command="explain")
    assert payload["diagnoses"][0]["code"] == "input-size-mismatch"
    assert payload["diagnoses"][0]["evidence"]["expected"] == 10


def test_check_passes_with_torchs_shapes_and_names_the_engine(tmp_path: Path) -> None:
    want = torch_shapes(nn.LSTM(8, 12, batch_first=True), (4, 9, 8))
    path = tmp_path / "cases.toml"
    path.write_text(textwrap.dedent(f"""
        [[case]]
        name = "encoder"
        layer = "nn.LSTM(8, 12, batch_first=True)"
        input = [4, 9, 8]
        expect = {{ output = {list(want['output'])}, h_n = {list(want['h_n'])} }}

        [[case]]
        name = "too-wide"
        layer = "nn.LSTM(8, 12)"
        input = [4, 9, 9]
        expect_error = "input-size-mismatch"
    """))
    payload = cli_json(path, command="check")
    assert payload["ok"] and payload["device"] == "fast"
    assert [c["report"]["engine"] for c in payload["cases"]] == ["torch (cpu, 1-step window), the fast engine"] * 2
    human = cli(path, command="check")
    assert human.exit_code == 0 and "engine: torch (cpu, 1-step window), the fast engine" in human.stdout


def test_trace_follows_torchs_shapes(tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text(textwrap.dedent("""
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(50, 8)
                self.gru = nn.GRU(8, 16, batch_first=True)
                self.fc = nn.Linear(16, 3)

            def forward(self, x):
                out, _ = self.gru(self.emb(x))
                return self.fc(out[:, -1])
    """))
    payload = cli_json(f"{model}:Net", "--input-shape", "4,7", "--input-dtype", "long", command="trace")
    assert payload["ok"]
    gru = next(c for c in payload["tree"]["children"] if c["path"] == "gru")
    want = torch_shapes(nn.GRU(8, 16, batch_first=True), (4, 7, 8))
    assert [tuple(v["shape"]) for v in gru["outputs"]] == [want["output"], want["h_n"]]


def test_diagnose_stops_at_the_line_torch_refuses(tmp_path: Path) -> None:
    snippet = ("import torch\nfrom torch import nn\nlstm = nn.LSTM(10, 20)\nx = torch.randn(5, 3, 12)\n"
               "out, h = lstm(x)\n")
    _torch_error(lambda: nn.LSTM(10, 20)(torch.randn(5, 3, 12)))  # the oracle: torch refuses line 5
    path = tmp_path / "snippet.py"
    path.write_text(snippet)
    payload = cli_json(path, code=1, command="diagnose")
    assert payload["error"]["line"] == 5 and payload["error"]["code"] == "input-size-mismatch"


def test_run_explains_the_error_torch_raises_and_its_fix_runs(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("import torch\nfrom torch import nn\nlstm = nn.LSTM(10, 20)\n"
                      "out, h = lstm(torch.zeros(5, 3, 12))\n")
    message = _torch_error(lambda: nn.LSTM(10, 20)(torch.zeros(5, 3, 12)))  # the oracle: torch refuses line 4
    proc = run_module("run", str(script))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"RuntimeError: {message}" in proc.stderr  # the program's own traceback first, as Python prints it
    assert "error input-size-mismatch" in proc.stderr and "train.py:4" in proc.stderr
    fix = next(line for line in proc.stderr.splitlines() if line.startswith("rnn = nn.LSTM("))
    scope: dict = {"nn": nn}
    exec(fix, scope)  # the printed fix, run in torch on the program's input: batch and time stay
    out, _ = scope["rnn"](torch.zeros(5, 3, 12))
    assert tuple(out.shape[:2]) == (5, 3)


# --------------------------------------------------------------------------- what each command imports

_ERROR = "RuntimeError: input.size(-1) must be equal to input_size. Expected 10, got 12\n"
_SNIPPET = "".join(f"h{i} = {i}\n" for i in range(14)) + (
    "import torch\nfrom torch import nn\nlstm = nn.LSTM(10, 20)\nx = torch.randn(5, 3, 12)\nout, h = lstm(x)\n")
#: Never on a torch-free path: the heavy modules the issue measured.
HEAVY = ("torch", "numpy", "statistics")
_OTHER_COMMANDS = {
    "explain": ("rnnshape.check", "rnnshape.diagnose", "rnnshape.engine", "rnnshape.model"),
    "inspect": ("rnnshape.check", "rnnshape.diagnose", "rnnshape.explain"),
    "check": ("rnnshape.diagnose", "rnnshape.explain"),
    "diagnose": ("rnnshape.check", "rnnshape.engine", "rnnshape.explain"),  # explain: only for a pasted traceback
}


def _files(tmp_path: Path) -> dict[str, str]:
    err, snip = tmp_path / "err.txt", tmp_path / "snippet.py"
    err.write_text(_ERROR)
    snip.write_text(_SNIPPET)
    return {"err": str(err), "snippet": str(snip), "cases": str(EXAMPLES / "sentiment" / "check.toml")}


@pytest.mark.parametrize("args", [
    ("explain", "-f", "{err}"),
    ("inspect", "lstm", "10", "20", "--dry-run"),
    ("check", "{cases}", "--dry-run"),
    ("diagnose", "{snippet}"),
], ids=lambda a: a[0])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "human"])
def test_torch_free_commands_import_only_what_they_use(tmp_path: Path, args: tuple[str, ...], as_json: bool) -> None:
    argv = [a.format(**_files(tmp_path)) for a in args] + (["--json"] if as_json else [])
    proc, modules = imported_by(*argv)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    heavy = [m for m in HEAVY if m in modules]
    assert not heavy, f"{' '.join(argv)} imported {heavy}"
    if as_json:
        assert not [m for m in modules if m == "rich" or m.startswith("rich.")], f"{argv}: --json imported rich"
    command = args[0]
    others = [m for m in modules if m.startswith("rnnshape.commands.") and m != f"rnnshape.commands.{command}"
              and m != "rnnshape.commands.common"]
    others += [m for m in modules for p in _OTHER_COMMANDS[command] if m == p or m.startswith(p + ".")]
    assert not others, f"{command} imported other commands' code: {sorted(others)}"
    if command == "explain":  # panels only: neither the inspect report code nor Rich's tables
        assert not {"rnnshape.engine.report", "rnnshape.model.shapes", "rich.table"} & modules
    if command != "diagnose":  # --json is written by render.jsontext; the layer picture and tensor files only on demand
        unused = {"json", "rnnshape.model.layout", "rnnshape.engine.tensors"} & modules
        assert not unused, f"{' '.join(argv)} imported {sorted(unused)}"
    if command == "check":  # a passing case draws no diagnosis panel
        assert "rnnshape.render.report" not in modules


def test_help_imports_no_command_code_beyond_the_listing() -> None:
    proc, modules = imported_by("--help")
    assert proc.returncode == 0
    if int(os.environ.get("COLUMNS") or 80) >= 80:  # the kept listing (rnnshape/_listing.py, tests/test_startup.py)
        assert "typer" not in modules
    assert not [m for m in (*HEAVY, "rich") if m in modules]
    assert not [m for m in modules if m.startswith(("rnnshape.engine", "rnnshape.explain", "rnnshape.diagnose.",
                                                   "rnnshape.check", "rnnshape.model", "rnnshape.render"))]
