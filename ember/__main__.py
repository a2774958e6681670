"""The ``ember`` command (also ``python -m ember``).

    ember demo [regression|classification|all] [--epochs N] [--lr LR] [--seed S]
               [--device cpu|cuda] [--out FOLDER]     # the talk's two applications
    ember --version                                    # prints "ember 0.2.0"
    ember                                              # the help (exit status 0, as pip)

``ember`` with no command prints its help and exits 0: asking for nothing is asking what there
is. A bad argument prints the usage and the error and exits 2 (argparse's usage error); a demo
whose training diverges exits 1.
"""
import argparse
import inspect
import math
import os
import sys

from . import __version__


def demo(args):
    """Train the demos that ``args`` (``ember demo``'s parsed arguments) names; 0, or 1 when a
    training diverged.

    >>> args = parsers()[0].parse_args(['demo', 'regression', '--epochs', '1'])
    >>> args.out = None   # no pictures
    >>> demo(args)
    ember demo regression: training on cpu ...
    ...
    0
    """
    from .demos import classification, regression
    names = ['regression', 'classification'] if args.name == 'all' else [args.name]
    for name in names:
        mod = regression if name == 'regression' else classification
        kwargs = dict(seed=args.seed, device=args.device, out=args.out,
                      tensorboard=getattr(args, 'tensorboard', None))
        if args.epochs is not None:
            kwargs['epochs'] = args.epochs
        if args.lr is not None:
            kwargs['lr'] = args.lr
        print(f'ember demo {name}: training on {args.device} ...')
        result = mod.run(**kwargs)
        mod.report(result)
        if not math.isfinite(result['final_loss']):
            print(f'ember demo {name}: training diverged (final loss {result["final_loss"]}); '
                  f'try a smaller --lr', file=sys.stderr)
            return 1
    return 0


def _whole(least, below=None):
    """An argparse type: a whole number >= ``least`` (and < ``2**below``)."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected a whole number, got {text!r}') from None
        if v < least or (below is not None and v >= 2 ** below):
            raise argparse.ArgumentTypeError(
                f'expected a whole number >= {least}' + ('' if below is None else
                                                         f' and < 2**{below}') + f', got {v}')
        return v
    parse.__name__ = 'whole number'
    return parse


def _learning_rate(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number, got {text!r}') from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f'expected a finite number > 0, got {text}')
    return v


def _device(text):
    from .backend import device
    try:
        dev = device(text)
    except (RuntimeError, ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if dev.type == 'cuda':
        from . import cuda
        if not cuda.is_available():
            raise argparse.ArgumentTypeError(f'{text!r}: CUDA is not available here (CuPy and '
                                             f'an NVIDIA GPU are needed); use --device cpu')
    return str(dev)


def _folder(text):
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f'{text!r} exists and is not a folder')
    return text


_RAW = argparse.RawDescriptionHelpFormatter   # the examples keep their line breaks


def _defaults():
    """The demos' own defaults, ``{'epochs': (20, 10), 'lr': (0.1, 0.05)}`` (regression,
    classification), read from their ``run`` so that the help cannot drift from them."""
    from .demos import classification, regression
    params = [inspect.signature(m.run).parameters for m in (regression, classification)]
    return {k: tuple(p[k].default for p in params) for k in ('epochs', 'lr')}


def parsers():
    """The command line's parser and its ``demo`` command's: ``(command, demo)``.

    >>> command, _ = parsers()
    >>> command.parse_args(['demo', 'regression', '--epochs', '3'])
    Namespace(cmd='demo', name='regression', epochs=3, lr=None, seed=0, device='cpu', \
out='runs', tensorboard=None)
    """
    p = argparse.ArgumentParser(
        prog='ember', formatter_class=_RAW,
        description='ember: a small deep learning framework that speaks PyTorch.',
        epilog='example:\n  ember demo regression --epochs 5    # fit a line, draw it in runs/')
    p.add_argument('-V', '--version', action='version', version=f'ember {__version__}',
                   help="print ember's version and exit")
    sub = p.add_subparsers(dest='cmd', title='commands', metavar='COMMAND',
                           help="one of these ('ember COMMAND --help' tells more):")
    d = sub.add_parser(
        'demo', formatter_class=_RAW, help="train the talk's two applications",
        description="Train the talk's two applications: a regression (the width of industrial\n"
                    'parts from their length) and a classifier of 2-D points in three classes.\n'
                    'Prints a table of results; draws pictures into --out when matplotlib is\n'
                    'installed (pip install ember[viz]).',
        epilog='examples:\n  ember demo                           # both, on the CPU\n'
               '  ember demo classification --epochs 3 --seed 1 --out /tmp/pictures')
    default = _defaults()
    d.add_argument('name', nargs='?', default='all',
                   choices=['regression', 'classification', 'all'],
                   help='which application to train (default: %(default)s)')
    d.add_argument('--epochs', type=_whole(1), default=None,
                   help='training epochs, >= 1 (default: %d for regression, %d for '
                        'classification)' % default['epochs'])
    d.add_argument('--lr', type=_learning_rate, default=None,
                   help='learning rate, a finite number > 0 (default: %g for regression, %g '
                        'for classification)' % default['lr'])
    d.add_argument('--seed', type=_whole(0, below=63), default=0,
                   help='random seed, in [0, 2**63) (default: %(default)s)')
    d.add_argument('--device', type=_device, default='cpu',
                   help="'cpu' or 'cuda' (default: %(default)s)")
    d.add_argument('--out', type=_folder, default='runs',
                   help='folder for the pictures, made if missing (default: %(default)s)')
    d.add_argument('--tensorboard', type=_folder, default=None, metavar='DIR',
                   help='also log losses, accuracy, the graph and the weights to DIR for '
                        'TensorBoard (needs tensorboardX: pip install ember[viz]; '
                        'default: %(default)s, no logs)')
    return p, d


def main(argv=None):
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    >>> main([])   # no command: the help
    usage: ember [-h] [-V] COMMAND ...
    ...
    0
    """
    p, d = parsers()
    args = p.parse_args(argv)
    if args.cmd is None:
        p.print_help()
        return 0
    if args.cmd == 'demo':
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as e:
            d.error(f'argument --out: cannot make the folder {args.out!r}: {e.strerror}')
        return demo(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
