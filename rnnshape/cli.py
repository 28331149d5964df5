"""The command line: parse, call, render. No shape logic lives here.

torch is never imported at module level: ``--dry-run`` and ``explain`` must not
pay for it.
"""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

from . import __version__
from .parsing import UsageError, parse_bytes, parse_expect, parse_shape
from .spec import MODES, LayerSpec, SpecError, looks_like_constructor, parse_constructor

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Shape inspector and error explainer for PyTorch recurrent layers "
         "(nn.RNN, nn.LSTM, nn.GRU and their cells).",
)

EXIT_OK, EXIT_DIAGNOSED, EXIT_USAGE = 0, 1, 2

#: Layer flags and which modes accept them (torch's constructors differ).
_SEQUENCE_ONLY = ("num_layers", "bidirectional", "batch_first", "dropout")


def _fail_usage(message: str, as_json: bool) -> NoReturn:
    if as_json:
        from .render import dump_json

        typer.echo(dump_json({"ok": False, "error": message, "exit_code": EXIT_USAGE}))
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


def build_spec(layer: str | None, mode: str | None, input_size: int | None,
               hidden_size: int | None, flags: dict[str, object]) -> LayerSpec:
    """The layer from the positional LAYER (mode or pasted constructor) and the flags."""
    given_flags = {k: v for k, v in flags.items() if v is not None}
    if layer is not None and looks_like_constructor(layer):
        extra = [k for k in ("mode", "input_size", "hidden_size") if
                 {"mode": mode, "input_size": input_size, "hidden_size": hidden_size}[k] is not None]
        if extra or given_flags:
            names = ", ".join("--" + k.replace("_", "-") for k in [*extra, *given_flags])
            raise UsageError(
                f"a pasted constructor already sets the layer; drop {names} or put the values "
                f"inside the constructor.")
        try:
            return parse_constructor(layer)
        except SpecError as exc:
            raise UsageError(str(exc)) from None
    if layer is not None and mode is not None and layer != mode:
        raise UsageError(f"the mode is given twice ({layer!r} and --mode {mode!r}); keep one.")
    chosen = (mode or layer or "rnn").lower().replace("_", "-")
    if chosen not in MODES:
        raise UsageError(
            f"{chosen!r} is not a layer: use one of {', '.join(MODES)}, or paste a constructor "
            f"such as \"nn.LSTM(10, 20, num_layers=2)\".")
    is_cell = chosen.endswith("-cell")
    for name in given_flags:
        if is_cell and name in (*_SEQUENCE_ONLY, "proj_size"):
            raise UsageError(f"--{name.replace('_', '-')} does not apply to {MODES[chosen]}: "
                             f"cells take one time step and have no {name}.")
        if name == "nonlinearity" and chosen not in ("rnn", "rnn-cell"):
            raise UsageError(f"--nonlinearity applies to rnn and rnn-cell only; "
                             f"{MODES[chosen]} has fixed gates.")
    return LayerSpec(
        mode=chosen,
        input_size=10 if input_size is None else input_size,
        hidden_size=20 if hidden_size is None else hidden_size,
        given=frozenset({"input_size", "hidden_size", *given_flags}),
        **given_flags,  # type: ignore[arg-type]
    )


def build_request(spec: LayerSpec, *, seq_len: int | None, batch: int | None, unbatched: bool,
                  input_shape: str | None, hidden_shape: str | None, cell_shape: str | None,
                  dtype: str):
    from .shapes import Request, TensorArg

    if input_shape is not None:
        if seq_len is not None or batch is not None or unbatched:
            raise UsageError("--input-shape gives the whole input; drop --seq-len, --batch "
                             "and --unbatched.")
        x = TensorArg(parse_shape(input_shape, "--input-shape"), None,
                      f"--input-shape {input_shape}")
    else:
        x = TensorArg(*_default_input(spec, seq_len, batch, unbatched))
    hidden = (TensorArg(parse_shape(hidden_shape, "--hidden-shape"), None,
                        f"--hidden-shape {hidden_shape}") if hidden_shape is not None else None)
    cell = None
    if cell_shape is not None:
        if not spec.is_lstm:
            raise UsageError(f"--cell-shape is for LSTM and LSTMCell; {spec.class_name} has "
                             f"no cell state.")
        if hidden is None:
            raise UsageError("--cell-shape needs --hidden-shape too: the LSTM state is the "
                             "pair (h_0, c_0).")
        cell = TensorArg(parse_shape(cell_shape, "--cell-shape"), None, f"--cell-shape {cell_shape}")
    return Request(spec, x, hidden, cell, dtype)


def _default_input(spec: LayerSpec, seq_len: int | None, batch: int | None,
                   unbatched: bool) -> tuple[tuple[int, ...], None, str]:
    seq = 5 if seq_len is None else seq_len
    n = 1 if batch is None else batch
    feat = spec.input_size if isinstance(spec.input_size, int) else 1
    if unbatched and batch is not None:
        raise UsageError("--unbatched and --batch contradict each other; keep one.")
    if spec.is_cell:
        if seq_len is not None:
            raise UsageError("cells take one time step: --seq-len does not apply.")
        shape = (feat,) if unbatched else (n, feat)
        return shape, None, ("--unbatched and input_size" if unbatched else
                             f"--batch {n} and input_size {feat}")
    if unbatched:
        shape = (seq, feat)
    elif spec.batch_first:
        shape = (n, seq, feat)
    else:
        shape = (seq, n, feat)
    return shape, None, f"--seq-len {seq}, --batch {n} and input_size {feat}"


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
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N, mps or meta.")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32, float64, float16 or bfloat16.")] = "float32",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Shape model only; no torch import.")] = False,
    expect: Annotated[list[str] | None, typer.Option(help="Assert a shape, e.g. output=5,3,40 (repeatable).")] = None,
    max_memory: Annotated[str | None, typer.Option(help="Refuse runs estimated above this, e.g. 1GB.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Build a recurrent layer, run tensors through it, and explain every shape."""
    from .report import MemoryRefused, TooLarge, expected_names, inspect_layer
    from .shapes import FLOAT_DTYPES

    flags = {
        "num_layers": num_layers, "bidirectional": True if bidirectional else None,
        "batch_first": True if batch_first else None, "proj_size": proj_size,
        "nonlinearity": nonlinearity, "bias": False if no_bias else None, "dropout": dropout,
    }
    try:
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
        req = build_request(spec, seq_len=seq_len, batch=batch, unbatched=unbatched,
                            input_shape=input_shape, hidden_shape=hidden_shape,
                            cell_shape=cell_shape, dtype=dtype)
        expects = parse_expect(expect or [], expected_names(spec))
        limit = parse_bytes(max_memory) if max_memory is not None else None
        resolved = "none" if dry_run else _resolve(device)
        report = inspect_layer(req, device=resolved, dry_run=dry_run, expects=expects,
                               max_memory=limit)
    except (UsageError, MemoryRefused, TooLarge) as exc:
        _fail_usage(str(exc), as_json)
    _emit(report, as_json)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_DIAGNOSED)


def _resolve(device: str) -> str:
    from .run import DeviceError, resolve_device

    try:
        return resolve_device(device)
    except DeviceError as exc:
        raise UsageError(str(exc)) from None


def _emit(report, as_json: bool) -> None:
    from . import render

    if as_json:
        typer.echo(render.dump_json(report.to_dict()))
    else:
        render.print_report(report)


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
    if as_json:
        typer.echo(result.to_json())
    else:
        from .render_explain import print_explanation

        print_explanation(result, note=note)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_DIAGNOSED)


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
