"""The ``ember`` command: ``ember demo`` (also ``python -m ember demo``)."""
import argparse
import sys


def demo(args):
    """A short, real autograd run: fit y = 2x + 1 by gradient descent, printing what it does."""
    import ember
    ember.manual_seed(args.seed)
    x = ember.linspace(-1, 1, 50).reshape(50, 1)
    y = 2 * x + 1 + 0.05 * ember.randn(50, 1)
    w = ember.zeros(1, 1, requires_grad=True)
    b = ember.zeros(1, requires_grad=True)
    print('ember demo: fitting y = 2x + 1 from 50 noisy points with autograd')
    for step in range(args.steps):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with ember.no_grad():
            w -= args.lr * w.grad
            b -= args.lr * b.grad
            w.grad = None
            b.grad = None
        if step % 50 == 0 or step == args.steps - 1:
            print(f'  step {step:4d}  loss {loss.item():.5f}')
    print(f'learned w = {w.item():.4f} (true 2), b = {b.item():.4f} (true 1)')


def main(argv=None):
    p = argparse.ArgumentParser(prog='ember')
    sub = p.add_subparsers(dest='cmd', required=True)
    d = sub.add_parser('demo', help='run the demo')
    d.add_argument('--steps', type=int, default=200)
    d.add_argument('--lr', type=float, default=0.1)
    d.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    if args.cmd == 'demo':
        demo(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
