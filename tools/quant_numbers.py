"""Quantization's numbers (issue 19): LeNet-5 on the MNIST digits that ship with ember
(the model, data and training of tools/prune_numbers.py), trained in float32, then (a) static
post-training int8 with each activation observer (calibrated on 1,000 training digits), (b)
quantization-aware training fine-tuned from the float model, converted to int8: test
accuracy of each, the saved file sizes, and the time of ember's int8 emulation against float32
eager, in the same run.

Usage: PYTHONPATH=. python tools/quant_numbers.py [--epochs 8] [--qat 2]   (1 thread)
"""
import argparse
import os
import sys
import tempfile

for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember import quantization as Q  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prune_numbers import accuracy, cpu_name, data, lenet, timed, train  # noqa: E402

PER_CHANNEL = Q.default_per_channel_weight_observer
OBSERVERS = [
    ('MinMaxObserver', Q.QConfig(Q.MinMaxObserver, PER_CHANNEL)),
    ('MovingAverageMinMaxObserver', Q.QConfig(Q.MovingAverageMinMaxObserver, PER_CHANNEL)),
    ('HistogramObserver', Q.QConfig(Q.HistogramObserver, PER_CHANNEL)),
    ('HistogramObserver, reduce_range (get_default_qconfig("x86"))', Q.get_default_qconfig()),
]


def calibrate(model, x, batches=10, size=100):
    with ember.no_grad():
        for i in range(batches):
            model(x[i * size:(i + 1) * size])


def file_size(model, folder, name):
    path = os.path.join(folder, name)
    ember.save(model.state_dict(), path)
    return os.path.getsize(path), path


def forward_ms(model, batch):
    x = ember.randn(batch, 1, 28, 28)
    model.eval()

    def run():
        with ember.no_grad():
            model(x)
    return timed(run, repeats=5 if batch > 64 else 20)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--qat', type=int, default=2, help='QAT fine-tuning epochs')
    args = p.parse_args()
    ember.manual_seed(0)
    x, y, xt, yt = data()
    base = lenet()
    train(base, x, y, args.epochs)
    acc = accuracy(base, xt, yt)
    print(f'machine: {cpu_name()}, {os.cpu_count()} CPUs, 1 thread; ember '
          f'{ember.__version__}, numpy {np.__version__}')
    print(f'LeNet-5, {args.epochs} epochs on 4,000 digits: float32 test accuracy {acc:.1f}% '
          f'(1,000 digits)', flush=True)

    static = None
    for name, qconfig in OBSERVERS:
        model = Q.prepare(base, qconfig)
        calibrate(model, x)
        model = Q.convert(model)
        a = accuracy(model, xt, yt)
        print(f'static int8, {name}: {a:.1f}% ({a - acc:+.1f} points)', flush=True)
        static = model

    qat = Q.prepare_qat(base)
    train(qat, x, y, args.qat, lr=0.005, seed=1)
    qat = Q.convert(qat)
    a = accuracy(qat, xt, yt)
    print(f'QAT ({args.qat} epochs from the float model, get_default_qat_qconfig("x86")), '
          f'int8: {a:.1f}% ({a - acc:+.1f} points)', flush=True)

    tuned = lenet()
    tuned.load_state_dict(base.state_dict())
    train(tuned, x, y, args.qat, lr=0.005, seed=1)
    a = accuracy(tuned, xt, yt)
    print(f'control: the float model fine-tuned the same {args.qat} epochs without fake '
          f'quantization: {a:.1f}%', flush=True)

    with tempfile.TemporaryDirectory() as folder:
        f32, _ = file_size(base, folder, 'float.safetensors')
        i8, path = file_size(static, folder, 'int8.safetensors')
        skeleton = Q.prepare(lenet())
        calibrate(skeleton, x, batches=1)
        skeleton = Q.convert(skeleton)
        skeleton.load_state_dict(ember.load(path))
        same = bool((skeleton(xt) == static(xt)).all())
    print(f'saved state_dict (ember.save): float32 {f32:,} bytes, int8 {i8:,} bytes '
          f'({i8 / f32:.2f}x); loaded back into a converted LeNet: outputs equal: {same}')
    for batch in (1, 64, 256):
        ff, fq = forward_ms(base, batch), forward_ms(static, batch)
        print(f'batch {batch:3d}: forward float32 {ff:.3f} ms, int8 emulation {fq:.3f} ms '
              f'({ff / fq:.2f}x)', flush=True)


if __name__ == '__main__':
    main()
