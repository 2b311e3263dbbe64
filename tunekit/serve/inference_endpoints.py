"""Serve a tuned model that lives in a Hub repo on a Hugging Face Inference Endpoint, through ``huggingface_hub``.

Shared by every provider whose results are (or are pushed to) Hub repos; a
provider reaches it through
``tunekit.plugin`` and passes its own :class:`HubAccess` (an ``HfApi`` under
tunekit's retries). One endpoint per deployment name, created once (a lost
response is followed by a look for the endpoint before any retry), waited for
until it answers, deleted again when it fails to start, and deleted by
``undeploy``. The management API's URL is
``huggingface_hub.constants.INFERENCE_ENDPOINTS_ENDPOINT``; ``api_url`` points
it elsewhere (an emulator, a private deployment) for the duration of each
call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from tunekit.data.endpoint_prices import endpoint_hosting_cost, endpoint_instance
from tunekit.errors import ConfigError, DeploymentFailedError, NotFoundError, ProviderError
from tunekit.provider import FineTunedModel
from tunekit.secrets import get_logger

if TYPE_CHECKING:
    from huggingface_hub import HfApi, InferenceEndpoint

    from tunekit.config import DeployConfig
    from tunekit.inference.base import ChatClient
    from tunekit.provider import RunContext

__all__ = [
    "EndpointPlan",
    "HubAccess",
    "delete_endpoint",
    "deploy_endpoint",
    "endpoint_base_client",
    "endpoint_client",
    "endpoint_config_problems",
    "endpoint_name",
    "endpoint_serves_base",
    "pause_endpoint",
    "plan_endpoint",
    "resume_endpoint",
    "weights_and_image",
]

logger = get_logger("tunekit.serve.endpoints")

T = TypeVar("T")


class HubAccess(Protocol):
    """What the endpoint calls need from a provider's Hub connection (``HfApi`` under tunekit's retries)."""

    provider: str

    @property
    def api(self) -> HfApi: ...

    @property
    def token(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...

    def create(self, what: str, send: Callable[[], T], find: Callable[[], T | None]) -> T: ...


IMAGES: dict[str, dict[str, Any]] = {
    "vllm": {"url": "vllm/vllm-openai:latest", "health_route": "/health", "port": 8000},
    "tgi": {"url": "ghcr.io/huggingface/text-generation-inference:latest", "health_route": "/health", "port": 80},
}
"""The serving containers; both speak OpenAI's chat API and can put a LoRA adapter on its base model."""

SERVED_ADAPTER = "tuned"
"""The name vLLM serves the adapter under (``--lora-modules tuned=REPO``)."""

_api_lock = threading.RLock()


class EndpointPlan:
    """What will be created, decided (and refused) before any request."""

    def __init__(self, name: str, repository: str, payload: dict[str, Any], served_model: str) -> None:
        self.name = name
        self.repository = repository
        self.payload = payload
        self.served_model = served_model


def endpoint_name(name: str) -> str:
    """A deployment name as Inference Endpoints accept it: 1-32 lowercase letters, digits and '-'."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return cleaned[:32].strip("-") or "tunekit"


def weights_and_image(deploy: DeployConfig, *, adapter: bool) -> tuple[str, str]:
    """What the endpoint serves (``lora``: the adapter on its base model, or ``merged``) and on which image."""
    weights = deploy.weights or ("lora" if adapter else "merged")
    return weights, deploy.image or ("vllm" if weights == "lora" else "default")


def endpoint_serves_base(deploy: DeployConfig, *, adapter: bool) -> bool:
    """Whether the endpoint also answers as the untuned base model: an adapter loaded on its base by vLLM or TGI."""
    weights, image = weights_and_image(deploy, adapter=adapter)
    return weights == "lora" and image in IMAGES


def endpoint_config_problems(deploy: DeployConfig, *, adapter: bool, api_url: str | None) -> list[str]:
    """What would stop the ``deploy:`` section's endpoint, said before training is paid for (``"path: message"``).

    ``adapter``: whether the result will hold a LoRA adapter. The management
    API must answer one TCP connection; nothing is sent.
    """
    from tunekit.endpoints import unreachable

    problems = []
    weights, image = weights_and_image(deploy, adapter=adapter)
    if weights == "merged" and adapter:
        problems.append("deploy.weights: the result will be a LoRA adapter; serve it with weights: lora")
    if weights == "lora" and not adapter:
        problems.append("deploy.weights: the result will hold merged weights, not a LoRA adapter; use weights: merged")
    if weights == "lora" and image not in IMAGES:
        problems.append("deploy.image: the default image cannot load a LoRA adapter; use image: vllm or image: tgi")
    if deploy.scale_to_zero_minutes is not None and deploy.min_replicas != 0:
        problems.append("deploy.scale_to_zero_minutes: needs deploy.min_replicas: 0")
    if api_url is None:
        from huggingface_hub import constants

        api_url = constants.INFERENCE_ENDPOINTS_ENDPOINT
    reach = unreachable(api_url, field="provider_options.endpoints_api (the Inference Endpoints API)")
    if reach:
        problems.append(reach)
    return problems


def plan_endpoint(model: FineTunedModel, deploy: DeployConfig, *, repo: str, adapter: bool) -> EndpointPlan:
    """The endpoint for ``model``, whose Hub ``repo`` holds an ``adapter`` or merged weights at its root.

    Refuses, before anything is created, what no image can serve.
    """
    weights, image = weights_and_image(deploy, adapter=adapter)
    if weights == "merged" and adapter:
        raise ConfigError(
            f"{repo} holds a LoRA adapter, not merged weights: deploy it with weights: lora (on the vllm or "
            "tgi image), or push merged weights to a repo of their own"
        )
    if weights == "lora" and not adapter:
        raise ConfigError(f"{repo} holds merged weights, not a LoRA adapter: use weights: merged")
    if weights == "lora" and image == "default":
        raise ConfigError("the default image cannot load a LoRA adapter: use image: vllm or image: tgi")
    if deploy.scale_to_zero_minutes is not None and deploy.min_replicas != 0:
        raise ConfigError("deploy.scale_to_zero_minutes needs deploy.min_replicas: 0")
    instance = endpoint_instance(deploy)
    repository, served, env, args = repo, repo, {}, None
    if weights == "lora":
        repository = model.base_model or ""
        if not repository:
            raise ConfigError(f"{repo}: the base model of the adapter is unknown; deploy merged weights")
        if image == "vllm":
            # The base answers under its own id (the baselines), the adapter as SERVED_ADAPTER.
            args = [
                "--served-model-name",
                repository,
                "--enable-lora",
                "--lora-modules",
                f"{SERVED_ADAPTER}={repo}",
            ]
            served = SERVED_ADAPTER
        else:
            env = {"LORA_ADAPTERS": repo}
    payload: dict[str, Any] = {
        "repository": repository,
        "framework": "pytorch",
        "task": "text-generation",
        "accelerator": instance.accelerator,
        "instance_type": instance.instance_type,
        "instance_size": instance.instance_size,
        "vendor": instance.vendor,
        "region": instance.region,
        "min_replica": deploy.min_replicas,
        "max_replica": deploy.max_replicas,
        "scale_to_zero_timeout": deploy.scale_to_zero_minutes,
        "env": env or None,
        "container_args": args,
        "custom_image": IMAGES.get(image),
    }
    return EndpointPlan(endpoint_name(deploy.name or model.run_id or repo), repository, payload, served)


@contextmanager
def _api_url(url: str | None) -> Iterator[None]:
    """``huggingface_hub`` reads the management API's URL from a module constant on every call."""
    if url is None:
        yield
        return
    from huggingface_hub import constants

    with _api_lock:
        saved = constants.INFERENCE_ENDPOINTS_ENDPOINT
        constants.INFERENCE_ENDPOINTS_ENDPOINT = url
        try:
            yield
        finally:
            constants.INFERENCE_ENDPOINTS_ENDPOINT = saved


def _call(hub: HubAccess, api_url: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _api_url(api_url):
        return hub.call(fn, *args, **kwargs)


def deploy_endpoint(
    hub: HubAccess,
    model: FineTunedModel,
    deploy: DeployConfig,
    run: RunContext,
    *,
    repo: str,
    adapter: bool,
    api_url: str | None,
    wait_timeout: float,
    poll: float,
) -> FineTunedModel:
    """Create (or adopt) the endpoint serving Hub ``repo``, wait until it answers, and return the model as served."""
    plan = plan_endpoint(model, deploy, repo=repo, adapter=adapter)
    api, namespace = hub.api, hub.namespace

    def find() -> InferenceEndpoint | None:
        try:
            found = _call(hub, api_url, api.get_inference_endpoint, plan.name, namespace=namespace, token=hub.token)
        except NotFoundError:
            return None
        if found.repository != plan.repository:
            raise ConfigError(f"an Inference Endpoint named {plan.name} already serves {found.repository}")
        return found

    def send() -> InferenceEndpoint:
        # The token goes with each call: the endpoint object keeps it for its own polls (wait, fetch).
        return _call(
            hub, api_url, api.create_inference_endpoint, plan.name, namespace=namespace, token=hub.token, **plan.payload
        )

    run.intent("create_endpoint", plan.name, endpoint=plan.name, repository=plan.repository)
    # A client killed after the create leaves an endpoint the ledger may not know: adopt it, never make a second.
    existing = find()
    if existing is not None:
        created = existing
    else:
        with _api_url(api_url):
            created = hub.create(f"Inference Endpoint {plan.name}", send, find)
    run.outcome("create_endpoint", plan.name, endpoint=plan.name, state=created.status)
    try:
        with _api_url(api_url):
            ready = created.wait(timeout=int(wait_timeout) or 1, refresh_every=poll)  # type: ignore[arg-type]
    except Exception as exc:  # failed to start, or never answered: nothing may keep billing unnoticed
        _delete_failed(hub, api_url, plan.name, namespace, run)
        raise DeploymentFailedError(
            f"Inference Endpoint {namespace}/{plan.name} did not start ({exc}); it was deleted, nothing bills",
            provider=hub.provider,
        ) from exc
    hosting = endpoint_hosting_cost(deploy)
    metadata = {
        **model.metadata,
        "sku": hosting.sku,
        "billing": hosting.warning(),
        "endpoint_url": ready.url,
        "endpoint_namespace": namespace,
        "served_model": plan.served_model,
        "serves_base": plan.repository == model.base_model,
        "instance": f"{plan.payload['vendor']}/{plan.payload['region']}/{plan.payload['instance_type']}"
        f"-{plan.payload['instance_size']}",
    }
    if hosting.per_hour is not None:
        metadata["hourly_price"], metadata["currency"] = hosting.per_hour, hosting.currency
    return model.model_copy(update={"kind": "deployment", "deployment": plan.name, "metadata": metadata})


def _delete_failed(hub: HubAccess, api_url: str | None, name: str, namespace: str, run: RunContext) -> None:
    run.intent("delete_endpoint", name, endpoint=name)
    try:
        _call(hub, api_url, hub.api.delete_inference_endpoint, name, namespace=namespace, token=hub.token)
    except Exception as exc:
        logger.error(
            "Inference Endpoint %s/%s failed to start and could not be deleted (%s): delete it with "
            "`tunekit undeploy %s --name %s` or in the Hugging Face console; it may bill until then",
            namespace,
            name,
            exc,
            run.run_id,
            name,
        )
        raise
    run.outcome("delete_endpoint", f"{name} deleted after a failed start", endpoint=name)


def delete_endpoint(hub: HubAccess, model: FineTunedModel, run: RunContext, *, api_url: str | None) -> bool:
    """Delete the model's endpoint; False when it was already gone."""
    name = model.deployment or ""
    namespace = str(model.metadata.get("endpoint_namespace") or hub.namespace)
    run.intent("delete_endpoint", name, endpoint=name)
    try:
        _call(hub, api_url, hub.api.delete_inference_endpoint, name, namespace=namespace, token=hub.token)
        existed = True
    except NotFoundError:
        existed = False
    run.outcome("delete_endpoint", f"{name} {'deleted' if existed else 'was already gone'}", endpoint=name)
    return existed


def _gone(hub: HubAccess, name: str, namespace: str, run: RunContext) -> NotFoundError:
    return NotFoundError(
        f"Inference Endpoint {namespace}/{name} no longer exists (deleted outside tunekit?); nothing of it bills",
        provider=hub.provider,
        hint=f"tunekit records it deleted; `tunekit deploy {run.run_id}` creates a new one",
    )


def pause_endpoint(hub: HubAccess, model: FineTunedModel, run: RunContext, *, api_url: str | None) -> None:
    """Pause the model's endpoint: it stops billing and keeps its configuration until resumed or deleted.

    Raises :class:`NotFoundError` when the endpoint no longer exists.
    """
    name = model.deployment or ""
    namespace = str(model.metadata.get("endpoint_namespace") or hub.namespace)
    run.intent("pause_endpoint", name, endpoint=name)
    try:
        paused = _call(hub, api_url, hub.api.pause_inference_endpoint, name, namespace=namespace, token=hub.token)
    except NotFoundError as exc:
        raise _gone(hub, name, namespace, run) from exc
    run.outcome("pause_endpoint", f"{name} {paused.status}", endpoint=name, state=paused.status)


def resume_endpoint(
    hub: HubAccess, model: FineTunedModel, run: RunContext, *, api_url: str | None, wait_timeout: float, poll: float
) -> FineTunedModel:
    """Start the model's paused endpoint again and wait until it answers; it bills from then on.

    Returns the model as served (the endpoint's URL as it is now). An endpoint
    that does not start in time is paused again, so nothing bills unnoticed.
    """
    name = model.deployment or ""
    namespace = str(model.metadata.get("endpoint_namespace") or hub.namespace)
    run.intent("resume_endpoint", name, endpoint=name)
    try:
        # running_ok: resuming one that already runs (a retry, another client) is no error.
        resumed = _call(
            hub, api_url, hub.api.resume_inference_endpoint, name, namespace=namespace, token=hub.token, running_ok=True
        )
    except NotFoundError as exc:
        raise _gone(hub, name, namespace, run) from exc
    try:
        with _api_url(api_url):
            ready = resumed.wait(timeout=int(wait_timeout) or 1, refresh_every=poll)  # type: ignore[arg-type]
    except Exception as exc:
        _call(hub, api_url, hub.api.pause_inference_endpoint, name, namespace=namespace, token=hub.token)
        run.outcome("resume_endpoint", f"{name} did not start; paused again", endpoint=name, state="paused")
        raise ProviderError(
            f"Inference Endpoint {namespace}/{name} did not start again ({exc}); it was paused again, nothing bills",
            provider=hub.provider,
        ) from exc
    run.outcome("resume_endpoint", f"{name} running", endpoint=name, state=ready.status)
    return model.model_copy(update={"metadata": {**model.metadata, "endpoint_url": ready.url}})


def endpoint_client(model: FineTunedModel, token: str) -> ChatClient | None:
    """A chat client for ``model`` at the Inference Endpoint it is deployed on; None when it is not deployed."""
    from tunekit.inference.hf_client import HuggingFaceChatClient

    served_at = model.metadata.get("endpoint_url") if model.deployment else None
    if not served_at:
        return None
    served = str(model.metadata.get("served_model") or model.model_id)
    return HuggingFaceChatClient(served, base_url=str(served_at), token=token)


def endpoint_base_client(model: FineTunedModel, token: str) -> ChatClient | None:
    """The untuned base model at ``model``'s endpoint, where it serves the adapter on its base; else None."""
    from tunekit.inference.hf_client import HuggingFaceChatClient

    served_at = model.metadata.get("endpoint_url") if model.deployment else None
    if not (served_at and model.metadata.get("serves_base") and model.base_model):
        return None
    return HuggingFaceChatClient(model.base_model, base_url=str(served_at), token=token)
