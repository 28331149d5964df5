"""What `diagnose` pays for (issue 16), pinned as structure, never as time (bench/ measures time).

Importing the command compiles no pattern; the human form imports only the Rich parts it draws; a
console without colours is not tokenized yet gets the same text; the cycle collector is paused while a
paste is followed and restored after; the follower's work grows with the paste, not faster.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import imported_by

from rnnshape.diagnose.follower import Follower
from rnnshape.diagnose.snippets import clean, diagnose_paste, parse_partial
from rnnshape.gcpause import collector_paused

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "tests" / "data" / "snippets"
#: The bench's block (bench/bench_diagnose.py): a model class, built and called.
BLOCK = (SNIPPETS / "model_class_ok.py.txt").read_text() + "\n"


def test_importing_the_diagnose_command_compiles_no_pattern() -> None:
    script = """
import re, sys
import rnnshape.commands.diagnose, rnnshape.diagnose.snippets, rnnshape.diagnose.follower
from rnnshape.lazyre import LazyPattern
ours = [m for name, m in sys.modules.items()
        if name.startswith("rnnshape.diagnose.") or name in ("rnnshape.diagnose", "rnnshape.commands.diagnose")]
compiled = [f"{m.__name__}.{k}" for m in ours for k, v in vars(m).items()
            if isinstance(v, re.Pattern) or (isinstance(v, LazyPattern) and v.is_compiled)]
lazy = [k for m in ours for k, v in vars(m).items() if isinstance(v, LazyPattern)]
print(compiled, len(lazy))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=True)
    compiled, lazy = proc.stdout.rsplit(" ", 1)
    assert compiled == "[]", compiled
    assert int(lazy) >= 10  # the paste's patterns are there, waiting


def test_a_paste_without_prompts_or_tracebacks_compiles_no_pattern_of_the_cleaner() -> None:
    from rnnshape.diagnose import linekinds

    script = f"""
from rnnshape.diagnose import linekinds, snippets
snippets.clean({BLOCK * 3!r})
print(sorted(k for m in (snippets, linekinds) for k, v in vars(m).items()
             if isinstance(v, snippets.LazyPattern) and v.is_compiled))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=True)
    assert proc.stdout.strip() == "[]"
    # and the literal tests in front of each pattern never hide a line the pattern matches
    for line in (">>> x = 1", "... y", "In [3]: z", "  %timeit f()", "!ls", "-" * 30,
                 "torch.nn.modules.module.ModuleAttributeError: no", "KeyboardInterrupt", "Output: torch.Size([2])",
                 "h shape: torch.Size([1])", "tensor([1, 2])"):
        assert any(test(line) for test in (linekinds.is_prompt, linekinds.is_ipython_in, linekinds.is_magic,
                                           linekinds.is_tb_rule, linekinds.is_error_line, linekinds.is_printed)), line


def test_the_human_form_imports_no_rich_table_without_run(tmp_path: Path) -> None:
    snippet = tmp_path / "s.py"
    snippet.write_text("import torch\nfrom torch import nn\nlstm = nn.LSTM(10, 20, bidirectional=True)\n"
                       "x = torch.randn(5, 3, 10)\nout, h = lstm(x)\nlast = h[-1]\n")
    proc, modules = imported_by("diagnose", str(snippet))
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "rich.console" in modules and "rich.panel" in modules
    assert "rich.table" not in modules  # only --run draws a table


@pytest.mark.parametrize("name", ["classifier_loss_per_step.py.txt", "repl_session.txt", "partial_parse.txt"])
def test_a_console_without_colours_gets_the_same_text_unhighlighted(name: str) -> None:
    from rich.console import Console

    from rnnshape.render.diagnose import diagnose_renderable

    result = diagnose_paste((SNIPPETS / name).read_text(), name=name)
    texts = []
    for highlight in (True, False):
        console = Console(file=io.StringIO(), width=80, color_system=None)
        console.print(diagnose_renderable(result, 80, highlight=highlight), crop=False)
        texts.append(console.file.getvalue())  # type: ignore[attr-defined]
    assert texts[0] == texts[1]
    assert "rnnshape diagnose" in texts[0]


def test_only_a_console_that_shows_styles_is_highlighted(monkeypatch: pytest.MonkeyPatch) -> None:
    from rnnshape.render import diagnose as render
    from rnnshape.render.safe import SafeConsole

    highlighted: list[int] = []
    real = render._highlighted
    monkeypatch.setattr(render, "_highlighted", lambda lines: highlighted.append(len(lines)) or real(lines))
    result = diagnose_paste(BLOCK)
    for settings, wanted in (({}, 0), ({"force_terminal": True, "color_system": "standard"}, 1), ({"record": True}, 2)):
        render.print_diagnosis(result, SafeConsole(file=io.StringIO(), width=80, **settings))
        assert len(highlighted) == wanted, settings


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_paused_while_following_and_restored_after(enabled: bool) -> None:
    seen: list[bool] = []
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        original = Follower.run

        def spy(self: Follower, tree):  # type: ignore[no-untyped-def]
            seen.append(gc.isenabled())
            return original(self, tree)

        Follower.run = spy  # type: ignore[method-assign]
        try:
            diagnose_paste(BLOCK)
        finally:
            Follower.run = original  # type: ignore[method-assign]
        assert seen == [False]
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError), collector_paused():  # restored on errors too
            raise ValueError
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def _statements_followed(copies: int) -> int:
    paste = clean(BLOCK * copies)
    follower = Follower(paste.code_lines)
    follower.run(parse_partial(paste.code_lines).tree)
    return follower.steps


def test_the_followers_work_grows_linearly_with_the_paste() -> None:
    one, ten, hundred = (_statements_followed(n) for n in (1, 10, 100))
    assert ten == 10 * one and hundred == 100 * one


def test_self_spelled_in_other_letters_is_still_self() -> None:
    # Python reads the identifier ｓｅｌｆ as self (NFKC): the text test in front of the walk must not miss it
    result = diagnose_paste("import torch\n\uff53\uff45\uff4c\uff46.hidden = 20\n")
    assert any("self is used outside a class" in note for note in result.notes)
