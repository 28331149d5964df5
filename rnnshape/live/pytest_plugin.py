"""The pytest plugin: a failing test whose exception is a recurrent-layer error gets rnnshape's
live explanation as an extra report section.

Installed as the ``pytest11`` entry point ``rnnshape``, so pytest loads this module in
every run; it stays inert (one option added, nothing hooked, nothing else imported)
unless ``-p rnnshape`` or ``--rnnshape`` is given.
"""

from __future__ import annotations

from typing import Any

import pytest

_NAMES = ("rnnshape", "rnnshape.live.pytest_plugin")


def pytest_addoption(parser: Any) -> None:
    parser.getgroup("rnnshape").addoption(
        "--rnnshape", action="store_true", default=False,
        help="explain recurrent-layer errors (nn.LSTM/GRU/RNN, packing) under failing tests, "
             "with the live shapes")


def _active(config: Any) -> bool:
    asked = [p.strip() for p in (getattr(config.option, "plugins", None) or [])]
    return bool(config.getoption("rnnshape")) or any(p in _NAMES for p in asked)


def pytest_configure(config: Any) -> None:
    if _active(config):
        from rnnshape import live

        live.start()
        config.pluginmanager.register(_Explainer(), "rnnshape-explainer")


class _Explainer:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        outcome = yield
        if call.excinfo is None:
            return
        from rnnshape.live.diagnosis import explain_exception

        finding = explain_exception(call.excinfo.value)
        if finding is None:
            return
        from rnnshape.render.live import finding_text

        outcome.get_result().sections.append(("rnnshape", finding_text(finding)))
