"""Capture: run a function once on tracing arrays and record the NumPy program it runs.

Every op in ember, its backward and the optimizers' updates end in array calls on ``xp``
(NumPy or CuPy). During capture the tensors involved hold a ``Tracer`` instead of an array:
a stand-in that carries the real array (so the capture run computes exactly what eager
computes) and the number of its value in the program. Each NumPy call that touches a tracer
comes back to it through NumPy's own protocols (``__array_ufunc__``, ``__array_function__``)
or through its methods, is run on the real arrays and recorded as a node of the graph.

Whatever reads the data itself (``float(x)``, ``if x:``, ``.tolist()``, an array handed to
code that does not dispatch) gets the real value and breaks the graph: the capture run
goes on eagerly and correctly, and the function is not compiled (``explain`` says where).
Calls that depend only on shapes (``np.zeros_like``, ``np.empty``) are not recorded: their
results are constants, folded into the program.
"""
import operator
import sys
import traceback

import numpy as np

from .graph import Const, Node, Ref


_asarray = np.asarray   # (the capture patches np.asarray: these are NumPy's own)


class GraphBreak(Exception):
    """Raised by ``fullgraph=True`` where the capture had to leave the graph.

    >>> f = ember.compile(lambda x: x * 2 if x.sum() > 0 else x, fullgraph=True)
    >>> f(ember.ones(2))
    Traceback (most recent call last):
    ...
    ember.compiler.tracer.GraphBreak: ember.compile(fullgraph=True): graph break at ...
    """


# NumPy functions whose result is metadata (no array): run, never recorded
# The kinds of array functions the capture treats apart, by name (NumPy's here, CuPy's in
# gpu.py): metadata (run, never recorded); functions writing into their first argument;
# results shaped by the data (a graph break); new arrays shaped like a traced one, and new
# arrays made by ember's op code (recorded: code writes into them with ``out=``; the
# folding pass makes those nobody writes constants)
SHAPE_ONLY_NAMES = {'shape', 'ndim', 'size', 'result_type', 'can_cast', 'iscomplexobj',
                    'isrealobj', 'broadcast_shapes', 'may_share_memory', 'shares_memory',
                    'min_scalar_type', 'isscalar', 'promote_types', 'common_type'}
MUTATES_NAMES = {'put_along_axis', 'put', 'place', 'putmask', 'copyto', 'fill_diagonal'}
DATA_SHAPED_NAMES = {'nonzero', 'flatnonzero', 'argwhere', 'unique', 'compress', 'extract'}
ALLOC_NAMES = {'zeros_like', 'ones_like', 'empty_like', 'full_like'}
NEW_NAMES = {'empty', 'zeros', 'ones', 'full'}
_SHAPE_ONLY = {getattr(np, n) for n in SHAPE_ONLY_NAMES}
ALLOC = {getattr(np, n) for n in ALLOC_NAMES}
NEW = {getattr(np, n) for n in NEW_NAMES}


def _user_line():
    """'file:line' of the innermost frame outside ember (the user's line), or ''."""
    import os
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for fr in reversed(traceback.extract_stack()):
        if not os.path.abspath(fr.filename).startswith(here) and 'numpy' not in fr.filename:
            return f'{fr.filename}:{fr.lineno}'
    return ''


class Tracer:
    """An array during capture: the real array ``v`` and its value number ``i``."""
    __slots__ = ('v', 'i', 'cap')
    __array_priority__ = 1e6   # (above CuPy's: its operators defer to ours)

    def __init__(self, cap, v, i):
        self.v, self.i, self.cap = v, i, cap

    # ---------------------------------------------------------- metadata (not recorded)
    shape = property(lambda s: s.v.shape)
    dtype = property(lambda s: s.v.dtype)
    ndim = property(lambda s: s.v.ndim)
    size = property(lambda s: s.v.size)
    itemsize = property(lambda s: s.v.itemsize)
    nbytes = property(lambda s: s.v.nbytes)
    strides = property(lambda s: s.v.strides)
    flags = property(lambda s: s.v.flags)
    base = property(lambda s: s.v.base)
    device = property(lambda s: getattr(s.v, 'device', 'cpu'))

    @property
    def traced_namespace(self):
        """``xp`` for this array (``backend.namespace``): NumPy, whose calls come back here."""
        if type(self.v) is np.ndarray or isinstance(self.v, np.generic):
            return np
        from .gpu import traced_namespace   # CuPy does not dispatch: a recording namespace
        return traced_namespace(self.cap, self.v)

    def __len__(self):
        return len(self.v)

    def __repr__(self):
        return f'<traced array v{self.i} {self.v.shape} {self.v.dtype}>'

    # ---------------------------------------------------------- NumPy's protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return self.cap.call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return self.cap.call(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        self.cap.brk('the array was handed to code that reads its data')
        return self.v if dtype is None else self.v.astype(dtype)

    # ---------------------------------------------------------- reading the data: breaks
    def _read(self, what):
        self.cap.brk(what)
        return self.v

    def __bool__(self):
        return bool(self._read('its truth value was read (if / and / or on a tensor)'))

    def __float__(self):
        return float(self._read('it was converted to a Python float'))

    def __int__(self):
        return int(self._read('it was converted to a Python int'))

    def __index__(self):
        return operator.index(self._read('it was used as a Python index'))

    def __complex__(self):
        return complex(self._read('it was converted to a Python complex'))

    def item(self, *a):
        return self._read('.item() read its value').item(*a)

    def tolist(self):
        return self._read('.tolist() read its values').tolist()

    def __iter__(self):
        return (self[k] for k in range(len(self.v)))

    # ---------------------------------------------------------- methods: recorded
    def __getattr__(self, name):
        attr = getattr(self.v, name)
        if name in _METHODS:
            return lambda *a, **k: self.cap.call(_method(name), (self,) + a, k)
        if name in ('T', 'mT', 'real', 'imag'):
            return self.cap.call(_attribute(name), (self,), {})
        self.cap.brk(f'the array attribute .{name} is not traced')
        return attr

    def __getitem__(self, idx):
        return self.cap.call(operator.getitem, (self, idx), {})

    def __setitem__(self, idx, value):
        self.cap.call(operator.setitem, (self, idx, value), {}, writes=(self,))


_DATA_SHAPED = {getattr(np, n) for n in DATA_SHAPED_NAMES}


def _bool_index(idx):
    """Whether an index holds a traced boolean mask (a result shaped by the data)."""
    for i in idx if type(idx) is tuple else (idx,):
        if type(i) is Tracer and i.v.dtype == bool:
            return True
    return False


_METHODS = {'reshape', 'transpose', 'astype', 'sum', 'mean', 'max', 'min', 'argmax', 'argmin',
            'copy', 'ravel', 'squeeze', 'swapaxes', 'view', 'prod', 'cumsum', 'cumprod', 'dot',
            'round', 'std', 'var', 'clip', 'all', 'any', 'repeat', 'take', 'flatten', 'conj',
            'fill', 'put', 'sort', 'argsort', 'diagonal', 'trace', 'searchsorted',
            'ptp', 'choose', 'partition', 'argpartition', 'byteswap', 'get'}
_IN_PLACE_METHODS = {'fill', 'put', 'sort', 'partition'}
# NumPy functions that write into an argument (its position), and where a positional out= goes
_MUTATES = {getattr(np, n): 0 for n in MUTATES_NAMES}
_POSITIONAL_OUT = {np.dot: 2, np.clip: 3, np.take: 3, np.sum: 3, np.prod: 3, np.cumsum: 3,
                   np.cumprod: 3, np.mean: 3, np.around: 2, np.round: 2, np.choose: 2,
                   'sum': 3, 'prod': 3, 'cumsum': 3, 'cumprod': 3, 'mean': 3, 'clip': 3,
                   'take': 3, 'round': 2, 'choose': 2, 'max': 2, 'min': 2, 'dot': 2,
                   'all': 2, 'any': 2, 'argmax': 2, 'argmin': 2}


def _written_args(fn, args, kwargs):
    """The arrays a call writes into: ``out=`` (by keyword or place), the argument of one of
    NumPy's in-place functions, the array of an in-place method."""
    found = []
    out = kwargs.get('out')
    if out is not None:
        found += list(out) if type(out) is tuple else [out]
    key = fn.name if type(fn) is _method else fn
    try:
        k = _POSITIONAL_OUT.get(key)
        m = _MUTATES.get(key)
    except TypeError:   # an unhashable callable
        return found
    if k is not None and len(args) > k and args[k] is not None:
        found.append(args[k])
    if m is not None and len(args) > m:
        found.append(args[m])
    if type(fn) is _method and fn.name in _IN_PLACE_METHODS:
        found.append(args[0])
    return found

_UNARY = {'__neg__': np.negative, '__pos__': np.positive, '__abs__': np.absolute,
          '__invert__': np.invert}
_BINARY = {'add': np.add, 'sub': np.subtract, 'mul': np.multiply, 'truediv': np.true_divide,
           'floordiv': np.floor_divide, 'mod': np.remainder, 'pow': np.power,
           'matmul': np.matmul, 'and': np.bitwise_and, 'or': np.bitwise_or,
           'xor': np.bitwise_xor, 'lshift': np.left_shift, 'rshift': np.right_shift}
_COMPARE = {'__lt__': np.less, '__le__': np.less_equal, '__gt__': np.greater,
            '__ge__': np.greater_equal, '__eq__': np.equal, '__ne__': np.not_equal}


def _binary(uf):
    return lambda self, other: uf(self, other)


def _reflected(uf):
    return lambda self, other: uf(other, self)


def _in_place(uf):
    def op(self, other):
        uf(self, other, out=self)
        return self
    return op


for _name, _uf in _UNARY.items():
    setattr(Tracer, _name, (lambda uf: lambda self: uf(self))(_uf))
for _name, _uf in _COMPARE.items():
    setattr(Tracer, _name, _binary(_uf))
for _name, _uf in _BINARY.items():
    setattr(Tracer, f'__{_name}__', _binary(_uf))
    setattr(Tracer, f'__r{_name}__', _reflected(_uf))
    setattr(Tracer, f'__i{_name}__', _in_place(_uf))
Tracer.__hash__ = object.__hash__


def capture_of(x):
    """The capture of the first tracer in ``x`` (nested in tuples, lists, dicts), or None."""
    t = type(x)
    if t is Tracer:
        return x.cap
    if t is tuple or t is list:
        x = list(x)
    elif t is dict:
        x = list(x.values())
    elif t is slice:
        x = [x.start, x.stop, x.step]
    else:
        return None
    for a in x:
        cap = capture_of(a)
        if cap is not None:
            return cap
    return None


def has_tracer(x):
    return capture_of(x) is not None


def recorded(fn, writes=()):
    """``fn`` (a backend function that reads its arrays' pointers: MKL's product, cuBLAS's,
    one of ember's CUDA kernels) as one node of the program when a tracer is among its
    arguments; the node calls ``fn`` itself. ``writes``: the positions or names of the
    arguments it writes in place. (``capture.py`` puts such wrappers in place while a capture
    runs; the backend's own code knows nothing of them.)

    >>> cap = Capture()
    >>> x = cap.new(np.ones(2))
    >>> def scale_(x, s):
    ...     x *= s
    >>> recorded(scale_, writes=(0,))(x, 3.0)
    >>> cap.nodes[-1].fn is scale_, cap.nodes[-1].writes, x.v.tolist()
    (True, (0,), [3.0, 3.0])
    """
    def call(*args, **kwargs):
        cap = capture_of((args, kwargs))
        if cap is None:
            return fn(*args, **kwargs)
        targets = [args[k] if type(k) is int and k < len(args) else kwargs.get(k)
                   if type(k) is str else None for k in writes]
        if any(w is not None and type(w) is not Tracer for w in targets):
            cap.brk(f'{getattr(fn, "__name__", fn)} wrote into an untraced array')
            return fn(*cap._real(args), **cap._real(kwargs))
        return cap.call(fn, args, kwargs, writes=tuple(w for w in targets if type(w) is Tracer))
    call.__wrapped__ = fn
    return call


class _method:
    """A recorded method call ``arr.name(*args)`` (picklable by name: ``jit.save``)."""
    __slots__ = ('name',)

    def __init__(self, name):
        self.name = name

    def __call__(self, arr, *a, **k):
        return getattr(arr, self.name)(*a, **k)

    def __eq__(self, other):
        return type(other) is _method and other.name == self.name

    def __hash__(self):
        return hash(('method', self.name))

    def __repr__(self):
        return f'.{self.name}'


class _attribute(_method):
    """A recorded attribute read ``arr.T`` (a view)."""
    __slots__ = ()

    def __call__(self, arr):
        return getattr(arr, self.name)

    def __eq__(self, other):
        return type(other) is _attribute and other.name == self.name

    def __hash__(self):
        return hash(('attribute', self.name))


# ---------------------------------------------------------------------- the capture

class Capture:
    """One capture run: the values, the nodes, and why (if at all) the graph broke."""

    def __init__(self, fullgraph=False):
        self.nodes = []
        self.meta = []          # value number -> (shape, dtype)
        self.inputs = []        # (value number, source): where the program reads its inputs
        self.consts = []
        self.const_ids = {}     # id(real array) -> Const, for arrays seen twice
        self.breaks = []        # (reason, 'file:line')
        self.fullgraph = fullgraph
        self.device_arrays = False   # whether a CuPy array is among the inputs
        self.on_break = None

    # ------------------------------------------------------------ values
    def new(self, arr):
        t = Tracer(self, arr, len(self.meta))
        self.meta.append((arr.shape, arr.dtype))
        return t

    def input(self, arr, source):
        t = self.new(arr)
        self.inputs.append((t.i, source))
        return t

    def brk(self, reason):
        where = _user_line()
        self.breaks.append((reason, where))
        if self.on_break is not None:
            self.on_break()
        if self.fullgraph:
            raise GraphBreak(f'ember.compile(fullgraph=True): graph break at {where}: {reason}')

    def check(self, bad, message):
        """``backend.check_later`` on a traced flag: a node that raises at each call where
        ``bad`` holds (and now, if it holds now). The message is made then from the values
        of that call: the tracers its closure reads are pointed at them first."""
        tracers = _closure_tracers(message)
        self.call(Check(message, tracers), (bad,) + tuple(tracers), {})
        if bad.v:
            raise IndexError(message())

    # ------------------------------------------------------------ arguments
    def _template(self, x, found):
        """``x`` with tracers as Ref and real arrays as Const; ``found`` collects tracers."""
        t = type(x)
        if t is Tracer:
            if x.cap is not self:
                raise RuntimeError('ember.compile: an array from another compiled function\'s '
                                   'capture was used here')
            found.append(x)
            return Ref(x.i)
        if t is tuple or t is list:
            return t(self._template(a, found) for a in x)
        if t is dict:
            return {k: self._template(a, found) for k, a in x.items()}
        if t is slice:
            return slice(self._template(x.start, found), self._template(x.stop, found),
                         self._template(x.step, found))
        if isinstance(x, np.ndarray) or (hasattr(x, '__cuda_array_interface__')):
            return self.const(x)
        return x

    def const(self, arr):
        c = self.const_ids.get(id(arr))
        if c is None or c.arr is not arr:   # a snapshot: the array may change after
            c = Const(len(self.consts), arr.copy(), arr)
            self.consts.append(c)
            self.const_ids[id(arr)] = c
        return c

    @staticmethod
    def _real(x):
        t = type(x)
        if t is Tracer:
            return x.v
        if t is tuple or t is list:
            return t(Capture._real(a) for a in x)
        if t is dict:
            return {k: Capture._real(a) for k, a in x.items()}
        if t is slice:
            return slice(Capture._real(x.start), Capture._real(x.stop), Capture._real(x.step))
        return x

    # ------------------------------------------------------------ recording
    def call(self, fn, args, kwargs, writes=()):
        """Run ``fn`` on the real arrays and record it; return its result with tracers."""
        if fn in _SHAPE_ONLY:
            return fn(*self._real(args), **self._real(kwargs))
        if fn in _DATA_SHAPED or (fn is operator.getitem and _bool_index(args[1])) or \
                (fn is np.where and len(args) + len(kwargs) == 1):
            self.brk(f'the shape of {getattr(fn, "__name__", fn)}\'s result depends on the '
                     f'data')
        writes = tuple(writes)
        for w in _written_args(fn, args, kwargs):   # out= and NumPy's in-place functions
            if type(w) is Tracer:
                if all(w is not v for v in writes):
                    writes += (w,)
            elif isinstance(w, np.ndarray):
                self.brk(f'{getattr(fn, "__name__", fn)} wrote into an untraced array')
                return fn(*self._real(args), **self._real(kwargs))
        found = []
        targs = self._template(tuple(args), found)
        tkw = self._template(dict(kwargs), found)
        out = fn(*self._real(args), **self._real(kwargs))
        return self._record(fn, targs, tkw, out, writes)

    def call_ufunc(self, ufunc, method, inputs, kwargs):
        out = kwargs.get('out')
        writes = ()
        if out is not None:
            outs = out if isinstance(out, tuple) else (out,)
            for o in outs:
                if o is not None and type(o) is not Tracer:
                    self.brk(f'np.{ufunc.__name__} wrote a traced value into an untraced array')
                    kwargs = dict(kwargs, out=tuple(o if type(o) is not Tracer else o.v
                                                    for o in outs))
                    return getattr(ufunc, method)(*self._real(inputs), **self._real(kwargs))
            writes = tuple(o for o in outs if o is not None)
        if method == 'at':
            if type(inputs[0]) is not Tracer:
                self.brk(f'np.{ufunc.__name__}.at wrote a traced value into an untraced array')
                return getattr(ufunc, method)(*self._real(inputs), **self._real(kwargs))
            writes = (inputs[0],)
        fn = ufunc if method == '__call__' else _ufunc_method(ufunc, method)
        found = []
        targs = self._template(tuple(inputs), found)
        tkw = self._template(dict(kwargs), found)
        res = fn(*self._real(inputs), **self._real(kwargs))
        if writes and method == '__call__':   # in place: the outputs are the out= tracers
            self.nodes.append(Node(fn, targs, tkw, (), tuple(w.i for w in writes)))
            return writes[0] if len(writes) == 1 else writes
        return self._record(fn, targs, tkw, res, writes)

    def _record(self, fn, targs, tkw, out, writes):
        if isinstance(out, np.generic):   # a 0-d result as NumPy gives it: made an array,
            t = self.new(out)             # as the op door does
            self.nodes.append(Node(fn, targs, tkw, Ref(t.i), tuple(w.i for w in writes)))
            return self._record(_asarray, (Ref(t.i),), {}, _asarray(out), ())
        outs = []
        wrapped = self._wrap(out, outs)
        self.nodes.append(Node(fn, targs, tkw, _outs_template(wrapped),
                               tuple(w.i for w in writes)))
        return wrapped

    def _wrap(self, out, outs):
        if isinstance(out, (np.ndarray, np.generic)) or hasattr(out, '__cuda_array_interface__'):
            t = self.new(out)
            outs.append(t.i)
            return t
        if type(out) is tuple or type(out) is list:
            return type(out)(self._wrap(o, outs) for o in out)
        if out is None:
            return None
        outs.append(None)   # a Python value (a bool from np.array_equal...): data-dependent
        self.brk(f'a NumPy call returned a Python {type(out).__name__} computed from data')
        return out


class Check:
    """A bounds check inside a program: raise ``IndexError(message())`` where ``bad``."""
    impure = True
    __name__ = 'check'

    def __init__(self, message, tracers):
        self.message, self.tracers = message, tracers

    def __call__(self, bad, *values):
        if bad:   # the message from this call's values: its tracers are pointed at them
            for t, v in zip(self.tracers, values):
                t.v = v
            raise IndexError(self.message())


def _closure_tracers(fn, seen=None):
    """The tracers a function's closure reads (through nested functions too)."""
    seen = set() if seen is None else seen
    found = []
    for cell in getattr(fn, '__closure__', None) or ():
        try:
            x = cell.cell_contents
        except ValueError:
            continue
        if type(x) is Tracer:
            found.append(x)
        elif callable(x) and hasattr(x, '__closure__') and id(x) not in seen:
            seen.add(id(x))
            found += _closure_tracers(x, seen)
    return found


def _outs_template(x):
    t = type(x)
    if t is Tracer:
        return Ref(x.i)
    if t is tuple or t is list:
        return tuple(_outs_template(a) for a in x)
    return None


class _ufunc_method(_method):
    """``ufunc.reduce`` / ``.accumulate`` / ``.at`` ... as a recorded call."""
    __slots__ = ('ufunc',)

    def __init__(self, ufunc, name):
        self.ufunc, self.name = ufunc, name

    def __call__(self, *a, **k):
        return getattr(self.ufunc, self.name)(*a, **k)

    def __eq__(self, other):
        return type(other) is _ufunc_method and (other.ufunc, other.name) == (self.ufunc,
                                                                             self.name)

    def __hash__(self):
        return hash((self.ufunc, self.name))

    def __repr__(self):
        return f'np.{self.ufunc.__name__}.{self.name}'


del sys
