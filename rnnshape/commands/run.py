"""`rnnshape run`: run a program as python would, and explain recurrent-layer errors live."""

from typing import Annotated, Any

import typer

from rnnshape.commands.common import fail_usage
from rnnshape.errors import UsageError

#: The program's own arguments are never read as rnnshape's: option parsing stops at the
#: script (or module) name, and ``--`` ends rnnshape's flags explicitly.
CONTEXT: dict[str, Any] = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def run(
    program: Annotated[list[str] | None, typer.Argument(
        help="SCRIPT.py [ARGS...], or with -m: MODULE [ARGS...]. Everything after the script or "
             "module name is the program's. This RUNS the program.", show_default=False)] = None,
    module: Annotated[bool, typer.Option(
        "-m", help="Run a module as a script, like python -m: rnnshape run -m pkg.train --epochs 3")] = False,
    warn: Annotated[bool, typer.Option(
        "--warn", help="Also report silent mistakes (batch-first input to a layer that is not, a "
                       "bidirectional h_n[-1] fed to a Linear, a state reused with another batch) "
                       "once each, on stderr, without stopping the program.")] = False,
) -> None:
    """Run SCRIPT.py (or -m MODULE) exactly as python would; explain a recurrent-layer error live.

    The program's argv, __main__, sys.path[0], stdin, stdout and exit code are its own. When
    an exception escapes, the normal traceback is printed, then the layer as constructed,
    the tensors that were passed, your line, and a fix checked against those shapes.
    Nothing is added when no error occurs, or when the error is not a recurrent layer's.
    """
    from rnnshape.live.runner import run_program

    if not program:
        fail_usage("give the program: rnnshape run SCRIPT.py [ARGS...] or rnnshape run -m MODULE [ARGS...]",
                   False)
    try:
        code = run_program(program[0], list(program[1:]), as_module=module, warn=warn)
    except UsageError as exc:
        fail_usage(str(exc), False)
    raise typer.Exit(code)
