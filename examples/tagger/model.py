"""GRU sequence tagger: one tag per token (Embedding -> 2-layer bidirectional GRU -> Linear).

    python examples/tagger/model.py
    rnnshape check examples/tagger/check.toml
    rnnshape trace examples/tagger/model.py:build_tagger --input-shape 4,12 --input-dtype long \\
        --init-args '{"tags": 9}'
"""

from __future__ import annotations

import torch
from torch import nn


class GRUTagger(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int, hidden: int, tags: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.gru = nn.GRU(embed_dim, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.tagger = nn.Linear(2 * hidden, tags)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (batch, seq_len) int64
        out, _ = self.gru(self.embedding(tokens))   # (batch, seq_len, 2 * hidden)
        return self.tagger(out)                      # (batch, seq_len, tags)


def build_tagger(vocab_size: int = 50, embed_dim: int = 10, hidden: int = 16, tags: int = 5) -> GRUTagger:
    """A factory, as many projects have: rnnshape trace calls it on the target device."""
    return GRUTagger(vocab_size, embed_dim, hidden, tags)


if __name__ == "__main__":
    model = build_tagger()
    scores = model(torch.randint(0, 50, (4, 12)))
    assert scores.shape == (4, 12, 5), scores.shape
    print(f"tag scores {tuple(scores.shape)}")
