"""Sparse COO tensors (ember.sparse) against torch: construction, coalescing, conversions, the
sparse-dense product with gradients to both operands, sums, softmax, arithmetic, and one
graph-convolution training step."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import DEVICE, assert_sum_close, tol

pytestmark = pytest.mark.filterwarnings('ignore:Sparse invariant checks')   # torch's warning

DTYPES = [(ember.float32, torch.float32, np.float32), (ember.float64, torch.float64, np.float64)]


def both_sparse(idx, vals, size, dtype=None, requires_grad=False, tdtype=None):
    """The same sparse tensor in ember and torch (values that require grad when asked)."""
    ve = ember.tensor(vals, dtype=dtype, requires_grad=requires_grad)
    vt = torch.tensor(vals, dtype=tdtype, requires_grad=requires_grad)
    return (ember.sparse_coo_tensor(idx, ve, size), torch.sparse_coo_tensor(idx, vt, size),
            ve, vt)


def same(e, t):
    """Bit-equal arrays (indices, values that took no arithmetic, flags)."""
    a, b = np.asarray(e.detach().numpy()), t.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)


def random_coo(rng, shape, nnz, dups=True):
    """Unsorted indices, some repeated (when ``dups``), and values in [-1, 1)."""
    idx = np.stack([rng.integers(0, n, nnz) for n in shape])
    if dups and nnz > 2:
        idx[:, -2:] = idx[:, :2]
    return idx, rng.uniform(-1, 1, nnz)


# ---------------------------------------------------------------- construction

def test_duplicates_summed_and_unsorted_indices_sorted_by_coalesce():
    idx = [[1, 0, 1, 2, 0], [2, 0, 2, 1, 0]]
    e, t, _, _ = both_sparse(idx, [1.0, 2.0, 3.0, 4.0, 5.0], (3, 3))
    assert e.is_coalesced() is t.is_coalesced() is False
    assert e._nnz() == t._nnz() == 5 and e.shape == tuple(t.shape)
    same(e._indices(), t._indices())
    ce, ct = e.coalesce(), t.coalesce()
    assert ce.is_coalesced() and ct.is_coalesced() and ce.coalesce() is ce
    same(ce.indices(), ct.indices())
    same(ce.values(), ct.values())
    assert (e.sparse_dim(), e.dense_dim(), e.ndim, e.dim()) == (t.sparse_dim(), t.dense_dim(),
                                                                  t.ndim, t.dim())
    assert e.layout is ember.sparse_coo and e.is_sparse and not ember.ones(1).is_sparse
    assert ember.ones(1).layout is ember.strided and repr(ember.strided) == 'ember.strided'
    with pytest.raises(RuntimeError, match='uncoalesced'):
        e.indices()
    with pytest.raises(RuntimeError, match='uncoalesced'):
        e.values()


def test_size_inferred_dtypes_and_int32_indices():
    idx = torch.tensor([[0, 3], [2, 1]], dtype=torch.int32)
    e = ember.sparse_coo_tensor(ember.tensor(idx.numpy()), [1, 2])
    t = torch.sparse_coo_tensor(idx, [1, 2])
    assert e.shape == tuple(t.shape) and e.dtype.name == str(t.dtype)[6:]
    same(e._indices(), t._indices())     # int64, as torch makes them
    e64 = ember.sparse_coo_tensor([[0, 1]], [1, 2], dtype=ember.float64)
    assert e64.dtype is ember.float64 and e64.to(ember.float32).dtype is ember.float32
    assert e64.float().dtype is ember.float32 and e64.float().double().dtype is ember.float64


def test_empty_nnz():
    for size in [(2, 3), None]:
        e = ember.sparse_coo_tensor(ember.zeros(2, 0, dtype=ember.int64), ember.zeros(0), size)
        t = torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0),
                                    *([size] if size else []))
        assert e.shape == tuple(t.shape) and e._nnz() == 0
        same(e.to_dense(), t.to_dense())
        same(e.coalesce().indices(), t.coalesce().indices())
        assert float(ember.sparse.sum(e)) == float(torch.sparse.sum(t)) == 0
    e = ember.sparse_coo_tensor(ember.zeros(2, 0, dtype=ember.int64), ember.zeros(0), (2, 3))
    same(e @ ember.ones(3, 4), torch.zeros(2, 4))
    same(ember.zeros(2, 3).to_sparse().to_dense(), torch.zeros(2, 3))
    assert ember.zeros(2, 3).to_sparse()._nnz() == 0


@pytest.mark.parametrize('idx, vals, size', [
    ([[0, 5]], [1.0, 2.0], (3,)),                  # beyond the size
    ([[0, -1]], [1.0, 2.0], (3,)),                 # negative
    ([[0, 1], [0, 3]], [1.0, 2.0], (2, 2)),        # beyond, in the second dimension
    ([[0, 1]], [1.0], (3,)),                       # nnz differ
    ([[0, 1], [0, 1]], [1.0, 2.0], (3,)),          # len(size) is not sparse_dim
    ([0, 1], [1.0, 2.0], (3,)),                    # 1-D indices
])
def test_invalid_indices_refused_as_torch_refuses(idx, vals, size):
    with pytest.raises(RuntimeError) as te:
        torch.sparse_coo_tensor(idx, vals, size, check_invariants=True)
    with pytest.raises(RuntimeError) as ee:
        ember.sparse_coo_tensor(idx, vals, size)
    theirs = str(te.value).split('\n')[0]
    assert str(ee.value).endswith(theirs) or theirs in str(ee.value) or \
        'indices must be sparse_dim x nnz' in str(ee.value), (str(ee.value), theirs)


def test_other_refusals_name_sparse():
    with pytest.raises(RuntimeError, match="sparse.*'cuda'|'cuda'.*sparse"):
        ember.sparse_coo_tensor([[0]], [1.0], (2,), device='cuda')
    with pytest.raises(RuntimeError, match='sparse'):
        ember.eye(2).to_sparse().to('cuda')
    with pytest.raises(NotImplementedError, match='hybrid'):
        ember.sparse_coo_tensor([[0]], [[1.0, 2.0]], (2, 2))
    with pytest.raises(RuntimeError, match='int64'):
        ember.sparse_coo_tensor([[0.0]], [1.0], (2,))
    a = ember.eye(2).to_sparse()
    for op in [lambda: a.exp(), lambda: a.view(4), lambda: ember.ones(2, 2) + a,
               lambda: a * ember.ones(2, 2), lambda: a + 1, lambda: a @ a,
               lambda: a.numpy(), lambda: ember.relu(a)]:
        with pytest.raises((RuntimeError, TypeError), match='(?i)sparse'):
            op()
    with pytest.raises(RuntimeError, match='same shape'):
        a + ember.eye(3).to_sparse()
    with pytest.raises(RuntimeError, match='cannot be multiplied'):
        a @ ember.ones(3, 2)
    with pytest.raises(RuntimeError, match='same dtype'):
        a @ ember.ones(2, 2, dtype=ember.float64)
    with pytest.raises(RuntimeError, match=r'cannot be multiplied \(2x3 and 2x2\)'):
        ember.ones(2, 3) @ a
    with pytest.raises(TypeError, match='sparse mat1'):
        ember.sparse.addmm(ember.ones(2, 2), ember.ones(2, 2), a)


def test_repr_matches_torch():
    idx = [[1, 0, 1], [2, 0, 2]]
    for dt, tdt, _ in DTYPES:
        e, t, _, _ = both_sparse(idx, [1.0, 2.0, 3.0], (2, 3), dt, True, tdt)
        want = repr(t).replace('torch.', 'ember.').split('sparse_coo')[0]
        assert repr(e).split('sparse_coo')[0] == want   # (the node's name is torch's own)
    e = ember.sparse_coo_tensor(idx, [1.0, 2.0, 3.0], (2, 3), requires_grad=True)
    t = torch.sparse_coo_tensor(idx, [1.0, 2.0, 3.0], (2, 3), requires_grad=True)
    assert repr(e) == repr(t).replace('torch.', 'ember.')


# ---------------------------------------------------------------- conversions

@pytest.mark.parametrize('shape', [(5,), (4, 6), (2, 3, 4), ()])
@pytest.mark.parametrize('dt, tdt, npdt', DTYPES)
def test_to_sparse_to_dense_round_trip(shape, dt, tdt, npdt):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, shape) * (rng.uniform(size=shape) < 0.4)
    xe = ember.tensor(x.astype(npdt), requires_grad=True)
    xt = torch.tensor(x.astype(npdt), requires_grad=True)
    se, st = xe.to_sparse(), xt.to_sparse()
    assert se.is_coalesced() and st.is_coalesced() and se.shape == tuple(st.shape)
    same(se.indices(), st.indices())
    same(se.values(), st.values())
    same(se.to_dense(), st.to_dense())
    assert xe.to_dense() is xe and se.to_sparse() is se
    w = rng.uniform(-1, 1, shape).astype(npdt)
    (se.to_dense() * ember.tensor(w)).sum().backward()
    (st.to_dense() * torch.tensor(w)).sum().backward()
    same(xe.grad, xt.grad)        # w at the stored entries, 0 elsewhere


def test_to_dense_sums_duplicates_and_gives_values_their_gradient():
    rng = np.random.default_rng(1)
    idx, vals = random_coo(rng, (4, 5), 12)
    for dt, tdt, npdt in DTYPES:
        e, t, ve, vt = both_sparse(idx, vals.astype(npdt), (4, 5), dt, True, tdt)
        de, dtt = e.to_dense(), t.to_dense()
        assert_sum_close(de.detach().numpy(), dtt.detach().numpy(), npdt, 2,
                         np.abs(e.detach().coalesce().to_dense().numpy()) + 1e-300)
        w = rng.uniform(-1, 1, (4, 5)).astype(npdt)
        (de * ember.tensor(w)).sum().backward()
        (dtt * torch.tensor(w)).sum().backward()
        same(ve.grad, vt.grad)


# ---------------------------------------------------------------- products

@pytest.mark.parametrize('dt, tdt, npdt', DTYPES)
@pytest.mark.parametrize('how', ['sparse.mm', 'mm', 'matmul', '@', 'method'])
def test_mm_forward_and_gradients(dt, tdt, npdt, how):
    rng = np.random.default_rng(2)
    m, k, n, nnz = 6, 7, 3, 15
    idx, vals = random_coo(rng, (m, k), nnz)
    d = rng.uniform(-1, 1, (k, n)).astype(npdt)
    e, t, ve, vt = both_sparse(idx, vals.astype(npdt), (m, k), dt, True, tdt)
    de, dtt = ember.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    fe = {'sparse.mm': ember.sparse.mm, 'mm': ember.mm, 'matmul': ember.matmul,
          '@': lambda a, b: a @ b, 'method': lambda a, b: a.mm(b)}[how]
    oe, ot = fe(e, de), torch.sparse.mm(t, dtt)
    dense_abs = np.abs(t.detach().to_dense().numpy())
    assert_sum_close(oe.detach().numpy(), ot.detach().numpy(), npdt, nnz,
                     dense_abs @ np.abs(d), what='forward')
    g = rng.uniform(-1, 1, (m, n)).astype(npdt)
    (oe * ember.tensor(g)).sum().backward()
    (ot * torch.tensor(g)).sum().backward()
    assert_sum_close(de.grad.numpy(), dtt.grad.numpy(), npdt, nnz, dense_abs.T @ np.abs(g),
                     what='grad of the dense operand')
    rows, cols = idx
    mag = (np.abs(g)[rows] * np.abs(d)[cols]).sum(1)
    assert_sum_close(ve.grad.numpy(), vt.grad.numpy(), npdt, n, mag, what='grad of values')


@pytest.mark.parametrize('dt, tdt, npdt', DTYPES)
@pytest.mark.parametrize('how', ['sparse.mm', 'mm', 'matmul', '@'])
def test_dense_times_sparse_forward_and_gradients(dt, tdt, npdt, how):
    """dense @ sparse, as torch.mm(dense, sparse), and a vector times a sparse matrix."""
    rng = np.random.default_rng(12)
    m, k, n, nnz = 6, 7, 3, 15
    idx, vals = random_coo(rng, (k, n), nnz)
    d = rng.uniform(-1, 1, (m, k)).astype(npdt)
    e, t, ve, vt = both_sparse(idx, vals.astype(npdt), (k, n), dt, True, tdt)
    de, dtt = ember.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    fe = {'sparse.mm': ember.sparse.mm, 'mm': ember.mm, 'matmul': ember.matmul,
          '@': lambda a, b: a @ b}[how]
    oe, ot = fe(de, e), torch.mm(dtt, t)
    sparse_abs = np.abs(t.detach().to_dense().numpy())
    assert_sum_close(oe.detach().numpy(), ot.detach().numpy(), npdt, nnz,
                     np.abs(d) @ sparse_abs, what='forward')
    g = rng.uniform(-1, 1, (m, n)).astype(npdt)
    (oe * ember.tensor(g)).sum().backward()
    (ot * torch.tensor(g)).sum().backward()
    assert_sum_close(de.grad.numpy(), dtt.grad.numpy(), npdt, nnz, np.abs(g) @ sparse_abs.T,
                     what='grad of the dense operand')
    rows, cols = idx
    mag = (np.abs(d)[:, rows] * np.abs(g)[:, cols]).sum(0)
    assert_sum_close(ve.grad.numpy(), vt.grad.numpy(), npdt, m, mag, what='grad of values')
    v = rng.uniform(-1, 1, k).astype(npdt)
    assert_sum_close((ember.tensor(v) @ e.detach()).numpy(),
                     (torch.tensor(v) @ t.detach()).numpy(), npdt, nnz,
                     np.abs(v) @ sparse_abs)


def test_addmm_matches_torch():
    rng = np.random.default_rng(13)
    idx, vals = random_coo(rng, (4, 5), 9)
    e, t, ve, vt = both_sparse(idx, vals, (4, 5), ember.float64, True, torch.float64)
    d, c = rng.uniform(-1, 1, (5, 3)), rng.uniform(-1, 1, (4, 3))
    de, dtt = ember.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    ce, ct = ember.tensor(c, requires_grad=True), torch.tensor(c, requires_grad=True)
    oe = ember.sparse.addmm(ce, e, de, beta=0.5, alpha=-2.0)
    ot = torch.sparse.addmm(ct, t, dtt, beta=0.5, alpha=-2.0)
    mag = 0.5 * np.abs(c) + 2 * np.abs(t.detach().to_dense().numpy()) @ np.abs(d)
    assert_sum_close(oe.detach().numpy(), ot.detach().numpy(), np.float64, 6, mag)
    oe.pow(2).sum().backward()
    ot.pow(2).sum().backward()
    for a, b in ((ce.grad, ct.grad), (de.grad, dtt.grad), (ve.grad, vt.grad)):
        assert_sum_close(a.numpy(), b.numpy(), np.float64, 12, np.abs(b.numpy()) + 4)


@pytest.mark.parametrize('dt, tdt, npdt', DTYPES)
def test_sparse_leaf_gradient_and_matrix_vector(dt, tdt, npdt):
    rng = np.random.default_rng(3)
    idx, vals = random_coo(rng, (5, 4), 10)
    d = rng.uniform(-1, 1, (4, 2)).astype(npdt)
    e = ember.sparse_coo_tensor(idx, vals.astype(npdt), (5, 4), requires_grad=True)
    t = torch.sparse_coo_tensor(idx, vals.astype(npdt), (5, 4), requires_grad=True)
    assert e.is_leaf and e.requires_grad and e.grad is None
    (ember.sparse.mm(e, ember.tensor(d)) ** 2).sum().backward()
    (torch.sparse.mm(t, torch.tensor(d)) ** 2).sum().backward()
    assert e.grad.is_coalesced()
    same(e.grad.indices(), t.grad.coalesce().indices())
    out_abs = np.abs(t.detach().to_dense().numpy()) @ np.abs(d)
    assert_sum_close(e.grad.values().numpy(), t.grad.coalesce().values().numpy(), npdt, 2 + 4,
                     2 * (out_abs[idx[0]] * np.abs(d)[idx[1]]).sum(1)[
                         np.unique(idx[0] * 4 + idx[1], return_index=True)[1]])
    v = rng.uniform(-1, 1, 4).astype(npdt)
    assert_sum_close((e @ ember.tensor(v)).detach().numpy(),
                     torch.matmul(t.detach(), torch.tensor(v)).numpy(), npdt, 4,
                     np.abs(t.detach().to_dense().numpy()) @ np.abs(v))


def test_values_from_dense_through_to_sparse_get_gradients():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    d = np.arange(6.0).reshape(3, 2)
    (ember.sparse.mm(xe.to_sparse(), ember.tensor(d)) ** 2).sum().backward()
    (torch.sparse.mm(xt.to_sparse(), torch.tensor(d)) ** 2).sum().backward()
    assert_sum_close(xe.grad.numpy(), xt.grad.numpy(), np.float64, 4, np.abs(xt.grad.numpy()))
    assert xe.grad.numpy()[0, 0] == 0    # an entry not stored gets nothing, as in torch


# ---------------------------------------------------------------- reductions, softmax

@pytest.mark.parametrize('dim', [None, 0, 1, -1, (0, 1), (1,)])
def test_sum(dim):
    rng = np.random.default_rng(4)
    idx, vals = random_coo(rng, (4, 5), 12)
    e, t, ve, vt = both_sparse(idx, vals, (4, 5), ember.float64, True, torch.float64)
    oe = ember.sparse.sum(e) if dim is None else ember.sparse.sum(e, dim)
    ot = torch.sparse.sum(t) if dim is None else torch.sparse.sum(t, dim)
    assert isinstance(oe, ember.sparse.SparseTensor) == ot.is_sparse
    if ot.is_sparse:
        assert oe.is_coalesced() and ot.is_coalesced()
        same(oe.indices(), ot.indices())
        oe, ot = oe.values(), ot.values()
    assert_sum_close(oe.detach().numpy(), ot.detach().numpy(), np.float64, 12,
                     np.abs(ot.detach().numpy()) + 12)
    oe.sum().backward()
    ot.sum().backward()
    same(ve.grad, vt.grad)
    assert float(e.sum()) == pytest.approx(float(t.detach().sum()), rel=1e-15)


@pytest.mark.parametrize('dim', [0, 1, -1])
@pytest.mark.parametrize('log', [False, True])
def test_softmax(dim, log):
    rng = np.random.default_rng(5)
    idx, vals = random_coo(rng, (4, 6), 14)
    e, t, ve, vt = both_sparse(idx, vals * 3, (4, 6), ember.float64, True, torch.float64)
    fe = ember.sparse.log_softmax if log else ember.sparse.softmax
    ft = torch.sparse.log_softmax if log else torch.sparse.softmax
    # torch 2.13's backward of a negative dim is wrong (dim=-1 and dim=1 of a 2-D tensor give
    # the values different gradients; dim=1's are the softmax's): compared at dim % 2
    oe, ot = fe(e, dim), ft(t, dim % 2)
    assert oe.is_coalesced() and ot.is_coalesced()
    same(oe.indices(), ot.coalesce().indices())
    assert_sum_close(oe.values().detach().numpy(), ot.coalesce().values().detach().numpy(),
                     np.float64, 6, np.abs(ot.coalesce().values().detach().numpy()) + 1)
    w = rng.uniform(-1, 1, oe._nnz())
    (oe.values() * ember.tensor(w)).sum().backward()
    (ot.coalesce().values() * torch.tensor(w)).sum().backward()
    assert_sum_close(ve.grad.numpy(), vt.grad.numpy(), np.float64, 12, np.abs(vt.grad.numpy()) + 1)


# ---------------------------------------------------------------- arithmetic

def test_scalar_mul_div_neg_add_sub():
    rng = np.random.default_rng(6)
    idx, vals = random_coo(rng, (3, 4), 8)
    idx2, vals2 = random_coo(rng, (3, 4), 5)
    e, t, ve, vt = both_sparse(idx, vals, (3, 4), ember.float64, True, torch.float64)
    e2, t2, _, _ = both_sparse(idx2, vals2, (3, 4), ember.float64, False, torch.float64)
    pairs = [(e * 2.5, t * 2.5), (3 * e, 3 * t), (e / 4, t / 4), (-e, -t),
             (e * ember.tensor(2.0, dtype=ember.float64), t * torch.tensor(2.0).double()),
             (e + e2, t + t2), (e - e2, t - t2),
             (e.coalesce() + e2.coalesce(), t.coalesce() + t2.coalesce())]
    for k, (a, b) in enumerate(pairs):
        assert a.is_coalesced() == b.is_coalesced(), k
        assert a._nnz() == b._nnz(), k   # (the order of uncoalesced entries is torch's own)
        same(a.coalesce().indices(), b.coalesce().indices())
        assert_sum_close(a.to_dense().detach().numpy(), b.to_dense().detach().numpy(),
                         np.float64, 4, np.abs(b.to_dense().detach().numpy()) + 4)
    (e * 2.5 - e2).to_dense().sum().backward()
    (t * 2.5 - t2).to_dense().sum().backward()
    same(ve.grad, vt.grad)
    tr_e, tr_t = e.t(), t.t()
    same(tr_e._indices(), tr_t._indices())
    assert tr_e.shape == tuple(tr_t.shape) and tr_e.is_coalesced() == tr_t.is_coalesced()


# ---------------------------------------------------------------- a graph network step

@pytest.mark.parametrize('dt, tdt, npdt', DTYPES)
def test_gcn_layer_step_matches_torch(dt, tdt, npdt):
    """Two GCN layers, ``A_hat @ (X @ W)`` with the normalised adjacency sparse (its edges
    listed each way, unsorted, one edge split in two entries): the loss, the gradients of
    the weights and of the adjacency's values, then the loss after one SGD step."""
    rng = np.random.default_rng(7)
    nodes, feats, hidden, classes = 12, 5, 8, 3
    edges = rng.integers(0, nodes, (2, 20))
    src = np.concatenate([edges[0], edges[1], np.arange(nodes)])
    dst = np.concatenate([edges[1], edges[0], np.arange(nodes)])
    deg = np.bincount(dst, minlength=nodes).astype(np.float64)
    weight = 1 / np.sqrt(deg[src] * deg[dst])
    src, dst = np.append(src, src[0]), np.append(dst, dst[0])   # the first entry, split
    weight = np.append(weight, weight[0] * 0.25)
    weight[0] *= 0.75
    order = rng.permutation(src.size)
    idx, weight = np.stack([dst, src])[:, order], weight[order].astype(npdt)
    x = rng.normal(size=(nodes, feats)).astype(npdt)
    w1 = (rng.normal(size=(feats, hidden)) / np.sqrt(feats)).astype(npdt)
    w2 = (rng.normal(size=(hidden, classes)) / np.sqrt(hidden)).astype(npdt)
    labels = rng.integers(0, classes, nodes)

    def run(m, sp):
        a, av = sp(idx, weight)
        ws = [m.tensor(w, requires_grad=True) for w in (w1, w2)]
        xx = m.tensor(x)
        h = m.relu(a @ (xx @ ws[0]))
        out = a @ (h @ ws[1])
        loss = m.nn.functional.cross_entropy(out, m.tensor(labels))
        loss.backward()
        with m.no_grad():
            new = [w - 0.5 * w.grad for w in ws]
            h = m.relu(a @ (xx @ new[0]))
            after = m.nn.functional.cross_entropy(a @ (h @ new[1]), m.tensor(labels))
        return loss.item(), [w.grad.numpy() for w in ws], av.grad.numpy(), after.item()

    def sp_e(i, v):
        v = ember.tensor(v, requires_grad=True)
        return ember.sparse_coo_tensor(i, v, (nodes, nodes)), v

    def sp_t(i, v):
        v = torch.tensor(v, requires_grad=True)
        return torch.sparse_coo_tensor(i, v, (nodes, nodes)), v

    le, ge, gae, ae = run(ember, sp_e)
    lt, gt, gat, at = run(torch, sp_t)
    bound = tol(npdt, n=nodes * hidden * 4)   # the chain's sums, normwise
    assert abs(le - lt) <= bound * abs(lt) and abs(ae - at) <= bound * abs(at)
    assert ae < le
    for a, b in zip(ge + [gae], gt + [gat]):
        assert np.abs(a - b).max() <= bound * np.abs(b).max(), np.abs(a - b).max()


def test_second_order_gradients_by_finite_differences():
    """ember's second derivatives come from the dense ops the sparse ones are made of, checked
    in float64 here. torch is no oracle for them: torch 2.13's double backward through a
    sparse-dense product gives other numbers (off by 4 to 4400 from central differences on
    the case of the next test, whose first derivatives agree with torch's to 1e-16)."""
    from ember.autograd import gradcheck, gradgradcheck
    idx = ember.tensor([[0, 1, 1, 0], [1, 0, 2, 1]])   # (0, 1) twice
    v = ember.tensor([0.5, -1.0, 2.0, 0.3], dtype=ember.float64, requires_grad=True)
    d = ember.tensor(np.random.default_rng(8).normal(size=(3, 2)), requires_grad=True)
    d2 = ember.tensor(np.random.default_rng(9).normal(size=(4, 2)), requires_grad=True)
    fns = [(lambda v, d: ember.sparse.mm(ember.sparse_coo_tensor(idx, v, (2, 3)), d), (v, d)),
           (lambda v, d: d @ ember.sparse_coo_tensor(idx, v, (2, 3)), (v, d2)),
           (lambda v: ember.sparse.softmax(ember.sparse_coo_tensor(idx, v, (2, 3)), 1)
            .values(), (v,)),
           (lambda v: ember.sparse.log_softmax(ember.sparse_coo_tensor(idx, v, (2, 3)), 0)
            .values(), (v,)),
           (lambda v: ember.sparse.sum(ember.sparse_coo_tensor(idx, v, (2, 3)) * 3, 0)
            .values(), (v,))]
    for fn, args in fns:
        assert gradcheck(fn, args) and gradgradcheck(fn, args)


@pytest.mark.parametrize('order', ['sparse @ dense', 'dense @ sparse'])
def test_gradient_of_gradients_against_differences(order):
    """h = |d loss/d values|^2 + |d loss/d dense|^2 for loss = sum((a @ b)^3): ember's first
    derivatives against torch's, its gradient of h against central differences of h."""
    idx = [[0, 1, 1, 0], [1, 0, 2, 1]]
    vals = np.array([0.5, -1.0, 2.0, 0.3])
    dense = np.random.default_rng(14).normal(size=(3, 2) if order[0] == 's' else (4, 2))

    def h(m, vv, dd, create=False):
        v = m.tensor(vv, requires_grad=True)
        d = m.tensor(dd, requires_grad=True)
        s = m.sparse_coo_tensor(idx, v, (2, 3))
        grad = torch.autograd.grad if m is torch else ember.autograd.grad
        gv, gd = grad(((s @ d if order[0] == 's' else d @ s) ** 3).sum(), [v, d],
                      create_graph=create)
        out = (gv ** 2).sum() + (gd ** 2).sum()
        return grad(out, [v, d]) if create else (float(out), gv, gd)

    _, ev, ed = h(ember, vals, dense)
    _, tv, td = h(torch, vals, dense)
    for a, b in ((ev, tv), (ed, td)):
        assert_sum_close(a.numpy(), b.numpy(), np.float64, 12, np.abs(b.numpy()) + 1)
    gv, gd = h(ember, vals, dense, create=True)
    eps = 1e-6
    for got, x, shift in ((gv, vals, lambda e: (vals + e, dense)),
                          (gd, dense, lambda e: (vals, dense + e))):
        want = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            e = np.zeros(x.shape)
            e[i] = eps
            want[i] = (h(ember, *shift(e))[0] - h(ember, *shift(-e))[0]) / (2 * eps)
        # (central differences of h, which reaches 1.2e5: their rounding is 1e-16 * |h| / eps)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6,
                                   atol=1e-8 * np.abs(want).max())


def test_requires_grad_makes_a_leaf_of_its_own_values():
    v = ember.tensor([1.0, 2.0])
    s = ember.sparse_coo_tensor([[0, 1]], v, (3,)).requires_grad_()
    assert s.is_leaf and s.requires_grad and not v.requires_grad   # the caller's v untouched
    (s.to_dense() * ember.tensor([3.0, 4.0, 5.0])).sum().backward()
    same(s.grad.to_dense(), torch.tensor([3.0, 4.0, 0.0]))
    built = ember.sparse_coo_tensor([[0, 1]], ember.tensor([1.0, 2.0], requires_grad=True))
    assert not built.is_leaf and built.grad is None
    with pytest.raises(RuntimeError, match='leaf'):
        built.requires_grad_()
    assert not s.detach().requires_grad and s.detach().is_leaf


@pytest.mark.skipif(DEVICE != 'cuda', reason="needs 'cuda' (a GPU, or EMBER_FAKE_CUPY=1)")
def test_cuda_operands_refused_clearly():
    """Sparse tensors are CPU-only: a dense operand on 'cuda' is refused, naming sparse,
    the op and the device, and nothing is computed."""
    a = ember.eye(3).to_sparse()
    d = ember.ones(3, 3, device='cuda')
    for op, name in [(lambda: a @ d, 'matmul'), (lambda: d @ a, 'matmul'),
                     (lambda: ember.sparse.mm(a, d), 'mm'), (lambda: ember.mm(d, a), 'matmul'),
                     (lambda: ember.sparse.addmm(d, a, d), 'addmm'),
                     (lambda: d.to_sparse(), 'to_sparse'),
                     (lambda: ember.sparse_coo_tensor([[0]], d[0, :1], (2,)),
                      'sparse_coo_tensor')]:
        with pytest.raises(RuntimeError, match=f"{name}: sparse tensors live on the CPU.*'cuda"):
            op()
