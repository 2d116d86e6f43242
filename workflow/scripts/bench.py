"""Benchmark command (make bench): python workflow/scripts/bench.py --help"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bnopt.bench import main  # noqa: E402

main()
