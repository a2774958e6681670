"""A multilayer perceptron (784-256-10) on the 5,000 MNIST digits that ship with ember.

    python examples/mnist_mlp.py [--tensorboard DIR]

The digits are shuffled with a fixed seed and split 4,000 for training, 1,000 for testing.
EMBER_EXAMPLE_QUICK=1 trains on a few batches only (for the tests).
"""
import argparse
import os
import time

import ember
from ember import nn
from ember.utils.tensorboard import SummaryWriter

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--tensorboard', metavar='DIR', help='also log to DIR for TensorBoard')
board = parser.parse_args().tensorboard
writer = SummaryWriter(board) if board else None      # (pip install ember[viz])
QUICK = os.environ.get('EMBER_EXAMPLE_QUICK') == '1'
EPOCHS = 1 if QUICK else 8

ember.manual_seed(0)
images, labels = ember.datasets.mnist_5k()              # sorted by label: shuffle first
order = ember.randperm(len(labels), generator=ember.Generator().manual_seed(0))
x, y = images[order].reshape(-1, 28 * 28), labels[order]
x_train, y_train, x_test, y_test = x[:4000], y[:4000], x[4000:], y[4000:]
if QUICK:
    x_train, y_train = x_train[:256], y_train[:256]
loader = ember.data.DataLoader(ember.data.TensorDataset(x_train, y_train), batch_size=64,
                               shuffle=True, generator=ember.Generator().manual_seed(0))

model = nn.Sequential(
    nn.Linear(28 * 28, 256),
    nn.ReLU(),
    nn.Linear(256, 10),
)
optimizer = ember.optim.Adam(model.parameters(), lr=1e-3)



def train_loss():
    """The loss over the whole training set, in eval mode (the quick run's check)."""
    model.eval()
    with ember.no_grad():
        return nn.functional.cross_entropy(model(x_train), y_train).item()


before = train_loss() if QUICK else None
start = time.perf_counter()
for epoch in range(EPOCHS):
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(yb), count + len(yb)
    model.eval()
    with ember.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f'epoch {epoch + 1:2d}  loss {total / count:.4f}  test accuracy {100 * accuracy:.1f}%')
    if writer:
        writer.add_scalar('loss', total / count, epoch + 1)
        writer.add_scalar('test_accuracy', accuracy, epoch + 1)
if writer:
    writer.add_graph(model, x_test[:8])
    writer.close()
print(f'trained in {time.perf_counter() - start:.1f} s')
if QUICK:   # seeded: on any machine the same run, up to rounding
    print(f'training-set loss: {before:.4f} -> {train_loss():.4f}')
print(f'test accuracy: {100 * accuracy:.1f}%')
