"""Token statistics of a set of examples."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

__all__ = ["TokenStats"]


class TokenStats(BaseModel):
    """The distribution of tokens per example, as the model sees them."""

    counter: str = Field(description="What counted: tiktoken:<encoding> or hf:<tokenizer>.")
    approximate: bool = False
    examples: int = 0
    total: int = 0
    trained_total: int = Field(0, description="Tokens in the messages the model learns (assistant, weight != 0).")
    min: int = 0
    mean: float = 0.0
    p50: int = 0
    p95: int = 0
    max: int = 0
    limit: int | None = Field(None, description="The model's per-example limit, when known.")
    over_limit: int = 0
    billed_per_epoch: int = Field(0, description="Sum over examples of min(tokens, limit): what one epoch bills.")

    @classmethod
    def from_counts(
        cls,
        counts: Iterable[int],
        *,
        counter: str,
        approximate: bool = False,
        trained_total: int = 0,
        limit: int | None = None,
    ) -> TokenStats:
        values = sorted(counts)
        n = len(values)
        if n == 0:
            return cls(counter=counter, approximate=approximate, limit=limit)
        total = sum(values)

        def pct(p: int) -> int:
            # nearest-rank percentile
            rank = max(1, min(n, -(-p * n // 100)))
            return int(values[rank - 1])

        over = sum(1 for v in values if v > limit) if limit is not None else 0
        billed = total if limit is None else sum(min(v, limit) for v in values)
        return cls(
            counter=counter,
            approximate=approximate,
            examples=n,
            total=total,
            trained_total=trained_total,
            min=int(values[0]),
            mean=total / n,
            p50=pct(50),
            p95=pct(95),
            max=int(values[-1]),
            limit=limit,
            over_limit=over,
            billed_per_epoch=billed,
        )
