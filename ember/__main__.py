"""The ``ember`` command (also ``python -m ember``): ``ember demo regression|classification|all``.
"""
import argparse
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
        mod.report(mod.run(**kwargs))


def main(argv=None):
    p = argparse.ArgumentParser(prog='ember', description='ember: a small deep learning '
                                'framework that speaks PyTorch')
    sub = p.add_subparsers(dest='cmd', required=True)
    d = sub.add_parser('demo', help="run the talk's two applications")
    d.add_argument('name', nargs='?', default='all',
                   choices=['regression', 'classification', 'all'])
    d.add_argument('--epochs', type=int, default=None,
                   help='training epochs (default: 20 for regression, 10 for classification)')
    d.add_argument('--lr', type=float, default=None, help='learning rate')
    d.add_argument('--seed', type=int, default=0)
    d.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    d.add_argument('--out', default='runs', help='folder for the pictures (default runs/)')
    args = p.parse_args(argv)
    if args.cmd == 'demo':
        demo(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
