"""Startup shortcuts stay exact: the kept root ``--help`` is typer's own output, and is never used stale.

``rnnshape --help`` answers from ``rnnshape/_listing.py`` without importing typer (bench/bench_startup.py
measures why); these tests prove the kept text is byte-identical to what typer prints now, that
``cli.render_listing`` renders what a real ``rnnshape --help`` prints, and that any change to what the
listing is drawn from (a command's docstring, cli.py, the width) falls back to typer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnshape import _listing, cli
from rnnshape.diagnoses.fixes import FixKind, Verified
from rnnshape.model.shapes import AxisRole
from rnnshape.render import jsontext


def _help(columns: int | None, *, root: Path = ROOT, args: tuple[str, ...] = ("--help",)) -> tuple[str, set[str]]:
    """``python -X importtime -m rnnshape ARGS`` (from ``root``): its stdout and the modules it imported."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(PYTHONPATH=str(root), **({"COLUMNS": str(columns)} if columns is not None else {}))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rnnshape", *args], capture_output=True,
                          cwd=root, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {line.rsplit(b"|", 1)[1].strip().decode() for line in proc.stderr.splitlines()
               if line.startswith(b"import time:") and b"|" in line}
    return proc.stdout.decode("ascii"), modules


def test_the_kept_listing_is_current_and_is_what_typer_prints_now() -> None:
    key = cli.listing_key(80)
    assert key is not None, "cli.listing_key cannot read a command's docstring: see its pattern"
    assert zlib.crc32(key.encode()) == _listing.KEY, "rnnshape/_listing.py is stale: run python tools/write_listing.py"
    assert _listing.TEXT == cli.render_listing(80)
    assert _listing.TEXT.isascii()


@pytest.mark.parametrize("columns", [60, 79])
def test_render_listing_is_byte_for_byte_a_real_help(columns: int) -> None:
    # below 80 columns the kept text does not apply: typer itself renders it in the subprocess
    out, modules = _help(columns)
    assert "typer" in modules
    assert out == cli.render_listing(columns) + "\n"


@pytest.mark.parametrize("columns", [80, 200, None], ids=["80", "200", "unset"])
def test_help_at_80_columns_or_more_prints_the_kept_listing_without_typer(columns: int | None) -> None:
    out, modules = _help(columns)
    assert out == _listing.TEXT + "\n"
    assert not [m for m in modules if m == "typer" or m.startswith("typer.")]


def test_other_help_and_listing_paths_still_go_through_typer() -> None:
    out, modules = _help(80, args=("inspect", "--help"))
    assert "typer" in modules and "--input-shape" in out
    out, modules = _help(80, args=("--version",))
    assert out.startswith("rnnshape ")


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(ROOT / "rnnshape", root / "rnnshape", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_a_changed_docstring_is_printed_by_typer_never_the_stale_listing(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    check = root / "rnnshape" / "commands" / "check.py"
    source = check.read_text()
    first = '    """Check every case of a TOML file'
    assert first in source
    check.write_text(source.replace(first, '    """Verify each case of a TOML file', 1))
    out, modules = _help(80, root=root)
    assert "typer" in modules
    assert "check     Verify each case of a TOML file" in out and out != _listing.TEXT + "\n"


def test_a_new_command_or_setting_in_cli_py_is_printed_by_typer(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    path = root / "rnnshape" / "cli.py"
    source = path.read_text()
    marker = '"(nn.RNN, nn.LSTM, nn.GRU and their cells)."'
    assert marker in source
    path.write_text(source.replace(marker, '"(nn.RNN, nn.LSTM, nn.GRU and their cells), kept honest."', 1))
    out, modules = _help(80, root=root)
    assert "typer" in modules and "kept honest" in out


def test_an_unreadable_docstring_makes_no_key() -> None:
    # a command whose def the pattern cannot read is never answered from the kept text
    assert cli.listing_key(80) is not None
    saved = dict(cli.COMMANDS)
    try:
        cli.COMMANDS["nowhere"] = "rnnshape.commands.nowhere"
        assert cli.listing_key(80) is None
    finally:
        cli.COMMANDS.clear()
        cli.COMMANDS.update(saved)


# --------------------------------------------------------------------------- --json without the json module

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
            | st.text() | st.sampled_from([AxisRole.BATCH, FixKind.CODE, Verified.BY_MODEL]))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    | st.builds(frozenset, st.lists(st.integers(), max_size=3)),
    max_leaves=25)


@given(_VALUES)
@settings(max_examples=150, deadline=None)
def test_jsontext_writes_what_json_dumps_writes(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, default=repr)


class _Listed(list):  # subclasses take json's isinstance order, not jsontext's shortcuts for the exact types
    pass


class _Mapped(dict):
    pass


# the shapes jsontext writes by shortcut: lists of strings (one C pass, falling back item by item when a later
# item is not a string), dicts through a template per key sequence and level (the same keys at several levels,
# in another order, with '%' in a key), str subclasses among strings and as keys
_KEYS = st.sampled_from(["line", "code", "shapes", "100%", "%s", "%(x)s", "a%%b", AxisRole.BATCH, FixKind.CODE])
_SHORTCUT_SCALARS = st.none() | st.integers() | st.text(max_size=6) | st.sampled_from([Verified.BY_MODEL, 1.5])


def _strings_then(strings: list[str], last: object) -> list[object]:
    return [*strings, last]


def _shortcut_containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return (st.lists(st.text(max_size=6) | st.sampled_from([AxisRole.TIME]), min_size=1, max_size=4)
            | st.builds(_strings_then, st.lists(st.text(max_size=4), min_size=1, max_size=3), inner)
            | st.tuples(st.text(max_size=4), inner)
            | st.dictionaries(_KEYS, inner, max_size=4)
            | st.lists(st.dictionaries(_KEYS, inner, max_size=3), max_size=3)
            | st.builds(_Listed, st.lists(inner, max_size=3))
            | st.builds(_Mapped, st.dictionaries(_KEYS, inner, max_size=3)))


_SHORTCUT_VALUES = st.recursive(_SHORTCUT_SCALARS, _shortcut_containers, max_leaves=30)


@given(_SHORTCUT_VALUES)
@settings(max_examples=150, deadline=None)
def test_jsontext_shortcuts_write_what_json_dumps_writes(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, default=repr)


def test_jsontext_keeps_one_template_per_key_sequence_and_level() -> None:
    # the same keys at three levels, and in two orders: each level indents its own way, each order is its own
    value = {"a": 1, "b": {"a": 2, "b": {"a": 3, "b": [{"b": 4, "a": 5}, {"a": 6, "b": 7}]}}}
    assert jsontext.dumps(value) == json.dumps(value, indent=2)
    assert jsontext.dumps(value) == jsontext.dumps(value)


def test_jsontext_writes_deep_values_as_json_does() -> None:
    # deeper than its own recursion allows: handed to json, which writes it (or fails) as it always does
    for depth in (50, 400, 3000):
        deep: object = "leaf"
        for i in range(depth):
            deep = [deep] if i % 2 else {"k": deep}
        try:
            expected = json.dumps(deep, indent=2, default=repr)
        except RecursionError:
            with pytest.raises(RecursionError):
                jsontext.dumps(deep)
        else:
            assert jsontext.dumps(deep) == expected


def test_jsontext_leaves_what_it_cannot_write_exactly_to_json() -> None:
    odd = {1: "int key", None: [], 2.5: {}, False: ()}
    assert jsontext.dumps(odd) == json.dumps(odd, indent=2, default=repr)
    assert jsontext.dumps([{"x": 1}, odd]) == json.dumps([{"x": 1}, odd], indent=2, default=repr)
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        jsontext.dumps(loop)
    cycle: dict = {"a": ["x"]}
    cycle["a"].append(cycle)
    with pytest.raises(ValueError, match="Circular"):
        jsontext.dumps(cycle)


def test_jsontext_writes_diagnose_json_of_a_long_paste_as_json_does() -> None:
    # the 10,000-line bench case's shape (lines, shapes, lists of dimension strings), at a tenth of its size
    from rnnshape.diagnose.snippets import diagnose_paste

    block = (ROOT / "tests" / "data" / "snippets" / "model_class_ok.py.txt").read_text() + "\n"
    value = diagnose_paste(block * 40, name="long.py").to_dict()
    assert jsontext.dumps(value) == json.dumps(value, indent=2, default=repr)


@pytest.mark.parametrize("args", [
    ("explain", "-f", "{err}", "--json"),
    ("inspect", "nn.LSTM(10, 20, bidirectional=True)", "--input-shape", "7,3,12", "--dry-run", "--json"),
    ("check", "{cases}", "--dry-run", "--json"),
], ids=lambda a: a[0])
def test_every_json_output_is_json_dumps_text(tmp_path: Path, args: tuple[str, ...]) -> None:
    err = tmp_path / "err.txt"
    err.write_text("RuntimeError: input.size(-1) must be equal to input_size. Expected 10, got 12\n")
    argv = [a.format(err=err, cases=ROOT / "examples" / "sentiment" / "check.toml") for a in args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "rnnshape", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert proc.stdout == json.dumps(json.loads(proc.stdout), indent=2) + "\n"


# --------------------------------------------------------------------------- the collector paused for startup only


def test_a_program_run_by_rnnshape_finds_the_collector_as_python_leaves_it(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text("import gc\nprint(gc.isenabled(), gc.get_threshold())\n")
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "-m", "rnnshape", "run", str(script)], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout == plain.stdout == "True (700, 10, 10)\n"


def test_main_resumes_the_collector_before_the_command_runs(tmp_path: Path) -> None:
    # main() pauses the collector while typer and the command's parser are built; the command itself
    # (which may read a huge paste) runs with it on, and startup's objects frozen out of its way
    probe = (
        "import gc, sys\n"
        "from rnnshape import cli\n"
        "import rnnshape.explain.explainer as ex\n"
        "text = ex.explain_text\n"
        "def spy(source):\n"
        "    sys.stderr.write(f'collector {gc.isenabled()} frozen {gc.get_freeze_count() > 0}\\n')\n"
        "    return text(source)\n"
        "ex.explain_text = spy\n"
        f"cli.main(['explain', '-f', {str(tmp_path / 'err.txt')!r}, '--json'])\n"
    )
    (tmp_path / "err.txt").write_text("RuntimeError: input.size(-1) must be equal to input_size. Expected 10, got 12\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "collector True frozen True" in proc.stderr


def test_collector_paused_restores_the_collector_and_leaves_a_paused_one_paused() -> None:
    import gc

    from rnnshape.commands.common import collector_paused

    assert gc.isenabled()
    try:
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():  # nested: the outer one resumes
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("a failing import")
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
