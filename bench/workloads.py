"""The benchmark's workloads, each defined once and run by both frameworks.

A workload is data (NumPy arrays drawn from one seed), a model, an optimizer and a loss. The
model, optimizer and step are written once against the PyTorch API, taking the framework
module ``fw`` (``ember`` or ``torch``) as an argument, so both runners call their own
framework's ordinary public API (``fw.nn.Linear``, ``fw.optim.AdamW``,
``fw.nn.functional.cross_entropy``...) with identical hyper-parameters by construction.

Initial weights come from NumPy too: ``init_weights`` walks the model's named parameters
(the same names and shapes in both frameworks) and draws each from one seeded generator, and
``load_weights`` copies the arrays into the model. Both runners therefore start from the same
weights and see the same batches in the same order, so their losses must agree step by step
up to float32 rounding.

A step is two parts (``Step``): ``inputs(fw, ctx, i)`` makes step ``i``'s tensors (the
batch) on the run's device, ``ctx['device']`` (``'cpu'`` or ``'cuda'``), and
``compute(fw, ctx, *tensors)`` trains on them and returns the loss; so a compiled step
(``fw.compile``) takes the batch as its tensor arguments and closes over the model and
optimizer in ``ctx``. The GPT workloads also read ``ctx['amp']`` (None, or the framework's
dtype for ``autocast``).

>>> sorted(WORKLOADS)
['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W8', 'W9']
"""
import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

SEED = 0


@dataclass
class Workload:
    """One benchmark workload.

    ``data(seed)`` returns a dict of NumPy arrays; ``model(fw)`` builds the model (or None
    for the op-level workloads W6 and W7); ``init(named_shapes, rng)`` draws the initial
    weights; ``optimizer(fw, params)`` builds the optimizer; ``step`` (a ``Step``):
    ``step(fw, ctx, i)`` runs step ``i`` and returns the loss tensor; ``evaluate(fw, ctx)``
    (optional) returns extra metrics after a run, such as test accuracy. ``amp``: the step
    honours ``--amp``; ``cpu_suite``: part of the default run on the CPU (W9 is too slow
    there).
    """
    key: str
    name: str
    about: str
    steps: int                      # default timed steps per run
    data: Callable
    step: Callable
    model: Optional[Callable] = None
    init: Optional[Callable] = None
    optimizer: Optional[Callable] = None
    evaluate: Optional[Callable] = None
    repeats: Optional[int] = None   # default repeats (None: the CLI's)
    amp: bool = False
    cpu_suite: bool = True
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ shared pieces

@dataclass(frozen=True)
class Step:
    """A training step as its inputs and its compute: ``inputs(fw, ctx, i)`` returns the
    tensors of step ``i`` (a tuple), ``compute(fw, ctx, *tensors)`` the loss tensor.
    ``step(fw, ctx, i)`` runs both."""
    inputs: Callable
    compute: Callable

    def __call__(self, fw, ctx, i):
        return self.compute(fw, ctx, *self.inputs(fw, ctx, i))


def torch_like_init(named_shapes, rng):
    """PyTorch's default init for Linear/Conv layers, drawn with NumPy: weights and biases
    ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in being the weight's prod(shape[1:])."""
    out, fan_in = {}, 1
    for name, shape in named_shapes:
        if len(shape) >= 2:
            fan_in = math.prod(shape[1:])
        bound = 1.0 / math.sqrt(fan_in)
        out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return out


def init_weights(model, init, seed=SEED):
    """NumPy initial weights for ``model``: ``init`` over its (name, shape) list."""
    named_shapes = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    return init(named_shapes, np.random.default_rng(seed))


def load_weights(fw, model, weights):
    """Copy NumPy ``weights`` into ``model``'s parameters (same names in both frameworks)."""
    params = dict(model.named_parameters())
    if sorted(params) != sorted(weights):
        raise KeyError(f'parameter names differ: {sorted(params)} vs {sorted(weights)}')
    with fw.no_grad():
        for name, p in params.items():
            p.copy_(fw.from_numpy(weights[name].copy()))


def batch_index(n, batch, step, seed=SEED, drop_last=True):
    """Sample indices of batch ``step``: epoch ``e`` is a permutation of ``range(n)`` drawn
    from ``default_rng([seed, e])``, cut into batches (the last one kept if not drop_last)."""
    per_epoch = n // batch if drop_last else -(-n // batch)
    epoch, b = divmod(step, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[b * batch:(b + 1) * batch]


def _tensor(fw, a, device='cpu'):
    """A NumPy array as a tensor on ``device`` (on the CPU sharing its memory)."""
    if device == 'cpu':
        return fw.from_numpy(np.ascontiguousarray(a))
    return fw.tensor(np.ascontiguousarray(a), device=device)


def _whole(fw, ctx, name):
    """The data array ``name`` whole, as a new leaf tensor. On a GPU it is copied there once
    per worker (``ctx['on_device']`` outlives the runs), so steps time compute, not copies."""
    if ctx['device'] == 'cpu':
        return _tensor(fw, ctx['data'][name])
    cache = ctx['on_device']
    if name not in cache:
        cache[name] = _tensor(fw, ctx['data'][name], ctx['device'])
    return cache[name].detach()


AMP_DTYPES = {'bf16': 'bfloat16', 'fp16': 'float16'}


def amp_dtype(fw, amp):
    """The dtype for ``--amp`` (``'bf16'``, ``'fp16'`` or None) in framework ``fw``; a clear
    error where ``fw`` lacks ``autocast`` or the dtype, rather than a silent float32 run."""
    if amp is None:
        return None
    try:
        fw.autocast  # noqa: B018
        return getattr(fw, AMP_DTYPES[amp])
    except AttributeError as e:
        raise RuntimeError(f'--amp {amp}: {e}; this framework cannot run it, so run '
                           'without --amp') from e


def _autocast(fw, ctx):
    """The forward's mixed-precision region (torch's recipe: backward and step outside)."""
    if ctx['amp'] is None:
        return contextlib.nullcontext()
    return fw.autocast(device_type=ctx['device'], dtype=ctx['amp'])


def _supervised(loss_fn, batch=None, drop_last=True):
    """A step that trains ``ctx['model']`` on (x, y) batches of ``batch`` (None: full)."""
    def inputs(fw, ctx, i):
        if batch is None:
            return _whole(fw, ctx, 'x'), _whole(fw, ctx, 'y')
        x, y = ctx['data']['x'], ctx['data']['y']
        idx = batch_index(len(x), batch, i, drop_last=drop_last)
        return _tensor(fw, x[idx], ctx['device']), _tensor(fw, y[idx], ctx['device'])

    def compute(fw, ctx, x, y):
        opt, model = ctx['optimizer'], ctx['model']
        opt.zero_grad()
        loss = loss_fn(fw, model(x), y)
        loss.backward()
        opt.step()
        return loss
    return Step(inputs, compute)


def _teacher_data(seed, n, shape, classes):
    """Gaussian inputs labelled by a random linear teacher (a learnable synthetic task)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    w = rng.standard_normal((math.prod(shape), classes)).astype(np.float32)
    y = (x.reshape(n, -1) @ w).argmax(1).astype(np.int64)
    return dict(x=x, y=y)


def _template_data(seed, n, shape, classes):
    """Noisy copies of one random Gaussian template per class (a learnable image task)."""
    rng = np.random.default_rng(seed)
    templates = rng.standard_normal((classes,) + shape).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    x = 0.5 * templates[y] + rng.standard_normal((n,) + shape).astype(np.float32)
    return dict(x=x.astype(np.float32), y=y)


def _cross_entropy(fw, out, y):
    return fw.nn.functional.cross_entropy(out, y)


# ------------------------------------------------------------------ W1 regression

def _w1_data(seed):
    import ember
    length, width = (t.numpy() for t in ember.datasets.parts(n=200, seed=seed))
    return dict(x=(length - length.mean()) / length.std(),
                y=(width - width.mean()) / width.std())


def _w1_model(fw):
    return fw.nn.Linear(1, 1)


W1 = Workload(
    'W1', 'regression', "the talk's parts regression: Linear(1, 1), 200 points, batch 20, "
    'MSE, SGD(lr=0.1)', steps=100, data=_w1_data, model=_w1_model, init=torch_like_init,
    optimizer=lambda fw, p: fw.optim.SGD(p, lr=0.1),
    step=_supervised(lambda fw, out, y: fw.nn.functional.mse_loss(out, y), batch=20))


# ------------------------------------------------------------------ W2 spiral

def _w2_data(seed):
    import ember
    x, y = (t.numpy() for t in ember.datasets.spiral(n_per_class=100, seed=seed))
    return dict(x=x * np.float32(5.0), y=y)   # scaled as in the talk's demo


def _w2_model(fw):
    nn = fw.nn

    class Classifier(nn.Module):
        """The talk's ``xs.dot(w1).sigmoid().dot(w2).logsoftmax()``."""
        def __init__(self):
            super().__init__()
            self.layer_1 = nn.Parameter(fw.zeros(2, 100))
            self.layer_2 = nn.Parameter(fw.zeros(100, 3))

        def forward(self, x):
            h = fw.sigmoid(x @ self.layer_1)
            return nn.functional.log_softmax(h @ self.layer_2, dim=1)

    return Classifier()


def _talk_uniform_init(named_shapes, rng):
    """The talk's ``nn.Tensor.uniform``: U(-1, 1) / sqrt(prod(shape))."""
    return {n: (rng.uniform(-1, 1, s) / math.sqrt(math.prod(s))).astype(np.float32)
            for n, s in named_shapes}


W2 = Workload(
    'W2', 'spiral', "the talk's classifier: 2-100-3, sigmoid, log-softmax, NLL, 300 points, "
    'full batch, SGD(lr=0.3)', steps=100, data=_w2_data, model=_w2_model,
    init=_talk_uniform_init, optimizer=lambda fw, p: fw.optim.SGD(p, lr=0.3),
    step=_supervised(lambda fw, out, y: fw.nn.functional.nll_loss(out, y)))


# ------------------------------------------------------------------ W3 mlp

def _w3_model(fw):
    nn = fw.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


W3 = Workload(
    'W3', 'mlp', '784-512-512-10 ReLU MLP, batch 128, cross-entropy, Adam(lr=1e-3); '
    '4,096 Gaussian inputs labelled by a random linear teacher', steps=30,
    data=lambda seed: _teacher_data(seed, 4096, (784,), 10), model=_w3_model,
    init=torch_like_init, optimizer=lambda fw, p: fw.optim.Adam(p, lr=1e-3),
    step=_supervised(_cross_entropy, batch=128))


# ------------------------------------------------------------------ W4 cnn / W8 mnist

def lenet(fw):
    """LeNet-5: conv 1->6 5x5 pad 2, relu, maxpool 2, conv 6->16 5x5, relu, maxpool 2,
    400-120-84-10."""
    nn = fw.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _sgd_momentum(fw, params):
    return fw.optim.SGD(params, lr=0.05, momentum=0.9)


W4 = Workload(
    'W4', 'cnn', 'LeNet-5 on 28x28 inputs, batch 64, cross-entropy, SGD(lr=0.05, '
    'momentum=0.9); 2,048 noisy copies of 10 random 28x28 class templates', steps=30,
    data=lambda seed: _template_data(seed, 2048, (1, 28, 28), 10), model=lenet,
    init=torch_like_init, optimizer=_sgd_momentum,
    step=_supervised(_cross_entropy, batch=64))


MNIST_TRAIN, MNIST_TEST, MNIST_BATCH, MNIST_EPOCHS = 4000, 1000, 64, 5
MNIST_STEPS = MNIST_EPOCHS * -(-MNIST_TRAIN // MNIST_BATCH)   # 5 epochs of 63 batches


def _w8_data(seed):
    import ember
    x, y = (t.numpy() for t in ember.datasets.mnist_5k())
    x = ((x - 0.1307) / 0.3081).astype(np.float32)[:, None]    # (5000, 1, 28, 28)
    perm = np.random.default_rng(seed).permutation(len(x))
    tr, te = perm[:MNIST_TRAIN], perm[MNIST_TRAIN:MNIST_TRAIN + MNIST_TEST]
    return dict(x=x[tr], y=y[tr], x_test=x[te], y_test=y[te])


def _w8_evaluate(fw, ctx):
    model, d = ctx['model'], ctx['data']
    model.eval()
    correct = 0
    with fw.no_grad():
        for s in range(0, len(d['x_test']), 500):
            out = model(_tensor(fw, d['x_test'][s:s + 500], ctx['device']))
            correct += int((out.argmax(1).cpu().numpy() == d['y_test'][s:s + 500]).sum())
    model.train()
    return dict(test_accuracy=correct / len(d['x_test']))


W8 = Workload(
    'W8', 'mnist', f'LeNet-5 on the shipped MNIST digits: {MNIST_TRAIN:,} train / '
    f'{MNIST_TEST:,} test, batch {MNIST_BATCH}, {MNIST_EPOCHS} epochs ({MNIST_STEPS} steps), '
    'SGD(lr=0.01, momentum=0.9); wall time and test accuracy', steps=MNIST_STEPS,
    data=_w8_data, model=lenet, init=torch_like_init,
    optimizer=lambda fw, p: fw.optim.SGD(p, lr=0.01, momentum=0.9),
    step=_supervised(_cross_entropy, batch=MNIST_BATCH, drop_last=False),
    evaluate=_w8_evaluate, repeats=1)


# ------------------------------------------------------------------ W5 gpt / W9 gpt-large

GPT = dict(vocab=65, blocks=2, d_model=128, heads=4, seq=64, batch=16)
GPT_LARGE = dict(GPT, blocks=6, d_model=512, heads=8, seq=256, batch=32)


def _w5_data(seed, n_tokens=65536):
    """A character stream from a random sparse Markov chain over 65 symbols (learnable)."""
    rng = np.random.default_rng(seed)
    v = GPT['vocab']
    logits = rng.standard_normal((v, v)) * 3.0
    probs = np.exp(logits - logits.max(1, keepdims=True))
    cdf = np.cumsum(probs / probs.sum(1, keepdims=True), axis=1)
    u = rng.random(n_tokens)
    tokens = np.empty(n_tokens, np.int64)
    tokens[0] = 0
    for t in range(1, n_tokens):
        tokens[t] = min(np.searchsorted(cdf[tokens[t - 1]], u[t]), v - 1)
    return dict(tokens=tokens)


def gpt(fw, c=GPT):
    """A char-level GPT of config ``c`` (``GPT``: W5, ``GPT_LARGE``: W9): token + position
    embeddings, pre-LayerNorm blocks of causal multi-head self-attention and a GELU MLP (4x),
    a final LayerNorm and a linear head."""
    nn, F = fw.nn, fw.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            d = c['d_model']
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            b, t, d = x.shape
            h = c['heads']
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln2(x))

    class GPTModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(c['vocab'], c['d_model'])
            self.pos = nn.Embedding(c['seq'], c['d_model'])
            self.blocks = nn.ModuleList([Block() for _ in range(c['blocks'])])
            self.ln_f = nn.LayerNorm(c['d_model'])
            self.head = nn.Linear(c['d_model'], c['vocab'])

        def forward(self, idx):
            x = self.tok(idx) + self.pos(fw.arange(idx.shape[1], device=idx.device))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPTModel()


def _gpt_init(named_shapes, rng):
    """GPT-2's init: N(0, 0.02) for matrices and embeddings, LayerNorms at (1, 0), biases 0."""
    out = {}
    for name, shape in named_shapes:
        if '.ln' in name or name.startswith('ln_'):
            out[name] = np.full(shape, 1.0 if name.endswith('weight') else 0.0, np.float32)
        elif len(shape) == 1:
            out[name] = np.zeros(shape, np.float32)
        else:
            out[name] = (rng.standard_normal(shape) * 0.02).astype(np.float32)
    return out


def _gpt_step(c):
    """A training step of the GPT of config ``c`` on ``c['batch']`` random windows; the
    forward and loss run under ``--amp``'s autocast, backward and the update outside it."""
    def inputs(fw, ctx, i):
        tokens = ctx['data']['tokens']
        starts = np.random.default_rng([SEED, i]).integers(0, len(tokens) - c['seq'] - 1,
                                                           c['batch'])
        rows = starts[:, None] + np.arange(c['seq'] + 1)
        return (_tensor(fw, tokens[rows[:, :-1]], ctx['device']),
                _tensor(fw, tokens[rows[:, 1:]], ctx['device']))

    def compute(fw, ctx, x, y):
        opt, model = ctx['optimizer'], ctx['model']
        opt.zero_grad()
        with _autocast(fw, ctx):
            loss = fw.nn.functional.cross_entropy(model(x).reshape(-1, c['vocab']),
                                                  y.reshape(-1))
        loss.backward()
        opt.step()
        return loss
    return Step(inputs, compute)


def _gpt_workload(key, name, c, steps, **kw):
    return Workload(
        key, name, f"char-level GPT: vocab {c['vocab']}, {c['blocks']} blocks, d_model "
        f"{c['d_model']}, {c['heads']} heads, sequence {c['seq']}, batch {c['batch']}, "
        'pre-LayerNorm, GELU MLP, causal attention, AdamW(lr=1e-3, wd=0.01); tokens from a '
        'random Markov chain', steps=steps, data=_w5_data, model=lambda fw: gpt(fw, c),
        init=_gpt_init, optimizer=lambda fw, p: fw.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
        step=_gpt_step(c), amp=True, **kw)


W5 = _gpt_workload('W5', 'gpt', GPT, steps=20)
W9 = _gpt_workload('W9', 'gpt-large', GPT_LARGE, steps=10, repeats=2, cpu_suite=False)


# ------------------------------------------------------------------ W6 overhead / W7 gemm

def _w6_data(seed):
    return dict(x=np.random.default_rng(seed).standard_normal((1, 16)).astype(np.float32))


def _w6_inputs(fw, ctx, i):
    return (_whole(fw, ctx, 'x').requires_grad_(),)


def _w6_compute(fw, ctx, x):
    y = x
    for k in range(200):
        y = y * 1.0001 if k % 2 == 0 else y + 0.0001
    loss = y.sum()
    loss.backward()
    return loss


W6 = Workload(
    'W6', 'overhead', '200 alternating elementwise ops (x*1.0001, x+0.0001) on a 1x16 '
    'tensor, then sum().backward(): per-op overhead', steps=200, data=_w6_data,
    step=Step(_w6_inputs, _w6_compute))


def _w7_data(seed, n=2048):
    rng = np.random.default_rng(seed)
    return dict(a=rng.standard_normal((n, n)).astype(np.float32) / np.float32(math.sqrt(n)),
                b=rng.standard_normal((n, n)).astype(np.float32))


def _w7_inputs(fw, ctx, i):
    return (_whole(fw, ctx, 'a').requires_grad_(), _whole(fw, ctx, 'b').requires_grad_())


def _w7_compute(fw, ctx, a, b):
    loss = (a @ b).sum()
    loss.backward()
    return loss


W7 = Workload(
    'W7', 'gemm', '(2048x2048) @ (2048x2048) forward and backward, gradients to both '
    'inputs (3 GEMMs a step)', steps=3, data=_w7_data, step=Step(_w7_inputs, _w7_compute))


WORKLOADS = {w.key: w for w in (W1, W2, W3, W4, W5, W6, W7, W8, W9)}
