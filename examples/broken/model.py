"""A broken model, on purpose: the classifier was sized for one direction of a bidirectional LSTM.

    python examples/broken/model.py          # fails like it would in training
    rnnshape trace examples/broken/model.py:BrokenClassifier --input-shape 8,20 --input-dtype long

The trace shows the shapes up to the failing module (classifier: Linear(in_features=32)),
the output that reached it ((8, 64) = both directions' states side by side) and the fix.
"""

from __future__ import annotations

import torch
from torch import nn


class BrokenClassifier(nn.Module):
    def __init__(self, vocab_size: int = 100, embed_dim: int = 16, hidden: int = 32,
                 classes: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(hidden, classes)   # BUG: bidirectional gives 2 * hidden

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)
        _, (h_n, _) = self.lstm(x)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)   # (batch, 2 * hidden)
        return self.classifier(last)


class WrongEmbeddingSize(nn.Module):
    """A second mistake: the LSTM was built for 32 features, the embedding gives 16."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(32, 32, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(tokens))
        return out


if __name__ == "__main__":
    BrokenClassifier()(torch.randint(0, 100, (8, 20)))
