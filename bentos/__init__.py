"""BentoML services of Smart-Support.

A Bento ships `src/` beside `bentos/` and serves that copy of smart_support, even where another
one is installed (in a checkout it is the directory the editable install points at anyway).
"""

import sys
from pathlib import Path

BUNDLED = Path(__file__).resolve().parents[1] / "src"
if (BUNDLED / "smart_support").is_dir() and str(BUNDLED) not in sys.path[:1]:
    sys.path.insert(0, str(BUNDLED))
