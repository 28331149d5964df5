"""User-supplied tensors: every format written by the real libraries, and every bad file."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from rnnshape.cli import app
from rnnshape.engine.tensors import TensorFileError, load

runner = CliRunner()


def inspect_json(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["inspect", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def files(tmp_path):
    """One real tensor (5, 3, 10) float32 saved in every supported format, plus extras."""
    x = torch.randn(5, 3, 10)
    paths = {}
    paths["pt"] = tmp_path / "x.pt"
    torch.save(x, paths["pt"])
    paths["dict"] = tmp_path / "d.pth"
    torch.save({"input": x, "h0": torch.zeros(1, 3, 20), "c0": torch.zeros(1, 3, 20),
                "ids": torch.randint(0, 321, (5, 3, 10))}, paths["dict"])
    paths["list"] = tmp_path / "l.pt"
    torch.save([x, torch.zeros(1, 3, 20)], paths["list"])
    paths["npy"] = tmp_path / "x.npy"
    np.save(paths["npy"], x.numpy())
    paths["npz"] = tmp_path / "x.npz"
    np.savez(paths["npz"], input=x.numpy(), other=np.zeros(4))
    paths["safetensors"] = tmp_path / "x.safetensors"
    save_file({"input": x.contiguous(), "h0": torch.zeros(1, 3, 20)}, str(paths["safetensors"]))
    return x, paths


@pytest.mark.parametrize("kind, key", [("pt", None), ("dict", "input"), ("list", "0"), ("npy", None),
                                       ("npz", "input"), ("safetensors", "input")])
def test_every_format_loads_the_same_tensor(files, kind, key) -> None:
    x, paths = files
    source = str(paths[kind]) + (f":{key}" if key else "")
    loaded = load(source, device="cpu")
    assert torch.equal(loaded.tensor, x)
    code, out = inspect_json("lstm", "10", "20", "--input", source, "--device", "cpu")
    expected_out, (h, c) = torch.nn.LSTM(10, 20)(x)
    assert code == 0
    assert out["tensors"]["output"]["shape"] == list(expected_out.shape)
    assert out["tensors"]["h_n"]["shape"] == list(h.shape)
    assert out["sources"]["input"].startswith(str(paths[kind]))


def test_states_from_files_are_passed_to_forward(files) -> None:
    _, paths = files
    d = str(paths["dict"])
    code, out = inspect_json("lstm", "10", "20", "--input", f"{d}:input", "--hidden", f"{d}:h0",
                             "--cell", f"{d}:c0", "--device", "cpu")
    assert code == 0, out
    assert out["tensors"]["h_0"]["shape"] == [1, 3, 20]


def test_integer_ids_get_an_embedding_fix_sized_from_the_data(files) -> None:
    _, paths = files
    ids = torch.load(paths["dict"], weights_only=True)["ids"]
    with pytest.raises(ValueError, match="does not match weight dtype"):
        torch.nn.LSTM(10, 20)(ids)  # torch refuses too
    code, out = inspect_json("lstm", "10", "20", "--input", f"{paths['dict']}:ids", "--device", "cpu")
    assert code == 1
    (d,) = out["diagnoses"]
    assert d["code"] == "integer-input"
    # (5, 3, 10) ids with input_size 10: an Embedding would make them 4-D, so the fix that
    # survives verification is the conversion; 2-D ids get the Embedding (tests/test_fixes.py)
    assert "model.to" not in d["fix"] and all(f["verified"] == "verified-by-torch" for f in d["fixes"])
    assert out["tensors"]["input"]["dtype"] == "int64"


def test_float64_data_is_a_dtype_mismatch_with_the_fix(files) -> None:
    _, paths = files
    np.save(str(paths["npy"]).replace("x.npy", "d.npy"), np.zeros((5, 3, 10)))  # float64
    path = str(paths["npy"]).replace("x.npy", "d.npy")
    code, out = inspect_json("gru", "10", "20", "--input", path, "--device", "cpu")
    assert code == 1
    assert out["diagnoses"][0]["code"] == "dtype-mismatch"
    assert "x.to(torch.float32)" in out["diagnoses"][0]["fix"]
    code, out = inspect_json("gru", "10", "20", "--input", path, "--device", "cpu", "--dtype", "float64")
    assert code == 0


def test_a_tensor_kept_on_another_device_is_a_device_mismatch(tmp_path) -> None:
    path = tmp_path / "meta.pt"
    torch.save(torch.empty(5, 3, 10, device="meta"), path)
    with pytest.raises(RuntimeError) as real:
        torch.nn.GRU(10, 20)(torch.load(path, weights_only=True))
    code, out = inspect_json("gru", "10", "20", "--input", str(path), "--device", "cpu", "--keep-device")
    assert code == 1
    (d,) = out["diagnoses"]
    assert d["code"] == "device-mismatch"
    assert d["evidence"]["torch_message"] == str(real.value)
    # without --keep-device it is loaded on the chosen device
    code, out = inspect_json("gru", "10", "20", "--input", str(path), "--device", "meta")
    assert code == 0 and out["tensors"]["input"]["device"] == "meta"


# --------------------------------------------------------------------------- bad files


def test_a_pickle_that_runs_code_is_refused_and_its_code_never_runs(tmp_path) -> None:
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    # A payload that would create the marker file if it were ever unpickled.
    script = (
        "import os, torch\n"
        "class Evil:\n"
        "    def __reduce__(self):\n"
        f"        return (os.system, ('touch {marker}',))\n"
        f"torch.save({{'input': Evil()}}, {str(path)!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert path.exists() and not marker.exists()
    result = runner.invoke(app, ["inspect", "lstm", "--input", str(path), "--device", "cpu"])
    assert result.exit_code == 2
    assert "refused" in result.stderr and "weights_only=True" in result.stderr
    assert "Traceback" not in result.output
    assert not marker.exists()


def test_pickled_numpy_objects_are_refused(tmp_path) -> None:
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(TensorFileError, match="pickled"):
        load(str(path), device="cpu")


@pytest.mark.parametrize("make, fragment", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "corrupt or truncated"),
    (lambda p: torch.save({"n": 3, "s": "text"}, p), "holds no tensor"),
    (lambda p: torch.save(7, p), "not a tensor, a dict or a list"),
])
def test_bad_pt_files_are_clear_usage_errors(tmp_path, make, fragment) -> None:
    path = tmp_path / "bad.pt"
    make(path)
    result = runner.invoke(app, ["inspect", "lstm", "--input", str(path)])
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_truncated_files_of_every_format(files, tmp_path) -> None:
    _, paths = files
    for kind in ("pt", "npy", "npz", "safetensors"):
        data = paths[kind].read_bytes()
        cut = tmp_path / ("cut" + paths[kind].suffix)
        cut.write_bytes(data[: len(data) // 2])
        key = ":input" if kind in ("npz", "safetensors") else ""
        with pytest.raises(TensorFileError):
            load(str(cut) + key, device="cpu")


def test_missing_key_lists_what_is_there(files) -> None:
    _, paths = files
    for kind in ("dict", "npz", "safetensors", "list"):
        with pytest.raises(TensorFileError) as info:
            load(f"{paths[kind]}:nope", device="cpu")
        assert "It has:" in str(info.value)
    with pytest.raises(TensorFileError, match=r"input \(5, 3, 10\) float32"):
        load(f"{paths['dict']}:nope", device="cpu")


def test_safetensors_header_lies_are_caught(tmp_path) -> None:
    path = tmp_path / "lie.safetensors"
    header = json.dumps({"x": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4000000]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    with pytest.raises(TensorFileError, match="truncated"):
        load(str(path), device="cpu")
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(TensorFileError, match="header length"):
        load(str(path), device="cpu")


def test_unknown_suffix_and_folder(tmp_path) -> None:
    (tmp_path / "x.csv").write_text("1,2,3")
    with pytest.raises(TensorFileError, match="unknown file type"):
        load(str(tmp_path / "x.csv"), device="cpu")
    with pytest.raises(TensorFileError, match="folder"):
        load(str(tmp_path), device="cpu")


def test_lengths_from_a_file(tmp_path) -> None:
    x = torch.randn(3, 5, 4)
    torch.save({"x": x, "lengths": torch.tensor([5, 2, 4])}, tmp_path / "b.pt")
    src = str(tmp_path / "b.pt")
    code, out = inspect_json("gru", "4", "6", "--batch-first", "--input", f"{src}:x",
                             "--lengths", f"{src}:lengths", "--no-enforce-sorted", "--device", "cpu")
    assert code == 0, out
    assert out["packed"]["lengths"] == [5, 2, 4]
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [5, 2, 4], batch_first=True, enforce_sorted=False)
    assert out["packed"]["batch_sizes"] == packed.batch_sizes.tolist()


def test_dry_run_refuses_to_load_files(files) -> None:
    _, paths = files
    result = runner.invoke(app, ["inspect", "lstm", "--input", str(paths["pt"]), "--dry-run"])
    assert result.exit_code == 2 and "--input-shape" in result.stderr


def test_loading_keeps_torch_out_of_paths_that_do_not_need_it() -> None:
    """rnnshape.engine.tensors imports torch lazily: importing the module alone stays torch-free."""
    code = "import sys, rnnshape.engine.tensors, rnnshape.engine.inputs; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    assert out.stdout.strip() == "False"


def test_repeat_reports_median_and_spread() -> None:
    code, out = inspect_json("gru", "4", "6", "--device", "cpu", "--repeat", "3")
    assert code == 0
    t = out["timing"]
    assert t["repeat"] == 3 and t["min_ms"] <= t["median_ms"] <= t["max_ms"]
    assert runner.invoke(app, ["inspect", "--repeat", "-1"]).exit_code == 2


def test_progress_spinner_only_on_a_terminal(monkeypatch) -> None:
    from rnnshape.commands import inspect as cli

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert cli._progress("cpu") is None
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    factory = cli._progress("cpu")
    with factory():  # a Rich status spinner on stderr
        pass


def test_memory_estimate_is_in_the_json() -> None:
    code, out = inspect_json("lstm", "10", "20", "--device", "meta", "--seq-len", "1000", "--batch", "64")
    assert code == 0
    x_bytes = 1000 * 64 * 10 * 4
    assert out["memory_estimate_bytes"] > x_bytes
    code, out = inspect_json("lstm", "10", "20", "--device", "cpu", "--seq-len", "1000", "--batch", "64",
                             "--max-memory", "1MB")
    assert code == 2 and "--device meta" in out["error"]


def test_a_tensor_files_path_is_printed_as_written_never_as_markup(tmp_path) -> None:
    folder = tmp_path / "exp[run]"   # Rich would read "[run]" as a markup tag in a plain str
    folder.mkdir()
    torch.save(torch.zeros(5, 3, 10), folder / "x.pt")
    res = CliRunner().invoke(app, ["inspect", "lstm", "10", "20", "--input", str(folder / "x.pt"),
                                   "--device", "cpu"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "exp[run]" in res.output
