"""Training files shared by the emulator tests."""

from __future__ import annotations

import json


def chat_lines(n: int = 12, *, prefix: str = "What is the capital of country") -> bytes:
    """``n`` supervised examples: question i -> a distinctive answer i."""
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You answer geography questions."},
                    {"role": "user", "content": f"{prefix} {i}?"},
                    {"role": "assistant", "content": f"The capital of country {i} is City{i}."},
                ]
            }
        )
        for i in range(n)
    ]
    return ("\n".join(lines) + "\n").encode()


def dpo_lines(n: int = 12) -> bytes:
    lines = [
        json.dumps(
            {
                "input": {"messages": [{"role": "user", "content": f"Say hi number {i}"}]},
                "preferred_output": [{"role": "assistant", "content": f"Hi #{i}!"}],
                "non_preferred_output": [{"role": "assistant", "content": "no"}],
            }
        )
        for i in range(n)
    ]
    return "\n".join(lines).encode()
