"""Bounded, non-blocking reads of the user's files and pipes: every input has a byte limit.

The one reader shared by ``explain``, ``diagnose``, ``check`` and the tensor loader. Only
regular files are read: a FIFO would block forever and a device such as ``/dev/zero``
never ends, so both are refused at once, before a byte is read. Files are opened with
``O_NONBLOCK`` so that even the open of a FIFO with no writer returns immediately. A pipe
on stdin is read in blocks and only its tail is kept (:func:`read_stream_tail`), and
:func:`decode_text` refuses empty and binary text in the caller's words.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from rnnshape.errors import UsageError
from rnnshape.records import record

#: check's TOML files.
MAX_TOML_BYTES = 4 * 1024 * 1024
#: Pasted code given to ``diagnose``, from a file or stdin (``snippets.MAX_BYTES``).
MAX_CODE_BYTES = 2 * 1024 * 1024
#: A paste or a log given to ``explain``: refused above this from a file, trimmed to its tail from a pipe.
MAX_TEXT_BYTES = 16 * 1024 * 1024
#: A pipe that keeps sending (``yes | rnnshape explain``) is read this far, then left.
MAX_STREAM_BYTES = 1 << 30
#: Pipes are read in blocks of this size (bounded memory per read call).
_BLOCK = 1 << 16


class InputFileError(UsageError):
    """A file that cannot be read as input: missing, not a regular file, or over its byte limit."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def open_regular(path: str, what: str) -> int:
    """An OS file descriptor of ``path``, refused unless it is a regular file; the caller closes it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InputFileError(f"{what} {path!r}: cannot read it, no such file.") from None
    except IsADirectoryError:
        raise InputFileError(f"{what} {path!r} is a folder, not a file.") from None
    except OSError as exc:
        raise InputFileError(f"{what} {path!r}: cannot open it ({exc.strerror or exc}).") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputFileError(f"{what} {path!r} is {_kind(mode)}, not a regular file; rnnshape reads "
                             "regular files only (save the text to a file, or pipe it in on stdin).")
    return fd


def regular_file_size(path: str, what: str) -> int:
    """The size of ``path`` in bytes, after checking it is a regular file (nothing is read)."""
    fd = open_regular(path, what)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def read_bounded(path: str, *, limit: int, what: str, hint: str = "") -> bytes:
    """All of ``path`` when it is a regular file of at most ``limit`` bytes; refused otherwise
    (``hint``: what to give instead, appended to the message)."""
    fd = open_regular(path, what)
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputFileError(f"{what} {path!r}: cannot read it ({exc.strerror or exc}).") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputFileError(f"{what} {path!r} is larger than {limit // 1048576} MB, the most rnnshape "
                             f"reads from it.{hint}")
    return data


def _refuse_device(stream: Any, source: str) -> None:
    """stdin redirected from a device (``< /dev/zero``) never ends: refuse it at once."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return   # not a real file descriptor (a test's StringIO): nothing to check
    if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and not (hasattr(stream, "isatty") and stream.isatty()):
        raise InputFileError(f"{source} is a device, not text (e.g. < /dev/zero); pipe the text in "
                             "or give it as a file.")


def read_stream_tail(stream: Any, *, source: str = "stdin", limit: int = MAX_TEXT_BYTES) -> tuple[bytes, str | None]:
    """A pipe read in blocks, keeping only its last ``limit`` bytes (errors come last in a log),
    and a note saying how much was dropped (None when nothing was).

    Memory stays bounded (about two blocks over ``limit``) however long the pipe runs.
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
    return bytes(kept), note


@record(frozen=True)
class TextKind:
    """The text a command wants, in its own words, for :func:`decode_text`'s refusals."""

    command: str   # "explain": "nothing to explain: ..."
    what: str      # "Python code": "... looks binary (...), not Python code."
    paste: str     # what to give instead of an empty text
    ask: str = ""  # appended to a refusal of binary text


def decode_text(data: bytes, *, source: str, kind: TextKind) -> str:
    """Bytes to text, refusing empty and binary data (NUL bytes, or mostly not UTF-8)."""
    if not data.strip():
        raise InputFileError(f"nothing to {kind.command}: {source} is empty. {kind.paste}")
    if b"\x00" in data[:65536]:
        raise InputFileError(f"{source} looks binary (it contains NUL bytes), not {kind.what}.{kind.ask}")
    text = data.decode("utf-8", errors="replace")
    if text[:65536].count("\ufffd") > 0.1 * min(len(text), 65536):
        raise InputFileError(f"{source} is not UTF-8 text (it looks binary), not {kind.what}.{kind.ask}")
    return text
