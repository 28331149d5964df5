"""The pytest plugin, run with pytester in subprocesses (the hooks stay out of this session)."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

#: Installed non-editable (as CI installs it), the pytest11 entry point loads the plugin in every
#: run under the name ``rnnshape``; loading the module again under its own name is then an error
#: in pytest (one module, two names). Without the entry point, the tests load it themselves.
INSTALLED = any(e.name == "rnnshape" for e in entry_points(group="pytest11"))
LOAD: tuple[str, ...] = () if INSTALLED else ("-p", "rnnshape.live.pytest_plugin")
ACTIVATE = "rnnshape" if INSTALLED else "rnnshape.live.pytest_plugin"

TESTS = """
    import sys

    def test_lstm_state():
        import torch
        from torch import nn
        lstm = nn.LSTM(4, 6, batch_first=True)
        lstm(torch.randn(3, 5, 4), (torch.zeros(1, 2, 6), torch.zeros(1, 2, 6)))

    def test_not_recurrent():
        assert {"a": 1}["a"] == 2

    def test_plugin_is_cheap_when_off():
        assert "rnnshape.live.hooks" not in sys.modules, "the plugin imported its hooks"
"""


@pytest.fixture
def project(pytester, live, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", live.env["PYTHONPATH"])
    monkeypatch.setenv("COLUMNS", "80")
    pytester.makepyfile(test_model=textwrap.dedent(TESTS))
    return pytester


def _section(output: str) -> str:
    return output.split("rnnshape: the live call behind this error", 1)[1] if "rnnshape: the live" in output else ""


@pytest.mark.long  # a pytest run in a fresh process per form; the inert default stays in the quick run
@pytest.mark.parametrize("flags", [("--rnnshape", *LOAD), ("-p", ACTIVATE)])
def test_active_plugin_explains_a_recurrent_failure(project, flags):
    result = project.runpytest_subprocess(*flags, "-k", "lstm_state or not_recurrent")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    section = _section(out)
    assert "nn.LSTM(4, 6, batch_first=True)" in section
    assert "hidden-batch-mismatch" in section and "(verified by the shape" in section
    assert out.count("rnnshape: the live call behind this error") == 1  # the KeyError test gets nothing


def _loaded_as_installed(project) -> None:
    """The plugin loaded as the entry point loads it: by pytest itself, or here by a conftest."""
    if not INSTALLED:
        project.makeconftest("pytest_plugins = ['rnnshape.live.pytest_plugin']\n")


def test_loaded_but_not_asked_for_is_inert(project):
    """As an installed pytest11 entry point it loads in every run: then it must do nothing."""
    _loaded_as_installed(project)
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=2, passed=1)
    assert "rnnshape: the live call" not in result.stdout.str()


def test_loaded_plugin_imports_no_torch(project):
    """Loading it costs a test suite that never touches torch nothing: torch stays unimported."""
    _loaded_as_installed(project)
    project.makepyfile(test_plain="import sys\n\ndef test_no_torch():\n    assert 'torch' not in sys.modules\n")
    result = project.runpytest_subprocess("test_plain.py", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.long
def test_dash_p_rnnshape_activates_the_loaded_plugin(project):
    """With the entry point installed the module is loaded under the name ``rnnshape`` (without it,
    a conftest stands in for that load), and ``-p rnnshape`` is then the switch."""
    _loaded_as_installed(project)
    result = project.runpytest_subprocess("-p", "rnnshape", "-k", "lstm_state")
    result.assert_outcomes(failed=1)
    assert "hidden-batch-mismatch" in _section(result.stdout.str())
