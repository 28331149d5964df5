"""rnnshape.explained() in a script: python examples/live/explained.py"""

import torch
from torch import nn

import rnnshape

with rnnshape.explained():
    gru = nn.GRU(6, 10, batch_first=True)
    out, h_n = gru(torch.randn(3, 7, 6), torch.zeros(3, 1, 10))  # h_0 laid out like x
