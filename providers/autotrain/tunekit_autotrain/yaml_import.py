"""AutoTrain Advanced's YAML configs (``configs/llm_finetuning/*.yml``) as tunekit configs.

Every field such a config sets lands somewhere: the model, method and
hyperparameters in the tunekit config's own sections, the data path and
column mapping in ``data``, the Hub account and hardware in
``provider_options``, and every other AutoTrain parameter in
``provider_options.params``, which the provider hands back to AutoTrain.
``${VAR}`` references are kept as they are and read from the environment
when the config is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tunekit.plugin import ConfigError, get_logger
from tunekit_autotrain.options import SPACE_FLAVORS
from tunekit_autotrain.params import PREFERENCE_TRAINERS, LLMParams

if TYPE_CHECKING:
    from tunekit.plugin import TuneConfig

__all__ = ["autotrain_to_tunekit", "is_autotrain_config", "load_autotrain_yaml", "read_autotrain_yaml"]

logger = get_logger("tunekit.autotrain")

_LLM_TASKS: dict[str, str | None] = {
    "llm": None,
    "llm-sft": "sft",
    "llm-dpo": "dpo",
    "llm-orpo": "orpo",
    "llm-reward": "reward",
}
_LLM_TASKS |= {"llm-generic": "default", "llm_training": None, "llm_finetuning": None, "lm_training": None}

# AutoTrain parameter -> tunekit hyperparameter
_HYPER = {
    "epochs": "epochs",
    "lr": "learning_rate",
    "batch_size": "batch_size",
    "gradient_accumulation": "gradient_accumulation_steps",
    "warmup_ratio": "warmup_ratio",
}
_LORA = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "target_modules": "target_modules"}
# Names older AutoTrain releases used.
_RENAMED = {"evaluation_strategy": "eval_strategy"}
_DATA_EXTENSIONS = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")


def is_autotrain_config(data: object) -> bool:
    """Whether a parsed document is an AutoTrain config rather than a tunekit one."""
    return isinstance(data, Mapping) and "task" in data and "base_model" in data and "provider" not in data


def looks_like_autotrain_yaml(path: Path) -> bool:
    """Whether a file reads as an AutoTrain config (``task:``, no ``provider:``); unreadable files do not."""
    if path.suffix.lower() not in {".yml", ".yaml"}:
        return False
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the tunekit loader reports it properly
    return isinstance(data, Mapping) and "task" in data and "provider" not in data


def read_autotrain_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", source=path) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse config: {exc}", source=path) from None
    if not is_autotrain_config(data):
        raise ConfigError("not an AutoTrain config: it needs task and base_model", source=path)
    return dict(data)


def load_autotrain_yaml(path: str | Path) -> TuneConfig:
    """An AutoTrain YAML config as a validated :class:`~tunekit.config.TuneConfig` (``${VAR}`` read now)."""
    from tunekit.plugin import parse_config

    path = Path(path)
    converted = autotrain_to_tunekit(read_autotrain_yaml(path), base_dir=path.parent, source=path)
    return parse_config(converted, source=path, base_dir=path.parent)


def _require(data: Mapping[str, Any], key: str, source: str | Path | None) -> Any:
    if data.get(key) in (None, ""):
        raise ConfigError(f"{key}: required in an AutoTrain config", source=source)
    return data[key]


def autotrain_to_tunekit(
    data: Mapping[str, Any], *, base_dir: Path | None = None, source: str | Path | None = None
) -> dict[str, Any]:
    """The tunekit config equivalent to an AutoTrain config, as a plain mapping (``${VAR}`` kept)."""
    task = str(_require(data, "task", source))
    if task not in _LLM_TASKS:
        raise ConfigError(f"task: {task!r} is not an LLM task; tunekit imports {', '.join(_LLM_TASKS)}", source=source)
    raw: dict[str, Any] = dict(data.get("params") or {})
    params: dict[str, Any] = {_RENAMED.get(str(k), str(k)): _number(v) for k, v in raw.items()}
    trainer = params.pop("trainer", None) or _LLM_TASKS[task] or "default"
    method = "dpo" if trainer in PREFERENCE_TRAINERS else "sft"
    project = str(_require(data, "project_name", source))

    config: dict[str, Any] = {"name": project, "provider": "autotrain", "model": _require(data, "base_model", source)}
    config["method"] = method
    options: dict[str, Any] = {"project_name": project}
    if trainer not in ("sft", "dpo"):
        params["trainer"] = trainer

    hyper = {_HYPER[k]: params.pop(k) for k in list(params) if k in _HYPER}
    block = params.get("block_size")
    if isinstance(block, int) and block > 0:
        hyper["max_seq_length"] = params.pop("block_size")
    if method == "dpo" and "dpo_beta" in params:
        hyper["beta"] = params.pop("dpo_beta")
    if hyper:
        config["hyperparameters"] = hyper
    if "seed" in params:
        config["seed"] = params.pop("seed")

    if params.get("peft"):
        params.pop("peft")
        lora: dict[str, Any] = {}
        for key, name in _LORA.items():
            if key in params:
                value = params.pop(key)
                if name == "target_modules" and value != "all-linear":
                    value = [m.strip() for m in str(value).split(",") if m.strip()]
                lora[name] = value
        config["lora"] = lora
    else:
        config["lora"] = None  # AutoTrain trains all weights unless peft is on

    section = dict(data.get("data") or {})
    if "chat_template" not in params and "chat_template" in section:
        params["chat_template"] = section["chat_template"] or "none"  # AutoTrain's null: the column is plain text
    template = params.get("chat_template")
    config["data"] = _data(section, method, chat=template not in (None, "none"), base_dir=base_dir, source=source)
    if data.get("log") is not None:
        params["log"] = data["log"]
    options |= _backend(str(data.get("backend") or "local"), source)
    options |= _hub(dict(data.get("hub") or {}), source)
    if params:
        try:
            LLMParams.model_validate(params)
        except Exception as exc:
            raise ConfigError(f"params: not an AutoTrain LLM parameter set: {exc}", source=source) from None
        options["params"] = params
    config["provider_options"] = options
    return config


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``3e-5`` (no dot) as a string; AutoTrain's pydantic model turns it into a float, so do we."""
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    return value


def _data(
    section: dict[str, Any], method: str, *, chat: bool, base_dir: Path | None, source: str | Path | None
) -> dict[str, Any]:
    path = str(section.get("path") or "")
    if not path:
        raise ConfigError(
            "data.path: required (a folder with train.jsonl / train.csv, or a Hub dataset)", source=source
        )
    out: dict[str, Any] = {"train": _split_file(path, str(section.get("train_split") or "train"), base_dir)}
    if section.get("valid_split"):
        out["validation"] = _split_file(path, str(section["valid_split"]), base_dir)
    mapping = dict(section.get("column_mapping") or {})
    columns: dict[str, str] = {}
    if method == "dpo":
        for key, name in (
            ("prompt_text_column", "prompt"),
            ("text_column", "chosen"),
            ("rejected_text_column", "rejected"),
        ):
            if mapping.get(key):
                columns[name] = str(mapping.pop(key))
    elif mapping.get("text_column"):
        columns["messages" if chat else "text"] = str(mapping.pop("text_column"))
    mapping = {k: v for k, v in mapping.items() if v}
    if mapping:
        raise ConfigError(f"data.column_mapping: {sorted(mapping)} have no place in a {method} run", source=source)
    if columns:
        out["columns"] = columns
    return out


def _split_file(path: str, split: str, base_dir: Path | None) -> str:
    """AutoTrain reads ``{path}/{split}.csv`` (or .jsonl) from a local folder, else the Hub dataset ``path``."""
    local = Path(path) if base_dir is None or Path(path).is_absolute() else base_dir / path
    if local.is_file():
        return path
    if local.is_dir():
        for ext in _DATA_EXTENSIONS:
            if (local / f"{split}{ext}").is_file():
                return str(Path(path) / f"{split}{ext}")
        return str(Path(path) / f"{split}.jsonl")
    return f"hf://datasets/{path}/{split}"


def _backend(backend: str, source: str | Path | None) -> dict[str, Any]:
    if backend.startswith("spaces-"):
        flavor = backend.removeprefix("spaces-")
        if flavor not in SPACE_FLAVORS:
            raise ConfigError(f"backend: unknown Space hardware in {backend!r}", source=source)
        return {"backend": "spaces", "flavor": flavor}
    if backend.startswith("local"):
        logger.warning("backend %s trains on this machine in AutoTrain; tunekit-autotrain runs it on HF Jobs", backend)
        return {}
    raise ConfigError(f"backend: {backend!r} is not supported; use local or spaces-<hardware>", source=source)


def _hub(hub: dict[str, Any], source: str | Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if hub.get("push_to_hub") is False:
        raise ConfigError(
            "hub.push_to_hub: tunekit-autotrain's result is the model repo; it must be true", source=source
        )
    if hub.get("username"):
        out["namespace"] = hub["username"]
    token = hub.get("token")
    if token and token != "${HF_TOKEN}":
        if _ENV_REF.match(str(token)):
            out["token"] = token
        else:
            logger.warning("hub.token holds a literal token; it is not copied: export it as HF_TOKEN instead")
    return out
