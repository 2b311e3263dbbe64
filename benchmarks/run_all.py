"""Run every benchmark in this folder, one after another, and summarize.

Each benchmark prints its own table of ratios against its baseline and exits
non-zero when it misses its target. ``make bench`` runs this script.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    scripts = sorted(p for p in here.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    results = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        results.append((script.name, code, time.perf_counter() - start))
    print(f"\n{'benchmark':<28}{'result':>10}{'seconds':>10}")
    for name, code, seconds in results:
        print(f"{name:<28}{'met' if code == 0 else 'MISSED':>10}{seconds:>10.1f}")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
