"""The docs are tested: their Python runs, their commands exist, the API reference covers every
public name, and the site builds with ``mkdocs build --strict``.

- Each ```` ```python ```` block of README.md, docs/*.md and docs/guide/*.md runs: a file's blocks
  in order, in one namespace, in a temporary working directory. A block right after a line
  ``<!-- not run: REASON -->`` is skipped (GPU-only code); the reason may not be empty.
  Doctest examples (``>>>``) belong in ```` ```pycon ```` blocks and run through ``doctest``
  here, block by block (``make test`` collects ember/ and tests/ only, so pytest's
  ``--doctest-glob='*.md'`` never sees these files; it would read each closing fence as
  expected output).
- Each command in a ```` ```sh ````/``bash``/``console``/``shell`` block is checked as far as
  is cheap: ``make`` targets exist, ``ember``/``python -m ember`` and ``python -m bench``
  arguments parse.
- Every name of ``tools/api_pages.public_names()`` has a docstring and an entry (an HTML id)
  in the built API pages.
"""
import doctest
import importlib
import inspect
import importlib.util
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('api_pages', ROOT / 'tools' / 'api_pages.py')
api_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_pages)

PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md')),
         *sorted((ROOT / 'docs' / 'guide').glob('*.md'))]
GUIDES = [ROOT / 'README.md', ROOT / 'docs' / 'index.md',
          *sorted((ROOT / 'docs' / 'guide').glob('*.md')), ROOT / 'docs' / 'differences.md',
          ROOT / 'docs' / 'distributed.md']
FENCE = re.compile(r'^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```'
                   r'[ \t]*$', re.M | re.S)
NOT_RUN = re.compile(r'<!--\s*not run:(?P<reason>.*?)-->\s*$')
SHELL = {'sh', 'bash', 'console', 'shell'}


def blocks(path, text=None):
    """``(lang, body, line, skip_reason)`` for each fenced block of a Markdown file."""
    text = path.read_text() if text is None else text
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip('\n').rsplit('\n', 1)[-1]
        skip = NOT_RUN.search(before)
        body = '\n'.join(line[len(m['indent']):] for line in m['body'].split('\n'))
        out.append((m['lang'].lower(), body, text.count('\n', 0, m.start()) + 1,
                    skip['reason'].strip() if skip else None))
    return out


def rel(path):
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


# ----------------------------------------------------------------- Python blocks

def run_python_blocks(path, text=None):
    """Run a file's ```python blocks in order in one namespace; raise naming file and line."""
    namespace = {'__name__': '__docs__'}
    for lang, body, line, skip in blocks(path, text):
        if lang not in ('python', 'py'):
            continue
        if skip is not None:
            assert skip, f'{rel(path)}:{line}: "<!-- not run: -->" needs a reason'
            continue
        assert not re.search(r'^\s*>>>', body, re.M), (
            f'{rel(path)}:{line}: a ```python block with ">>>" lines: make it ```pycon '
            f'(a doctest) or drop the prompts')
        try:
            exec(compile(body, f'{rel(path)}:{line}', 'exec'), namespace)
        except Exception as e:
            raise AssertionError(f'{rel(path)}: the block at line {line} failed: '
                                 f'{type(e).__name__}: {e}') from e


@pytest.mark.parametrize('path', PAGES, ids=rel)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import ember
    ember.manual_seed(0)
    run_python_blocks(path)


def run_doctest_blocks(path, text=None):
    """Run the doctest examples of a file's fenced blocks (```pycon), block by block in one
    namespace. Per block, because doctest run over the whole file (what pytest's
    ``--doctest-glob`` does) reads a block's closing fence as part of the expected output."""
    import numpy as np
    import ember
    text = path.read_text() if text is None else text
    parser, globs, found = doctest.DocTestParser(), {'ember': ember, 'np': np}, 0
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for lang, body, line, skip in blocks(path, text):
        if lang in ('python', 'py') or skip is not None:
            continue
        test = parser.get_doctest(body, globs, f'{rel(path)}:{line}', str(path), line)
        found += len(test.examples)
        runner.run(test, clear_globs=False)
        globs = test.globs   # get_doctest copied them: the next block sees this one's names
    outside = len(parser.get_examples(text)) - found
    assert outside <= 0, f'{rel(path)}: {outside} ">>>" example(s) outside a fenced block'
    assert runner.failures == 0, f'{rel(path)}: {runner.failures} doctest example(s) failed'


@pytest.mark.parametrize('path', PAGES, ids=rel)
def test_doctest_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_doctest_blocks(path)


def test_block_runner_catches_failures(tmp_path):
    """The runner above fails when a block fails, shares one namespace, honours the marker."""
    page = tmp_path / 'page.md'
    run_python_blocks(page, '```python\nx = 1\n```\n\n```python\nassert x == 1\n```\n')
    with pytest.raises(AssertionError, match='line 1 failed'):
        run_python_blocks(page, '```python\nraise ValueError\n```\n')
    run_python_blocks(page, '<!-- not run: needs a GPU -->\n```python\nraise ValueError\n```\n')
    with pytest.raises(AssertionError, match='needs a reason'):
        run_python_blocks(page, '<!-- not run: -->\n```python\nx = 1\n```\n')
    with pytest.raises(AssertionError, match='pycon'):
        run_python_blocks(page, '```python\n>>> 1 + 1\n2\n```\n')
    run_doctest_blocks(page, '```pycon\n>>> x = ember.ones(2)\n```\n\n'
                             '```pycon\n>>> x * 2\ntensor([2., 2.])\n```\n')
    with pytest.raises(AssertionError, match='1 doctest example'):
        run_doctest_blocks(page, '```pycon\n>>> 1 + 1\n3\n```\n')
    with pytest.raises(AssertionError, match='outside a fenced block'):
        run_doctest_blocks(page, 'Text.\n\n>>> 1 + 1\n2\n')


# ----------------------------------------------------------------- shell blocks

def make_targets():
    text = (ROOT / 'Makefile').read_text()
    return set(re.findall(r'^([A-Za-z0-9_.-]+)\s*:(?!=)', text, re.M)) - {'.PHONY'}


def commands(body, lang):
    """The commands of a shell block: prompts and comments stripped, continuations joined,
    ``&&``/``;``/``|`` split, leading ``VAR=value`` assignments dropped."""
    text = re.sub(r'\\\n', ' ', body)
    for line in text.split('\n'):
        line = line.strip()
        if lang == 'console':
            if not line.startswith('$ '):
                continue   # output
            line = line[2:]
        line = re.sub(r'(^|\s)#.*$', '', line).strip()
        for part in re.split(r'&&|\|\||;|\|', line):
            words = shlex.split(part)
            while words and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', words[0]):
                words.pop(0)
            if words:
                yield words


def check_command(words, monkeypatch):
    """Raise AssertionError if ``words`` is a command the docs should not show."""
    prog = words[0]
    if prog == 'make':
        targets = [w for w in words[1:] if not w.startswith('-') and '=' not in w]
        missing = [t for t in targets if t not in make_targets()]
        assert not missing, f'make: no target {missing} in the Makefile'
        return
    if prog.endswith('python') or prog.endswith('python3'):
        if words[1:3] == ['-m', 'ember']:
            return check_ember(words[3:], monkeypatch)
        if words[1:3] == ['-m', 'bench']:
            import bench.__main__
            try:
                bench.__main__.parse_args(words[3:])
            except SystemExit as e:   # --help exits 0
                if e.code not in (0, None):
                    raise AssertionError(f'python -m bench: {words[3:]} do not parse') from e
            return
        if words[1:3] == ['-m', 'ember.distributed.run']:
            from ember.distributed import run
            run._parser().parse_args(words[3:])   # (an error exits 2: SystemExit)
            return
        if words[1:3] in (['-m', 'pip'], ['-m', 'venv'], ['-m', 'pytest']):
            return
        if len(words) > 1 and (ROOT / words[1]).is_file():
            return   # a script of the repository
        raise AssertionError(f'unchecked python command: {shlex.join(words)}')
    if prog == 'ember':
        return check_ember(words[1:], monkeypatch)
    if prog.rsplit('/', 1)[-1] in ('pip', 'pip3', 'git', 'cd', 'ls', 'rm', 'export', 'source',
                                   'mkdocs', 'nvidia-smi', 'sed', 'cat', 'mpiexec'):
        return   # not ember's to check
    raise AssertionError(f'unknown command in the docs: {shlex.join(words)}')


def check_ember(args, monkeypatch):
    import ember.__main__ as cli
    monkeypatch.setattr(cli, 'demo', lambda parsed: 0)   # parse, do not train
    try:
        cli.main(args)
    except SystemExit as e:
        if e.code not in (0, None):
            raise AssertionError(f'ember: {args} do not parse') from e


def shell_blocks(path):
    return [(lang, body, line, skip) for lang, body, line, skip in blocks(path)
            if lang in SHELL]


@pytest.mark.parametrize('path', GUIDES, ids=rel)
def test_shell_commands_exist(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for lang, body, line, skip in shell_blocks(path):
        if skip is not None:
            assert skip, f'{rel(path)}:{line}: "<!-- not run: -->" needs a reason'
            continue
        for words in commands(body, lang):
            try:
                check_command(words, monkeypatch)
            except AssertionError as e:
                raise AssertionError(f'{rel(path)}:{line}: {e}') from None


def test_command_checks_catch_mistakes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok = ['make test', 'make demo', 'python -m ember demo regression --epochs 2',
          'ember demo', 'python -m bench --only W1,W3 --steps 5', '$ EMBER_MKL=0 make bench']
    for line in ok:
        for words in commands(line, 'console' if line.startswith('$') else 'sh'):
            check_command(words, monkeypatch)
    bad = ['make no-such-target', 'python -m ember demo everything', 'ember demo --epoch 0',
           'python -m bench --only W99', 'python -m bench --fast', 'frobnicate --now']
    for line in bad:
        with pytest.raises(AssertionError):
            for words in commands(line, 'sh'):
                check_command(words, monkeypatch)


# ----------------------------------------------------------------- the API reference

def test_every_public_name_has_a_docstring():
    import ember
    names = api_pages.public_names()
    assert len(names) > 500, 'the list of public names looks truncated'
    lacking = [n for n in names if not isinstance(api_pages._obj(n), ember.dtype)
               and not (inspect.getdoc(api_pages._obj(n)) or '').strip()]
    assert not lacking, f'{len(lacking)} public names have no docstring: {", ".join(lacking)}'


def test_every_public_module_has_a_page():
    """Each module that ember or a documented module holds as a public attribute has a page,
    is named in ``api_pages.NO_PAGE``, or is an implementation file: its package has an
    ``__all__``, or re-exports the public names it defines (``ember.nn.conv``)."""
    import ember
    documented = {m for _, _, mods, _ in api_pages.PAGES for m in mods}
    missing = []
    for holder in sorted(documented - {'ember.Tensor'}):
        package = importlib.import_module(holder)
        for name, mod in vars(package).items():
            if name.startswith('_') or not isinstance(mod, type(ember)) \
                    or not mod.__name__.startswith('ember.'):
                continue
            if mod.__name__ in documented or mod.__name__ in api_pages.NO_PAGE \
                    or hasattr(package, '__all__'):
                continue
            # a function that is a class's static method (nn.Tensor.line) is documented there
            methods = {id(m) for c in vars(package).values() if isinstance(c, type)
                       for m in vars(c).values()}
            methods |= {id(m.__func__) for c in vars(package).values() if isinstance(c, type)
                        for m in vars(c).values() if isinstance(m, staticmethod)}
            own = [n for n, o in vars(mod).items() if not n.startswith('_')
                   and getattr(o, '__module__', None) == mod.__name__ and id(o) not in methods]
            if any(getattr(package, n, None) is not getattr(mod, n) for n in own):
                missing.append(f'{mod.__name__} (held by {holder}: '
                               f'{[n for n in own if not hasattr(package, n)]})')
    assert not missing, f'public modules without an API page: {missing}'


# ----------------------------------------------------------------- the site

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """One build of the site into a temporary folder: (the run, seconds, folder). It runs with
    ``--no-strict`` so that the pages are written even when a warning would stop a strict
    build; ``test_site_builds_strict`` fails on any warning, which is what strict means."""
    missing = [m for m in ('mkdocs', 'mkdocstrings', 'mkdocstrings_handlers.python')
               if importlib.util.find_spec(m.split('.')[0]) is None]
    assert not missing, (f'{missing} not installed: the docs are part of the suite; install '
                         f"mkdocs==1.6.1 'mkdocstrings[python]==1.0.8'")
    out = tmp_path_factory.mktemp('site')
    start = time.perf_counter()
    run = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--no-strict', '--site-dir',
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return run, time.perf_counter() - start, out


def test_site_builds_strict(site):
    run, seconds, _ = site
    warnings = [line for line in run.stderr.splitlines() if line.startswith(('WARNING', 'ERROR'))]
    assert run.returncode == 0 and not warnings, '\n'.join(warnings) or run.stderr[-3000:]
    assert seconds < 120, f'mkdocs build took {seconds:.0f} s'


def test_every_public_name_is_on_an_api_page(site):
    run, _, out = site
    assert run.returncode == 0, run.stderr[-3000:]
    ids = set()
    for page in (out / 'api').glob('*/index.html'):
        ids.update(re.findall(r'\bid="(ember[\w.]*)"', page.read_text()))
    missing = [n for n in api_pages.public_names() if n not in ids]
    assert not missing, f'{len(missing)} public names have no entry: {", ".join(missing)}'
