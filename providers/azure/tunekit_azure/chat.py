"""The chat client for an Azure deployment: the shared OpenAI client, with errors read the Azure way.

A chat that finds no deployment answers 404; read by the shared mapping it
names the deployment, and read here it also says how Azure serves a model
(a deployment: ``tunekit deploy`` for the tuned one, ``base_deployment`` for
the evaluation's baselines).
"""

from __future__ import annotations

from collections.abc import Callable

from tunekit.plugin import OpenAIChatClient, TunekitError

__all__ = ["AzureChatClient"]


class AzureChatClient(OpenAIChatClient):
    """``OpenAIChatClient`` whose errors pass through ``refine`` (the provider's reading of them)."""

    refine: Callable[[TunekitError], TunekitError] | None = None

    def _map_error(self, exc: BaseException, attempts: int) -> TunekitError:
        error = super()._map_error(exc, attempts)
        return self.refine(error) if self.refine is not None else error
