"""`rnnshape run`: real programs in subprocesses, compared with what python itself does."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest


def _write(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return path


STATE_MISMATCH = """
    import torch
    from torch import nn

    print("training starts")
    lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
    x = torch.randn(4, 5, 8)
    state = (torch.zeros(2, 3, 16), torch.zeros(2, 3, 16))
    out, _ = lstm(x, state)
"""


def test_uncaught_state_mismatch_is_explained_after_the_traceback(tmp_path, live):
    script = _write(tmp_path, "train.py", STATE_MISMATCH)
    proc = live.rnnshape_run(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "training starts\n"
    err = proc.stderr
    assert err.startswith("Traceback (most recent call last):\n  File \"" + str(script) + "\", line 9")
    assert "RuntimeError: Expected hidden[0] size (2, 4, 16), got [2, 3, 16]" in err
    after = err.split("RuntimeError: Expected hidden[0]", 1)[1]
    assert "nn.LSTM(8, 16, num_layers=2, batch_first=True)" in after
    assert "train.py:9  out, _ = lstm(x, state)" in after
    assert "input  (4, 5, 8) float32 cpu" in after and "h_0    (2, 3, 16) float32 cpu" in after
    assert "hidden-batch-mismatch" in after and "(verified by the shape" in after
    fix_lines = _printed_fix(err).splitlines()
    assert "unchecked" not in after and sum(line.startswith("c_0 = ") for line in fix_lines) == 1  # printed once
    assert "runpy" not in err and "rnnshape/live" not in err  # the traceback is the program's own
    # 80 columns: panels fit; code lines are never wrapped (a long one runs past the edge whole)
    assert all(len(line) <= 80 for line in after.splitlines() if line[:1] in "╭│╰")
    assert "h_0 = torch.zeros(2, x.size(0), 16, dtype=x.dtype, device=x.device)" in fix_lines


def _printed_fix(err: str) -> str:
    """The code printed below the panel, up to the ✓ line (its '# fix ...' comments are valid Python)."""
    below = err.split("╰", 1)[1].split("\n", 1)[1]
    return below.split("\n✓")[0].strip("\n")


def test_the_printed_fix_runs_in_torch(tmp_path, live):
    """The fix's code, pasted in place of the state, makes the same program work."""
    script = _write(tmp_path, "train.py", STATE_MISMATCH)
    err = live.rnnshape_run(str(script), cwd=tmp_path).stderr
    code = _printed_fix(err)
    fixed = STATE_MISMATCH.replace("    state = (torch.zeros(2, 3, 16), torch.zeros(2, 3, 16))\n",
                                   textwrap.indent(code, "    ") + "\n    state = (h_0, c_0)\n")
    fixed += "    print('out', tuple(out.shape))\n"
    proc = live.python_run(str(_write(tmp_path, "fixed.py", fixed)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + fixed
    assert "out (4, 5, 16)" in proc.stdout


def test_packed_sequence_mistake(tmp_path, live):
    script = _write(tmp_path, "pack.py", """
        import torch
        from torch.nn.utils.rnn import pack_padded_sequence

        x = torch.randn(3, 7, 4)  # batch 3, seq 7
        lengths = [7, 5, 2]
        packed = pack_padded_sequence(x, lengths)
    """)
    proc = live.rnnshape_run(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Expected `len(lengths)` to be equal to batch_size, but got 3 (batch_size=7)" in proc.stderr
    after = proc.stderr.split("rnnshape:", 1)[1]
    assert "pack_padded_sequence(input, lengths, batch_first=False" in after
    assert "packing-lengths-batch" in after and "batch_first=True" in after
    assert "batch 3, seq_len 7 stay as your data has them" in " ".join(after.split())


def test_non_recurrent_error_adds_nothing(tmp_path, live):
    script = _write(tmp_path, "boom.py", """
        import sys
        print("before")
        def f(d):
            return d["missing"]
        f({})
    """)
    ours, theirs = live.rnnshape_run(str(script), cwd=tmp_path), live.python_run(str(script), cwd=tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
    assert ours.returncode == 1 and "KeyError" in ours.stderr


def test_exit_code_and_argv_and_stdin_are_the_programs(tmp_path, live):
    script = _write(tmp_path, "tool.py", """
        import sys
        data = sys.stdin.read()
        print(sys.argv, repr(data.upper()), __name__, sys.path[0] == __import__("os").path.dirname(__file__))
        sys.exit(3)
    """)
    args = (str(script), "--warn", "-m", "x")
    ours, theirs = live.rnnshape_run(*args, cwd=tmp_path, stdin="hello\n"), live.python_run(*args, cwd=tmp_path,
                                                                                 stdin="hello\n")
    assert ours.returncode == theirs.returncode == 3
    assert ours.stdout == theirs.stdout
    assert "--warn', '-m', 'x']" in ours.stdout and "'HELLO\\n'" in ours.stdout and "__main__ True" in ours.stdout
    assert ours.stderr == ""


def test_double_dash_separates_rnnshape_flags(tmp_path, live):
    script = _write(tmp_path, "args.py", "import sys\nprint(sys.argv[1:])\n")
    proc = live.rnnshape_run("--warn", "--", str(script), "--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == "['--help']\n"


def test_run_module_of_a_package(tmp_path, live):
    _write(tmp_path, "mypkg/__init__.py", "")
    _write(tmp_path, "mypkg/helper.py", "VALUE = 41\n")
    _write(tmp_path, "mypkg/__main__.py", """
        import sys
        from mypkg.helper import VALUE
        print(VALUE + 1, sys.argv[1:], __name__, sys.argv[0].endswith("__main__.py"))
        sys.exit(int(sys.argv[1]))
    """)
    ours = live.rnnshape_run("-m", "mypkg", "5", "--warn", cwd=tmp_path)
    theirs = live.python_run("-m", "mypkg", "5", "--warn", cwd=tmp_path)
    assert ours.returncode == theirs.returncode == 5
    assert ours.stdout == theirs.stdout == "42 ['5', '--warn'] __main__ True\n"


def test_run_module_error_is_explained(tmp_path, live):
    _write(tmp_path, "netpkg/__init__.py", "")
    _write(tmp_path, "netpkg/train.py", """
        import torch
        from torch import nn

        gru = nn.GRU(6, 10, batch_first=True)
        gru(torch.randn(3, 7, 6), torch.zeros(3, 1, 10))
    """)
    proc = live.rnnshape_run("-m", "netpkg.train", cwd=tmp_path)
    assert proc.returncode == 1
    assert "hidden-batch-first" in proc.stderr and "transpose(0, 1)" in proc.stderr


def test_no_error_prints_nothing_extra(tmp_path, live):
    script = _write(tmp_path, "ok.py", """
        import torch
        from torch import nn
        out, h = nn.GRU(4, 3)(torch.randn(5, 2, 4))
        print(tuple(out.shape))
    """)
    proc = live.rnnshape_run(str(script), cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "(5, 2, 3)\n", "")


def test_keyboard_interrupt_passes_through(tmp_path, live):
    script = _write(tmp_path, "stop.py", """
        import atexit
        atexit.register(lambda: print("atexit ran", flush=True))
        raise KeyboardInterrupt
    """)
    ours, theirs = live.rnnshape_run(str(script), cwd=tmp_path), live.python_run(str(script), cwd=tmp_path)
    assert ours.returncode == theirs.returncode == -signal.SIGINT
    assert ours.stdout == theirs.stdout == "atexit ran\n"
    assert ours.stderr == theirs.stderr


def test_missing_script_is_a_usage_error(tmp_path, live):
    proc = live.rnnshape_run("nope.py", cwd=tmp_path)
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("form", ["explained", "install"])
def test_explained_and_install_in_a_script(tmp_path, live, form):
    body = {"explained": "with rnnshape.explained():\n    main()\n",
            "install": "rnnshape.install()\nmain()\n"}[form]
    script = _write(tmp_path, "s.py", textwrap.dedent("""
        import sys
        import rnnshape
        print("torch loaded by rnnshape:", "torch" in sys.modules)

        def main():
            import torch
            from torch import nn
            nn.LSTM(4, 6)(torch.randn(5, 2, 4), (torch.zeros(1, 3, 6), torch.zeros(1, 3, 6)))
    """) + body)
    proc = live.python_run(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "torch loaded by rnnshape: False\n"
    tb_end = proc.stderr.index("RuntimeError: Expected hidden[0] size (1, 2, 6), got [1, 3, 6]")
    assert proc.stderr.index("hidden-batch-mismatch") > tb_end
    assert "nn.LSTM(4, 6)" in proc.stderr


def test_live_entry_points_do_not_import_torch(tmp_path, live):
    probe = ("import sys, rnnshape, rnnshape.live.pytest_plugin\n"
             "rnnshape.install(); rnnshape.explained; rnnshape.load_ipython_extension\n"
             "print('torch' in sys.modules)\n")
    proc = live.python_run("-c", probe, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "False\n"), proc.stderr
