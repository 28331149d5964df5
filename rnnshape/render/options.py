"""Choices the commands make about what to draw, importable without loading rich (``--json`` paths)."""

from __future__ import annotations

from enum import Enum


class ParameterView(str, Enum):
    """How much of the parameter table ``inspect`` shows (``--params`` / ``--no-params``)."""

    SUMMARY = "summary"  # long tables cut to the first and last layers
    ALL = "all"
    NONE = "none"
