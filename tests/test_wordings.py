"""#10: tools/harvest_wordings.py reads every message torch's rnn modules raise, whole; each has a
wording (tied to a catalog entry) or a stated reason to have none; CUDA-only wordings are dated
from the CUDA wheels read, not mistaken for wordings that vanished from the CPU builds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from rnnshape.explain import catalog
from rnnshape.explain.releases import CUDA_HARVESTED, HARVESTED, RELEASES
from rnnshape.explain.wordings import WORDINGS, cuda_only, releases_text

ROOT = Path(__file__).parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("harvest_wordings", ROOT / "tools" / "harvest_wordings.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


SOURCE = '''
import warnings

def check(self, x, hx, dropout, num_layers):
    if x.dim() not in (1, 2):
        raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {x.dim()}D instead")
    assert x.dim() in (2, 3), f"LSTM: Expected input to be 2-D or 3-D but received {x.dim()}-D tensor"
    if hx[0].dim() != 3:
        msg = ("For batched 3-D input, hx and cx should "
               f"also be 3-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
        raise RuntimeError(msg)
    if self.mode not in ("LSTM",):
        raise ValueError("Unrecognized RNN mode: " + self.mode)
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last "
                      "recurrent layer, so non-zero dropout expects "
                      "num_layers greater than 1, but got dropout={} and "
                      "num_layers={}".format(dropout, num_layers))
    raise RuntimeError("Expected hidden size %s, got %s" % (1, 2))
'''


def test_messages_are_read_whole_in_every_form_torch_writes_them() -> None:
    assert sorted(_tool().messages_of(SOURCE)) == sorted([
        "LSTMCell: Expected input to be 1D or 2D, got {}D instead",
        "LSTM: Expected input to be 2-D or 3-D but received {}-D tensor",
        "For batched 3-D input, hx and cx should also be 3-D but got ({}-D, {}-D) tensors",
        "Unrecognized RNN mode: {}",
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
        "num_layers greater than 1, but got dropout={} and num_layers={}",
        "Expected hidden size {}, got {}",
    ])


def test_every_message_of_the_installed_torch_has_a_wording_or_a_reason() -> None:
    """What the script prints as 'no wording covers' is empty for the installed torch's rnn modules."""
    tool = _tool()
    base = Path(torch.__file__).parent.parent
    left = []
    for module in tool.RNN_MODULES:
        path = base / module
        if path.is_file():
            left += [m for m in tool.messages_of(path.read_text())
                     if m not in tool.IGNORED and not tool.covered(m)]
    assert left == []
    assert all(len(reason) > 40 for reason in tool.IGNORED.values())


def test_every_wording_names_an_entry_that_exists() -> None:
    names = {e.name for e in catalog.ENTRIES}
    assert {w.entry for w in WORDINGS} <= names
    assert len({w.id for w in WORDINGS}) == len(WORDINGS)


def test_cuda_only_wordings_are_dated_from_the_cuda_wheels() -> None:
    harvested = ("1.0.1", "1.4.0", "1.8.1", "1.13.1", "2.3.1", "2.5.1")
    cuda = ("1.0.1", "1.4.0", "1.13.1", "2.3.1")
    assert cuda_only(("1.0.1", "1.4.0", "1.13.1", "2.3.1"), harvested, cuda)
    assert releases_text(("1.0.1", "1.4.0", "1.13.1", "2.3.1"), harvested, cuda).startswith("1.0.1-2.3.1 (CUDA")
    assert not cuda_only(("1.0.1", "1.4.0"), harvested, cuda)          # nothing CPU-only between them
    assert not cuda_only(("1.0.1", "1.4.0", "1.8.1"), harvested, cuda)  # a CPU wheel prints it
    assert releases_text(("1.8.1", "1.13.1"), harvested, cuda) == "1.8.1-1.13.1"
    # in the generated table: cuDNN's message is CUDA-only, the layer's Python check is not
    assert len(CUDA_HARVESTED) >= 2 and set(CUDA_HARVESTED) <= set(HARVESTED)
    assert cuda_only(RELEASES["cudnn-eval-backward"], HARVESTED, CUDA_HARVESTED)
    assert "2.3.1" in RELEASES["cudnn-eval-backward"]
    assert not cuda_only(RELEASES["input-size"], HARVESTED, CUDA_HARVESTED)


def test_cuda_only_wordings_are_dated_through_the_newest_cuda_wheel_read() -> None:
    """The CUDA wheels of 2.5.1, 2.8.0 and 2.13.0 were read too: cuDNN's and the fused CUDA cells'
    wordings are dated up to the newest release, not left ending at 2.3.1."""
    newest = HARVESTED[-1]
    assert {"2.5.1", "2.8.0", newest} <= set(CUDA_HARVESTED)
    for wid in ("cudnn-eval-backward", "cudnn-hx-contiguous", "cudnn-cx-contiguous", "flatten-parameters",
                "fused-cell-bf16"):
        assert RELEASES[wid][-1] == newest, wid
        assert cuda_only(RELEASES[wid], HARVESTED, CUDA_HARVESTED), wid


def test_cudnn_cx_wording_asks_for_a_contiguous_cell_state() -> None:
    """cuDNN's check of an LSTM's cell state (read from the CUDA wheels' strings): the fix makes c_0,
    not h_0, contiguous."""
    from rnnshape.explain.explainer import explain_text

    result = explain_text("RuntimeError: rnn: cx is not contiguous")
    assert result.ok
    (diagnosis,) = result.diagnoses
    assert diagnosis.evidence["catalog_entry"] == "cudnn-state-contiguous"
    assert diagnosis.fix == "c_0 = c_0.contiguous()"
