"""rnnshape: shape inspector and error explainer for PyTorch recurrent layers.

The package is split so that torch is only imported where tensors are needed:

- :mod:`rnnshape.spec`      the layer's constructor arguments (and parsing a pasted one)
- :mod:`rnnshape.shapes`    the pure-Python shape model (no torch)
- :mod:`rnnshape.diagnoses` findings as frozen records, with their prose
- :mod:`rnnshape.catalog`   torch's error messages -> diagnoses
- :mod:`rnnshape.run`       the torch runner (imports torch lazily)
- :mod:`rnnshape.report`    model + runner -> one Report
- :mod:`rnnshape.render`    Rich and JSON output
- :mod:`rnnshape.cli`       the Typer commands

The Python API (:mod:`rnnshape.api`), loaded on first use, without torch::

    from rnnshape import inspect_layer, explain_error, check_file, trace_model, assert_rnn_shapes

(The names differ from the submodules ``rnnshape.explain``, ``rnnshape.check`` and
``rnnshape.trace`` on purpose: a package attribute and a submodule of one name
overwrite each other.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The public API, loaded from :mod:`rnnshape.api` on first access.
_API = ("inspect_layer", "explain_error", "check_file", "trace_model", "assert_rnn_shapes", "layer_spec")
__all__ = ["__version__", *_API]

if TYPE_CHECKING:
    from .api import assert_rnn_shapes as assert_rnn_shapes
    from .api import check_file as check_file
    from .api import explain_error as explain_error
    from .api import inspect_layer as inspect_layer
    from .api import layer_spec as layer_spec
    from .api import trace_model as trace_model


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
