import os

import numpy as np
import pytest
from hypothesis import settings

# Hypothesis: derandomized by default (`make test`, CI): the same examples on every run, so a
# red run is the code's, not the draw's. HYPOTHESIS_PROFILE=random (`make test-random`) draws
# new examples, ten times as many, and prints how to reproduce a failure.
settings.register_profile('ci', max_examples=40, derandomize=True, deadline=None,
                          print_blob=True)
settings.register_profile('random', max_examples=2000, derandomize=False, deadline=None,
                          print_blob=True)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

if os.environ.get('EMBER_FAKE_CUPY'):   # CuPy's CPU stand-in (tests/fakecupy.py) as 'cuda'
    from tests import fakecupy
    fakecupy.install()

import ember  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace['ember'] = ember
    doctest_namespace['np'] = np
    from ember.nn.utils import prune    # (the pruning examples' name, as torch's docs write it)
    doctest_namespace['prune'] = prune
    try:   # (compare_with_torch's examples hand PyTorch over; ember never imports it)
        import torch
        doctest_namespace['torch'] = torch
    except ImportError:
        pass
    doctest_namespace['quantization'] = ember.quantization   # (torch: from torch.ao import ...)


@pytest.fixture(autouse=True)
def _no_process_group_left():
    """A doctest of ember.distributed that failed half-way leaves no group for the next."""
    yield
    if ember.distributed.is_initialized():
        ember.distributed.destroy_process_group()
