"""ember.datasets: parts and spiral generators, the shipped mnist_5k, and the MNIST IDX reader
(on small IDX files written here, plain and gzipped, and corrupted ones)."""
import gzip
import hashlib
import io
import os

import numpy as np
import pytest

import ember
from ember.datasets import MNIST, mnist_5k, parts, read_idx, spiral, write_idx
from ember.datasets import mnist as mnist_module
from ember.datasets import synthetic


# ------------------------------------------------------------------ parts

def test_parts_shapes_and_reproducibility():
    x, y = parts()
    assert x.shape == y.shape == (200, 1) and x.dtype == y.dtype == ember.float32
    x2, y2 = parts()
    assert np.array_equal(x.numpy(), x2.numpy()) and np.array_equal(y.numpy(), y2.numpy())
    assert not np.array_equal(x.numpy(), parts(seed=1)[0].numpy())
    assert parts(n=7)[0].shape == (7, 1)


def test_parts_follows_its_documented_generating_values():
    x, y = (t.numpy()[:, 0].astype(np.float64) for t in parts(n=20000, seed=3))
    assert (synthetic.PARTS_SLOPE, synthetic.PARTS_INTERCEPT) == (0.5, 2.0)
    assert synthetic.PARTS_LENGTH_RANGE == (10.0, 50.0) and synthetic.PARTS_NOISE_STD == 0.05
    assert x.min() >= 10 and x.max() < 50 and abs(x.mean() - 30) < 0.5
    slope, intercept = np.polyfit(x, y, 1)
    assert abs(slope - 0.5) < 0.001 and abs(intercept - 2.0) < 0.02
    assert abs(np.std(y - (0.5 * x + 2.0)) - 0.05) < 0.002


def test_parts_feeds_a_loader():
    loader = ember.data.DataLoader(ember.data.TensorDataset(*parts(10)), batch_size=4)
    assert [tuple(x.shape) for x, _ in loader] == [(4, 1), (4, 1), (2, 1)]


# ------------------------------------------------------------------ spiral

def test_spiral_shapes_labels_and_radii():
    x, y = spiral()
    assert x.shape == (300, 2) and x.dtype == ember.float32
    assert y.shape == (300,) and y.dtype == ember.int64
    assert np.bincount(y.numpy()).tolist() == [100, 100, 100]
    r = np.linalg.norm(x.numpy(), axis=1).reshape(3, 100)
    np.testing.assert_allclose(r, np.tile(np.linspace(0, 1, 100), (3, 1)), atol=1e-6)
    assert np.array_equal(x.numpy(), spiral()[0].numpy())
    assert not np.array_equal(x.numpy(), spiral(seed=1)[0].numpy())
    x5, y5 = spiral(n_per_class=20, classes=5)
    assert x5.shape == (100, 2) and set(y5.tolist()) == set(range(5))


def test_spiral_arms_turn_like_cs231n():
    x, _ = spiral(n_per_class=100, classes=3, seed=0)
    pts = x.numpy().reshape(3, 100, 2)
    t = np.arctan2(pts[..., 0], pts[..., 1])   # angle of (r sin t, r cos t) is t (mod 2 pi)
    for j in range(3):
        want = np.linspace(4 * j, 4 * (j + 1), 100)
        diff = np.angle(np.exp(1j * (t[j, 1:] - want[1:])))   # skip r = 0
        assert np.abs(diff).max() < 1.2 and 0.1 < diff.std() < 0.3


# ------------------------------------------------------------------ mnist_5k

def test_mnist_5k_shape_dtype_balance():
    x, y = mnist_5k()
    assert x.shape == (5000, 28, 28) and x.dtype == ember.float32
    assert y.shape == (5000,) and y.dtype == ember.int64
    assert np.bincount(y.numpy()).tolist() == [500] * 10
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    raw, y2 = mnist_5k(normalize=False)
    assert raw.dtype == ember.uint8 and int(raw.max()) == 255
    np.testing.assert_array_equal(raw.numpy() / np.float32(255), x.numpy())
    assert int(raw.numpy().sum(dtype=np.int64)) == 131267102   # the checksum in the README
    ink = raw.numpy().reshape(5000, -1).astype(bool).mean(1)
    assert 0.05 < ink.min() and ink.max() < 0.6   # real digits: some ink, mostly background


def test_mnist_5k_returns_fresh_tensors():
    x, y = mnist_5k(normalize=False)
    x.numpy()[:] = 0
    y.numpy()[:] = 0
    x2, y2 = mnist_5k(normalize=False)
    assert int(x2.max()) == 255 and int(y2.max()) == 9


def test_mnist_5k_file_is_small_and_pickle_free():
    path = mnist_module.MNIST_5K_PATH
    assert os.path.getsize(path) < 1_000_000
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ['images', 'labels']
    here = os.path.dirname(path)
    readme = open(os.path.join(here, 'README.md')).read()
    for who in ('LeCun', 'Cortes', 'Burges', 'Raschka', 'BSD'):
        assert who in readme


def test_package_data_lists_the_shipped_files():
    toml = open(os.path.join(os.path.dirname(ember.__file__), '..', 'pyproject.toml')).read()
    assert '"datasets/*.npz"' in toml and '"datasets/*.md"' in toml


# ------------------------------------------------------------------ IDX files and MNIST

def make_mnist(folder, prefix='train', n=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    os.makedirs(folder, exist_ok=True)
    ext = '.gz' if gz else ''
    write_idx(os.path.join(folder, f'{prefix}-images-idx3-ubyte{ext}'), images)
    write_idx(os.path.join(folder, f'{prefix}-labels-idx1-ubyte{ext}'), labels)
    return images, labels


@pytest.mark.parametrize('dtype', [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize('gz', [False, True])
def test_idx_round_trip(tmp_path, dtype, gz):
    a = (np.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    p = tmp_path / ('a.idx.gz' if gz else 'a.idx')
    write_idx(p, a)
    b = read_idx(p)
    assert b.dtype == np.dtype(dtype) and np.array_equal(a, b)


def test_idx_header_is_big_endian_like_mnist(tmp_path):
    write_idx(tmp_path / 'l', np.array([5, 0, 4], np.uint8))
    assert (tmp_path / 'l').read_bytes() == bytes.fromhex('00000801' '00000003') + b'\5\0\4'


def test_mnist_reads_plain_and_gzipped_idx(tmp_path):
    train = make_mnist(tmp_path, 'train', n=5)
    test = make_mnist(tmp_path / 'MNIST' / 'raw', 't10k', n=3, gz=True, seed=1)
    for ds, (images, labels) in [(MNIST(tmp_path), train), (MNIST(tmp_path, train=False), test)]:
        assert len(ds) == len(labels)
        assert ds.data.dtype == ember.uint8 and ds.data.shape == (len(labels), 28, 28)
        assert ds.targets.dtype == ember.int64
        np.testing.assert_array_equal(ds.data.numpy(), images)
        np.testing.assert_array_equal(ds.targets.numpy(), labels)
        img, target = ds[1]
        assert type(target) is int and target == labels[1]
        np.testing.assert_array_equal(img.numpy(), images[1])
    assert 'Split: Test' in repr(MNIST(tmp_path, train=False))
    assert MNIST.classes[3] == '3 - three' and MNIST(tmp_path).class_to_idx['9 - nine'] == 9


def test_mnist_transforms_and_loader(tmp_path):
    images, labels = make_mnist(tmp_path, n=6)
    ds = MNIST(tmp_path, transform=lambda im: im.float().reshape(784) / 255,
               target_transform=lambda t: t + 100)
    x, y = ds[0]
    assert x.shape == (784,) and x.dtype == ember.float32 and y == labels[0] + 100
    batches = list(ember.data.DataLoader(ds, batch_size=4))
    assert batches[0][0].shape == (4, 784) and batches[0][1].dtype == ember.int64
    assert batches[1][1].tolist() == [int(v) + 100 for v in labels[4:]]


def corrupt(path, fn):
    raw = bytearray(open(path, 'rb').read())
    raw = fn(raw)
    open(path, 'wb').write(bytes(raw))


@pytest.mark.parametrize('which, damage, msg', [
    ('images', lambda r: b'\x00\x00\x08\x01' + r[4:], 'magic number'),
    ('labels', lambda r: b'\x12\x34' + r[2:], 'magic number'),
    ('images', lambda r: r[:-10], 'truncated'),
    ('images', lambda r: r + b'\0', 'truncated'),
    ('labels', lambda r: r[:3], 'too short'),
    ('images', lambda r: r[:10], 'file ends'),
    ('labels', lambda r: r[:8] + b'\x0c' + r[9:], 'label 12'),
])
def test_mnist_rejects_corrupt_headers_clearly(tmp_path, which, damage, msg):
    make_mnist(tmp_path, n=4)
    corrupt(tmp_path / f'train-{which}-idx{3 if which == "images" else 1}-ubyte', damage)
    with pytest.raises(ValueError, match=msg) as info:
        MNIST(tmp_path)
    assert 'train-' in str(info.value)


def test_mnist_rejects_mismatched_files(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / 'train-images-idx3-ubyte', rng.integers(0, 255, (3, 28, 28), np.uint8))
    write_idx(tmp_path / 'train-labels-idx1-ubyte', np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match='3 images but .* 4 labels'):
        MNIST(tmp_path)
    write_idx(tmp_path / 'train-images-idx3-ubyte', np.zeros((4, 27, 28), np.uint8))
    with pytest.raises(ValueError, match=r'\(28, 28\)'):
        MNIST(tmp_path)


def test_mnist_corrupt_gzip_is_a_clear_error(tmp_path):
    make_mnist(tmp_path, n=2, gz=True)
    corrupt(tmp_path / 'train-images-idx3-ubyte.gz', lambda r: r[:30])
    with pytest.raises(ValueError, match='cannot be read'):
        MNIST(tmp_path)


def test_mnist_missing_files_and_no_network(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match='Dataset not found.*download=True'):
        MNIST(tmp_path)

    def offline(url, timeout):
        raise OSError('network is unreachable')

    monkeypatch.setattr(mnist_module, '_urlopen', offline)
    with pytest.raises(RuntimeError, match='could not download .*network is unreachable'):
        MNIST(tmp_path, download=True)


def test_mnist_download_checks_md5_without_the_network(tmp_path, monkeypatch):
    src = tmp_path / 'server'
    make_mnist(src, 'train', n=2, gz=True)
    make_mnist(src, 't10k', n=2, gz=True)
    served = {p.name: p.read_bytes() for p in src.iterdir()}
    monkeypatch.setattr(MNIST, 'resources', [(n, hashlib.md5(b).hexdigest())
                                             for n, b in sorted(served.items())])
    monkeypatch.setattr(mnist_module, '_urlopen',
                        lambda url, timeout: io.BytesIO(served[url.rsplit('/', 1)[1]]))
    ds = MNIST(tmp_path / 'data', download=True)
    assert len(ds) == 2 and (tmp_path / 'data' / 'MNIST' / 'raw').is_dir()

    served['t10k-labels-idx1-ubyte.gz'] = gzip.compress(b'tampered')
    with pytest.raises(RuntimeError, match='MD5 mismatch'):
        MNIST(tmp_path / 'other', train=False, download=True)
