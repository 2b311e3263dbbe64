"""How long `tunekit --help` takes beside `python -c pass`.

Target: the median of tunekit's start-up is at most 0.5 s more than the bare
interpreter's. Prints both medians, their difference and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    tunekit = shutil.which("tunekit")
    cli = [tunekit, "--help"] if tunekit else [sys.executable, "-m", "tunekit.cli", "--help"]
    baseline = median_wall([sys.executable, "-c", "pass"], args.runs)
    measured = median_wall(cli, args.runs)
    extra = measured - baseline
    print(f"{'command':<28}{'median s':>10}")
    print(f"{'python -c pass':<28}{baseline:>10.3f}")
    print(f"{'tunekit --help':<28}{measured:>10.3f}")
    print(f"difference {extra:.3f} s (target <= 0.500 s), ratio {measured / baseline:.1f}x")
    return 0 if extra <= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
