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
"""

__version__ = "0.1.0"
