"""The numbers of docs/deploy.md: for each example model, the export's time and file size,
and one forward pass in ember and in ONNX Runtime (same inputs; median of 20, one thread).

    .venv/bin/python tools/onnx_numbers.py
"""
import io
import os
import statistics
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

import ember  # noqa: E402
from tests.onnx.test_export_models import MODELS, first, model_input  # noqa: E402


def median_us(fn, n=20):
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main():
    print('| model | batch | export | file | ember forward | ONNX Runtime | max abs diff |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, (make, spec) in MODELS.items():
        ember.manual_seed(0)
        model = make().eval()
        batch = 16 if spec[0] == 'i' else 64
        x = model_input(spec, batch)
        t = ember.tensor(x)
        f = io.BytesIO()
        t0 = time.perf_counter()
        ember.onnx.export(model, (t,), f)
        export_s = time.perf_counter() - t0
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        s = ort.InferenceSession(f.getvalue(), opts, providers=['CPUExecutionProvider'])
        feed = {s.get_inputs()[0].name: x}
        with ember.no_grad():
            want = first(model(t))
            e_us = median_us(lambda: model(t))
        o_us = median_us(lambda: s.run(None, feed))
        diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(s.run(None, feed), want))
        print(f'| {name} | {batch} | {export_s:.2f} s | {len(f.getvalue()) / 1e6:.2f} MB | '
              f'{e_us / 1e3:.2f} ms | {o_us / 1e3:.2f} ms | {diff:.1e} |')


if __name__ == '__main__':
    main()
