"""Makes tests/backends/target_testlib.py (helpers every backend's tests share) importable
from the per-target test folders."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
