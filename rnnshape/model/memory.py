"""Sizes of a call: its parameters, its memory estimate, and the size limits rnnshape models.

Split from :mod:`rnnshape.model.shapes`; pure Python, never imports torch. The runner
refuses a run whose estimate cannot fit, and every size is checked against the limits
before any work whose cost grows with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnshape.model.spec import LayerSpec
from rnnshape.model.vocab import DTYPE_BYTES, GATES

if TYPE_CHECKING:
    from rnnshape.model.shapes import Prediction, Request


# --------------------------------------------------------------------------- parameters, memory

def parameter_shapes(spec: LayerSpec) -> list[tuple[str, tuple[int, ...]]]:
    """Parameter names and shapes, in ``named_parameters()`` order."""
    g = GATES[spec.mode] * spec.hidden_size
    if spec.is_cell:
        params = [("weight_ih", (g, spec.input_size)), ("weight_hh", (g, spec.hidden_size))]
        if spec.bias:
            params += [("bias_ih", (g,)), ("bias_hh", (g,))]
        return params
    params = []
    real_h = spec.h_out
    for layer in range(spec.num_layers):
        for direction in range(spec.num_directions):
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            in_size = spec.input_size if layer == 0 else real_h * spec.num_directions
            params += [(f"weight_ih{sfx}", (g, in_size)), (f"weight_hh{sfx}", (g, real_h))]
            if spec.bias:
                params += [(f"bias_ih{sfx}", (g,)), (f"bias_hh{sfx}", (g,))]
            if spec.mode == "lstm" and spec.proj_size:
                params.append((f"weight_hr{sfx}", (spec.proj_size, spec.hidden_size)))
    return params


def numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


#: torch computes a storage's size in bytes as a signed 64-bit integer.
MAX_TENSOR_BYTES = 2**63 - 1


def largest_tensor_bytes(req: Request, pred: Prediction) -> tuple[str, int]:
    """The biggest single tensor of the call (parameter, input, state or output), in bytes."""
    item = DTYPE_BYTES.get(req.dtype, 4)
    sizes = [(name, numel(shape) * item) for name, shape in parameter_shapes(req.spec)]
    sizes += [(name, numel(t.shape) * DTYPE_BYTES.get(t.dtype, 4)) for name, t in pred.tensors.items()]
    return max(sizes, key=lambda pair: pair[1], default=("", 0))


def estimate_bytes(req: Request, pred: Prediction) -> int:
    """A forward's memory: parameters, every tensor in and out, and the kernel's work space.

    Meant to refuse runs that cannot fit; measured against real CPU runs (peak
    resident memory) it stays within 1.5x for cells and layers (tests/test_hostile_memory.py).
    """
    spec = req.spec
    item = DTYPE_BYTES.get(req.dtype, 4)
    total = sum(numel(s) for _, s in parameter_shapes(spec)) * item
    total += sum(numel(t.shape) * DTYPE_BYTES.get(t.dtype, 4) for t in pred.tensors.values())
    return total + workspace_bytes(req) * item


def workspace_bytes(req: Request) -> int:
    """The kernel's temporaries, in elements, as torch's CPU kernels allocate them.

    A cell computes both gate products (batch x gates*hidden each) and, given no state,
    builds zero states first. A layer keeps work space proportional to one layer's
    steps x batch x hidden per direction: oneDNN's LSTM about twice that (more in a
    bidirectional stack); RNN and GRU
    precompute every step's input gates and gather the steps' outputs before stacking
    them, and a stack also holds the previous layer's output.
    """
    spec, x = req.spec, req.input.shape
    gates = GATES[spec.mode.removesuffix("-cell")]
    if spec.is_cell:
        state = (x[0] if len(x) == 2 else 1) * spec.hidden_size
        zero_states = 0 if req.hidden is not None else (2 if spec.is_lstm else 1) * state
        return zero_states + 2 * gates * state
    if len(x) not in (2, 3):
        return 0
    per_layer = numel(x[:-1]) * spec.hidden_size * spec.num_directions
    if spec.mode == "lstm":  # and a stack keeps the layers' outputs per direction and joined
        return 2 * per_layer + (spec.num_directions * per_layer if spec.num_layers > 1 else 0)
    return (gates + 1) * per_layer + (per_layer if spec.num_layers > 1 else 0)


# --------------------------------------------------------------------------- size limits

#: torch holds sizes as signed 64-bit integers: nothing larger can exist, on any device.
MAX_SIZE = 2**63 - 1
#: Stacked layers the model lists (torch builds them one by one: hours for millions).
MAX_LAYERS = 100_000
#: Steps of the longest packed sequence: batch_sizes lists one entry per step.
MAX_PACKED_STEPS = 1_000_000


def size_limit_problem(req: Request) -> str | None:
    """Why these sizes are beyond what rnnshape models (and torch could run), or None.

    Checked before any work whose cost grows with a size (parameter lists grow with
    the layers, batch_sizes with the longest length), so that one absurd number is a
    clear refusal, never a hang. Messages never print a huge number in full.
    """
    spec = req.spec
    for name in ("input_size", "hidden_size", "num_layers", "proj_size"):
        value = getattr(spec, name, None)
        if isinstance(value, int) and value > MAX_SIZE:
            return f"{name} {_short(value)} is larger than any size torch can hold (2^63 - 1)."
    for arg in (req.input, req.hidden, req.cell):
        if arg is not None and any(isinstance(s, int) and s > MAX_SIZE for s in arg.shape):
            return f"{arg.origin or 'a tensor'} has a size larger than any torch can hold (2^63 - 1)."
    if not spec.is_cell and isinstance(spec.num_layers, int) and spec.num_layers > MAX_LAYERS:
        return (f"num_layers {_short(spec.num_layers)} is more stacked layers than rnnshape models "
                f"({MAX_LAYERS:,}); torch would build them one by one, for hours.")
    longest = max(req.lengths or (0,))
    if req.packed and longest > MAX_PACKED_STEPS:
        return (f"the longest of the lengths, {_short(longest)}, is more steps than rnnshape packs "
                f"({MAX_PACKED_STEPS:,}): batch_sizes would list every step.")
    return None


def _short(n: int) -> str:
    """A number for a message: digits when short, its order of magnitude when huge."""
    return f"{n:,}" if n.bit_length() <= 64 else f"about 2^{n.bit_length() - 1}"
