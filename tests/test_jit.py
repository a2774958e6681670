"""ember.jit: trace, save and load a static program (docs/compiler.md)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from bench import workloads as W

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bench_model(key):
    wl = W.WORKLOADS[key]
    m = wl.model(ember)
    W.load_weights(ember, m, W.init_weights(m, wl.init))
    data = wl.data(0)
    if key == 'W5':
        c = W.GPT
        x = data['tokens'][:c['batch'] * c['seq']].reshape(c['batch'], c['seq'])
    else:
        x = data['x'][:32]
    return m, ember.from_numpy(np.ascontiguousarray(x))


LOAD_AND_TRAIN = """
import sys, numpy as np, ember
path, x, out, grads = sys.argv[1:5]
m = ember.jit.load(path)
got = m(ember.from_numpy(np.load(x)))
assert type(m).__name__ == 'LoadedModule'
print(np.array_equal(got.detach().numpy(), np.load(out)))
got.sum().backward()
want = np.load(grads)
names = [n for n, _ in m.named_parameters()]
print(all(np.array_equal(dict(m.named_parameters())[n].grad.numpy(), want[n]) for n in names),
      sorted(names) == sorted(want.files))
"""


@pytest.mark.parametrize('key', ['W3', 'W5'])
def test_round_trip_in_a_fresh_process_without_the_class(key, tmp_path):
    m, x = _bench_model(key)
    traced = ember.jit.trace(m, x)
    path = str(tmp_path / 'model.safetensors')
    ember.jit.save(traced, path)
    out = m(x)
    out.sum().backward()
    np.save(tmp_path / 'x.npy', x.numpy())
    np.save(tmp_path / 'out.npy', out.detach().numpy())
    np.savez(tmp_path / 'grads.npz', **{n: p.grad.numpy() for n, p in m.named_parameters()})
    # a fresh interpreter that never imports bench (where the model's classes live)
    r = subprocess.run([sys.executable, '-c', LOAD_AND_TRAIN, path, str(tmp_path / 'x.npy'),
                        str(tmp_path / 'out.npy'), str(tmp_path / 'grads.npz')],
                       capture_output=True, text=True, cwd=str(tmp_path),
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['True', 'True', 'True']


def test_loaded_model_trains_with_an_optimizer(tmp_path):
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(3, 8), ember.nn.ReLU(), ember.nn.Linear(8, 1))
    x, y = ember.randn(16, 3), ember.randn(16, 1)
    ember.jit.save(ember.jit.trace(model, x), str(tmp_path / 'm.safetensors'))
    loaded = ember.jit.load(str(tmp_path / 'm.safetensors'))
    opts = [ember.optim.SGD(p, lr=0.05) for p in (model.parameters(), loaded.parameters())]
    for _ in range(5):
        losses = []
        for net, opt in zip((model, loaded), opts):
            opt.zero_grad()
            loss = ember.nn.functional.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == losses[1]
    assert losses[0] < ember.nn.functional.mse_loss(ember.zeros(16, 1), y).item()


def _saved(tmp_path):
    model = ember.nn.Linear(3, 2)
    path = str(tmp_path / 'm.safetensors')
    ember.jit.save(ember.jit.trace(model, ember.ones(4, 3)), path)
    return path


def _rewrite_header(path, edit):
    """Change the program's description in a saved file (its JSON header) with ``edit``."""
    raw = open(path, 'rb').read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    edit(header)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    open(path, 'wb').write(len(text).to_bytes(8, 'little') + text + raw[8 + n:])


def test_truncated_file_is_a_clear_error(tmp_path):
    path = _saved(tmp_path)
    raw = open(path, 'rb').read()
    open(path, 'wb').write(raw[:len(raw) - 5])
    with pytest.raises(ember.serialization.CheckpointError, match='m.safetensors'):
        ember.jit.load(path)


@pytest.mark.parametrize('bad, match', [
    ('ufunc:matmul', None),                   # a real ufunc: still a valid program
    ('np:load', 'np.load is not one a program may call'),
    ('np:save', 'np.save is not one a program may call'),
    ('method:tofile', "array method 'tofile' is not one"),
    ('os:system', "bad call 'os:system'"),
    ('np:ctypeslib.load_library', 'np.ctypeslib.load_library is not one'),
    ('np:test', 'np.test is not a NumPy array function'),
])
def test_tampered_call_names_are_refused(tmp_path, bad, match):
    path = _saved(tmp_path)

    def edit(header):
        structure = json.loads(header['__metadata__']['ember.structure'])
        text = json.dumps(structure)
        first = json.loads(text)
        # the first call of the forward graph gets another name
        doc = _find(first, 'graph')
        doc['nodes'][0][0] = bad
        header['__metadata__']['ember.structure'] = json.dumps(first)
    _rewrite_header(path, edit)
    if match is None:
        ember.jit.load(path)
        return
    with pytest.raises(ember.jit.JitError, match=match):
        ember.jit.load(path)


def _find(structure, key):
    """The dict under ``key`` somewhere in ember's checkpoint structure."""
    if isinstance(structure, dict):
        for k, v in structure.get('items', []) if structure.get('$type') in ('dict',
                                                                               'ordereddict') \
                else structure.items():
            if k == key:
                return _Plain(v)
            found = _find(v, key)
            if found is not None:
                return found
    elif isinstance(structure, list):
        for v in structure:
            found = _find(v, key)
            if found is not None:
                return found
    return None


class _Plain:
    """A view of an encoded dict as a mapping, writing through to the encoding."""

    def __init__(self, enc):
        self.enc = enc

    def __getitem__(self, key):
        for k, v in self.enc['items']:
            if k == key:
                return v if not (isinstance(v, dict) and v.get('$type') == 'dict') else \
                    _Plain(v)
        raise KeyError(key)


def test_a_reference_to_a_value_never_made_is_refused(tmp_path):
    path = _saved(tmp_path)

    def edit(header):
        structure = json.loads(header['__metadata__']['ember.structure'])
        graph = _find(structure, 'graph')
        node = graph['nodes'][0]
        args = node[1]
        ref = _first_ref(args)
        ref['items'][0][1] = 999
        header['__metadata__']['ember.structure'] = json.dumps(structure)
    _rewrite_header(path, edit)
    with pytest.raises(ember.jit.JitError, match='v999 is read before it is made'):
        ember.jit.load(path)


def _first_ref(x):
    if isinstance(x, dict):
        if x.get('$type') == 'dict' and x['items'] and x['items'][0][0] == 'ref':
            return x
        for v in (x.get('items') or x.values()):
            r = _first_ref(v)
            if r is not None:
                return r
    elif isinstance(x, list):
        for v in x:
            r = _first_ref(v)
            if r is not None:
                return r
    return None


def test_wrong_input_shape_names_the_traced_one(tmp_path):
    loaded = ember.jit.load(_saved(tmp_path))
    with pytest.raises(RuntimeError, match=r'argument 0 has shape \(5, 3\).*traced for shape '
                                           r'\(4, 3\)'):
        loaded(ember.ones(5, 3))


def test_a_model_holding_gradients_traces_and_saves(tmp_path):
    # the capture lists the parameters' .grad as inputs; a forward never reads them, so they
    # are not inputs of the program, and jit.save keeps it (it refused: "reads a .grad")
    model, x = ember.nn.Linear(4, 2), ember.randn(3, 4)
    model(x).sum().backward()
    assert model.weight.grad is not None
    path = str(tmp_path / 'm.safetensors')
    ember.jit.save(ember.jit.trace(model, x), path)
    loaded = ember.jit.load(path)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())


def test_a_training_step_with_an_optimizer_cannot_be_saved(tmp_path):
    model = ember.nn.Linear(2, 1)
    opt = ember.optim.Adam(model.parameters())

    @ember.compile
    def step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        return loss
    step(ember.ones(3, 2))
    with pytest.raises(ember.jit.JitError, match='optimizer step'):
        ember.jit.save(step, str(tmp_path / 's.safetensors'))


def test_trace_refuses_data_dependent_python():
    def f(x):
        return x * 2 if x.sum() > 0 else x
    with pytest.raises(ember.jit.JitError, match='left the graph at .*test_jit.py'):
        ember.jit.trace(f, ember.ones(2))
