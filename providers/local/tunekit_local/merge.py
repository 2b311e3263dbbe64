"""Merging an adapter into its base weights: the checked merge lives in the core (`tunekit export` uses it too)."""

from __future__ import annotations

from tunekit.plugin import merge_adapter

__all__ = ["merge_adapter"]
