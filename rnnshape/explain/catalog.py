"""The catalog: PyTorch's own error messages, matched and turned into diagnoses.

Each :class:`Entry` pairs a regular expression (tolerant of the wording of
several torch releases, and of cuDNN, MPS and oneDNN variants) with a builder
that reads the numbers out of the match and calls the shared builders in
:mod:`rnnshape.diagnoses`, and with the likely causes, most likely first.

The runner uses :func:`match` to name the exception torch raised;
``rnnshape explain`` uses :func:`scan` on pasted text and passes a
:class:`Context` (the user's line, the layer named by the traceback) so that the
diagnosis can cite them. No torch import here: this module must load in
milliseconds.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.explain import (
    catalog_config,
    catalog_downstream,
    catalog_dtypes,
    catalog_inputs,
    catalog_packing,
    catalog_states,
)
from rnnshape.explain.catalog_core import NO_CONTEXT, Builder, Context, Entry

__all__ = ["ENTRIES", "NO_CONTEXT", "TOPICS", "Builder", "Context", "Entry", "applies", "build", "code_for",
           "match", "scan"]

#: The topic modules, in matching order: their entries concatenate into :data:`ENTRIES`.
TOPICS = (catalog_inputs, catalog_states, catalog_dtypes, catalog_config, catalog_packing, catalog_downstream)

#: Ordered: where two entries match the same text, the earlier one wins.
ENTRIES: tuple[Entry, ...] = tuple(entry for topic in TOPICS for entry in topic.ENTRIES)


#: Cheap pre-filter for :func:`scan`: an entry's pattern only runs on text holding one of its
#: words (lower case). Keeps a multi-megabyte log at tens of milliseconds.
_HINTS: dict[str, tuple[str, ...]] = {
    "input-size": ("input_size",), "cell-input-size": ("input_size",),
    "input-rank": ("2d or 3d", "2-d or 3-d"), "input-rank-old": ("dimensions, got",),
    "cell-input-rank": ("1d or 2d", "1-d or 2-d"), "cell-hidden-rank": ("1d or 2d", "1-d or 2-d"),
    "hx-rank": ("should also be",), "hidden-size": ("expected hidden",),
    "cell-batch": ("batch size",), "cell-hidden-size": ("inconsistent hidden_size",),
    "empty-sequence": ("sequence length",), "rnn-dtype": ("weight dtype",),
    "mat-dtype": ("same dtype",), "scalar-type": ("scalar type",),
    "old-scalar-type": ("scalar type",), "embedding-indices": ("'indices'",),
    "onednn-dtype": ("mkldnn",),
    "lstm-hx-tensor": ("out of bounds", "tuple of tensors", "0-dim tensor"),
    "device": ("device", "expected it to be on", "expected them to be on"), "dropout-warning": ("dropout",),
    "non-contiguous-weights": ("contiguous chunk",), "ctor-dropout": ("dropout should",),
    "ctor-type": ("should be of type",), "ctor-positive": ("greater than zero",),
    "ctor-proj-negative": ("proj_size",), "ctor-proj-size": ("proj_size",),
    "ctor-proj-gru": ("proj_size",), "ctor-nonlinearity": ("nonlinearity",),
    "ctor-mode": ("rnn mode",), "ctor-unexpected-kw": ("unexpected keyword",),
    "ctor-too-many-args": ("positional arguments",), "ctor-positional-nonlinearity": ("'<='",),
    "ctor-float-layers": ("interpreted as an integer",),
    "ctor-float-dropout": ("convert string to float",),
    "ctor-cell-size": ("negative dimension", "tuple of ints"),
    "packing-bad-length": ("length",),
    "packing-lengths-batch": ("len(lengths)",), "packing-lengths-device": ("'lengths'",),
    "packing-total-length": ("total_length",), "packing-empty": ("empty list of sequences",),
    "packed-as-tensor": ("packedsequence",), "packing-batch-sizes-cuda": ("batch_sizes",),
    "pad-packed-tensor": ("batch_sizes",), "tuple-attribute": ("'tuple' object",),
    "tuple-argument": ("got tuple", "not tuple"), "unpack": ("values to unpack",),
    "matmul-shapes": ("mat1 and mat2", "reduction dim", "size mismatch"),
    "backward-twice": ("second time",), "state-modified-inplace": ("inplace operation", "in-place operation"),
    "packed-by-hand": ("length 2",), "pad-sequence-not-iterable": ("expected iterable",),
    "cudnn-eval-backward": ("training mode",),
    "cudnn-double-backward": ("double backward", "_cudnn_rnn_backward"),
    "cudnn-state-contiguous": ("not contiguous",), "cudnn-status": ("cudnn_status",),
    "mps-lstm": ("broadcast compatible",),
    "rnn-dtype-old": ("must have the type",), "rnn-tensors-dtype": ("not the same dtype",),
    "fused-cell-dtype": ("_thnn_fused_",), "old-object-type": ("expected object of type",),
    "old-inconsistent-size": ("inconsistent tensor size",),
    "state-dict-size": ("size mismatch for", "while copying the parameter"),
    "packing-unsorted": ("decreasing order", "decreasing length"),
}


def _numbers(m: re.Match[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in m.groupdict().items():
        if v is None:
            continue
        k = k.rstrip("23") if k[-1:] in "23" and len(k) == 2 else k
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def build(entry: Entry, m: re.Match[str], message: str,
          context: Context = NO_CONTEXT) -> dx.Diagnosis:
    """The entry's diagnosis for this match, with its numbers, causes and context."""
    d = entry.build(m, message, context)
    causes = list(d.evidence.get("causes") or entry.causes)
    evidence = {**d.evidence, "catalog_entry": entry.name, "numbers": _numbers(m),
                "causes": causes}
    if context.layer:
        evidence["layer"] = context.layer
    if context.user_line:
        evidence["user_line"] = context.user_line
        evidence["where"] = context.where
    return dx.with_traceback_context(d, evidence=evidence, causes=causes, layer=context.layer,
                                     user_line=context.user_line, where=context.where)


def applies(entry: Entry, context: Context, message: str = "", *, trusted: bool = False) -> bool:
    """Generic entries only fire when the message or the traceback ties them to a recurrent layer.

    ``trusted`` is for the runner, which raised the error from a recurrent layer itself.
    """
    if entry.needs is None or trusted or context.built:
        return True
    text = "\n".join(t for t in (message, context.frames_text, context.user_line or "",
                                 context.failing_line or "", context.code_text if entry.code_ties else "")
                     if t)
    return bool(entry.needs.search(text))


def match(message: str, context: Context | None = None) -> tuple[Entry, dx.Diagnosis] | None:
    """The first entry matching ``message``, and its diagnosis; ``None`` if none does.

    Without a context the caller is the runner, which saw the error come out of a recurrent
    layer: generic entries then need no further tie.
    """
    ctx = context or NO_CONTEXT
    for entry in ENTRIES:
        m = entry.pattern.search(message)
        if m and applies(entry, ctx, message, trusted=context is None):
            return entry, build(entry, m, message, ctx)
    return None


def code_for(message: str) -> str | None:
    found = match(message)
    return found[1].code if found else None


def scan(text: str) -> list[tuple[int, int, Entry, re.Match[str]]]:
    """Every non-overlapping entry match in ``text``, in order; earlier entries win overlaps."""
    found: list[tuple[int, int, int, Entry, re.Match[str]]] = []
    low = text.lower()
    present: dict[str, bool] = {}   # several entries share a hint: search the text once per hint

    def has(hint: str) -> bool:
        if hint not in present:
            present[hint] = hint in low
        return present[hint]

    for rank, entry in enumerate(ENTRIES):
        hints = _HINTS.get(entry.name)
        if hints and not any(has(h) for h in hints):
            continue
        for m in entry.pattern.finditer(text):
            found.append((m.start(), m.end(), rank, entry, m))
    found.sort(key=lambda f: (f[2], f[0]))
    # The kept spans never overlap, so sorted by start each new span need only be checked
    # against its two neighbours: O(log n) per match instead of a scan of all kept spans.
    starts: list[int] = []
    ends: list[int] = []
    kept = []
    for start, end, _rank, entry, m in found:
        i = bisect.bisect_right(starts, start)
        if (i > 0 and ends[i - 1] > start) or (i < len(starts) and starts[i] < end):
            continue
        starts.insert(i, start)
        ends.insert(i, end)
        kept.append((start, end, entry, m))
    kept.sort(key=lambda f: f[0])
    return kept
