"""`explain`: reading pasted errors and tracebacks, and torch's catalog of recurrent-layer messages."""

from rnnshape.explain.explainer import Explanation, explain_text

__all__ = ["Explanation", "explain_text"]
