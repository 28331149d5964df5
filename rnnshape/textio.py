"""Bounded, non-blocking reads of the user's files: every input has a byte limit.

Only regular files are read (stdin is read by the commands themselves, with the same
limits): a FIFO would block forever and a device such as ``/dev/zero`` never ends, so
both are refused at once, before a byte is read. Files are opened with ``O_NONBLOCK``
so that even the open of a FIFO with no writer returns immediately.
"""

from __future__ import annotations

import os
import stat

from rnnshape.errors import UsageError

#: check's TOML files.
MAX_TOML_BYTES = 4 * 1024 * 1024
#: Pasted code given to ``diagnose`` as a file (its own limit, ``snippets.MAX_BYTES``, is the same 2 MB).
MAX_CODE_BYTES = 2 * 1024 * 1024


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
    return "not a regular file"


def open_regular(path: str, what: str) -> int:
    """An OS file descriptor of ``path``, refused unless it is a regular file; the caller closes it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InputFileError(f"{what} {path!r}: no such file.") from None
    except IsADirectoryError:
        raise InputFileError(f"{what} {path!r} is a folder, not a file.") from None
    except OSError as exc:
        raise InputFileError(f"{what} {path!r}: cannot open it ({exc.strerror or exc}).") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputFileError(f"{what} {path!r} is {_kind(mode)}; rnnshape reads regular files only "
                             f"(or stdin, for text).")
    return fd


def regular_file_size(path: str, what: str) -> int:
    """The size of ``path`` in bytes, after checking it is a regular file (nothing is read)."""
    fd = open_regular(path, what)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def read_bounded(path: str, *, limit: int, what: str) -> bytes:
    """All of ``path`` when it is a regular file of at most ``limit`` bytes; refused otherwise."""
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
                             f"reads from it.")
    return data
