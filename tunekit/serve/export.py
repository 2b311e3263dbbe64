"""``tunekit export``: a run's tuned model as merged safetensors, an Ollama folder, or a GGUF file.

Every format starts from the merged model (adapter folded into the base
weights, checked against base + adapter) with its tokenizer and chat
template. The export is written beside its destination and moved into
place only when complete, so a failed export leaves nothing behind.

- ``merged``: ``save_pretrained`` folder: weights, config, tokenizer, chat template.
- ``ollama``: that folder under ``model/`` and a ``Modelfile`` (``ollama create NAME -f Modelfile``)
  whose TEMPLATE renders chats exactly like the chat template (checked).
- ``gguf``: one ``.gguf`` file from llama.cpp's converter (see :mod:`tunekit.serve.gguf`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunekit.errors import ServingError
from tunekit.secrets import get_logger
from tunekit.serve.source import ModelFiles, merged_folder

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_model"]

logger = get_logger("tunekit.serve.export")

ExportFormat = Literal["merged", "ollama", "gguf"]
EXPORT_FORMATS: tuple[str, ...] = ("merged", "ollama", "gguf")
_IGNORED = shutil.ignore_patterns("*.lock", "tunekit_merge.json")


@dataclass
class ExportResult:
    """Where an export was written and what it holds."""

    format: str
    path: Path
    files: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def export_model(files: ModelFiles, fmt: str, out: str | Path, *, gguf_type: str = "f16") -> ExportResult:
    """Export ``files`` (a succeeded run's model) as ``fmt`` into the new folder ``out``."""
    if fmt not in EXPORT_FORMATS:
        raise ServingError(f"export format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    target = Path(out).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ServingError(f"{target} already exists and is not empty; choose another --out or remove it")
    if fmt == "gguf":
        from tunekit.serve.gguf import find_converter

        if find_converter() is None:  # say so before the (slow) merge
            from tunekit.errors import DependencyMissingError
            from tunekit.serve.gguf import INSTALL_HINT

            raise DependencyMissingError("exporting GGUF", INSTALL_HINT)
    merged = merged_folder(files)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        details = _WRITERS[fmt](files, merged, partial, gguf_type)
        provenance = {"run_id": files.run_id, "base_model": files.base_model, "format": fmt, "source": str(merged)}
        (partial / "tunekit_export.json").write_text(json.dumps({**provenance, **details}, indent=2), encoding="utf-8")
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    logger.info("exported run %s as %s to %s", files.run_id, fmt, target)
    return ExportResult(format=fmt, path=target, files=written, details=details)


def _merged(files: ModelFiles, merged: Path, out: Path, gguf_type: str) -> dict[str, Any]:
    shutil.copytree(merged, out, ignore=_IGNORED)
    _check_tokenizer(out)
    return {}


def _ollama(files: ModelFiles, merged: Path, out: Path, gguf_type: str) -> dict[str, Any]:
    from tunekit.serve.ollama import modelfile

    out.mkdir(parents=True)
    shutil.copytree(merged, out / "model", ignore=_IGNORED)
    tokenizer = _check_tokenizer(out / "model")
    context = _context_length(out / "model")
    text = modelfile("./model", tokenizer, context_length=context, parameters={"temperature": 0})
    (out / "Modelfile").write_text(text, encoding="utf-8")
    return {"modelfile": "Modelfile", "create": f"ollama create {_ollama_name(files)} -f Modelfile"}


def _gguf(files: ModelFiles, merged: Path, out: Path, gguf_type: str) -> dict[str, Any]:
    from tunekit.serve.gguf import convert_to_gguf

    out.mkdir(parents=True)
    name = f"{_ollama_name(files)}-{gguf_type}.gguf"
    convert_to_gguf(merged, out / name, outtype=gguf_type)
    return {"gguf": name, "type": gguf_type}


_WRITERS = {"merged": _merged, "ollama": _ollama, "gguf": _gguf}


def _check_tokenizer(folder: Path) -> Any:
    """The exported tokenizer, which must load and carry a chat template (the usual way exports break)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if not getattr(tokenizer, "chat_template", None):
        raise ServingError(f"the exported tokenizer in {folder} has no chat template; chat clients could not use it")
    return tokenizer


def _context_length(folder: Path) -> int | None:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    value = config.get("max_position_embeddings")
    # Ollama allocates the whole context up front; a long native window is capped to a practical default.
    return min(int(value), 8192) if isinstance(value, int) and value > 0 else None


def _ollama_name(files: ModelFiles) -> str:
    return files.run_id.lower().replace("_", "-")
