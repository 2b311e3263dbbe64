from __future__ import annotations

import subprocess
import sys

import tunekit


def test_every_public_name_resolves() -> None:
    for name in tunekit.__all__:
        assert getattr(tunekit, name) is not None, name


def test_import_leaves_heavy_libraries_out() -> None:
    code = (
        "import sys, tunekit\n"
        "tunekit.Tuner, tunekit.TuneConfig, tunekit.Ledger, tunekit.installed_providers\n"
        "import tunekit.cli.app\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exceptions_subclass_the_stdlib_types_callers_catch() -> None:
    assert issubclass(tunekit.DataError, ValueError)
    assert issubclass(tunekit.ConfigError, ValueError)
    assert issubclass(tunekit.DependencyMissingError, ImportError)
    assert issubclass(tunekit.RunNotFoundError, KeyError)
    assert issubclass(tunekit.FineTuningUnavailableError, tunekit.PermissionDeniedError)
    for name in tunekit.__all__:
        obj = getattr(tunekit, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, tunekit.TunekitError), name
