"""Run every benchmark script in this folder: ``python benchmarks/run.py [--quick]``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    extra = sys.argv[1:]
    failed = 0
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n## {script.name}", flush=True)
        failed |= subprocess.call([sys.executable, str(script), *extra]) != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
