"""Which pixels made LeNet-5 call a digit what it is: four ember.explain attributions.

    python examples/explain_mnist.py [--out explain_mnist.png]

Trains LeNet-5 for two epochs on the 5,000 MNIST digits that ship with ember (4,000 to train
on, after a seeded shuffle), then explains its prediction for six held-out digits with
Integrated Gradients (from a black image), Saliency, Grad-CAM on the second convolution's
ReLU (brought up to 28x28) and Occlusion (4x4 windows, stride 2), and saves the heatmaps as a
grid of pictures: one row per digit, the digit then the four maps (red: for the predicted
class, blue: against). Needs matplotlib (the ``viz`` extra). EMBER_EXAMPLE_QUICK=1 trains on
a few batches only (for the tests).
"""
import argparse
import os
import time

import ember
from ember import nn
from ember.explain import (IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion,
                           Saliency)

QUICK = os.environ.get('EMBER_EXAMPLE_QUICK') == '1'
EPOCHS = 1 if QUICK else 2
MEAN, STD = 0.1307, 0.3081


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def train(model, x, y):
    loader = ember.data.DataLoader(ember.data.TensorDataset(x, y), batch_size=32, shuffle=True,
                                   generator=ember.Generator().manual_seed(0))
    optimizer = ember.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    for epoch in range(EPOCHS):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    model.eval()


def explain(model, x, target):
    """The four maps for a batch ``x`` of normalised digits, each (N, 28, 28)."""
    baseline = ember.full_like(x, -MEAN / STD)            # black, in normalised units
    maps = {
        'Integrated Gradients': IntegratedGradients(model).attribute(
            x, baselines=baseline, target=target, n_steps=32),
        'Saliency': Saliency(model).attribute(x, target=target),
        'Grad-CAM (conv 2 + ReLU)': LayerAttribution.interpolate(
            LayerGradCam(model, model[4]).attribute(x, target=target, relu_attributions=True),
            (28, 28), 'bilinear'),
        'Occlusion 4x4': Occlusion(model).attribute(
            x, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), baselines=-MEAN / STD,
            target=target, perturbations_per_eval=16),
    }
    return {k: v[:, 0] for k, v in maps.items()}


def draw(digits, maps, predicted, labels, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    n, names = len(digits), list(maps)
    fig, axes = plt.subplots(n, 1 + len(names), figsize=(2 * (1 + len(names)), 2 * n))
    for i in range(n):
        axes[i, 0].imshow(digits[i], cmap='gray')
        axes[i, 0].set_title(f'label {labels[i]}, said {predicted[i]}', fontsize=9)
        for j, name in enumerate(names):
            m = maps[name][i].numpy()
            lim = abs(m).max() or 1.0
            axes[i, j + 1].imshow(m, cmap='bwr', vmin=-lim, vmax=lim)
            if i == 0:
                axes[i, j + 1].set_title(name, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='explain_mnist.png', help='the PNG to write')
    args = parser.parse_args()
    ember.manual_seed(0)
    images, labels = ember.datasets.mnist_5k()
    order = ember.randperm(len(labels), generator=ember.Generator().manual_seed(0))
    x, y = ((images[order] - MEAN) / STD).unsqueeze(1), labels[order]
    x_train, y_train = (x[:128], y[:128]) if QUICK else (x[:4000], y[:4000])
    model = lenet()
    start = time.perf_counter()
    train(model, x_train, y_train)
    with ember.no_grad():
        accuracy = (model(x[4000:]).argmax(1) == y[4000:]).float().mean().item()
    print(f'trained in {time.perf_counter() - start:.1f} s, test accuracy {100 * accuracy:.1f}%')
    digits = x[4000:4006]
    with ember.no_grad():
        predicted = model(digits).argmax(1)
    start = time.perf_counter()
    maps = explain(model, digits, predicted)
    print(f'explained {len(digits)} digits in {time.perf_counter() - start:.1f} s')
    draw(images[order][4000:4006], maps, predicted.tolist(), y[4000:4006].tolist(), args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
