"""The talk's classification: three classes of 2-D points (a spiral), with the talk's model
(``xs.dot(w1).sigmoid().dot(w2).logsoftmax()``), trained for 10 epochs."""
import numpy as np

import ember
from ember import nn

from . import board, log_end, check_args, out_path, progress, pyplot, table

SCALE = 5.0   # the spiral lies in the unit disc; scaled so the sigmoid layer sees useful inputs


class SampleModel(nn.Module):
    def __init__(self, in_size, hidden_size, out_size):
        super().__init__()
        self.layer_1 = nn.Tensor.uniform(in_size, hidden_size)
        self.layer_2 = nn.Tensor.uniform(hidden_size, out_size)

    def forward(self, xs):
        return xs.dot(self.layer_1).sigmoid().dot(self.layer_2).logsoftmax()


def accuracy(model, x, y):
    with ember.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def run(epochs=10, lr=0.05, seed=0, device='cpu', out='runs', bars=True, tensorboard=None):
    """Train on ``ember.datasets.spiral(seed=seed)`` (300 points) with Adam and batches of 10;
    test on 300 fresh points (``spiral(seed=seed + 1)``). ``tensorboard``: a folder to log
    each epoch's mean loss and test accuracy, the graph and the weights to.

    >>> r = run(out=None, bars=False)
    >>> r['test_accuracy'] >= 0.9
    True
    """
    check_args('classification', epochs, lr, seed)
    ember.manual_seed(seed)
    x, y = ember.datasets.spiral(seed=seed)
    xt, yt = ember.datasets.spiral(seed=seed + 1)
    x, xt = (x * SCALE).to(device), (xt * SCALE).to(device)
    y, yt = y.to(device), yt.to(device)
    data = ember.data.DataLoader(ember.data.TensorDataset(x, y), batch_size=10, shuffle=True,
                                 generator=ember.Generator().manual_seed(seed))
    model = SampleModel(2, 100, 3).to(device)
    before = _regions(model) if out else None
    acc_before = accuracy(model, xt, yt)
    opt = ember.optim.Adam(model.parameters(), lr=lr)
    writer = board(tensorboard, 'classification')
    for epoch in progress(range(epochs), 'classification', bars):
        total = 0.0
        for xb, yb in data:
            opt.zero_grad()
            loss = nn.functional.nll_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb) if writer else 0.0
        if writer:
            writer.add_scalar('loss', total / len(x), epoch + 1)
            writer.add_scalar('test_accuracy', accuracy(model, xt, yt), epoch + 1)
    result = dict(epochs=epochs, train_accuracy=accuracy(model, x, y),
                  test_accuracy=accuracy(model, xt, yt), accuracy_before=acc_before,
                  final_loss=loss.item())
    if writer:
        log_end(writer, model, x[:10], dict(lr=lr, epochs=epochs, seed=seed),
                dict(test_accuracy=result['test_accuracy'], final_loss=result['final_loss']))
    if out:
        _draw(x, y, before, _regions(model), result, out)
    return result


def _regions(model, n=200):
    """Predicted class on an n x n grid over the data's square."""
    g = np.linspace(-1.1 * SCALE, 1.1 * SCALE, n, dtype=np.float32)
    gx, gy = np.meshgrid(g, g)
    pts = ember.tensor(np.stack([gx.ravel(), gy.ravel()], 1))
    with ember.no_grad():
        device = next(model.parameters()).device
        pred = model(pts.to(device)).argmax(1).cpu().numpy()
    return g, pred.reshape(n, n)


def _draw(x, y, before, after, r, out):
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    pts, labels = x.cpu().numpy(), y.cpu().numpy()
    titles = (f"before training (test accuracy {100 * r['accuracy_before']:.0f}%)",
              f"after {r['epochs']} epochs (test accuracy {100 * r['test_accuracy']:.1f}%)")
    for ax, (g, pred), title in zip(axes, (before, after), titles):
        ax.contourf(g, g, pred, levels=[-0.5, 0.5, 1.5, 2.5], alpha=0.3, cmap='brg')
        ax.scatter(pts[:, 0], pts[:, 1], c=labels, s=10, cmap='brg', edgecolors='k',
                   linewidths=0.3)
        ax.set_title(title)
        ax.set_aspect('equal')
    fig.tight_layout()
    path = out_path(out, 'classification.png')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    r['picture'] = path


def report(r):
    table('classification: three classes of 2-D points', [
           ('epochs', r['epochs']),
           ('train accuracy', f"{100 * r['train_accuracy']:.1f} %"),
           ('test accuracy', f"{100 * r['test_accuracy']:.1f} % (fresh points)"),
           ('accuracy before training', f"{100 * r['accuracy_before']:.1f} %"),
           ('final loss', f"{r['final_loss']:.4f}"),
           ('picture', r.get('picture', '-'))])
