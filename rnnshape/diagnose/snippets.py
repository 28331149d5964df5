"""Pasted code as it really arrives: cleaning, partial parsing, and the opt-in real run.

A paste is a forum question, a notebook cell or a REPL session: code mixed with ``>>>``
prompts, ``%magics``, printed output and a traceback. :func:`clean` sorts every line into one
of those kinds and keeps the code **at its own line number** (everything else becomes a blank
line), so that a line number from the follower, from Python or from the pasted traceback all
name the same line of the paste. :func:`parse_partial` parses what parses and says which lines
it skipped. Nothing here imports torch; :func:`run_snippet` (``--run`` only) runs the code in
a separate Python process.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import time
from dataclasses import field
from typing import Any

from rnnshape.diagnose.linekinds import (
    IPY_CONT,
    IPY_IN,
    IPY_OUT,
    PROMPT,
    TB_START,
    is_error_line,
    is_ipython_in,
    is_magic,
    is_printed,
    is_prompt,
    is_tb_rule,
    marked_lines,
    some_line_starts,
)
from rnnshape.gcpause import collector_paused
from rnnshape.lazyre import LazyPattern
from rnnshape.records import record
from rnnshape.textio import MAX_CODE_BYTES, TextKind, decode_text, read_bounded

#: A paste above this is refused (exit 2): no snippet someone asks about is that large.
MAX_BYTES = MAX_CODE_BYTES

class PasteError(ValueError):
    """The paste cannot be read at all (empty, binary, too large): a usage error, exit 2."""


@record
class Paste:
    """A paste sorted into kinds, with its code at the paste's own line numbers (1-based)."""

    lines: list[str]                 # the paste, as given (ANSI colours removed)
    code_lines: list[str]            # same length: the code, "" where the line is not code
    kinds: list[str]                 # per line: code, blank, prompt-output, magic, traceback, output
    traceback: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return "\n".join(self.code_lines)

    def lines_of(self, kind: str) -> list[int]:
        return [i + 1 for i, k in enumerate(self.kinds) if k == kind]


@record
class Parsed:
    """What parsed: the syntax tree, the lines skipped (and why), the code as parsed."""

    tree: ast.Module
    skipped: list[tuple[int, int, str]]   # (first line, last line, why), 1-based, inclusive
    lines: list[str] = field(default_factory=list)  # the code as parsed: skipped lines blank or `pass`


# --------------------------------------------------------------------------- reading


#: The text `diagnose` reads, in the words its refusals use.
_CODE_TEXT = TextKind("diagnose", "Python code", "Paste the code (and its traceback, if it has one).")


def decode(data: bytes, *, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise PasteError(f"{source} is {len(data) / 1048576:.1f} MB; rnnshape diagnose reads at "
                         f"most {MAX_BYTES // 1048576} MB. Paste the model and the lines that call "
                         "it, not the whole project.")
    return decode_text(data, source=source, kind=_CODE_TEXT)


def read_source(path: str | None, stdin: Any) -> tuple[str, str]:
    """(text, name): a file (regular files only, see :mod:`rnnshape.textio`), or stdin for ``None`` / ``-``."""
    if path is None or path == "-":
        buf = getattr(stdin, "buffer", None)
        data = buf.read(MAX_BYTES + 1) if buf is not None else stdin.read(MAX_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8", errors="replace")
        return decode(data, source="stdin"), "<stdin>"
    return decode(read_bounded(path, limit=MAX_BYTES, what="the code file"), source=path), path


# --------------------------------------------------------------------------- cleaning


def from_notebook(text: str) -> tuple[str, str | None]:
    """A Jupyter notebook (.ipynb JSON): its code cells in order, outputs ignored; else the text as it is."""
    head = text.lstrip()[:1]
    if head != "{" or '"cells"' not in text[:1_000_000]:
        return text, None
    import json
    try:
        nb = json.loads(text)
    except ValueError:
        return text, None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return text, None
    code: list[str] = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(str(part) for part in source) if isinstance(source, list) else str(source)
            code.append(source.rstrip("\n"))
    return "\n\n".join(code) + "\n", (f"read as a Jupyter notebook: its {len(code)} code cell"
                                       f"{'s' if len(code) != 1 else ''}, in order, outputs ignored")


def clean(text: str) -> Paste:
    """Sort the paste's lines into code, prompts' output, magics, traceback and printed output."""
    if "\x1b" in text:  # every ANSI sequence starts with ESC
        from rnnshape.parsing import ANSI_ESCAPE

        text = ANSI_ESCAPE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    lines = text.split("\n")
    n = len(lines)
    code = [""] * n
    kinds = ["blank"] * n
    repl = some_line_starts(text, ">>>") and any(is_prompt(ln) for ln in lines[:5000]) \
        and any(ln.startswith(">>>") for ln in lines[:5000])
    ipython = some_line_starts(text, "In [") and any(is_ipython_in(ln) for ln in lines[:5000])
    notes: list[str] = []
    tb: list[str] = []
    i = 0
    in_ipy_out = False
    # outside a session, the lines up to the next marked one are code or blank: sorted in bulk
    marked = None if repl or ipython else iter(marked_lines(text))
    next_marked = -1
    while i < n:
        if marked is not None and next_marked < i:
            next_marked = next((k for k in marked if k >= i), n)
        if i < next_marked:
            _code_or_blank(lines, code, kinds, i, next_marked)
            i = next_marked
            continue
        line = lines[i]
        stripped = line.strip()
        # a traceback: from its header (or IPython's rule) to the error line and its message
        if TB_START in line or (is_tb_rule(line) and i + 1 < n and TB_START in lines[i + 1]):
            j = i
            while j < n:
                kinds[j] = "traceback"
                tb.append(lines[j])
                if j > i and is_error_line(lines[j]) and not lines[j].startswith(" "):
                    j += 1
                    while j < n and lines[j].strip() and not _looks_like_code_start(lines[j], repl, ipython):
                        kinds[j] = "traceback"
                        tb.append(lines[j])
                        j += 1
                    break
                j += 1
            tb.append("")
            i = j
            continue
        if is_error_line(line) and not line.startswith(" ") and ":" in line and not repl_code(line):
            kinds[i] = "traceback"
            tb.append(line)
            i += 1
            while i < n and lines[i].strip() and not _looks_like_code_start(lines[i], repl, ipython) \
                    and not _parses(lines[i]):
                kinds[i] = "traceback"
                tb.append(lines[i])
                i += 1
            tb.append("")
            continue
        if repl:
            m = PROMPT.match(line)
            if m:
                body = line[m.end():]
                if is_magic(body):
                    kinds[i] = "magic"
                else:
                    code[i], kinds[i] = body, "code" if body.strip() else "blank"
            elif stripped:
                kinds[i] = "output"
            i += 1
            continue
        if ipython:
            m = IPY_IN.match(line) or IPY_CONT.match(line)
            if m:
                in_ipy_out = False
                body = line[m.end():]
                if is_magic(body):
                    kinds[i] = "magic"
                else:
                    code[i], kinds[i] = body, "code" if body.strip() else "blank"
            elif IPY_OUT.match(line) or in_ipy_out:
                in_ipy_out = bool(stripped) or in_ipy_out
                kinds[i] = "output" if stripped else "blank"
            elif stripped:
                kinds[i] = "output"
            i += 1
            continue
        if is_magic(line):
            kinds[i] = "magic"
        elif stripped and not line[0].isspace() and is_printed(line) and not _parses(line):
            kinds[i] = "output"
        elif stripped:
            code[i], kinds[i] = line, "code"
        i += 1
    _dedent(code)
    if repl:
        notes.append("read as a Python REPL session: the >>> and ... prompts were removed, "
                     "their printed output set aside")
    if ipython:
        notes.append("read as an IPython session: the In [n]: prompts were removed, Out[n] set aside")
    magics = [k for k in kinds if k == "magic"]
    if magics:
        notes.append(f"{len(magics)} notebook magic line{'s' if len(magics) > 1 else ''} (% or !) "
                     "not followed")
    if tb:
        notes.append("a traceback in the paste was read with rnnshape explain")
    return Paste(lines=lines, code_lines=code, kinds=kinds, traceback="\n".join(tb).strip(),
                 notes=notes)


def _code_or_blank(lines: list[str], code: list[str], kinds: list[str], start: int, end: int) -> None:
    """Lines ``start:end`` sorted as :func:`clean`'s loop sorts a line without a marker: code, else blank."""
    for k in range(start, end):
        if lines[k].strip():
            code[k], kinds[k] = lines[k], "code"


def repl_code(line: str) -> bool:
    """``ValueError: ...`` can also be code (a dict literal, an annotation): parse to tell."""
    return bool(re.match(r"^[A-Za-z_][\w.]*\s*:\s*[\w.\[\], ]+\s*=", line))


def _parses(line: str) -> bool:
    try:
        ast.parse(line.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return bool(line.strip())


def _looks_like_code_start(line: str, repl: bool, ipython: bool) -> bool:
    return (repl and line.startswith(">>>")) or (ipython and is_ipython_in(line))


def _dedent(code: list[str]) -> None:
    """A paste cut from inside a function keeps its indentation: remove what all lines share."""
    cut = 0 if _flush_line_after(code, -1) else min(
        (len(ln) - len(ln.lstrip(" ")) for ln in code if ln.strip()), default=0)
    if cut:
        for i, ln in enumerate(code):
            code[i] = ln[cut:] if ln.strip() else ""
    elif _first_line_flush(code):
        first = next(i for i, ln in enumerate(code) if ln.strip())
        rest = code[first + 1:]
        _dedent(rest)
        code[first + 1:] = rest


def _first_line_flush(code: list[str]) -> bool:
    """A code fence often loses the first line's indentation only (``import torch`` at column 0, the rest
    indented): true when the lines after the first share an indentation and only dedenting them parses."""
    first = next((i for i, ln in enumerate(code) if ln.strip()), None)
    if first is None or code[first][0].isspace() or _flush_line_after(code, first):
        return False  # no line, an indented first line, or another line at column 0 too
    if not any(ln.strip() for ln in code[first + 1:]):
        return False  # one line
    if _parses_whole(code):
        return False
    rest = code[first + 1:]
    cut = min(len(ln) - len(ln.lstrip(" ")) for ln in rest if ln.strip())
    return _parses_whole(code[:first + 1] + [ln[cut:] for ln in rest])


def _flush_line_after(code: list[str], index: int) -> bool:
    """Whether a line after ``code[index]`` has text and no indentation (most pastes: one of the first lines)."""
    return any(ln[:1] not in ("", " ") and ln.strip() for ln in code[index + 1:])


def _parses_whole(code: list[str]) -> bool:
    try:
        ast.parse("\n".join(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# --------------------------------------------------------------------------- partial parsing

_CONTINUES = LazyPattern(r"^(else|elif|except|finally|case)\b|^[)\]}]")
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
_MAX_REPAIRS = 40


def parse_partial(code_lines: list[str]) -> Parsed:
    """Parse what parses: whole, else block by block, repairing or skipping what does not."""
    source = "\n".join(code_lines)
    try:
        return Parsed(ast.parse(source), [], list(code_lines))
    except _PARSE_ERRORS:
        pass
    parsed_lines = list(code_lines)
    body: list[ast.stmt] = []
    skipped: list[tuple[int, int, str]] = []
    for start, end in _blocks(code_lines):
        block = list(code_lines[start:end])
        tree, replaced, why = _parse_block(block)
        if tree is None:
            skipped.append((start + 1, end, why))
            parsed_lines[start:end] = [""] * (end - start)
            continue
        parsed_lines[start:end] = block
        ast.increment_lineno(tree, start)
        body.extend(tree.body)
        for rel, reason in replaced:
            skipped.append((start + rel + 1, start + rel + 1, reason))
    skipped = [s for s in skipped if any(code_lines[i].strip() for i in range(s[0] - 1, s[1]))]
    skipped = [(a, b, why) for a, b, why in skipped if _trim(code_lines, a, b)]
    skipped = [(*_trim(code_lines, a, b), why) for a, b, why in skipped]  # type: ignore[misc]
    return Parsed(ast.Module(body=body, type_ignores=[]), sorted(skipped), parsed_lines)


def _trim(code_lines: list[str], a: int, b: int) -> tuple[int, int] | None:
    while a <= b and not code_lines[a - 1].strip():
        a += 1
    while b >= a and not code_lines[b - 1].strip():
        b -= 1
    return (a, b) if a <= b else None


def _blocks(code_lines: list[str]) -> list[tuple[int, int]]:
    """Top-level statements: a new one starts at each unindented line that continues nothing."""
    starts: list[int] = []
    prev = ""
    for i, line in enumerate(code_lines):
        if not line.strip():
            continue
        if not line[0].isspace() and not _CONTINUES.match(line) and not prev.startswith("@") \
                and not prev.rstrip().endswith(("\\", ",", "(", "[", "{")):
            starts.append(i)
        prev = line
    if not starts:
        return []
    return list(zip(starts, starts[1:] + [len(code_lines)], strict=True))


def _parse_block(block: list[str]) -> tuple[ast.Module | None, list[tuple[int, str]], str]:
    replaced: list[tuple[int, str]] = []
    tried: dict[int, int] = {}
    why = "does not parse as Python"
    for _ in range(_MAX_REPAIRS):
        try:
            return ast.parse("\n".join(block)), replaced, ""
        except RecursionError:
            return None, replaced, "too deeply nested to parse"
        except MemoryError:
            return None, replaced, "too deeply nested to parse"
        except (SyntaxError, ValueError, OverflowError) as exc:
            line = getattr(exc, "lineno", None)
            msg = getattr(exc, "msg", str(exc))
            why = f"does not parse as Python ({msg})"
            if "nested" in msg or "indentation" in msg and "levels" in msg:
                return None, replaced, f"too deeply nested to parse ({msg})"
            if not line or not 1 <= line <= len(block):
                return None, replaced, why
            k = line - 1
            attempt = tried.get(k, 0)
            if attempt == 0 and block[k].strip():
                block[k] = ""
            elif attempt <= 1:
                indent = len(block[k]) - len(block[k].lstrip(" ")) if block[k].strip() else \
                    _indent_near(block, k)
                block[k] = " " * indent + "pass"
            else:
                return None, replaced, why
            tried[k] = attempt + 1
            if attempt == 0:
                replaced.append((k, why))
    return None, replaced, why


def _indent_near(block: list[str], k: int) -> int:
    for j in range(k - 1, -1, -1):
        if block[j].strip():
            ind = len(block[j]) - len(block[j].lstrip(" "))
            return ind + 4 if block[j].rstrip().endswith(":") else ind
    return 0


# --------------------------------------------------------------------------- the opt-in real run

_BOOTSTRAP = r'''
import json, sys, time, traceback
path, out_path = sys.argv[1], sys.argv[2]
source = open(path, encoding="utf-8").read()
records = []
result = {"ran": True, "records": records, "error": None}
def dump():
    with open(out_path, "w") as fh:
        json.dump(result, fh)
try:
    import torch
    import torch.nn as nn
    from torch.nn.utils.rnn import PackedSequence
except Exception as exc:
    result["ran"] = False
    result["error"] = {"kind": type(exc).__name__, "message": "cannot import torch: " + str(exc), "line": None,
                       "traceback": ""}
    dump(); sys.exit(0)
WATCH = (nn.RNNBase, nn.RNNCellBase, nn.Linear, nn.Embedding)
def shape(v):
    if isinstance(v, PackedSequence):
        return {"packed": list(v.data.shape)}
    if isinstance(v, torch.Tensor):
        return list(v.shape)
    if isinstance(v, (tuple, list)):
        return [shape(x) for x in v]
    return None
def line():
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename != path:
        f = f.f_back
    return f.f_lineno if f is not None else None
def pre(mod, args):
    if isinstance(mod, WATCH):
        records.append({"line": line(), "layer": type(mod).__name__, "repr": repr(mod)[:200],
                        "inputs": [shape(a) for a in args], "outputs": None})
def post(mod, args, out):
    if isinstance(mod, WATCH):
        for r in reversed(records):
            if r["layer"] == type(mod).__name__ and r["outputs"] is None:
                r["outputs"] = shape(out)
                break
torch.nn.modules.module.register_module_forward_pre_hook(pre)
torch.nn.modules.module.register_module_forward_hook(post)
torch.manual_seed(0)
t0 = time.perf_counter()
try:
    exec(compile(source, path, "exec"), {"__name__": "__main__"})
except BaseException as exc:
    tb = exc.__traceback__
    where = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            where = tb.tb_lineno
        tb = tb.tb_next
    result["error"] = {"kind": type(exc).__name__, "message": str(exc), "line": where,
                       "traceback": "".join(traceback.format_exception(exc))[-20000:]}
result["seconds"] = time.perf_counter() - t0
dump()
'''


@record
class RunResult:
    """What the real run did: the shapes at each watched layer call, and the exception if any."""

    ran: bool
    seconds: float
    records: list[dict[str, Any]]
    error: dict[str, Any] | None
    timed_out: bool = False
    stdout: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ran": self.ran, "seconds": round(self.seconds, 3), "timed_out": self.timed_out,
                "records": self.records, "error": self.error, "stdout": self.stdout[-2000:]}


def run_snippet(code: str, *, timeout: float = 60.0) -> RunResult:
    """Run ``code`` in a separate Python process (``sys.executable``), hooks on every layer."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rnnshape-run-") as tmp:
        src = os.path.join(tmp, "snippet.py")
        out = os.path.join(tmp, "result.json")
        boot = os.path.join(tmp, "bootstrap.py")
        with open(src, "w", encoding="utf-8") as fh:
            fh.write(code)
        with open(boot, "w", encoding="utf-8") as fh:
            fh.write(_BOOTSTRAP)
        t0 = time.perf_counter()
        from rnnshape.diagnose.sandbox import run_sandboxed

        proc = run_sandboxed([sys.executable, boot, src, out], timeout=timeout, cwd=tmp)
        if proc.timed_out:
            return RunResult(True, time.perf_counter() - t0, [], {
                "kind": "Timeout", "message": f"the code did not finish within {timeout:g} s and was "
                "stopped", "line": None, "traceback": ""}, timed_out=True, stdout=proc.stdout)
        seconds = time.perf_counter() - t0
        try:
            with open(out, encoding="utf-8") as fh:
                payload = json.load(fh)
        except (OSError, ValueError):
            return RunResult(True, seconds, [], {
                "kind": "Crash", "message": f"the Python process ended without a result (exit code "
                f"{proc.returncode}): {proc.stderr.strip()[-500:]}", "line": None, "traceback": ""},
                stdout=proc.stdout)
    records = [r for r in payload.get("records", []) if r.get("line") is not None]
    return RunResult(bool(payload.get("ran")), float(payload.get("seconds", seconds)), records,
                     payload.get("error"), stdout=proc.stdout)


# --------------------------------------------------------------------------- the pipeline

_HINT = LazyPattern(r"^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$")


def parse_hints(items: list[str]) -> dict[str, Any]:
    """``["x=B,T,300", "tokens=32,50:int64"]`` -> name -> a tensor with those (symbolic) dims."""
    from rnnshape.diagnose.follower import DTYPES, hint_tensor
    from rnnshape.errors import UsageError

    out: dict[str, Any] = {}
    for item in items:
        m = _HINT.match(item)
        if not m:
            raise UsageError(f"--shape {item!r} needs the form NAME=SHAPE, e.g. --shape x=32,50,300 or "
                             "--shape x=B,T,300 (letters for sizes the code does not pin).")
        name, shape = m.group(1), m.group(2)
        dtype = "float32"
        if ":" in shape:
            shape, dt = shape.rsplit(":", 1)
            if dt.strip() not in DTYPES:
                raise UsageError(f"--shape {item!r}: unknown dtype {dt.strip()!r}; use e.g. float32 or int64.")
            dtype = DTYPES[dt.strip()]
        inner = shape.strip()
        if inner[:1] in "([" and inner[-1:] in ")]":
            inner = inner[1:-1]
        dims = [p.strip() for p in re.split(r"[,×\s]+|(?<=\d)x(?=\d)", inner) if p.strip()]
        for d in dims:
            if not re.fullmatch(r"\d+|[A-Za-z_]\w*", d):
                raise UsageError(f"--shape {item!r}: {d!r} is neither a size nor a name; write sizes as "
                                 "numbers or letters, e.g. x=B,T,300.")
            # the length first: int() of a 5,000-digit string is itself refused by Python
            if d.isdigit() and (len(d) > 19 or int(d) > 2**62):
                short = d if len(d) <= 24 else f"{d[:12]}…({len(d)} digits)"
                raise UsageError(f"--shape {name}=...: {short} is larger than any tensor dimension can be.")
        if name in out:
            raise UsageError(f"--shape gives {name} twice; keep one.")
        out[name] = hint_tensor(name, dims, dtype)
    return out


@record
class Diagnosed:
    """Everything ``rnnshape diagnose`` found, as plain data (``to_dict()`` is the JSON)."""

    name: str
    paste: Paste
    skipped: list[tuple[int, int, str]]
    followed: Any                      # follow.FollowResult
    findings: list[Any]                # follow.Finding, the error first
    explanation: Any = None            # explain.Explanation of a pasted traceback
    run: RunResult | None = None
    notes: list[str] = field(default_factory=list)
    parsed_lines: list[str] = field(default_factory=list)  # the code that was followed (and run)

    @property
    def code(self) -> str:
        return "\n".join(self.parsed_lines)

    @property
    def error(self) -> Any:
        return next((f for f in self.findings if f.diagnosis.is_error), None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def checked(self) -> int:
        """Recurrent calls followed with every size they needed."""
        return len(self.followed.checked)

    @property
    def not_followed(self) -> dict[int, str | None]:
        """Recurrent calls that could not be followed (line -> the hint that would let them be)."""
        done = {ln for ln, _ in self.followed.checked}
        return {ln: h for ln, h in sorted(self.followed.not_followed.items()) if ln not in done}

    @property
    def verdict(self) -> str:
        """``error``, ``ok`` (at least one recurrent call checked), or ``nothing-to-check``."""
        if not self.ok:
            return "error"
        return "ok" if self.checked or self.run is not None else "nothing-to-check"

    def to_dict(self) -> dict[str, Any]:
        err = self.error
        shapes, pasted = self.followed.shapes, self.paste.lines
        # the lines with shapes, and the error's: from the follower's lines, not by a look-up for every pasted line
        wanted = {ln for ln, shown in shapes.items() if shown}
        if err is not None and err.line is not None:
            wanted.add(err.line)
        lines = [{"line": i, "code": pasted[i - 1], "shapes": [s.to_dict() for s in shapes.get(i, [])]}
                 for i in sorted(wanted) if 1 <= i <= len(pasted)]
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "verdict": self.verdict,
            "recurrent_calls": {"checked": self.checked,
                                "not_followed": [{"line": ln, "hint": h} for ln, h in self.not_followed.items()]},
            "source": self.name,
            "ran": self.run is not None,
            "error": err.to_dict() if err is not None else None,
            "diagnoses": [f.to_dict() for f in self.findings],
            "lines": lines,
            "skipped": [{"first": a, "last": b, "why": why} for a, b, why in self.skipped],
            "not_code": {k: self.paste.lines_of(k) for k in ("magic", "traceback", "output") if k in self.paste.kinds},
            "assumptions": [{"line": ln, "assumption": a} for ln, a in self.followed.assumptions],
            "notes": self.notes,
            "traceback": self.explanation.to_dict() if self.explanation is not None else None,
            "run": self.run.to_dict() if self.run is not None else None,
        }


def diagnose_paste(text: str, hints: dict[str, Any] | None = None, *, name: str = "<paste>",
                   run: bool = False, timeout: float = 60.0) -> Diagnosed:
    """Clean, parse, follow; join a pasted traceback (and, with ``run``, a real run). The cycle collector is
    paused throughout: the paste's tree and the follower's values live to the end (rnnshape/gcpause.py)."""
    with collector_paused():
        return _diagnose_paste(text, hints, name=name, run=run, timeout=timeout)


def _diagnose_paste(text: str, hints: dict[str, Any] | None, *, name: str, run: bool, timeout: float) -> Diagnosed:
    from rnnshape.diagnose.follower import Finding, Follower

    text, notebook_note = from_notebook(text)
    paste = clean(text)
    if notebook_note:
        paste.notes.insert(0, notebook_note)
    parsed = parse_partial(paste.code_lines)
    follower = Follower(paste.code_lines, hints)
    result = follower.run(parsed.tree)
    findings: list[Finding] = []
    if result.error is not None:
        findings.append(result.error)
    findings.extend(result.warnings)
    notes = list(paste.notes) + list(result.notes)
    explanation = None
    if paste.traceback:
        from rnnshape.explain.explainer import explain_text

        explanation = explain_text(paste.traceback, code=paste.code)
        findings = _join_traceback(findings, explanation, paste, source="traceback")
    ran = None
    if run:
        ran = run_snippet("\n".join(parsed.lines), timeout=timeout)
        findings = _join_run(findings, ran, paste)
        notes.append("the code was run (--run) in a separate Python process, "
                     f"{ran.seconds:.2f} s" + (", and stopped at the time limit" if ran.timed_out else ""))
    if not any(f.diagnosis.is_error for f in findings):
        findings.extend(result.unknowns)
    elif result.unknowns:
        err_line = next(f.line for f in findings if f.diagnosis.is_error)
        findings.extend(u for u in result.unknowns if u.line is not None and err_line is not None
                        and u.line < err_line)
    order = {"error": 0, "warning": 1, "info": 2}
    first_error = next((f for f in findings if f.diagnosis.is_error), None)
    rest = [f for f in findings if f is not first_error]
    rest.sort(key=lambda f: (order.get(f.diagnosis.severity, 3), f.line or 0))
    findings = ([first_error] if first_error else []) + rest
    return Diagnosed(name, paste, parsed.skipped, result, findings, explanation, ran, notes, parsed.lines)


def _match_line(paste: Paste, code: str | None, line: int | None) -> int | None:
    """The paste line a traceback frame names: by its code text, else by its number."""
    if code:
        want = code.strip()
        hits = [i + 1 for i, ln in enumerate(paste.code_lines) if ln.strip() == want]
        if len(hits) == 1:
            return hits[0]
        if hits and line in hits:
            return line
        if hits:
            return hits[-1]
    if line is not None and 0 < line <= len(paste.code_lines) and paste.code_lines[line - 1].strip():
        return line
    return None


def _join_traceback(findings: list[Any], explanation: Any, paste: Paste, *, source: str) -> list[Any]:
    from dataclasses import replace

    from rnnshape.diagnose.follower import Finding

    static_error = next((f for f in findings if f.diagnosis.is_error), None)
    user_frames = [fr for fr in explanation.frames if fr.is_user and fr.code]
    for tf in explanation.findings:
        frame = next((fr for fr in reversed(user_frames) if fr.code == tf.context.user_line), None)
        line = _match_line(paste, tf.context.user_line, frame.line if frame else None)
        evidence = {"message": tf.message, "kind": tf.kind, "code": tf.diagnosis.code,
                    "user_line": tf.context.user_line, "line": line,
                    "torch_message": tf.diagnosis.evidence.get("torch_message")}
        if static_error is not None and (line == static_error.line or (
                line is None and tf.diagnosis.code == static_error.diagnosis.code)):
            d = static_error.diagnosis
            agree = _numbers_agree(d.evidence, tf.diagnosis.evidence)
            evidence["agrees"] = agree and tf.diagnosis.code == d.code
            static_error.diagnosis = replace(d, evidence={**d.evidence, source: evidence})
            continue
        findings.append(Finding(line, replace(tf.diagnosis, evidence={**tf.diagnosis.evidence, source: evidence}),
                                source=source))
    return findings


def _numbers_agree(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key in ("expected", "got"):
        if key in a and key in b and a[key] is not None and b[key] is not None:
            if [str(v) for v in (a[key] if isinstance(a[key], list) else [a[key]])] != \
                    [str(v) for v in (b[key] if isinstance(b[key], list) else [b[key]])]:
                return False
    return True


def _join_run(findings: list[Any], ran: RunResult, paste: Paste) -> list[Any]:
    from dataclasses import replace

    from rnnshape import diagnoses as dx
    from rnnshape.diagnose.follower import Finding
    from rnnshape.explain.explainer import explain_text

    err = ran.error
    if err is None:
        static_error = next((f for f in findings if f.diagnosis.is_error), None)
        if static_error is not None:
            static_error.diagnosis = replace(static_error.diagnosis, evidence={
                **static_error.diagnosis.evidence, "run": {"raised": False}})
        return findings
    line = err.get("line")
    at_line = [r for r in ran.records if r.get("line") == line]
    explained = explain_text(err.get("traceback") or f"{err['kind']}: {err['message']}", code=paste.code)
    if explained.findings:
        d = explained.findings[0].diagnosis
    elif err["kind"] in ("Timeout", "Crash"):
        d = dx.torch_error(message=err["message"], kind=err["kind"])
    else:
        d = dx.torch_error(message=err["message"], kind=err["kind"])
    evidence = {"kind": err["kind"], "message": err["message"], "line": line, "shapes": at_line,
                "code": d.code}
    static_error = next((f for f in findings if f.diagnosis.is_error), None)
    if static_error is not None and static_error.line == line:
        evidence["agrees"] = True
        static_error.diagnosis = replace(static_error.diagnosis, evidence={
            **static_error.diagnosis.evidence, "run": evidence})
        return findings
    findings.append(Finding(line, replace(d, evidence={**d.evidence, "run": evidence}), source="run"))
    return findings
