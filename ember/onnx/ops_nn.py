"""The export table's layer-level ops: convolution and pooling, softmax, the normalisations,
attention, the loss, indexing and the movement ops (the rest is in ``ops.py``)."""
import importlib

import numpy as np

index = importlib.import_module('ember.ops.index')

INT64_MAX = 2 ** 63 - 1


def _dt(t):
    return t._data.dtype


def _to4d(b, name, shape):
    """A value of ``shape`` (..., H, W) as (N, 1, H, W) for ONNX's MaxPool, and the
    leading shape to restore."""
    lead = tuple(shape[:-2])
    return b.node('Reshape', [name, b.ints([-1, 1] + list(shape[-2:]))]), lead


def _pads(geom):
    return list(geom.before) + [max(a, 0) for a in geom.after]


def _cropped(b, name, shape, geom):
    """``name`` with the trailing rows and columns a negative end padding cuts off, and its
    shape."""
    if min(geom.after) >= 0:
        return name, tuple(shape)
    ends = [shape[-2 + i] + min(a, 0) for i, a in enumerate(geom.after)]
    return (b.node('Slice', [name, b.ints([0, 0]), b.ints(ends), b.ints([-2, -1])]),
            tuple(shape[:-2]) + tuple(ends))


def _conv(b, call, x, w, geom):
    name, _ = _cropped(b, b.value(x), x.shape, geom)
    return b.node('Conv', [name, b.value(w)], strides=list(geom.stride),
                  dilations=list(geom.dilation), pads=_pads(geom), group=int(geom.groups),
                  kernel_shape=list(w.shape[2:]))


def _conv_transpose(b, call, x, w, geom, size):
    k = w.shape[2:]
    pads, extra = list(geom.before), []
    for i in range(2):
        full = geom.stride[i] * (x.shape[2 + i] - 1) + geom.dilation[i] * (k[i] - 1) + 1
        end = full - geom.before[i] - size[i]
        pads.append(max(end, 0))
        extra.append(max(-end, 0))
    return b.node('ConvTranspose', [b.value(x), b.value(w)], strides=list(geom.stride),
                  dilations=list(geom.dilation), pads=pads, output_padding=extra,
                  group=int(geom.groups), kernel_shape=list(k))


def _taps(k, channels, dtype):
    """One-hot kernels (C kh kw, 1, kh, kw): output channel c kh kw + i kw + j of a grouped
    convolution by them is tap (i, j) of channel c, unfold's order."""
    n = k[0] * k[1]
    w = np.zeros((channels * n, 1) + tuple(k), dtype=dtype)
    for c in range(channels):
        for t in range(n):
            w[c * n + t, 0, t // k[1], t % k[1]] = 1
    return w


def _im2col(b, call, x, k, geom):
    """unfold: a grouped convolution by one-hot kernels (each output one input value)."""
    c = x.shape[1]
    cols = b.node('Conv', [b.value(x), b.const(_taps(k, c, _dt(x)))], group=int(c),
                  strides=list(geom.stride), dilations=list(geom.dilation),
                  pads=_pads(geom), kernel_shape=list(k))
    return b.node('Reshape', [cols, b.ints([0, 0, -1])])


def _col2im(b, call, g, k, geom, size):
    """fold: the transposed convolution by the same kernels (overlaps add)."""
    n = k[0] * k[1]
    c = g.shape[1] // n
    ho, wo = ((s + geom.before[i] + geom.after[i] - geom.dilation[i] * (k[i] - 1) - 1)
              // geom.stride[i] + 1 for i, s in enumerate(size))
    planes = b.node('Reshape', [b.value(g), b.ints([0, 0, ho, wo])])
    full = [geom.stride[i] * ((ho, wo)[i] - 1) + geom.dilation[i] * (k[i] - 1) + 1
            for i in range(2)]
    pads = list(geom.before) + [full[i] - geom.before[i] - size[i] for i in range(2)]
    if min(pads) < 0:
        raise b.error(f'fold with rows or columns no block covers (pads {pads})')
    w = _taps(k, c, _dt(g)).reshape(c, n, *k)   # ConvTranspose's (C_in, C_out / group, ..)
    return b.node('ConvTranspose', [planes, b.const(w.reshape(c * n, 1, *k))], group=int(c),
                  strides=list(geom.stride), dilations=list(geom.dilation), pads=pads,
                  kernel_shape=list(k))


def _tap_gather(b, call, x, arg, k, geom, out):
    raise b.error('a gradient op (max pooling\'s double backward): export a forward pass')


def _max_pool(b, call, x, k, geom, out):
    name, shape = _cropped(b, b.value(x), x.shape, geom)
    if len(shape) != 4:
        name, _ = _to4d(b, name, shape)
    pooled = b.node('MaxPool', [name], kernel_shape=list(k), strides=list(geom.stride),
                    dilations=list(geom.dilation), pads=_pads(geom))
    if len(shape) == 4:   # (N, C, H, W) as it is: a batch dimension stays free
        return pooled
    return b.node('Reshape', [pooled, b.ints(list(call.out.shape))])


def _plane_gather(b, call, x, idx):
    """Pixels of each (H, W) plane at flat positions ``idx`` (interpolation's taps)."""
    lead = list(x.shape[:-2])
    flat = b.node('Reshape', [b.value(x), b.ints(lead + [-1])])
    ids = b.value(np.asarray(idx, dtype=np.int64), derived_from=idx)
    if np.ndim(idx) == 2:   # one index plane for all: interpolation's taps
        return b.node('Gather', [flat, ids], axis=len(lead))
    ids = b.node('Reshape', [ids, b.ints(lead + [-1])])   # a plane each: max pooling's
    picked = b.node('GatherElements', [flat, ids], axis=len(lead))
    return b.node('Reshape', [picked, b.ints(list(call.out.shape))])


def _softmax(op_type):
    def emit(b, call, x, dim):
        name = b.value(x)
        if x.ndim == 0:   # one element: (as a 1-vector)
            one = b.node(op_type, [b.node('Reshape', [name, b.ints([1])])], axis=0)
            return b.node('Reshape', [one, b.ints([])])
        return b.node(op_type, [name], axis=int(dim))
    return emit


def _nll(b, call, logp, target, weight, ignore, reduction, cdim, plain=False):
    lp, tg = b.value(logp), b.value(target)
    if logp.ndim == 1:   # (C,) and a 0-d target: as a batch of one
        lp = b.node('Unsqueeze', [lp, b.ints([0])])
        tg = b.node('Unsqueeze', [tg, b.ints([0])])
    elif cdim != 1:
        raise b.error(f'a class dimension at {cdim}')
    if np.asarray(target).dtype != np.int64:
        tg = b.cast(tg, np.int64)
    ins = [lp, tg] + ([] if weight is None else [b.value(weight)])
    out = b.node('NegativeLogLikelihoodLoss', ins, reduction=reduction,
                 ignore_index=int(ignore))
    if logp.ndim == 1 and reduction == 'none':
        out = b.node('Squeeze', [out, b.ints([0])])
    return out


def _reduce_mean(b, name, axes, ndim):
    axes = [int(a) % max(ndim, 1) for a in axes]
    if b.opset >= 18:
        return b.node('ReduceMean', [name, b.ints(axes)], keepdims=1)
    return b.node('ReduceMean', [name], axes=axes, keepdims=1)


def _normalise(b, call, x, dims, eps):
    """``(x - mean) / sqrt(var + eps)`` over ``dims``, in ember's order of operations."""
    dt = _dt(call.out)
    a = b.value(x)
    centred = b.node('Sub', [a, _reduce_mean(b, a, dims, x.ndim)])
    var = _reduce_mean(b, b.node('Mul', [centred, centred]), dims, x.ndim)
    rstd = b.node('Reciprocal', [b.node('Sqrt', [b.node('Add', [var, b.scalar(eps, dt)])])])
    return b.node('Mul', [centred, rstd])


def _layer_norm(b, call, x, w, bias=None, eps=1e-5):
    ins = [b.value(x), b.value(w)] + ([] if bias is None else [b.value(bias)])
    return b.node('LayerNormalization', ins, axis=x.ndim - w.ndim, epsilon=float(eps))


def _attention(b, call, q, k, v, mask_t, scale, check_dead):
    dt = _dt(call.out)
    perm = list(range(k.ndim - 2)) + [k.ndim - 1, k.ndim - 2]
    scores = b.node('MatMul', [b.value(q), b.node('Transpose', [b.value(k)], perm=perm)])
    scores = b.node('Mul', [scores, b.scalar(scale, dt)])
    if mask_t is not None:
        mask = np.ascontiguousarray(np.asarray(mask_t).swapaxes(-1, -2))
        traced = _traced_base(b, mask_t)
        if traced is None:   # a causal mask, made from sizes: a constant
            name = b.value(mask, derived_from=mask_t)
        else:   # the caller's float mask, transposed by the op: its value, reshaped
            name = b.node('Reshape', [traced, b.ints(list(mask.shape))])
            b.exempt(mask_t)
        scores = b.node('Add', [scores, name])
    p = b.node('Softmax', [scores], axis=-1)
    if check_dead:   # a row with nothing to attend to: zeros, as ember (not NaN)
        p = b.node('Where', [b.node('IsNaN', [p]), b.scalar(0, dt), p])
    return b.node('MatMul', [p, b.value(v)])


def _traced_base(b, array):
    """The name of the traced value ``array`` is a view of (a float mask reshaped and
    transposed by attention), or None."""
    a = array
    while a is not None:
        found = b.names.get(id(a))
        if found is not None and found[1] is a:
            return found[0]
        a = getattr(a, 'base', None)
    return None


def _reshape(b, call, x, shape):
    """A reshape that only adds or drops dimensions of size 1 is a Squeeze and an Unsqueeze;
    another copies the leading dimensions it keeps (ONNX's 0): a dynamic batch axis stays
    free either way."""
    out = list(call.out.shape)
    if [n for n in x.shape if n != 1] == [n for n in out if n != 1] and out:
        name = b.value(x)
        ones = [i for i, n in enumerate(x.shape) if n == 1]
        if ones:
            name = b.node('Squeeze', [name, b.ints(ones)])
        new = [i for i, n in enumerate(out) if n == 1]
        return b.node('Unsqueeze', [name, b.ints(new)]) if new else \
            b.node('Identity', [name])
    target = []
    for i, n in enumerate(out):
        same = i < x.ndim and x.shape[i] == n and all(
            x.shape[j] == out[j] for j in range(i))
        target.append(0 if same and n != 0 else n)
    return b.node('Reshape', [b.value(x), b.ints(target)])


def _expand(b, call, x, shape):
    return b.node('Expand', [b.value(x), b.ints(list(call.out.shape))])


def _permute(b, call, x, axes):
    return b.node('Transpose', [b.value(x)], perm=[int(a) % max(x.ndim, 1) for a in axes])


def _flip(b, call, x, axes):
    axes = [int(a) % x.ndim for a in axes]
    if not axes:
        return b.node('Identity', [b.value(x)])
    n = len(axes)
    return b.node('Slice', [b.value(x), b.ints([-1] * n), b.ints([-INT64_MAX] * n),
                            b.ints(axes), b.ints([-1] * n)])


def _roll(b, call, x, shifts, axes):
    name = b.value(x)
    for s, a in zip(shifts, axes):
        n = x.shape[a]
        s = int(s) % n if n else 0
        if s == 0:
            continue
        tail = b.node('Slice', [name, b.ints([n - s]), b.ints([n]), b.ints([a])])
        head = b.node('Slice', [name, b.ints([0]), b.ints([n - s]), b.ints([a])])
        name = b.node('Concat', [tail, head], axis=int(a))
    return b.node('Identity', [name])


def _tri(b, call, x, k, upper):
    return b.node('Trilu', [b.value(x), b.const(np.asarray(k, dtype=np.int64))],
                  upper=int(upper))


def _diagonal(b, call, x, offset, dim1, dim2):
    """A gather from the two dimensions flattened at the diagonal's positions."""
    d1, d2 = dim1 % x.ndim, dim2 % x.ndim
    rest = [i for i in range(x.ndim) if i not in (d1, d2)]
    moved = b.node('Transpose', [b.value(x)], perm=rest + [d1, d2])
    n1, n2 = x.shape[d1], x.shape[d2]
    flat = b.node('Reshape', [moved, b.ints([x.shape[i] for i in rest] + [n1 * n2])])
    rows = np.arange(n1)
    pos = [r * n2 + r + offset for r in rows if 0 <= r + offset < n2]
    return b.node('Gather', [flat, b.ints(pos)], axis=len(rest))


def _pad(b, call, x, widths, value):
    dt = _dt(call.out)
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise b.error(f'negative padding {widths} (a crop)')
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    return b.node('Pad', [b.value(x), b.ints(pads), b.scalar(value, dt)], mode='constant')


# ---------------------------------------------------------------- indexing

def _getitem(b, call, x, idx):
    if isinstance(idx, index._TwoStep):
        first = np.empty(x.shape, dtype=np.bool_)[idx[0]].shape
        name = _basic(b, b.value(x), x.shape, idx[0])
        return _advanced(b, name, first, idx[1])
    if any(_is_array(i) for i in idx):
        return _advanced(b, b.value(x), x.shape, idx)
    return _basic(b, b.value(x), x.shape, idx)


def _is_array(i):
    return hasattr(i, 'dtype') and hasattr(i, 'shape')


def _expand_ellipsis(items, ndim):
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    out = []
    for i in items:
        if i is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(i)
    if not any(i is Ellipsis for i in items):
        out.extend([slice(None)] * (ndim - used))
    return out


def _basic(b, name, shape, items):
    """Ints, slices, None and ``...``: one Slice, a Squeeze of the ints' axes, an Unsqueeze
    of the new ones."""
    items = _expand_ellipsis(list(items), len(shape))
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    dim = out = 0
    for i in items:
        if isinstance(i, bool):
            raise b.error('indexing by a Python bool')
        if i is None:
            new.append(out)
            out += 1
            continue
        if isinstance(i, slice):
            lo, hi, st = i.indices(shape[dim])
            if (lo, hi, st) != (0, shape[dim], 1):
                starts.append(lo)
                ends.append(hi if hi >= 0 else -INT64_MAX)
                axes.append(dim)
                steps.append(st)
            out += 1
        else:   # an int
            k = int(i) % shape[dim]
            starts.append(k)
            ends.append(k + 1)
            axes.append(dim)
            steps.append(1)
            drop.append(dim)
        dim += 1
    if axes:
        name = b.node('Slice', [name, b.ints(starts), b.ints(ends), b.ints(axes),
                                b.ints(steps)])
    if drop:
        name = b.node('Squeeze', [name, b.ints(drop)])
    if new:
        name = b.node('Unsqueeze', [name, b.ints(new)])
    return name if axes or drop or new else b.node('Identity', [name])


def _leading_arrays(b, name, shape, items):
    """Integer arrays indexing the first k dimensions (gather's form): GatherND of the
    arrays broadcast and stacked."""
    k = next((n for n, i in enumerate(items) if not _is_array(i)), len(items))
    if any(_is_array(i) or i is None for i in items[k:]) or any(
            i.dtype == np.bool_ for i in items[:k]):
        raise b.error('indexing by several index tensors apart, with None or bools; index '
                      'one dimension at a time')
    bshape = np.broadcast_shapes(*[i.shape for i in items[:k]])
    parts = []
    for i in items[:k]:
        ids = b.value(i)
        if i.dtype != np.int64:
            ids = b.cast(ids, np.int64)
        ids = b.node('Expand', [ids, b.ints(list(bshape))])
        # negative indices counted from the end
        ids = b.node('Mod', [ids, b.ints(shape[len(parts)])], fmod=0)
        parts.append(b.node('Unsqueeze', [ids, b.ints([-1])]))
    stacked = b.node('Concat', parts, axis=-1)
    rest = _basic(b, name, shape, [slice(None)] * k + list(items[k:]))
    return b.node('GatherND', [rest, stacked])


def _advanced(b, name, shape, items):
    """One index array among slices (Gather), one bool mask (Compress), or integer arrays
    for the leading dimensions (GatherND)."""
    items = _expand_ellipsis(list(items), len(shape))
    arrays = [n for n, i in enumerate(items) if _is_array(i)]
    if len(arrays) > 1 and not any(i is None or isinstance(i, bool) for i in items):
        return _leading_arrays(b, name, shape, items)
    if len(arrays) != 1 or any(i is None or isinstance(i, bool) for i in items):
        raise b.error('indexing by several index tensors, or by an index tensor with None '
                      'or a bool; index one dimension at a time')
    (p,) = arrays
    arr = items[p]
    before = _basic(b, name, shape, [i if n != p else slice(None) for n, i in enumerate(items)])
    kept = np.empty(shape, dtype=np.bool_)[tuple(
        i if n != p else slice(None) for n, i in enumerate(items))].shape
    if arr.dtype == np.bool_:
        if arr.ndim == 1:
            return b.node('Compress', [before, b.value(arr)], axis=p)
        if arr.ndim == len(kept):
            return b.node('Compress', [before, b.node('Reshape', [b.value(arr), b.ints([-1])])])
        raise b.error('a bool mask over some but not all dimensions')
    ids = b.value(arr)
    if arr.dtype != np.int64:
        ids = b.cast(ids, np.int64)
    return b.node('Gather', [before, ids], axis=p)


def table():
    conv, fused, movement, window = (importlib.import_module(f'ember.ops.{m}')
                                     for m in ('conv', 'fused', 'movement', 'window'))
    return {
        conv.Conv: _conv, conv.ConvTranspose: _conv_transpose, conv.TapGather: _tap_gather,
        conv.MaxPool: _max_pool,
        importlib.import_module('ember.quantization.modules')._QuantizedCall: _quantized,
        conv.PlaneGather: _plane_gather, window.Im2Col: _im2col, window.Col2Im: _col2im,
        fused.Softmax: _softmax('Softmax'), fused.LogSoftmax: _softmax('LogSoftmax'),
        fused.NllLoss: _nll, fused.Normalise: _normalise, fused.LayerNorm: _layer_norm,
        fused.Attention: _attention,
        index.GetItem: _getitem, index.View: _getitem,
        movement.Reshape: _reshape, movement.Expand: _expand, movement.Permute: _permute,
        movement.Flip: _flip, movement.Roll: _roll, movement.Tri: _tri,
        movement.Diagonal: _diagonal, movement.Pad: _pad,
    }


def _quantized(b, call, x, layer):
    """A static int8 layer (``ember.quantization``) as a QDQ group, which ONNX Runtime runs
    as one int8 kernel (QLinearMatMul / QLinearConv): the input quantized and dequantized
    with the layer's input qparams, the int8 weight dequantized per channel, the bias as
    int32 on the product's scale (input scale x weight scale), the float op, a fused ReLU,
    the output quantized and dequantized with the layer's own qparams."""
    act = layer.dtype.np
    in_s = b.scalar(layer.input_scale.item(), np.float32)
    in_z = b.scalar(layer.input_zero_point.item(), act)
    q = b.node('QuantizeLinear', [b.value(x), in_s, in_z])
    xf = b.node('DequantizeLinear', [q, in_s, in_z])
    ws = layer.weight_scale._data.astype(np.float32)
    axis = {} if layer.weight_axis is None else {'axis': 0}
    w = b.node('DequantizeLinear', [b.const(layer.weight._data.astype(np.int8), 'weight'),
                                    b.const(ws, 'scale'),
                                    b.const(layer.weight_zero_point._data.astype(np.int8),
                                            'zero_point')], **axis)
    inputs = [xf, w]
    if layer.bias is not None:
        bias_scale = (ws * np.float32(layer.input_scale.item())).astype(np.float32)
        bias_q = np.round(layer.bias._data.astype(np.float64) / bias_scale).astype(np.int32)
        inputs.append(b.node('DequantizeLinear', [
            b.const(bias_q, 'bias'), b.const(np.broadcast_to(bias_scale, bias_q.shape)
                                             .astype(np.float32), 'scale'),
            b.const(np.zeros(bias_q.shape, np.int32), 'zero_point')], axis=0))
    if type(layer).__name__ == 'QuantizedConv2d':
        pads = [layer.padding[0], layer.padding[1]] * 2 if not isinstance(layer.padding, str) \
            else None
        if pads is None:
            raise b.error(f'a quantized convolution with padding={layer.padding!r}')
        y = b.node('Conv', inputs, strides=list(layer.stride), dilations=list(layer.dilation),
                   pads=pads, group=int(layer.groups), kernel_shape=list(layer.kernel_size))
    elif len(x.shape) == 2:
        y = b.node('Gemm', inputs, transB=1)
    else:
        y = b.node('MatMul', [xf, b.node('Transpose', [w], perm=[1, 0])])
        if len(inputs) == 3:
            y = b.node('Add', [y, inputs[2]])
    if layer.relu:
        y = b.node('Relu', [y])
    out_s = b.scalar(layer.scale.item(), np.float32)
    out_z = b.scalar(layer.zero_point.item(), act)
    return b.node('DequantizeLinear', [b.node('QuantizeLinear', [y, out_s, out_z]), out_s,
                                       out_z])
