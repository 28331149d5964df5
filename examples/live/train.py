"""A training loop with the classic last-batch bug. Run it live: rnnshape run examples/live/train.py"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
data = TensorDataset(torch.randn(10, 12, 8), torch.randint(0, 3, (10,)))
loader = DataLoader(data, batch_size=4)  # batches of 4, 4 and 2


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 3)
        self.state = (torch.zeros(2, 4, 16), torch.zeros(2, 4, 16))  # built once, for batch 4

    def forward(self, x):
        out, _ = self.lstm(x, self.state)
        return self.fc(out[:, -1])


model = Classifier()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(2):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"epoch {epoch}: loss {loss.item():.3f}")
