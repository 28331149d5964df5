"""``rnnshape explain``: pasted text in, plain-data :class:`Explanation` out.

The text may be a bare message, a traceback (plain, chained, Jupyter/IPython with
ANSI colours and ``---->`` markers, Rich), warning lines, or several of these in
one paste. Every message the :mod:`rnnshape.explain.catalog` knows is explained; the
traceback around it (the user's own line, the layer named by the frames) goes
into the diagnosis as evidence.

This path never imports torch, numpy or Rich: it must answer in a blink.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rnnshape.diagnoses import Diagnosis
from rnnshape.explain import catalog
from rnnshape.parsing import ANSI_ESCAPE

#: Text above this is refused from a file and trimmed to its tail from a pipe.
MAX_BYTES = 4 * 1024 * 1024

_VSCODE_LINK = re.compile(r"\[(\d+)\]\((?:vscode-notebook-cell|file)[^)]*\)")
_RICH_BORDER = re.compile(r"^\s*[│|]\s?(.*?)\s*[│|]?\s*$")

# Frame headers, in the formats Python, IPython (7 and 8+) and Rich print.
_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+?))?\s*$')
_IPY8_FRAME = re.compile(
    r"^\s*File (?P<file>\S.*?):(?P<line>\d+)(?:, in (?P<func>[\w.<>]+)(?:\(.*\))?)?\s*$")
_IPY_CELL = re.compile(r"^\s*(?P<file>(?:Cell )?In ?\[[^\]]*\]), line (?P<line>\d+)"
                       r"(?:, in (?P<func>[\w.<>]+)(?:\(.*\))?)?\s*$")
_IPY7_FRAME = re.compile(
    r"^\s*(?P<file>(?:[~/\\.\w:-][^\s]*\.py[cw]?|<ipython-input-[^>]+>|<stdin>|<string>)) in "
    r"(?P<func>[\w.<>]+)\(.*\)\s*$")
_RICH_FRAME = re.compile(r"^\s*(?P<file>\S+\.py):(?P<line>\d+) in (?P<func>[\w.<>]+)\s*$")
_MARKER = re.compile(r"^\s*(?:-+>|❱)\s*(?P<line>\d+)\s?(?P<code>.*)$")
_CONTEXT_LINE = re.compile(r"^\s*(?:-+>|❱)?\s*\d+\s")
_CARET = re.compile(r"^\s*[\^~]+\s*$")

# Lines that end or separate tracebacks.
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
_CHAIN = re.compile(r"^\s*(?:During handling of the above exception|The above exception was the "
                    r"direct cause)")
_ERROR_LINE = re.compile(
    r"^\s*(?:>\s*)?(?:(?P<path>[^\s:][^:]*?(?::\d+)?):(?P<wline>\d+): )?"
    r"(?P<kind>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Interrupt|Exit))"
    r"(?::\s?(?P<msg>.*))?$")
_CPP_WARNING = re.compile(r"^\s*\[W [^\]]*\] Warning: (?P<msg>.*)$|^\s*Warning: (?P<msg2>.*)$")

_NOT_USER = re.compile(
    r"site-packages|dist-packages|[/\\]lib[/\\]python\d|[/\\]torch[/\\]|^<frozen|[/\\]IPython[/\\]"
    r"|ipykernel|[/\\]runpy\.py|[/\\]pytorch_lightning[/\\]|[/\\]lightning[/\\]")

_LAYERS = ("LSTMCell", "GRUCell", "RNNCell", "LSTM", "GRU", "RNN")
_VF_LAYER = (
    (re.compile(r"_VF\.lstm_cell|\blstm_cell\("), "LSTMCell"),
    (re.compile(r"_VF\.gru_cell|\bgru_cell\("), "GRUCell"),
    (re.compile(r"_VF\.rnn_(?:tanh|relu)_cell|rnn_(?:tanh|relu)_cell\("), "RNNCell"),
    (re.compile(r"_VF\.lstm\b|\"LSTM: "), "LSTM"),
    (re.compile(r"_VF\.gru\b|\"GRU: "), "GRU"),
    (re.compile(r"_VF\.rnn_(?:tanh|relu)\b|_rnn_impls\["), "RNN"),
)
_QUALNAME = re.compile(r"^(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN|Linear)\.")
_MESSAGE_LAYER = re.compile(r"\b(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN): ")
_ATTR_LAYER = re.compile(r"\b(?:self\.)?\w*?(lstm|gru)(cell)?\w*\s*\(", re.IGNORECASE)
_CTOR_LAYER = re.compile(r"\bnn\.(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN)\s*\(")


class InputError(ValueError):
    """The text cannot be read (empty, binary, too big, missing file): a usage error."""


@dataclass(frozen=True)
class Frame:
    file: str
    line: int | None
    func: str | None
    code: str | None

    @property
    def is_user(self) -> bool:
        return not _NOT_USER.search(self.file.replace("\\", "/") if "/" in self.file
                                    else self.file)

    @property
    def where(self) -> str:
        name = re.split(r"[/\\]", self.file)[-1] if not self.file.startswith(("Cell", "In")) \
            else self.file
        return f"{name}:{self.line}" if self.line is not None else name

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "func": self.func, "code": self.code}


@dataclass(frozen=True)
class Finding:
    """One recognised error or warning in the paste."""

    diagnosis: Diagnosis
    kind: str | None          # "RuntimeError", "UserWarning", ... (None for a bare message)
    message: str              # the message as pasted, without its kind
    context: catalog.Context
    repeats: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.diagnosis.code, "kind": self.kind, "message": self.message,
                "layer": self.context.layer, "user_line": self.context.user_line,
                "where": self.context.where, "repeats": self.repeats}


@dataclass(frozen=True)
class Explanation:
    findings: tuple[Finding, ...]
    looked_at: tuple[str, ...]        # the error lines found (or the last line of the text)
    unrecognised: tuple[str, ...]     # error lines no catalog entry knows
    frames: tuple[Frame, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return bool(self.findings)

    @property
    def diagnoses(self) -> list[Diagnosis]:
        return [f.diagnosis for f in self.findings]

    @property
    def user_line(self) -> str | None:
        return next((f.context.user_line for f in self.findings if f.context.user_line), None)

    @property
    def layer(self) -> str | None:
        return next((f.context.layer for f in self.findings if f.context.layer), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "diagnoses": [d.to_dict() for d in self.diagnoses],
            "errors": [f.to_dict() for f in self.findings],
            "looked_at": list(self.looked_at),
            "unrecognised": list(self.unrecognised),
            "user_line": self.user_line,
            "layer": self.layer,
            "frames": [fr.to_dict() for fr in self.frames],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=repr)


# --------------------------------------------------------------------------- reading input


def decode(data: bytes, *, source: str) -> str:
    """Bytes to text, refusing binary data with a clear message."""
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


def read_file(path: str) -> str:
    import os

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(f"cannot read --file {path}: {exc.strerror or exc}.") from None
    if os.path.isdir(path):
        raise InputError(f"--file {path} is a directory; give the file holding the traceback.")
    if size > MAX_BYTES:
        raise InputError(f"--file {path} is {size / 1048576:.1f} MB; rnnshape explain reads "
                         f"at most {MAX_BYTES // 1048576} MB. Give the part with the error "
                         "(the last lines of the log: tail -n 200).")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read --file {path}: {exc.strerror or exc}.") from None
    return decode(data, source=f"--file {path}")


def read_stream(stream: Any, *, source: str = "stdin") -> tuple[str, str | None]:
    """Read a pipe; a log larger than :data:`MAX_BYTES` is trimmed to its tail (errors come last)."""
    buf = getattr(stream, "buffer", None)
    data = buf.read() if buf is not None else stream.read()
    if isinstance(data, str):
        data = data.encode("utf-8", errors="replace")
    note = None
    if len(data) > MAX_BYTES:
        note = (f"{source} held {len(data) / 1048576:.1f} MB; only its last "
                f"{MAX_BYTES // 1048576} MB were read.")
        data = data[-MAX_BYTES:]
    return decode(data, source=source), note


# --------------------------------------------------------------------------- parsing


def normalize(text: str) -> str:
    """Strip ANSI colours, Jupyter/VS Code decorations and Rich borders; unify newlines."""
    text = ANSI_ESCAPE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _VSCODE_LINK.sub(r"\1", text)
    lines = []
    for line in text.split("\n"):
        if line.lstrip().startswith("│"):
            m = _RICH_BORDER.match(line)
            if m:
                line = m.group(1)
        lines.append(line.rstrip())
    return "\n".join(lines)


@dataclass
class _Parsed:
    lines: list[str]
    frames: list[tuple[int, Frame]]      # (header line index, frame)
    code_lines: set[int]                 # lines that show source code, not messages
    errors: list[tuple[int, str | None, str]]   # (line index, kind, message)
    boundaries: list[int]                # lines that start a new traceback


def _parse(text: str) -> _Parsed:
    lines = text.split("\n")
    frames: list[tuple[int, Frame]] = []
    code_lines: set[int] = set()
    errors: list[tuple[int, str | None, str]] = []
    boundaries: list[int] = []
    current: dict[str, Any] | None = None
    cpython_pending = False

    def close() -> None:
        nonlocal current
        if current is not None:
            frames.append((current["at"], Frame(current["file"], current["line"],
                                                current["func"], current["code"])))
        current = None

    for i, line in enumerate(lines):
        m = _PY_FRAME.match(line)
        if m:
            close()
            current = {"at": i, "file": m["file"], "line": int(m["line"]), "func": m["func"],
                       "code": None}
            cpython_pending = True
            code_lines.add(i)
            continue
        m = _IPY_CELL.match(line) or _IPY8_FRAME.match(line) or _RICH_FRAME.match(line) \
            or _IPY7_FRAME.match(line)
        if m:
            close()
            gd = m.groupdict()
            current = {"at": i, "file": gd["file"].strip(),
                       "line": int(gd["line"]) if gd.get("line") else None,
                       "func": gd.get("func"), "code": None}
            cpython_pending = False
            code_lines.add(i)
            continue
        if current is not None:
            if cpython_pending:
                if line.strip() and not _CARET.match(line):
                    current["code"] = line.strip()
                    code_lines.add(i)
                    cpython_pending = False
                    continue
                if _CARET.match(line):
                    code_lines.add(i)
                    continue
            mk = _MARKER.match(line)
            if mk and current["code"] is None:
                current["code"] = mk["code"].strip()
                if current["line"] is None:
                    current["line"] = int(mk["line"])
                code_lines.add(i)
                continue
            if _CONTEXT_LINE.match(line) or _CARET.match(line):
                code_lines.add(i)
                continue
        if _TRACEBACK.search(line) or _CHAIN.match(line):
            close()
            boundaries.append(i)
            continue
        em = _ERROR_LINE.match(line)
        if em and (em["msg"] is not None):
            close()
            errors.append((i, em["kind"], em["msg"].strip()))
            continue
        wm = _CPP_WARNING.match(line)
        if wm:
            close()
            errors.append((i, "Warning", (wm["msg"] or wm["msg2"] or "").strip()))
            continue
        if current is not None and not line.strip():
            continue
    close()
    return _Parsed(lines, frames, code_lines, errors, boundaries)


def _line_index(offsets: list[int], pos: int) -> int:
    lo, hi = 0, len(offsets) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if offsets[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _layer_from(frames: list[Frame], message: str, user_line: str | None,
                text: str) -> str | None:
    m = _MESSAGE_LAYER.search(message)
    if m:
        return m.group(1)
    for fr in reversed(frames):
        if fr.func:
            q = _QUALNAME.match(fr.func)
            if q and q.group(1) != "Linear":
                return q.group(1)
        if fr.code and "rnn.py" in fr.file.replace("\\", "/").split("/")[-1]:
            for pattern, layer in _VF_LAYER:
                if pattern.search(fr.code):
                    return layer
    for fr in reversed(frames):
        if fr.func and _QUALNAME.match(fr.func):
            return _QUALNAME.match(fr.func).group(1)  # type: ignore[union-attr]
        if fr.file.replace("\\", "/").endswith("modules/linear.py"):
            return "Linear"
    if user_line:
        m2 = _ATTR_LAYER.search(user_line)
        if m2:
            return m2.group(1).upper() + ("Cell" if m2.group(2) else "")
        m3 = _CTOR_LAYER.search(user_line)
        if m3:
            return m3.group(1)
    found = set(_CTOR_LAYER.findall(text))
    if len(found) == 1:
        return found.pop()
    return None


def _context(frames: list[Frame], message: str, text: str) -> catalog.Context:
    user = next((f for f in reversed(frames) if f.is_user and f.code), None)
    last = frames[-1] if frames else None
    failing = last.code if last is not None and not last.is_user else None
    user_line = user.code if user else None
    frames_text = "\n".join(f"{f.file}:{f.line} in {f.func}: {f.code or ''}" for f in frames)
    return catalog.Context(
        layer=_layer_from(frames, message, user_line, text),
        user_line=user_line,
        where=user.where if user else None,
        failing_line=failing,
        frames_text=frames_text,
    )


def _message_span(p: _Parsed, first: int, last: int) -> tuple[str, str | None]:
    """The message around lines ``first..last``: the error line's text plus its continuation."""
    kind = None
    err = next((e for e in p.errors if e[0] == first), None)
    start_text = err[2] if err else p.lines[first].strip()
    if err:
        kind = err[1]
    parts = [start_text]
    error_lines = {e[0] for e in p.errors}
    j = first + 1
    frame_lines = {at for at, _ in p.frames}
    while j < len(p.lines) and j - first < 30:
        line = p.lines[j]
        if j > last and (not line.strip() or j in error_lines or j in frame_lines
                         or j in p.code_lines or _TRACEBACK.search(line) or _CHAIN.match(line)):
            break
        parts.append(line.strip())
        j += 1
    return "\n".join(parts).strip(), kind


def explain_text(text: str) -> Explanation:
    """Explain every error or warning the catalog knows in ``text``."""
    clean = normalize(text)
    p = _parse(clean)
    offsets = [0]
    for line in p.lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)

    findings: list[Finding] = []
    seen: dict[tuple[str, str], int] = {}
    explained_lines: set[int] = set()
    error_lines = {e[0] for e in p.errors}
    for start, end, entry, m in catalog.scan(clean):
        first = _line_index(offsets, start)
        last = _line_index(offsets, max(start, end - 1))
        if first in p.code_lines and first not in error_lines:
            continue  # the text of torch's own source shown in a frame, not a message
        # frames of this traceback: after the previous error line, before this message
        prev_error = max((e[0] for e in p.errors if e[0] < first), default=-1)
        frames = [fr for at, fr in p.frames if prev_error < at < first]
        message, kind = _message_span(p, first, last)
        ctx = _context(frames, message, clean)
        if not catalog.applies(entry, ctx):
            continue
        d = catalog.build(entry, m, message, ctx)
        key = (d.code, message)
        explained_lines.update(range(first, last + 1))
        if key in seen:
            i = seen[key]
            f = findings[i]
            findings[i] = Finding(f.diagnosis, f.kind, f.message, f.context, f.repeats + 1)
            continue
        seen[key] = len(findings)
        findings.append(Finding(d, kind, message, ctx))

    unrecognised = tuple(f"{kind}: {msg}" if msg else kind or ""
                         for i, kind, msg in p.errors if i not in explained_lines)
    if p.errors:
        looked_at = tuple(f"{kind}: {msg}" if msg else (kind or "") for _, kind, msg in p.errors)
    else:
        lines = [ln.strip() for ln in p.lines if ln.strip()]
        looked_at = (lines[-1][:500],) if lines else ()
    return Explanation(tuple(findings), looked_at, unrecognised,
                       tuple(fr for _, fr in p.frames))
