"""Per-construct tests of the follower's convolution, pooling, batch norm and Flatten rules (rules_conv.py).

Each case names a variable and the shape ``diagnose`` gives it (or the error it stops with, or ``?`` when it
must not follow). Real torch is the oracle, as in tests/test_diagnose_rules.py: a concrete shape must be
torch's, an error torch's error at the same line (and torch's own message where rnnshape quotes one).
"""

from __future__ import annotations

import pytest
from conftest import (
    RULE_HEAD,
    assert_rule_agrees_with_torch,
    follow_rule_cases,
    followed_shape,
    torch_rule_cases,
)

from rnnshape.diagnose.follower import rules, rules_conv
from rnnshape.diagnose.snippets import diagnose_paste

HEAD = RULE_HEAD

#: name -> (code after HEAD, variable, expected: "(3, 4)" its shape, "!code" the error, "?" not followed)
CASES: dict[str, tuple[str, str, str]] = {
    # ---- convolutions: module and functional spellings, one rule
    "conv2d_module": ("c = nn.Conv2d(4, 32, kernel_size=8, stride=1, padding=1)(torch.randn(2, 4, 84, 84))", "c",
                      "(2, 32, 79, 79)"),
    "conv2d_stride_dilation": ("m = nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2)\n"
                               "c = m(torch.randn(2, 3, 17, 20))", "c", "(2, 8, 8, 16)"),
    "conv2d_groups": ("c = nn.Conv2d(4, 8, 3, groups=2)(torch.randn(1, 4, 5, 5))", "c", "(1, 8, 3, 3)"),
    "conv2d_unbatched": ("c = nn.Conv2d(3, 6, 3)(torch.randn(3, 10, 10))", "c", "(6, 8, 8)"),
    "conv2d_same": ("c = nn.Conv2d(3, 6, 4, padding='same')(torch.randn(2, 3, 9, 7))", "c", "(2, 6, 9, 7)"),
    "conv2d_same_strided": ("c = nn.Conv2d(3, 6, 4, stride=2, padding='same')(torch.randn(2, 3, 9, 7))", "c", "?"),
    "conv2d_valid": ("c = nn.Conv2d(3, 6, 4, padding='valid')(torch.randn(2, 3, 9, 7))", "c", "(2, 6, 6, 4)"),
    "conv2d_functional": ("w = torch.randn(16, 3, 3, 3)\nc = F.conv2d(torch.randn(2, 3, 8, 8), w, stride=2)", "c",
                          "(2, 16, 3, 3)"),
    "conv1d_module": ("c = nn.Conv1d(1, 514, 400, stride=100, bias=False)(torch.randn(2, 1, 1600))", "c",
                      "(2, 514, 13)"),
    "conv1d_functional": ("c = F.conv1d(torch.randn(4, 2, 10), torch.randn(5, 2, 3), None, 1, 1)", "c",
                          "(4, 5, 10)"),
    "conv2d_channels_differ": ("conv = nn.Conv2d(4, 32, 8)\nc = conv(torch.randn(2, 3, 84, 84))", "c",
                               "!shape-op"),
    "conv2d_unbatched_channels_differ": ("c = nn.Conv2d(4, 32, 3)(torch.randn(3, 10, 10))", "c", "!shape-op"),
    "conv2d_wrong_rank": ("c = nn.Conv2d(4, 32, 3)(torch.randn(4, 10))", "c", "!shape-op"),
    "conv2d_input_too_small": ("c = nn.Conv2d(4, 8, 5)(torch.randn(1, 4, 3, 3))", "c", "!shape-op"),
    "conv2d_in_sequential": ("m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())\n"
                             "c = m(torch.randn(5, 1, 10, 10))", "c", "(5, 64)"),
    # ---- symbolic sizes stay symbolic; a channel count the code does not fix is no error
    "conv2d_symbolic_channels": ("c = nn.Conv2d(n_channels, 8, 3)(torch.randn(2, 3, 6, 6))", "c", "(2, 8, 4, 4)"),
    "conv2d_symbolic_length": ("def f(x):\n    return nn.Conv2d(3, 8, 3, stride=1)(x)\nc = f(torch.randn(2, 3, 5, 5))",
                               "c", "(2, 8, 3, 3)"),
    "conv_kernel_unreadable": ("c = nn.Conv2d(3, 8, kernel)(torch.randn(2, 3, 5, 5))", "c", "?"),
    "conv_groups_do_not_divide": ("c = nn.Conv2d(n, 8, 3, groups=3)(torch.randn(2, 3, 5, 5))", "c", "?"),
    # ---- pooling
    "max_pool2d_functional": ("c = F.max_pool2d(torch.randn(32, 32, 79, 79), kernel_size=2, stride=2)", "c",
                              "(32, 32, 39, 39)"),
    "max_pool2d_positional": ("c = F.max_pool2d(torch.randn(2, 3, 9, 9), 3, 2, 1)", "c", "(2, 3, 5, 5)"),
    "max_pool2d_ceil": ("c = nn.MaxPool2d(2, ceil_mode=True)(torch.randn(1, 3, 5, 7))", "c", "(1, 3, 3, 4)"),
    "max_pool2d_ceil_last_window_in_padding": ("c = F.max_pool2d(torch.randn(1, 1, 6, 6), 3, 3, 1, ceil_mode=True)",
                                               "c", "(1, 1, 3, 3)"),
    "max_pool2d_dilation": ("c = nn.MaxPool2d(3, stride=1, dilation=2)(torch.randn(1, 2, 9, 9))", "c",
                            "(1, 2, 5, 5)"),
    "max_pool2d_indices": ("c, i = nn.MaxPool2d(2, return_indices=True)(torch.randn(1, 2, 4, 4))", "i",
                           "(1, 2, 2, 2) int64"),
    "max_pool1d_module": ("c = nn.MaxPool1d(3)(torch.randn(4, 6, 20))", "c", "(4, 6, 6)"),
    "avg_pool2d_module": ("c = nn.AvgPool2d(2, stride=1, padding=1)(torch.randn(2, 3, 4, 4))", "c", "(2, 3, 5, 5)"),
    "avg_pool1d_functional": ("c = F.avg_pool1d(torch.randn(2, 3, 10), 4, 3)", "c", "(2, 3, 3)"),
    "pool_unbatched": ("c = F.max_pool1d(torch.randn(6, 20), 2)", "c", "(6, 10)"),
    "pool_too_small": ("c = F.max_pool2d(torch.randn(1, 64, 1, 1), 2)", "c", "!shape-op"),
    "pool_padding_too_big": ("c = nn.MaxPool2d(2, padding=2)(torch.randn(1, 1, 8, 8))", "c", "!shape-op"),
    "pool_wrong_rank": ("c = F.avg_pool2d(torch.randn(8, 8), 2)", "c", "!shape-op"),
    "pool_then_relu": ("c = F.relu(F.max_pool2d(torch.randn(2, 4, 8, 8), kernel_size=2, stride=2))", "c",
                       "(2, 4, 4, 4)"),
    # ---- batch norm, flatten
    "batchnorm1d_2d": ("c = nn.BatchNorm1d(10)(torch.randn(4, 10))", "c", "(4, 10)"),
    "batchnorm1d_3d": ("c = nn.BatchNorm1d(10)(torch.randn(4, 10, 7))", "c", "(4, 10, 7)"),
    "batchnorm2d": ("c = nn.BatchNorm2d(3)(torch.randn(2, 3, 5, 5))", "c", "(2, 3, 5, 5)"),
    "batchnorm_features_differ": ("c = nn.BatchNorm1d(10)(torch.randn(4, 12))", "c", "!shape-op"),
    "batchnorm2d_wrong_rank": ("c = nn.BatchNorm2d(3)(torch.randn(2, 3, 5))", "c", "!shape-op"),
    "batchnorm1d_wrong_rank": ("c = nn.BatchNorm1d(3)(torch.randn(2, 3, 5, 5))", "c", "!shape-op"),
    "batchnorm_functional": ("c = F.batch_norm(torch.randn(4, 3, 2), torch.zeros(3), torch.ones(3))", "c",
                             "(4, 3, 2)"),
    "flatten_module": ("c = nn.Flatten()(torch.randn(2, 3, 4, 5))", "c", "(2, 60)"),
    "flatten_module_range": ("c = nn.Flatten(0, 1)(torch.randn(2, 3, 4))", "c", "(6, 4)"),
    "view_size0_minus1": ("h = F.max_pool2d(torch.randn(5, 8, 6, 6), 2)\nc = h.view(h.size(0), -1)", "c",
                          "(5, 72)"),
}

#: Cases torch cannot run as written (a size the snippet never defines).
STATIC_ONLY = {"conv2d_symbolic_channels"}


@pytest.fixture(scope="module")
def results() -> dict:
    return follow_rule_cases(CASES)


@pytest.fixture(scope="module")
def torch_results() -> dict:
    return torch_rule_cases(CASES, STATIC_ONLY)


@pytest.mark.parametrize("key", list(CASES))
def test_construct(key: str, results: dict) -> None:
    _, name, expected = CASES[key]
    assert followed_shape(results[key], name) == expected, results[key].findings


@pytest.mark.parametrize("key", list(CASES))
def test_construct_against_torch(key: str, results: dict, torch_results: dict) -> None:
    _, name, expected = CASES[key]
    if expected == "?" or key in STATIC_ONLY:
        return   # not followed: nothing claimed (or nothing torch can run)
    assert_rule_agrees_with_torch(expected, torch_results[key], results[key], every_shape_concrete=True)


def test_torch_messages_are_quoted_where_the_code_fixes_every_size(results: dict) -> None:
    """The errors whose sizes are all the code's carry torch's own message (checked equal above)."""
    for key in ("conv2d_channels_differ", "conv2d_unbatched_channels_differ", "conv2d_wrong_rank",
                "batchnorm_features_differ", "batchnorm2d_wrong_rank"):
        assert results[key].error.diagnosis.evidence.get("torch_message"), key


def test_one_rule_per_op_and_registering_twice_raises() -> None:
    assert rules.lookup("conv2d") is rules_conv.conv and rules.lookup("conv1d") is rules_conv.conv
    assert rules.lookup("max_pool2d") is rules.lookup("avg_pool1d") is rules_conv.pool
    with pytest.raises(ValueError, match="already registered"):
        rules.register("conv2d")(rules_conv.conv)


def test_symbolic_lengths_stay_symbolic() -> None:
    code = ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.conv = nn.Conv2d(3, 8, 3, stride=2)\n    def forward(self, x):\n"
            "        h = F.max_pool2d(self.conv(x), 2)\n        return h\n")
    r = diagnose_paste(HEAD + code)
    assert r.error is None
    texts = [s.text for line in sorted(r.followed.shapes) for s in r.followed.shapes[line] if s.name == "h"]
    assert texts and texts[-1].startswith("(B, 8, ") and "H" in texts[-1] and "W" in texts[-1], texts


def test_channel_mismatch_is_no_error_when_a_size_is_symbolic() -> None:
    code = ("class M(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
            "        self.a = nn.Conv1d(c, 8, 3)\n        self.b = nn.Conv1d(c, 4, 1)\n"
            "    def forward(self, x):\n        return self.b(self.a(x))\n")
    assert diagnose_paste(HEAD + code).error is None   # c may well be 8


# --------------------------------------------------------------------------- provenance through conv/pool


_CNN_LSTM = ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "        self.conv = nn.Conv2d(4, 8, 3, padding=1)\n        self.lstm = nn.LSTM(16, 5{bf})\n"
             "    def forward(self, x):\n        h = F.max_pool2d(self.conv(x), 2)\n"
             "        h = h.view(h.size(0), h.size(1), 16)\n        out, _ = self.lstm(h)\n        return out\n")


def _warnings(code: str) -> list[str]:
    r = diagnose_paste(HEAD + code)
    return [f.diagnosis.code for f in r.findings if f.diagnosis.severity == "warning"]


def test_batch_first_warning_sees_the_conv_batch_axis() -> None:
    """A CNN's (N, C, H, W) output viewed as (N, C, 16) and read by an LSTM without batch_first: the batch is
    dimension 0 by the convolution's own definition, and the layer reads dimension 1 as the batch."""
    assert "batch-first-suspect" in _warnings(_CNN_LSTM.format(bf=""))
    assert "batch-first-suspect" not in _warnings(_CNN_LSTM.format(bf=", batch_first=True"))


def test_no_batch_first_warning_once_the_axes_are_swapped() -> None:
    code = _CNN_LSTM.format(bf="").replace("out, _ = self.lstm(h)", "out, _ = self.lstm(h.permute(1, 0, 2))")
    assert "batch-first-suspect" not in _warnings(code)


def test_batch_first_warning_fires_in_torch_terms() -> None:
    """The same model run in torch: the LSTM really gets (N, C, 16) with N first and batch_first off."""
    from conftest import run_in_torch

    code = HEAD + _CNN_LSTM.format(bf="") + "out = M()(torch.randn(2, 4, 8, 8))\n"
    real = run_in_torch({"cnn": {"code": code, "value": "out"}})["cnn"]
    assert real["ok"] and real["shape"] == [2, 8, 5]   # dimension 0 (the 2 images) was read as time
