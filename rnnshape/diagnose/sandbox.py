"""``diagnose --run``'s sandbox: the user's code runs in a child it cannot use to escape its limits.

- The child runs under a small supervisor process, in a new session (its own process
  group): at the time limit, or when the run ends, the whole group is killed, so the
  code's own children and background processes go too.
- The supervisor, not rnnshape, is the child's parent: code that stops its parent
  (``os.kill(os.getppid(), SIGSTOP)``) stops the supervisor, while rnnshape keeps
  its clock and kills the group at the limit.
- Resource limits on the child: address space (:data:`MAX_ADDRESS_SPACE`), CPU time
  (the time limit, plus a second) and file size (:data:`MAX_FILE_BYTES`), so a runaway
  allocation or writer fails inside the child.
- Its output is read with a cap (:data:`MAX_OUTPUT_BYTES` per stream); the rest is
  drained and dropped, so a printing loop costs rnnshape no memory.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time

from rnnshape.records import record

#: The most bytes of the child's stdout (and, separately, of its stderr) that are kept.
MAX_OUTPUT_BYTES = 1024 * 1024
#: The child's address-space limit: room for torch and a model, not for a runaway allocation.
MAX_ADDRESS_SPACE = 16 * 1024**3

#: The largest file the child may write (a runaway writer fails instead of filling the disk).
MAX_FILE_BYTES = 1024**3

# Runs in the supervisor: start the child with its limits, wait, record its exit status.
_SUPERVISOR = r'''
import os, resource, subprocess, sys
status_path, address_space, cpu_seconds, max_file = sys.argv[1], *map(int, sys.argv[2:5])
def limits():
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file, max_file))
code = subprocess.call(sys.argv[5:], preexec_fn=limits, stdin=subprocess.DEVNULL)
with open(status_path, "w") as fh:
    fh.write(str(code))
'''


@record
class SandboxResult:
    """What came back from the child."""

    returncode: int | None  # None: killed at the time limit (or its supervisor was stopped)
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool  # some output was over MAX_OUTPUT_BYTES and dropped


def run_sandboxed(argv: list[str], *, timeout: float, cwd: str,
                  address_space: int = MAX_ADDRESS_SPACE,
                  max_output: int = MAX_OUTPUT_BYTES) -> SandboxResult:
    """Run ``argv`` in the sandbox; always returns, within about ``timeout`` seconds."""
    status_path = os.path.join(cwd, ".rnnshape-exit-status")
    cpu = max(1, int(timeout) + 1)
    supervisor = subprocess.Popen(
        [sys.executable, "-I", "-c", _SUPERVISOR, status_path, str(address_space), str(cpu),
         str(MAX_FILE_BYTES), *argv],
        cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    assert supervisor.stdout is not None and supervisor.stderr is not None
    kept = {supervisor.stdout: bytearray(), supervisor.stderr: bytearray()}
    truncated = False
    deadline = time.monotonic() + timeout
    timed_out = False
    with selectors.DefaultSelector() as sel:
        for stream in kept:
            sel.register(stream, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if supervisor.poll() is not None and not sel.select(0):
                break  # the run is over; background children holding the pipes are not waited for
            for key, _ in sel.select(min(left, 0.1)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = kept[key.fileobj]  # type: ignore[index]
                room = max_output - len(buf)
                truncated |= len(chunk) > room
                buf += chunk[:max(room, 0)]
    _kill_group(supervisor.pid)
    supervisor.wait()
    for stream in kept:
        stream.close()
    return SandboxResult(None if timed_out else _exit_status(status_path),
                         kept[supervisor.stdout].decode("utf-8", errors="replace"),
                         kept[supervisor.stderr].decode("utf-8", errors="replace"), timed_out, truncated)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _exit_status(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None  # the supervisor was killed or stopped before it could say
