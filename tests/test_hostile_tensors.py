"""Hostile tensor files (issue 15): sizes come from headers and pass the memory guard before any byte is read."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from conftest import REPO, measured_run, rnnshape_env

from rnnshape.engine.tensors import TensorFileError, load

GIB = 1024**3


def _npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _zeros_npz(path, gib: float) -> None:
    """An .npz whose one member inflates to ``gib`` GiB of zeros (written in chunks: never in memory)."""
    count = int(gib * GIB) // 4
    chunk = bytes(64 * 1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("input.npy", "w", force_zip64=True) as member:
            member.write(_npy_header((count,)))
            left = count * 4
            while left:
                member.write(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    _zeros_npz(path, 0.5)
    return path


@pytest.mark.long  # builds a gigabyte-sized archive, then measures peak memory: CI's long step
def test_npz_bomb_refused_from_its_header_without_inflating(zip_bomb, tmp_path) -> None:
    assert os.path.getsize(zip_bomb) < 8 * 1024 * 1024  # a few MB on disk, 512 MiB inflated
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((5, 3, 10), dtype=np.float32))
    baseline = measured_run("inspect", "--input", str(small), "--device", "meta")
    assert baseline.rc == 0, baseline.err
    got = measured_run("inspect", "--input", f"{zip_bomb}:input", "--device", "meta", "--max-memory", "100MB")
    assert got.rc == 2, got.err
    assert "it was not loaded" in got.err and "512.0 MB" in got.err
    assert "nothing was allocated" not in got.err
    # Refused from the header: the peak stays near a normal run's, far below the 512 MiB it holds.
    assert got.peak_bytes < baseline.peak_bytes + 200 * 1024**2, (got.peak_bytes, baseline.peak_bytes)


def test_header_claiming_terabytes_refused_by_free_memory(tmp_path) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_header((2**20, 2**20)) + bytes(16))  # claims 4 TiB, holds 16 bytes
    with pytest.raises(TensorFileError, match="this machine has free"):
        load(str(path), device="cpu")


@pytest.mark.long  # builds a gigabyte-sized archive, then measures peak memory: CI's long step
def test_compressed_torch_file_is_not_inflated(tmp_path) -> None:
    plain = tmp_path / "plain.pt"
    torch.save({"input": torch.zeros(32 * 1024 * 1024)}, plain)  # 128 MiB of zeros
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    plain.unlink()
    assert os.path.getsize(bomb) < 2 * 1024 * 1024
    got = measured_run("inspect", "--input", f"{bomb}:input", "--device", "meta")
    assert got.rc == 2, got.err
    assert "Traceback" not in got.err and "would run code" not in got.err


def test_torch_file_checked_against_max_memory_before_it_is_used(tmp_path) -> None:
    path = tmp_path / "x.pt"
    torch.save({"input": torch.zeros(4, 1024, 1024)}, path)  # 16 MiB
    with pytest.raises(TensorFileError, match="--max-memory allows"):
        load(f"{path}:input", device="cpu", max_bytes=1024 * 1024)
    assert load(f"{path}:input", device="cpu", max_bytes=64 * 1024 * 1024).shape == (4, 1024, 1024)


@pytest.mark.parametrize("content", [bytes(4096), b"just some text, not a pickle\n"])
def test_a_pt_file_of_zeros_or_text_is_corrupt_not_code(tmp_path, content: bytes) -> None:
    path = tmp_path / "zeros.pt"
    path.write_bytes(content)
    with pytest.raises(TensorFileError) as info:
        load(str(path), device="cpu")
    assert "would run code" not in str(info.value)


def test_a_pickle_with_code_still_says_it_would_run_code(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, path)
    with pytest.raises(TensorFileError, match="would run code"):
        load(str(path), device="cpu")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _safetensors(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize("shape", ["12", [1.5, 2], [True, 2], [-1, 2], {"a": 1}])
def test_safetensors_shape_must_be_a_list_of_sizes(tmp_path, shape) -> None:
    path = tmp_path / "x.safetensors"
    _safetensors(path, {"x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 8]}}, bytes(8))
    with pytest.raises(TensorFileError, match="not a list of sizes"):
        load(str(path), device="cpu")


def test_safetensors_size_checked_before_reading_data(tmp_path) -> None:
    path = tmp_path / "x.safetensors"
    _safetensors(path, {"x": {"dtype": "F32", "shape": [1024, 1024], "data_offsets": [0, 4 * 1024 * 1024]}},
                 bytes(4 * 1024 * 1024))
    with pytest.raises(TensorFileError, match="it was not loaded"):
        load(str(path), device="cpu", max_bytes=1024)


@pytest.mark.long  # one fresh torch process per flag and file: CI's long step
@pytest.mark.parametrize("flag", ["--input", "--hidden", "--lengths"])
def test_devices_and_fifos_refused_at_once(tmp_path, flag: str) -> None:
    fifo = tmp_path / "x.pt"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero"):
        proc = subprocess.run([sys.executable, "-m", "rnnshape", "inspect", "lstm", flag, target, "--json"],
                              capture_output=True, text=True, timeout=60, cwd=REPO, env=rnnshape_env())
        assert proc.returncode == 2, proc.stderr
        message = json.loads(proc.stdout)["error"]
        assert "regular files only" in message


def test_dry_run_refuses_a_lengths_file_without_importing_torch(tmp_path) -> None:
    path = tmp_path / "lengths.pt"
    torch.save(torch.tensor([3, 2]), path)
    probe = ("import sys\nfrom rnnshape import cli\n"
             f"code = cli.run(['inspect', 'lstm', '--batch', '2', '--dry-run', '--lengths', {str(path)!r}])\n"
             "print(code, 'torch' in sys.modules, 'numpy' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=rnnshape_env())
    assert proc.stdout.split() == ["2", "False", "False"], proc.stderr
    assert "--dry-run never imports torch" in proc.stderr


def test_npz_listing_reads_headers_only(tmp_path) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros((2, 3), np.float32), b=np.zeros(4, np.int64))
    with pytest.raises(TensorFileError, match=r"a \(2, 3\) float32, b \(4,\) int64"):
        load(str(path), device="cpu")


def test_memory_refusal_after_loading_does_not_claim_nothing_was_allocated(tmp_path) -> None:
    from conftest import invoke_main, one_json_object

    path = tmp_path / "x.pt"
    torch.save(torch.zeros(5, 3, 10), path)
    code, out, _ = invoke_main("inspect", "lstm", "--input", str(path), "--device", "cpu", "--max-memory",
                               "1KB", "--json")
    assert code == 2
    message = one_json_object(out)["error"]
    assert "nothing was allocated" not in message and "the forward was not run" in message


@pytest.mark.parametrize("suffix", ["pt", "npy", "npz", "safetensors"])
def test_the_memory_refusal_names_the_flag_once(tmp_path, suffix: str) -> None:
    path = tmp_path / f"x.{suffix}"
    data = np.zeros(1000, np.float32)
    if suffix == "pt":
        torch.save({"input": torch.from_numpy(data)}, path)
    elif suffix == "npy":
        np.save(path, data)
    elif suffix == "npz":
        np.savez(path, input=data)
    else:
        _safetensors(path, {"input": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, data.tobytes())
    source = str(path) if suffix == "npy" else f"{path}:input"
    with pytest.raises(TensorFileError) as info:
        load(source, device="cpu", max_bytes=100, what="--hidden")
    message = str(info.value)
    assert message.startswith("--hidden ") and message.count("--hidden ") == 1 and "(1000,) float32" in message
