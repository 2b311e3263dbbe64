"""Move a tuned workload to another provider, and prove it is no worse.

::

    from tunekit import migrate

    certificate = migrate("openai-20261201-101500-a1b2c3", "examples/recipes/local.yaml")
    print(certificate.sentence)   # "migrate: on 40 held-out items the target is no worse ..."

:func:`migrate` builds the dataset (the source run's data, or the source
model's answers), trains the target config, and judges both models on the same
held-out items with a non-inferiority test (:func:`certify`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CandidateFigures": "tunekit.migration.certificate",
    "Certificate": "tunekit.migration.certificate",
    "certify": "tunekit.migration.certificate",
    "items_needed": "tunekit.migration.certificate",
    "DistillResult": "tunekit.migration.distill",
    "distill": "tunekit.migration.distill",
    "load_certificate": "tunekit.migration.flow",
    "migrate": "tunekit.migration.flow",
    "migration_folder": "tunekit.migration.flow",
    "MigrationSource": "tunekit.migration.source",
    "resolve_source": "tunekit.migration.source",
}

__all__ = [
    "CandidateFigures",
    "Certificate",
    "DistillResult",
    "MigrationSource",
    "certify",
    "distill",
    "items_needed",
    "load_certificate",
    "migrate",
    "migration_folder",
    "resolve_source",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

if TYPE_CHECKING:
    from tunekit.migration.certificate import CandidateFigures, Certificate, certify, items_needed
    from tunekit.migration.distill import DistillResult, distill
    from tunekit.migration.flow import load_certificate, migrate, migration_folder
    from tunekit.migration.source import MigrationSource, resolve_source
