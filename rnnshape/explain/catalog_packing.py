"""Catalog entries for packed sequences (pack_padded_sequence, pad_packed_sequence).
"""

from __future__ import annotations

import re

from rnnshape import diagnoses as dx
from rnnshape.explain.catalog_core import _RNN_CONTEXT, Builder, Context, Entry, _e, _simple, _with_causes


def _lengths_batch(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    got, batch = int(m["got"]), int(m["batch"])
    return _with_causes(dx.packing_lengths_batch(got=got, batch=batch, torch_message=msg), [
        "batch_first does not match the layout of x (pack_padded_sequence then reads "
        "seq_len as the batch)",
        "lengths from another batch, or not filtered along with the samples"])


def _lengths_device(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    rank = int(m["rank"]) if m["rank"] else None
    d = dx.packing_lengths_device(rank=rank, device=m["device"], dtype=m["dtype"],
                                  torch_message=msg)
    return _with_causes(d, ["lengths moved to the GPU along with the batch "
                            "(batch.to(device) in the training loop)",
                            "lengths computed from a CUDA tensor (mask.sum(1))"])


def _total_length(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    d = dx.packing_total_length(total_length=int(m["total"]), longest=int(m["longest"]),
                                torch_message=msg)
    return _with_causes(d, ["total_length set to a fixed maximum smaller than the data",
                            "total_length taken from the wrong dimension of x"])


def _packed_attr(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
    where = f".{m['attr']}" if m["attr"] else (f"{m['func']}()" if m["func"] else "")
    return _with_causes(dx.packed_as_tensor(where=where, torch_message=msg), [
        "the packed output of the recurrent layer used without pad_packed_sequence",
        "a PackedSequence passed to a layer that only takes tensors (Linear, a cell, "
        "Dropout)"])


def _batch_sizes(detail: str) -> Builder:
    def build(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
        return _with_causes(dx.packing_batch_sizes(detail=detail, torch_message=msg), [detail])
    return build


#: This topic's entries, in the catalog's order (earlier entries win overlaps).
ENTRIES: tuple[Entry, ...] = (
    # ---- packing
    _e("packing-unsorted", "packing-unsorted",
       r"[`']?lengths[`']? array (?:must be|has to be) sorted in decreasing order"
       r"|sequences must be sorted in the order of decreasing length",
       _simple(dx.packing_unsorted, ("the batch is not sorted by length (shuffled DataLoader)",
                                     "lengths sorted ascending instead of descending"))),
    _e("packing-bad-length", "packing-bad-length",
       r"Length of all samples has to be greater than 0|found an element in 'lengths' that is <= 0",
       _simple(dx.packing_bad_length, ("an empty sample in the dataset (empty text or "
                                       "audio after filtering)",
                                       "lengths computed from a padding mask that is all padding"))),
    _e("packing-lengths-batch", "packing-lengths-batch",
       r"Expected `?len\(lengths\)`? to be equal to batch_size, but got (?P<got>\d+) \(batch_size=(?P<batch>\d+)\)",
       _lengths_batch),
    _e("packing-lengths-device", "packing-lengths-device",
       r"'lengths' argument should be a 1D CPU int64 tensor"
       r"(?:, but got (?P<rank>\d+)D (?P<device>[\w:]+) (?P<dtype>\w+) tensor)?",
       _lengths_device),
    _e("packing-total-length", "packing-total-length",
       r"Expected total_length to be at least the length of the longest sequence in input, but got "
       r"total_length=(?P<total>\d+) and max sequence length being (?P<longest>\d+)", _total_length),
    _e("packing-empty", "packing-empty", r"received an empty list of sequences",
       _simple(dx.packing_empty, ("an empty batch after filtering",))),
    _e("pad-sequence-not-iterable", "packing-not-a-list",
       r"pad_sequence: Expected iterable for input sequences, but got arg of type: (?:<class ')?(?P<got>[\w.]{1,80})",
       lambda m, msg, ctx: _with_causes(dx.packing_not_a_list(got=m["got"], torch_message=msg), [
           "a single value (a length, None) passed where the list of sequences belongs",
           "the sequences' list built by a helper that returned early (None)"])),
    _e("packed-as-tensor", "packed-as-tensor",
       r"'PackedSequence' object has no attribute '(?P<attr>\w+)'"
       r"|\b(?P<func>\w{1,60})\(\): argument '\w+' \(position \d+\) must be Tensor, not PackedSequence"
       r"|'PackedSequence' object is not subscriptable", _packed_attr),
    _e("packing-batch-sizes-cuda", "packing-batch-sizes", r"batch_sizes should always be on CPU",
       _batch_sizes("batch_sizes is on the GPU: the PackedSequence was built by hand or its "
                    "batch_sizes moved with .to(device)")),
    _e("packed-by-hand", "packing-batch-sizes", r"Expected data to be a list or tuple of length 2",
       _batch_sizes("PackedSequence(data) was built by hand without its batch_sizes"),
       needs=r"PackedSequence|utils[/\\]rnn\.py"),
    _e("pad-packed-tensor", "packing-batch-sizes",
       r"'Tensor' object has no attribute 'batch_sizes'",
       _batch_sizes("pad_packed_sequence was given a plain tensor: the recurrent layer only "
                    "returns a PackedSequence when its input was packed"), needs=_RNN_CONTEXT
       + r"|pad_packed_sequence"),
)
