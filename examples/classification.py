"""The talk's classification as a plain script: three classes of 2-D points (a spiral).

    python examples/classification.py [--tensorboard DIR]
"""
import argparse

import ember
from ember import nn
from ember.utils.tensorboard import SummaryWriter

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--tensorboard', metavar='DIR', help='also log to DIR for TensorBoard')
board = parser.parse_args().tensorboard
writer = SummaryWriter(board) if board else None      # (pip install ember[viz])


class SampleModel(nn.Module):
    def __init__(self, in_size, hidden_size, out_size):
        super().__init__()
        self.layer_1 = nn.Tensor.uniform(in_size, hidden_size)
        self.layer_2 = nn.Tensor.uniform(hidden_size, out_size)

    def forward(self, xs):
        return xs.dot(self.layer_1).sigmoid().dot(self.layer_2).logsoftmax()


ember.manual_seed(0)
x, y = ember.datasets.spiral(seed=0)
x_test, y_test = ember.datasets.spiral(seed=1)          # fresh points for testing
x, x_test = x * 5, x_test * 5                             # useful inputs for the sigmoid layer
loader = ember.data.DataLoader(ember.data.TensorDataset(x, y), batch_size=10, shuffle=True,
                               generator=ember.Generator().manual_seed(0))

model = SampleModel(2, 100, 3)
optimizer = ember.optim.Adam(model.parameters(), lr=0.05)
for epoch in range(10):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.nll_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
    with ember.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f'epoch {epoch + 1:2d}  loss {loss.item():.4f}  test accuracy {100 * accuracy:.1f}%')
    if writer:
        writer.add_scalar('loss', loss.item(), epoch + 1)
        writer.add_scalar('test_accuracy', accuracy, epoch + 1)
if writer:
    writer.close()
