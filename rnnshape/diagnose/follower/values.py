"""The abstract values the follower computes with, its findings, and the caps on what it builds.

Every value a snippet makes is one of these: a size (:class:`Int`, a symbolic polynomial), a
tensor with symbolic dims, a layer, a tuple, a user class or instance, a data loader, or
:class:`Unknown` (with the reason and the ``--shape`` hint that would let following go on).
"""

from __future__ import annotations

import ast
import operator
import re
from collections import ChainMap
from dataclasses import field, fields, replace
from functools import cache
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.lazyre import LazyPattern
from rnnshape.model.symbolic import ONE, Sym
from rnnshape.model.vocab import (
    ELEMENTWISE_KINDS,
    LOSS_KINDS,
    FindingSource,
    LayerKind,
    Mode,
    RecurrentKind,
    TensorRole,
    TupKind,
    TupRole,
)
from rnnshape.records import dataclass_repr, record

#: The recurrent layers and cells, to their mode in the shape model.
RECURRENT: dict[RecurrentKind, str] = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru", "RNNCell": "rnn-cell",
                                       "LSTMCell": "lstm-cell", "GRUCell": "gru-cell"}
#: Modules whose output has their input's shape (the vocabulary lives in rnnshape.model.vocab).
ELEMENTWISE = ELEMENTWISE_KINDS
#: A recurrent layer's on/off arguments.
FLAGS = frozenset({"bias", "batch_first", "bidirectional"})
LOSSES = LOSS_KINDS
DTYPES = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
          "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
          "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
          "int8": "int8", "uint8": "uint8", "bool": "bool", "complex64": "complex64", "cfloat": "complex64",
          "complex128": "complex128", "cdouble": "complex128"}
#: Names that say an axis is the batch, or time: provenance the code gives, never a guess from the numbers
#: (compiled on first use: importing the follower compiles no pattern).
BATCH_NAME = LazyPattern(r"^(b|bs|n|batch|batch_?size|n_?batch|num_?batch|bsz|mini_?batch)$|batch", re.IGNORECASE)
TIME_NAME = LazyPattern(r"^(t|seq|seq_?len(gth)?|max_?len(gth)?|time_?steps?|n_?steps|num_?steps|window|"
                       r"sequence_?length|max_?seq_?len(gth)?|timesteps|steps)$", re.IGNORECASE)
#: An attribute named like a recurrent layer (``self.rnn``, ``self.encoder_lstm``, ``self.gru2``), not a cell.
RECURRENT_ATTR = LazyPattern(r"(?:\w*_)?(?:bi_?)?(?:rnn|lstm|gru)\d*(?:_(?!cell)\w*)?", re.IGNORECASE)
CLASS_NAME = LazyPattern(r"class|label|categor|sentiment|n_out\b|num_out", re.IGNORECASE)


#: Python builtins the follower knows.
BUILTINS = frozenset({"range", "len", "print", "int", "float", "min", "max", "enumerate", "zip", "list", "tuple",
                      "sum", "abs", "round", "isinstance", "super", "str", "bool", "sorted", "reversed", "iter",
                      "next", "type", "dict", "getattr", "hasattr", "id", "map"})
#: torch's names a paste uses without their import (its first lines cut off): where they live.
UNIMPORTED = {**{n: "torch.nn.utils.rnn." + n for n in ("pack_padded_sequence", "pad_packed_sequence",
                                                         "pack_sequence", "pad_sequence")},
              **{n: "torch.utils.data." + n for n in ("DataLoader", "TensorDataset")}}
#: Old autograd wrappers that return the tensor they wrap (``Variable(x, volatile=True)``).
IDENTITIES = frozenset({"Variable"})
#: Helpers of old code that wrap a tensor in a Variable or move it (``utils.to_var``): when the paste does not
#: define them, followed as the tensor they are given (with a note).
WRAPPER_HELPERS = frozenset({"to_var", "to_variable", "to_cuda", "to_device", "var"})
#: A model's methods that change no shape we follow (``model.eval()``, ``model.zero_grad()``).
MODEL_METHODS = frozenset({"eval", "train", "double", "float", "half", "zero_grad", "parameters",
                           "named_parameters", "state_dict", "load_state_dict", "apply", "__init__",
                           "flatten_parameters", "register_buffer", "add_module"})
MODEL_NO_SHAPE = frozenset({"to", "cuda", "eval", "train", "__init__", "zero_grad", "register_buffer",
                            "add_module", "flatten_parameters", "load_state_dict", "apply"})
#: Methods of a layer that return the layer itself.
LAYER_SELF = frozenset({"to", "cuda", "cpu", "eval", "train", "double", "float", "half", "flatten_parameters"})
#: Attributes and methods only a tensor has: on an output tuple or a PackedSequence, the classic mistakes.
TENSOR_ATTRS = frozenset({"shape", "size", "view", "reshape", "dim", "detach", "to", "contiguous", "squeeze",
                          "unsqueeze", "permute", "transpose", "float", "cuda", "cpu", "numel", "flatten"})
#: Methods that leave an unpinned forward argument unpinned (same shape).
FREE_IDENTITIES = frozenset({"to", "cuda", "cpu", "float", "double", "contiguous", "detach", "clone",
                             "requires_grad_", "long"})
COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
           "ge": operator.ge}
TOO_DEEP = "calls nested too deeply to follow"

#: A scope: its own names in front of the enclosing (module) scope's, never a copy of them.
Env = ChainMap

#: Caps on what the follower builds (issue 15): past them a value is Unknown, never allocated.
MAX_ITEMS = 10_000          # items of a tuple or list
MAX_INT_BITS = 64           # a size beyond 2**64 is no tensor size
MAX_RANGE = 2**62           # range(10**30) is not iterated
UNROLL = 16                 # a loop over at most this many different layers is followed item by item
MAX_TERMS = 64              # terms of a symbolic size (thirty `n = n * n` lines)
MAX_DEGREE = 8              # degree of a symbolic size


def capped(s: Sym) -> bool:
    """True when a size is past what any tensor could have (or too big to reason about)."""
    if len(s.terms) > MAX_TERMS:
        return True
    for mono, coeff in s.terms:
        if len(mono) > MAX_DEGREE or abs(coeff).bit_length() > MAX_INT_BITS:
            return True
    return False

# --------------------------------------------------------------------------- abstract values


class Value:
    """Base of the abstract values."""

    def __repr__(self) -> str:
        return dataclass_repr(self)


#: The abstract values' classes: identity equality, and :class:`Value`'s ``__repr__``.
value_class = record(eq=False, repr=False)


@value_class
class Unknown(Value):
    """A value the follower cannot know: why, and the ``--shape`` hint that would let it go on."""

    reason: str
    hint: str | None = None


@value_class
class UnknownItem(Unknown):
    """What a loop over a value rnnshape does not model binds: any size, 0 included, so never a symbol."""


@value_class
class Const(Value):
    """A Python constant (a number, a string, None, a dtype or device)."""

    value: Any


@record(frozen=True)
class DType:
    """A torch dtype, by its name."""

    name: str


@record(frozen=True)
class Device:
    """A torch device, by its name."""

    name: str


@value_class
class Int(Value):
    """A size: a symbolic polynomial, with the name it came from."""

    sym: Sym
    label: str | None = None


@value_class
class Tensor(Value):
    """A tensor: its symbolic dims, dtype and device, and where and how it was made."""

    dims: tuple[Sym, ...]
    labels: tuple[str | None, ...] = ()
    dtype: str = "float32"
    device: str | None = None
    origin: str | None = None          # the expression that made it, for messages
    line: int | None = None            # where it was made
    node: ast.AST | None = None        # the creation call, to rewrite it
    role: TensorRole | None = None     # "output", "h_n", "c_n", "logits-per-step", "output-directions"
    layer: RecurrentLayer | None = None
    largest: Sym | None = None         # integer data: the largest value, when known
    values: tuple[int, ...] | None = None  # a small 1-D literal's values (lengths for packing)

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.dims):
            self.labels = tuple(self.labels[:len(self.dims)]) + (None,) * (len(self.dims) - len(self.labels))

    @property
    def rank(self) -> int:
        return len(self.dims)


@value_class
class Tup(Value):
    """A tuple, list or torch.Size of values (a layer's outputs, an LSTM's state)."""

    items: tuple[Value, ...]
    kind: TupKind = "tuple"           # tuple, list, size, unknown-list
    role: TupRole | None = None       # "outputs" (a layer's (out, state)), "state" (LSTM (h, c))
    layer: RecurrentLayer | None = None
    line: int | None = None
    node: ast.AST | None = None
    count: Sym | None = None          # a list filled in a loop: `count` items like items[0]
    fix: tuple[ast.AST, str] | None = None  # the assignment target that kept it whole, and how to unpack it


@value_class
class ModRef(Value):
    """A name of a module or function outside the snippet (``torch.zeros``, ``nn.LSTM``)."""

    path: str


@value_class
class Layer(Value):
    """An ``nn`` layer the snippet builds."""

    kind: LayerKind
    line: int | None = None
    node: ast.Call | None = None
    name: str | None = None           # the variable or attribute it is stored in
    device: str | None = "cpu"        # None: moved somewhere the snippet does not pin


@value_class
class RecurrentLayer(Layer):
    """An RNN, LSTM or GRU layer, or one of their cells: its constructor's arguments."""

    args: dict[str, Any] = field(default_factory=dict)  # sizes as Sym, flags as Python values
    mode: Mode = "lstm"
    inferred: str | None = None        # not built in the snippet: why it is taken to be a recurrent layer
    choice: tuple[RecurrentKind, ...] = ()  # nn.RNN or nn.GRU, chosen by a condition the snippet leaves open


@record(eq=False)
class LayerChoice(Value):
    """``rnn = nn.RNN`` in one branch, ``rnn = nn.GRU`` in the other: calling it builds a layer whose common
    facts (sizes, layers, directions, a one-tensor state) are known; the kinds stay listed."""

    kinds: tuple[RecurrentKind, ...]


@value_class
class Linear(Layer):
    """An ``nn.Linear``: its in and out features."""

    in_features: Sym = ONE
    out_features: Sym = ONE
    out_label: str | None = None


@value_class
class Embedding(Layer):
    """An ``nn.Embedding``: its number of ids and their dimension."""

    num: Sym = ONE
    dim: Sym = ONE


@value_class
class Sequential(Layer):
    """An ``nn.Sequential`` of the modules it chains."""

    modules: tuple[Value, ...] = ()


@value_class
class Loss(Layer):
    """A loss module (``nn.CrossEntropyLoss``, ...)."""

    pass


@value_class
class Function(Value):
    """A function or method the snippet defines (and the instance it is bound to)."""

    node: ast.FunctionDef
    owner: Instance | None = None
    cls: UserClass | None = None        # the class that defines it (super() starts after it)


@value_class
class UserClass(Value):
    """A class the snippet defines: its methods and bases."""

    node: ast.ClassDef
    methods: dict[str, ast.FunctionDef]
    bases: tuple[Value, ...] = ()
    instances: int = 0
    called: bool = False                # its forward was called somewhere in the snippet
    last: Instance | None = None        # the last instance the snippet made


@value_class
class Instance(Value):
    """An instance of a class of the snippet, with the attributes set on it."""

    cls: UserClass
    attrs: dict[str, Value] = field(default_factory=dict)


@value_class
class Packed(Value):
    """A PackedSequence: the padded tensor it packs, and the lengths when known."""

    padded: Tensor                     # (T, B, *) in sequence-first order
    lengths: tuple[int, ...] | None
    enforce_sorted: bool = True
    line: int | None = None


@value_class
class Parameter(Value):
    """One of a model's parameters (``next(model.parameters())``): its shape is not followed, but
    ``.new(sizes)`` / ``.new_zeros(sizes)`` of it makes a tensor of those sizes (the old ``init_hidden``)."""


@value_class
class Dataset(Value):
    """A ``TensorDataset`` of the tensors it holds."""

    tensors: tuple[Value, ...]


@value_class
class Loader(Value):
    """A ``DataLoader``: its dataset and batch size."""

    dataset: Value
    batch: Int
    drop_last: bool = False
    node: ast.Call | None = None

    def rows_unknown(self) -> bool:
        """Whether the number of rows is not a fact of the snippet (so its last batch may be smaller)."""
        items = self.dataset.tensors if isinstance(self.dataset, Dataset) else ()
        first = items[0] if items else None
        return not self.drop_last and not (isinstance(first, Tensor) and first.rank and first.dims[0].is_const)

    def last_batch(self, sub: Any) -> tuple[int, int, int] | None:
        """(rows, batch_size, rows in the last batch) when the last batch is smaller and not dropped."""
        items = self.dataset.tensors if isinstance(self.dataset, Dataset) else ()
        first = items[0] if items else None
        if self.drop_last or not isinstance(first, Tensor) or not first.rank:
            return None
        rows, size = sub(first.dims[0]).value, sub(self.batch.sym).value
        if rows is None or not size or size <= 0 or rows <= size or rows % size == 0:
            return None
        return rows, size, rows % size


@value_class
class Iter(Value):
    """What iterating yields (one representative element), and how many times when known."""

    element: Value
    empty: bool = False
    count: Sym | None = None


# --------------------------------------------------------------------------- findings


@record(frozen=True)
class Rewrite:
    """A line of the snippet, rewritten as the fix."""

    line: int
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "old": self.old, "new": self.new}


@record
class Finding:
    """A diagnosis at a line of the snippet, with the rewrite of the line that fixes it."""

    line: int | None
    diagnosis: dx.Diagnosis
    rewrite: Rewrite | None = None
    source: FindingSource = "static"   # static, traceback, run
    more: tuple[Rewrite, ...] = ()   # other lines the same fix changes (c_0 built like h_0)

    @property
    def rewrites(self) -> list[Rewrite]:
        return ([self.rewrite] if self.rewrite else []) + list(self.more)

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "source": self.source, **self.diagnosis.to_dict(),
                "rewrite": self.rewrite.to_dict() if self.rewrite else None,
                "rewrites": [r.to_dict() for r in self.rewrites]}


@record
class Shown:
    """One tensor (or layer) a line produced, for the margin."""

    name: str
    text: str
    dtype: str | None = None
    shape: list[str] | None = None
    value: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "shape": self.shape, "dtype": self.dtype}


@record
class FollowResult:
    """What following the snippet found: the shapes per line, the error, warnings and assumptions."""

    shapes: dict[int, list[Shown]] = field(default_factory=dict)
    error: Finding | None = None
    warnings: list[Finding] = field(default_factory=list)
    unknowns: list[Finding] = field(default_factory=list)
    assumptions: list[tuple[int | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    followed: set[int] = field(default_factory=set)
    #: recurrent calls followed with every size they needed, and those that were not (their hints)
    checked: set[tuple[int, int]] = field(default_factory=set)   # (line, the layer's id)
    not_followed: dict[int, str | None] = field(default_factory=dict)


class Stop(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.diagnosis.title)
        self.finding = finding


class Returned(Exception):
    def __init__(self, value: Value) -> None:
        self.value = value


class Halt(Exception):
    """Following cannot go on (an unknown that matters); the reason is already recorded."""


@value_class
class BoundMethod(Value):
    """A method of a value (``x.view``, ``model.init_hidden``), not yet called."""

    obj: Value
    name: str


@value_class
class Super(Value):
    """``super()`` inside a method: the base classes of ``cls`` seen from ``inst``."""

    inst: Instance
    cls: UserClass


@value_class
class Free(Value):
    """A forward() argument the snippet does not pin: a tensor whose rank the first use decides."""

    name: str
    sizes: dict[int, Sym] = field(default_factory=dict)   # x.size(i) read before a layer decided the rank


class NotFollowed(Exception):
    """A rule cannot read its arguments; the call becomes Unknown with this reason."""


def with_origin(t: Tensor, origin: str) -> Tensor:
    """``dataclasses.replace(t, origin=origin)``, for every assignment of a tensor (see :func:`tensor_with`)."""
    return tensor_with(t, origin=origin)


def tensor_with(t: Tensor, **changes: Any) -> Tensor:
    """``dataclasses.replace(t, **changes)`` (fields of Tensor only): the same new tensor (its fields copied,
    ``__post_init__`` run), without ``replace``'s checks of every field on each call of a hot path."""
    names = _init_fields(type(t))
    if names is None:
        return replace(t, **changes)
    new = object.__new__(type(t))
    old = t.__dict__
    if len(old) == len(names):   # exactly its fields (__init__ set them all): copied whole
        new.__dict__.update(old)
    else:                        # and something else set on it, which replace would not copy
        new.__dict__.update({name: old[name] for name in names})
    new.__dict__.update(changes)
    if "dims" in changes or "labels" in changes:   # (the labels fit the dims of the tensor copied)
        new.__post_init__()
    return new


@cache
def _init_fields(cls: type) -> tuple[str, ...] | None:
    """The fields ``replace`` copies, or None when one is not set by ``__init__`` (then only replace is right)."""
    found = fields(cls)
    return tuple(f.name for f in found) if all(f.init for f in found) else None


def keep_role(t: Tensor) -> TensorRole | None:
    return t.role if t.role in ("h_n-slice",) else None


def norm_device(name: str) -> str:
    name = name.strip()
    return "cuda:0" if name == "cuda" else name


def hint_tensor(name: str, dims: list[str], dtype: str = "float32") -> Tensor:
    syms = []
    labels: list[str | None] = []
    for d in dims:
        if re.fullmatch(r"\d+", d):
            syms.append(Sym.const(int(d)))
            labels.append(None)
        else:
            syms.append(Sym.var(d))
            labels.append(d)
    return Tensor(tuple(syms), tuple(labels), dtype, None, origin=f"--shape {name}={','.join(dims)}", line=None)


def layer_picture(layer: Any) -> dict[str, Any] | None:
    """The recurrent layer's configuration, for the picture a warning about its ``h_n`` rows draws.

    Only a layer whose sizes the snippet fixes gets one: a picture never shows a guessed number.
    """
    args = getattr(layer, "args", None)
    if not isinstance(args, dict):
        return None
    sizes = {k: args.get(k, default) for k, default in
             (("input_size", None), ("hidden_size", None), ("num_layers", 1), ("proj_size", 0))}
    sizes = {k: (v.value if isinstance(v, Sym) else v) for k, v in sizes.items()}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in sizes.values()):
        return None
    return {"mode": getattr(layer, "mode", "lstm"), **sizes, "bidirectional": args.get("bidirectional") is True,
            "batch_first": args.get("batch_first") is True}

def shape_hint(example: str) -> str:
    """An example shape as --shape accepts it: a size that is a sum (``-image_latent_size + 14``) becomes a
    name of its own, F for the features (the last), D1, D2... for the others."""
    dims, _, dtype = example.partition(":")
    parts = dims.split(",")
    out = [p if re.fullmatch(r"\d+|[A-Za-z_]\w*|\.\.\.", p) else "F" if i == len(parts) - 1 else f"D{i}"
           for i, p in enumerate(parts)]
    return ",".join(out) + (f":{dtype}" if dtype else "")


def spec_key(mode: str, given: frozenset[str], kw: dict[str, Any]) -> tuple[Any, ...] | None:
    """The arguments of a LayerSpec as a key, each with its type (torch rejects ``hidden_size=20.0``, though
    ``20.0 == 20``) and a float by its text (``-0.0`` is written as given); None when one is unhashable."""
    key = (mode, given, *((k, type(v), repr(v) if type(v) is float else v) for k, v in kw.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key
