"""Seq2seq encoder over packed batches: padded token ids + lengths -> per-token states + summary.

    python examples/seq2seq/model.py
    rnnshape check examples/seq2seq/check.toml
    rnnshape trace examples/seq2seq/model.py:Encoder --input-shape 4,7 --input-dtype long \\
        --input-value "[7, 5, 3, 2]"
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Encoder(nn.Module):
    def __init__(self, vocab_size: int = 60, embed_dim: int = 16, hidden: int = 24,
                 num_layers: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=num_layers, batch_first=True,
                            bidirectional=True)
        # the decoder starts from both directions' last state, projected back to hidden
        self.bridge = nn.Linear(2 * hidden, hidden)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor):
        x = self.embedding(tokens)                                   # (batch, seq_len, embed_dim)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = self.lstm(packed)                          # h_n: (layers * 2, batch, hidden)
        out, _ = pad_packed_sequence(out, batch_first=True)          # (batch, longest, 2 * hidden)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)                  # (batch, 2 * hidden)
        return out, torch.tanh(self.bridge(last))                    # summary: (batch, hidden)


if __name__ == "__main__":
    encoder = Encoder()
    tokens = torch.randint(1, 60, (4, 7))
    lengths = torch.tensor([5, 7, 2, 3])          # unsorted: enforce_sorted=False sorts them
    out, summary = encoder(tokens, lengths)
    assert out.shape == (4, 7, 48), out.shape
    assert summary.shape == (4, 24), summary.shape
    print(f"states {tuple(out.shape)}, summary {tuple(summary.shape)}")
