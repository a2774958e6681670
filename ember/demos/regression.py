"""The talk's regression: the width of industrial parts from their length, with the talk's
model (``nn.Tensor.line(1, 1)``) trained by SGD on mini-batches of 20."""
import ember
from ember import nn
from ember.datasets import synthetic

from . import board, log_end, check_args, out_path, progress, pyplot, table


class SampleModel(nn.Module):
    def __init__(self):
        super(SampleModel, self).__init__()
        self.line_layer = nn.Tensor.line(1, 1)

    def forward(self, x: nn.Tensor) -> nn.Tensor:
        out = self.line_layer(x)
        return out


def run(epochs=20, lr=0.1, seed=0, device='cpu', out='runs', bars=True, tensorboard=None):
    """Train on ``ember.datasets.parts()``; return the fitted slope and intercept in mm.

    Lengths and widths are standardised for training (SGD then converges in a few epochs);
    the learned line is mapped back to millimetres for the report. ``tensorboard``: a folder
    to log the loss of each epoch, the graph and the weights to (``regression/`` in it).

    >>> r = run(epochs=20, out=None, bars=False)
    >>> abs(r['slope'] / r['true_slope'] - 1) < 0.02
    True
    """
    check_args('regression', epochs, lr, seed)
    ember.manual_seed(seed)
    length, width = ember.datasets.parts(seed=seed)
    xm, xs, ym, ys = length.mean(), length.std(), width.mean(), width.std()
    x, y = ((length - xm) / xs).to(device), ((width - ym) / ys).to(device)
    data = ember.data.DataLoader(ember.data.TensorDataset(x, y), batch_size=20, shuffle=True,
                                 generator=ember.Generator().manual_seed(seed))
    model = SampleModel().to(device)
    opt = ember.optim.SGD(model.parameters(), lr=lr)
    losses = []
    writer = board(tensorboard, 'regression')
    for epoch in progress(range(epochs), 'regression', bars):
        total = 0.0
        for xb, yb in data:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / len(x))
        if writer:
            writer.add_scalar('loss', losses[-1], epoch + 1)
    w = model.line_layer.weight.item()
    b = model.line_layer.bias.item()
    slope = ys.item() * w / xs.item()
    intercept = ym.item() + ys.item() * (b - w * xm.item() / xs.item())
    result = dict(slope=slope, intercept=intercept, true_slope=synthetic.PARTS_SLOPE,
                  true_intercept=synthetic.PARTS_INTERCEPT, final_loss=losses[-1],
                  losses=losses)
    if writer:
        log_end(writer, model, x[:20], dict(lr=lr, epochs=epochs, seed=seed),
                dict(final_loss=losses[-1], slope=slope))
    if out:
        _draw(length, width, result, out)
    return result


def _draw(length, width, r, out):
    plt = pyplot()
    if plt is None:
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.scatter(length.numpy(), width.numpy(), s=8, alpha=0.6, label='parts')
    xs = [length.min().item(), length.max().item()]
    a.plot(xs, [r['slope'] * v + r['intercept'] for v in xs], 'r-',
           label=f"fit: width = {r['slope']:.3f} length + {r['intercept']:.3f}")
    a.set_xlabel('length (mm)')
    a.set_ylabel('width (mm)')
    a.set_title('industrial parts: width from length')
    a.legend()
    b.plot(range(1, len(r['losses']) + 1), r['losses'])
    b.set_yscale('log')
    b.set_xlabel('epoch')
    b.set_ylabel('MSE (standardised units)')
    b.set_title('training loss')
    fig.tight_layout()
    path = out_path(out, 'regression.png')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    r['picture'] = path


def report(r):
    table('regression: width of parts from their length', [
           ('slope (true)', f"{r['slope']:.4f} ({r['true_slope']})"),
           ('intercept (true)', f"{r['intercept']:.4f} ({r['true_intercept']})"),
           ('slope error', f"{100 * abs(r['slope'] / r['true_slope'] - 1):.2f} %"),
           ('intercept error', f"{100 * abs(r['intercept'] / r['true_intercept'] - 1):.2f} %"),
           ('final loss', f"{r['final_loss']:.5f}"),
           ('picture', r.get('picture', '-'))])
