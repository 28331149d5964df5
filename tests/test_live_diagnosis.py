"""Live diagnoses from real torch exceptions, and their fixes re-run in torch.

Each case makes torch raise for real; rnnshape explains the exception from the
traceback (and the hook's record where hooks are on). The checked fix's request is
then rebuilt as real tensors and run through a real layer: torch must accept it, and
the batch and the time axis must be the sizes the user's data had.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from rnnshape.live import hooks  # noqa: E402
from rnnshape.live.diagnosis import LiveFinding, explain_exception  # noqa: E402
from rnnshape.model.shapes import Request  # noqa: E402


@pytest.fixture(params=["hooks", "frames"])
def live_hooks(request):
    """Both ways of knowing the call: the hook's record, and the forward's own frame."""
    if request.param == "hooks":
        hooks.install()
    yield request.param
    hooks.uninstall()


def _raise(fn) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


def _layer_from(req: Request) -> nn.Module:
    s = req.spec
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[s.mode]
    kw = dict(num_layers=s.num_layers, batch_first=s.batch_first, bidirectional=s.bidirectional)
    if s.mode == "lstm" and s.proj_size:
        kw["proj_size"] = s.proj_size
    return cls(s.input_size, s.hidden_size, **kw)


def _run_fixed_in_torch(finding: LiveFinding) -> tuple[int, int]:
    """Run the fixed call in torch; return (batch, seq_len) of the output."""
    checked = finding.checked
    assert checked is not None, finding
    req = checked.request
    layer = _layer_from(req)
    x = torch.randn(req.input.shape, dtype=getattr(torch, req.input.dtype or "float32"))
    if req.lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(req.lengths), batch_first=req.spec.batch_first,
                                 enforce_sorted=req.enforce_sorted)
    state = None
    if req.hidden is not None:
        h = torch.zeros(req.hidden.shape)
        state = (h, torch.zeros(req.cell.shape)) if req.spec.is_lstm and req.cell is not None else h
    out, _ = layer(x) if state is None else layer(x, state)
    if req.lengths is not None:
        out = out.data
        return int(x.batch_sizes[0]), len(x.batch_sizes)
    return (out.shape[0], out.shape[1]) if req.spec.batch_first else (out.shape[1], out.shape[0])


def test_state_batch_mismatch_is_explained_and_fixed(live_hooks):
    lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
    x = torch.randn(4, 5, 8)
    exc = _raise(lambda: lstm(x, (torch.zeros(2, 3, 16), torch.zeros(2, 3, 16))))
    finding = explain_exception(exc)
    assert finding is not None
    assert finding.call == "nn.LSTM(8, 16, num_layers=2, batch_first=True)"
    assert [d.code for d in finding.diagnoses] == ["hidden-batch-mismatch"]
    assert {v.label: v.shape for v in finding.tensors} == {"input": (4, 5, 8), "h_0": (2, 3, 16),
                                                          "c_0": (2, 3, 16)}
    assert finding.line is not None and "lstm(x" in finding.line
    assert _run_fixed_in_torch(finding) == (4, 5)  # batch 4, time 5, as x has them


def test_batch_first_state_is_transposed(live_hooks):
    gru = nn.GRU(6, 10, batch_first=True)
    x = torch.randn(3, 7, 6)
    exc = _raise(lambda: gru(x, torch.zeros(3, 1, 10)))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "hidden-batch-first"
    assert "transpose(0, 1)" in finding.diagnoses[0].fix
    assert _run_fixed_in_torch(finding) == (3, 7)


def test_bidirectional_forgotten_in_the_state(live_hooks):
    lstm = nn.LSTM(5, 8, num_layers=2, bidirectional=True)
    x = torch.randn(9, 2, 5)
    exc = _raise(lambda: lstm(x, (torch.zeros(2, 2, 8), torch.zeros(2, 2, 8))))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "hidden-layers-mismatch"
    assert _run_fixed_in_torch(finding) == (2, 9)


def test_input_size_mismatch_rebuilds_the_layer(live_hooks):
    rnn = nn.RNN(12, 4)
    exc = _raise(lambda: rnn(torch.randn(6, 2, 10)))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "input-size-mismatch"
    assert "nn.RNN(10, 4)" in finding.diagnoses[0].fix
    assert _run_fixed_in_torch(finding) == (2, 6)


def test_packing_batch_first_forgotten(live_hooks):
    x = torch.randn(3, 7, 4)  # (batch 3, seq 7, features 4)
    lengths = torch.tensor([7, 5, 2])
    exc = _raise(lambda: pack_padded_sequence(x, lengths))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "packing-lengths-batch"
    assert "batch_first=True" in finding.diagnoses[0].fix
    assert _run_fixed_in_torch(finding) == (3, 7)


def test_packing_unsorted_lengths(live_hooks):
    x = torch.randn(3, 7, 4)
    exc = _raise(lambda: pack_padded_sequence(x, torch.tensor([2, 7, 5]), batch_first=True))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "packing-unsorted"
    assert "enforce_sorted=False" in finding.diagnoses[0].fix
    assert _run_fixed_in_torch(finding) == (3, 7)


def test_lengths_of_another_batch_get_no_fix(live_hooks):
    """5 lengths fit neither axis of (3, 7, 4): no fix keeps the batch, so none is shown."""
    exc = _raise(lambda: pack_padded_sequence(torch.randn(3, 7, 4), torch.tensor([7, 6, 5, 3, 2]),
                                              batch_first=True))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "packing-lengths-batch"
    assert finding.checked is None and finding.diagnoses[0].fix == ""


def test_gru_given_an_lstm_tuple(live_hooks):
    gru = nn.GRU(4, 6)
    h = torch.zeros(1, 2, 6)
    exc = _raise(lambda: gru(torch.randn(5, 2, 4), (h, h)))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "gru-given-tuple"
    assert finding.checked is not None
    out, _ = gru(torch.randn(5, 2, 4), torch.zeros(finding.checked.request.hidden.shape))
    assert out.shape[:2] == (5, 2)


def test_not_a_recurrent_error_gets_nothing(live_hooks):
    lin = nn.Linear(3, 2)
    assert explain_exception(_raise(lambda: lin(torch.randn(4, 5)))) is None
    assert explain_exception(_raise(lambda: {}["missing"])) is None


def test_subclass_of_lstm_is_read_from_its_attributes(live_hooks):
    class Encoder(nn.LSTM):
        pass

    enc = Encoder(3, 5, batch_first=True)
    exc = _raise(lambda: enc(torch.randn(2, 4, 3), (torch.zeros(1, 3, 5), torch.zeros(1, 3, 5))))
    finding = explain_exception(exc)
    assert finding is not None and finding.call == "nn.LSTM(3, 5, batch_first=True)"
    assert _run_fixed_in_torch(finding) == (2, 4)


def test_lstm_given_a_lone_state(live_hooks):
    lstm = nn.LSTM(4, 6)
    exc = _raise(lambda: lstm(torch.randn(5, 2, 4), torch.zeros(1, 2, 6)))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "hidden-not-tuple"
    assert "zeros_like(h_0)" in finding.diagnoses[0].fix
    assert _run_fixed_in_torch(finding) == (2, 5)


def test_state_passed_by_keyword(live_hooks):
    gru = nn.GRU(4, 6, num_layers=2)
    exc = _raise(lambda: gru(torch.randn(5, 3, 4), hx=torch.zeros(1, 3, 6)))
    finding = explain_exception(exc)
    assert finding is not None and finding.diagnoses[0].code == "hidden-layers-mismatch"
    assert {v.label: v.shape for v in finding.tensors}["h_0"] == (1, 3, 6)
    assert _run_fixed_in_torch(finding) == (3, 5)
