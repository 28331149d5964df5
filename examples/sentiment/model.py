"""Sentiment classifier: Embedding -> bidirectional LSTM -> Linear on the last states.

    python examples/sentiment/model.py                      # one tiny forward on the CPU
    rnnshape check examples/sentiment/check.toml            # the LSTM's shapes, in CI
    rnnshape trace examples/sentiment/model.py:SentimentClassifier \\
        --input-shape 8,20 --input-dtype long               # the shape flow, module by module
"""

from __future__ import annotations

import torch
from torch import nn


class SentimentClassifier(nn.Module):
    def __init__(self, vocab_size: int = 100, embed_dim: int = 16, hidden: int = 32,
                 classes: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        # both directions' last states, side by side: 2 * hidden features
        self.classifier = nn.Linear(2 * hidden, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # tokens: (batch, seq_len) int64
        x = self.embedding(tokens)                  # (batch, seq_len, embed_dim)
        _, (h_n, _) = self.lstm(x)                  # h_n: (2 directions, batch, hidden)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)  # (batch, 2 * hidden)
        return self.classifier(last)                # (batch, classes)


if __name__ == "__main__":
    model = SentimentClassifier()
    tokens = torch.randint(0, 100, (8, 20))
    logits = model(tokens)
    assert logits.shape == (8, 2), logits.shape
    print(f"logits {tuple(logits.shape)}")
