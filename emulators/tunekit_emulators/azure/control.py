"""Azure-only routes of the ``/_emulator`` control API: tokens, deployments and importable URLs.

``tunekit emulate azure`` users get their Resource Manager bearer token here
(``POST /_emulator/tokens``), since nothing else hands one out offline.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tunekit_emulators.base import read_json
from tunekit_emulators.openai.common import json_response

if TYPE_CHECKING:
    from tunekit_emulators.azure.emulator import AzureOpenAIEmulator

__all__ = ["azure_control_routes"]


def azure_control_routes(emu: AzureOpenAIEmulator) -> list[BaseRoute]:
    async def run(action: Callable[[], Any]) -> Response:
        try:
            return json_response(action())
        except KeyError as exc:
            return json_response({"error": {"message": exc.args[0] if exc.args else str(exc)}}, status=404)
        except (ValueError, TypeError, binascii.Error) as exc:
            return json_response({"error": {"message": str(exc)}}, status=400)

    async def issue_token(request: Request) -> Response:
        body = await read_json(request)
        expires_in = float(body.get("expires_in", 3600))
        token = emu.issue_token(expires_in)
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_on": int(time.time() + expires_in)}
        )

    async def expire_tokens(request: Request) -> Response:
        emu.expire_tokens()
        return json_response({"expired": True})

    async def deployments(request: Request) -> Response:
        return json_response({"value": emu.deployments()})

    async def deploy(request: Request) -> Response:
        body = await read_json(request)
        name = request.path_params["name"]
        return await run(
            lambda: emu.deploy(
                name, str(body["model"]), sku=str(body.get("sku", "Standard")), capacity=int(body.get("capacity", 1))
            )
        )

    async def advance(request: Request) -> Response:
        return await run(lambda: emu.advance_deployment(request.path_params["name"]))

    async def fail(request: Request) -> Response:
        body = await read_json(request)
        message = str(body.get("message") or "The deployment failed due to an internal error.")

        def mark() -> dict[str, Any]:
            emu.fail_deployment(request.path_params["name"], message)
            return {"failing": True}

        return await run(mark)

    async def serve_url(request: Request) -> Response:
        body = await read_json(request)

        def register() -> dict[str, Any]:
            emu.serve_url(str(body["url"]), base64.b64decode(str(body["content_base64"]), validate=True))
            return {"served": True}

        return await run(register)

    return [
        Route("/tokens", issue_token, methods=["POST"]),
        Route("/tokens/expire", expire_tokens, methods=["POST"]),
        Route("/deployments", deployments, methods=["GET"]),
        Route("/deployments/{name}", deploy, methods=["PUT"]),
        Route("/deployments/{name}/advance", advance, methods=["POST"]),
        Route("/deployments/{name}/fail", fail, methods=["POST"]),
        Route("/imports", serve_url, methods=["POST"]),
    ]
