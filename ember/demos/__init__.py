"""The talk's two applications, behind ``ember demo``: a regression (the width of industrial
parts from their length) and a three-class classification of 2-D points.

Both use the talk's model classes as printed, train with ember's public API, show tqdm
progress bars, print a table of results and draw pictures with matplotlib (the ``viz`` extra;
without it the pictures are skipped with a message).
"""
import math
import os


def check_args(demo, epochs, lr, seed):
    """Refuse what would train on nonsense or fail deep inside (the command line checks the
    same with argparse): at least one epoch, a finite positive learning rate, a seed >= 0."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'{demo} demo: epochs must be a whole number >= 1, got {epochs!r}')
    if not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f'{demo} demo: lr must be a finite number > 0, got {lr!r}')
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise ValueError(f'{demo} demo: seed must be a whole number in [0, 2**63), got '
                         f'{seed!r}')


def progress(iterable, desc, enabled=True):
    """A tqdm progress bar when tqdm is installed (``pip install ember[viz]``)."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, leave=False)


def pyplot():
    """matplotlib's pyplot on a file-only backend, or None with a message if not installed."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print('matplotlib is not installed: no pictures (pip install ember[viz])')
        return None


def out_path(out, name):
    os.makedirs(out, exist_ok=True)
    return os.path.join(out, name)


def table(title, rows):
    """Print a title and ``[(name, value), ...]`` as a two-column table."""
    width = max(len(r[0]) for r in rows)
    print(f'== {title} ' + '=' * max(width + 20 - len(title), 4))
    for name, value in rows:
        print(f'{name:<{width}}  {value}')
    print('=' * (width + 24))


def board(folder, demo):
    """A TensorBoard writer for ``demo`` in ``folder/demo`` (``--tensorboard``), or None."""
    if not folder:
        return None
    from ember.utils.tensorboard import SummaryWriter
    return SummaryWriter(os.path.join(folder, demo))


def log_end(writer, model, example, hparams, metrics):
    """The end of a logged run: the model's graph, its parameters' histograms, the
    hyperparameters with the results they gave."""
    writer.add_graph(model, example)
    for name, p in model.named_parameters():
        writer.add_histogram(name, p, len(hparams))
    writer.add_hparams(hparams, metrics)
    writer.close()
