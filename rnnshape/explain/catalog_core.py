"""The catalog's building blocks: the :class:`Context` a traceback gives, the :class:`Entry`
record, and the helpers every topic module of the catalog builds its entries with.

No torch import here: the catalog must load in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field, replace

from rnnshape import diagnoses as dx
from rnnshape.lazyre import LazyPattern, lazy
from rnnshape.records import record


@record(frozen=True)
class Context:
    """What the traceback around a message says (all optional: a bare message has none)."""

    layer: str | None = None          # "LSTM", "GRUCell", ... named by the frames or the message
    user_line: str | None = None      # the user's own line, e.g. "out, h = self.lstm(x, h0)"
    where: str | None = None          # "train.py:42"
    failing_line: str | None = None   # torch's own line that raised, e.g. "if hx.dim() != 3:"
    frames_text: str = ""             # the frames of this traceback, for context-gated entries
    built: tuple[str, ...] = ()       # layer types the paste constructs (nn.LSTM(...) in pasted code)
    ctor_text: str = ""               # the paste's constructor lines, e.g. "nn.GRU(8, 16, num_layers=2)"
    batch_first: bool | None = None   # batch_first=... as the paste's constructors say (None: unknown)
    shapes: tuple[tuple[int, ...], ...] = ()   # tensor shapes printed in the paste (torch.Size([...]))
    code_text: str = ""               # the paste's own code lines about a state or a layer (a training loop)


NO_CONTEXT = Context()

Builder = Callable[["re.Match[str]", str, Context], dx.Diagnosis]


@record(frozen=True)
class Entry:
    """One error pattern: what it matches, the code it yields, how to explain it, and why."""

    name: str
    code: str
    pattern: LazyPattern
    build: Builder
    #: Likely causes, most likely first (a builder may replace them via evidence["causes"]).
    causes: tuple[str, ...] = ()
    #: A generic Python message (``'tuple' object has no attribute 'dim'``) is only read as
    #: a recurrent-layer mistake when the traceback around it matches this.
    needs: LazyPattern | None = None
    #: Other codes the builder may return, depending on the numbers or the context.
    also: tuple[str, ...] = field(default=())
    #: ``needs`` may also be met by the paste's own code (``Context.code_text``): an autograd
    #: error raised at ``loss.backward()`` has no recurrent frame; the training loop pasted
    #: with it shows the state that ties it to a layer.
    code_ties: bool = False


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in re.findall(r"-?\d+", text))


def _layer(ctx: Context, default: str = "the layer") -> str:
    return f"nn.{ctx.layer}" if ctx.layer else default


def _with_causes(d: dx.Diagnosis, causes: list[str]) -> dx.Diagnosis:
    if not causes:
        return d
    return replace(d, evidence={**d.evidence, "causes": list(causes)})


def _e(name: str, code: str, pattern: str, build: Builder, causes: tuple[str, ...] = (),
       needs: str | None = None, also: tuple[str, ...] = (), code_ties: bool = False) -> Entry:
    return Entry(name, code, lazy(pattern, re.IGNORECASE), build, causes,
                 lazy(needs, re.IGNORECASE) if needs else None, also, code_ties)


#: Frames that show the error came from building or running a recurrent layer.
_RNN_CONTEXT = (r"torch[/\\]nn[/\\]modules[/\\]rnn\.py|\bnn\.(?:RNN|LSTM|GRU)(?:Cell)?\s*\("
                r"|\b(?:RNN|LSTM|GRU)(?:Cell)?\s*\(|RNNBase")

#: What ties a generic Python or ATen message (an unpacking error, an index out of range, a
#: matmul, a device or dtype clash) to a recurrent layer: torch's rnn modules or kernels in
#: the frames, packing, a layer's or a state's name in the user's code.
_RNN_EVIDENCE = (r"lstm|gru|rnn|_VF\.|PackedSequence|pack_padded|pad_packed|pack_sequence|packed"
                 r"|\bh_?[0n]\b|\bc_?[0n]\b|\bhx\b|\bcx\b|\bhidden\b|\bhiddens\b|\bcell_state\b")


def _simple(builder: Callable[..., dx.Diagnosis], causes: tuple[str, ...] = ()) -> Builder:
    def build(m: re.Match[str], msg: str, ctx: Context) -> dx.Diagnosis:
        return _with_causes(builder(torch_message=msg), list(causes))
    return build


class _Merged:
    """One view over the alternative groups of ``matmul-shapes`` (a/a2/a3, ...)."""

    def __init__(self, m: re.Match[str]) -> None:
        self._m = m

    def __getitem__(self, key: str) -> str:
        for k in (key, key + "2", key + "3"):
            v = self._m.group(k)
            if v is not None:
                return v
        raise KeyError(key)

    def group(self, i: int = 0) -> str:
        return self._m.group(i)
