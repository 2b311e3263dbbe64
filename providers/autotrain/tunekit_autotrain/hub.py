"""AutoTrain's connection to the Hub: the core's :class:`~tunekit.plugin.HubConnection` built from its options.

Every call goes through tunekit's shared retries; a call that creates something
(a job, a Space) looks for what a failed attempt may have created before it
tries again, since a lost response does not say whether the Hub acted.
"""

from __future__ import annotations

import tunekit
from tunekit.plugin import HubConnection as _HubConnection
from tunekit_autotrain.options import AutoTrainOptions

__all__ = ["HubConnection"]


class HubConnection(_HubConnection):
    """The Hub at the options' endpoint, with their token (read when first needed) and namespace."""

    def __init__(self, options: AutoTrainOptions, *, provider: str = "autotrain") -> None:
        super().__init__(
            token=options.resolved_token,
            provider=provider,
            endpoint=options.resolved_endpoint(),
            namespace=options.namespace,
            options=options,
            library_version=tunekit.__version__,
        )
        self.options: AutoTrainOptions = options
