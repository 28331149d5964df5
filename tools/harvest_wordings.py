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
RNN_MODULES = ("torch/nn/modules/rnn.py", "torch/nn/utils/rnn.py", "torch/nn/_functions/rnn.py",
               "torch/backends/cudnn/rnn.py")


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


def probes_in_wheel(wheel: Path, probes: set[str]) -> tuple[set[str], dict[str, str]]:
    """The probes found in the wheel, and its recurrent modules' sources by path."""
    found: set[str] = set()
    sources: dict[str, str] = {}
    encoded = {p: p.encode() for p in probes}
    overlap = max(len(b) for b in encoded.values())
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if PY_SOURCES.match(info.filename):
                text = z.read(info).decode("utf-8", errors="replace")
                if info.filename in RNN_MODULES:
                    sources[info.filename] = text
                found.update(p for p in probes - found if p in text)
            elif LIBRARIES.match(info.filename):
                for block in _library_blocks(z, info.filename, overlap):
                    found.update(p for p, b in encoded.items() if p not in found and b in block)
    return found, sources


def probes_installed(probes: set[str]) -> tuple[str, set[str], dict[str, str]]:
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--installed: torch is not installed here")
    base = Path(next(iter(spec.submodule_search_locations))).parent
    version = importlib.metadata.version("torch").split("+")[0]
    found: set[str] = set()
    sources: dict[str, str] = {}
    for path in (base / "torch").rglob("*"):
        rel = path.relative_to(base).as_posix()
        if PY_SOURCES.match(rel):
            text = path.read_text(errors="replace")
            if rel in RNN_MODULES:
                sources[rel] = text
            found.update(p for p in probes - found if p in text)
        elif LIBRARIES.match(rel) and path.is_file():
            data = path.read_bytes()
            found.update(p for p in probes - found if p.encode() in data)
    return version, found, sources


def messages_of(source: str) -> list[str]:
    """String constants raised or warned in a module: the messages a release can print."""
    out: list[str] = []
    try:
        tree = ast.parse(source)
    except SyntaxError:  # Python 2 era sources
        return re.findall(r"(?:raise \w+Error|warnings\.warn)\(\s*['\"]([^'\"]{12,})['\"]", source)
    for node in ast.walk(tree):
        call = node.exc if isinstance(node, ast.Raise) else node if isinstance(node, ast.Call) else None
        if isinstance(call, ast.Call):
            func = ast.unparse(call.func)
            if isinstance(node, ast.Raise) or func.endswith("warn"):
                for arg in call.args[:1]:
                    for const in ast.walk(arg):
                        if isinstance(const, ast.Constant) and isinstance(const.value, str) \
                                and len(const.value) >= 12:
                            out.append(const.value)
    return out


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(t) for t in re.findall(r"\d+", v))


def _chunks(versions: list[str], indent: str) -> list[str]:
    """Versions as tuple items, eight to a line (the table stays within the line length)."""
    return [indent + " ".join(f"{v!r}," for v in versions[i:i + 8]) for i in range(0, len(versions), 8)]


def render(releases: dict[str, list[str]], harvested: list[str]) -> str:
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
        "RELEASES: dict[str, tuple[str, ...]] = {",
    ]
    for wid in sorted(releases):
        lines.append(f"    {wid!r}: (")
        lines.extend(_chunks(releases[wid], "        "))
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheels", nargs="*", type=Path)
    parser.add_argument("--installed", action="store_true", help="also read the installed torch")
    parser.add_argument("--check", action="store_true", help="only compare with releases.py")
    args = parser.parse_args()
    probes = {p for w in WORDINGS for p in w.probes}
    per_release: dict[str, set[str]] = {}
    uncovered: dict[str, set[str]] = {}
    jobs: list[tuple[str, set[str], dict[str, str]]] = []
    for wheel in args.wheels:
        print(f"reading {wheel.name} ...", file=sys.stderr)
        found, sources = probes_in_wheel(wheel, probes)
        jobs.append((release_of(wheel), found, sources))
    if args.installed:
        jobs.append(probes_installed(probes))
    for version, found, sources in jobs:
        per_release[version] = found
        for text in sources.values():
            for message in messages_of(text):
                if not any(p in message or message in p for w in WORDINGS for p in w.probes):
                    uncovered.setdefault(message, set()).add(version)
    harvested = sorted(per_release, key=_version_key)
    releases = {w.id: [v for v in harvested if all(p in per_release[v] for p in w.probes)]
                for w in WORDINGS}
    text = render(releases, harvested)
    for wid, versions in sorted(releases.items()):
        print(f"{wid:28} {', '.join(versions) or '(in none of the harvested releases)'}")
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
