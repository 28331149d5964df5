"""`rnnshape check`: every case of a TOML file, for CI."""

from typing import Annotated

import typer

from rnnshape.commands.common import collector_paused, fail_usage, finish
from rnnshape.errors import UsageError


def check(
    file: Annotated[str | None, typer.Argument(
        help="A TOML file of [[case]] tables, or a pyproject.toml with [[tool.rnnshape.case]] "
             "(default: ./rnnshape.toml, else ./pyproject.toml).", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="fast (a small layer on the cpu with a one-step window, "
                                             "a larger one on meta: torch's checks, no GPU), meta, cpu, "
                                             "cuda, cuda:N, mps or auto; a case's own device key "
                                             "overrides it.")] = "fast",
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
    with collector_paused():
        from rnnshape.check import default_file, refuse_overwriting_inputs, run_check, write_junit

    try:
        path = file if file is not None else default_file()
        if junit_xml is not None:  # before any case runs: an input is never the output
            refuse_overwriting_inputs(junit_xml, path)
        result = run_check(path, device=device, dry_run=dry_run)
        if junit_xml is not None:
            write_junit(result, junit_xml)
    except UsageError as exc:
        fail_usage(str(exc), as_json)

    def human() -> None:
        from rnnshape.render.check import print_check

        print_check(result)

    finish(result, as_json, human)
