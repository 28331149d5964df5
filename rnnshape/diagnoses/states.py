"""Builders for wrong states as torch's own messages report them (``explain``).

torch names the state, its rank or its shape, never the layout of the input; the catalog
reads the rest from the paste (constructor lines, printed shapes) and passes it here as
:class:`PasteLayout`, so that the fix keeps batch as batch whatever ``batch_first`` is.
"""

from __future__ import annotations

from rnnshape.diagnoses import classify_state_mismatch, fmt_shape, hidden_rank, hidden_shape_mismatch
from rnnshape.diagnoses.fixes import Fix, FixKind, code_fix
from rnnshape.diagnoses.record import Diagnosis, _reworded
from rnnshape.records import record


@record(frozen=True)
class PasteLayout:
    """What the paste says about the layer and its input, for the fix of a state's batch."""

    layer: str | None = None          # "LSTM", "GRU", ... named by the traceback
    attr: str = "rnn"                 # the user's name for the layer (``self.rnn``)
    batch_first: bool | None = None   # as the paste's constructors say (None: unknown)
    shapes_printed: bool = False      # the paste prints tensor shapes
    input_batch_first: bool = False   # the likeliest cause: the input is batch-first, the layer is not


def state_rank(*, name: str, got_rank: int, expected_rank: int, layer: str,
               torch_message: str | None = None) -> Diagnosis:
    """"For batched 3-D input, hx should also be 3-D but got 4-D": a 4-D state has an axis
    too many (an unsqueeze or a stack of states), so the fix drops it rather than adding one."""
    d = hidden_rank(name=name, got_rank=got_rank, expected_rank=expected_rank,
                    input_rank=3 if expected_rank == 3 else 2, layer=layer, torch_message=torch_message)
    if got_rank > expected_rank == 3:
        return _reworded(d, fix=code_fix(
            f"{name} = {name}.squeeze(0)   # drop the extra axis (check {name}.shape: "
            "the axis of size 1 that is not num_layers x num_directions)"))
    return d


def state_size_rank(*, name: str, expected: tuple[int, ...], got: tuple[int, ...], layer: str,
                    torch_message: str | None = None) -> Diagnosis:
    """"Expected hidden size (2, 3, 20), got [2, 1, 3, 20]": a wrong rank reported as a size."""
    d = hidden_rank(name=name, got_rank=len(got), expected_rank=len(expected), layer=layer,
                    expected_shape=expected, torch_message=torch_message)
    if len(got) <= len(expected):
        return d
    axis = next((i for i in range(len(got)) if got[i] == 1 and got[:i] + got[i + 1:] == expected), None)
    code = f"{name} = {name}.squeeze({axis if axis is not None else 0})   # drop the extra axis: {fmt_shape(expected)}"
    return _reworded(d, fix=Fix(FixKind.SQUEEZE, code, name, axis) if axis is not None else code_fix(code))


def state_code(expected: tuple[int, ...], got: tuple[int, ...], *, is_cell_state: bool) -> str:
    """The code :func:`state_size_mismatch` will give, for ranking causes before building it."""
    return classify_state_mismatch(expected, got, is_cell_state=is_cell_state)[0]


def state_size_mismatch(*, name: str, expected: tuple[int, ...], got: tuple[int, ...], is_cell_state: bool,
                        paste: PasteLayout, input_dims: tuple[int, ...] | None = None,
                        batch_first: bool | None = None, torch_message: str | None = None) -> Diagnosis:
    """"Expected hidden size (1, 32, 256), got [1, 64, 256]"; a wrong batch: the fix the paste's layout calls for."""
    d = hidden_shape_mismatch(name=name, expected=expected, got=got, is_cell_state=is_cell_state,
                              torch_message=torch_message, input_dims=input_dims, batch_first=batch_first)
    if d.code != "hidden-batch-mismatch":
        return d
    return _reworded(d, fix=code_fix(_batch_fix(name, expected, got, paste)))


def _batch_fix(name: str, e: tuple[int, ...], g: tuple[int, ...], paste: PasteLayout) -> str:
    """Keep batch as batch: the state is sized from x's batch axis, which depends on batch_first;
    when the input reads as batch-first, the fix is the layer's layout, not the state."""
    tail = f"{name} = torch.zeros({e[0]}, batch, {e[2]}, dtype=x.dtype, device=x.device)"
    layer = f"nn.{paste.layer}" if paste.layer in ("LSTM", "GRU", "RNN") else "nn.LSTM"
    if paste.batch_first is True:
        return f"batch = x.size(0)   # batch_first=True: x is (batch, seq_len, features)\n{tail}"
    if paste.input_batch_first and (g[1] > e[1] or paste.shapes_printed):
        return (f"# x is (batch {g[1]}, seq_len {e[1]}, features): build the layer batch-first\n"
                f"{paste.attr} = {layer}(input_size, hidden_size, batch_first=True)")
    if paste.input_batch_first:
        return ("# print(x.shape) decides. If x is (batch, seq_len, features): build the layer\n"
                f"{paste.attr} = {layer}(input_size, hidden_size, batch_first=True)\n"
                "# If x is (seq_len, batch, features): size the state from x's batch (dimension 1)\n"
                f"{name} = torch.zeros({e[0]}, x.size(1), {e[2]}, dtype=x.dtype, device=x.device)")
    if paste.batch_first is False:
        return f"batch = x.size(1)   # batch_first=False: x is (seq_len, batch, features)\n{tail}"
    return ("# the batch axis of x: 0 with batch_first=True, 1 without (the default)\n"
            f"batch = x.size(0) if {paste.attr}.batch_first else x.size(1)\n{tail}")
