"""The ``ember`` command (also ``python -m ember``): ``ember demo regression|classification|all``.
"""
import argparse
import math
import os
import sys


def demo(args):
    from .demos import classification, regression
    names = ['regression', 'classification'] if args.name == 'all' else [args.name]
    for name in names:
        mod = regression if name == 'regression' else classification
        kwargs = dict(seed=args.seed, device=args.device, out=args.out)
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


def main(argv=None):
    p = argparse.ArgumentParser(prog='ember', description='ember: a small deep learning '
                                'framework that speaks PyTorch')
    sub = p.add_subparsers(dest='cmd', required=True)
    d = sub.add_parser('demo', help="run the talk's two applications")
    d.add_argument('name', nargs='?', default='all',
                   choices=['regression', 'classification', 'all'])
    d.add_argument('--epochs', type=_whole(1), default=None,
                   help='training epochs, >= 1 (default: 20 for regression, 10 for '
                        'classification)')
    d.add_argument('--lr', type=_learning_rate, default=None,
                   help='learning rate, a finite number > 0')
    d.add_argument('--seed', type=_whole(0, below=63), default=0, help='random seed, >= 0')
    d.add_argument('--device', type=_device, default='cpu', help="'cpu' or 'cuda'")
    d.add_argument('--out', type=_folder, default='runs',
                   help='folder for the pictures (default runs/)')
    args = p.parse_args(argv)
    if args.cmd == 'demo':
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as e:
            d.error(f'argument --out: cannot make the folder {args.out!r}: {e.strerror}')
        return demo(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
