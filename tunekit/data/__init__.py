"""The data layer every provider shares: read, convert, validate, count tokens, estimate cost.

::

    from tunekit.data import read_examples, write_examples, validate_data

    for example in read_examples("train.jsonl"):        # any supported format, streaming
        ...
    write_examples(read_examples("sharegpt.json"), "train.openai.jsonl", "openai")
    report = validate_data(config)                      # findings with file:line:field, tokens, cost
    print(report.summary())

Heavy libraries (transformers, datasets, pyarrow) are imported only when a
function needs them.
"""

from __future__ import annotations

from tunekit.data.cost import CostEstimate, MemoryEstimate, estimate_cost, estimate_memory, model_shape, target_epochs
from tunekit.data.examples import (
    ChatExample,
    Example,
    FunctionCall,
    Message,
    PreferenceExample,
    PromptCompletionExample,
    Source,
    TextExample,
    Tool,
    ToolCall,
    ToolFunction,
)
from tunekit.data.formats import FORMATS, canonical_format
from tunekit.data.read import detect_format, read_examples
from tunekit.data.report import CODES, Finding, SplitSummary, ValidationReport
from tunekit.data.splits import DatasetSplits, load_splits, split_examples
from tunekit.data.stats import TokenStats
from tunekit.data.tiktoken_cache import seed_tiktoken_cache
from tunekit.data.tokens import (
    HFTokenCounter,
    TiktokenCounter,
    TokenCounter,
    count_tokens,
    encoding_for_model,
    token_counter,
)
from tunekit.data.validate import DataCheck, check_sources, raise_for_report, validate_data
from tunekit.data.writers import (
    TARGETS,
    autotrain_params,
    render_chat,
    to_autotrain_rows,
    to_hf_dataset,
    to_openai_preference_rows,
    to_openai_rows,
    to_trl_rows,
    write_examples,
)

__all__ = [
    "CODES",
    "FORMATS",
    "TARGETS",
    "ChatExample",
    "CostEstimate",
    "DataCheck",
    "DatasetSplits",
    "Example",
    "Finding",
    "FunctionCall",
    "HFTokenCounter",
    "MemoryEstimate",
    "Message",
    "PreferenceExample",
    "PromptCompletionExample",
    "Source",
    "SplitSummary",
    "TextExample",
    "TiktokenCounter",
    "TokenCounter",
    "TokenStats",
    "Tool",
    "ToolCall",
    "ToolFunction",
    "ValidationReport",
    "autotrain_params",
    "canonical_format",
    "check_sources",
    "count_tokens",
    "detect_format",
    "encoding_for_model",
    "estimate_cost",
    "estimate_memory",
    "load_splits",
    "model_shape",
    "raise_for_report",
    "read_examples",
    "render_chat",
    "seed_tiktoken_cache",
    "split_examples",
    "target_epochs",
    "to_autotrain_rows",
    "to_hf_dataset",
    "to_openai_preference_rows",
    "to_openai_rows",
    "to_trl_rows",
    "token_counter",
    "validate_data",
    "write_examples",
]
