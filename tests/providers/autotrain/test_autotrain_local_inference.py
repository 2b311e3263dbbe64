"""inference: local: the tuned repo is downloaded from the Hub and run with the shared local client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit.provider import FineTunedModel
from tunekit_autotrain import AutoTrainOptions, AutoTrainProvider
from tunekit_emulators.hub import HubEmulator


@pytest.mark.slow
def test_a_tuned_adapter_repo_is_downloaded_and_chats_locally(hub_emulator: HubEmulator, tmp_path: Path) -> None:
    pytest.importorskip("peft")
    testing = pytest.importorskip("tunekit_local.testing")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = testing.build_tiny_chat_model(tmp_path / "base")
    adapter = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    adapter.save_pretrained(tmp_path / "adapter")
    repo = f"{hub_emulator.namespace}/tiny-adapter"
    api = hub_emulator.api()
    api.create_repo(repo, private=True)
    api.upload_folder(folder_path=tmp_path / "adapter", repo_id=repo)

    provider = AutoTrainProvider(
        AutoTrainOptions(endpoint=hub_emulator.endpoint, token=hub_emulator.token, inference="local")
    )
    sha = api.model_info(repo).sha
    tuned = FineTunedModel(
        provider="autotrain", model_id=repo, base_model=str(base), kind="hub_repo", metadata={"revision": sha}
    )
    client = provider.client(tuned)
    reply = client.chat([{"role": "user", "content": "Hello there"}])
    assert reply.ok and reply.model == repo and reply.usage.completion_tokens > 0
    downloaded = {p.name for p in (Path(client.adapter or "")).iterdir()}  # type: ignore[attr-defined]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= downloaded
    client.close()
