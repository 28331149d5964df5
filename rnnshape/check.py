"""``rnnshape check``: a TOML file of cases in, plain-data results out (and JUnit XML).

A case is one ``inspect`` call written down: the layer (a pasted constructor in
``layer``, or ``mode`` with ``input_size``/``hidden_size`` and the other flags in
snake_case), the input (a shape, or a tensor file), optional states and lengths,
and what must hold (``expect`` shapes, or ``expect_error`` naming a diagnosis
code). The same library calls as ``inspect`` answer it: :func:`inputs.build_spec`,
:func:`inputs.build_request`, :func:`report.inspect_layer`.

The whole file is validated before any case runs: a TOML syntax error, an unknown
key, a missing field or a value of the wrong type is a :class:`CheckFileError`
(a usage error, exit 2) naming the file, the line and the key. torch is imported
only when a case runs on a device (never with ``dry_run``).
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import field, replace
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape import validate
from rnnshape.engine.inputs import UserTensors, build_request, build_spec, load_user_tensors
from rnnshape.engine.report import PACKED_TENSORS, MemoryRefused, Report, TooLarge, expected_names, inspect_layer
from rnnshape.errors import UsageError
from rnnshape.model.shapes import TensorArg
from rnnshape.model.spec import LayerSpec
from rnnshape.model.vocab import CaseStatus
from rnnshape.records import record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Layer settings a case may give next to ``mode`` (``inspect``'s flags, snake_case), with their types.
LAYER_KEYS: dict[str, tuple[type, ...]] = {
    "input_size": (int,), "hidden_size": (int,), "num_layers": (int,), "bidirectional": (bool,),
    "batch_first": (bool,), "proj_size": (int,), "nonlinearity": (str,), "bias": (bool,),
    "dropout": (int, float),
}
#: Every key a case may hold, with one line of meaning (the error for an unknown key lists them).
CASE_KEYS: dict[str, str] = {
    "name": "the case's name (shown in the table and in JUnit)",
    "layer": 'a pasted constructor, e.g. "nn.LSTM(10, 20, batch_first=True)"',
    "mode": "rnn, lstm, gru, rnn-cell, lstm-cell or gru-cell (with input_size and hidden_size)",
    **{k: "a layer setting, as the inspect flag" for k in LAYER_KEYS},
    "input": "the input: a shape [5, 3, 10], or a tensor file \"x.pt\" / \"batch.npz:input\"",
    "seq_len": "dummy input: sequence length (instead of input)",
    "batch": "dummy input: batch size (instead of input)",
    "unbatched": "dummy input: one unbatched sequence (instead of input)",
    "hidden": "h_0: a shape or a tensor file",
    "cell": "c_0 (LSTM): a shape or a tensor file",
    "lengths": "pack the input with these lengths: a list, or a tensor file",
    "enforce_sorted": "as pack_padded_sequence (default true)",
    "dtype": "the layer's dtype: float32, float64, float16 or bfloat16",
    "device": "run this case on another device than --device",
    "expect": "shapes that must hold: { output = [5, 3, 20], h_n = [1, 3, 20] }",
    "expect_error": 'a diagnosis code that must be found, e.g. "input-size-mismatch"',
}
#: ``mode`` cases must say the sizes: a silent 10/20 default would make a check meaningless.
_REQUIRED_WITH_MODE = ("input_size", "hidden_size")
_TENSOR_KEYS = ("input", "hidden", "cell")


class CheckFileError(UsageError):
    """The check file cannot be used: a usage error (exit 2) naming the file, line and key."""

    def __init__(self, file: str, message: str, *, line: int | None = None,
                 key: str | None = None) -> None:
        self.file, self.line, self.key, self.detail = file, line, key, message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- reading the file


@record(frozen=True)
class Case:
    """One validated case, as written (values are still the TOML values)."""

    name: str
    file: str
    line: int | None
    values: dict[str, Any]
    spec: LayerSpec | None = None  # the layer, parsed once while validating

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.file))


def default_file(cwd: str = ".") -> str:
    """``rnnshape.toml`` if there is one here, else ``pyproject.toml``."""
    for name in ("rnnshape.toml", "pyproject.toml"):
        path = os.path.join(cwd, name)
        if os.path.exists(path):
            return path if cwd != "." else name
    raise UsageError("no check file given, and neither rnnshape.toml nor pyproject.toml is here; "
                     "run: rnnshape check FILE.toml")


def load_cases(path: str) -> list[Case]:
    """Read and validate every case of ``path`` (a cases file, or a pyproject.toml)."""
    from rnnshape.textio import MAX_TOML_BYTES, InputFileError, read_bounded

    try:
        raw = read_bounded(path, limit=MAX_TOML_BYTES, what="the check file")
    except InputFileError as exc:
        raise CheckFileError(path, str(exc).removeprefix(f"the check file {path!r}").lstrip(" :")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckFileError(path, f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in str(exc):
            line = max(len(text.splitlines()), 1)
        raise CheckFileError(path, f"TOML syntax error: {exc}", line=line) from None
    lines = text.splitlines()
    in_pyproject = "tool" in data and isinstance(data["tool"], dict) and "rnnshape" in data["tool"]
    if os.path.basename(path) == "pyproject.toml" or in_pyproject and "case" not in data:
        if not in_pyproject:
            raise CheckFileError(path, "has no [tool.rnnshape] table; add cases as "
                                       "[[tool.rnnshape.case]] tables")
        table, prefix = data["tool"]["rnnshape"], "tool.rnnshape."
        if not isinstance(table, dict):
            raise CheckFileError(path, "[tool.rnnshape] must be a table", key="tool.rnnshape")
    else:
        table, prefix = data, ""
    unknown = [k for k in table if k != "case" and not (prefix == "" and k == "tool")]
    if unknown:
        key = unknown[0]
        raise CheckFileError(path, f"unknown top-level key {prefix + key!r}: a check file holds "
                                   f"[[{prefix}case]] tables only", line=_find_line(lines, key, 0, len(lines)),
                             key=prefix + key)
    entries = table.get("case")
    if entries is None:
        raise CheckFileError(path, f"no cases: add [[{prefix}case]] tables (see rnnshape check --help)")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CheckFileError(path, f"'{prefix}case' must be an array of tables: write [[{prefix}case]]",
                             line=_find_line(lines, "case", 0, len(lines)), key=prefix + "case")
    blocks = _case_blocks(lines, prefix + "case")
    cases: list[Case] = []
    seen: dict[str, int | None] = {}
    for i, entry in enumerate(entries):
        start, end = blocks[i] if i < len(blocks) else (None, None)
        case = _validate(path, lines, i, entry, start, end)
        if case.name in seen:
            raise CheckFileError(path, f"two cases are named {case.name!r} (the other at line "
                                       f"{seen[case.name]}); names must be unique for CI reports",
                                 line=_key_line(lines, "name", start, end) or case.line, key="name")
        seen[case.name] = case.line
        cases.append(case)
    return cases


def _case_blocks(lines: list[str], header: str) -> list[tuple[int, int]]:
    """(first line, end) of each ``[[case]]`` block, 1-based first line, end exclusive (0-based)."""
    pattern = re.compile(r"^\s*\[\[\s*" + r"\s*\.\s*".join(map(re.escape, header.split("."))) + r"\s*\]\]")
    starts = [i for i, line in enumerate(lines) if pattern.match(line)]
    table = re.compile(r"^\s*\[")
    blocks = []
    for s in starts:
        e = next((j for j in range(s + 1, len(lines)) if table.match(lines[j])
                  and not re.match(r"^\s*\[\s*" + re.escape(header) + r"\s*\.", lines[j])), len(lines))
        blocks.append((s + 1, e))
    return blocks


def _find_line(lines: list[str], key: str, start: int, end: int) -> int | None:
    """The 1-based line of ``key = ...`` (or ``key`` inside an inline table) within [start, end)."""
    exact = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    inline = re.compile(r"(?:^|[{,\s])[\"']?" + re.escape(key) + r"[\"']?\s*=")
    for pattern in (exact, inline):
        for i in range(max(start, 0), min(end, len(lines))):
            if pattern.search(lines[i].split("#", 1)[0]):
                return i + 1
    header = re.compile(r"^\s*\[+\s*(?:[\w.]+\.)?" + re.escape(key) + r"\s*\]+")
    for i in range(max(start, 0), min(end, len(lines))):
        if header.match(lines[i]):
            return i + 1
    return None


def _key_line(lines: list[str], key: str, start: int | None, end: int | None) -> int | None:
    if start is None:
        return _find_line(lines, key, 0, len(lines))
    return _find_line(lines, key, start - 1, end or len(lines)) or start


def _validate(path: str, lines: list[str], index: int, entry: dict[str, Any],
              start: int | None, end: int | None) -> Case:
    label = f"case {index + 1}" + (f" ({entry['name']!r})" if isinstance(entry.get("name"), str) else "")

    def fail(message: str, key: str | None = None) -> CheckFileError:
        line = _key_line(lines, key, start, end) if key else start
        return CheckFileError(path, f"{label}: {message}", line=line, key=key)

    for key in entry:
        if key not in CASE_KEYS:
            near = _suggest(key)
            raise fail(f"unknown key {key!r}" + (f" (did you mean {near!r}?)" if near else "")
                       + f". A case takes: {', '.join(CASE_KEYS)}.", key)
    name = entry.get("name", f"case {index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise fail("name must be a non-empty string", "name")
    has_layer, has_mode = "layer" in entry, "mode" in entry
    if not has_layer and not has_mode:
        raise fail('missing field: give layer = "nn.LSTM(10, 20)" or mode = "lstm" with input_size '
                   "and hidden_size")
    if has_layer:
        if not isinstance(entry["layer"], str):
            raise fail("layer must be a constructor string such as \"nn.GRU(10, 20)\"", "layer")
        clash = [k for k in ("mode", *LAYER_KEYS) if k in entry]
        if clash:
            raise fail(f"layer already sets the layer; drop {clash[0]!r} or write it inside the "
                       "constructor", clash[0])
    else:
        if not isinstance(entry["mode"], str):
            raise fail("mode must be a string: rnn, lstm, gru, rnn-cell, lstm-cell or gru-cell", "mode")
        for key in _REQUIRED_WITH_MODE:
            if key not in entry:
                raise fail(f"missing field {key!r}: a mode case must give input_size and hidden_size",
                           "mode")
    for key, types in LAYER_KEYS.items():
        if key in entry and not _is(entry[key], types):
            raise fail(f"{key} must be {_type_words(types)}, got {_toml_type(entry[key])}", key)
    for key in ("unbatched", "enforce_sorted"):
        if key in entry and not isinstance(entry[key], bool):
            raise fail(f"{key} must be true or false, got {_toml_type(entry[key])}", key)
    for key in ("seq_len", "batch"):
        if key in entry and (not _is(entry[key], (int,)) or entry[key] < 0):
            raise fail(f"{key} must be a whole number >= 0, got {entry[key]!r}", key)
    if "input" in entry and any(k in entry for k in ("seq_len", "batch", "unbatched")):
        other = next(k for k in ("seq_len", "batch", "unbatched") if k in entry)
        raise fail(f"input gives the whole input; drop {other!r}", other)
    for key in (*_TENSOR_KEYS, "lengths"):
        if key in entry:
            value = entry[key]
            if isinstance(value, str):
                if not value.strip():
                    raise fail(f"{key} is an empty string; give a shape list or a tensor file", key)
            elif not _is_shape(value):
                raise fail(f"{key} must be a shape (a list of whole numbers >= 0, e.g. [5, 3, 10]) "
                           f"or a tensor file \"PATH[:KEY]\", got {value!r}", key)
    if "cell" in entry and "hidden" not in entry:
        raise fail("cell needs hidden too: an LSTM's state is the pair (h_0, c_0)", "cell")
    for key in ("dtype", "device"):
        if key in entry and not isinstance(entry[key], str):
            raise fail(f"{key} must be a string", key)
    if "dtype" in entry:
        try:
            validate.dtype(entry["dtype"], "toml")
        except UsageError as exc:
            raise fail(str(exc), "dtype") from None
    try:
        spec = _spec(entry)
    except UsageError as exc:
        raise fail(str(exc), "layer" if has_layer else "mode") from None
    if "expect" in entry and "expect_error" in entry:
        raise fail("give expect (the shapes when the call works) or expect_error (the diagnosis "
                   "when it does not), not both", "expect_error")
    if "expect" in entry:
        expect = entry["expect"]
        if not isinstance(expect, dict) or not expect:
            raise fail("expect must be a table of shapes, e.g. expect = { output = [5, 3, 20] }", "expect")
        valid = expected_names(spec) + (PACKED_TENSORS if "lengths" in entry else ())
        for tname, shape in expect.items():
            if tname not in valid:
                raise fail(f"expect names an unknown tensor {tname!r}; {spec.class_name} has "
                           f"{', '.join(valid)}", tname)
            if not _is_shape(shape):
                raise fail(f"expect.{tname} must be a shape (a list of whole numbers >= 0), got {shape!r}",
                           tname)
    if "expect_error" in entry:
        code = entry["expect_error"]
        if not isinstance(code, str) or code not in dx.CODES:
            raise fail(f"expect_error {code!r} is not a diagnosis code; codes: "
                       f"{', '.join(dx.CODES)}", "expect_error")
    return Case(name=name, file=path, line=start, values=dict(entry), spec=spec)


def _spec(values: dict[str, Any]) -> LayerSpec:
    flags = {k: values.get(k) for k in LAYER_KEYS if k not in ("input_size", "hidden_size")}
    return build_spec(values.get("layer"), values.get("mode"), values.get("input_size"),
                      values.get("hidden_size"), flags)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def _is_shape(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)


def _type_words(types: tuple[type, ...]) -> str:
    if types == (bool,):
        return "true or false"
    if types == (int,):
        return "a whole number"
    if types == (str,):
        return "a string"
    return "a number"


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"


def _suggest(key: str) -> str | None:
    import difflib

    found = difflib.get_close_matches(key.replace("-", "_"), list(CASE_KEYS), n=1, cutoff=0.6)
    return found[0] if found else None


# --------------------------------------------------------------------------- running


@record
class CaseResult:
    """One case's outcome. ``status``: passed, failed, error (could not run) or skipped."""

    case: Case
    status: CaseStatus
    layer: str
    input: str
    time_ms: float
    report: Report | None = None
    message: str = ""  # error/skip reason, or a one-line summary of the failure
    failures: list[dx.Diagnosis] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "line": self.case.line, "status": self.status, "layer": self.layer,
            "input": self.input, "time_ms": round(self.time_ms, 3), "message": self.message,
            "expect": self.case.values.get("expect"), "expect_error": self.case.values.get("expect_error"),
            "failures": [d.to_dict() for d in self.failures],
            "report": self.report.to_dict() if self.report is not None else None,
        }


@record
class CheckResult:
    file: str
    device: str
    dry_run: bool
    results: list[CaseResult]
    total_ms: float

    def count(self, status: CaseStatus) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "file": self.file, "device": self.device, "dry_run": self.dry_run,
            "summary": {"cases": len(self.results), "passed": self.count("passed"),
                        "failed": self.count("failed"), "errors": self.count("error"),
                        "skipped": self.count("skipped"), "total_ms": round(self.total_ms, 3)},
            "cases": [r.to_dict() for r in self.results],
        }


def run_check(path: str, *, device: str = "fast", dry_run: bool = False,
              caller: validate.Caller = "cli") -> CheckResult:
    """Load ``path`` and run every case; ``device`` is resolved here (``auto``, ``cuda:1``, ...).

    ``caller``: who gave ``device`` (the CLI's flag or the API's keyword), for the error's words.
    """
    t0 = time.perf_counter()
    cases = load_cases(path)
    resolved = "none" if dry_run else validate.device(device, caller)
    results = run_cases(cases, device=resolved, dry_run=dry_run)
    return CheckResult(path, resolved, dry_run, results, (time.perf_counter() - t0) * 1000)


def run_cases(cases: list[Case], *, device: str, dry_run: bool = False) -> list[CaseResult]:
    devices: dict[str, str] = {}
    return [run_case(c, device=device, dry_run=dry_run, devices=devices) for c in cases]


def run_case(case: Case, *, device: str, dry_run: bool = False,
             devices: dict[str, str] | None = None) -> CaseResult:
    """Run one case; never raises for the case's own problems (they become its status)."""
    v = case.values
    spec = case.spec if case.spec is not None else _spec(v)
    layer = v["layer"].strip() if "layer" in v else spec.to_code()
    shown_input = _show(v.get("input"))
    t0 = time.perf_counter()

    def done(status: CaseStatus, report: Report | None = None, message: str = "",
             failures: list[dx.Diagnosis] | None = None) -> CaseResult:
        return CaseResult(case, status, layer, shown_input, (time.perf_counter() - t0) * 1000,
                          report, message, failures or [])

    files = {k: _path(case, v[k]) for k in (*_TENSOR_KEYS, "lengths") if isinstance(v.get(k), str)}
    if dry_run and files:
        keys = ", ".join(files)
        return done("skipped", message=f"{keys} {'is a tensor file' if len(files) == 1 else 'are tensor files'}"
                                       "; reading it needs torch (run without --dry-run)")
    where = device
    if not dry_run and "device" in v:
        try:
            if devices is None:
                devices = {}
            if v["device"] not in devices:
                devices[v["device"]] = validate.device(v["device"], "toml")
            where = devices[v["device"]]
        except UsageError as exc:
            return done("error", message=str(exc))
    try:
        user = UserTensors()
        if files:
            from rnnshape.engine.run import load_device

            user = load_user_tensors(input=files.get("input"), hidden=files.get("hidden"),
                                     cell=files.get("cell"), lengths=files.get("lengths"),
                                     device=load_device(where), keep_device=False)
        if isinstance(v.get("lengths"), list):
            user.lengths = tuple(v["lengths"])
        req = build_request(
            spec, seq_len=v.get("seq_len"), batch=v.get("batch"), unbatched=v.get("unbatched", False),
            input_shape=_shape_text(v.get("input")), hidden_shape=_shape_text(v.get("hidden")),
            cell_shape=_shape_text(v.get("cell")), dtype=v.get("dtype", "float32"), user=user,
            enforce_sorted=v.get("enforce_sorted", True))
        req = _with_origins(req, case)
        expects = {k: tuple(s) for k, s in (v.get("expect") or {}).items()}
        report = inspect_layer(req, device=where, dry_run=dry_run, expects=expects,
                               tensors=user.tensors, sources=user.sources)
    except (UsageError, MemoryRefused, TooLarge) as exc:
        return done("error", message=str(exc))
    wanted = v.get("expect_error")
    if wanted is not None:
        found = [d.code for d in report.diagnoses]
        if wanted in found:
            return done("passed", report, f"{wanted} diagnosed, as expected")
        errors = [d for d in report.diagnoses if d.is_error]
        got = ", ".join(d.code for d in errors) if errors else "the call works"
        return done("failed", report, f"expected {wanted}, got: {got}", errors)
    errors = [d for d in report.diagnoses if d.is_error]
    if errors:
        return done("failed", report, "; ".join(f"{d.code}: {d.title}" for d in errors), errors)
    return done("passed", report)


def _path(case: Case, text: str) -> str:
    """A tensor file named in the TOML, relative to the TOML file's folder."""
    return text if os.path.isabs(text) else os.path.join(case.base_dir, text)


def _shape_text(value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    return ",".join(str(n) for n in value) if value else "()"


def _show(value: Any) -> str:
    if value is None:
        return "(default)"
    if isinstance(value, list):
        return dx.fmt_shape(value) if value else "()"
    return str(value)


def _with_origins(req: Any, case: Case) -> Any:
    """Where each shape came from, in the words of the file (not of the CLI's flags)."""
    where = f"{os.path.basename(case.file)}, case {case.name!r}"

    def relabel(arg: TensorArg | None, key: str) -> TensorArg | None:
        value = case.values.get(key)
        if arg is None or not isinstance(value, list):
            return arg
        return replace(arg, origin=f"{key} = {value} in {where}")

    return replace(req, input=relabel(req.input, "input"), hidden=relabel(req.hidden, "hidden"),
                   cell=relabel(req.cell, "cell"))


# --------------------------------------------------------------------------- JUnit XML


def junit_xml(result: CheckResult) -> str:
    """The results as JUnit XML (the schema CI systems read: testsuites/testsuite/testcase)."""
    import xml.etree.ElementTree as ET  # only --junit-xml pays for it
    seconds = result.total_ms / 1000
    suite_name = os.path.basename(result.file)
    root = ET.Element("testsuites", {
        "name": "rnnshape check", "tests": str(len(result.results)),
        "failures": str(result.count("failed")), "errors": str(result.count("error")),
        "skipped": str(result.count("skipped")), "time": f"{seconds:.3f}"})
    suite = ET.SubElement(root, "testsuite", {
        "name": suite_name, "tests": str(len(result.results)),
        "failures": str(result.count("failed")), "errors": str(result.count("error")),
        "skipped": str(result.count("skipped")), "time": f"{seconds:.3f}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())})
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "device", "value": result.device})
    ET.SubElement(props, "property", {"name": "dry_run", "value": str(result.dry_run).lower()})
    classname = "rnnshape." + re.sub(r"\W+", "_", os.path.splitext(suite_name)[0]).strip("_")
    for r in result.results:
        attrs = {"classname": classname, "name": r.name, "time": f"{r.time_ms / 1000:.6f}",
                 "file": result.file}
        if r.case.line is not None:
            attrs["line"] = str(r.case.line)
        case = ET.SubElement(suite, "testcase", attrs)
        if r.status == "failed":
            first = r.failures[0] if r.failures else None
            el = ET.SubElement(case, "failure", {"message": r.message,
                                                 "type": first.code if first else "failed"})
            el.text = _failure_text(r)
        elif r.status == "error":
            el = ET.SubElement(case, "error", {"message": r.message, "type": "usage-error"})
            el.text = r.message
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", {"message": r.message})
        if r.report is not None:
            out = ET.SubElement(case, "system-out")
            out.text = _tensor_lines(r)
    _xml_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# Characters XML 1.0 cannot hold at all, escaped or not (ElementTree writes them raw). A source, compiled
# (and cached by re) on first use: its ranges take milliseconds to compile, which only --junit-xml should pay.
_NOT_XML = "[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def _xml_safe(root: Any) -> None:  # an ElementTree Element (imported lazily)
    """Every text and attribute made representable: characters XML forbids become visible escapes."""
    def clean(text: str) -> str:
        return re.sub(_NOT_XML, lambda m: f"\\x{ord(m.group(0)):02x}", text)

    for el in root.iter():
        if el.text:
            el.text = clean(el.text)
        for name, value in el.attrib.items():
            el.set(name, clean(value))


def refuse_overwriting_inputs(output: str, check_file: str, cases: list[Case] | None = None) -> None:
    """An output path that is one of the inputs (the check file, a case's tensor file) is a usage error."""
    inputs = [check_file] + [_path(c, v) for c in cases or [] for k in (*_TENSOR_KEYS, "lengths")
                             if isinstance(v := c.values.get(k), str)]
    if not os.path.exists(output):
        return
    for name in inputs:
        try:
            same = os.path.samefile(output, name)
        except OSError:
            continue
        if same:
            raise UsageError(f"--junit-xml {output!r} is an input of this check ({name}); writing the "
                             f"report there would overwrite it. Choose another path, e.g. report.xml.")


def write_junit(result: CheckResult, path: str) -> None:
    refuse_overwriting_inputs(path, result.file, [r.case for r in result.results])
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(junit_xml(result))
    except OSError as exc:
        raise UsageError(f"cannot write the JUnit report to {path!r}: {exc.strerror or exc}") from None


def _failure_text(r: CaseResult) -> str:
    parts = [f"{r.case.file}:{r.case.line or '?'}: case {r.name!r}: {r.layer} on input {r.input}"]
    for d in r.failures:
        parts.append(f"\n[{d.severity} {d.code}] {d.title}\n{d.explanation}")
        if d.evidence.get("torch_message"):
            parts.append(f"torch says: {d.evidence['torch_message']}")
        if d.fix:
            parts.append("Fix:\n" + d.fix)
    if not r.failures:
        parts.append(r.message)
    return "\n".join(parts)


def _tensor_lines(r: CaseResult) -> str:
    assert r.report is not None
    lines = [f"{r.layer}  (device {r.report.device}, engine: {r.report.engine})"]
    for name, info in r.report.tensors.items():
        lines.append(f"{name}: {info.describe()}")
    return "\n".join(lines)
