"""The one usage-error type: every condition that ends a command with exit 2 is a ``UsageError``."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user: a clear one-paragraph message, exit 2, never a traceback."""
