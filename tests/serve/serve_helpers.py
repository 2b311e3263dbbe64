"""What the serving tests compare against: greedy answers of base + adapter loaded through PEFT by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TunedRun:
    home: Path
    """The TUNEKIT_HOME whose ledger holds the run."""
    run_id: str
    base: Path
    adapter: Path


PROMPTS = [
    [{"role": "user", "content": "The cup is red. What colour is the cup?"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "The car is blue. What colour?"}],
]


def peft_by_hand(base: Path, adapter: Path, prompts: list[list[dict[str, str]]], max_new_tokens: int) -> list[str]:
    """Greedy replies of base + adapter loaded through PEFT directly: the reference every served answer must equal."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base)), str(adapter)).eval()
    replies = []
    for messages in prompts:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
        replies.append(tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))
    return replies
