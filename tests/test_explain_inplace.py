"""#10: "one of the variables needed for gradient computation has been modified by an inplace
operation" around a recurrent layer, raised live in the installed torch and explained from the
paste a user would make (the training loop, then the traceback). Each printed fix is applied and
re-run in torch: the error goes, batch stays batch and time stays time.

The real users' pastes of this message (kept state with retain_graph=True, an LSTM's output
changed downstream, and two that no recurrent layer ties) are in tests/data/explain_corpus.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest
import torch
import torch.nn as nn

from rnnshape.explain import catalog
from rnnshape.explain.explainer import explain_text

T, B, F, H = 3, 2, 4, 6   # time, batch, features, hidden: each a different number


def _traceback(fn: Callable[[], object]) -> str:
    try:
        fn()
    except RuntimeError:
        return traceback.format_exc()
    raise AssertionError("torch raised nothing")


# --------------------------------------------------------------------------- the user's code, pasted

LSTM_LOOP = """\
lstm = nn.LSTM(4, 6)
optimizer = torch.optim.SGD(lstm.parameters(), lr=0.1)
hidden = (torch.zeros(1, 2, 6), torch.zeros(1, 2, 6))
for x, y in batches:
    out, hidden = lstm(x, hidden)
    loss = criterion(out, y)
    optimizer.zero_grad()
    loss.backward(retain_graph=True)
    optimizer.step()
"""

GRU_MODULE = """\
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6)
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        return out
"""

GRU_RESET = """\
gru = nn.GRU(4, 6)
h = torch.zeros(1, 2, 6)
out, h_n = gru(x, h)
h[:, 0] = 0.5   # reset the finished sequence
out.sum().backward()
"""

LSTM_OUTPUT = """\
lstm = nn.LSTM(4, 6)
out, _ = lstm(x)
y = torch.sigmoid(out)
out.mul_(2)
y.sum().backward()
"""


def _batches(n: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    return [(torch.randn(T, B, F), torch.randn(T, B, H)) for _ in range(n)]


def _run_lstm_loop() -> None:
    scope = {"torch": torch, "nn": nn, "batches": _batches(), "criterion": nn.MSELoss()}
    exec(LSTM_LOOP, scope)


def _run_gru_module() -> None:
    scope: dict = {"nn": nn}
    exec(GRU_MODULE, scope)
    model = scope["Model"]()
    optimizer = torch.optim.Adam(model.parameters())
    for x, y in _batches():
        loss = nn.MSELoss()(model(x), y)
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()


def _run(code: str) -> Callable[[], None]:
    def run() -> None:
        torch.manual_seed(0)
        exec(code, {"torch": torch, "nn": nn, "x": torch.randn(T, B, F)})
    return run


def _explained(code: str, trigger: Callable[[], None]):
    paste = code + "\n" + _traceback(trigger)
    result = explain_text(paste)
    assert result.ok, paste
    d = result.diagnoses[0]
    assert d.code == "state-modified-inplace"
    assert d.evidence["catalog_entry"] == "state-modified-inplace"
    return d


# --------------------------------------------------------------------------- applying the fixes


def _independent_per_sample(step: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Batch stays batch: changing one sample's input changes only that sample's output, and
    the output keeps (time, batch, hidden)."""
    torch.manual_seed(1)
    x = torch.randn(T, B, F)
    base = step(x)
    assert base.shape == (T, B, H)
    moved = x.clone()
    moved[:, 0] += 1.0
    changed = (step(moved) - base).abs().sum(dim=(0, 2))
    assert changed[0] > 0 and torch.all(changed[1:] == 0)
    moved_time = x.clone()
    moved_time[-1] += 1.0   # the last step changes only the last step's output: time stays time
    changed_t = (step(moved_time) - base).abs().sum(dim=(1, 2))
    assert changed_t[-1] > 0 and torch.all(changed_t[:-1] == 0)


def _kept_state_fix_runs(fix: str, layer: nn.Module) -> None:
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    scope: dict = {"model": layer, "criterion": nn.MSELoss(), "hidden": None}
    for x, y in _batches(4):
        scope.update(x=x, y=y)
        optimizer.zero_grad()
        exec(fix, {"torch": torch, "nn": nn}, scope)   # forward, detach, loss, backward
        optimizer.step()
        assert scope["out"].shape == (T, B, H)
    hidden = scope["hidden"]
    for h in hidden if isinstance(hidden, tuple) else (hidden,):
        assert h.shape == (1, B, H) and h.grad_fn is None   # detached, batch kept in dim 1
    _independent_per_sample(lambda x: layer(x)[0].detach())


def test_lstm_state_kept_across_batches_with_retain_graph() -> None:
    d = _explained(LSTM_LOOP, _run_lstm_loop)
    assert d.evidence["cause"] == "kept-state"
    # the tensor torch names is the LSTM's weight_ih: 24 rows = 4 gates x hidden_size 6
    assert "[24, 4]" in d.explanation and "24 = 4 gates x hidden_size 6" in d.explanation
    assert "version 2" in d.explanation and "version 1" in d.explanation
    assert d.evidence["causes"][0].startswith("the hidden state kept from the previous batch")
    assert "tuple(h.detach() for h in hidden)" in d.fix and "retain_graph=True" not in d.fix.split("#")[0]
    _kept_state_fix_runs(d.fix, nn.LSTM(F, H))


def test_gru_state_stored_on_the_module() -> None:
    d = _explained(GRU_MODULE, _run_gru_module)
    assert d.evidence["cause"] == "kept-state"
    # weight_hh transposed, as its backward saved it: 18 = 3 gates x hidden_size 6
    assert "[6, 18]" in d.explanation and "18 = 3 gates x hidden_size 6" in d.explanation
    assert "hidden = hidden.detach()" in d.fix and "tuple(" not in d.fix
    _kept_state_fix_runs(d.fix, nn.GRU(F, H))


def test_state_written_in_place_after_the_call() -> None:
    d = _explained(GRU_RESET, _run(GRU_RESET))
    assert d.evidence["cause"] == "state-written"
    assert "[2, 6]" in d.explanation
    assert "h[:, 0] = 0.5" in d.evidence["causes"][0]
    gru = nn.GRU(F, H)
    torch.manual_seed(0)
    scope = {"rnn": gru, "x": torch.randn(T, B, F), "hidden": torch.zeros(1, B, H)}
    exec(d.fix, {"torch": torch}, scope)
    scope["hidden"][:, 0] = 0.5          # the user's write, now into the copy
    scope["out"].sum().backward()        # no error: the saved state is untouched
    assert scope["out"].shape == (T, B, H) and scope["hidden"].shape == (1, B, H)
    _independent_per_sample(lambda x: gru(x, torch.zeros(1, B, H))[0].detach())


def test_output_written_in_place_after_the_call() -> None:
    d = _explained(LSTM_OUTPUT, _run(LSTM_OUTPUT))
    assert d.evidence["cause"] == "output-written"
    assert "[3, 2, 6]" in d.explanation
    lstm = nn.LSTM(F, H)
    scope = {"rnn": lstm, "x": torch.randn(T, B, F)}
    exec(d.fix, {"torch": torch}, scope)
    y = torch.sigmoid(scope["out"])
    scope["out"].mul_(2)                 # the user's in-place change, now on the copy
    y.sum().backward()
    assert scope["out"].shape == (T, B, H)
    _independent_per_sample(lambda x: lstm(x)[0].detach())


# --------------------------------------------------------------------------- claimed only when tied


@pytest.mark.parametrize("paste", [
    # the same message from a model with no recurrent layer: the traceback alone
    "linear = nn.Linear(4, 6)",
    # retain_graph=True in a GAN's loop is no tie to a recurrent layer
    "D_loss.backward(retain_graph=True)",
])
def test_not_claimed_without_a_recurrent_tie(paste: str) -> None:
    def linear_inplace() -> None:
        w = torch.randn(6, 4, requires_grad=True)
        out = torch.sigmoid(torch.randn(2, 4) @ w.t())
        out.mul_(2)
        out.sum().backward()

    tb = _traceback(linear_inplace)
    assert catalog.match(tb.splitlines()[-1]) is not None   # the runner (trusted) would name it
    assert not explain_text(paste + "\n" + tb).ok


def test_bare_message_naming_a_recurrent_kernel_is_claimed() -> None:
    message = _traceback(_run(LSTM_OUTPUT)).strip().splitlines()[-1]
    assert "MkldnnRnnLayer" in message or "RnnBackward" in message
    assert explain_text(message).diagnoses[0].evidence["cause"] == "output-written"
