"""Live mode's fixes go through the one shared machinery (issue #9 x issue #12).

The structured fixes of the diagnosis are verified by the shape model against the live
shapes and marked so; the rules live mode needed that builders could only write as code
(an LSTM given h_0 alone, packing reading the wrong axis) now live in
``rnnshape.model.fixing`` where ``inspect`` gets them too; and a fix that reshapes the
known batch away is refused. Each verified fix is then run in real torch.
"""

from __future__ import annotations

import textwrap

import pytest

from rnnshape import diagnoses as dx
from rnnshape.diagnoses.fixes import Fix, FixKind, Verified
from rnnshape.model.fixing import apply_fix, fix_works, verify_by_model
from rnnshape.model.shapes import Axis, AxisRole, Request, TensorArg, predict
from rnnshape.model.spec import LayerSpec

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from rnnshape.live.diagnosis import explain_exception  # noqa: E402


def _raise(fn) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


def test_live_fixes_are_the_builders_marked_verified_by_model():
    lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
    finding = explain_exception(_raise(lambda: lstm(torch.randn(4, 5, 8),
                                                    (torch.zeros(2, 3, 16), torch.zeros(2, 3, 16)))))
    assert finding is not None
    (d,) = finding.diagnoses
    assert d.fixes and all(f.verified is Verified.BY_MODEL for f in d.fixes)
    assert all(f.kind is not FixKind.CODE for f in d.fixes)
    assert d.fix.count("c_0 = ") == 1  # the pair rebuilt once, not once more by live mode
    assert finding.checked is not None and (finding.checked.batch, finding.checked.seq_len) == (4, 5)


def test_lone_lstm_state_fix_comes_from_the_model_and_runs_in_torch():
    req = Request(LayerSpec("lstm", input_size=4, hidden_size=6), TensorArg((5, 2, 4)), TensorArg((1, 2, 6)))
    found = predict(req).error
    assert found is not None and found.code == "hidden-not-tuple"
    d = verify_by_model(req, found)
    assert [f.verified for f in d.fixes] == [Verified.BY_MODEL]
    fixed = apply_fix(req, d.fixes[0])
    assert fixed is not None and predict(fixed).ok
    scope = {"torch": torch, "lstm": nn.LSTM(4, 6), "x": torch.randn(5, 2, 4), "h_0": torch.zeros(1, 2, 6)}
    exec(d.fixes[0].code, scope)  # the printed code, run in torch
    assert tuple(scope["out"].shape) == (5, 2, 6)


@pytest.mark.parametrize("batch_first", [False, True])
def test_packing_on_the_wrong_axis_gets_a_flag_the_model_checks(batch_first):
    x = (3, 7, 4) if not batch_first else (7, 3, 4)  # 3 sequences of 7 steps, on the axis not read
    spec = LayerSpec("lstm", input_size=4, hidden_size=5, batch_first=batch_first, given=frozenset({"batch_first"}))
    req = Request(spec, TensorArg(x), lengths=(7, 5, 2))
    found = predict(req).error
    assert found is not None and found.code == "packing-lengths-batch"
    d = verify_by_model(req, found)
    assert [(f.kind, f.verified) for f in d.fixes] == [(FixKind.CONSTRUCTOR, Verified.BY_MODEL)]
    flipped = not batch_first
    assert f"batch_first={flipped}" in d.fix
    packed = pack_padded_sequence(torch.randn(x), torch.tensor([7, 5, 2]), batch_first=flipped)
    out, _ = nn.LSTM(4, 5, batch_first=flipped)(packed)
    assert int(out.batch_sizes[0]) == 3 and len(out.batch_sizes) == 7


def test_a_reshape_that_changes_the_known_batch_is_refused():
    axes = (Axis(AxisRole.TIME, "seq"), Axis(AxisRole.BATCH, "the loader"), Axis(AxisRole.FEATURES, ""))
    req = Request(LayerSpec("gru", input_size=6, hidden_size=3), TensorArg((10, 4, 6), axes=axes))
    warning = dx.batch_first_evidence(shape=(10, 4, 6), batch_first=False, batch=4, source="the loader",
                                      rebuilt_code="nn.GRU(6, 3)")
    # (20, 2, 6) reads "batch 2": same roles for the model, but the loader's batch of 4 is gone
    reshaped = Fix(FixKind.RESHAPE, "x = x.reshape(20, 2, 6)", "x", (20, 2, 6))
    kept = Fix(FixKind.RESHAPE, "x = x.reshape(10, 4, 6)", "x", (10, 4, 6))
    assert fix_works(req, warning, reshaped) is False
    assert fix_works(req, warning, kept) is True


def test_run_keeps_a_non_integer_exit_as_python_does(tmp_path, live):
    script = tmp_path / "bye.py"
    script.write_text(textwrap.dedent("""
        import sys
        print("out")
        sys.exit("stopped: no data")
    """))
    ours, theirs = live.rnnshape_run(str(script), cwd=tmp_path), live.python_run(str(script), cwd=tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
    assert ours.returncode == 1 and ours.stderr == "stopped: no data\n"


@pytest.mark.parametrize("code", [0, 4, 42, 255])
def test_run_passes_the_programs_exit_code_beyond_rnnshapes_own(tmp_path, live, code):
    script = tmp_path / "code.py"
    script.write_text(f"raise SystemExit({code})\n")
    assert live.rnnshape_run(str(script), cwd=tmp_path).returncode == code
