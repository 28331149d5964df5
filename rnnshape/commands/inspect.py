"""`rnnshape inspect`: flags or a pasted constructor -> a Report, rendered."""

import sys
from typing import Annotated

import typer

from rnnshape.commands.common import collector_paused, fail_usage, finish
from rnnshape.errors import UsageError


def inspect(
    layer: Annotated[str | None, typer.Argument(
        help="Mode (rnn, lstm, gru, rnn-cell, lstm-cell, gru-cell) or a pasted constructor "
             "such as \"nn.LSTM(10, 20, num_layers=2, batch_first=True)\".")] = None,
    input_size_pos: Annotated[int | None, typer.Argument(metavar="[INPUT_SIZE]",
                                                            show_default=False)] = None,
    hidden_size_pos: Annotated[int | None, typer.Argument(metavar="[HIDDEN_SIZE]",
                                                             show_default=False)] = None,
    mode: Annotated[str | None, typer.Option(help="rnn, lstm, gru, rnn-cell, lstm-cell, gru-cell.")] = None,
    input_size: Annotated[int | None, typer.Option(help="Features per time step (default 10).")] = None,
    hidden_size: Annotated[int | None, typer.Option(help="Size of h (default 20).")] = None,
    num_layers: Annotated[int | None, typer.Option(help="Stacked layers (default 1).")] = None,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Two directions.")] = False,
    batch_first: Annotated[bool, typer.Option("--batch-first", help="Input/output are (batch, seq, feature).")] = False,
    proj_size: Annotated[int | None, typer.Option(help="LSTM projection size.")] = None,
    nonlinearity: Annotated[str | None, typer.Option(help="tanh or relu (RNN only).")] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="Build with bias=False.")] = False,
    dropout: Annotated[float | None, typer.Option(help="Dropout between stacked layers.")] = None,
    seq_len: Annotated[int | None, typer.Option(help="Sequence length of the dummy input (default 5).")] = None,
    batch: Annotated[int | None, typer.Option(help="Batch size of the dummy input (default 1).")] = None,
    unbatched: Annotated[bool, typer.Option("--unbatched", help="Feed one unbatched sequence.")] = False,
    input_shape: Annotated[str | None, typer.Option(help="The input's exact shape, e.g. 5,3,10 (any rank).")] = None,
    hidden_shape: Annotated[str | None, typer.Option(help="Pass an initial h_0 of this shape.")] = None,
    cell_shape: Annotated[str | None, typer.Option(help="Pass an initial c_0 of this shape (LSTM).")] = None,
    input: Annotated[str | None, typer.Option(
        "--input", help="Your input tensor: PATH[:KEY] of a .pt/.pth, .npy, .npz or .safetensors file.")] = None,
    hidden: Annotated[str | None, typer.Option("--hidden", help="Your h_0 tensor: PATH[:KEY].")] = None,
    cell: Annotated[str | None, typer.Option("--cell", help="Your c_0 tensor (LSTM): PATH[:KEY].")] = None,
    lengths: Annotated[str | None, typer.Option(
        help="Pack the input with pack_padded_sequence: 5,3,2 or PATH[:KEY].")] = None,
    enforce_sorted: Annotated[bool, typer.Option(
        "--enforce-sorted/--no-enforce-sorted", help="As pack_padded_sequence (default: sorted).")] = True,
    keep_device: Annotated[bool, typer.Option(
        "--keep-device", help="Keep loaded tensors on the device they were saved on.")] = False,
    repeat: Annotated[int, typer.Option(help="Time N more forwards after a warm-up.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N, mps or meta.")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32, float64, float16 or bfloat16.")] = "float32",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Shape model only; no torch import.")] = False,
    expect: Annotated[list[str] | None, typer.Option(help="Assert a shape, e.g. output=5,3,40 (repeatable).")] = None,
    max_memory: Annotated[str | None, typer.Option(help="Refuse runs estimated above this, e.g. 1GB.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    show_diagram: Annotated[bool, typer.Option(
        "--diagram", help="Draw the layer: layers x directions over time, what each row of h_n and "
                          "slice of output is, with code (and a \"diagram\" section in --json).")] = False,
    svg: Annotated[str | None, typer.Option(
        "--svg", metavar="PATH", help="Also save the report, with the picture, as SVG (implies --diagram).")] = None,
    html: Annotated[str | None, typer.Option(
        "--html", metavar="PATH", help="Also save the report, with the picture, as HTML (implies --diagram).")] = None,
    params: Annotated[bool | None, typer.Option(
        "--params/--no-params", help="Show the whole parameter table / hide it (default: long ones cut).",
        show_default=False)] = None,
) -> None:
    """Build a recurrent layer, run tensors through it, and explain every shape."""
    with collector_paused():
        from rnnshape import validate
        from rnnshape.engine.inputs import UserTensors, build_request, build_spec, load_user_tensors, looks_like_file
        from rnnshape.engine.report import MemoryRefused, TooLarge, expected_names, inspect_layer
        from rnnshape.parsing import parse_bytes, parse_expect, parse_shape

    flags = {
        "num_layers": num_layers, "bidirectional": True if bidirectional else None,
        "batch_first": True if batch_first else None, "proj_size": proj_size,
        "nonlinearity": nonlinearity, "bias": False if no_bias else None, "dropout": dropout,
    }
    try:
        validate.count(repeat, "repeat", "cli")
        if input_size is not None and input_size_pos is not None:
            raise UsageError("input_size is given twice (positional and --input-size); keep one.")
        if hidden_size is not None and hidden_size_pos is not None:
            raise UsageError("hidden_size is given twice (positional and --hidden-size); keep one.")
        validate.dtype(dtype, "cli")
        validate.size(seq_len, "seq_len", "cli")
        validate.size(batch, "batch", "cli")
        spec = build_spec(layer, mode, input_size if input_size is not None else input_size_pos,
                          hidden_size if hidden_size is not None else hidden_size_pos, flags)
        files = (input, hidden, cell)
        if dry_run and any(f is not None for f in files):
            raise UsageError("--dry-run does not load tensors (that needs torch); give their shapes "
                             "with --input-shape/--hidden-shape/--cell-shape instead.")
        lengths_file = lengths is not None and looks_like_file(lengths)
        if dry_run and lengths_file:
            raise UsageError(f"--dry-run never imports torch, and reading --lengths {lengths} needs it; "
                             "give the lengths as numbers (--lengths 5,3,2) or drop --dry-run.")
        limit = parse_bytes(max_memory) if max_memory is not None else None
        needs_torch = any(f is not None for f in files) or lengths_file
        # the device is resolved (which imports torch) only once everything torch-free has been read,
        # so that a mistyped flag is refused at once
        resolved = "none" if dry_run else validate.device(device, "cli") if needs_torch else None
        user = (load_user_tensors(input=input, hidden=hidden, cell=cell, lengths=lengths,
                                  device=resolved, keep_device=keep_device, max_bytes=limit)
                if needs_torch else UserTensors(lengths=parse_shape(lengths, "--lengths") if lengths else None))
        req = build_request(spec, seq_len=seq_len, batch=batch, unbatched=unbatched,
                            input_shape=input_shape, hidden_shape=hidden_shape,
                            cell_shape=cell_shape, dtype=dtype, user=user,
                            enforce_sorted=enforce_sorted)
        exports = _export_paths(svg, html, (input, hidden, cell, lengths))
        expects = parse_expect(expect or [], expected_names(spec))
        if resolved is None:
            resolved = validate.device(device, "cli")
        report = inspect_layer(req, device=resolved, dry_run=dry_run, expects=expects,
                               max_memory=limit, tensors=user.tensors, repeat=repeat,
                               progress=None if as_json else _progress(resolved),
                               sources=user.sources)
        if show_diagram or exports:
            from rnnshape.model.layout import layout_for_request

            report.layout = layout_for_request(report.request)
            if report.layout is None:
                typer.echo("rnnshape: no picture: the layer cannot be built with these arguments "
                           "(see the error).", err=True)
        view = _parameter_view(params)
        if exports:
            from rnnshape.render.diagram import save_picture
            from rnnshape.render.report import report_renderable

            save_picture(report_renderable(report, view), title=report.spec.to_code(), **exports)
    except (UsageError, MemoryRefused, TooLarge) as exc:
        fail_usage(str(exc), as_json)

    def human() -> None:
        from rnnshape.render.report import print_report  # rich: the human form only

        print_report(report, parameters=view)

    finish(report, as_json, human)


def _parameter_view(params: bool | None):
    from rnnshape.render.options import ParameterView

    return {None: ParameterView.SUMMARY, True: ParameterView.ALL, False: ParameterView.NONE}[params]


def _export_paths(svg: str | None, html: str | None, inputs: tuple[str | None, ...]) -> dict[str, str]:
    """``--svg``/``--html`` targets, refused before anything runs when they would clobber an input file."""
    given = {k: v for k, v in (("svg", svg), ("html", html)) if v is not None}
    if not given:  # the usual run: no need for the tensor loader's module
        return given
    import os

    from rnnshape.engine.tensors import split_source

    sources = {os.path.realpath(split_source(i)[0]): i for i in inputs if i is not None}
    for flag, path in given.items():
        real = os.path.realpath(path)
        if real in sources:
            raise UsageError(f"--{flag} {path} is the input file {sources[real]}; rnnshape will not "
                             "overwrite an input. Choose another path.")
        if os.path.isdir(path):
            raise UsageError(f"--{flag} {path} is a directory; give a file name such as {path}/layer.{flag}.")
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            raise UsageError(f"--{flag} {path}: the directory {parent} does not exist.")
    if svg is not None and html is not None and os.path.realpath(svg) == os.path.realpath(html):
        raise UsageError(f"--svg and --html are the same file ({svg}); give two paths.")
    return given


def _progress(device: str):
    """A spinner around the forward, on a terminal only (never when piped or with --json)."""
    if not sys.stdout.isatty():
        return None
    from rich.console import Console

    return lambda: Console(stderr=True).status(f"running the forward on {device}…")

