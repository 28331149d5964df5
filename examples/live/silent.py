"""Two mistakes torch never reports. Find them live: rnnshape run --warn examples/live/silent.py"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
loader = DataLoader(TensorDataset(torch.randn(64, 20, 8), torch.randint(0, 2, (64,))), batch_size=16)
encoder = nn.GRU(8, 32, bidirectional=True)  # batch_first=True forgotten: x is (batch, seq, features)
head = nn.Linear(32, 2)
for x, _labels in loader:
    _, h_n = encoder(x)
    logits = head(h_n[-1])  # the last layer's backward direction only
print(f"logits {tuple(logits.shape)} for a batch of {x.size(0)}")
