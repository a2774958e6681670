"""Pruning's numbers (issue 19): LeNet-5 on the MNIST digits that ship with ember, trained,
then (a) 50% of its weights pruned at once by magnitude (``global_unstructured``) and
fine-tuned, (b) 50% of the channels of each layer but the last pruned (``ln_structured``),
fine-tuned, and taken out (``remove_channels``): test accuracy of each, and the time of a
forward pass and of a training step of the full and the smaller model, in the same run.

Usage: PYTHONPATH=. python tools/prune_numbers.py [--epochs 8] [--tune 2]   (1 thread)
"""
import argparse
import os
import platform
import time

for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.nn.utils import prune  # noqa: E402


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def data():
    images, labels = ember.datasets.mnist_5k()
    order = ember.randperm(len(labels), generator=ember.Generator().manual_seed(0))
    x, y = images[order].unsqueeze(1), labels[order]
    return x[:4000], y[:4000], x[4000:], y[4000:]


def train(model, x, y, epochs, lr=0.02, seed=0):
    opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loader = ember.data.DataLoader(ember.data.TensorDataset(x, y), batch_size=32, shuffle=True,
                                   generator=ember.Generator().manual_seed(seed))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()


def accuracy(model, x, y):
    model.eval()
    with ember.no_grad():
        return 100 * (model(x).argmax(1) == y).float().mean().item()


def timed(fn, repeats=20):
    fn()
    best = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best.append((time.perf_counter() - start) / repeats)
    return min(best) * 1e3


def speed(model, batch):
    x = ember.randn(batch, 1, 28, 28)
    y = ember.randint(0, 10, (batch,))
    opt = ember.optim.SGD(model.parameters(), lr=0.0)

    def forward():
        with ember.no_grad():
            model(x)

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    return timed(forward), timed(step)


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--tune', type=int, default=2, help='fine-tuning epochs after pruning')
    args = p.parse_args()
    ember.manual_seed(0)
    x, y, xt, yt = data()
    base = lenet()
    train(base, x, y, args.epochs)
    acc = accuracy(base, xt, yt)
    state = base.state_dict()

    dense = lenet()
    dense.load_state_dict(state)
    layers = [(m, 'weight') for m in dense.modules() if type(m).__name__ in ('Conv2d', 'Linear')]
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=0.5)
    acc_cut = accuracy(dense, xt, yt)
    train(dense, x, y, args.tune, lr=0.01, seed=1)
    acc_unstructured = accuracy(dense, xt, yt)
    zeros = sum(int((m.weight == 0).sum()) for m, _ in layers)
    total = sum(m.weight.numel() for m, _ in layers)

    small = lenet()
    small.load_state_dict(state)
    for i in (0, 3, 7, 9):
        prune.ln_structured(small[i], 'weight', 0.5, n=2, dim=0)
        alive = small[i].weight_mask.reshape(small[i].weight.shape[0], -1).amax(1)
        prune.custom_from_mask(small[i], 'bias', alive)
    train(small, x, y, args.tune, lr=0.01, seed=1)
    for i in (0, 3, 7, 9):
        prune.remove(small[i], 'weight')
        prune.remove(small[i], 'bias')
    acc_masked = accuracy(small, xt, yt)
    removed = prune.remove_channels(small, xt[:8])
    acc_structured = accuracy(small, xt, yt)

    full_params = sum(p.numel() for p in base.parameters())
    small_params = sum(p.numel() for p in small.parameters())
    print(f'machine: {cpu_name()}, {os.cpu_count()} CPUs, 1 thread; ember '
          f'{ember.__version__}, numpy {np.__version__}')
    print(f'LeNet-5, {args.epochs} epochs on 4,000 digits: test accuracy {acc:.1f}% (1,000 '
          f'digits)')
    print(f'50% unstructured (global L1, {zeros:,} of {total:,} weights zero): {acc_cut:.1f}% '
          f'pruned, {acc_unstructured:.1f}% after {args.tune} epochs of fine-tuning '
          f'({acc_unstructured - acc:+.1f} points)')
    print(f'50% of channels (L2, per layer), fine-tuned {args.tune} epochs: {acc_masked:.1f}%, '
          f'removed {removed}: {acc_structured:.1f}% ({acc_structured - acc:+.1f} points); '
          f'parameters {full_params:,} -> {small_params:,}')
    for batch in (1, 64, 256):
        (fb, sb), (fs, ss) = speed(base, batch), speed(small, batch)
        print(f'batch {batch:3d}: forward {fb:.3f} -> {fs:.3f} ms ({fb / fs:.2f}x), training '
              f'step {sb:.3f} -> {ss:.3f} ms ({sb / ss:.2f}x)')


if __name__ == '__main__':
    main()
