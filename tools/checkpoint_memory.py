"""Memory of one W5 training step's forward and backward (bench/workloads.py's GPT) with each
block run through ``ember.utils.checkpoint.checkpoint`` and without, counted by tracemalloc
(NumPy reports its arrays to it): the activations held for backward after the forward, the
peak over the step, the loss and the largest gradient difference (0 when the recomputation
is exact).

Usage: PYTHONPATH=. python tools/checkpoint_memory.py   (from the repository root)
"""
import gc
import tracemalloc

import numpy as np

import ember
from bench import workloads as W
from ember.utils.checkpoint import checkpoint


def step_memory(checkpointed):
    model = W.gpt(ember)
    named = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    with ember.no_grad():
        for p, v in zip(model.parameters(),
                        W._gpt_init(named, np.random.default_rng(0)).values()):
            p.copy_(ember.tensor(v))
    if checkpointed:
        def forward(idx):
            x = model.tok(idx) + model.pos(ember.arange(idx.shape[1]))
            for block in model.blocks:
                x = checkpoint(block, x, use_reentrant=False)
            return model.head(model.ln_f(x))
        model.forward = forward
    c = W.GPT
    tokens = np.random.default_rng(1).integers(0, c['vocab'], (c['batch'], c['seq'] + 1))
    x, y = ember.tensor(tokens[:, :-1]), ember.tensor(tokens[:, 1:])
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    loss = ember.nn.functional.cross_entropy(model(x).reshape(-1, c['vocab']), y.reshape(-1))
    held = tracemalloc.get_traced_memory()[0] - base
    loss.backward()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return held, peak, float(loss), [p.grad.numpy() for p in model.parameters()]


def main():
    eager, ck = step_memory(False), step_memory(True)
    mb = 2.0 ** 20
    print(f'W5 step, blocks checkpointed vs eager: held after forward {ck[0] / mb:.2f} MB vs '
          f'{eager[0] / mb:.2f} MB ({1 - ck[0] / eager[0]:.0%} less); peak {ck[1] / mb:.2f} MB '
          f'vs {eager[1] / mb:.2f} MB ({1 - ck[1] / eager[1]:.0%} less)')
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ck[3], eager[3]))
    print(f'loss {ck[2]} vs {eager[2]}; largest gradient difference {diff}')


if __name__ == '__main__':
    main()
