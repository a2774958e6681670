"""The exporter's recording: one entry per call of ember's op door (``Op.apply``).

ember's ops are the level ONNX speaks (one ember op is one ONNX node or a few); the
compiler's capture (``ember/compiler/capture.py``) records the NumPy calls inside each op
instead, which is the level a static NumPy program needs. Both hook the same door and
nothing else: while an export runs, ``Op.apply`` is wrapped, as the capture wraps it, to
keep each call's op class, input tensors, parameters and output. A user's
``autograd.Function`` and in-place writes the graph cannot express are refused there.
"""
from dataclasses import dataclass, field

from .. import _tensor
from .._function import Function
from ..autograd import Op


class ExportError(RuntimeError):
    """What ``ember.onnx.export`` cannot express, naming the op (and the module) and why.

    >>> import io
    >>> ember.onnx.export(lambda x: x.cumprod(0), (ember.ones(3),), io.BytesIO())
    Traceback (most recent call last):
    ...
    ember.onnx.trace.ExportError: export: ember op Cumprod: ... (ONNX has no cumulative product)
    """


@dataclass
class Call:
    """One op as it ran: its class, input tensors, keyword parameters, output and the
    module whose forward was running (for error messages)."""
    op: type
    inputs: tuple
    params: dict
    out: object
    module: str = ''
    extra: dict = field(default_factory=dict)

    @property
    def where(self):
        return f' (in module {self.module})' if self.module else ''


class Recorder:
    """Wrap the op door, ``Function.apply``, ``Module.__call__`` and in-place writes while a
    model runs once; ``calls`` is what ran, in order, and ``rewritten`` maps a tensor's array
    replaced by an in-place write to the call that produced its new value."""

    def __init__(self, modules):
        self.calls = []
        self.modules = modules      # {id(module): qualified name}
        self.stack = []             # names of the modules running
        self.depth = 0              # > 0 inside an op's own forward
        self.keep = []              # arrays seen: their ids stay unique while recording

    def __enter__(self):
        from ..nn.module import Module
        rec = self
        self.saved = (Op.__dict__['apply'], Function.__dict__['apply'],
                      Module.__dict__['__call__'], _tensor.Tensor.__dict__['_inplace'],
                      _tensor.Tensor.__dict__['__setitem__'])
        orig_apply, _, orig_call, orig_inplace, orig_setitem = self.saved

        def apply(cls, *tensors, **params):
            rec.depth += 1
            try:
                out = orig_apply.__func__(cls, *tensors, **params)
            finally:
                rec.depth -= 1
            if rec.depth == 0:
                rec.record(cls, tensors, params, out)
            return out

        def function_apply(cls, *args, **kwargs):
            raise ExportError(f'export: the custom autograd Function {cls.__name__}'
                              f'{rec.where()} has no ONNX form (its forward is Python); '
                              f'write it with ember ops instead')

        def call(module, *args, **kwargs):
            rec.stack.append(rec.modules.get(id(module), type(module).__name__))
            try:
                return orig_call(module, *args, **kwargs)
            finally:
                rec.stack.pop()

        def inplace(tensor, op, fn, *args):
            if tensor._base is not None:
                raise ExportError(f'export: {op}{rec.where()} writes in place into a view '
                                  f'of another tensor, which ONNX cannot express; compute it '
                                  f'out of place')
            before = len(rec.calls)
            out = orig_inplace(tensor, op, fn, *args)
            if len(rec.calls) > before:   # the value now in tensor's array is the last op's
                rec.calls.append(Call(_Rebind, (rec.calls[-1].out,), {}, tensor,
                                      '.'.join(rec.stack), {'out_version': tensor._version[0]}))
            return out

        def setitem(tensor, idx, value):
            raise ExportError(f'export: index assignment (tensor[...] = value){rec.where()} '
                              f'cannot be exported (ONNX values are immutable); build the '
                              f'result out of place (ember.where, ember.cat)')

        Op.apply = classmethod(apply)
        self.own = [c for c in _subclasses(Op) if 'apply' in c.__dict__]   # Cast, Move
        self.own_saved = [c.__dict__['apply'] for c in self.own]
        for c, own in zip(self.own, self.own_saved):
            c.apply = classmethod(_recording(rec, own.__func__))
        Function.apply = classmethod(function_apply)
        Module.__call__ = call
        _tensor.Tensor._inplace = inplace
        _tensor.Tensor.__setitem__ = setitem
        return self

    def __exit__(self, *exc):
        from ..nn.module import Module
        (Op.apply, Function.apply, Module.__call__, _tensor.Tensor._inplace,
         _tensor.Tensor.__setitem__) = self.saved
        for c, own in zip(self.own, self.own_saved):
            c.apply = own
        return False

    def record(self, op, tensors, params, out):
        self.keep.append((tensors, out))
        self.calls.append(Call(op, tensors, params, out, '.'.join(self.stack), {
            'versions': [t._version[0] for t in tensors], 'out_version': out._version[0]}))

    def where(self):
        return f' (in module {".".join(self.stack)})' if self.stack else ''


def _subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out += [c] + _subclasses(c)
    return out


def _recording(rec, fn):
    """An op's own ``apply`` (one that may skip the door: a cast to an integer type), recorded
    as the op."""
    def apply(cls, *tensors, **params):
        rec.depth += 1
        try:
            out = fn(cls, *tensors, **params)
        finally:
            rec.depth -= 1
        if rec.depth == 0:
            rec.record(cls, tensors, params, out)
        return out
    return apply


class _Rebind:
    """Not an op: an in-place write made a tensor hold an op's result (its array is new)."""
