"""``tunekit.plugin`` is the one module a provider imports: every name it lists resolves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tunekit
import tunekit.plugin


def test_every_plugin_name_resolves() -> None:
    for name in tunekit.plugin.__all__:
        assert getattr(tunekit.plugin, name) is not None, name


def test_plugin_names_are_the_core_objects() -> None:
    # the same classes the core uses, not copies: isinstance checks across the boundary hold
    assert tunekit.plugin.Provider is tunekit.Provider
    assert tunekit.plugin.JobStatus is tunekit.JobStatus
    assert tunekit.plugin.ConfigError is tunekit.ConfigError


def test_importing_the_plugin_interface_leaves_sdks_and_torch_out() -> None:
    code = (
        "import sys\n"
        "from tunekit.plugin import Provider, FineTunedModel, JobState, TuneConfig, get_logger\n"
        "heavy = [m for m in ('torch', 'transformers', 'openai', 'huggingface_hub') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_model_built_by_hand_chats_once_bound_to_its_provider(tmp_path: Path) -> None:
    # The contract does not look providers up (the registry is a layer above it): the error says how to bind.
    model = tunekit.FineTunedModel(provider="memo", model_id="memo-base", base_model="memo-base")
    with pytest.raises(tunekit.TunekitError, match=r"not bound to its provider.*create_provider\('memo'\)"):
        model.client()
    provider = tunekit.create_provider("memo", {"state_dir": str(tmp_path)})
    assert model.bind(provider).client().model == "memo-base"
