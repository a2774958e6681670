"""Small generated datasets for demos: the talk's industrial parts, and the three-arm spiral."""
import numpy as np

from .._tensor import from_numpy

# The parts regression's generating values (see ``parts``).
PARTS_SLOPE = 0.5               # mm of width per mm of length
PARTS_INTERCEPT = 2.0           # mm
PARTS_LENGTH_RANGE = (10.0, 50.0)   # mm, uniform
PARTS_NOISE_STD = 0.05          # mm, gaussian (a machining tolerance)


def parts(n=200, seed=0):
    """The talk's industrial-parts regression: ``n`` parts, each length and width in mm.

    ``length ~ Uniform(10, 50)`` and ``width = 0.5 * length + 2.0 + noise`` with
    ``noise ~ Normal(0, 0.05)`` (the constants ``PARTS_SLOPE``, ``PARTS_INTERCEPT``,
    ``PARTS_LENGTH_RANGE`` and ``PARTS_NOISE_STD`` of this module). Returns ``(length,
    width)``: two float32 tensors of shape ``(n, 1)``, ready for ``nn.Linear(1, 1)``; wrap them
    in ``ember.data.TensorDataset(*parts())`` for a DataLoader. NumPy's PCG64 seeded with
    ``seed`` draws the lengths, then the noise, so a seed always gives the same parts.

    >>> x, y = ember.datasets.parts(100)
    >>> x.shape, y.dtype
    (ember.Size([100, 1]), ember.float32)
    >>> bool(((x >= 10) & (x < 50)).all())
    True
    """
    rng = np.random.default_rng(seed)
    length = rng.uniform(*PARTS_LENGTH_RANGE, size=(n, 1))
    width = PARTS_SLOPE * length + PARTS_INTERCEPT + rng.normal(0.0, PARTS_NOISE_STD, (n, 1))
    return from_numpy(length.astype(np.float32)), from_numpy(width.astype(np.float32))


def spiral(n_per_class=100, classes=3, seed=0):
    """The classic spiral of 2-D points (CS231n's), one arm per class.

    For class ``j`` the radius runs evenly over ``linspace(0, 1, n_per_class)`` and the angle
    over ``linspace(4j, 4(j + 1), n_per_class)`` plus ``Normal(0, 0.2)`` noise; a point is
    ``(r sin t, r cos t)``. Returns ``(x, y)``: float32 points of shape
    ``(n_per_class * classes, 2)`` inside the unit disc and int64 labels ``0 .. classes - 1``,
    class by class. Seeded with NumPy's PCG64.

    >>> x, y = ember.datasets.spiral()
    >>> x.shape, y.shape, y.dtype
    (ember.Size([300, 2]), ember.Size([300]), ember.int64)
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for j in range(classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(j * 4.0, (j + 1) * 4.0, n_per_class) + rng.normal(0.0, 0.2, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, j, dtype=np.int64))
    x = np.concatenate(xs).astype(np.float32).reshape(-1, 2)
    return from_numpy(x), from_numpy(np.concatenate(ys))
