import os

import numpy as np
import pytest

if os.environ.get('EMBER_FAKE_CUPY'):   # CuPy's CPU stand-in (tests/fakecupy.py) as 'cuda'
    from tests import fakecupy
    fakecupy.install()

import ember  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace['ember'] = ember
    doctest_namespace['np'] = np
