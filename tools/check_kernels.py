"""Compile every CUDA kernel ember writes (``ember.backend.kernels``: ELEMENTWISE, REDUCTION,
RAW) with NVRTC, for each dtype ember calls it with, the way CuPy compiles them (its headers,
``-ftz=true``, the kernel body inside CuPy's ``CArray``/``CIndexer`` loop; a RawKernel's
source as it is), and the kernels ``ember.compile`` fuses on the GPU (``ember/compiler/gpu.py``:
chains of each operation it fuses, in each dtype, with its ``--fmad=false``). It needs no
GPU: a kernel that does not compile is found here, not in a scarce GPU run. (The CPU tests
run the same bodies as C++ through the CuPy stand-in, tests/fakecupy.py; this checks they
are also valid CUDA.)

Usage: make check-kernels   (makes .venv-nvrtc with cupy-cuda13x and NVRTC from the registry)
       or: python tools/check_kernels.py, where CuPy and nvidia-cuda-nvrtc are installed.
Prints one line per kernel and dtype; exits 1 if any fails to compile.
"""
import os
import sys
import types

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from cupy.cuda import compiler  # noqa: E402

from ember.backend import kernels  # noqa: E402

ARCH = '90'   # the H100/H200's compute capability
# with no device, CuPy cannot ask one for its architecture: name it
compiler._get_arch_for_options_for_nvrtc = lambda arch=None: (f'-arch=compute_{ARCH}', 'ptx')

CTYPES = {'float16': 'float16', 'bfloat16': 'bfloat16', 'float32': 'float',
          'float64': 'double', 'int8': 'signed char', 'int16': 'short', 'int32': 'int',
          'int64': 'long long', 'uint8': 'unsigned char', 'uint16': 'unsigned short',
          'uint32': 'unsigned int', 'uint64': 'unsigned long long', 'bool': 'bool',
          'complex64': 'complex<float>', 'complex128': 'complex<double>'}
FLOATS = ('float16', 'bfloat16', 'float32', 'float64')
# the placeholder bindings ember uses, per kernel (S: the statistics' float32/float64)
BINDINGS = {
    'ember_adam': [dict(T=t) for t in FLOATS],
    'ember_adam_multi': [dict(T=t) for t in FLOATS],
    'ember_bf16': [{}],
    'ember_gelu': [dict(T=t) for t in FLOATS],
    'ember_gelu_grad': [dict(T=t) for t in FLOATS],
}
for _name in ('ember_ln', 'ember_ln_grad', 'ember_ln_stats', 'ember_ln_grad_means'):
    BINDINGS[_name] = [dict(T=t) for t in FLOATS]
BINDINGS['ember_outside'] = [dict(T='int64'), dict(T='int32'), dict(T='uint8')]
for _name in ('ember_nll_rows', 'ember_nll_total', 'ember_nll_grad'):   # targets of any int
    BINDINGS[_name] = [dict(T=t, S='float64' if t == 'float64' else 'float32', I=i)
                       for t in FLOATS for i in ('int64', 'int32', 'uint8')]
for _name in ('ember_softmax_plain', 'ember_log_softmax', 'ember_log_softmax_grad',
              'ember_softmax', 'ember_softmax_grad', 'ember_max_sum_exp',
              'ember_sum_product'):   # attention computes in float32 or float64
    BINDINGS[_name] = [dict(T='float32', C='complex64'), dict(T='float64', C='complex128')]


# the RawKernels' placeholders other than T (float or double) where they have more
RAW_BINDINGS = {'ember_add_rows': [dict(T='float', Y='float'), dict(T='double', Y='double'),
                                   dict(T='float', Y='unsigned short')],
                'ember_im2col': [dict(T=t) for t in ('unsigned char', 'unsigned short',
                                                     'unsigned int', 'unsigned long long')],
                **{name: [dict(T=t, I=i) for t in ('float', 'double')
                          for i in ('signed char', 'long long')]
                   for name in ('ember_max_pool', 'ember_max_pool_grad')}}


def params(spec):
    out = []
    for part in filter(None, (p.strip() for p in spec.split(','))):
        words = part.split()
        out.append((words[0] == 'raw', words[-2], words[-1]))
    return out


def header(binding):
    return ('#include <cupy/complex.cuh>\n#include <cupy/carray.cuh>\n'
            '#include <cupy/atomics.cuh>\n#include <cupy/float16.cuh>\n'
            '#include <cupy/bfloat16.cuh>\n'
            + ''.join(f'typedef {CTYPES[d]} {t};\n' for t, d in binding.items())
            + kernels.PREAMBLE)


def ctype(t):
    return CTYPES.get(t, t)


def elementwise_source(name, binding, kernel=None, scalars=()):
    """``ELEMENTWISE[name]`` (or ``kernel``: in, out, body) as CuPy compiles it; the inputs
    named in ``scalars`` are passed by value, as CuPy passes a scalar argument."""
    ins, outs, body = kernel or kernels.ELEMENTWISE[name]
    args, loads = [], []
    for raw, t, n in params(ins) + params(outs):
        is_out = (raw, t, n) in params(outs)
        if n in scalars:
            args.append(f'{ctype(t)} {n}')
            continue
        args.append(f'CArray<{ctype(t)}, 1> _raw_{n}')
        if raw:
            loads.append(f'CArray<{ctype(t)}, 1>& {n} = _raw_{n};')
        else:
            loads.append(f'{"" if is_out else "const "}{ctype(t)} &{n} = '
                         f'_raw_{n}[_ind.get()];')
    return (header(binding) + f'extern "C" __global__ void {name}({", ".join(args)}, '
            'CIndexer<1> _ind) {\n  CUPY_FOR(i, _ind.size()) {\n    _ind.set(i);\n'
            + ''.join(f'    {x}\n' for x in loads) + f'    {body};\n  }}\n}}\n')


def reduction_source(name, binding):
    ins, outs, map_expr, reduce_expr, post_map_expr, identity, reduce_type = \
        kernels.REDUCTION[name]
    (_, t_out, n_out), = params(outs)
    args, loads = [], []
    for raw, t, n in params(ins):
        args.append(f'CArray<{ctype(t)}, 2> _raw_{n}')
        loads.append(f'const {ctype(t)} {n} = _raw_{n}[_in_ind.get()];')
    return (header(binding) + f'typedef {ctype(reduce_type or t_out)} _type_reduce;\n'
            f'extern "C" __global__ void {name}({", ".join(args)}, '
            f'CArray<{ctype(t_out)}, 1> _raw_{n_out}, CIndexer<2> _in_ind, '
            'CIndexer<1> _out_ind) {\n'
            '  CUPY_FOR(o, _out_ind.size()) {\n    _out_ind.set(o);\n'
            f'    _type_reduce a = {identity};\n'
            '    for (ptrdiff_t r = 0; r < _in_ind.size() / _out_ind.size(); ++r) {\n'
            '      _in_ind.set(o * (_in_ind.size() / _out_ind.size()) + r);\n'
            + ''.join(f'      {x}\n' for x in loads) +
            f'      _type_reduce b = ({map_expr});\n      a = ({reduce_expr});\n    }}\n'
            f'    {ctype(t_out)} &{n_out} = _raw_{n_out}[_out_ind.get()];\n'
            f'    {post_map_expr};\n  }}\n}}\n')


def fused_kernels():
    """ember.compile's fused kernels (ember/compiler/gpu.py) for chains of every operation it
    fuses, in each dtype it fuses and across them (operands cast, weak Python numbers):
    (label, ElementwiseKernel spec, the names of its scalar parameters)."""
    import numpy as np
    from ember.compiler import gpu
    from ember.compiler.graph import Ref
    out = []
    for a, b in (('float32', 'float32'), ('float64', 'float64'), ('int32', 'int32'),
                 ('int64', 'int64'), ('int32', 'float32'), ('float32', 'float64'),
                 ('int64', 'float64')):
        ta, tb = np.dtype(a), np.dtype(b)
        t = np.result_type(ta, tb)
        f = t if t.kind == 'f' else np.dtype(np.float64)   # true_divide and sqrt's dtype
        chain = [(np.add, (Ref(0), Ref(1)), t), (np.subtract, (Ref(2), 3), t),
                 (np.multiply, (Ref(3), Ref(0)), t), (np.negative, (Ref(4),), t),
                 (np.power, (Ref(5), 2), t), (np.true_divide, (Ref(6), Ref(1)), f),
                 (np.sqrt, (Ref(7),), f), (np.multiply, (Ref(8), 0.5), f),
                 (np.positive, (Ref(9),), f), (np.subtract, (Ref(10), Ref(4)), f)]
        meta = {0: ((4,), ta), 1: ((4,), tb)}
        nodes = []
        for k, (fn, args, dtype) in enumerate(chain):
            meta[k + 2] = ((4,), dtype)
            nodes.append(types.SimpleNamespace(fn=fn, args=args, outs=Ref(k + 2)))
        spec = gpu.kernel_spec(nodes, meta, [4, len(chain) + 1])
        scalars = {p.split()[1] for p, o in zip(spec.in_params.split(', '), spec.operands)
                   if type(o) is not Ref}
        out.append((f'{spec.name} ({a}, {b})', (spec.in_params, spec.out_params,
                                                 spec.operation), scalars))
    return out


def main():
    include = os.path.join(os.path.dirname(compiler.__file__), '..', '_core', 'include')
    cccl = os.path.join(include, 'cupy', '_cccl')
    options = ('-ftz=true', '--device-as-default-execution-space', f'-I{include}',
               f'-I{cccl}/libcudacxx', f'-I{cccl}/thrust', f'-I{cccl}/cub',
               '-std=c++17')
    try:   # CUDA's own headers (cuda_fp16.h, cuda_bf16.h) from the nvidia-cuda-runtime wheel
        import nvidia
        for root in nvidia.__path__:
            for sub in sorted(os.listdir(root)):
                inc = os.path.join(root, sub, 'include')
                if os.path.isdir(inc):
                    options += (f'-I{inc}',)
    except ImportError:
        pass
    failed = 0
    for name in kernels.RAW:   # RawKernels: the source as it is, C++11 as CuPy compiles it
        for raw_types in RAW_BINDINGS.get(name, [dict(T='float'), dict(T='double')]):
            try:
                compiler.compile_using_nvrtc(kernels.raw_source(name, **raw_types),
                                             options=('-ftz=true', '-std=c++11'), arch=ARCH)
                print(f'ok    {name} {raw_types}')
            except Exception as e:   # noqa: BLE001
                failed += 1
                print(f'FAIL  {name} {raw_types}\n{e}')
    names = list(kernels.ELEMENTWISE) + list(kernels.REDUCTION)
    missing = [n for n in names if n not in BINDINGS]
    failed += len(missing)
    for n in missing:
        print(f'FAIL  {n}: no dtypes listed for it in tools/check_kernels.py BINDINGS')
    for name in names:
        for binding in BINDINGS.get(name, ()):
            source = (elementwise_source if name in kernels.ELEMENTWISE else
                      reduction_source)(name, binding)
            label = f'{name} {binding or ""}'
            try:
                compiler.compile_using_nvrtc(source, options=options, arch=ARCH)
                print(f'ok    {label}')
            except Exception as e:   # CompileException: the log says where
                failed += 1
                print(f'FAIL  {label}\n{e}\n{source}')
    from ember.compiler import gpu
    fused = fused_kernels()
    for label, kernel, scalars in fused:   # ember.compile's, with the options it gives CuPy
        source = elementwise_source('ember_fused', {}, kernel, scalars)
        try:
            compiler.compile_using_nvrtc(source, options=options + gpu.OPTIONS, arch=ARCH)
            print(f'ok    {label}')
        except Exception as e:   # noqa: BLE001
            failed += 1
            print(f'FAIL  {label}\n{e}\n{source}')
    import cupy
    print(f'{len(names) + len(kernels.RAW) + len(fused)} kernels, {failed} failures (NVRTC, '
          f'compute_{ARCH}, CuPy {cupy.__version__})')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
