"""A script written for PyTorch runs unchanged with ember in torch's place: the same source
text is run with ``torch`` bound to PyTorch and to ember, and the results compared."""
import numpy as np
import torch

import ember

SCRIPT = '''
device = 'mps' if torch.backends.mps.is_available() else 'cpu'
torch.set_default_device(device)
assert str(torch.get_default_device()) == 'cpu'
accelerated = torch.accelerator.is_available() and torch.accelerator.device_count() > 0

x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
w = x.new_ones(4, 2) * 0.5
out = torch.empty(3, 2)
torch.matmul(x, w, out=out)
bias = out.new_tensor([1.0, -1.0])
y = torch.addmm(bias, x, w, beta=0.5, alpha=2.0)
z = torch.addcmul(y, y, out, value=0.1).addcdiv(out.new_full((3, 2), 2.0), y)

labels = torch.LongTensor([0, 1, 1])
mask = torch.BoolTensor([True, False, True])
xs, ys = torch.meshgrid(torch.linspace(0, 1, 3), torch.linspace(0, 2, 2), indexing='ij')
grid = torch.stack([xs, ys], -1)
pairs = torch.combinations(torch.arange(4), 2)
d = torch.cdist(grid.reshape(-1, 2), torch.FloatTensor([[0.0, 0.0], [1.0, 1.0]]))
rows, cols = torch.tril_indices(3, 3)
v, m = torch.var_mean(z, 0)

p = torch.zeros(4, 4, requires_grad=True)
loss = (torch.diag(p.diagonal() + 1) @ torch.kron(torch.eye(2), torch.ones(2, 2))).trace()
loss = loss + torch.tensordot(p, torch.ones(4, 4)) + torch.dist(p, torch.ones(4, 4))
loss.backward()

results = dict(
    out=out, y=y, z=z, labels=labels.type_as(z), mask=mask, grid=grid, pairs=pairs, d=d,
    rows=rows, cols=cols, v=v, m=m, loss=loss.detach(), grad=p.grad,
    close=torch.allclose(z, z + 1e-9), same=torch.equal(labels, labels.clone()),
    repeated=torch.repeat_interleave(labels, 2), area=torch.trapezoid(z, dim=0),
    block=torch.block_diag(w, torch.ones(1, 1)), accelerated=isinstance(accelerated, bool),
    is_long=isinstance(labels, torch.LongTensor),
)
torch.set_default_device('cpu')
'''


def run(module):
    scope = {'torch': module}
    exec(compile(SCRIPT, '<everyday script>', 'exec'), scope)
    return scope['results']


def test_script_runs_unchanged():
    try:
        got, want = run(ember), run(torch)
    finally:
        ember.set_default_device(None)
        torch.set_default_device(None)
    assert got.keys() == want.keys()
    for k in want:
        e, t = got[k], want[k]
        if isinstance(t, torch.Tensor):
            assert isinstance(e, ember.Tensor), k
            assert e.dtype.name == str(t.dtype)[6:] and tuple(e.shape) == tuple(t.shape), k
            np.testing.assert_allclose(e.numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-6,
                                       err_msg=k)
        else:
            assert type(e) is type(t) and e == t, (k, e, t)
