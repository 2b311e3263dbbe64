"""Tiny models built offline, for tests and benchmarks of the local provider.

A randomly initialised Llama with a byte-level BPE tokenizer trained in-process
and a ChatML chat template: small enough to train for a few steps in seconds on
a CPU, real enough to go through transformers, PEFT and TRL unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "CHATML_TEMPLATE",
    "CHATML_TEMPLATE_WITH_GENERATION",
    "build_tiny_chat_model",
    "build_tiny_tokenizer",
    "sample_conversations",
    "sample_preferences",
    "wait_for_job",
]

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""SmolLM2's template without its default system prompt: no ``{% generation %}`` markers."""

CHATML_TEMPLATE_WITH_GENERATION = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""The same ChatML template, with the assistant's reply and end-of-turn inside generation markers."""

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]

_COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"]
_THINGS = ["apple", "car", "house", "bird", "cup", "book", "shoe", "flower"]


def sample_conversations(n: int = 32, *, system: bool = False) -> list[list[dict[str, str]]]:
    """Short, learnable chats: the assistant names the colour the user mentions."""
    chats = []
    for i in range(n):
        colour = _COLOURS[i % len(_COLOURS)]
        thing = _THINGS[(i // len(_COLOURS)) % len(_THINGS)]
        messages = [
            {"role": "user", "content": f"The {thing} is {colour}. What colour is the {thing}?"},
            {"role": "assistant", "content": f"The {thing} is {colour}."},
        ]
        if system:
            messages.insert(0, {"role": "system", "content": "Answer briefly."})
        chats.append(messages)
    return chats


def sample_preferences(n: int = 16) -> list[dict[str, Any]]:
    """Preference pairs in TRL's conversational shape: the chosen reply names the right colour."""
    rows = []
    for i, chat in enumerate(sample_conversations(n)):
        wrong = _COLOURS[(i + 3) % len(_COLOURS)]
        thing = _THINGS[(i // len(_COLOURS)) % len(_THINGS)]
        rows.append(
            {
                "prompt": chat[:-1],
                "chosen": [chat[-1]],
                "rejected": [{"role": "assistant", "content": f"The {thing} is {wrong}."}],
            }
        )
    return rows


def _corpus() -> Iterable[str]:
    for chat in sample_conversations(64, system=True):
        for message in chat:
            yield f"{message['role']}\n{message['content']}"
    yield "The quick brown fox jumps over the lazy dog. 0123456789 ?!.,:;'\"()[]{}"


def build_tiny_tokenizer(*, vocab_size: int = 320, generation_markers: bool = False) -> Any:
    """A byte-level BPE tokenizer trained in-process, with ChatML special tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        unk_token=None,
    )
    tokenizer.chat_template = CHATML_TEMPLATE_WITH_GENERATION if generation_markers else CHATML_TEMPLATE
    return tokenizer


def build_tiny_chat_model(
    path: str | Path,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    seed: int = 0,
    generation_markers: bool = False,
    pad_is_eos: bool = False,
    chat_template: str | None = None,
) -> Path:
    """Save a tiny random Llama and its tokenizer to ``path``; return the folder.

    ``chat_template`` replaces the ChatML template (to build broken ones in tests).
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    path = Path(path)
    tokenizer = build_tiny_tokenizer(generation_markers=generation_markers)
    if pad_is_eos:
        tokenizer.pad_token = tokenizer.eos_token
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def wait_for_job(provider: Any, ref: Any, *, timeout: float = 600.0, poll: float = 0.5) -> Any:
    """Poll a provider until the job ends; return its final state (``TimeoutError`` after ``timeout``)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        state = provider.status(ref)
        if state.is_terminal:
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {ref.job_id} still {state.status.value} after {timeout} s")
        time.sleep(poll)
