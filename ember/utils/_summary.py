"""``ember.utils.summary(model, input_size=..., input_data=...)``: torchinfo's table of a model
(each layer with its output shape and parameters, the totals, multiply-adds and memory), made
from one forward call with forward hooks."""
import numpy as np

from .. import _tensor
from ..autograd import no_grad
from ..random import randn


class ModelStatistics:
    """What ``summary`` measured: ``rows`` (one dict per layer call: name, depth, output
    shape, parameters, multiply-adds), ``total_params``, ``trainable_params``,
    ``total_mult_adds``, ``input_bytes``, ``output_bytes`` (each layer's output, forward
    and backward) and ``params_bytes``. Prints as the table.

    >>> s = ember.utils.summary(ember.nn.Linear(3, 2), input_size=(5, 3), verbose=0)
    >>> s.total_params, s.rows[0]['output'], s.total_mult_adds
    (8, (5, 2), 40)
    """

    def __init__(self, rows, model, input_bytes):
        self.rows = rows
        params = list(model.parameters())
        self.total_params = sum(p.numel() for p in params)
        self.trainable_params = sum(p.numel() for p in params if p.requires_grad)
        self.total_mult_adds = sum(r['mult_adds'] for r in rows)
        self.input_bytes = input_bytes
        self.output_bytes = 2 * sum(r['output_bytes'] for r in rows if r['leaf'])
        self.params_bytes = sum(p.numel() * p.element_size() for p in params)

    def __str__(self):
        head = ('Layer (type:depth-idx)', 'Output Shape', 'Param #')
        lines = []
        for r in self.rows:
            indent = '' if r['depth'] == 0 else '│    ' * (r['depth'] - 1) + '├─'
            name = f"{indent}{r['type']}" + (f": {r['depth']}-{r['index']}" if r['depth'] else '')
            params = f"{r['params']:,}" if r['leaf'] or r['own_params'] else '--'
            lines.append((name, str(list(r['output'])) if r['output'] is not None else '--',
                          params))
        w = [max(len(x[k]) for x in [head] + lines) + 3 for k in range(3)]
        rule = '=' * sum(w)
        mb = 1024 ** 2
        body = [''.join(c.ljust(n) for c, n in zip(x, w)).rstrip() for x in [head] + lines]
        total = self.input_bytes + self.output_bytes + self.params_bytes
        return '\n'.join(
            [rule, body[0], rule] + body[1:] + [
                rule,
                f'Total params: {self.total_params:,}',
                f'Trainable params: {self.trainable_params:,}',
                f'Non-trainable params: {self.total_params - self.trainable_params:,}',
                f'Total mult-adds (M): {self.total_mult_adds / 1e6:.2f}',
                rule,
                f'Input size (MB): {self.input_bytes / mb:.2f}',
                f'Forward/backward pass size (MB): {self.output_bytes / mb:.2f}',
                f'Params size (MB): {self.params_bytes / mb:.2f}',
                f'Estimated Total Size (MB): {total / mb:.2f}',
                rule])

    __repr__ = __str__


def _first_tensor(out):
    if isinstance(out, _tensor.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _mult_adds(module, own, out):
    """Multiply-adds of one layer call: each weight and bias element once per place it is
    applied (a convolution: per output position of each sample; otherwise per row of the
    output, its last dimension being the features)."""
    if out is None or not own:
        return 0
    shape = tuple(out.shape)
    name = type(module).__name__
    if name.startswith('Conv'):
        places = shape[0] * int(np.prod(shape[2:])) if len(shape) > 2 else 1
    elif name in ('Linear', 'Bilinear'):
        places = int(np.prod(shape[:-1]))
    else:
        return 0
    return own * places


def summary(model, input_size=None, input_data=None, dtypes=None, depth=3, verbose=1):
    """torchinfo's ``summary``: run ``model`` once (without gradients) on ``input_data`` (a
    tensor or a tuple of them) or on random tensors of ``input_size`` (a shape, or a list of
    shapes, batch included; ``dtypes`` their dtypes, float32 by default) and tabulate each
    layer down to ``depth``: output shape and parameters, then the totals, multiply-adds
    (each weight and bias element once per place a ``Linear`` or ``Conv`` applies it; torchinfo
    counts a ``Linear`` over ``(batch, time, features)`` once per batch row only) and memory.
    Prints the table when ``verbose`` and returns it as a ``ModelStatistics``.

    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(),
    ...                             ember.nn.Linear(8, 2))
    >>> s = ember.utils.summary(model, input_size=(16, 4), verbose=0)
    >>> s.total_params, s.total_mult_adds
    (58, 928)
    >>> print(str(s).splitlines()[3])
    Sequential                               [16, 2]                  --
    """
    if input_data is None:
        if input_size is None:
            raise ValueError('summary: give input_size (shapes, batch included) or input_data')
        sizes = [input_size] if input_size and isinstance(input_size[0], int) else \
            list(input_size)
        kinds = dtypes or [None] * len(sizes)
        inputs = tuple(randn(*s, dtype=d) if d is None or d.is_floating_point
                       else _tensor.zeros(*s, dtype=d) for s, d in zip(sizes, kinds))
    else:
        inputs = input_data if isinstance(input_data, (tuple, list)) else (input_data,)
        inputs = tuple(inputs)
    rows, handles, stack, counters = [], [], [], {}

    def pre(module, args):
        d = len(stack)
        counters[d] = counters.get(d, 0) + 1
        own = sum(p.numel() for p in module.parameters(recurse=False))
        row = dict(type=type(module).__name__, depth=d, index=counters[d], output=None,
                   own_params=own, params=sum(p.numel() for p in module.parameters()),
                   leaf=not any(True for _ in module.children()), mult_adds=0,
                   output_bytes=0)
        stack.append(row)
        rows.append(row)
        for k in [k for k in counters if k > d]:
            del counters[k]

    def post(module, args, out):
        row = stack.pop()
        t = _first_tensor(out)
        if t is not None:
            row['output'] = tuple(t.shape)
            row['output_bytes'] = t.numel() * t.element_size()
        row['mult_adds'] = _mult_adds(module, row['own_params'], t)

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    try:
        with no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    stats = ModelStatistics([r for r in rows if r['depth'] <= depth], model,
                            sum(t.numel() * t.element_size() for t in inputs
                                if isinstance(t, _tensor.Tensor)))
    stats.total_mult_adds = sum(r['mult_adds'] for r in rows)
    if verbose:
        print(stats)
    return stats
