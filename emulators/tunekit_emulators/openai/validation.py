"""Validation of ``POST /fine_tuning/jobs`` bodies, with the service's error messages and params."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunekit_emulators.openai.errors import invalid_request
from tunekit_emulators.openai.store import OpenAIState

__all__ = ["JobRequest", "validate_job_request"]

_TOP_LEVEL = frozenset(
    {
        "model",
        "training_file",
        "validation_file",
        "suffix",
        "seed",
        "hyperparameters",
        "method",
        "integrations",
        "metadata",
    }
)
_METHODS = ("supervised", "dpo", "reinforcement")
_GRADERS = frozenset({"string_check", "text_similarity", "python", "score_model", "multi", "label_model"})
_REASONING = frozenset({"default", "low", "medium", "high"})


@dataclass(frozen=True)
class _Range:
    kind: type
    low: float
    high: float
    low_inclusive: bool = True


_COMMON = {
    "batch_size": _Range(int, 1, 256),
    "learning_rate_multiplier": _Range(float, 0, 10, low_inclusive=False),
    "n_epochs": _Range(int, 1, 50),
}
_HYPERPARAMETERS: dict[str, dict[str, _Range | frozenset[str]]] = {
    "supervised": dict(_COMMON),
    "dpo": {**_COMMON, "beta": _Range(float, 0, 2, low_inclusive=False)},
    "reinforcement": {
        **_COMMON,
        "compute_multiplier": _Range(float, 0.00001, 10),
        "eval_interval": _Range(int, 1, 1_000_000),
        "eval_samples": _Range(int, 1, 1_000_000),
        "reasoning_effort": _REASONING,
    },
}


@dataclass(frozen=True)
class JobRequest:
    """A validated create request."""

    model: str
    base_model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    method: dict[str, Any]
    hyperparameters: dict[str, Any]
    metadata: dict[str, str] | None
    integrations: list[dict[str, Any]] | None
    extra: dict[str, Any]


def _check_value(name: str, value: Any, rule: _Range | frozenset[str], param: str) -> None:
    if isinstance(rule, frozenset):
        if value not in rule:
            raise invalid_request(
                f"Invalid value for '{name}': expected one of {', '.join(sorted(rule))}, got {value!r}.",
                param=param,
                code="invalid_value",
            )
        return
    if value == "auto":
        return
    numeric_ok = isinstance(value, int) if rule.kind is int else isinstance(value, int | float)
    if isinstance(value, bool) or not numeric_ok:
        expected = "an integer" if rule.kind is int else "a number"
        raise invalid_request(
            f"Invalid type for '{name}': expected 'auto' or {expected}, got {value!r}.",
            param=param,
            code="invalid_type",
        )
    too_low = value < rule.low or (value == rule.low and not rule.low_inclusive)
    if too_low or value > rule.high:
        bound = "[" if rule.low_inclusive else "("
        raise invalid_request(
            f"Invalid value for '{name}': {value} is outside the allowed range {bound}{rule.low:g}, {rule.high:g}].",
            param=param,
            code="invalid_value",
        )


def _check_hyperparameters(method: str, values: Any, param: str) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise invalid_request(f"'{param}' must be an object.", param=param, code="invalid_type")
    allowed = _HYPERPARAMETERS[method]
    for name, value in values.items():
        if name not in allowed:
            raise invalid_request(
                f"Unknown hyperparameter '{name}' for {method} fine-tuning; supported: {', '.join(sorted(allowed))}.",
                param=f"{param}.{name}",
                code="invalid_value",
            )
        _check_value(name, value, allowed[name], f"{param}.{name}")
    return dict(values)


def _check_method(body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    method = body.get("method")
    legacy = body.get("hyperparameters")
    if method is None:
        hyper = _check_hyperparameters("supervised", legacy, "hyperparameters")
        return {"type": "supervised", "supervised": {"hyperparameters": hyper}}, hyper
    if legacy is not None:
        raise invalid_request(
            "'hyperparameters' is deprecated and cannot be combined with 'method'; "
            "pass them in method.<type>.hyperparameters.",
            param="hyperparameters",
        )
    if not isinstance(method, Mapping):
        raise invalid_request("'method' must be an object.", param="method", code="invalid_type")
    kind = method.get("type")
    if kind not in _METHODS:
        raise invalid_request(
            f"Invalid value for 'method.type': expected one of {', '.join(_METHODS)}, got {kind!r}.",
            param="method.type",
            code="invalid_value",
        )
    for other in _METHODS:
        if other != kind and method.get(other) is not None:
            raise invalid_request(
                f"'method.{other}' cannot be set when method.type is '{kind}'.", param=f"method.{other}"
            )
    section = method.get(kind) or {}
    if not isinstance(section, Mapping):
        raise invalid_request(f"'method.{kind}' must be an object.", param=f"method.{kind}", code="invalid_type")
    hyper = _check_hyperparameters(kind, section.get("hyperparameters"), f"method.{kind}.hyperparameters")
    rendered: dict[str, Any] = {"type": kind, kind: {**section, "hyperparameters": hyper}}
    if kind == "reinforcement":
        grader = section.get("grader")
        if not isinstance(grader, Mapping):
            raise invalid_request(
                "Missing required parameter: 'method.reinforcement.grader'.",
                param="method.reinforcement.grader",
                code="missing_required_parameter",
            )
        if grader.get("type") not in _GRADERS:
            raise invalid_request(
                f"Invalid grader type {grader.get('type')!r}; expected one of {', '.join(sorted(_GRADERS))}.",
                param="method.reinforcement.grader.type",
                code="invalid_value",
            )
    return rendered, hyper


def _check_file(state: OpenAIState, file_id: Any, param: str) -> str:
    if not isinstance(file_id, str) or not file_id:
        raise invalid_request(
            f"Invalid type for '{param}': expected a file id string.", param=param, code="invalid_type"
        )
    record = state.files.get(file_id)
    if record is None:
        raise invalid_request(f"File '{file_id}' does not exist.", param=param, code="file_not_found")
    if record.purpose != "fine-tune":
        raise invalid_request(
            f"File '{file_id}' has purpose '{record.purpose}'; files for fine-tuning must have purpose 'fine-tune'.",
            param=param,
            code="invalid_file_purpose",
        )
    if record.status != "processed":
        status = state.flavor.render_file_status(record.status)
        raise invalid_request(
            state.flavor.not_ready_message.format(file_id=file_id, status=status),
            param=param,
            code=state.flavor.not_ready_code,
        )
    return file_id


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise invalid_request("'metadata' must be an object.", param="metadata", code="invalid_type")
    if len(metadata) > 16:
        raise invalid_request("'metadata' may hold at most 16 key-value pairs.", param="metadata", code="invalid_value")
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise invalid_request(
                f"Invalid metadata entry {key!r}: keys are at most 64 characters, values strings of at most 512.",
                param=f"metadata.{key}",
                code="invalid_value",
            )
    return {str(k): str(v) for k, v in metadata.items()}


def _check_integrations(integrations: Any) -> list[dict[str, Any]] | None:
    if integrations is None:
        return None
    if not isinstance(integrations, list) or len(integrations) > 5:
        raise invalid_request("'integrations' must be a list of at most 5 items.", param="integrations")
    for index, item in enumerate(integrations):
        wandb = item.get("wandb") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or item.get("type") != "wandb" or not isinstance(wandb, Mapping):
            raise invalid_request("Only 'wandb' integrations are supported.", param=f"integrations[{index}].type")
        if not wandb.get("project"):
            raise invalid_request(
                "Missing required parameter: 'project'.",
                param=f"integrations[{index}].wandb.project",
                code="missing_required_parameter",
            )
    return [dict(item) for item in integrations]


def _base_of(state: OpenAIState, model: str) -> str:
    if model in state.flavor.fine_tunable:
        return model
    tuned = state.models.get(model)
    if tuned is not None and tuned.base is not None:
        return tuned.base
    raise invalid_request(
        f"Model {model} is not available for fine-tuning or does not exist.", param="model", code="model_not_available"
    )


def validate_job_request(state: OpenAIState, body: Mapping[str, Any], extra_fields: frozenset[str]) -> JobRequest:
    """Check a create body against the account's files and models; raise :class:`APIError` like the API."""
    for key in body:
        if key not in _TOP_LEVEL and key not in extra_fields:
            raise invalid_request(f"Unrecognized request argument supplied: {key}", param=key)
    for required in ("model", "training_file"):
        if body.get(required) in (None, ""):
            raise invalid_request(
                f"Missing required parameter: '{required}'.", param=required, code="missing_required_parameter"
            )
    model = body["model"]
    if not isinstance(model, str):
        raise invalid_request("Invalid type for 'model': expected a string.", param="model", code="invalid_type")
    base = _base_of(state, model)
    method, hyper = _check_method(body)
    supported = state.flavor.fine_tunable.get(base, frozenset({"supervised"}))
    if method["type"] not in supported:
        others = sorted(name for name, methods in state.flavor.fine_tunable.items() if method["type"] in methods)
        raise invalid_request(
            f"Model {model} does not support {method['type']} fine-tuning (supported: {', '.join(sorted(supported))}). "
            f"Models that support {method['type']} fine-tuning: {', '.join(others) or 'none'}.",
            param="method.type",
            code="invalid_value",
        )
    suffix = body.get("suffix")
    if suffix is not None:
        limit = state.flavor.suffix_max
        if not isinstance(suffix, str):
            raise invalid_request("Invalid type for 'suffix': expected a string.", param="suffix", code="invalid_type")
        if len(suffix) > limit:
            raise invalid_request(
                f"Invalid 'suffix': string too long. Expected a string with maximum length {limit}, "
                f"but got a string with length {len(suffix)} instead.",
                param="suffix",
                code="string_above_max_length",
            )
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2_147_483_647):
        raise invalid_request("Invalid 'seed': expected an integer in [0, 2147483647].", param="seed")
    if state.flavor.validate_extra is not None:
        state.flavor.validate_extra(body)
    training_file = _check_file(state, body["training_file"], "training_file")
    validation = body.get("validation_file")
    validation_file = None if validation is None else _check_file(state, validation, "validation_file")
    return JobRequest(
        model=model,
        base_model=base,
        training_file=training_file,
        validation_file=validation_file,
        suffix=suffix or None,
        seed=seed,
        method=method,
        hyperparameters=hyper,
        metadata=_check_metadata(body.get("metadata")),
        integrations=_check_integrations(body.get("integrations")),
        extra={key: body[key] for key in extra_fields if key in body},
    )
