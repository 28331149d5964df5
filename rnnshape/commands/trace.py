"""`rnnshape trace`: one hooked forward of a real model (imports and runs its code)."""

import contextlib
import sys
from typing import Annotated

import typer

from rnnshape.commands.common import fail_usage, finish
from rnnshape.errors import UsageError


def trace(
    target: Annotated[str, typer.Argument(
        help="path/to/model.py:ClassName or package.module:factory (a class, a function returning "
             "an nn.Module, or a module instance, which is copied). This IMPORTS AND RUNS the "
             "model's code.", show_default=False)],
    input_shape: Annotated[list[str] | None, typer.Option(
        help="One input's shape, e.g. 32,50 (repeat for several inputs, in order).")] = None,
    input_file: Annotated[list[str] | None, typer.Option(
        "--input", help="A real input: PATH[:KEY] of a .pt/.pth, .npy, .npz or .safetensors file (as "
                        "inspect reads it); repeat for several, passed after the --input-shape inputs.")] = None,
    input_dtype: Annotated[list[str] | None, typer.Option(
        help="The inputs' dtype, e.g. long for token ids (once for all, or once per input).")] = None,
    input_value: Annotated[list[str] | None, typer.Option(
        help="An input given by value as JSON, e.g. \"[7, 5, 3]\" for lengths; passed after the "
             "--input-shape inputs, and kept on the CPU.")] = None,
    init_args: Annotated[str | None, typer.Option(
        help="Constructor arguments as JSON: an object (keywords) or an array (positional).")] = None,
    device: Annotated[str | None, typer.Option(
        help="fast, meta, cpu, cuda, cuda:N, mps or auto. Default: fast: a small model (16 MB of "
             "parameters) on the cpu, a larger one on meta, falling back to cpu with a note when "
             "it cannot run there.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Run one forward of your model with hooks on every module; show the shape flow as a tree.

    The model is built afresh on the device (your objects are never moved), put in eval
    mode, and run once under no_grad. If the forward fails, the tree stops at the failing
    module and the error is explained with the shapes the hooks saw.
    """
    import json

    from rnnshape.parsing import parse_shape

    try:
        from rnnshape.engine.trace import parse_init_args, trace_model

        shapes = [parse_shape(s, "--input-shape") for s in input_shape or []]
        values = []
        for text in input_value or []:
            try:
                values.append(json.loads(text))
            except ValueError as exc:  # JSONDecodeError, or an integer over Python's 4,300 digits
                why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
                raise UsageError(f"--input-value {text[:60]!r} is not JSON ({why}); write e.g. "
                                 "\"[7, 5, 3]\"") from None
        # The model's own prints go to stderr under --json: stdout holds one JSON object.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            result = trace_model(target, shapes, input_dtypes=input_dtype, input_values=values,
                                 init_args=parse_init_args(init_args), device=device,
                                 input_files=input_file)
    except UsageError as exc:
        fail_usage(str(exc), as_json)

    def human() -> None:
        from rnnshape.render.trace import print_trace

        print_trace(result)

    finish(result, as_json, human)
