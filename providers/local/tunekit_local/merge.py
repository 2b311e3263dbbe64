"""Merging an adapter into its base weights: the check lives in :mod:`tunekit.serve.merge` (export uses it too)."""

from __future__ import annotations

from tunekit.serve.merge import merge_adapter

__all__ = ["merge_adapter"]
