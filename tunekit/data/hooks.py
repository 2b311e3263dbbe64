"""The data layer's view of a provider: the hooks it calls, as protocols (a provider class satisfies them).

:class:`PricingProfile` (in :mod:`tunekit.data.cost`) and :class:`CounterSource`
(in :mod:`tunekit.data.tokens`) are what cost estimation and token counting
need; :class:`DataProfile` is both, plus nothing: what validation passes around.
"""

from __future__ import annotations

from typing import Protocol

from tunekit.data.cost import PricingProfile
from tunekit.data.tokens import CounterSource

__all__ = ["CounterSource", "DataProfile", "PricingProfile"]


class DataProfile(PricingProfile, CounterSource, Protocol):
    """A provider as the data layer sees it: :class:`tunekit.provider.Provider` implements every method."""
