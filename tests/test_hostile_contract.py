"""One exit-code and JSON contract on every path, and no raw control characters (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import torch
from conftest import REPO, invoke_main, one_json_object, rnnshape_env

from rnnshape.commands.common import EXIT_INTERNAL, EXIT_USAGE


def _cli(*args: str, stdin: int | None = None, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnshape", *args], capture_output=stdin is None,
                          stdin=stdin, text=True, timeout=120, cwd=REPO, env=env or rnnshape_env(), **kw)


# --------------------------------------------------------------------------- exit codes and JSON

@pytest.mark.parametrize("args", [
    ["inspect", "--seq-len", "abc"], ["inspect", "--bogus"], ["explain", "--nope", "x"],
    ["check", "a.toml", "b.toml"], ["inspect", "--seq-len", "1" * 5000], ["trace"],
    ["diagnose", "--timeout", "soon"], ["nosuchcommand"],
])
def test_parser_errors_are_usage_errors_with_one_json_object(args: list[str]) -> None:
    code, out, err = invoke_main(*args, "--json")
    assert code == EXIT_USAGE
    found = one_json_object(out)
    assert found["ok"] is False and found["exit_code"] == EXIT_USAGE and found["error"]


def test_an_internal_error_exits_3_with_a_report_request_and_json(monkeypatch) -> None:
    import rnnshape.explain.explainer as explainer

    def broken(*_a, **_k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(explainer, "explain_text", broken)
    code, out, err = invoke_main("explain", "RuntimeError: boom", "--json")
    assert code == EXIT_INTERNAL
    found = one_json_object(out)
    assert found["exit_code"] == EXIT_INTERNAL and "simulated bug" in found["error"]
    assert "please report it" in err and "Traceback" not in err
    code, out, err = invoke_main("explain", "RuntimeError: boom")
    assert code == EXIT_INTERNAL and out == "" and "internal error" in err


def test_full_stdout_is_a_clear_error_not_a_traceback() -> None:
    with open("/dev/full", "w") as full:
        proc = _cli("inspect", "lstm", "10", "20", "--dry-run", stdin=subprocess.DEVNULL,
                    stdout=full, stderr=subprocess.PIPE)
    assert proc.returncode == EXIT_USAGE
    assert "cannot write the output" in proc.stderr and "Traceback" not in proc.stderr


def test_closed_stdout_and_stdin() -> None:
    proc = subprocess.run(f"{sys.executable} -m rnnshape inspect lstm 10 20 --dry-run >&-", shell=True,
                          capture_output=False, stderr=subprocess.PIPE, text=True, cwd=REPO, env=rnnshape_env(),
                          timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    proc = subprocess.run(f"{sys.executable} -m rnnshape explain --json <&-", shell=True, capture_output=True,
                          text=True, cwd=REPO, env=rnnshape_env(), timeout=120)
    assert proc.returncode == EXIT_USAGE and one_json_object(proc.stdout)["exit_code"] == EXIT_USAGE


def test_broken_pipe_is_quiet() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "rnnshape", "inspect", "lstm", "10", "20", "--dry-run",
                             "--num-layers", "300"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO, env=rnnshape_env())
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before a byte is read
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"Exception ignored" not in err


def test_ascii_only_stdout_escapes_instead_of_crashing() -> None:
    proc = _cli("inspect", "lstm", "10", "20", "--dry-run", env={**rnnshape_env(), "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr
    assert "shapes work" in proc.stdout and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- trace


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "hostile_model.py"
    path.write_text(
        "import sys\nimport torch.nn as nn\n\n"
        "class Exits(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.rnn = nn.LSTM(10, 20)\n\n    def forward(self, x):\n        sys.exit(3)\n\n"
        "class ExitsEarly(nn.Module):\n    def __init__(self):\n        sys.exit(3)\n\n"
        "class Item(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.rnn = nn.LSTM(100, 20)\n\n    def forward(self, x):\n"
        "        n = int(x.sum().item())\n        return self.rnn(x)\n")
    return path


@pytest.mark.parametrize("name", ["Exits", "ExitsEarly"])
def test_trace_reports_a_models_sys_exit(model_file, name: str) -> None:
    code, out, _ = invoke_main("trace", f"{model_file}:{name}", "--input-shape", "5,3,10", "--json")
    assert code == 1
    found = one_json_object(out)
    assert found["ok"] is False and found["error"]["type"] == "SystemExit"


def test_trace_cpu_fallback_goes_through_the_memory_guard(model_file) -> None:
    from rnnshape.engine.trace import trace_model

    result = trace_model(f"{model_file}:Item", [(100_000, 100_000, 100)])  # 4 TB on cpu
    assert result.device == "meta"
    assert any("not retried on cpu" in n and "nothing was allocated" in n for n in result.notes)


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize("args", [
    ["--num-layers", "100000000"], ["--lengths", "100000000"], ["--input-size", "9" * 30],
    ["--seq-len", "9" * 30],
])
@pytest.mark.parametrize("dry", [True, False])
def test_one_absurd_size_is_a_quick_usage_error(args: list[str], dry: bool) -> None:
    t0 = time.monotonic()
    code, out, _ = invoke_main("inspect", "lstm", *args, *(["--dry-run"] if dry else ["--device", "meta"]),
                               "--json")
    assert code == EXIT_USAGE and time.monotonic() - t0 < 10
    assert one_json_object(out)["exit_code"] == EXIT_USAGE


def test_a_lengths_file_of_2_pow_62_is_refused(tmp_path) -> None:
    path = tmp_path / "lengths.pt"
    torch.save(torch.tensor([2**62, 1]), path)
    t0 = time.monotonic()
    code, out, _ = invoke_main("inspect", "lstm", "--batch", "2", "--device", "meta", "--lengths", str(path),
                               "--json")
    assert code == EXIT_USAGE and "more steps than rnnshape packs" in one_json_object(out)["error"]
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("extra", ['lengths = [4611686018427387904, 1]', "num_layers = 100000000"])
def test_absurd_sizes_in_a_toml_case_are_refused_quickly(tmp_path, extra: str) -> None:
    path = tmp_path / "cases.toml"
    path.write_text(f'[[case]]\nname = "huge"\nmode = "lstm"\ninput_size = 10\nhidden_size = 20\n'
                    f'input = [5, 2, 10]\n{extra}\n')
    t0 = time.monotonic()
    code, out, _ = invoke_main("check", str(path), "--dry-run", "--json")
    assert time.monotonic() - t0 < 10
    found = one_json_object(out)
    assert code == 1 and found["cases"][0]["status"] == "error"
    assert "rnnshape" in found["cases"][0]["message"]


# --------------------------------------------------------------------------- special files


@pytest.mark.parametrize("command", [["check"], ["diagnose"], ["check", "--dry-run"], ["explain", "--file"]])
def test_fifos_and_devices_refused_at_once(tmp_path, command: list[str]) -> None:
    fifo = tmp_path / "cases.toml"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero"):
        t0 = time.monotonic()
        code, out, _ = invoke_main(*command, target, "--json")
        assert code == EXIT_USAGE and time.monotonic() - t0 < 10
        assert "regular file" in one_json_object(out)["error"]


def test_an_oversized_toml_is_refused(tmp_path) -> None:
    path = tmp_path / "big.toml"
    path.write_bytes(b"# padding\n" * 500_000)  # 5 MB of comments
    code, out, _ = invoke_main("check", str(path), "--json")
    assert code == EXIT_USAGE and "larger than 4 MB" in one_json_object(out)["error"]


# --------------------------------------------------------------------------- terminal injection

ESC_PAYLOAD = "\x1bc\x1b]52;c;cHduZWQ=\x07\x9b2J"


def test_toml_case_names_are_escaped(tmp_path) -> None:
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nname = "evil\\u001bc\\u001b]52;c;cHduZWQ=\\u0007"\nlayer = "nn.LSTM(10, 20)"\n'
                    'input = [5, 3, 11]\n')
    code, out, _ = invoke_main("check", str(path), "--dry-run")
    assert code == 1 and "evil^[c" in out
    assert not any(ch in out for ch in "\x1b\x07\x9b")


@pytest.mark.parametrize("args", [
    ["explain", f"RuntimeError: input.size(-1) must be equal to input_size. Expected 8, got 10{ESC_PAYLOAD}"],
    ["inspect", f"nn.LSTM(10, 20, nonlinearity='{ESC_PAYLOAD}')", "--dry-run"],
    ["inspect", f"nn.LSTM{ESC_PAYLOAD}(10, 20)", "--dry-run"],
])
def test_pasted_text_and_constructor_values_are_escaped(args: list[str]) -> None:
    code, out, err = invoke_main(*args)
    assert code in (0, 1, 2)
    assert not any(ch in out + err for ch in "\x1b\x07\x9b"), (out + err)[:500]


def test_diagnose_paste_is_escaped() -> None:
    code, out, err = invoke_main("diagnose", input=f"import torch.nn as nn\nrnn = nn.LSTM(10, 20)  # {ESC_PAYLOAD}\n"
                                                   f"x = torch.zeros(5, 3, 11)\nrnn(x)\n")
    assert not any(ch in out + err for ch in "\x1b\x07\x9b")


def test_trace_module_names_are_escaped(tmp_path) -> None:
    path = tmp_path / "named.py"
    path.write_text("import torch.nn as nn\n\nclass M(nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.add_module('evil\\x1bc', nn.LSTM(10, 20))\n\n"
                    "    def forward(self, x):\n        return getattr(self, 'evil\\x1bc')(x)\n")
    code, out, err = invoke_main("trace", f"{path}:M", "--input-shape", "5,3,11")
    assert code == 1
    assert "\x1b" not in out + err and "evil^[c" in out


def test_junit_xml_is_parseable_with_control_characters(tmp_path) -> None:
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nname = "bad\\u0001\\u001bname"\nlayer = "nn.LSTM(10, 20)"\ninput = [5, 3, 11]\n')
    report = tmp_path / "report.xml"
    code, _, _ = invoke_main("check", str(path), "--dry-run", "--junit-xml", str(report))
    assert code == 1
    names = [c.get("name") for c in ET.parse(report).iter("testcase")]
    assert names == ["bad\\x01\\x1bname"]


def test_junit_xml_never_overwrites_the_input_toml(tmp_path) -> None:
    path = tmp_path / "cases.toml"
    text = '[[case]]\nname = "a"\nlayer = "nn.LSTM(10, 20)"\ninput = [5, 3, 10]\n'
    path.write_text(text)
    code, out, _ = invoke_main("check", str(path), "--dry-run", "--junit-xml", str(path), "--json")
    assert code == EXIT_USAGE and "would overwrite it" in one_json_object(out)["error"]
    assert path.read_text() == text


def test_json_output_escapes_control_characters() -> None:
    code, out, _ = invoke_main("explain", f"RuntimeError: boom{ESC_PAYLOAD}", "--json")
    assert "\x1b" not in out
    assert ESC_PAYLOAD in json.dumps(one_json_object(out)) or "\\u001b" in out


HUGE = "1" + "0" * 5000  # past Python's 4,300-digit int() limit


@pytest.mark.parametrize("args", [
    ["inspect", "lstm", "--input-shape", f"{HUGE},1,10", "--dry-run"],
    ["inspect", "lstm", "--lengths", HUGE, "--dry-run"],
    ["inspect", "lstm", "--expect", f"output={HUGE}", "--dry-run"],
    ["inspect", "lstm", "--max-memory", f"{HUGE}GB", "--device", "meta"],
    ["inspect", f"nn.LSTM({HUGE}, 2)", "--dry-run"],
    ["inspect", "lstm", "--seq-len", HUGE, "--dry-run"],
    ["diagnose", "--shape", f"x={HUGE},2"],
])
def test_5000_digit_sizes_are_usage_errors(args: list[str]) -> None:
    code, out, err = invoke_main(*args, "--json", input="x = 1\n")
    assert code == EXIT_USAGE, err
    assert one_json_object(out)["exit_code"] == EXIT_USAGE


@pytest.mark.parametrize("extra", [["--input-shape", HUGE], ["--input-shape", "2,2,100", "--input-value", f"[{HUGE}]"],
                                   ["--input-shape", "2,2,100", "--init-args", f"[{HUGE}]"]])
def test_5000_digit_values_in_trace_are_usage_errors(model_file, extra: list[str]) -> None:
    code, out, err = invoke_main("trace", f"{model_file}:Item", *extra, "--json")
    assert code == EXIT_USAGE, err
    assert one_json_object(out)["exit_code"] == EXIT_USAGE


def test_trace_json_stays_one_object_when_the_model_prints(tmp_path) -> None:
    path = tmp_path / "chatty.py"
    path.write_text("import torch.nn as nn\nprint('importing')\n\nclass M(nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        print('building')\n        self.rnn = nn.GRU(10, 20)\n\n"
                    "    def forward(self, x):\n        print('forward')\n        return self.rnn(x)\n")
    code, out, err = invoke_main("trace", f"{path}:M", "--input-shape", "5,3,10", "--json")
    assert code == 0 and one_json_object(out)["ok"] is True
    assert "forward" in err
