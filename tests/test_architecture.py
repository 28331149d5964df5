"""The tree keeps the shape docs/architecture.md promises (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnnshape"
MAX_LINES = 800


def test_no_module_above_800_lines() -> None:
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"split these modules by topic: {big}"


def test_every_module_is_on_the_architecture_map() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(ROOT).as_posix()
        if p.name in ("__init__.py", "__main__.py") and rel != "rnnshape/diagnoses/__init__.py":
            continue
        if rel.startswith("rnnshape/commands/"):
            rel = "rnnshape/commands/*.py"
        short = rel.removeprefix("rnnshape/")
        if f"`{rel}`" not in doc and f"`{short}`" not in doc and f"`{p.name}`" not in doc:
            missing.append(rel)
    assert not missing, f"docs/architecture.md's module map lacks: {missing}"


def test_every_command_module_is_registered_and_has_a_cli_test() -> None:
    """Each ``rnnshape/commands/NAME.py`` is a command of cli.py, and tests/test_commands.py runs it through the
    CLI in a ``test_NAME_...`` (``cli``/``cli_json(..., command="NAME")`` or ``run_module("NAME", ...)``)."""
    from rnnshape.cli import COMMANDS

    modules = {p.stem for p in (PACKAGE / "commands").glob("*.py")} - {"__init__", "common"}
    assert modules == set(COMMANDS), f"cli.COMMANDS and rnnshape/commands/ differ: {modules ^ set(COMMANDS)}"
    source = (ROOT / "tests" / "test_commands.py").read_text(encoding="utf-8")
    bodies = {node.name: ast.get_source_segment(source, node) or "" for node in ast.parse(source).body
              if isinstance(node, ast.FunctionDef)}
    missing = [name for name in sorted(modules)
               if not any(test.startswith(f"test_{name}_") and (f'command="{name}"' in body
                                                                or f'run_module("{name}"' in body)
                          for test, body in bodies.items())]
    assert not missing, f"tests/test_commands.py runs no CLI test of: {missing}"
