"""docs/api.md, the list of PyTorch's names ember has, is generated from the code
(tools/api_coverage.py): it must say what the code has now."""
import importlib.util
import pathlib

import pytest

from tests.helpers import ORACLE

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location('api_coverage', ROOT / 'tools/api_coverage.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not ORACLE, reason="torch's names are counted against torch 2.13, CI's")
def test_docs_api_page_is_current():
    tool = _tool()
    want = tool.page(tool.coverage())
    have = (ROOT / 'docs/api.md').read_text()
    assert have == want, ('docs/api.md is out of date: run PYTHONPATH=. python '
                          'tools/api_coverage.py --write docs/api.md')


def test_coverage_counts_what_ember_has():
    tool = _tool()
    rows = {name: (want, have, missing) for name, want, have, missing in tool.coverage()}
    want, have, missing = rows['torch.nn']
    assert 'Linear' not in missing and 'Linear' in tool.public_names('torch.nn')
    assert have == want - len(missing) and 0 < have < want
    import ember
    for name in missing:
        assert not hasattr(ember.nn, name)
