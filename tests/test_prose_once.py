"""Prose is written once (issue 13, item 3): only rnnshape/diagnoses builds a Diagnosis or
rewrites its title, explanation or fix.

Other modules call the builders there; a module that constructs ``Diagnosis(...)``, calls
``replace(d, title=/explanation=/fix=/fixes=...)`` (under any alias of ``dataclasses.replace``)
or the builders' private ``_reworded`` writes prose of its own, which then drifts from the
builder's. No module outside rnnshape/diagnoses does.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rnnshape"
PROSE_FIELDS = {"title", "explanation", "fix", "fixes"}
#: Calls that write prose whatever their arguments: the record itself, and its private rewording.
BUILDS_PROSE = {"Diagnosis", "_reworded"}


def offenders(path: Path) -> list[int]:
    """Line numbers of calls that build a Diagnosis or replace its prose."""
    tree = ast.parse(path.read_text(), str(path))
    replaces = {"replace"} | {alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                              and node.module == "dataclasses" for alias in node.names
                              if alias.name == "replace" and alias.asname}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in BUILDS_PROSE:
            lines.append(node.lineno)
        elif name in replaces and PROSE_FIELDS & {k.arg for k in node.keywords if k.arg}:
            lines.append(node.lineno)
    return sorted(lines)


def test_only_the_diagnoses_package_writes_prose() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("diagnoses/"):
            continue
        lines = offenders(path)
        if lines:
            found[rel] = lines
    assert found == {}, (
        f"modules outside rnnshape/diagnoses writing Diagnosis prose (module: lines): {found}; "
        "add a builder in rnnshape/diagnoses instead")


def test_the_scan_sees_both_kinds_of_offence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from dataclasses import replace\nimport rnnshape.diagnoses as dx\n"
                   "d = dx.Diagnosis(code='torch-error', severity='error', title='t', explanation='e')\n"
                   "e = replace(d, title='other')\nf = replace(d, evidence={})\n"
                   "from dataclasses import replace as _r\ng = _r(d, fix='x')\n"
                   "h = dx._reworded(d, explanation='other')\n")
    assert offenders(bad) == [3, 4, 7, 8]
