"""Rebuild rnnshape/explain/releases.py: which torch releases print each wording of the catalog.

For every wheel given, the script reads torch's own code without installing it: the Python
sources of the recurrent layers and packing (torch/nn/**, torch/backends/cudnn/**) from the
zip, and the string constants of its shared libraries (ATen's RNN.cpp, cuDNN's RNN.cpp,
PackedSequence.cpp live in libtorch*/libcaffe2*), streamed out of the zip in blocks. A wording
(rnnshape/explain/wordings.py) is "in" a release when all of its probes occur there.

It also lists the messages raised or warned by each release's torch/nn/modules/rnn.py and
torch/nn/utils/rnn.py that no wording covers, so a new wording is noticed, not guessed.

Get the wheels (they stay outside the repository), then run from the repository root:

    pip download torch==1.13.1 --no-deps --only-binary=:all: --python-version 3.10 \\
        --platform manylinux2014_aarch64 -d /tmp/wheels
    python tools/harvest_wordings.py /tmp/wheels/torch-*.whl [--installed] [--check]

``--installed`` adds the torch installed in this environment (its files on disk). ``--check``
writes nothing and exits 1 if releases.py would change.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnshape.explain.wordings import WORDINGS  # noqa: E402

OUTPUT = ROOT / "rnnshape" / "explain" / "releases.py"
BLOCK = 1 << 24
PY_SOURCES = re.compile(r"^torch/(?:nn/.*|backends/cudnn/.*|_C/_VariableFunctions\.pyi)\.pyi?$")
LIBRARIES = re.compile(r"^(?:torch|caffe2)/.*(?:libtorch[\w-]*|libcaffe2[\w-]*|libATen[\w-]*|_C[\w.-]*)"
                       r"\.so(?:\.\d+)*$")
#: A wheel that carries CUDA kernels (cuDNN's RNN, the fused CUDA cells): its strings date the
#: CUDA-only wordings, which the CPU wheels cannot show.
CUDA_LIBRARIES = re.compile(r"(?:^|/)lib(?:torch_cuda\w*|caffe2_gpu|c10_cuda|cudart[\w-]*)\.so")
RNN_MODULES = ("torch/nn/modules/rnn.py", "torch/nn/utils/rnn.py", "torch/nn/_functions/rnn.py",
               "torch/backends/cudnn/rnn.py")


#: Messages of the rnn modules that are not mistakes a user can make with a recurrent layer, each
#: with the reason it has no wording (the script reports them apart, so nothing is left unread).
IGNORED: dict[str, str] = {
    "Unknown mode: {}": "torch.backends.cudnn.rnn.get_cudnn_mode's fallback: RNNBase.__init__ refuses an "
                        "unknown mode first ('Unrecognized RNN mode', a wording), so users never reach it",
    "mode must be RNN_TANH or RNN_RELU, got {}": "an internal assert of nn.RNN.forward: nn.RNN derives its mode "
                                                 "from nonlinearity, which __init__ has already checked",
    "hx must not be None": "an internal assert of nn.RNN.forward, after forward built hx itself",
    "apply_permutation is deprecated, please use tensor.index_select(dim, permutation) instead":
        "the deprecation note of a private helper (torch.nn.utils.rnn.apply_permutation), not an error",
    "pack_padded_sequence has been called with a Python list of sequence lengths. The tracer cannot track "
    "the data flow of Python values, and it will treat them as constants, likely rendering the trace "
    "incorrect for any other combination of lengths.":
        "a TracerWarning of torch.jit.trace (the lengths become constants of the trace), not an error of "
        "the layer or its shapes",
}


def release_of(wheel: Path) -> str:
    return wheel.name.split("-")[1].split("+")[0]


def _library_blocks(z: zipfile.ZipFile, name: str, overlap: int) -> Iterator[bytes]:
    """A shared library's bytes in blocks that overlap, so no probe is cut in two."""
    tail = b""
    with z.open(name) as fh:
        while True:
            block = fh.read(BLOCK)
            if not block:
                return
            yield tail + block
            tail = block[-overlap:]


def probes_in_wheel(wheel: Path, probes: set[str]) -> tuple[set[str], dict[str, str], bool]:
    """The probes found in the wheel, its recurrent modules' sources by path, and whether it
    carries CUDA kernels."""
    found: set[str] = set()
    sources: dict[str, str] = {}
    cuda = False
    encoded = {p: p.encode() for p in probes}
    overlap = max(len(b) for b in encoded.values())
    with zipfile.ZipFile(wheel) as z:
        cuda = any(CUDA_LIBRARIES.search(info.filename) for info in z.infolist())
        for info in z.infolist():
            if PY_SOURCES.match(info.filename):
                text = z.read(info).decode("utf-8", errors="replace")
                if info.filename in RNN_MODULES:
                    sources[info.filename] = text
                found.update(p for p in probes - found if p in text)
            elif LIBRARIES.match(info.filename):
                for block in _library_blocks(z, info.filename, overlap):
                    found.update(p for p, b in encoded.items() if p not in found and b in block)
    return found, sources, cuda


def probes_installed(probes: set[str]) -> tuple[str, set[str], dict[str, str], bool]:
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--installed: torch is not installed here")
    base = Path(next(iter(spec.submodule_search_locations))).parent
    version = importlib.metadata.version("torch").split("+")[0]
    found: set[str] = set()
    sources: dict[str, str] = {}
    cuda = False
    for path in (base / "torch").rglob("*"):
        rel = path.relative_to(base).as_posix()
        cuda = cuda or bool(CUDA_LIBRARIES.search(rel))
        if PY_SOURCES.match(rel):
            text = path.read_text(errors="replace")
            if rel in RNN_MODULES:
                sources[rel] = text
            found.update(p for p in probes - found if p in text)
        elif LIBRARIES.match(rel) and path.is_file():
            data = path.read_bytes()
            found.update(p for p in probes - found if p.encode() in data)
    return version, found, sources, cuda


PLACEHOLDER = "{}"


def _text_of(node: ast.AST, strings: dict[str, list[str]]) -> list[str]:
    """The message texts an expression can print, with ``{}`` for what is computed at run time.

    Handles the forms torch's rnn modules use: literals, f-strings, ``"..." + x``, ``"...".format``,
    ``"..." % x``, and a local name bound to one of those (``msg = ...; raise RuntimeError(msg)``).
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else PLACEHOLDER for v in node.values)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _text_of(node.left, strings) or [PLACEHOLDER]
                for b in _text_of(node.right, strings) or [PLACEHOLDER]]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return [re.sub(r"%[-\d.]*[sdrf]", PLACEHOLDER, t) for t in _text_of(node.left, strings)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _text_of(node.func.value, strings)
    if isinstance(node, ast.Name):
        return strings.get(node.id, [])
    return []


def _local_strings(scope: ast.AST) -> dict[str, list[str]]:
    """Names bound to message texts in a function (or module): ``msg = "..." f"..."``."""
    strings: dict[str, list[str]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            texts = _text_of(node.value, {})
            if texts:
                strings.setdefault(node.targets[0].id, []).extend(texts)
    return strings


def messages_of(source: str) -> list[str]:
    """The messages a module raises or warns, whole: ``{}`` stands for each computed part."""
    out: list[str] = []
    try:
        tree = ast.parse(source)
    except SyntaxError:  # Python 2 era sources
        return re.findall(r"(?:raise \w+Error|warnings\.warn)\(\s*['\"]([^'\"]{12,})['\"]", source)
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    seen: set[int] = set()
    for scope in scopes:
        strings = _local_strings(scope)
        for node in ast.walk(scope):
            if isinstance(node, ast.Assert) and node.msg is not None and id(node) not in seen:
                seen.add(id(node))   # torch 1.11-2.0 checked ranks with assert
                out.extend(t for t in _text_of(node.msg, strings) if len(t.replace(PLACEHOLDER, "").strip()) >= 12)
                continue
            call = node.exc if isinstance(node, ast.Raise) else node if isinstance(node, ast.Call) else None
            if not isinstance(call, ast.Call) or id(call) in seen or not call.args:
                continue
            if isinstance(node, ast.Raise) or ast.unparse(call.func).endswith("warn"):
                seen.add(id(call))
                out.extend(t for t in _text_of(call.args[0], strings)
                           if len(t.replace(PLACEHOLDER, "").strip()) >= 12)
    return out


def covered(message: str) -> bool:
    """A message is covered when a wording's probe is part of it (or it is part of a probe)."""
    return any(p in message or message in p for w in WORDINGS for p in w.probes)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(t) for t in re.findall(r"\d+", v))


def _chunks(versions: list[str], indent: str) -> list[str]:
    """Versions as tuple items, eight to a line (the table stays within the line length)."""
    return [indent + " ".join(f"{v!r}," for v in versions[i:i + 8]) for i in range(0, len(versions), 8)]


def render(releases: dict[str, list[str]], harvested: list[str], cuda: list[str] | None = None,
           report_only: dict[str, str] | None = None) -> str:
    lines = [
        '"""Which torch releases print each wording (rnnshape/explain/wordings.py).',
        "",
        "Generated by tools/harvest_wordings.py from torch's own code in the wheels of the releases",
        "in HARVESTED: do not edit by hand; rerun the script with more wheels to extend it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "HARVESTED: tuple[str, ...] = (",
        *_chunks(harvested, "    "),
        ")",
        "",
        "#: The releases read from a CUDA build too: only these date the CUDA-only wordings.",
        "CUDA_HARVESTED: tuple[str, ...] = (",
        *_chunks(cuda or [], "    "),
        ")",
        "",
        "RELEASES: dict[str, tuple[str, ...]] = {",
    ]
    for wid in sorted(releases):
        lines.append(f"    {wid!r}: (")
        lines.extend(_chunks(releases[wid], "        "))
        lines.append("    ),")
    lines.append("}")
    lines += ["", "#: Wordings no release read prints, known from the user reports they cite: why.",
              "REPORT_ONLY: dict[str, str] = {"]
    for wid, why in sorted((report_only or {}).items()):
        lines.append(f"    {wid!r}: (")
        lines += [f"        {chunk!r}" for chunk in _wrap(why, 90)]
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, cut after spaces (they join back whole)."""
    pieces, current = [], ""
    for word in text.split(" "):
        if current and len(current) + len(word) + 1 > width:
            pieces.append(current + " ")
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*pieces, current]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheels", nargs="*", type=Path)
    parser.add_argument("--installed", action="store_true", help="also read the installed torch")
    parser.add_argument("--check", action="store_true", help="only compare with releases.py")
    args = parser.parse_args()
    probes = {p for w in WORDINGS for p in w.probes}
    per_release: dict[str, set[str]] = {}
    uncovered: dict[str, set[str]] = {}
    jobs: list[tuple[str, set[str], dict[str, str], bool]] = []
    for wheel in args.wheels:
        print(f"reading {wheel.name} ...", file=sys.stderr)
        jobs.append((release_of(wheel), *probes_in_wheel(wheel, probes)))
    if args.installed:
        jobs.append(probes_installed(probes))
    ignored: dict[str, set[str]] = {}
    cuda_read: set[str] = set()
    for version, found, sources, cuda in jobs:
        if cuda:
            cuda_read.add(version)
        # two wheels of one release (a CPU aarch64 and a CUDA x86_64 build) add up
        per_release.setdefault(version, set()).update(found)
        for text in sources.values():
            for message in messages_of(text):
                if message in IGNORED:
                    ignored.setdefault(message, set()).add(version)
                elif not covered(message):
                    uncovered.setdefault(message, set()).add(version)
    harvested = sorted(per_release, key=_version_key)
    releases = {w.id: [v for v in harvested if all(p in per_release[v] for p in w.probes)]
                for w in WORDINGS}
    report_only = {w.id: w.unread or "known from user reports only" for w in WORDINGS if not releases[w.id]}
    text = render(releases, harvested, sorted(cuda_read, key=_version_key), report_only)
    for wid, versions in sorted(releases.items()):
        print(f"{wid:28} {', '.join(versions) or '(in none of the harvested releases: ' + report_only[wid] + ')'}")
    if ignored:
        print("\nmessages in torch's rnn modules deliberately left without a wording:")
        for message, versions in sorted(ignored.items()):
            print(f"  [{', '.join(sorted(versions, key=_version_key))}] {message[:70]!r}: {IGNORED[message]}")
    if uncovered:
        print("\nmessages in torch's rnn modules that no wording covers (review them):")
        for message, versions in sorted(uncovered.items()):
            print(f"  [{', '.join(sorted(versions, key=_version_key))}] {message[:110]!r}")
    if args.check:
        return 0 if OUTPUT.read_text() == text else 1
    OUTPUT.write_text(text)
    print(f"\nwrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
