"""The Python API: the results the CLI renders, as typed objects, and an assertion for tests.

    from rnnshape import inspect_layer, explain_error, check_file, trace_model, assert_rnn_shapes

    report = inspect_layer("nn.LSTM(10, 20, batch_first=True)", (3, 5, 10))
    report.ok, report.tensors["output"].shape           # True, (3, 5, 20)

    assert_rnn_shapes(model.lstm, (32, 50, 100), output=(32, 50, 128), h_n=(4, 32, 64))

    explain_error(traceback_text).diagnoses                      # catalog of torch's messages
    check_file("shapes.toml").ok                                # a check file, as `rnnshape check`
    trace_model("model.py:Net", [(8, 20)], input_dtypes=["long"]).root   # the shape-flow tree

A layer is given as an ``nn.Module`` (its settings are read: mode, input_size,
hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size,
nonlinearity; the module itself is never run or moved), a constructor string
(``"nn.GRU(100, 64, num_layers=2)"``) or a :class:`~rnnshape.model.spec.LayerSpec`.
Shapes are checked by the ``fast`` engine by default: real torch on a one-step window of
the sequence, on the cpu for a small layer (milliseconds) and on ``meta`` (no memory; its
first forward in a process costs about a second) for a larger one.
``device="none"`` (or ``dry_run=True``) answers from the shape model without torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnshape import validate
from rnnshape.check import CheckFileError, CheckResult
from rnnshape.diagnoses import Diagnosis
from rnnshape.engine.report import Report
from rnnshape.errors import UsageError
from rnnshape.explain.explainer import Explanation
from rnnshape.model.spec import LayerSpec, SpecError, looks_like_constructor, parse_constructor

__all__ = ["assert_rnn_shapes", "check_file", "explain_error", "inspect_layer", "layer_spec", "trace_model"]

Shape = Sequence[int]


def layer_spec(layer: Any) -> LayerSpec:
    """A :class:`LayerSpec` from an ``nn.Module``, a constructor string or a LayerSpec."""
    if isinstance(layer, LayerSpec):
        return layer
    if isinstance(layer, str):
        if not looks_like_constructor(layer):
            raise ValueError(f"{layer!r} is not a constructor: write it as code, e.g. "
                             "\"nn.LSTM(10, 20, batch_first=True)\"")
        try:
            return parse_constructor(layer)
        except SpecError as exc:
            raise ValueError(str(exc)) from None
    from rnnshape.engine.trace import spec_from_module

    spec = spec_from_module(layer) if hasattr(layer, "named_parameters") else None
    if spec is None:
        raise TypeError(f"{type(layer).__name__} is not a recurrent layer: give an nn.RNN, nn.LSTM, "
                        "nn.GRU or a cell (or a subclass), a constructor string, or a LayerSpec")
    return spec


def _module_dtype(layer: Any) -> str | None:
    if not hasattr(layer, "parameters"):
        return None
    p = next(iter(layer.parameters()), None)
    return None if p is None else str(p.dtype).replace("torch.", "")


def inspect_layer(layer: Any, input_shape: Shape | None = None, *, hidden: Shape | None = None,
            cell: Shape | None = None, lengths: Sequence[int] | None = None,
            enforce_sorted: bool = True, dtype: str | None = None, device: str = "fast",
            dry_run: bool = False, expect: dict[str, Shape] | None = None) -> Report:
    """``rnnshape inspect`` as a call: the layer on ``input_shape``, explained (a :class:`Report`).

    ``input_shape=None`` uses inspect's default input (seq_len 5, batch 1). ``expect``:
    ``{"output": (5, 3, 20)}``; a mismatch becomes an ``expect-failed`` diagnosis.
    Raises ``ValueError`` for arguments that cannot describe a call.
    """
    from rnnshape.engine.inputs import UserTensors, build_request
    from rnnshape.engine.report import inspect_layer

    spec = layer_spec(layer)

    def text(shape: tuple[int, ...] | None) -> str | None:
        return None if shape is None else (",".join(map(str, shape)) or "()")

    try:
        dtype = validate.dtype(dtype or _module_dtype(layer) or "float32", "api")
        resolved = validate.device(device, "api", none=True)
        dry = dry_run or resolved == "none"
        given = {name: None if value is None else validate.shape(value, name, "api")
                 for name, value in (("input_shape", input_shape), ("hidden", hidden), ("cell", cell),
                                     ("lengths", lengths))}
        validate.states(spec, hidden=hidden is not None, cell=cell is not None, lengths=lengths is not None,
                        caller="api")
        req = build_request(spec, input_shape=text(given["input_shape"]), hidden_shape=text(given["hidden"]),
                            cell_shape=text(given["cell"]), dtype=dtype,
                            user=UserTensors(lengths=given["lengths"]), enforce_sorted=enforce_sorted)
        req = _relabel(req, given["input_shape"], given["hidden"], given["cell"])
        expects = _expectations(spec, expect or {}, packed=lengths is not None)
        return inspect_layer(req, device="none" if dry else resolved, dry_run=dry, expects=expects)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def _expectations(spec: LayerSpec, expect: dict[str, Shape], packed: bool) -> dict[str, tuple[int, ...]]:
    from rnnshape.engine.report import PACKED_TENSORS, expected_names

    valid = expected_names(spec) + (PACKED_TENSORS if packed else ())
    for name in expect:
        if name not in valid:
            raise UsageError(f"expect names an unknown tensor {name!r}; {spec.class_name} has {', '.join(valid)}.")
    return {name: validate.shape(shape, f"expect[{name!r}]", "api") for name, shape in expect.items()}


def _relabel(req: Any, input_shape: Shape | None, hidden: Shape | None, cell: Shape | None) -> Any:
    """Origins in the words of the call (``input_shape=(5, 3, 10)``), not of the CLI's flags."""
    from dataclasses import replace

    def fix(arg: Any, name: str, shape: Shape | None) -> Any:
        if arg is None or shape is None:
            return arg
        return replace(arg, origin=f"{name}={tuple(shape)}")

    return replace(req, input=fix(req.input, "input_shape", input_shape),
                   hidden=fix(req.hidden, "hidden", hidden), cell=fix(req.cell, "cell", cell))


def explain_error(text: str) -> Explanation:
    """Explain a torch error message or traceback (``rnnshape explain``); never imports torch."""
    from rnnshape.explain.explainer import explain_text

    return explain_text(text)


def check_file(path: str, *, device: str = "fast", dry_run: bool = False) -> CheckResult:
    """Run a check file (``rnnshape check``). A bad file raises ``check.CheckFileError``."""
    from rnnshape.check import run_check

    try:
        return run_check(path, device=device, dry_run=dry_run, caller="api")
    except UsageError as exc:
        if isinstance(exc, CheckFileError):
            raise
        raise ValueError(str(exc)) from None


def trace_model(target: Any, input_shapes: Sequence[Shape] = (), *, input_dtypes: Sequence[str] | None = None,
          input_values: Sequence[Any] | None = None, init_args: Sequence[Any] | dict[str, Any] | None = None,
          device: str | None = None):
    """Trace one forward of a model (``rnnshape trace``): a ``trace.TraceResult``.

    ``target``: ``"path/model.py:Class"``, ``"pkg.mod:factory"``, or the class, factory or
    module object (an instance is deep-copied, never moved). ``init_args``: a list
    (positional) or a dict (keywords) for the constructor or factory.
    """
    from rnnshape.engine.trace import trace_model

    if init_args is None:
        args: tuple[list[Any], dict[str, Any]] = ([], {})
    elif isinstance(init_args, dict):
        args = ([], dict(init_args))
    else:
        args = (list(init_args), {})
    return trace_model(target, [tuple(int(n) for n in s) for s in input_shapes],
                       input_dtypes=list(input_dtypes) if input_dtypes else None,
                       input_values=list(input_values or []), init_args=args, device=device)


_OUTPUT_NAMES = ("output", "h_n", "c_n", "h_1", "c_1")


def assert_rnn_shapes(layer: Any, input_shape: Shape, *, hidden: Shape | None = None,
                      cell: Shape | None = None, lengths: Sequence[int] | None = None,
                      output: Shape | None = None, h_n: Shape | None = None, c_n: Shape | None = None,
                      h_1: Shape | None = None, c_1: Shape | None = None, device: str = "fast",
                      dtype: str | None = None) -> Report:
    """Assert that ``layer`` takes ``input_shape`` (and the states) and gives these shapes.

    On failure raises ``AssertionError`` whose message is the diagnosis: what torch
    expected, what it got, where each number comes from, and the fix. Returns the
    :class:`Report` when every shape holds (warnings do not fail it).
    """
    given = {"output": output, "h_n": h_n, "c_n": c_n, "h_1": h_1, "c_1": c_1}
    expect = {k: tuple(v) for k, v in given.items() if v is not None}
    spec = layer_spec(layer)
    valid = [n for n in _OUTPUT_NAMES if (n.startswith("h_1") or n.startswith("c_1")) == spec.is_cell
             and (spec.is_lstm or not n.startswith("c_"))]
    wrong = [k for k in expect if k not in valid]
    if wrong:
        raise TypeError(f"{spec.class_name} has no {wrong[0]!r}; its outputs are {', '.join(valid)}")
    report = inspect_layer(spec, input_shape, hidden=hidden, cell=cell, lengths=lengths,
                     dtype=dtype or _module_dtype(layer), device=device, expect=expect)
    errors = [d for d in report.diagnoses if d.is_error]
    if any(d.code != "expect-failed" for d in errors):  # the cause; "not produced" adds nothing
        errors = [d for d in errors if d.code != "expect-failed" or d.evidence.get("got") is not None]
    if errors:
        raise AssertionError(_message(report, errors))
    return report


def _message(report: Report, errors: list[Diagnosis]) -> str:
    lines = [f"{report.spec.to_code()} on input {tuple(report.request.input.shape)}:"]
    for name, info in report.tensors.items():
        lines.append(f"  {name:<7} {info.describe()}")
    for d in errors:
        lines.append("")
        title = d.title
        if d.code == "expect-failed":  # the builder words it for the CLI's --expect flag
            e = d.evidence
            title = f"{e['name']}: expected {tuple(e['expected'])}, got {tuple(e['got'] or ()) or None}"
        lines.append(f"[{d.code}] {title}")
        lines.append(d.explanation)
        if d.evidence.get("torch_message"):
            lines.append(f"torch says: {d.evidence['torch_message']}")
        if d.fix:
            lines.append("Fix:")
            lines.extend("    " + line for line in d.fix.splitlines())
    return "\n".join(lines)
