"""Where a text may be cut without cutting a token: the boundaries between a model's tokens, as character offsets.

Passages sized in tokens (the RAG baseline's ``eval.rag.chunk_tokens``) must
start and end between two tokens of the model that reads them. The
boundaries come from the same tokenizer that counts the model's tokens
(:func:`tunekit.data.tokens.token_counter`): tiktoken's encoding for an
OpenAI-style counter, the Hugging Face tokenizer's offsets for a local model.
A byte-level token can hold part of a character (an emoji takes several):
no cut falls inside a character, so the tokens around one travel together.
"""

from __future__ import annotations

from itertools import accumulate, compress
from typing import Any, NamedTuple

from tunekit.data.tokens import HFTokenCounter, TiktokenCounter, TokenCounter

__all__ = ["TokenCuts", "token_cuts"]


class TokenCuts(NamedTuple):
    """Every place a text may be cut, the start and the end included, in order."""

    offsets: list[int]
    """Character offsets of the cuts."""
    tokens: list[int]
    """Tokens before each cut."""


_CONTINUATION = bytes(range(0x80, 0xC0))
"""UTF-8 continuation bytes: a token that starts with one starts inside a character."""


class _Vocabulary:
    """Per token id of one tiktoken encoding: its bytes, the characters that start in it, whether it starts a
    character. Filled as tokens are first seen, so a text costs lookups, not decodes."""

    def __init__(self, encoding: Any) -> None:
        self.encoding = encoding
        size = encoding.n_vocab
        self.length = [0] * size
        self.chars = [0] * size
        self.starts = [False] * size

    def lengths(self, tokens: list[int]) -> list[int]:
        """The byte length of each token, learning the tokens not seen before."""
        lengths = list(map(self.length.__getitem__, tokens))
        if 0 not in lengths:
            return lengths
        self._learn([t for t in set(tokens) if not self.length[t]])
        return list(map(self.length.__getitem__, tokens))

    def _learn(self, tokens: list[int]) -> None:
        length = self.length
        for token in tokens:
            piece = self.encoding.decode_single_token_bytes(token)
            length[token] = len(piece)
            self.chars[token] = len(piece.translate(None, _CONTINUATION))
            self.starts[token] = piece[0] not in _CONTINUATION


_VOCABULARIES: dict[str, _Vocabulary] = {}


def token_cuts(counter: TokenCounter, text: str) -> TokenCuts:
    """The places ``text`` may be cut between two of ``counter``'s tokens; ValueError for a counter that cannot say."""
    if not text:
        return TokenCuts([0], [0])
    if isinstance(counter, TiktokenCounter):
        return _tiktoken_cuts(counter.encoding_name, text)
    if isinstance(counter, HFTokenCounter):
        return _hf_cuts(counter.tokenizer, text)
    raise ValueError(f"the token counter {counter.name} gives no token boundaries")


def _tiktoken_cuts(encoding_name: str, text: str) -> TokenCuts:
    vocabulary = _VOCABULARIES.get(encoding_name)
    if vocabulary is None:
        from tunekit.data.tiktoken_cache import get_encoding

        vocabulary = _VOCABULARIES[encoding_name] = _Vocabulary(get_encoding(encoding_name))
    tokens = vocabulary.encoding.encode_ordinary(text)
    lengths = vocabulary.lengths(tokens)
    if text.isascii():  # one byte a character: every token boundary is a character boundary
        offsets = list(accumulate(lengths, initial=0))
        return TokenCuts(offsets, list(range(len(tokens) + 1)))
    chars = list(accumulate(map(vocabulary.chars.__getitem__, tokens), initial=0))
    # A cut before each token that starts a character (never before the first: that is the start).
    starts = list(map(vocabulary.starts.__getitem__, tokens))
    starts[0] = True
    before = [*compress(range(len(tokens)), starts), len(tokens)]
    return TokenCuts([chars[n] for n in before], before)


def _hf_cuts(tokenizer: Any, text: str) -> TokenCuts:
    try:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    except NotImplementedError:  # a slow (Python) tokenizer has no offsets
        raise ValueError(
            f"the tokenizer {type(tokenizer).__name__} gives no token offsets (a fast tokenizer does)"
        ) from None
    spans = [(int(start), int(end)) for start, end in encoded["offset_mapping"]]
    offsets, tokens = [0], [0]
    for n in range(1, len(spans)):
        # A token owns the space before it (its offsets may leave it out): the cut falls where the previous token
        # ends. Tokens that share a character (overlapping offsets) are never cut apart.
        end, start = spans[n - 1][1], spans[n][0]
        if end <= start and end > offsets[-1]:
            offsets.append(end)
            tokens.append(n)
    if offsets[-1] == len(text):  # tokens of no width at the end
        tokens[-1] = len(spans)
    else:
        offsets.append(len(text))
        tokens.append(len(spans))
    return TokenCuts(offsets, tokens)
