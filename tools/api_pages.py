"""The API reference's pages, generated from what ember exports: a MkDocs hook.

``mkdocs.yml`` names this file under ``hooks:``; ``on_files`` adds one page per entry of
``PAGES`` (``docs/api/<page>.md``, never written to disk, so no list goes stale). A page holds
one ``::: name`` block (mkdocstrings) per public name whose home it is, and one link per name
it re-exports from another page's home. ``tests/test_docs.py`` checks every name of
``public_names()`` for a docstring and for its entry in the built site.

A module's public names are its ``__all__``; a module without one gives its names that are not
underscored, not modules, and bound to ember's own classes, functions or dtypes, less the
helpers it merely imports (``NOT_API``). ``python tools/api_pages.py`` prints the pages.
"""
import importlib
import inspect
import sys
import types

# (page, title, modules documented on it, introduction)
PAGES = [
    ('ember', 'ember', ['ember'],
     'Tensors, their creation, the ops as functions, dtypes, devices, random numbers, '
     'gradient switches and the re-exports PyTorch keeps at top level (`torch.softmax`, '
     '`torch.save` ...). The methods of tensors: [ember.Tensor](tensor.md).'),
    ('tensor', 'ember.Tensor', ['ember.Tensor'],
     'The tensor class: every method and property. Most methods are the functions of '
     '[ember](ember.md) called on the tensor.'),
    ('nn', 'ember.nn', ['ember.nn'],
     'Modules and layers. `nn.Tensor` is `ember.Tensor` (the talk writes `nn.Tensor.line`).'),
    ('functional', 'ember.nn.functional', ['ember.nn.functional'],
     'The functions behind the layers. The ops ember also exports at top level are listed '
     'with a link to their entry on the [ember](ember.md) page.'),
    ('init', 'ember.nn.init and ember.nn.utils', ['ember.nn.init', 'ember.nn.utils',
                                                  'ember.nn.utils.prune'],
     'Parameter initialisation (in place, under `no_grad`), gradient clipping, '
     'parameter-vector helpers and pruning (`torch.nn.utils.prune`\'s API, and '
     '`remove_channels` to take pruned channels out).'),
    ('optim', 'ember.optim', ['ember.optim', 'ember.optim.lr_scheduler'],
     'Optimizers (one file each on a shared `Optimizer` driver) and learning-rate schedulers.'),
    ('data', 'ember.utils.data and ember.datasets', ['ember.utils.data', 'ember.datasets'],
     'Datasets, samplers and the DataLoader. `ember.data` is the same module as '
     '`ember.utils.data`. `ember.datasets` holds the demos\' data and MNIST.'),
    ('autograd', 'ember.autograd', ['ember.autograd'],
     'Gradients: `backward`, `grad`, custom `Function`s and gradient checks.'),
    ('linalg', 'ember.linalg', ['ember.linalg'],
     'Linear algebra of float32/float64 matrices, batched, as `torch.linalg` (`eig` and '
     '`eigvals` with complex results, and complex inputs too); torch\'s '
     'older names (`ember.inverse`, `ember.det` ...) are on the [ember](ember.md) page.'),
    ('fft', 'ember.fft', ['ember.fft'],
     'Discrete Fourier transforms as `torch.fft`: complex, real-input, real-output and '
     'Hermitian transforms in 1, 2 and n dimensions with `n=`/`s=`, `dim=` and `norm=`, '
     'gradients of any order; frequencies and shifts. Complex tensors are described on the '
     '[ember](ember.md) page (`ember.complex64`, `ember.view_as_real` ...).'),
    ('special', 'ember.special', ['ember.special'],
     'Special functions as `torch.special`: the gamma family, the error function\'s, Bessel '
     'functions, `xlogy`, `logit`... with gradients (`ember.lgamma`, `ember.digamma` ... '
     'are on the [ember](ember.md) page).'),
    ('distributions', 'ember.distributions', ['ember.distributions',
                                              'ember.distributions.constraints'],
     'Probability distributions as `torch.distributions`: sampling on ember\'s seeded '
     'generator, log-densities, moments, KL divergences, gradients in the parameters.'),
    ('sparse', 'ember.sparse', ['ember.sparse'],
     'Sparse COO tensors, as `torch.sparse`: `SparseTensor` (made by '
     '`ember.sparse_coo_tensor` and `Tensor.to_sparse`), the sparse-dense product, sums and '
     'softmax, with gradients to the values and the dense operands (CPU only).'),
    ('amp', 'ember.amp, ember.cuda, ember.accelerator and ember.backends',
     ['ember.amp', 'ember.cuda', 'ember.accelerator', 'ember.backends'],
     'Mixed precision, the GPU\'s switches and queries (through CuPy; experimental).'),
    ('compile', 'ember.compile and ember.jit', ['ember.compiler', 'ember.jit'],
     '`ember.compile` (the function lives in the package `ember.compiler`) and the static '
     'programs of `ember.jit`. See the [compiler notes](../compiler.md).'),
    ('debug', 'ember.debug, ember.profiler, ember.viz and ember.utils',
     ['ember.debug', 'ember.profiler', 'ember.viz', 'ember.utils', 'ember.utils.tensorboard'],
     'The debugger: stop at the first op that makes a NaN, trace every op, tabulate a model '
     '(torchinfo\'s `summary`); the profiler, as `torch.profiler`; graphs to look at and '
     'TensorBoard\'s `SummaryWriter`. '
     '`ember.autograd.detect_anomaly` is on the [autograd](autograd.md) page. See the '
     '[tools guide](../tools.md).'),
    ('onnx', 'ember.onnx', ['ember.onnx'],
     'ONNX export and import (the `onnx` extra): `export` writes a model as an ONNX graph that '
     'ONNX Runtime runs from any language, `load` reads one back as a Module that trains. '
     'See [deploying with ONNX](../deploy.md).'),
    ('checkpoint', 'ember.utils.checkpoint', ['ember.utils.checkpoint'],
     'Activation checkpointing: recompute a block\'s activations in backward.'),
    ('distributed', 'ember.distributed and ember.nn.parallel',
     ['ember.distributed', 'ember.distributed.optim', 'ember.nn.parallel',
      'ember.distributed.run'],
     'Process groups and collectives on MPI, as `torch.distributed`; '
     '`ZeroRedundancyOptimizer`; `DistributedDataParallel`; the launcher '
     '(`python -m ember.distributed.run`). '
     '`DistributedSampler` is on the [data](data.md) page. See the '
     '[distributed guide](../distributed.md).'),
    ('serialization', 'ember.save and ember.load', ['ember.serialization'],
     'Checkpoints as safetensors files; no pickle. See the '
     '[checkpoints guide](../guide/checkpoints.md).'),
    ('explain', 'ember.explain', ['ember.explain'],
     'Interpretability: Captum\'s attribution algorithms under Captum\'s names, checked '
     'against Captum. See [the tools page](../tools.md#interpretability-emberexplain).'),
    ('quantization', 'ember.quantization', ['ember.quantization'],
     'Quantization with `torch.ao.quantization`\'s names: observers, fake quantization, '
     'static post-training int8 (`prepare`, calibrate, `convert`), quantization-aware '
     'training (`prepare_qat`) and `quantize_dynamic`. See the '
     '[quantization guide](../quantization.md).'),
    ('debug_compare', 'ember.debug_compare', ['ember.debug_compare'],
     'One model in ember and in PyTorch, compared module by module, forward and backward '
     '(needs torch). See [the tools page](../tools.md#parity-with-pytorch-compare_with_torch).'),
]

# names a module without __all__ binds by importing them for its own use: not its API
NOT_API = {
    'ember.nn.functional': {'Tensor', 'no_grad', 'is_grad_enabled', 'arange', 'get_xp',
                            'check_later', 'host', 'outside'},
    'ember.autograd': {'Tensor', 'array_device', 'namespace', 'quiet_numpy', 'FREED'},
    'ember.serialization': {'Tensor', 'Device', 'MAX_HEADER_BYTES', 'STRUCTURE_KEY'},
    'ember.optim.lr_scheduler': {'Optimizer'},
    'ember.backends': set(),
}

# modules reachable from ``import ember`` that need no page of their own, and why
NO_PAGE = {
    'ember.random': 'its names are exported by ember (manual_seed, randn, Generator ...)',
    'ember.data': 'the same module as ember.utils.data',
    'ember.ops': 'the ops, exported by ember',
    'ember.backend': 'internal: the devices\' array modules (ember.device is on the ember page)',
    'ember.demos': 'the applications behind the `ember demo` command (imported when run)',
}


def _module(name):
    return importlib.import_module(name)


def _is_api_object(obj):
    import ember
    if isinstance(obj, ember.dtype):
        return True
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return False
    return (getattr(obj, '__module__', None) or '').startswith('ember')


def module_names(modname):
    """The public names of one documented module (or of ``ember.Tensor``: its members)."""
    if modname == 'ember.Tensor':
        import ember
        return sorted(n for n in dir(ember.Tensor) if not n.startswith('_'))
    mod = _module(modname)
    if hasattr(mod, '__all__'):
        return list(mod.__all__)
    skip = NOT_API.get(modname, set())
    return [n for n, o in vars(mod).items()
            if not n.startswith('_') and n not in skip and not isinstance(o, types.ModuleType)
            and (_is_api_object(o) or modname == 'ember.backends')]


def public_names():
    """Every public name, ``'ember.nn.Linear'`` style, in page order."""
    return [f'{m}.{n}' for _, _, mods, _ in PAGES for m in mods for n in module_names(m)]


def _obj(qualname):
    mod, _, name = qualname.rpartition('.')
    return getattr(_module(mod) if mod != 'ember.Tensor' else _module('ember').Tensor, name)


def homes():
    """``{id(object): (page, qualified name)}``: where each object gets its full entry, the
    exposure whose module is the longest prefix of the module the object is defined in (the
    first exposure where none is); ``ember.Tensor`` has a page of its own."""
    import ember
    best = {}
    for page, _, mods, _ in PAGES:
        if mods == ['ember.Tensor']:
            continue
        for m in mods:
            for n in module_names(m):
                obj = getattr(_module(m), n)
                if isinstance(obj, ember.dtype):
                    continue
                where = getattr(obj, '__module__', '') or ''
                score = len(m) if where == m or where.startswith(m + '.') else -1
                if id(obj) not in best or score > best[id(obj)][0]:
                    best[id(obj)] = (score, page, f'{m}.{n}')
    table = {k: (p, q) for k, (_, p, q) in best.items()}
    table[id(ember.Tensor)] = ('tensor', 'ember.Tensor')
    return table


def _dtype_table():
    import ember
    rows = ['| name | dtype | bytes |', '|---|---|---|']
    for n in module_names('ember'):
        d = getattr(ember, n)
        if isinstance(d, ember.dtype):
            rows.append(f'| <code id="ember.{n}">ember.{n}</code> | `{d}` | {d.itemsize} |')
    return '\n'.join(rows)


def render(page):
    """The Markdown of one page."""
    import ember
    _, title, mods, intro = next(p for p in PAGES if p[0] == page)
    out = [f'# {title}', '', intro, '']
    if mods == ['ember.Tensor']:
        return '\n'.join(out + ['::: ember.Tensor', '    options:',
                                '      show_root_heading: false', ''])
    where = homes()
    for m in mods:
        if len(mods) > 1:
            out += [f'## {m}', '']
        own, others, dtypes = [], [], False
        for n in module_names(m):
            obj = getattr(_module(m), n)
            if isinstance(obj, ember.dtype):
                dtypes = True
            elif where[id(obj)] == (page, f'{m}.{n}'):
                own.append(n)
            else:
                others.append((n, where[id(obj)][1]))
        if dtypes:
            out += ['### dtypes', '', 'Each is an `ember.dtype`; `ember.float32` is the default '
                    'floating dtype (`ember.get_default_dtype()`).', '', _dtype_table(), '']
        if others:
            links = ', '.join(f'<code id="{m}.{n}">{n}</code> ([`{q}`][{q}])'
                              for n, q in others)
            out += ['### Also here', '', f'`{m}` also exports, documented elsewhere: {links}.',
                    '']
        for n in own:
            out += [f'::: {m}.{n}', '']
    return '\n'.join(out)


def fence_doctests(text):
    """Docstrings are plain text with doctest examples: put each run of ``>>>`` lines (with
    their output, up to a blank line) and each ``::`` literal block in a fenced code block, so
    Markdown neither reflows them nor reads ``[0, 1][...]`` in an output as a link."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith('>>>'):
            pad = line[:len(line) - len(line.lstrip())]
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            out += [pad + '```pycon'] + lines[i:j] + [pad + '```']
            i = j
        elif line.rstrip().endswith('::') and i + 1 < len(lines) and not lines[i + 1].strip():
            out.append(line.rstrip()[:-1])
            j = i + 2
            pad = len(line) - len(line.lstrip())
            while j < len(lines) and (not lines[j].strip()
                                      or len(lines[j]) - len(lines[j].lstrip()) > pad):
                j += 1
            while j > i + 2 and not lines[j - 1].strip():
                j -= 1
            block = lines[i + 2:j]
            cut = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            out += ['', ' ' * pad + '```text'] + [b[cut:] for b in block] + [' ' * pad + '```']
            i = j
        else:
            out.append(line)
            i += 1
    return '\n'.join(out)


try:
    import griffe
except ImportError:   # only the docs build needs griffe
    griffe = None
else:
    class DoctestBlocks(griffe.Extension):
        """Griffe extension (``mkdocs.yml``): docstrings' doctests as code blocks."""

        def on_instance(self, *, obj, node=None, **kwargs):
            runtime = getattr(node, 'obj', None)
            if obj.docstring is None and inspect.ismemberdescriptor(runtime):
                doc = inspect.getdoc(runtime)   # a slot's docstring lives in __slots__
                if doc:
                    obj.docstring = griffe.Docstring(doc, parent=obj)
            if obj.docstring is not None:
                obj.docstring.value = fence_doctests(obj.docstring.value)


def on_config(config):
    """MkDocs hook. Two kinds of function griffe cannot follow to where they are defined get,
    for this build's process only, the names Python would give them (ember should set these
    where it makes the functions; the report of the docs build lists them):

    - made by a factory: ``__qualname__`` ``_factory.<locals>.make``; it becomes the name of
      the attribute of its module that holds it (``zeros``);
    - a method attached to a class from another module (``Tensor.add_``, made in
      ``ember/ops/elementwise.py``): ``__module__`` becomes the class's, else griffe follows
      ``ember.ops.elementwise.Tensor`` back to the class and around in a circle, and drops it.
    """
    for qualname in public_names():
        obj = _obj(qualname)
        if not callable(obj) or not hasattr(obj, '__qualname__'):
            continue
        home = vars(sys.modules.get(obj.__module__ or '', sys))
        if '<locals>' in obj.__qualname__:
            obj.__qualname__ = next(n for n, o in home.items() if o is obj)
        owner = home.get(obj.__qualname__.split('.')[0])
        if '.' in obj.__qualname__ and isinstance(owner, type) \
                and owner.__module__ != obj.__module__:
            obj.__module__ = owner.__module__
    return config


def on_files(files, config):
    """MkDocs hook: add the API pages to the build."""
    from mkdocs.structure.files import File
    for page, *_ in PAGES:
        files.append(File.generated(config, f'api/{page}.md', content=render(page)))
    return files


if __name__ == '__main__':
    for page, *_ in PAGES:
        if len(sys.argv) < 2 or page in sys.argv[1:]:
            print(render(page))
