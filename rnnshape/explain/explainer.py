"""``rnnshape explain``: pasted text in, plain-data :class:`Explanation` out.

The text may be a bare message, a traceback (plain, chained, Jupyter/IPython with
ANSI colours and ``---->`` markers, Rich), warning lines, or several of these in
one paste. Every message the :mod:`rnnshape.explain.catalog` knows is explained; the
traceback around it (the user's own line, the layer named by the frames) goes
into the diagnosis as evidence.

Time is linear in the paste: one pass over the lines finds errors, frames and the layers
the paste builds; every pattern that sees pasted text is linear (tests/test_explain.py
feeds each one adversarial strings of growing length), and line-level patterns only see
the first :data:`MAX_LINE` characters of a line. Each finding then looks up its traceback
by bisection, never by re-scanning the text.

This path never imports torch, numpy or Rich, and compiles its patterns on first use.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import field
from typing import Any

from rnnshape.diagnoses import Diagnosis
from rnnshape.explain import catalog
from rnnshape.lazyre import lazy
from rnnshape.parsing import ANSI_ESCAPE
from rnnshape.records import record
from rnnshape.textio import MAX_TEXT_BYTES as MAX_BYTES
from rnnshape.textio import InputFileError as InputError  # a usage error (exit 2), as `explain` names it
from rnnshape.textio import TextKind, decode_text, read_bounded, read_stream_tail

__all__ = ["ANSI_ESCAPE", "MAX_BYTES", "MAX_LINE", "Explanation", "Finding", "Frame", "InputError",
           "decode", "explain_text", "normalize", "read_file", "read_stream"]

#: Line-level patterns (frames, error lines) see at most this many characters of a line.
MAX_LINE = 8192

#: ``[12](vscode-notebook-cell:...)``: the link text stops at brackets and blanks, so one
#: unterminated link cannot make the scan run over the rest of the text.
#: A line of Python written after the error (the user's code pasted below the traceback): an assignment,
#: a block header or an import; it ends the message, which never starts a line that way.
_CODE_AFTER = lazy(r"^\s*(?:[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*[-+*/]?=\s*\S"
                   r"|(?:for|while|if|elif|with|def|class)\b[^:]*:\s*$|(?:import|from)\s+[\w.]+)")
_VSCODE_LINK = lazy(r"\[(\d+)\]\((?:vscode-notebook-cell|file)[^()\[\]\s]*\)")

# Frame headers, in the formats Python, IPython (7 and 8+) and Rich print. None ends in a
# lazy group before `\s*$` (quadratic on trailing blanks); the function name is cut in Python.
_PY_FRAME = lazy(r'\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.*))?')
_IPY8_FRAME = lazy(r"\s*File (?P<file>\S[^,]*?):(?P<line>\d+)(?=,|\s*$)(?:, in (?P<func>[\w.<>]+))?")
_IPY_CELL = lazy(r"\s*(?P<file>(?:Cell )?In ?\[[^\]]*\]), line (?P<line>\d+)(?:, in (?P<func>[\w.<>]+))?")
_IPY7_FRAME = lazy(
    r"\s*(?P<file>(?:[~/\\.\w:-]\S*\.py[cw]?|<ipython-input-[^>]+>|<stdin>|<string>)) in "
    r"(?P<func>[\w.<>]+)\(")
_RICH_FRAME = lazy(r"\s*(?P<file>\S+\.py):(?P<line>\d+) in (?P<func>[\w.<>]+)\s*$")
_MARKER = lazy(r"\s*(?:-+>|❱)\s*(?P<line>\d+)\s?(?P<code>.*)")
_CONTEXT_LINE = lazy(r"\s*(?:(?:-+>|❱)\s*)?\d+\s")

# Lines that end or separate tracebacks.
_CHAIN = lazy(r"\s*(?:During handling of the above exception|The above exception was the direct cause)")
_ERROR_LINE = lazy(
    r"\s*(?:>\s*)?(?:(?P<path>[^\s:][^:]*?(?::\d+)?):(?P<wline>\d+): )?"
    r"(?P<kind>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Interrupt|Exit))"
    r"(?::\s?(?P<msg>.*))?$")
_ERROR_WORD = lazy(r"Error|Exception|Warning|Interrupt|Exit")
_CPP_WARNING = lazy(r"\s*\[W [^\]]*\] Warning: (?P<msg>.*)|\s*Warning: (?P<msg2>.*)")

_NOT_USER = lazy(
    r"site-packages|dist-packages|[/\\]lib[/\\]python\d|[/\\]torch[/\\]|^<frozen|[/\\]IPython[/\\]"
    r"|ipykernel|[/\\]runpy\.py|[/\\]pytorch_lightning[/\\]|[/\\]lightning[/\\]")

_VF_LAYER = (
    (lazy(r"_VF\.lstm_cell|\blstm_cell\("), "LSTMCell"),
    (lazy(r"_VF\.gru_cell|\bgru_cell\("), "GRUCell"),
    (lazy(r"_VF\.rnn_(?:tanh|relu)_cell|rnn_(?:tanh|relu)_cell\("), "RNNCell"),
    (lazy(r"_VF\.lstm\b|\"LSTM: "), "LSTM"),
    (lazy(r"_VF\.gru\b|\"GRU: "), "GRU"),
    (lazy(r"_VF\.rnn_(?:tanh|relu)\b|_rnn_impls\["), "RNN"),
)
_QUALNAME = lazy(r"(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN|Linear)\.")
_MESSAGE_LAYER = lazy(r"\b(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN): ")
#: Called names in a line (``self.encoder_lstm(``): words only, so each scan stays in its word.
_CALLED = lazy(r"\b([A-Za-z_]\w*)\s*\(")
_CTOR_LAYER = lazy(r"\bnn\.(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN)\s*\(")
#: ``from torch.nn import RNN, Linear``: the recurrent classes a paste then builds by their bare name.
_NN_IMPORT = lazy(r"\bfrom\s+torch\.nn\s+import\s+\(?\s*([\w ,]+)")
_RECURRENT_CLASSES = frozenset({"LSTMCell", "GRUCell", "RNNCell", "LSTM", "GRU", "RNN"})
_BARE_CTOR = lazy(r"(?<![\w.])(LSTMCell|GRUCell|RNNCell|LSTM|GRU|RNN)\s*\(")
_SPLIT_PATH = lazy(r"[/\\]")
_BATCH_FIRST = lazy(r"batch_first\s*=\s*(True|False)")
_PRINTED_SIZE = lazy(r"torch\.Size\(\[(\d+(?:, \d+){0,5})\]\)")
#: Bounds on what one paste contributes as code evidence (a log can repeat a line for ever).
_MAX_CTOR_LINES = 50
_MAX_SHAPES = 50
_MAX_STATE_LINES = 50
#: Cheap words that a line of a training loop carrying a recurrent state holds (lower case).
_STATE_WORDS = ("hidden", "retain_graph", "detach", "lstm", "gru", "rnn", "h[", "c[", "h0", "c0", "h_0", "c_0",
                "hx", "cx", "state")
#: Entries whose consecutive lines are one error (load_state_dict lists every mismatched weight).
_RUNS = frozenset({"state-dict-size"})


#: Patterns applied only with ``.match`` at the start of one line (never searched): a leading
#: ``\s*`` is anchored there, so each costs at most one scan of the line.
MATCH_ONLY = ("_PY_FRAME", "_IPY8_FRAME", "_IPY_CELL", "_IPY7_FRAME", "_RICH_FRAME", "_MARKER",
              "_CONTEXT_LINE", "_CHAIN", "_ERROR_LINE", "_CPP_WARNING", "_QUALNAME")


#: The text `explain` reads, in the words its refusals use.
_ERROR_TEXT = TextKind("explain", "an error message or a traceback",
                       "Paste the error message or the whole traceback.", " Give the text PyTorch printed.")


def decode(data: bytes, *, source: str) -> str:
    """Bytes to text, refusing empty and binary data with a clear message."""
    return decode_text(data, source=source, kind=_ERROR_TEXT)


def read_file(path: str) -> str:
    """The text of ``--file PATH``: a regular file of at most :data:`MAX_BYTES`."""
    data = read_bounded(path, limit=MAX_BYTES, what="--file",
                        hint=" Give the part with the error (the last lines of the log: tail -n 200).")
    return decode(data, source=f"--file {path!r}")


def read_stream(stream: Any, *, source: str = "stdin") -> tuple[str, str | None]:
    """A pipe, trimmed to its last :data:`MAX_BYTES` (errors come last in a log)."""
    data, note = read_stream_tail(stream, source=source, limit=MAX_BYTES)
    return decode(data, source=source), note


@record(frozen=True)
class Frame:
    file: str
    line: int | None
    func: str | None
    code: str | None

    @property
    def is_user(self) -> bool:
        return not _NOT_USER.search(self.file)

    @property
    def where(self) -> str:
        name = self.file if self.file.startswith(("Cell", "In")) else _SPLIT_PATH.split(self.file)[-1]
        return f"{name}:{self.line}" if self.line is not None else name

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "func": self.func, "code": self.code}


@record(frozen=True)
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


@record(frozen=True)
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
        import json  # only --json prints it: the human form never loads json

        return json.dumps(self.to_dict(), indent=2, default=repr)


# --------------------------------------------------------------------------- cleaning


def _strip_rich_border(line: str) -> str:
    """``│ text │`` -> ``text``, with string operations (a regex here was cubic on blanks)."""
    inner = line.strip()
    if not inner.startswith("│"):
        return line
    inner = inner[1:]
    if inner.endswith(("│", "|")):
        inner = inner[:-1]
    return inner.strip()


def normalize(text: str) -> str:
    """Strip ANSI colours, Jupyter/VS Code decorations and Rich borders; unify newlines."""
    if "\x1b" in text:
        text = ANSI_ESCAPE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "](" in text:
        text = _VSCODE_LINK.sub(r"\1", text)
    if "│" not in text:
        return "\n".join(line.rstrip() for line in text.split("\n"))
    return "\n".join(_strip_rich_border(line).rstrip() for line in text.split("\n"))


# --------------------------------------------------------------------------- one pass


@record
class _Parsed:
    lines: list[str]
    frames: list[tuple[int, Frame]]      # (header line index, frame), in line order
    code_lines: set[int]                 # lines that show source code, not messages
    errors: dict[int, tuple[str | None, str]]   # line index -> (kind, message), in line order
    built_layers: set[str]               # layer types the paste constructs: nn.LSTM(...)
    ctor_lines: list[str]                # the constructor lines themselves (bounded)
    state_lines: list[str]               # lines about a kept state or a layer call (bounded)
    shapes: list[tuple[int, ...]]        # torch.Size([...]) printed outside error messages

    def __post_init__(self) -> None:
        self.frame_at = [at for at, _ in self.frames]
        self.error_at = list(self.errors)


def _frame_header(head: str) -> dict[str, Any] | None:
    """The frame a line opens, in any of the formats; cheap substring tests pick the pattern."""
    m = _PY_FRAME.match(head) if 'File "' in head else None
    if m:
        return {"file": m["file"], "line": int(m["line"]), "func": (m["func"] or "").strip() or None,
                "cpython": True}
    candidates = []
    if "In [" in head or "In[" in head:
        candidates.append(_IPY_CELL)
    if "File " in head:
        candidates.append(_IPY8_FRAME)
    if ".py:" in head and " in " in head:
        candidates.append(_RICH_FRAME)
    if " in " in head and "(" in head:
        candidates.append(_IPY7_FRAME)
    for pattern in candidates:
        m = pattern.match(head)
        if m:
            gd = m.groupdict()
            return {"file": gd["file"].strip(), "line": int(gd["line"]) if gd.get("line") else None,
                    "func": gd.get("func"), "cpython": False}
    return None


def _is_caret(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.strip("^~")


def _error_line(head: str) -> tuple[str | None, str] | None:
    if _ERROR_WORD.search(head):
        em = _ERROR_LINE.match(head)
        if em and em["msg"] is not None:
            return em["kind"], em["msg"].strip()
    if "Warning: " in head:
        wm = _CPP_WARNING.match(head)
        if wm:
            return "Warning", (wm["msg"] or wm["msg2"] or "").strip()
    return None


def _parse(text: str) -> _Parsed:
    lines = text.split("\n")
    frames: list[tuple[int, Frame]] = []
    code_lines: set[int] = set()
    errors: dict[int, tuple[str | None, str]] = {}
    built: set[str] = set()
    ctor_lines: list[str] = []
    state_lines: list[str] = []
    shapes: list[tuple[int, ...]] = []
    current: dict[str, Any] | None = None
    cpython_pending = False

    def close() -> None:
        nonlocal current
        if current is not None:
            frames.append((current["at"], Frame(current["file"], current["line"],
                                                current["func"], current["code"])))
        current = None

    imported: set[str] = set()   # recurrent classes imported by name (``from torch.nn import RNN``)
    for i, line in enumerate(lines):
        head = line[:MAX_LINE]
        if "torch.nn import" in head and (nn_import := _NN_IMPORT.search(head)):
            imported.update(n.strip() for n in nn_import.group(1).split(",") if n.strip() in _RECURRENT_CLASSES)
        if "nn." in head and len(ctor_lines) < _MAX_CTOR_LINES:
            layers = _CTOR_LAYER.findall(head)
            if layers:
                built.update(layers)
                ctor_lines.append(head.strip()[:300])
        elif imported and "(" in head and len(ctor_lines) < _MAX_CTOR_LINES:
            layers = [n for n in _BARE_CTOR.findall(head) if n in imported]
            if layers:
                built.update(layers)
                ctor_lines.append(head.strip()[:300])
        if "torch.Size([" in head and len(shapes) < _MAX_SHAPES and "Error" not in head:
            shapes.extend(tuple(int(t) for t in s.split(", ")) for s in _PRINTED_SIZE.findall(head))
        header = _frame_header(head)
        if header is not None:
            close()
            cpython_pending = header.pop("cpython")
            current = {"at": i, "code": None, **header}
            code_lines.add(i)
            continue
        if len(state_lines) < _MAX_STATE_LINES:   # not a frame's header: its folders say nothing
            low = head.lower()
            if any(w in low for w in _STATE_WORDS):
                state_lines.append(head.strip()[:300])
        if current is not None:
            if cpython_pending:
                if _is_caret(head):
                    code_lines.add(i)
                    continue
                if head.strip():
                    current["code"] = head.strip()
                    code_lines.add(i)
                    cpython_pending = False
                    continue
            mk = _MARKER.match(head) if ">" in head or "❱" in head else None
            if mk and current["code"] is None:
                current["code"] = mk["code"].strip()
                if current["line"] is None:
                    current["line"] = int(mk["line"])
                code_lines.add(i)
                continue
            if _is_caret(head) or _CONTEXT_LINE.match(head):
                code_lines.add(i)
                continue
        if "Traceback (most recent call last)" in head or (
                "exception" in head and _CHAIN.match(head)):
            close()
            continue
        found = _error_line(head)
        if found is not None:
            close()
            errors[i] = found
    close()
    return _Parsed(lines, frames, code_lines, errors, built, ctor_lines, state_lines, shapes[:_MAX_SHAPES])


# --------------------------------------------------------------------------- context


def _layer_from(frames: list[Frame], message: str, user_line: str | None,
                built: set[str]) -> str | None:
    m = _MESSAGE_LAYER.search(message[:MAX_LINE])
    if m:
        return m.group(1)
    for fr in reversed(frames):
        if fr.func:
            q = _QUALNAME.match(fr.func)
            if q and q.group(1) != "Linear":
                return q.group(1)
        if fr.code and _SPLIT_PATH.split(fr.file)[-1].endswith("rnn.py"):
            for pattern, layer in _VF_LAYER:
                if pattern.search(fr.code):
                    return layer
    for fr in reversed(frames):
        if fr.func:
            q = _QUALNAME.match(fr.func)
            if q:
                return q.group(1)
        if fr.file.replace("\\", "/").endswith("modules/linear.py"):
            return "Linear"
    if user_line:
        for name in _CALLED.findall(user_line):
            low = name.lower()
            for kind in ("lstm", "gru"):
                if kind in low:
                    return kind.upper() + ("Cell" if "cell" in low[low.index(kind):] else "")
        m3 = _CTOR_LAYER.search(user_line)
        if m3:
            return m3.group(1)
    if len(built) == 1:
        return next(iter(built))
    return None


def _add_code_evidence(p: _Parsed, code: str) -> None:
    extra = _parse(code)
    p.built_layers |= extra.built_layers
    p.ctor_lines.extend(extra.ctor_lines[:max(0, _MAX_CTOR_LINES - len(p.ctor_lines))])
    p.state_lines.extend(extra.state_lines[:max(0, _MAX_STATE_LINES - len(p.state_lines))])
    p.shapes.extend(extra.shapes[:max(0, _MAX_SHAPES - len(p.shapes))])


def _batch_first(ctor_lines: list[str]) -> bool | None:
    """What the paste's constructors say about batch_first; None when unknown or mixed."""
    said = set()
    for line in ctor_lines:
        m = _BATCH_FIRST.search(line)
        if m:
            said.add(m.group(1) == "True")
        elif line.count("(") == line.count(")"):
            said.add(False)   # a whole constructor call without batch_first: the default
        else:
            return None       # arguments continue on the next line: cannot tell
    return said.pop() if len(said) == 1 else None


def _context(frames: list[Frame], message: str, p: _Parsed) -> catalog.Context:
    user = next((f for f in reversed(frames) if f.is_user and f.code), None)
    last = frames[-1] if frames else None
    failing = last.code if last is not None and not last.is_user else None
    user_line = user.code if user else None
    frames_text = "\n".join(f"{_evidence_path(f.file)}:{f.line} in {f.func}: {f.code or ''}" for f in frames)
    return catalog.Context(
        layer=_layer_from(frames, message, user_line, p.built_layers),
        user_line=user_line,
        where=user.where if user else None,
        failing_line=failing,
        frames_text=frames_text,
        built=tuple(sorted(p.built_layers)),
        ctor_text="\n".join(p.ctor_lines),
        batch_first=_batch_first(p.ctor_lines),
        shapes=tuple(p.shapes),
        code_text="\n".join(p.state_lines),
    )


def _message_span(p: _Parsed, first: int, last: int) -> tuple[str, str | None]:
    """The message around lines ``first..last``: the error line's text plus its continuation."""
    err = p.errors.get(first)
    kind, start_text = err if err else (None, p.lines[first].strip())
    parts = [start_text[:MAX_LINE]]
    j = first + 1
    stop = min(len(p.lines), first + 30)
    while j < stop:
        line = p.lines[j]
        if j > last and (not line.strip() or j in p.errors or j in p.code_lines
                         or "Traceback (most recent call last)" in line or _CHAIN.match(line[:200])
                         or _CODE_AFTER.match(line[:200])):
            break
        parts.append(line[:MAX_LINE].strip())
        j += 1
    return "\n".join(parts).strip(), kind


def _owning_error(p: _Parsed, first: int) -> int:
    """The error line whose message continues down to line ``first`` (``first`` if none does):
    "RuntimeError: Error(s) in loading state_dict ..." owns the size-mismatch lines below it."""
    if first in p.errors:
        return first
    k = bisect_right(p.error_at, first) - 1
    if k < 0 or first - p.error_at[k] > 30:
        return first
    owner = p.error_at[k]
    if all(p.lines[j].strip() and j not in p.code_lines for j in range(owner + 1, first)):
        return owner
    return first


def _frames_before(p: _Parsed, first: int) -> list[Frame]:
    """The frames of the traceback that ends at line ``first``: after the previous error line."""
    k = bisect_left(p.error_at, first)
    prev_error = p.error_at[k - 1] if k > 0 else -1
    lo = bisect_right(p.frame_at, prev_error)
    hi = bisect_left(p.frame_at, first)
    return [fr for _, fr in p.frames[lo:hi]]


def explain_text(text: str, *, code: str | None = None) -> Explanation:
    """Explain every error or warning the catalog knows in ``text``.

    ``code`` is source the caller knows goes with the traceback (``diagnose`` passes the
    pasted code): its constructors count as evidence, as if pasted above the traceback.
    """
    clean = normalize(text)
    p = _parse(clean)
    if code:
        _add_code_evidence(p, normalize(code))
    offsets = [0]
    for line in p.lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)

    findings: list[Finding] = []
    seen: dict[tuple[str, str], int] = {}
    built_cache: dict[tuple[str, str, str, catalog.Context], Diagnosis | None] = {}
    explained_lines: set[int] = set()
    run: tuple[str, int, int] | None = None   # (entry, last line, finding index) of the last finding
    for start, end, entry, m in catalog.scan(clean):
        first = bisect_right(offsets, start) - 1
        last = bisect_right(offsets, max(start, end - 1)) - 1
        if first in p.code_lines and first not in p.errors:
            continue  # the text of torch's own source shown in a frame, not a message
        message, kind = _message_span(p, first, last)
        ctx = _context(_frames_before(p, first), message, p)
        key = (entry.name, m.group(0), message, ctx)
        if key not in built_cache:
            built_cache[key] = (catalog.build(entry, m, message, ctx)
                                if catalog.applies(entry, ctx, message) else None)
        d = built_cache[key]
        if d is None:
            continue
        explained_lines.update(range(first, last + 1))
        explained_lines.add(_owning_error(p, first))
        if run is not None and run[0] == entry.name and first <= run[1] + 1 and entry.name in _RUNS:
            # one load_state_dict error lists every mismatched weight: one finding, weight_hh first
            run = (entry.name, last, run[2])
            f = findings[run[2]]
            better = "weight_hh" in m.group(0) and "weight_hh" not in f.diagnosis.title
            findings[run[2]] = Finding(d if better else f.diagnosis, f.kind, f.message, ctx if better
                                       else f.context, f.repeats + 1)
            continue
        seen_key = (d.code, message)
        if seen_key in seen:
            i = seen[seen_key]
            f = findings[i]
            findings[i] = Finding(f.diagnosis, f.kind, f.message, f.context, f.repeats + 1)
            continue
        seen[seen_key] = len(findings)
        run = (entry.name, last, len(findings))
        findings.append(Finding(d, kind, message, ctx))

    unrecognised = tuple(_error_text(kind, msg) for i, (kind, msg) in p.errors.items()
                         if i not in explained_lines)
    if p.errors:
        looked_at = tuple(_error_text(kind, msg) for kind, msg in p.errors.values())
    else:
        last_line = next((ln.strip() for ln in reversed(p.lines) if ln.strip()), None)
        looked_at = (last_line[:500],) if last_line else ()
    return Explanation(tuple(findings), looked_at, unrecognised, tuple(fr for _, fr in p.frames))


def _error_text(kind: str | None, msg: str) -> str:
    return f"{kind}: {msg}" if msg else kind or ""


def _evidence_path(path: str) -> str:
    """A frame's file as evidence: torch's own path from ``torch/`` on (``torch/nn/modules/rnn.py``
    ties an error to a recurrent layer), else the file's name alone. The folders above a user's file
    say nothing about the error: this project's own checkout is a folder called ``rnnshape``."""
    parts = path.replace("\\", "/").split("/")
    if "torch" in parts[:-1]:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("torch"):])
    return parts[-1]
