"""Tensor's in-place methods (``x.add_``, ``x.abs_`` ...), made from the out-of-place ops: each
runs its op through ``Tensor._inplace`` (version counter, views, autograd's history) and gets
a docstring whose example checks it against the op. The op modules call ``inplace_doc`` and
``_inplace_method`` for their own; the common unary and binary ones are made below."""
import inspect

from .._tensor import Tensor

# the in-place methods' doctests: doctest finds functions by their module's names, and these
# are only Tensor's attributes (--doctest-modules collects ``__test__``)
__test__: dict = {}


def inplace_doc(fn, name, x='[0.25, 0.5]', args='', tests=__test__):
    """Name ``fn`` ``Tensor.<name>_`` and give it a docstring whose example runs it against
    the out-of-place ``name`` (and a signature, where ``fn`` takes ``*args``)."""
    fn.__name__, fn.__qualname__ = f'{name}_', f'Tensor.{name}_'
    x = x if x.startswith('ember.') else f'ember.tensor({x})'
    fn.__doc__ = (
        f'In-place ``{name}``: ``x.{name}_(...)`` writes ``x.{name}(...)`` into ``x`` and '
        f'returns ``x``.\n\n    Views of ``x`` see the change; see ``ember.Tensor.{name}`` '
        f'for the arguments.\n\n'
        f'    >>> x = {x}\n'
        f'    >>> want = x.{name}({args})\n'
        f'    >>> x.{name}_({args}) is x, x.tolist() == want.tolist()\n'
        f'    (True, True)\n    ')
    if any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values()):
        _UNSIGNED.append((fn, name))
    tests[f'Tensor.{name}_'] = fn
    setattr(Tensor, f'{name}_', fn)
    return fn


_UNSIGNED: list = []   # in-place methods taking *args, to be given their op's signature


def sign_inplace_methods():
    """Give each in-place method that takes ``*args`` its out-of-place op's signature (for
    ``help``); ``ember/ops/__init__.py`` calls it once every op is on Tensor."""
    for fn, name in _UNSIGNED:
        try:
            params = list(inspect.signature(getattr(Tensor, name)).parameters.values())
            fn.__signature__ = inspect.Signature([params[0].replace(name='self')] + params[1:])
        except (TypeError, ValueError, IndexError):   # no signature to read: *args stays
            pass
    _UNSIGNED.clear()


def _binary_inplace(name, f, dunder):
    """``x.<name>_(other, **kw)`` and the augmented assignment ``x <op>= other``."""
    def inplace(self, other, **kw):
        return self._inplace(f'{name}_', lambda s, o: f(s, o, **kw), other)

    def augmented(self, other):
        return self._inplace(f'{name}_', f, other)
    augmented.__name__, augmented.__qualname__ = dunder, f'Tensor.{dunder}'
    symbol = {'add': '+', 'sub': '-', 'mul': '*', 'div': '/', 'pow': '**'}[name]
    augmented.__doc__ = f'``x {symbol}= other``, in place: as ``x.{name}_(other)``.'
    setattr(Tensor, dunder, augmented)
    return inplace_doc(inplace, name, args='2')


def _unary_inplace(name, f):
    def inplace(self):
        return self._inplace(f'{name}_', f)
    return inplace_doc(inplace, name)


def _inplace_method(name, x='[0.25, 0.5]', args='', tests=__test__):
    """``x.<name>_(...)``: torch's in-place method, run through ``Tensor._inplace``, set on
    Tensor with a docstring whose example (``x``, ``args``) checks it against ``x.<name>``."""
    def fn(self, *args, **kwargs):
        op, keys = getattr(Tensor, name), list(kwargs)

        def run(s, *vals):
            n = len(vals) - len(keys)
            return op(s, *vals[:n], **dict(zip(keys, vals[n:])))
        return self._inplace(f'{name}_', run, *args, *kwargs.values())
    return inplace_doc(fn, name, x, args, tests)


# the example's input and arguments where the default (0.25 and 0.5, no arguments) won't do
_EXAMPLES = {'abs': ('[-0.5, 2.0]', ''), 'absolute': ('[-0.5, 2.0]', ''),
             'sign': ('[-0.5, 2.0]', ''), 'atan2': ('[0.25, 0.5]', 'ember.tensor([1.0, -1.0])'),
             'arctan2': ('[0.25, 0.5]', 'ember.tensor([1.0, -1.0])'),
             'clamp': ('[0.25, 0.5]', 'min=0.3'), 'clip': ('[0.25, 0.5]', 'max=0.3'),
             'clamp_min': ('[0.25, 0.5]', '0.3'), 'clamp_max': ('[0.25, 0.5]', '0.3'),
             'lerp': ('[0.25, 0.5]', 'ember.tensor([1.0, 1.0]), 0.5'),
             'nan_to_num': ("[float('nan'), 1.0]", ''), 'fmod': ('[-1.5, 2.25]', '2')}
for _name in ('abs', 'absolute', 'sign', 'exp2', 'expm1', 'log2', 'log10', 'log1p', 'sqrt',
              'rsqrt', 'reciprocal', 'square', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan',
              'arcsin', 'arccos', 'arctan', 'atan2', 'arctan2', 'sinh', 'cosh', 'tanh',
              'sigmoid', 'clamp', 'clip', 'clamp_min', 'clamp_max', 'lerp', 'erf',
              'erfc', 'nan_to_num',
              'fmod'):
    _inplace_method(_name, *_EXAMPLES.get(_name, ()))
del _name
