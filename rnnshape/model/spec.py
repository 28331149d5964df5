"""The layer: which recurrent module, with which constructor arguments.

A :class:`LayerSpec` is what ``nn.LSTM(10, 20, num_layers=2)`` says, as data. It
is built from CLI flags or parsed (never evaluated) from a pasted constructor,
and it can print itself back as code. :func:`check_config` applies PyTorch's
constructor rules in PyTorch's own order, without importing torch.
"""

from __future__ import annotations

import ast
import numbers
from dataclasses import field, replace
from typing import Any

from rnnshape import diagnoses as dx
from rnnshape.model.vocab import Mode
from rnnshape.records import record

#: CLI mode -> torch class name.
MODES: dict[Mode, str] = {
    "rnn": "RNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "rnn-cell": "RNNCell",
    "lstm-cell": "LSTMCell",
    "gru-cell": "GRUCell",
}
CLASS_TO_MODE: dict[str, Mode] = {v: k for k, v in MODES.items()}

#: The constructor's parameters, in positional order, per class. Mirrors torch:
#: RNN's 4th positional is nonlinearity; LSTM's and GRU's 4th is bias.
POSITIONAL: dict[str, tuple[str, ...]] = {
    "RNN": ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias",
            "batch_first", "dropout", "bidirectional"),
    "LSTM": ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
             "dropout", "bidirectional", "proj_size"),
    "GRU": ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
            "dropout", "bidirectional"),
    "RNNCell": ("input_size", "hidden_size", "bias", "nonlinearity"),
    "LSTMCell": ("input_size", "hidden_size", "bias"),
    "GRUCell": ("input_size", "hidden_size", "bias"),
}
DEFAULTS: dict[str, Any] = {
    "num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
    "bidirectional": False, "proj_size": 0, "nonlinearity": "tanh",
}
#: Accepted by every constructor but irrelevant to shapes.
IGNORED_KWARGS = ("device", "dtype")


class SpecError(ValueError):
    """A constructor string we cannot read (not a torch error: a usage error)."""


@record(frozen=True)
class LayerSpec:
    """One recurrent layer's constructor arguments.

    Values are kept as given (a pasted ``hidden_size=20.0`` stays a float) so that
    :func:`check_config` can reject exactly what torch rejects. ``given`` names the
    arguments the user wrote; torch treats some of them by presence alone (any
    ``proj_size`` passed to GRU is an error, even 0).
    """

    mode: Mode
    input_size: Any
    hidden_size: Any
    num_layers: Any = 1
    bias: Any = True
    batch_first: Any = False
    dropout: Any = 0.0
    bidirectional: Any = False
    proj_size: Any = 0
    nonlinearity: Any = "tanh"
    given: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SpecError(f"unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")

    # ---- derived facts, named as the torch docs name them
    @property
    def class_name(self) -> str:
        return MODES[self.mode]

    @property
    def is_cell(self) -> bool:
        return self.mode.endswith("-cell")

    @property
    def is_lstm(self) -> bool:
        return self.mode in ("lstm", "lstm-cell")

    @property
    def num_directions(self) -> int:
        return 2 if (not self.is_cell and self.bidirectional) else 1

    @property
    def h_out(self) -> int:
        """Size of h: proj_size when projecting, else hidden_size."""
        if self.mode == "lstm" and self.proj_size:
            return self.proj_size
        return self.hidden_size

    @property
    def state_layers(self) -> int:
        return self.num_layers * self.num_directions

    def ctor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this layer in torch (only what applies)."""
        kw: dict[str, Any] = {"input_size": self.input_size, "hidden_size": self.hidden_size}
        for name in POSITIONAL[self.class_name][2:]:
            value = getattr(self, name)
            if name in self.given or value != DEFAULTS[name] or type(value) is not type(DEFAULTS[name]):
                kw[name] = value
        for name in self.given - set(POSITIONAL[self.class_name]) - {"input_size", "hidden_size"}:
            kw[name] = getattr(self, name, None)
        return kw

    def to_code(self, prefix: str = "nn.") -> str:
        """The constructor as a user would write it: ``nn.LSTM(10, 20, num_layers=2)``."""
        kw = self.ctor_kwargs()
        args = [repr(kw.pop("input_size")), repr(kw.pop("hidden_size"))]
        args += [f"{k}={v!r}" for k, v in kw.items()]
        return f"{prefix}{self.class_name}({', '.join(args)})"

    def with_(self, **changes: Any) -> LayerSpec:
        return replace(self, **changes)

    def settings(self) -> dict[str, Any]:
        out = {"mode": self.mode, "class": self.class_name,
               "input_size": self.input_size, "hidden_size": self.hidden_size}
        for name in POSITIONAL[self.class_name][2:]:
            out[name] = getattr(self, name)
        return out


def spec_from_flags(mode: str, input_size: Any, hidden_size: Any, *,
                    given: set[str] | frozenset[str] = frozenset(), **kwargs: Any) -> LayerSpec:
    """Build a spec from CLI values; arguments not in ``given`` keep torch defaults."""
    values = {k: v for k, v in kwargs.items() if v is not None}
    return LayerSpec(mode=mode, input_size=input_size, hidden_size=hidden_size,
                     given=frozenset(given) | {"input_size", "hidden_size"}, **values)


# --------------------------------------------------------------------------- parsing


def strip_comment(text: str) -> str:
    """``nn.GRU(10, 20)  # encoder`` -> ``nn.GRU(10, 20)`` (a ``#`` inside a string stays)."""
    if "#" not in text:  # no comment to strip: skip the tokenizer (most of a check case's reading)
        return text
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    comments = [t for t in tokens if t.type == tokenize.COMMENT]
    if not comments:
        return text
    return text[: comments[0].start[1]].rstrip() if comments[0].start[0] == 1 else text


def looks_like_constructor(text: str) -> bool:
    text = strip_comment(text.strip())
    return "(" in text and text.endswith(")")


def parse_constructor(text: str) -> LayerSpec:
    """Read ``nn.LSTM(10, 20, num_layers=2)`` with :mod:`ast`; nothing is evaluated.

    Accepts ``nn.X``, ``torch.nn.X`` and bare ``X`` for the six recurrent classes,
    literal arguments only (numbers, booleans, strings, ``None``, unary minus).
    Raises :class:`SpecError` for anything else.
    """
    source = strip_comment(text.strip())
    if "=" in source.split("(", 1)[0]:  # "rnn = nn.RNN(...)": keep the right-hand side
        source = source.split("=", 1)[1].strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise SpecError(f"cannot read {text!r} as a constructor call: {exc.msg}") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise SpecError(f"{text!r} is not a constructor call like nn.LSTM(10, 20)")
    name = _dotted_name(call.func)
    cls = name.rsplit(".", 1)[-1] if name else None
    if name is None or cls not in POSITIONAL or not _allowed_prefix(name):
        raise SpecError(
            f"{name or text!r} is not a recurrent layer; use one of "
            + ", ".join(f"nn.{c}" for c in POSITIONAL)
        )
    positional = POSITIONAL[cls]
    values: dict[str, Any] = {}
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise SpecError("*args and **kwargs cannot be read without running code; write the values out")
    if len(call.args) > len(positional):
        raise SpecError(f"{cls} takes at most {len(positional)} positional arguments, got {len(call.args)}")
    for pname, node in zip(positional, call.args, strict=False):
        values[pname] = _literal(node, pname)
    for kw in call.keywords:
        if kw.arg in values:
            raise SpecError(f"{cls}() got multiple values for argument {kw.arg!r}")
        if kw.arg in IGNORED_KWARGS:  # device=dev, dtype=torch.float64: not shape settings
            continue
        values[kw.arg] = _literal(kw.value, kw.arg)
    unknown = sorted(set(values) - set(positional) - {"input_size", "hidden_size", "proj_size"})
    if cls != "RNN" and "nonlinearity" in values and "nonlinearity" not in positional:
        unknown = sorted(set(unknown) | {"nonlinearity"})
    if unknown:
        raise SpecError(f"{cls}() got an unexpected keyword argument {unknown[0]!r}")
    if "proj_size" in values and cls not in ("LSTM", "RNN", "GRU"):
        raise SpecError(f"{cls}() got an unexpected keyword argument 'proj_size'")
    for required in ("input_size", "hidden_size"):
        if required not in values:
            raise SpecError(f"{cls}() is missing the required argument {required!r}")
    mode = CLASS_TO_MODE[cls]
    return LayerSpec(mode=mode, given=frozenset(values), **values)


def _dotted_name(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _allowed_prefix(name: str) -> bool:
    return name.rsplit(".", 1)[0] in (name.rsplit(".", 1)[-1], "nn", "torch.nn") or "." not in name


def _literal(node: ast.AST, name: str | None) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise SpecError(
            f"argument {name!r} is not a literal value ({ast.unparse(node)}); "
            "rnnshape reads constructors without running code, so write the number itself"
        ) from None


# --------------------------------------------------------------------------- constructor rules


def check_config(spec: LayerSpec) -> tuple[dx.Diagnosis | None, list[dx.Diagnosis]]:
    """PyTorch's constructor checks, in PyTorch's order.

    Returns the first error torch would raise (or ``None``) and the warnings it
    would emit. Each error carries torch's own message in ``evidence``.
    """
    # the same spec object is checked when its layer is built and at each call (diagnose keeps one per layer):
    # the answer is remembered by identity (the spec is frozen, and kept alive here so its id is not reused)
    known = _CHECKED.get(id(spec))
    if known is not None and known[0] is spec:
        return known[1], list(known[2])
    if spec.is_cell:
        error, warnings = _check_cell_config(spec), []
    else:
        error, warnings = _check_sequence_config(spec)
    if len(_CHECKED) >= _MAX_CHECKED:
        _CHECKED.clear()
    _CHECKED[id(spec)] = (spec, error, tuple(warnings))
    return error, warnings


_CHECKED: dict[int, tuple[LayerSpec, dx.Diagnosis | None, tuple[dx.Diagnosis, ...]]] = {}
_MAX_CHECKED = 256


def _bad(spec: LayerSpec, message: str, fix: str = "", *, exact: bool = True) -> dx.Diagnosis:
    """``exact``: ``message`` is torch's own wording (tests compare it to the letter)."""
    return dx.invalid_config(message=message, fix=fix, layer=f"nn.{spec.class_name}",
                             torch_message=message if exact else None)


def _check_sequence_config(spec: LayerSpec) -> tuple[dx.Diagnosis | None, list[dx.Diagnosis]]:
    warnings: list[dx.Diagnosis] = []
    cls = spec.class_name
    if cls in ("RNN", "GRU") and "proj_size" in spec.given:
        return _bad(spec, "proj_size argument is only supported for LSTM, not RNN or GRU",
                    f"nn.LSTM({spec.input_size}, {spec.hidden_size}, proj_size=...)   "
                    "# projections exist only on LSTM"), warnings
    if cls == "RNN" and spec.nonlinearity not in ("tanh", "relu"):
        return _bad(spec, f"Unknown nonlinearity '{spec.nonlinearity}'. Select from 'tanh' or 'relu'.",
                    spec.with_(nonlinearity="tanh").to_code()), warnings
    d = spec.dropout
    float_error = _float_error(d)  # RNNBase stores float(dropout) before validating it
    if float_error:
        return _bad(spec, float_error, spec.with_(dropout=0.2).to_code()), warnings
    if not _is_number(d) or isinstance(d, bool) or not 0 <= d <= 1:
        return _bad(spec, "dropout should be a number in range [0, 1] representing the "
                    "probability of an element being zeroed",
                    spec.with_(dropout=0.2).to_code()), warnings
    if d > 0 and _num_layers_is(spec, 1):
        message = ("dropout option adds dropout after all but last recurrent layer, so non-zero "
                   f"dropout expects num_layers greater than 1, but got dropout={d} and "
                   f"num_layers={spec.num_layers}")
        warnings.append(dx.dropout_single_layer(
            dropout=d, rebuilt_code=spec.with_(dropout=0.0, given=spec.given - {"dropout"}).to_code(),
            torch_message=message))
    for flag in ("bias", "batch_first"):
        value = getattr(spec, flag)
        if not isinstance(value, bool):
            return _bad(spec, f"{flag} should be of type bool, got: {type(value).__name__}",
                        spec.with_(**{flag: bool(value)}).to_code()), warnings
    for size in ("input_size", "hidden_size"):
        value = getattr(spec, size)
        if not isinstance(value, int):
            return _bad(spec, f"{size} should be of type int, got: {type(value).__name__}"), warnings
        if value <= 0:
            return _bad(spec, f"{size} must be greater than zero"), warnings
    nl = spec.num_layers
    if not isinstance(nl, (int, float)) or isinstance(nl, complex):
        return _bad(spec, f"'<=' not supported between instances of '{type(nl).__name__}' and 'int'"), warnings
    if nl <= 0:
        return _bad(spec, "num_layers must be greater than zero"), warnings
    p = spec.proj_size
    if not isinstance(p, (int, float)):
        return _bad(spec, f"'<' not supported between instances of '{type(p).__name__}' and 'int'"), warnings
    if p < 0:
        return _bad(spec, "proj_size should be a positive integer or zero to disable projections"), warnings
    if p >= spec.hidden_size:
        return _bad(spec, "proj_size has to be smaller than hidden_size",
                    spec.with_(proj_size=spec.hidden_size // 2).to_code()), warnings
    if not isinstance(nl, int):
        return _bad(spec, f"'{type(nl).__name__}' object cannot be interpreted as an integer",
                    spec.with_(num_layers=int(nl)).to_code()), warnings
    if not isinstance(p, int) and p > 0:
        return _bad(spec, "proj_size must be an int", exact=False), warnings
    bools = [n for n in ("input_size", "hidden_size") if isinstance(getattr(spec, n), bool)]
    if spec.mode == "lstm" and p is True:
        bools.append("proj_size")
    if isinstance(nl, bool):  # builds, then the forward's C++ signature refuses it
        bools.append("num_layers")
    if bools:  # bool passes isinstance(int) but torch.empty() refuses it as a size
        return _bad(spec, f"{bools[0]} must be an int, not a bool", exact=False), warnings
    # torch builds the module but its forward rejects a non-bool bidirectional
    # (the C++ signature wants a bool); report it where the mistake is written.
    if not isinstance(spec.bidirectional, bool):
        return _bad(spec, f"bidirectional must be True or False, got {spec.bidirectional!r}",
                    spec.with_(bidirectional=bool(spec.bidirectional)).to_code(), exact=False), warnings
    return None, warnings


def _is_number(value: Any) -> bool:
    """``isinstance(value, numbers.Number)``, plain ints and floats first (the ABC's check runs in Python)."""
    return type(value) in (int, float) or isinstance(value, numbers.Number)


def _float_error(value: Any) -> str | None:
    if type(value) in (int, float, bool):   # the common case, without the numbers ABC's slow isinstance
        return None
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return f"could not convert string to float: {value!r}"
        return None
    if value is None or not isinstance(value, (numbers.Real, bool)):
        return f"float() argument must be a string or a real number, not '{type(value).__name__}'"
    return None


def _num_layers_is(spec: LayerSpec, n: int) -> bool:
    return isinstance(spec.num_layers, (int, float)) and spec.num_layers == n


def _check_cell_config(spec: LayerSpec) -> dx.Diagnosis | None:
    # Cells validate nothing themselves: torch.empty() rejects what cannot be a size.
    for size in ("input_size", "hidden_size"):
        value = getattr(spec, size)
        if not isinstance(value, int) or isinstance(value, bool):
            return _bad(spec, f"{size} must be an int, got {type(value).__name__}", exact=False)
    for size in ("hidden_size", "input_size"):
        value = getattr(spec, size)
        if value < 0:
            return _bad(spec, f"{size} cannot be negative (torch: \"Trying to create tensor with "
                        f"negative dimension\"), got {value}", exact=False)
    return None


def cell_nonlinearity_error(spec: LayerSpec) -> dx.Diagnosis | None:
    """RNNCell accepts any nonlinearity when built; its forward refuses it after the rank checks."""
    if spec.mode == "rnn-cell" and spec.nonlinearity not in ("tanh", "relu"):
        return _bad(spec, f"Unknown nonlinearity: {spec.nonlinearity}",
                    spec.with_(nonlinearity="tanh").to_code())
    return None
