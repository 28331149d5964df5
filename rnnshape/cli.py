"""The command line: parse, call, render. No shape logic lives here.

torch is never imported at module level: ``--dry-run`` and ``explain`` must not
pay for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from . import __version__
from .parsing import UsageError, parse_bytes, parse_expect

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Shape inspector and error explainer for PyTorch recurrent layers "
         "(nn.RNN, nn.LSTM, nn.GRU and their cells).",
)

EXIT_OK, EXIT_DIAGNOSED, EXIT_USAGE = 0, 1, 2



def _fail_usage(message: str, as_json: bool) -> NoReturn:
    if as_json:
        import json

        typer.echo(json.dumps({"ok": False, "error": message, "exit_code": EXIT_USAGE}, indent=2))
    typer.echo(f"rnnshape: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnshape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool | None, typer.Option("--version", callback=_version,
                                                    is_eager=True, help="Show the version.")] = None,
) -> None:
    """Shape inspector and error explainer for PyTorch recurrent layers."""


@app.command()
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
) -> None:
    """Build a recurrent layer, run tensors through it, and explain every shape."""
    from .inputs import UserTensors, build_request, build_spec, load_user_tensors, looks_like_file
    from .parsing import parse_shape
    from .report import MemoryRefused, TooLarge, expected_names, inspect_layer
    from .shapes import FLOAT_DTYPES

    flags = {
        "num_layers": num_layers, "bidirectional": True if bidirectional else None,
        "batch_first": True if batch_first else None, "proj_size": proj_size,
        "nonlinearity": nonlinearity, "bias": False if no_bias else None, "dropout": dropout,
    }
    try:
        if repeat < 0:
            raise UsageError(f"--repeat {repeat}: give a count of 0 or more.")
        if input_size is not None and input_size_pos is not None:
            raise UsageError("input_size is given twice (positional and --input-size); keep one.")
        if hidden_size is not None and hidden_size_pos is not None:
            raise UsageError("hidden_size is given twice (positional and --hidden-size); keep one.")
        if dtype not in FLOAT_DTYPES:
            raise UsageError(f"--dtype {dtype!r} is not a layer dtype: use {', '.join(FLOAT_DTYPES)}.")
        for name, value in (("--seq-len", seq_len), ("--batch", batch)):
            if value is not None and value < 0:
                raise UsageError(f"{name} {value}: sizes cannot be negative.")
        spec = build_spec(layer, mode, input_size if input_size is not None else input_size_pos,
                          hidden_size if hidden_size is not None else hidden_size_pos, flags)
        files = (input, hidden, cell)
        if dry_run and any(f is not None for f in files):
            raise UsageError("--dry-run does not load tensors (that needs torch); give their shapes "
                             "with --input-shape/--hidden-shape/--cell-shape instead.")
        resolved = "none" if dry_run else _resolve(device)
        needs_torch = any(f is not None for f in files) or (lengths is not None and looks_like_file(lengths))
        user = (load_user_tensors(input=input, hidden=hidden, cell=cell, lengths=lengths,
                                  device=resolved, keep_device=keep_device)
                if needs_torch else UserTensors(lengths=parse_shape(lengths, "--lengths") if lengths else None))
        req = build_request(spec, seq_len=seq_len, batch=batch, unbatched=unbatched,
                            input_shape=input_shape, hidden_shape=hidden_shape,
                            cell_shape=cell_shape, dtype=dtype, user=user,
                            enforce_sorted=enforce_sorted)
        expects = parse_expect(expect or [], expected_names(spec))
        limit = parse_bytes(max_memory) if max_memory is not None else None
        report = inspect_layer(req, device=resolved, dry_run=dry_run, expects=expects,
                               max_memory=limit, tensors=user.tensors, repeat=repeat,
                               progress=None if as_json else _progress(resolved),
                               sources=user.sources)
    except (UsageError, MemoryRefused, TooLarge) as exc:
        _fail_usage(str(exc), as_json)
    from .render import print_report

    _finish(report, as_json, lambda: print_report(report))


def _progress(device: str):
    """A spinner around the forward, on a terminal only (never when piped or with --json)."""
    if not sys.stdout.isatty():
        return None
    from rich.console import Console

    return lambda: Console(stderr=True).status(f"running the forward on {device}…")


def _resolve(device: str) -> str:
    from .run import DeviceError, resolve_device

    try:
        return resolve_device(device)
    except DeviceError as exc:
        raise UsageError(str(exc)) from None


def _finish(result: Any, as_json: bool, print_human: Callable[[], None],
            exit_code: int | None = None) -> NoReturn:
    """Every command ends here: the result as JSON or for people, then its exit code."""
    if as_json:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2, default=repr))
    else:
        print_human()
    raise typer.Exit(exit_code if exit_code is not None else (EXIT_OK if result.ok else EXIT_DIAGNOSED))


@app.command()
def explain(
    text: Annotated[str | None, typer.Argument(
        help="The error message or traceback PyTorch printed. Omit it (or give '-') to read "
             "stdin: python train.py 2>&1 | rnnshape explain", show_default=False)] = None,
    file: Annotated[str | None, typer.Option(
        "--file", "-f", help="Read the traceback from this file.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Explain a PyTorch recurrent-layer error or traceback: causes ranked, fix as code."""
    from .explain import InputError, decode, explain_text, read_file, read_stream

    note = None
    try:
        if file is not None and text is not None:
            raise InputError("give the text either as an argument or with --file, not both.")
        if file is not None:
            source = read_file(file)
        elif text is None or text == "-":
            if text is None and sys.stdin.isatty():
                raise InputError("nothing to explain: give the error text as an argument, "
                                 "--file PATH, or pipe it in (python train.py 2>&1 | "
                                 "rnnshape explain).")
            source, note = read_stream(sys.stdin)
        else:
            source = decode(text.encode("utf-8", errors="replace"), source="the text")
    except InputError as exc:
        _fail_usage(str(exc), as_json)
    result = explain_text(source)

    def human() -> None:
        from .render_explain import print_explanation

        print_explanation(result, note=note)

    _finish(result, as_json, human)


@app.command()
def check(
    file: Annotated[str | None, typer.Argument(
        help="A TOML file of [[case]] tables, or a pyproject.toml with [[tool.rnnshape.case]] "
             "(default: ./rnnshape.toml, else ./pyproject.toml).", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="meta (no memory, no GPU), cpu, cuda, cuda:N, mps or auto; "
                                             "a case's own device key overrides it.")] = "meta",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Shape model only; no torch import.")] = False,
    junit_xml: Annotated[str | None, typer.Option(
        "--junit-xml", help="Also write a JUnit XML report here, for CI systems.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Check every case of a TOML file (layer, input, expected shapes); exit 1 if any fails.

    A case: name, layer = "nn.GRU(100, 64, batch_first=True)" (or mode, input_size,
    hidden_size and the other inspect settings in snake_case), input = [32, 50, 100]
    (or a tensor file "x.pt" / "batch.npz:KEY", relative to the TOML file), optional
    hidden, cell, lengths, enforce_sorted, dtype, device, and expect = { output = [...],
    h_n = [...] } or expect_error = "input-size-mismatch".
    """
    from .check import default_file, run_check, write_junit

    try:
        path = file if file is not None else default_file()
        result = run_check(path, device=device, dry_run=dry_run)
        if junit_xml is not None:
            write_junit(result, junit_xml)
    except UsageError as exc:
        _fail_usage(str(exc), as_json)

    def human() -> None:
        from .render_check import print_check

        print_check(result)

    _finish(result, as_json, human)


@app.command()
def trace(
    target: Annotated[str, typer.Argument(
        help="path/to/model.py:ClassName or package.module:factory (a class, a function returning "
             "an nn.Module, or a module instance, which is copied). This IMPORTS AND RUNS the "
             "model's code.", show_default=False)],
    input_shape: Annotated[list[str] | None, typer.Option(
        help="One input's shape, e.g. 32,50 (repeat for several inputs, in order).")] = None,
    input_dtype: Annotated[list[str] | None, typer.Option(
        help="The inputs' dtype, e.g. long for token ids (once for all, or once per input).")] = None,
    input_value: Annotated[list[str] | None, typer.Option(
        help="An input given by value as JSON, e.g. \"[7, 5, 3]\" for lengths; passed after the "
             "--input-shape inputs, and kept on the CPU.")] = None,
    init_args: Annotated[str | None, typer.Option(
        help="Constructor arguments as JSON: an object (keywords) or an array (positional).")] = None,
    device: Annotated[str | None, typer.Option(
        help="meta, cpu, cuda, cuda:N, mps or auto. Default: meta, falling back to cpu with a note "
             "when the model cannot run there.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Run one forward of your model with hooks on every module; show the shape flow as a tree.

    The model is built afresh on the device (your objects are never moved), put in eval
    mode, and run once under no_grad. If the forward fails, the tree stops at the failing
    module and the error is explained with the shapes the hooks saw.
    """
    import json

    from .parsing import parse_shape

    try:
        from .trace import parse_init_args, trace_model

        shapes = [parse_shape(s, "--input-shape") for s in input_shape or []]
        values = []
        for text in input_value or []:
            try:
                values.append(json.loads(text))
            except json.JSONDecodeError as exc:
                raise UsageError(f"--input-value {text!r} is not JSON ({exc.msg}); write e.g. "
                                 "\"[7, 5, 3]\"") from None
        result = trace_model(target, shapes, input_dtypes=input_dtype, input_values=values,
                             init_args=parse_init_args(init_args), device=device)
    except UsageError as exc:
        _fail_usage(str(exc), as_json)

    def human() -> None:
        from .render_trace import print_trace

        print_trace(result)

    _finish(result, as_json, human)


@app.command()
def diagnose(
    file: Annotated[str | None, typer.Argument(
        help="The pasted code (a script, a notebook cell, a REPL session, with or without its "
             "traceback). Omit it (or give '-') to read stdin: pbpaste | rnnshape diagnose",
        show_default=False)] = None,
    shape: Annotated[list[str] | None, typer.Option(
        "--shape", help="A shape the code cannot tell, NAME=SHAPE (repeatable): x=32,50,300, or "
                        "letters for unknown sizes, x=B,T,300; add :int64 for token ids.")] = None,
    run: Annotated[bool, typer.Option(
        "--run", help="Also run the code, in a separate Python process with a time limit, and "
                      "record the real shapes at every layer (never the default).")] = False,
    timeout: Annotated[float, typer.Option(help="Time limit of --run, in seconds.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Follow the shapes through pasted code without running it; stop at the first line that cannot work."""
    from .snippets import PasteError, diagnose_paste, parse_hints, read_source

    try:
        if timeout <= 0:
            raise UsageError(f"--timeout {timeout:g}: give a number of seconds above 0.")
        if file is None and sys.stdin.isatty():
            raise UsageError("nothing to diagnose: give a FILE, or pipe the code in "
                             "(pbpaste | rnnshape diagnose).")
        text, name = read_source(file, sys.stdin)
        hints = parse_hints(shape or [])
    except (UsageError, PasteError) as exc:
        _fail_usage(str(exc), as_json)
    result = diagnose_paste(text, hints, name=name, run=run, timeout=timeout)

    def human() -> None:
        from .render_diagnose import print_diagnosis

        print_diagnosis(result)

    _finish(result, as_json, human, result.exit_code)


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("rnnshape: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug in rnnshape: say so in one paragraph
        sys.stderr.write(
            f"rnnshape: internal error ({type(exc).__name__}: {exc}). This is a bug in "
            f"rnnshape; please report it with the command you ran.\n")
        sys.exit(EXIT_DIAGNOSED)
