"""Bounded reading of user-supplied text: a byte limit, regular files only, never a blocking open.

Shared by every command that reads a paste, a log or a small text file (``explain``,
``diagnose``, ``check``'s TOML): call :func:`read_text_file` for a path and
:func:`read_text_stream` for stdin. Both raise :class:`InputError` (a usage error, exit 2)
with a one-paragraph message; neither reads more than ``limit + 1`` bytes.
"""

from __future__ import annotations

import os
import stat
from typing import Any

#: Text above this is refused from a file and trimmed to its tail from a pipe.
MAX_BYTES = 16 * 1024 * 1024

#: Reads from a pipe go in blocks of this size (bounded memory per read call).
_BLOCK = 1 << 16
#: A pipe that keeps sending (``yes | rnnshape explain``) is read this far, then left.
MAX_STREAM_BYTES = 1 << 30


class InputError(ValueError):
    """The text cannot be read (empty, binary, too big, missing, not a regular file): a usage error."""


def decode(data: bytes, *, source: str) -> str:
    """Bytes to text, refusing empty and binary data with a clear message."""
    if not data.strip():
        raise InputError(f"nothing to explain: {source} is empty. Paste the error message "
                         "or the whole traceback.")
    sample = data[:65536]
    if b"\x00" in sample:
        raise InputError(f"{source} looks binary (it contains NUL bytes), not an error "
                         "message or a traceback. Give the text PyTorch printed.")
    text = data.decode("utf-8", errors="replace")
    bad = text[:65536].count("\ufffd")
    if bad > 0.1 * min(len(text), 65536):
        raise InputError(f"{source} is not UTF-8 text (it looks binary). Give the text "
                         "PyTorch printed.")
    return text


def read_bytes_file(path: str, *, label: str = "--file", limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file no bigger than ``limit``.

    The file is opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor,
    so a FIFO, a device (``/dev/zero``) or a socket is refused at once instead of blocking
    or reading forever; the read itself stops at ``limit + 1`` bytes whatever ``stat`` said.
    """
    if os.path.isdir(path):
        raise InputError(f"{label} {path} is a directory; give the file holding the text.")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read {label} {path}: {exc.strerror or exc}.") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{label} {path} is not a regular file (a device, FIFO or socket); "
                             "rnnshape reads only regular files. Save the text to a file, or "
                             "pipe it in on stdin.")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            block = os.read(fd, min(_BLOCK, limit + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
    except OSError as exc:
        raise InputError(f"cannot read {label} {path}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)
    if total > limit:
        raise InputError(f"{label} {path} is larger than {limit / 1048576:.0f} MB, the most "
                         "rnnshape reads. Give the part with the error (the last lines of the "
                         "log: tail -n 200).")
    return b"".join(chunks)


def read_text_file(path: str, *, label: str = "--file", limit: int = MAX_BYTES) -> str:
    return decode(read_bytes_file(path, label=label, limit=limit), source=f"{label} {path}")


def _refuse_device(stream: Any, source: str) -> None:
    """stdin redirected from a device (``< /dev/zero``) never ends: refuse it at once."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return   # not a real file descriptor (a test's StringIO): nothing to check
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        if hasattr(stream, "isatty") and stream.isatty():
            return
        raise InputError(f"{source} is a device, not text (e.g. < /dev/zero); pipe the log in "
                         "or give it with --file.")


def read_text_stream(stream: Any, *, source: str = "stdin",
                     limit: int = MAX_BYTES) -> tuple[str, str | None]:
    """Read a pipe in blocks, keeping only its last ``limit`` bytes (errors come last in a log).

    Memory stays bounded (about two blocks over ``limit``) however long the pipe runs; the
    note says how much was dropped.
    """
    _refuse_device(stream, source)
    buf = getattr(stream, "buffer", stream)
    kept = bytearray()
    total = 0
    while total < MAX_STREAM_BYTES:
        block = buf.read(_BLOCK)
        if not block:
            break
        if isinstance(block, str):
            block = block.encode("utf-8", errors="replace")
        total += len(block)
        kept += block
        if len(kept) > 2 * limit:
            del kept[:len(kept) - limit]
    note = None
    if total >= MAX_STREAM_BYTES:
        note = (f"{source} was still sending after {MAX_STREAM_BYTES >> 30} GB; reading stopped "
                f"there and only its last {limit // 1048576} MB were read.")
    elif total > limit:
        note = (f"{source} held {total / 1048576:.1f} MB; only its last "
                f"{limit // 1048576} MB were read.")
        del kept[:len(kept) - limit]
    return decode(bytes(kept), source=source), note
