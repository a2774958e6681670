"""The ``ember`` command as a user meets it: ``--version``, the help, exit statuses.

(``ember demo``'s training is tested in tests/test_demos.py, its argument checks in
tests/test_bad_input.py.)
"""
import argparse
import doctest
import os
import re
import subprocess
import sys

import ember
import ember.__main__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ember_command(*args):
    """``python -m ember ARGS`` from another folder, as installed; its CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS='100')
    return subprocess.run([sys.executable, '-m', 'ember', *args], capture_output=True,
                          text=True, env=env, cwd=os.path.dirname(ROOT),
                          timeout=900)   # a hang guard: ~1 s here


def test_version():
    for flag in ('--version', '-V'):
        out = ember_command(flag)
        assert (out.returncode, out.stdout, out.stderr) == (0, f'ember {ember.__version__}\n', '')


def test_one_version_everywhere():
    """pyproject.toml, ``ember.__version__`` and the CHANGELOG's latest release agree."""
    with open(os.path.join(ROOT, 'pyproject.toml')) as f:
        (project,) = re.findall(r'^version = "(.+)"$', f.read(), re.M)
    with open(os.path.join(ROOT, 'CHANGELOG.md')) as f:
        released = re.findall(r'^## \[(\d[^\]]*)\] - \d{4}-\d\d-\d\d$', f.read(), re.M)
    assert project == ember.__version__ == released[0]


def test_bare_command_prints_the_help_and_exits_0():
    out = ember_command()
    assert out.returncode == 0 and out.stderr == ''
    assert out.stdout.startswith('usage: ember [-h] [-V] COMMAND ...')
    for text in ('--version', 'demo', "train the talk's two applications", 'example:',
                 'ember demo regression --epochs 5'):
        assert text in out.stdout, text
    assert out.stdout == ember_command('--help').stdout


def test_demo_help_shows_every_option_with_its_default():
    out = ember_command('demo', '--help')
    assert out.returncode == 0 and out.stderr == ''
    assert out.stdout.startswith('usage: ember demo')
    text = ' '.join(out.stdout.split())   # argparse wraps the help to the terminal's width
    for line in ('{regression,classification,all} which application to train (default: all)',
                 '--epochs EPOCHS training epochs, >= 1 (default: 20 for regression, 10 for '
                 'classification)',
                 '--lr LR learning rate, a finite number > 0 (default: 0.1 for regression, '
                 '0.05 for classification)',
                 '--seed SEED random seed, in [0, 2**63) (default: 0)',
                 "--device DEVICE 'cpu' or 'cuda' (default: cpu)",
                 '--out OUT folder for the pictures, made if missing (default: runs)',
                 'examples: ember demo'):
        assert line in text, line


def test_every_option_has_help_with_its_default():
    command, demo = ember.__main__.parsers()
    for parser in (command, demo):
        for action in parser._actions:
            assert action.help, action.dest
            if isinstance(action, argparse._SubParsersAction):   # each command has a line
                assert all(c.help for c in action._choices_actions)
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                assert 'default:' in action.help, action.dest


def test_unknown_command_is_a_usage_error():
    out = ember_command('train')
    assert out.returncode == 2 and out.stdout == ''
    assert out.stderr.startswith('usage: ember') and "invalid choice: 'train'" in out.stderr


def test_examples_in_the_docstrings():
    """pytest's --doctest-modules skips every ``__main__.py``: its examples run here."""
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(ember.__main__, optionflags=flags)
    assert result.failed == 0 and result.attempted >= 5
