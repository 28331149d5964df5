"""rnnshape: shape inspector and error explainer for PyTorch recurrent layers.

The package is split so that torch is only imported where tensors are needed
(docs/architecture.md is the full map):

- :mod:`rnnshape.model`     the pure-Python shape model: constructor rules, shapes, symbolic sizes
- :mod:`rnnshape.diagnoses` findings as frozen records, with their prose (written once)
- :mod:`rnnshape.explain`   reading pasted errors; torch's catalog of messages
- :mod:`rnnshape.diagnose`  following the shapes through pasted code
- :mod:`rnnshape.engine`    the torch side: devices, tensor files, running, reconciling, tracing
- :mod:`rnnshape.render`    all Rich output
- :mod:`rnnshape.commands`  one module per command, wiring arguments to library calls
- :mod:`rnnshape.cli`       the Typer app; :mod:`rnnshape.errors` the one usage error

The Python API (:mod:`rnnshape.api`), loaded on first use, without torch::

    from rnnshape import inspect_layer, explain_error, check_file, trace_model, assert_rnn_shapes

(The names differ from the submodules ``rnnshape.explain.explainer``, ``rnnshape.check`` and
``rnnshape.engine.trace`` on purpose: a package attribute and a submodule of one name
overwrite each other.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The public API, loaded from :mod:`rnnshape.api` on first access.
_API = ("inspect_layer", "explain_error", "check_file", "trace_model", "assert_rnn_shapes", "layer_spec")
#: Live mode (:mod:`rnnshape.live`), loaded on first access; torch-free to import.
_LIVE = ("explained", "install")
__all__ = ["__version__", *_API, *_LIVE]

if TYPE_CHECKING:
    from rnnshape.api import assert_rnn_shapes as assert_rnn_shapes
    from rnnshape.api import check_file as check_file
    from rnnshape.api import explain_error as explain_error
    from rnnshape.api import inspect_layer as inspect_layer
    from rnnshape.api import layer_spec as layer_spec
    from rnnshape.api import trace_model as trace_model
    from rnnshape.live import explained as explained
    from rnnshape.live import install as install


def __getattr__(name: str) -> Any:
    if name in _API:
        from rnnshape import api

        return getattr(api, name)
    if name in _LIVE:
        from rnnshape import live

        return getattr(live, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API, *_LIVE})


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext rnnshape``: explain recurrent-layer errors under a cell's traceback."""
    from rnnshape import live

    live.load_ipython_extension(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from rnnshape import live

    live.unload_ipython_extension(ipython)
