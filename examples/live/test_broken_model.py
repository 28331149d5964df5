"""A failing test, for the pytest plugin: python -m pytest --rnnshape examples/live/test_broken_model.py"""

import torch
from torch import nn


def test_encoder_accepts_a_batch():
    gru = nn.GRU(8, 32, num_layers=2, batch_first=True)
    x = torch.randn(5, 7, 8)
    h_0 = torch.zeros(5, 2, 32)  # laid out batch-first, like x
    out, _ = gru(x, h_0)
    assert out.shape == (5, 7, 32)
