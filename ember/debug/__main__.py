"""``python -m ember.debug compare script.py``: see ``ember.debug.main``."""
import sys

from . import main

sys.exit(main())
