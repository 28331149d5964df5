"""Builders for packing mistakes (pack_padded_sequence, PackedSequence), for explain and inspect."""

from __future__ import annotations

from rnnshape.diagnoses.record import Diagnosis, Fix, FixKind, _d

# --------------------------------------------------------------------------- explain: packing


def packing_unsorted(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-unsorted", "lengths must be sorted longest first (enforce_sorted=True)",
        "pack_padded_sequence and pack_sequence default to enforce_sorted=True: the batch "
        "must already be ordered by decreasing length, the longest sequence first. Your "
        "lengths are not. Pass enforce_sorted=False and torch sorts (and unsorts the "
        "outputs) for you; sort yourself only if you export to ONNX.",
        "packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)",
        {"torch_message": torch_message}, fixes=(Fix(
            FixKind.FLAG, "packed = pack_padded_sequence(x, lengths, batch_first=rnn.batch_first,\n"
            "                              enforce_sorted=False)", "pack_padded_sequence",
            {"enforce_sorted": False}),))


def packing_bad_length(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-bad-length", "a sequence length is 0 or negative",
        "Every entry of lengths must be at least 1: a packed batch cannot hold an empty "
        "sequence. A 0 usually comes from an empty sample (an empty line, a filtered-out "
        "utterance) or from padding counted as length 0. Drop empty samples in the dataset, "
        "or clamp and mask them.",
        "keep = lengths > 0\nx, lengths = x[keep], lengths[keep]   # or filter empty samples "
        "in the Dataset",
        {"torch_message": torch_message})


def packing_lengths_batch(*, got: int, batch: int, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-lengths-batch", f"{got} lengths for a batch of {batch}",
        f"pack_padded_sequence needs one length per sequence: the batch holds {batch} "
        f"sequences but lengths has {got} entries. Either lengths belongs to another batch, "
        "or the batch dimension is not where pack_padded_sequence looks: with "
        "batch_first=False it reads dimension 1 as the batch, with batch_first=True "
        "dimension 0.",
        "# x: (batch, seq_len, features) -> batch_first=True\n"
        "packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)\n"
        "assert len(lengths) == x.size(0)",
        {"got": got, "batch": batch, "torch_message": torch_message})


def packing_lengths_device(*, rank: int | None = None, device: str | None = None,
                           dtype: str | None = None,
                           torch_message: str | None = None) -> Diagnosis:
    problems = []
    if device and not device.startswith("cpu"):
        problems.append(f"it is on {device}")
    if rank is not None and rank != 1:
        problems.append(f"it is {rank}-D")
    if dtype and dtype.lower() not in ("long", "int64"):
        problems.append(f"its dtype is {dtype}")
    what = ", ".join(problems) if problems else "it is not a 1-D int64 CPU tensor"
    return _d(
        "packing-lengths-device", f"lengths must be a 1-D int64 CPU tensor ({what})",
        "pack_padded_sequence reads lengths on the host to plan the packing, so lengths "
        f"must be a 1-D CPU tensor of int64 (or a Python list), even when the data is on the "
        f"GPU. Here {what}. Since torch 1.7 a CUDA lengths tensor is refused.",
        "packed = pack_padded_sequence(x, lengths.cpu().long().flatten(), batch_first=True,\n"
        "                              enforce_sorted=False)",
        {"rank": rank, "device": device, "dtype": dtype, "torch_message": torch_message})


def packing_total_length(*, total_length: int, longest: int,
                         torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-total-length",
        f"total_length={total_length} is shorter than the longest sequence ({longest})",
        f"pad_packed_sequence pads back to total_length time steps, but the longest "
        f"sequence in the packed batch has {longest}: it cannot be cut to {total_length}. "
        "total_length is meant to be the padded length of the input (x.size(1) with "
        "batch_first=True), so that DataParallel replicas return equal shapes.",
        f"out, lengths = pad_packed_sequence(packed_out, batch_first=True,\n"
        f"                                   total_length=x.size(1))   # >= {longest}",
        {"total_length": total_length, "longest": longest, "torch_message": torch_message})


def packing_empty(*, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-empty", "an empty list of sequences",
        "pack_sequence and pad_sequence need at least one sequence; the list is empty. This "
        "usually means an empty batch: a filter removed every sample, or the last batch of "
        "a sampler is empty.",
        "if not sequences:\n    continue   # skip the empty batch\n"
        "packed = pack_sequence(sequences, enforce_sorted=False)",
        {"torch_message": torch_message})


def packing_not_a_list(*, got: str | None = None, torch_message: str | None = None) -> Diagnosis:
    """pad_sequence given something that is not a list of tensors (``got``: the type torch named)."""
    given = f"a {got}" if got else "something that is not a list"
    return _d(
        "packing-not-a-list", f"pad_sequence takes a list of tensors, not {given}",
        f"pad_sequence pads a list (or tuple) of tensors shaped (length_i, *features) into one "
        f"tensor (longest, batch, *features); it was given {given}. Usually the list of "
        "sequences was never built (a length or None passed instead), or a batch that is "
        "already one padded tensor needs no pad_sequence at all.",
        "padded = pad_sequence([torch.as_tensor(s) for s in sequences], batch_first=True)",
        {"got": got, "torch_message": torch_message})


def packed_as_tensor(*, where: str = "", torch_message: str | None = None) -> Diagnosis:
    at = f" ({where})" if where else ""
    return _d(
        "packed-as-tensor", f"a PackedSequence used as a tensor{at}",
        "A recurrent layer fed a PackedSequence returns its output packed too. A "
        "PackedSequence has no .size(), .view() or .shape and cannot go into nn.Linear or "
        "other layers: unpack it first with pad_packed_sequence (or use h_n, which is "
        "always a plain tensor).",
        "packed_out, (h_n, c_n) = lstm(packed)\n"
        "out, lengths = pad_packed_sequence(packed_out, batch_first=True)\n"
        "logits = fc(out)            # or fc(h_n[-1]) for one vector per sequence",
        {"where": where, "torch_message": torch_message})


def packing_batch_sizes(*, detail: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "packing-batch-sizes", f"invalid PackedSequence batch_sizes: {detail}",
        "batch_sizes is the number of sequences still running at each time step. It must "
        "stay on the CPU and be built by pack_padded_sequence or pack_sequence, never by "
        "hand; moving a PackedSequence to the GPU moves its data only. " + detail[:1].upper()
        + detail[1:] + ".",
        "packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
        "# never PackedSequence(data, batch_sizes) by hand",
        {"detail": detail, "torch_message": torch_message})


# --------------------------------------------------------------------------- packing (inspect)


def packing_lengths_too_long(*, longest: int, seq_len: int) -> Diagnosis:
    return _d(
        "packing-lengths-too-long", f"a length of {longest} in a sequence of {seq_len} steps",
        f"The longest entry of lengths is {longest}, but the padded input has only {seq_len} "
        "time steps. torch does not check this: pack_padded_sequence reads past the end of "
        "the input and builds a PackedSequence whose batch_sizes do not match its data "
        "(garbage, or a crash). Usually lengths were counted before truncation, or count "
        "tokens the tensor does not hold (e.g. <bos>/<eos>).",
        f"lengths = lengths.clamp(max={seq_len})   # or recompute lengths after truncating",
        {"longest": longest, "seq_len": seq_len, "torch_message": None})


def dtype_unsupported(*, dtype: str, device: str, torch_message: str | None = None) -> Diagnosis:
    return _d(
        "dtype-unsupported", f"{dtype} recurrent layers do not run on {device} here",
        f"The shapes are fine, but this torch build has no {dtype} kernel for this layer on "
        f"{device}. Half precision is mostly a GPU feature: run in float32 on {device}, or "
        f"use a device that supports {dtype} (usually cuda).",
        f"model = model.float(); x = x.float()   # or: rnnshape inspect ... --dtype float32\n"
        f"# or on a GPU: model.to('cuda', dtype=torch.{dtype})",
        {"dtype": dtype, "device": device, "torch_message": torch_message})
