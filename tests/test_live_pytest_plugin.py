"""The pytest plugin, run with pytester in subprocesses (the hooks stay out of this session)."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

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


@pytest.mark.parametrize("flags", [("--rnnshape", "-p", "rnnshape.live.pytest_plugin"),
                                   ("-p", "rnnshape.live.pytest_plugin")])
def test_active_plugin_explains_a_recurrent_failure(project, flags):
    result = project.runpytest_subprocess(*flags, "-k", "lstm_state or not_recurrent")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    section = _section(out)
    assert "nn.LSTM(4, 6, batch_first=True)" in section
    assert "hidden-batch-mismatch" in section and "(verified by the shape" in section
    assert out.count("rnnshape: the live call behind this error") == 1  # the KeyError test gets nothing


def test_loaded_but_not_asked_for_is_inert(project):
    """As an installed pytest11 entry point it loads in every run: then it must do nothing."""
    project.makeconftest("pytest_plugins = ['rnnshape.live.pytest_plugin']\n")
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=2, passed=1)
    assert "rnnshape: the live call" not in result.stdout.str()


def test_dash_p_rnnshape_activates_the_loaded_plugin(project):
    """With the entry point installed the module is loaded under the name ``rnnshape``; the conftest
    stands in for that load here, and ``-p rnnshape`` is then the switch."""
    project.makeconftest("pytest_plugins = ['rnnshape.live.pytest_plugin']\n")
    result = project.runpytest_subprocess("-p", "rnnshape", "-k", "lstm_state")
    result.assert_outcomes(failed=1)
    assert "hidden-batch-mismatch" in _section(result.stdout.str())
