"""Every catalog entry, proven on the real error: torch raises (or warns), and the exact text
it produced goes through ``explain``, bare and as a full traceback.

The expected numbers are the ones the test itself chose when it built the layer and the
tensors, never copied from rnnshape's output. Entries whose message only a GPU (cuDNN, MPS)
or an older release prints are proven from user reports in tests/data/explain_corpus.
"""

from __future__ import annotations

import json
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence

from rnnshape.diagnoses import CODES
from rnnshape.explain import catalog
from rnnshape.explain.explainer import explain_text
from rnnshape.explain.releases import CUDA_HARVESTED, HARVESTED, RELEASES, REPORT_ONLY
from rnnshape.explain.wordings import WORDINGS, cuda_only

CORPUS = Path(__file__).parent / "data" / "explain_corpus"


def raised(fn: Callable[[], object]) -> tuple[str, str]:
    """``(str(exc), traceback.format_exc())`` of what torch raised, or the first warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - any torch error is the point
            return str(exc), traceback.format_exc()
    if caught:
        w = caught[0]
        return str(w.message), warnings.formatwarning(w.message, w.category, w.filename,
                                                      w.lineno, w.line)
    raise AssertionError("torch neither raised nor warned")


@dataclass(frozen=True)
class Case:
    id: str
    entry: str
    trigger: Callable[[], object]
    code: str
    numbers: tuple[str, ...] = ()
    #: The code for the bare message, where only the traceback can tell the cause apart.
    bare_code: str | None = None
    #: Model code the user pasted above the traceback: what ties a generic message (a matmul,
    #: a dtype clash) to a recurrent layer when the frames do not show one.
    pasted_code: str = ""


MODEL_CODE = ("class Model(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
              "        self.rnn = nn.GRU(4, 6)\n\n")


def _x(*shape: int, **kw) -> torch.Tensor:
    return torch.zeros(*shape, **kw)


class _Net(nn.Module):
    """A user's model: the traceback then holds the user's own line."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.rnn = layer

    def forward(self, x, h0=None):
        out, h = self.rnn(x, h0)
        return out


def _packed_by_hand(data: torch.Tensor, batch_sizes: torch.Tensor | None = None) -> object:
    from torch.nn.utils.rnn import PackedSequence

    return PackedSequence(data, batch_sizes)


def _backward_twice() -> None:
    rnn = nn.GRU(4, 6)
    h = torch.zeros(1, 2, 6)
    for _ in range(2):
        out, h = rnn(torch.randn(3, 2, 4), h)   # h not detached between batches
        out.sum().backward()


def _state_kept_with_retain_graph() -> None:
    rnn = nn.GRU(4, 6)
    optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1)
    h = torch.zeros(1, 2, 6)
    for _ in range(2):
        out, h = rnn(torch.randn(3, 2, 4), h)   # h not detached, the graph retained
        optimizer.zero_grad()
        out.sum().backward(retain_graph=True)
        optimizer.step()


def _lstm_then_linear() -> None:
    lstm, fc = nn.LSTM(8, 16), nn.Linear(16, 2)
    fc(lstm(_x(5, 3, 8)))


def _unpack_three() -> None:
    out, h, c = nn.LSTM(8, 16)(_x(5, 3, 8))


def _unpack_gru_hc() -> None:
    out, (h, c) = nn.GRU(8, 16)(_x(5, 3, 8))


def _unpack_state_tensor() -> None:
    _, hidden = nn.GRU(8, 16, num_layers=3)(_x(5, 2, 8))
    h, c = hidden


def _detach_lstm_state() -> None:
    _, hidden = nn.LSTM(8, 16)(_x(5, 3, 8))
    hidden.detach()


_packed = pack_padded_sequence(_x(3, 5, 8), [5, 3, 2], batch_first=True)

CASES = [
    # ---- input
    Case("input-size", "input-size", lambda: nn.LSTM(8, 16)(_x(5, 3, 10)),
         "input-size-mismatch", ("input_size=8", "is 10")),
    Case("input-size-user-line", "input-size", lambda: _Net(nn.GRU(8, 16))(_x(5, 3, 12)),
         "input-size-mismatch", ("input_size=8", "is 12")),
    Case("cell-input-size", "cell-input-size", lambda: nn.GRUCell(8, 16)(_x(3, 10)),
         "input-size-mismatch", ("input_size=8", "is 10")),
    Case("input-rank-4d", "input-rank", lambda: nn.LSTM(8, 16)(_x(2, 5, 3, 8)),
         "input-rank", ("4 dimension",)),
    Case("input-rank-1d", "input-rank", lambda: nn.GRU(8, 16)(_x(8)), "input-rank",
         ("1 dimension",)),
    Case("cell-input-rank", "cell-input-rank", lambda: nn.LSTMCell(8, 16)(_x(5, 3, 8)),
         "input-rank", ("3 dimension",)),
    Case("cell-hidden-rank", "cell-hidden-rank",
         lambda: nn.GRUCell(8, 16)(_x(3, 8), _x(1, 3, 16)), "hidden-rank", ("2-D, got 3-D",)),
    Case("cell-hx0-rank", "cell-hidden-rank",
         lambda: nn.LSTMCell(8, 16)(_x(3, 8), (_x(1, 3, 16), _x(1, 3, 16))), "hidden-rank",
         ("3",)),
    Case("hx-rank-batched", "hx-rank", lambda: nn.GRU(8, 16)(_x(5, 3, 8), _x(3, 16)),
         "hidden-rank", ("3-D, got 2-D",)),
    Case("hx-rank-unbatched-lstm", "hx-rank",
         lambda: nn.LSTM(8, 16)(_x(5, 8), (_x(1, 3, 16), _x(1, 3, 16))), "hidden-rank",
         ("2-D, got 3-D",)),
    Case("hx-rank-lstm-one-tensor", "hx-rank",
         lambda: nn.LSTM(8, 16, num_layers=2)(_x(5, 3, 8), _x(2, 3, 16)), "hidden-rank",
         ("(h_0, c_0)",)),
    # ---- state: each dimension, and the classic patterns
    Case("hidden-bidirectional-forgotten", "hidden-size",
         lambda: nn.GRU(8, 16, bidirectional=True)(_x(5, 3, 8), _x(1, 3, 16)),
         "hidden-layers-mismatch", ("expected 2, got 1", "bidirectional")),
    Case("hidden-num-layers-forgotten", "hidden-size",
         lambda: nn.LSTM(8, 16, num_layers=3)(_x(5, 3, 8), (_x(1, 3, 16), _x(1, 3, 16))),
         "hidden-layers-mismatch", ("expected 3, got 1", "num_layers")),
    Case("hidden-last-batch", "hidden-size",
         lambda: nn.GRU(8, 16)(_x(5, 7, 8), _x(1, 32, 16)),
         "hidden-batch-mismatch", ("batch 7", "has 32", "drop_last")),
    Case("hidden-batch-first-state", "hidden-size",
         lambda: nn.GRU(8, 16, num_layers=2, batch_first=True)(_x(4, 5, 8), _x(4, 2, 16)),
         "hidden-batch-first", ("(4, 2, 16)", "(2, 4, 16)")),
    Case("hidden-size", "hidden-size",
         lambda: nn.RNN(8, 16)(_x(5, 3, 8), _x(1, 3, 32)), "hidden-size-mismatch",
         ("expected 16, got 32",)),
    Case("cell-state-c0", "hidden-size",
         lambda: nn.LSTM(8, 16)(_x(5, 3, 8), (_x(1, 3, 16), _x(1, 3, 20))),
         "cell-shape-mismatch", ("expected 16, got 20",)),
    Case("cell-batch", "cell-batch", lambda: nn.GRUCell(8, 16)(_x(3, 8), _x(4, 16)),
         "hidden-batch-mismatch", ("must be 3", "has 4")),
    Case("cell-batch-c", "cell-batch",
         lambda: nn.LSTMCell(8, 16)(_x(3, 8), (_x(3, 16), _x(5, 16))), "cell-shape-mismatch",
         ("must be 3", "has 5")),
    Case("cell-hidden-size", "cell-hidden-size",
         lambda: nn.GRUCell(8, 16)(_x(3, 8), _x(3, 20)), "hidden-size-mismatch",
         ("must be 16", "has 20")),
    Case("empty-sequence", "empty-sequence", lambda: nn.LSTM(8, 16)(_x(0, 3, 8)),
         "empty-sequence", ("0 time steps",)),
    # ---- dtypes
    Case("integer-input", "rnn-dtype",
         lambda: nn.LSTM(8, 16)(torch.zeros(5, 3, 8, dtype=torch.int64)), "integer-input",
         ("int64", "nn.Embedding")),
    Case("double-input", "rnn-dtype",
         lambda: nn.GRU(8, 16)(_x(5, 3, 8, dtype=torch.float64)), "dtype-mismatch",
         ("float64", "float32")),
    Case("mat-dtype-state", "mat-dtype",
         lambda: nn.GRU(8, 16)(_x(5, 3, 8), _x(1, 3, 16, dtype=torch.float64)),
         "dtype-mismatch", ("float64", "float32")),
    Case("mat-dtype-cell-int", "mat-dtype",
         lambda: nn.GRUCell(8, 16)(torch.zeros(3, 8, dtype=torch.int64)), "integer-input",
         ("int64",)),
    Case("self-mat2-dtype", "mat-dtype",
         lambda: torch.addmm(_x(3, 5), _x(3, 4), _x(4, 5, dtype=torch.float64)),
         "dtype-mismatch", ("float32", "float64"),
         pasted_code=MODEL_CODE),
    Case("scalar-type-attention-bmm", "scalar-type",
         lambda: torch.bmm(_x(2, 3, 4), _x(2, 4, 5, dtype=torch.float64)), "dtype-mismatch",
         ("float64", "float32"),
         pasted_code=MODEL_CODE),
    Case("embedding-float-ids", "embedding-indices",
         lambda: nn.Embedding(10, 4)(torch.tensor([1.0])), "dtype-mismatch", ("int64",),
         pasted_code=MODEL_CODE),
    Case("onednn-dtype", "onednn-dtype",
         lambda: nn.LSTM(8, 4)(_x(5, 3, 8), (_x(1, 3, 4, dtype=torch.float64), _x(1, 3, 4))),
         "dtype-mismatch", ("oneDNN",)),
    # ---- the LSTM's state as one tensor
    Case("lstm-state-one-tensor", "lstm-hx-tensor",
         lambda: nn.LSTM(8, 16)(_x(5, 3, 8), _x(1, 3, 16)), "hidden-not-tuple", ("(h_0, c_0)",)),
    Case("lstmcell-state-one-tensor", "lstm-hx-tensor",
         lambda: nn.LSTMCell(8, 16)(_x(3, 8), _x(3, 16)), "hidden-not-tuple", ("(h_0, c_0)",)),
    # ---- devices (meta stands in for a GPU: same check, same wording)
    Case("device-parameters", "device",
         lambda: nn.LSTM(8, 16)(_x(5, 3, 8, device="meta")), "device-mismatch", ("meta", "cpu")),
    Case("device-hidden", "device",
         lambda: nn.GRU(8, 16)(_x(5, 3, 8), _x(1, 3, 16, device="meta")), "device-mismatch",
         ("meta", "cpu")),
    # ---- warning
    Case("dropout-warning", "dropout-warning", lambda: nn.LSTM(8, 16, dropout=0.3),
         "dropout-single-layer", ("dropout=0.3",)),
    # ---- every constructor ValueError and TypeError
    Case("ctor-dropout-range", "ctor-dropout", lambda: nn.LSTM(8, 16, dropout=1.5),
         "invalid-config"),
    Case("ctor-dropout-bool", "ctor-dropout", lambda: nn.GRU(8, 16, dropout=True),
         "invalid-config"),
    Case("ctor-dropout-string", "ctor-float-dropout", lambda: nn.LSTM(8, 16, dropout="a"),
         "invalid-config", ("'a'",)),
    Case("ctor-hidden-float", "ctor-type", lambda: nn.LSTM(8, 16 / 2), "invalid-config",
         ("hidden_size", "float")),
    Case("ctor-input-str", "ctor-type", lambda: nn.GRU("8", 16), "invalid-config",
         ("input_size", "str")),
    Case("ctor-bias-none", "ctor-type", lambda: nn.LSTM(8, 16, bias=None), "invalid-config",
         ("bias",)),
    Case("ctor-batch-first-int", "ctor-type", lambda: nn.LSTM(8, 16, batch_first=1),
         "invalid-config", ("batch_first",)),
    Case("ctor-input-zero", "ctor-positive", lambda: nn.LSTM(0, 16), "invalid-config",
         ("input_size",)),
    Case("ctor-hidden-zero", "ctor-positive", lambda: nn.GRU(8, 0), "invalid-config",
         ("hidden_size",)),
    Case("ctor-layers-zero", "ctor-positive", lambda: nn.RNN(8, 16, num_layers=0),
         "invalid-config", ("num_layers",)),
    Case("ctor-layers-float", "ctor-float-layers", lambda: nn.LSTM(8, 16, num_layers=2.0),
         "invalid-config", ("num_layers",)),
    Case("ctor-proj-negative", "ctor-proj-negative", lambda: nn.LSTM(8, 16, proj_size=-1),
         "invalid-config", ("proj_size",)),
    Case("ctor-proj-too-big", "ctor-proj-size", lambda: nn.LSTM(8, 16, proj_size=16),
         "invalid-config", ("proj_size",)),
    Case("ctor-proj-gru", "ctor-proj-gru", lambda: nn.GRU(8, 16, proj_size=4), "invalid-config",
         ("LSTM",)),
    Case("ctor-nonlinearity", "ctor-nonlinearity",
         lambda: nn.RNN(8, 16, nonlinearity="sigmoid"), "invalid-config", ("sigmoid",)),
    Case("ctor-cell-nonlinearity", "ctor-nonlinearity",
         lambda: nn.RNNCell(8, 16, nonlinearity="gelu")(_x(3, 8)), "invalid-config", ("gelu",)),
    Case("ctor-nonlinearity-positional", "ctor-positional-nonlinearity",
         lambda: nn.RNN(8, 16, "relu"), "invalid-config", ("nonlinearity",)),
    Case("ctor-mode", "ctor-mode", lambda: nn.RNNBase("ELMAN", 8, 16), "invalid-config",
         ("ELMAN",)),
    Case("ctor-misspelt-kw", "ctor-unexpected-kw", lambda: nn.LSTM(8, 16, batch_frist=True),
         "invalid-config", ("batch_first",)),
    Case("ctor-lstm-nonlinearity-kw", "ctor-unexpected-kw",
         lambda: nn.LSTM(8, 16, nonlinearity="relu"), "invalid-config", ("nonlinearity",)),
    Case("ctor-too-many-positional", "ctor-too-many-args",
         lambda: nn.LSTM(8, 16, 2, True, True, 0.5, True, 0, None, None, 7), "invalid-config"),
    Case("ctor-cell-negative", "ctor-cell-size", lambda: nn.LSTMCell(8, -2), "invalid-config",
         ("-8",)),
    Case("ctor-cell-float", "ctor-cell-size", lambda: nn.GRUCell(8, 2.5), "invalid-config"),
    # ---- packing
    Case("packing-unsorted", "packing-unsorted",
         lambda: pack_padded_sequence(_x(3, 5, 8), [2, 5, 3], batch_first=True),
         "packing-unsorted", ("enforce_sorted=False",)),
    Case("pack-sequence-unsorted", "packing-unsorted",
         lambda: pack_sequence([_x(2, 8), _x(5, 8)]), "packing-unsorted"),
    Case("packing-zero-length", "packing-bad-length",
         lambda: pack_padded_sequence(_x(3, 5, 8), [5, 3, 0], batch_first=True),
         "packing-bad-length"),
    Case("packing-lengths-batch", "packing-lengths-batch",
         lambda: pack_padded_sequence(_x(3, 5, 8), [5, 3], batch_first=True),
         "packing-lengths-batch", ("2 lengths for a batch of 3",)),
    Case("packing-lengths-2d", "packing-lengths-device",
         lambda: pack_padded_sequence(_x(3, 5, 8), torch.tensor([[5, 3, 2]]), batch_first=True),
         "packing-lengths-device", ("2-D",)),
    Case("packing-lengths-device", "packing-lengths-device",
         lambda: pack_padded_sequence(_x(3, 5, 8), torch.tensor([5, 3, 2], device="meta"),
                                      batch_first=True),
         "packing-lengths-device", ("on meta",)),
    Case("packing-total-length", "packing-total-length",
         lambda: pad_packed_sequence(nn.GRU(8, 4)(_packed)[0], batch_first=True,
                                     total_length=3),
         "packing-total-length", ("total_length=3", "(5)")),
    Case("packing-empty", "packing-empty", lambda: pack_sequence([]), "packing-empty"),
    Case("packed-into-linear", "packed-as-tensor", lambda: nn.Linear(8, 2)(_packed),
         "packed-as-tensor", ("linear()",)),
    Case("packed-size", "packed-as-tensor", lambda: _packed.size(), "packed-as-tensor",
         (".size",)),
    Case("packed-into-cell", "packed-as-tensor", lambda: nn.GRUCell(8, 4)(_packed),
         "packed-as-tensor", (".dim",)),
    Case("packed-by-hand", "packed-by-hand", lambda: _packed_by_hand(_x(6, 8)), "packing-batch-sizes",
         ("by hand",)),
    # meta stands in for the GPU: the check only asks whether batch_sizes is on the CPU
    Case("packed-batch-sizes-off-cpu", "packing-batch-sizes-cuda",
         lambda: _packed_by_hand(_x(6, 8), torch.tensor([3, 2, 1], device="meta")), "packing-batch-sizes",
         ("GPU",)),
    Case("pad-sequence-int", "pad-sequence-not-iterable", lambda: pad_sequence(5), "packing-not-a-list",
         ("int",)),
    Case("pad-packed-of-tensor", "pad-packed-tensor",
         lambda: pad_packed_sequence(nn.GRU(8, 4)(_x(5, 3, 8))[0]), "packing-batch-sizes"),
    Case("packed-input-size", "matmul-shapes", lambda: nn.LSTM(10, 4)(_packed),
         "input-size-mismatch", ("input_size=10", "is 8"), bare_code="linear-mismatch"),
    # ---- downstream mistakes
    Case("gru-given-tuple", "tuple-attribute",
         lambda: _Net(nn.GRU(8, 16))(_x(5, 3, 8), (_x(1, 3, 16), _x(1, 3, 16))),
         "gru-given-tuple", ("GRU",), bare_code="output-tuple"),
    Case("rnn-given-tuple", "tuple-attribute",
         lambda: nn.RNN(8, 16)(_x(5, 3, 8), (_x(1, 3, 16), _x(1, 3, 16))), "gru-given-tuple",
         ("RNN",), bare_code="output-tuple"),
    Case("output-tuple-into-lstm", "tuple-attribute",
         lambda: nn.LSTM(16, 4)(nn.LSTM(8, 16)(_x(5, 3, 8))), "output-tuple", ("(output",)),
    Case("output-tuple-view", "tuple-attribute", lambda: nn.GRU(8, 16)(_x(5, 3, 8)).view(-1),
         "output-tuple", (".view",)),
    Case("lstm-state-detach", "tuple-attribute", _detach_lstm_state, "output-tuple",
         ("detach",)),
    Case("output-tuple-into-linear", "tuple-argument", _lstm_then_linear, "output-tuple",
         ("linear()",)),
    Case("output-tuple-cat", "tuple-argument", lambda: torch.cat([nn.GRU(8, 16)(_x(5, 3, 8)), _x(5, 3, 16)]),
         "output-tuple"),
    Case("unpack-three", "unpack", _unpack_three, "unpack-outputs", ("expected 3, got 2",)),
    Case("unpack-gru-hc", "unpack", _unpack_gru_hc, "unpack-outputs", ("expected 2, got 1",)),
    Case("unpack-state-tensor", "unpack", _unpack_state_tensor, "unpack-outputs",
         ("expected 2",)),
    Case("linear-bidirectional", "matmul-shapes",
         lambda: nn.Linear(16, 2)(nn.LSTM(8, 16, bidirectional=True)(_x(5, 3, 8))[0]),
         "linear-mismatch", ("in_features=16", "32 = 2 x 16", "bidirectional")),
    Case("linear-flatten", "matmul-shapes",
         lambda: nn.Linear(16, 2)(nn.GRU(8, 16, batch_first=True)(_x(3, 7, 8))[0].reshape(3, -1)),
         "linear-mismatch", ("112 = 7 x 16", "flattened")),
    Case("linear-meta", "matmul-shapes",
         lambda: nn.Linear(16, 2, device="meta")(_x(4, 32, device="meta")), "linear-mismatch",
         ("32 = 2 x 16",),
         pasted_code=MODEL_CODE),
    Case("loss-per-step-logits", "loss-batch",
         lambda: nn.CrossEntropyLoss()(nn.Linear(16, 3)(nn.LSTM(8, 16, batch_first=True)(_x(4, 5, 8))[0])
                                       .reshape(-1, 3), torch.zeros(4, dtype=torch.long)),
         "loss-batch-mismatch", ("20 = 4 sequences x 5 time steps",)),
    Case("loss-per-step-labels", "loss-batch",
         lambda: nn.CrossEntropyLoss()(nn.Linear(16, 3)(nn.GRU(8, 16)(_x(5, 4, 8))[1][-1]),
                                       torch.zeros(20, dtype=torch.long)),
         "loss-batch-mismatch", ("20 = 4 sequences x 5 time steps",)),
    # ---- loading weights
    Case("state-dict-hidden", "state-dict-size",
         lambda: nn.LSTM(8, 16).load_state_dict(nn.LSTM(8, 32).state_dict()),
         "hidden-size-mismatch", ("hidden_size 32", "16")),
    Case("state-dict-input", "state-dict-size",
         lambda: nn.GRU(12, 16).load_state_dict(nn.GRU(8, 16).state_dict()),
         "input-size-mismatch", ("input_size 8", "input_size 12")),
    # ---- autograd
    Case("backward-twice", "backward-twice", _backward_twice, "backward-twice", ("detach",),
         pasted_code=MODEL_CODE),
    Case("state-kept-retain-graph", "state-modified-inplace", _state_kept_with_retain_graph,
         "state-modified-inplace", ("18 = 3 gates x hidden_size 6", "hidden.detach()"), pasted_code=MODEL_CODE),
]

#: Entries only a GPU backend or an older torch release prints: proven from user reports, or
#: (old-scalar-type, old-object-type) from a wording found in a release's own code.
REPORTED_ONLY = {
    "input-rank-old", "old-scalar-type", "non-contiguous-weights",
    "cudnn-eval-backward",
    "cudnn-double-backward", "cudnn-state-contiguous", "cudnn-status", "mps-lstm",
    "rnn-dtype-old", "rnn-tensors-dtype", "fused-cell-dtype", "old-object-type",
    "old-inconsistent-size",
}


def _corpus_entries() -> set[str]:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    return {e for item in manifest for e in item.get("entries", [])}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_real_error_is_explained(case: Case) -> None:
    message, tb = raised(case.trigger)
    tb = case.pasted_code + tb
    entry = next(e for e in catalog.ENTRIES if e.name == case.entry)
    texts = [message, tb]
    # The runner (no context: it raised the error from a recurrent layer itself) names it.
    found = catalog.match(message)
    assert found is not None, message
    assert found[0].name == case.entry, (found[0].name, message)
    assert found[1].code in (entry.code, *entry.also)
    if entry.needs is not None and not catalog.applies(entry, catalog.NO_CONTEXT, message):
        # A generic message is only claimed by explain when its traceback ties it to a layer.
        assert not explain_text(message).ok
        texts = [tb]
    for text in texts:
        result = explain_text(text)
        assert result.ok, text
        d = result.diagnoses[0]
        want = case.bare_code if case.bare_code and text is message else case.code
        assert d.code == want, (d.code, text)
        if text is message and case.bare_code:
            continue
        prose = f"{d.title}\n{d.explanation}\n{d.fix}"
        for number in case.numbers:
            assert number in prose, (number, prose)
        assert d.evidence["torch_message"]
        assert d.evidence["causes"], "every diagnosis ranks its likely causes"


def test_every_entry_is_proven() -> None:
    names = {e.name for e in catalog.ENTRIES}
    real = {c.entry for c in CASES}
    assert not (REPORTED_ONLY & real), "tested for real: remove it from REPORTED_ONLY"
    missing = names - real - REPORTED_ONLY
    assert not missing, f"entries with no real-torch test: {sorted(missing)}"
    reported = _corpus_entries() | {w.entry for w in WORDINGS if RELEASES.get(w.id)}
    assert REPORTED_ONLY <= reported, f"no user report for {sorted(REPORTED_ONLY - reported)}"
    assert not (REPORTED_ONLY | real) - names, "tests name entries that do not exist"


def test_entry_codes_are_known() -> None:
    for entry in catalog.ENTRIES:
        assert entry.code in CODES
        assert all(c in CODES for c in entry.also)


def test_traceback_evidence_user_line_and_layer() -> None:
    _, tb = raised(lambda: _Net(nn.LSTM(8, 16, num_layers=2))(
        _x(5, 3, 8), (_x(1, 3, 16), _x(1, 3, 16))))
    result = explain_text(tb)
    d = result.diagnoses[0]
    assert d.code == "hidden-layers-mismatch"
    assert d.evidence["user_line"] == "out, h = self.rnn(x, h0)"
    assert "out, h = self.rnn(x, h0)" in d.explanation
    assert d.evidence["dimension"] == 0
    assert d.evidence["meaning"] == "num_layers x num_directions"


def test_layer_type_from_frames() -> None:
    _, tb = raised(lambda: _Net(nn.GRU(8, 16))(_x(5, 3, 8), (_x(1, 3, 16), _x(1, 3, 16))))
    result = explain_text(tb)
    assert result.layer == "GRU"
    assert result.diagnoses[0].code == "gru-given-tuple"


def test_match_keeps_runner_contract() -> None:
    """report.py relies on match() -> (Entry, Diagnosis) and code_for() -> str | None."""
    message, _ = raised(lambda: nn.LSTM(8, 16)(_x(5, 3, 10)))
    entry, d = catalog.match(message)
    assert isinstance(entry, catalog.Entry) and d.code == "input-size-mismatch"
    assert catalog.code_for(message) == "input-size-mismatch"
    assert catalog.code_for("all good") is None


# --------------------------------------------------------------------------- every wording, 0.x to 2.13


@pytest.mark.parametrize("wording", WORDINGS, ids=[w.id for w in WORDINGS])
def test_every_wording_is_explained_by_its_entry(wording) -> None:
    """The verbatim historic text of each wording reaches its entry (a generic message with the
    model code a user would paste around it), and the wording is dated: found in a release's
    own code by tools/harvest_wordings.py, or known from the user report it cites."""
    entry = next(e for e in catalog.ENTRIES if e.name == wording.entry)
    text = wording.example
    if entry.needs is not None and not catalog.applies(entry, catalog.NO_CONTEXT, text):
        text = MODEL_CODE + text
    result = explain_text(text)
    assert result.ok, text
    assert result.diagnoses[0].evidence["catalog_entry"] == wording.entry
    assert all(p.strip() for p in wording.probes)
    assert RELEASES.get(wording.id) or wording.source.startswith("https://"), wording.id


def test_harvest_spans_old_and_new_releases() -> None:
    assert HARVESTED[0].startswith("1.") and HARVESTED[-1] == torch.__version__.split("+")[0]
    assert set(RELEASES) == {w.id for w in WORDINGS}, "rerun tools/harvest_wordings.py"


def _packed_data_3d() -> None:
    from torch.nn.utils.rnn import PackedSequence

    nn.GRU(8, 16)(PackedSequence(_x(10, 1, 8), torch.tensor([4, 3, 2, 1])))


def _packed_unpacked_in_two() -> None:
    packed = pack_padded_sequence(_x(5, 3, 8), [5, 3, 2])
    data, batch_sizes = packed   # a PackedSequence has four fields since torch 1.1


#: Wordings the installed torch prints, each triggered live (the text goes through explain).
LIVE_WORDINGS: dict[str, Callable[[], object]] = {
    "backward-twice": _backward_twice,
    "cell-batch-aten": lambda: nn.GRUCell(8, 16)(_x(3, 8), _x(4, 16)),
    "cell-hidden-size": lambda: nn.GRUCell(8, 16)(_x(3, 8), _x(3, 20)),
    "cell-input-rank": lambda: nn.LSTMCell(8, 16)(_x(5, 3, 8)),
    "cell-input-size": lambda: nn.GRUCell(8, 16)(_x(3, 10)),
    "dropout-warning": lambda: nn.GRU(8, 16, dropout=0.5),
    "empty-sequence": lambda: nn.GRU(8, 16)(_x(0, 3, 8)),
    "hidden-size-unindexed": lambda: nn.GRU(8, 16)(_x(5, 3, 8), _x(1, 4, 16)),
    "hidden0-size-list": lambda: nn.LSTM(8, 16)(_x(5, 3, 8), (_x(2, 3, 16), _x(1, 3, 16))),
    "hidden1-size": lambda: nn.LSTM(8, 16)(_x(5, 3, 8), (_x(1, 3, 16), _x(1, 4, 16))),
    "hx-rank": lambda: nn.GRU(8, 16)(_x(5, 3, 8), _x(3, 16)),
    "input-rank-2d-3d": lambda: nn.LSTM(8, 16)(_x(2, 5, 3, 8)),
    "input-rank-3": _packed_data_3d,
    "input-size": lambda: nn.LSTM(8, 16)(_x(5, 3, 10)),
    "onednn-dtype": lambda: nn.LSTM(8, 4)(_x(5, 3, 8), (_x(1, 3, 4, dtype=torch.float64), _x(1, 3, 4))),
    "packing-lengths-batch": lambda: pack_padded_sequence(_x(5, 3, 8), [5, 3, 2, 1]),
    "packing-lengths-device": lambda: pack_padded_sequence(_x(5, 3, 8), torch.tensor([[5, 3, 2]])),
    "packing-total-length": lambda: pad_packed_sequence(pack_padded_sequence(_x(5, 3, 8), [5, 3, 2]),
                                                        total_length=4),
    "packing-unsorted-enforce": lambda: pack_padded_sequence(_x(5, 3, 8), [2, 5, 3]),
    "packing-zero-length": lambda: pack_padded_sequence(_x(5, 3, 8), [5, 3, 0]),
    "rnn-dtype": lambda: nn.GRU(8, 16)(_x(5, 3, 8, dtype=torch.float64)),
    "state-dict-size": lambda: nn.LSTM(8, 16).load_state_dict(nn.LSTM(8, 32).state_dict()),
    "packed-four-fields-typed": _packed_unpacked_in_two,
    "cell-hidden-rank": lambda: nn.GRUCell(8, 16)(_x(3, 8), _x(1, 3, 16)),
    "cell-hx-rank": lambda: nn.LSTMCell(8, 16)(_x(3, 8), (_x(1, 3, 16), _x(3, 16))),
    "packed-batch-sizes-cuda": lambda: _packed_by_hand(_x(6, 8), torch.tensor([3, 2, 1], device="meta")),
    "packed-data-pair": lambda: _packed_by_hand(_x(6, 8)),
    "ctor-dropout-range": lambda: nn.LSTM(8, 16, dropout=20),
    "ctor-bias-type": lambda: nn.LSTM(8, 16, bias=1),
    "ctor-batch-first-type": lambda: nn.GRU(8, 16, batch_first=1),
    "ctor-input-size-type": lambda: nn.GRU(8.0, 16),
    "ctor-hidden-size-type": lambda: nn.LSTM(8, 32 / 2),
    "ctor-input-size-positive": lambda: nn.RNN(0, 16),
    "ctor-hidden-size-positive": lambda: nn.LSTM(8, 0),
    "ctor-num-layers-positive": lambda: nn.GRU(8, 16, num_layers=0),
    "ctor-proj-size-negative": lambda: nn.LSTM(8, 16, proj_size=-4),
    "ctor-proj-size-too-big": lambda: nn.LSTM(8, 16, proj_size=32),
    "ctor-proj-size-gru": lambda: nn.GRU(8, 16, proj_size=4),
    "ctor-nonlinearity-select": lambda: nn.RNN(8, 16, nonlinearity="sigmoid"),
    "cell-nonlinearity": lambda: nn.RNNCell(8, 16, nonlinearity="sigmoid")(_x(3, 8)),
    "ctor-mode": lambda: nn.RNNBase("BiLSTM", 8, 16),
    "rnn-tensors-device": lambda: nn.GRU(8, 16)(_x(5, 3, 8), _x(1, 3, 16, device="meta")),
    "pad-sequence-not-iterable": lambda: pad_sequence(5),
    "inplace-modified": _state_kept_with_retain_graph,   # 2.13 prints the versioned form after it
    "inplace-modified-versioned": _state_kept_with_retain_graph,
}

#: Wordings whose text is still in the installed torch's code but that the recurrent layers no
#: longer reach (legacy kernels, other operators' checks): proven by their historic text above.
NOT_REACHED = {
    "old-inconsistent-size": "TH's legacy message, no longer raised by recurrent layers",
    "old-scalar-type": "kept for a few legacy operators; recurrent layers check dtypes first",
    "state-dict-size-old": "now only prefixes a copy that raised ('an exception occurred')",
    "rnn-tensors-dtype": "ATen's check_attributes behind the cuDNN/MIOpen kernels; on the CPU the Python "
                         "dtype check (rnn-dtype) or oneDNN (onednn-dtype) answers first",
}


def test_packed_sequence_unpacked_in_two_names_the_four_fields() -> None:
    _, tb = raised(_packed_unpacked_in_two)
    d = explain_text(tb).diagnoses[0]
    assert "4 fields since torch 1.1" in d.evidence["causes"][0]
    packed = pack_padded_sequence(_x(5, 3, 8), [5, 3, 2])
    scope: dict = {"packed": packed}
    exec(d.fix, {}, scope)   # the fix runs on a real PackedSequence
    assert scope["batch_sizes"].tolist() == [3, 3, 2, 1, 1]


def test_wordings_of_the_installed_torch_are_triggered_live() -> None:
    installed = torch.__version__.split("+")[0]
    # CUDA-only wordings (cuDNN, the fused CUDA cells) need a GPU to raise: they are proven by their
    # text (test_every_wording_is_explained_by_its_entry), not triggered on this CPU build
    current = {w.id for w in WORDINGS if installed in RELEASES.get(w.id, ())
               and not cuda_only(RELEASES[w.id], HARVESTED, CUDA_HARVESTED)}
    assert current - set(LIVE_WORDINGS) - set(NOT_REACHED) == set(), "add a live trigger"
    by_id = {w.id: w for w in WORDINGS}
    for wid, trigger in LIVE_WORDINGS.items():
        message, tb = raised(trigger)
        entry = next(e for e in catalog.ENTRIES if e.name == by_id[wid].entry)
        if entry.needs is not None:
            tb = MODEL_CODE + tb   # a generic message: the user's model code ties it to a layer
        result = explain_text(tb)
        assert result.ok, (wid, tb)
        assert result.diagnoses[0].evidence["catalog_entry"] == by_id[wid].entry, (wid, message)


def _every_explained_text() -> list[tuple[str, str]]:
    texts = [(c.id, c.pasted_code + raised(c.trigger)[1]) for c in CASES]
    texts += [(w.id, MODEL_CODE + w.example) for w in WORDINGS]
    return texts


def test_every_fix_is_python_and_survives_80_columns() -> None:
    """#9: every fix explain prints parses as Python, as printed in an 80-column console."""
    import ast
    import io

    from rich.console import Console

    from rnnshape.render.explain import print_explanation

    failures: list[tuple[str, str]] = []
    for name, text in _every_explained_text():
        result = explain_text(text)
        bad = []
        for d in result.diagnoses:
            try:
                ast.parse(d.fix)
            except SyntaxError:
                bad.append(d.fix)
        failures.extend((name, fix) for fix in bad)
        out = io.StringIO()
        print_explanation(result, console=Console(file=out, width=80, force_terminal=False))
        blocks, current = [], None
        for line in out.getvalue().splitlines():
            if line.strip() == "Fix:":
                current = []
                blocks.append(current)
            elif current is not None and line.startswith("    "):
                current.append(line[4:])
            else:
                current = None
        assert len(blocks) == sum(1 for d in result.diagnoses if d.fix), name
        for block in blocks:
            try:
                ast.parse("\n".join(block))
            except SyntaxError:
                failures.append((name, "\n".join(block)))
    for name, fix in failures:
        print(f"--- {name}\n{fix}")
    assert not failures, len(failures)


def test_releases_table_is_the_tools_output() -> None:
    """releases.py is exactly what tools/harvest_wordings.py writes (not edited by hand), and the
    tool finds the messages raised in a module's source."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "harvest_wordings", Path(__file__).parents[1] / "tools" / "harvest_wordings.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    table = {wid: list(versions) for wid, versions in RELEASES.items()}
    assert tool.render(table, list(HARVESTED), list(CUDA_HARVESTED), REPORT_ONLY) == tool.OUTPUT.read_text()
    source = "def f(x):\n    if x:\n        raise ValueError(f'input must have {x} dimensions, got {x}')\n"
    assert tool.messages_of(source) == ["input must have {} dimensions, got {}"]
