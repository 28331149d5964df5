"""Prose is written once (issue 13, item 3): only rnnshape/diagnoses builds a Diagnosis or
rewrites its title, explanation or fix.

Other modules call the builders there; a module that constructs ``Diagnosis(...)`` or
calls ``replace(d, title=/explanation=/fix=/fixes=...)`` writes prose of its own, which
then drifts from the builder's. ``KNOWN`` lists the places that still do it on this
branch (other engineers' modules, to be moved into builders); the test fails on any new
one, and on a listed one that is gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rnnshape"
PROSE_FIELDS = {"title", "explanation", "fix", "fixes"}

#: module -> how many offending calls it still holds (owners: explain and follower engineers).
KNOWN = {"explain/catalog.py": 10}


def offenders(path: Path) -> list[int]:
    """Line numbers of calls that build a Diagnosis or replace its prose."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name == "Diagnosis":
            lines.append(node.lineno)
        elif name == "replace" and PROSE_FIELDS & {k.arg for k in node.keywords if k.arg}:
            lines.append(node.lineno)
    return lines


def test_only_the_diagnoses_package_writes_prose() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("diagnoses/"):
            continue
        lines = offenders(path)
        if lines:
            found[rel] = lines
    assert {k: len(v) for k, v in found.items()} == KNOWN, (
        f"modules outside rnnshape/diagnoses writing Diagnosis prose: {found}; add a builder in "
        "rnnshape/diagnoses instead (and shrink KNOWN when a listed one is fixed)")


def test_the_scan_sees_both_kinds_of_offence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from dataclasses import replace\nimport rnnshape.diagnoses as dx\n"
                   "d = dx.Diagnosis(code='torch-error', severity='error', title='t', explanation='e')\n"
                   "e = replace(d, title='other')\nf = replace(d, evidence={})\n")
    assert offenders(bad) == [3, 4]
