"""The training and validation examples a provider receives, and how they are made."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from tunekit.config import TuneConfig
    from tunekit.data.hooks import DataProfile
    from tunekit.data.report import ValidationReport
    from tunekit.data.tokens import TokenCounter

__all__ = ["DatasetSplits", "load_splits", "split_examples"]

logger = get_logger("tunekit.data.splits")


@dataclass
class DatasetSplits:
    """Validated canonical examples, split and shuffled as the config says."""

    train: list[Any]
    validation: list[Any] | None = None
    source: str | None = None
    report: ValidationReport | None = None
    """The validation report of the data these splits came from."""


def split_examples(
    examples: list[Any], fraction: float, *, seed: int, shuffle: bool = True
) -> tuple[list[Any], list[Any]]:
    """Hold out ``fraction`` of the examples (at least one, at most all but one), seeded."""
    items = list(examples)
    if shuffle:
        random.Random(seed).shuffle(items)
    n_val = min(max(1, round(len(items) * fraction)), max(0, len(items) - 1))
    return items[n_val:], items[:n_val]


def load_splits(
    config: TuneConfig,
    *,
    profile: DataProfile | None = None,
    tokenizer: Any = None,
    counter: TokenCounter | None = None,
) -> DatasetSplits:
    """Read and validate the config's data; dedupe, split and shuffle it (seeded).

    Raises :class:`~tunekit.errors.DataError` naming file, line and field at
    the first error, before anything is uploaded. ``tokenizer`` lets a local
    provider count with the tokenizer it already loaded; ``profile`` (the provider) brings its limits.
    """
    from tunekit.data.validate import check_from_config, check_sources, config_sources, raise_for_report

    check = check_from_config(config, profile=profile, tokenizer=tokenizer, counter=counter)
    sources = [(s, src) for s, src in config_sources(config) if s != "eval"]
    report, kept = check_sources(sources, check, collect=True, dedupe=config.data.dedupe)
    raise_for_report(report)
    train = kept["train"]
    validation = kept.get("validation")
    if validation is None and config.data.validation_split:
        # Split before shuffling the rest so the held-out set depends only on the seed and the data.
        train, validation = split_examples(train, config.data.validation_split, seed=config.seed)
    if config.data.shuffle:
        random.Random(config.seed + 1).shuffle(train)
    logger.info(
        "loaded %d training and %d validation examples from %s",
        len(train),
        len(validation or []),
        config.data.train,
    )
    return DatasetSplits(train=train, validation=validation, source=config.data.train, report=report)
