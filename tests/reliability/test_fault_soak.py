"""The fault soak at CI size: runs through the three remote emulators with a fifth of all requests faulted.

The full size (200 runs, 8 at a time, against a no-fault baseline) is ``benchmarks/fault_soak.py``;
this test runs the same code on fewer runs and prints the same figures.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

RUNS = 24
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_soak.py"


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tunekit_fault_soak", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_run_ends_once_under_faults_on_every_route(
    tmp_path: Path, report_table: Callable[[str, str], None]
) -> None:
    soak = _soak_module()
    report = soak.run_soak(RUNS, fault_rate=0.2, concurrency=8, workdir=tmp_path)
    report_table(
        f"fault soak: {RUNS} runs, 20% faults on every route, 8 at a time (full size: benchmarks/fault_soak.py)",
        soak.side_by_side(None, report),
    )
    assert report.problems() == []
    assert report.terminal == report.succeeded == RUNS
    assert report.duplicate_jobs == [] and sum(report.remote_jobs.values()) == RUNS
    assert report.ledger_runs == RUNS and report.lost_rows == []
    # The faults really fired, on every emulator, in every kind.
    assert report.total_faults >= 0.1 * report.total_requests
    assert all(sum(counts.values()) > 0 for counts in report.faults.values())
    assert {"429", "503", "timeout", "reset"} <= {kind for counts in report.faults.values() for kind in +counts}
