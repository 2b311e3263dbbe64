"""Hosting tuned models: ``tunekit serve`` on real engines, and ``tunekit export`` to files other tools load.

- :func:`resolve_run` finds a succeeded run's model on this machine (downloading a Hub repo once).
- :func:`export_model` writes merged safetensors, an Ollama folder or a GGUF file.
- :func:`plan_server` picks an engine (transformers serve, vLLM, llama.cpp) and builds its command;
  :class:`ServedModel` runs it, records ``served_at`` on the run, and stops it cleanly.

Names load on first use: importing this package imports neither torch nor an engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunekit.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ModelFiles": "tunekit.serve.source",
    "resolve_run": "tunekit.serve.source",
    "merged_folder": "tunekit.serve.source",
    "ExportResult": "tunekit.serve.export",
    "export_model": "tunekit.serve.export",
    "EngineChoice": "tunekit.serve.engines",
    "pick_engine": "tunekit.serve.engines",
    "ServePlan": "tunekit.serve.server",
    "ServedModel": "tunekit.serve.server",
    "plan_server": "tunekit.serve.server",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

if TYPE_CHECKING:
    from tunekit.serve.engines import EngineChoice as EngineChoice, pick_engine as pick_engine
    from tunekit.serve.export import ExportResult as ExportResult, export_model as export_model
    from tunekit.serve.server import ServedModel as ServedModel, ServePlan as ServePlan, plan_server as plan_server
    from tunekit.serve.source import (
        ModelFiles as ModelFiles,
        merged_folder as merged_folder,
        resolve_run as resolve_run,
    )
