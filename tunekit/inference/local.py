"""A ChatClient on a local transformers model, with an optional PEFT adapter.

::

    client = LocalChatClient("smollm2-135m-instruct")                    # a base model
    client = LocalChatClient.from_adapter("runs/local-.../adapter")      # base + the trained adapter
    client.chat([{"role": "user", "content": "Hi"}]).text

Prompts go through the model's own chat template; ``batch`` generates many
replies per forward pass with left padding; usage counts the real prompt and
completion tokens. The model loads on first use (torch is imported then, not
when this module is).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tunekit.errors import ConfigError
from tunekit.inference.base import ChatResult, Message, Usage
from tunekit.inference.loading import (
    ModelSource,
    adapter_base_model,
    is_adapter_dir,
    load_causal_lm,
    load_tokenizer,
    prepare_cpu_threads,
)
from tunekit.secrets import get_logger

__all__ = ["LocalChatClient"]

logger = get_logger("tunekit.inference.local")

_KNOWN_PARAMS = frozenset(
    {"max_tokens", "max_new_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "stop", "seed"}
)


class LocalChatClient:
    """Chat with a model on this machine through transformers (and PEFT for adapters).

    ``model`` is anything :func:`~tunekit.inference.loading.resolve_model`
    accepts; ``adapter`` a PEFT adapter folder trained on it. With
    ``merge_adapter`` the adapter is folded into the weights after loading,
    which makes generation as fast as the base model's.
    """

    def __init__(
        self,
        model: str | ModelSource,
        *,
        adapter: str | Path | None = None,
        device: str = "auto",
        precision: str = "auto",
        max_new_tokens: int = 256,
        batch_size: int = 8,
        merge_adapter: bool = True,
        trust_remote_code: bool = False,
        name: str | None = None,
    ) -> None:
        self.source = model
        self.adapter = Path(adapter) if adapter is not None else None
        self.device_preference = device
        self.precision = precision
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, batch_size)
        self.merge_adapter = merge_adapter
        self.trust_remote_code = trust_remote_code
        reference = model.reference if isinstance(model, ModelSource) else model
        self.model: str = name or (str(self.adapter) if self.adapter is not None else reference)
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"

    @classmethod
    def from_adapter(cls, adapter: str | Path, *, base_model: str | None = None, **kwargs: Any) -> LocalChatClient:
        """A client for an adapter folder; the base model is read from the folder unless given."""
        if not is_adapter_dir(adapter):
            raise ConfigError(f"{adapter} is not an adapter folder (no adapter_config.json)")
        return cls(base_model or adapter_base_model(adapter), adapter=adapter, **kwargs)

    def __repr__(self) -> str:
        return f"LocalChatClient(model={self.model!r})"

    # -- loading -----------------------------------------------------------------

    @property
    def device(self) -> str:
        return self._device

    def load(self) -> LocalChatClient:
        """Load the tokenizer and model now rather than on the first request."""
        with self._lock:
            self._ensure_loaded()
        return self

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        prepare_cpu_threads()
        import torch

        self._device = _pick_device(self.device_preference)
        tokenizer_source: Any = self.source
        if self.adapter is not None and (self.adapter / "tokenizer_config.json").is_file():
            # The adapter folder carries the tokenizer and chat template it was trained with.
            tokenizer_source = ModelSource(reference=str(self.adapter), kind="directory", location=str(self.adapter))
        tokenizer = load_tokenizer(tokenizer_source, trust_remote_code=self.trust_remote_code)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        model = load_causal_lm(
            self.source, dtype=self.precision, device=self._device, trust_remote_code=self.trust_remote_code
        )
        if self.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(self.adapter))
            if self.merge_adapter:
                model = model.merge_and_unload()
        model.eval()
        torch.set_grad_enabled(False)
        self._tokenizer = tokenizer
        self._model = model
        logger.info("loaded %s on %s", self.model, self._device)

    # -- generation --------------------------------------------------------------

    def chat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        return self._generate([messages], params)[0]

    async def achat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        # Generation is CPU/GPU-bound work in torch, which releases the GIL: a worker thread keeps the loop free.
        return await asyncio.to_thread(self.chat, messages, **params)

    def batch(self, requests: Sequence[Sequence[Message]], *, concurrency: int = 8, **params: Any) -> list[ChatResult]:
        """Replies to many conversations, ``min(concurrency, batch_size)`` per forward pass."""
        size = max(1, min(concurrency, self.batch_size))
        results: list[ChatResult] = []
        for start in range(0, len(requests), size):
            results.extend(self._generate(requests[start : start + size], params))
        return results

    def stream(self, messages: Sequence[Message], **params: Any) -> Iterator[str]:
        """Yield the reply's text as it is generated."""
        from transformers import TextIteratorStreamer

        with self._lock:
            self._ensure_loaded()
        settings = _Settings(params, self.max_new_tokens)
        inputs = self._encode([messages])
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        error: list[BaseException] = []

        def run() -> None:
            try:
                with self._lock:
                    self._model.generate(**inputs, **self._generate_kwargs(settings), streamer=streamer)
            except BaseException as exc:  # re-raised in the caller's thread below
                error.append(exc)
                streamer.end()  # type: ignore[no-untyped-call]

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        emitted = ""
        for piece in streamer:
            text = emitted + piece
            cut = _cut_at_stop(text, settings.stop)
            if cut is not None:
                if cut > len(emitted):
                    yield text[len(emitted) : cut]
                break
            emitted = text
            if piece:
                yield piece
        thread.join()
        if error:
            raise error[0]

    async def astream(self, messages: Sequence[Message], **params: Any) -> AsyncIterator[str]:
        iterator = self.stream(messages, **params)
        done = object()
        while True:
            piece = await asyncio.to_thread(next, iterator, done)
            if piece is done:
                return
            assert isinstance(piece, str)
            yield piece

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        with self._lock:
            self._model = None
            self._tokenizer = None

    # -- internals ---------------------------------------------------------------

    def _encode(self, requests: Sequence[Sequence[Message]]) -> Any:
        prompts = [
            self._tokenizer.apply_chat_template([dict(m) for m in messages], tokenize=False, add_generation_prompt=True)
            for messages in requests
        ]
        # The chat template already wrote the special tokens it wants (BOS, role markers).
        encoded = self._tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        return encoded.to(self._device)

    def _generate_kwargs(self, settings: _Settings) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "pad_token_id": self._tokenizer.pad_token_id,
        }
        if settings.temperature > 0:
            kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
            if settings.top_k is not None:
                kwargs["top_k"] = settings.top_k
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def _generate(self, requests: Sequence[Sequence[Message]], params: Mapping[str, Any]) -> list[ChatResult]:
        if not requests:
            return []
        settings = _Settings(params, self.max_new_tokens)
        with self._lock:
            self._ensure_loaded()
            import torch

            if settings.seed is not None:
                torch.manual_seed(settings.seed)
            inputs = self._encode(requests)
            started = time.perf_counter()
            output = self._model.generate(**inputs, **self._generate_kwargs(settings))
            latency = time.perf_counter() - started
        prompt_width = inputs["input_ids"].shape[1]
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        stop_ids = _stop_token_ids(self._model, self._tokenizer)
        results = []
        for row, prompt_tokens in zip(output, prompt_lengths, strict=True):
            generated = row[prompt_width:].tolist()
            completion, stopped = _until_stop(generated, stop_ids)
            text = self._tokenizer.decode(completion, skip_special_tokens=True)
            cut = _cut_at_stop(text, settings.stop)
            if cut is not None:
                text, stopped = text[:cut], True
            results.append(
                ChatResult(
                    text=text,
                    model=self.model,
                    finish_reason="stop" if stopped else "length",
                    usage=Usage(prompt_tokens=int(prompt_tokens), completion_tokens=len(completion)),
                    latency_s=latency,
                )
            )
        return results


class _Settings:
    __slots__ = ("max_new_tokens", "seed", "stop", "temperature", "top_k", "top_p")

    def __init__(self, params: Mapping[str, Any], default_max: int) -> None:
        unknown = set(params) - _KNOWN_PARAMS
        if unknown:
            logger.debug("local generation ignores %s", ", ".join(sorted(unknown)))
        limit = params.get("max_new_tokens") or params.get("max_completion_tokens") or params.get("max_tokens")
        self.max_new_tokens = int(limit) if limit else default_max
        self.temperature = float(params.get("temperature") or 0.0)
        self.top_p = float(params.get("top_p") or 1.0)
        top_k = params.get("top_k")
        self.top_k = int(top_k) if top_k is not None else None
        seed = params.get("seed")
        self.seed = int(seed) if seed is not None else None
        stop = params.get("stop")
        self.stop: list[str] = [stop] if isinstance(stop, str) else list(stop or [])


def _pick_device(preference: str) -> str:
    import torch

    if preference != "auto":
        return preference
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _stop_token_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def _until_stop(tokens: list[int], stop_ids: set[int]) -> tuple[list[int], bool]:
    """The generated tokens up to and including the first end-of-sequence token (padding follows it)."""
    for index, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[: index + 1], True
    return tokens, False


def _cut_at_stop(text: str, stops: Sequence[str]) -> int | None:
    positions = [text.find(s) for s in stops if s]
    found = [p for p in positions if p >= 0]
    return min(found) if found else None
