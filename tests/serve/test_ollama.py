"""The Ollama TEMPLATE tunekit derives renders conversations exactly like the tokenizer's chat template."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunekit.errors import ServingError

pytest.importorskip("tokenizers")
testing = pytest.importorskip("tunekit_local.testing")

from tunekit.serve.gotemplate import TemplateError, render  # noqa: E402
from tunekit.serve.ollama import derive_format, modelfile, read_template, sample_chats  # noqa: E402

SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""SmolLM2-135M-Instruct's template as shipped: a default system prompt when the chat has none."""

LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

SYSTEM_IN_FIRST_USER = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{% set sys = message['content'] %}"
    "{% elif message['role'] == 'user' %}{{ '[INST] ' }}{% if sys is defined and loop.index0 == 1 %}"
    "{{ sys + '\n\n' }}{% endif %}{{ message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)
"""Mistral-style: the system prompt goes inside the first user turn, which a per-role template cannot say."""

MORE_CHATS = [
    [{"role": "user", "content": 'Only one turn, with {{ braces }} and a """ triple quote.'}],
    [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"},
        {"role": "user", "content": "e"},
    ],
]


def tokenizer_with(template: str | None) -> object:
    tokenizer = testing.build_tiny_tokenizer()
    if template is not None:
        tokenizer.chat_template = template
    return tokenizer


@pytest.mark.parametrize("template", [None, SMOLLM2, LLAMA3], ids=["chatml", "smollm2", "llama3"])
def test_the_modelfile_template_renders_like_apply_chat_template(template: str | None, tmp_path: Path) -> None:
    tokenizer = tokenizer_with(template)
    path = tmp_path / "Modelfile"
    path.write_text(modelfile("./model", tokenizer, context_length=2048), encoding="utf-8")
    go = read_template(path)  # what Ollama will read, parsed back from the file
    for chat in [*sample_chats(), *MORE_CHATS]:
        expected = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)  # type: ignore[attr-defined]
        assert render(go, chat) == expected


def test_stop_tokens_and_parameters_are_written(tmp_path: Path) -> None:
    text = modelfile("./model", tokenizer_with(None), context_length=512, parameters={"temperature": 0})
    lines = text.splitlines()
    assert lines[0] == "FROM ./model"
    assert 'PARAMETER stop "<|im_end|>"' in lines
    assert "PARAMETER num_ctx 512" in lines and "PARAMETER temperature 0" in lines


def test_the_default_system_prompt_is_kept_only_when_the_chat_has_none() -> None:
    fmt = derive_format(tokenizer_with(SMOLLM2))
    assert "You are a helpful AI assistant named SmolLM" in fmt.head
    assert fmt.system_head == "<|im_start|>system\n"
    assert fmt.generation == "<|im_start|>assistant\n"


def test_a_template_that_cannot_be_expressed_is_refused_not_shipped() -> None:
    with pytest.raises(ServingError, match="Ollama TEMPLATE"):
        modelfile("./model", tokenizer_with(SYSTEM_IN_FIRST_USER))


def test_a_tokenizer_without_chat_template_is_refused() -> None:
    tokenizer = tokenizer_with(None)
    tokenizer.chat_template = None  # type: ignore[attr-defined]
    with pytest.raises(ServingError, match="no chat template"):
        derive_format(tokenizer)


def test_the_renderer_refuses_syntax_it_does_not_check() -> None:
    with pytest.raises(TemplateError, match="trim markers"):
        render("{{- .Content }}", [])
    with pytest.raises(TemplateError, match="outside the checked subset"):
        render("{{ range .Messages }}{{ .Images }}{{ end }}", [{"role": "user", "content": "x"}])
