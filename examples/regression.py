"""The talk's regression as a plain script: the width of industrial parts from their length.

    python examples/regression.py [--tensorboard DIR]
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
    def __init__(self):
        super(SampleModel, self).__init__()
        self.line_layer = nn.Tensor.line(1, 1)

    def forward(self, x: nn.Tensor) -> nn.Tensor:
        out = self.line_layer(x)
        return out


ember.manual_seed(0)
length, width = ember.datasets.parts()
# standardise, so plain SGD converges in a few epochs; map the line back to mm at the end
xm, xs, ym, ys = length.mean(), length.std(), width.mean(), width.std()
x, y = (length - xm) / xs, (width - ym) / ys
loader = ember.data.DataLoader(ember.data.TensorDataset(x, y), batch_size=20, shuffle=True)

model = SampleModel()
optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(20):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
    if writer:
        writer.add_scalar('loss', loss.item(), epoch + 1)
if writer:
    writer.close()

w, b = model.line_layer.weight.item(), model.line_layer.bias.item()
slope = ys.item() * w / xs.item()
intercept = ym.item() + ys.item() * (b - w * xm.item() / xs.item())
print(f'width = {slope:.4f} * length + {intercept:.4f}   (last batch loss {loss.item():.5f})')
