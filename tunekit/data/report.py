"""What validation found: findings with their location, counts, token stats and cost."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field

from tunekit.data.cost import CostEstimate
from tunekit.data.stats import TokenStats
from tunekit.secrets import redact

__all__ = ["CODES", "Finding", "Findings", "SplitSummary", "TokenStats", "ValidationReport"]

Severity = Literal["error", "warning", "info"]

CODES: dict[str, tuple[Severity, str]] = {
    # reading
    "empty_file": ("error", "the file has no examples"),
    "unreadable": ("error", "the file cannot be read"),
    "invalid_utf8": ("error", "the line is not valid UTF-8"),
    "not_utf8": ("error", "the file is not UTF-8"),
    "invalid_json": ("error", "the line is not valid JSON (truncated, malformed or nested too deeply)"),
    "bom_inside_file": ("warning", "a byte-order mark in the middle of the file (concatenated files?)"),
    "unknown_format": ("error", "the format of the records is not recognized"),
    # the cookbook's format checks
    "data_type": ("error", "an example is not a JSON object"),
    "missing_messages_list": ("error", "the example has no messages list"),
    "message_missing_key": ("error", "a message lacks role or content"),
    "message_unrecognized_key": ("error", "a message has a key the format does not know"),
    "unrecognized_role": ("error", "a message has an unknown role"),
    "missing_content": ("error", "a message has no content (and no tool or function call)"),
    "example_missing_assistant_message": ("error", "the example has no assistant message to learn"),
    "missing_system_message": ("warning", "the example has no system message"),
    "missing_user_message": ("warning", "the example has no user message"),
    # beyond the cookbook
    "missing_key": ("error", "a required field is missing"),
    "wrong_type": ("error", "a field has the wrong type"),
    "unrecognized_key": ("warning", "a field the format does not use (ignored)"),
    "blank_content": ("error", "the content is empty or only whitespace"),
    "blank_prompt_content": ("warning", "a prompt message is empty or only whitespace"),
    "invalid_weight": ("error", "weight must be 0 or 1, on assistant messages"),
    "all_weights_zero": ("error", "every assistant message has weight 0: nothing to learn"),
    "invalid_tool": ("error", "a tool definition is not a valid function schema"),
    "duplicate_tool": ("error", "two tools have the same name"),
    "invalid_tool_call": ("error", "a tool call is malformed"),
    "invalid_tool_arguments": ("error", "tool call arguments are not a JSON object string"),
    "unknown_tool": ("warning", "a tool call names a function the example's tools do not define"),
    "orphan_tool_message": ("error", "a tool message answers no earlier tool call"),
    "last_message_not_assistant": ("warning", "the conversation does not end with an assistant message"),
    "empty_preference_side": ("error", "chosen or rejected is empty"),
    "preference_not_assistant": ("error", "chosen and rejected must be assistant messages"),
    "preference_identical": ("warning", "chosen and rejected are identical: nothing to learn"),
    "preference_multi_turn_output": ("error", "the provider takes exactly one assistant message per side"),
    "empty_prompt": ("warning", "the prompt is empty"),
    "empty_completion": ("error", "the completion is empty or only whitespace"),
    "empty_text": ("error", "the text is empty or only whitespace"),
    "unsupported_kind": ("error", "the provider or method cannot train on this kind of example"),
    "mixed_kinds": ("error", "the file mixes kinds of examples"),
    "too_few_examples": ("error", "fewer examples than the provider's minimum"),
    "too_many_examples": ("error", "more examples than the provider accepts"),
    "file_too_large": ("error", "the file is larger than the provider accepts"),
    "over_token_limit": ("warning", "the example is longer than the model's limit and will be truncated"),
    "duplicate": ("warning", "an exact duplicate of an earlier example"),
    "train_validation_overlap": ("warning", "the example also appears in the training data"),
    "approximate_tokens": ("info", "token counts are estimates"),
    "unknown_model": ("error", "the provider does not fine-tune this model"),
    "control_token": ("warning", "the text holds a chat-template control string (<|im_start|>, <|endoftext|>, ...)"),
}
"""Every finding code: its default severity and what it means."""


class Finding(BaseModel):
    """One problem, named by file, line and field path (``messages[2].content``)."""

    code: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    split: str | None = None
    excerpt: str | None = None

    @property
    def location(self) -> str:
        where = self.file or "<data>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return where

    def __str__(self) -> str:
        return f"{self.location}: {self.message} [{self.code}]"


class Findings:
    """Collects the findings of one file; counts every one, keeps the first ``keep`` of each code.

    A child (see :meth:`child`) counts its own file's findings and passes each
    one on to its root, which holds the kept findings and the totals.
    """

    def __init__(self, file: str, split: str | None = None, *, keep: int = 50, sink: Findings | None = None) -> None:
        self.file = file
        self.split = split
        self.keep = keep
        self.items: list[Finding] = []
        self.counts: Counter[str] = Counter()
        self.severities: Counter[str] = Counter()
        self._root = sink
        self.overrides: dict[str, Severity] = {} if sink is None else sink.overrides
        """Code -> severity, shared with the root: a provider makes some findings stricter (see Limits.severities)."""

    def add(
        self,
        code: str,
        message: str | None = None,
        *,
        line: int | None = None,
        field: str | None = None,
        severity: Severity | None = None,
        excerpt: str | None = None,
    ) -> None:
        default_severity, description = CODES.get(code, ("error", code))
        severity = severity or self.overrides.get(code) or default_severity
        root = self._root or self
        if root.counts[code] < root.keep:
            finding = Finding(
                code=code,
                severity=severity,
                message=message or description,
                file=self.file,
                line=line,
                field=field,
                split=self.split,
                excerpt=excerpt[:160] if excerpt else None,
            )
            root.items.append(finding)
        self._count(code, severity, 1)

    def _count(self, code: str, severity: str, n: int) -> None:
        self.counts[code] += n
        self.severities[severity] += n
        if self._root is not None:
            self._root.counts[code] += n
            self._root.severities[severity] += n

    def extend(self, finding: Finding) -> None:
        """Take a finding made elsewhere (a worker process) as if it were added here."""
        root = self._root or self
        if root.counts[finding.code] < root.keep:
            root.items.append(finding)
        self._count(finding.code, finding.severity, 1)

    def count_only(self, code: str, n: int) -> None:
        """Count ``n`` findings of ``code`` that were not kept."""
        if n > 0:
            self._count(code, self.overrides.get(code) or CODES.get(code, ("error", ""))[0], n)

    def child(self, file: str, split: str | None = None) -> Findings:
        """A collector for another file that reports into this one's root."""
        return Findings(file, split, keep=self.keep, sink=self._root or self)

    @property
    def errors(self) -> int:
        """Errors found in this file."""
        return self.severities["error"]


class SplitSummary(BaseModel):
    """What one file held."""

    split: str
    file: str
    format: str | None = None
    examples: int = 0
    invalid: int = 0
    kinds: dict[str, int] = Field(default_factory=dict)
    tokens: TokenStats | None = None


class ValidationReport(BaseModel):
    """The result of validating a config's data: findings, counts, tokens and cost.

    ``ok`` is true when nothing is an error. ``findings`` keeps the first
    entries of each code; ``counts`` counts them all.
    """

    provider: str | None = None
    model: str | None = None
    method: str | None = None
    splits: list[SplitSummary] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict, description="Findings by code.")
    cost: CostEstimate | None = None
    error_count: int = 0
    warning_count: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def split(self, name: str) -> SplitSummary | None:
        return next((s for s in self.splits if s.split == name), None)

    @property
    def tokens(self) -> TokenStats | None:
        """Token stats of the training data."""
        train = self.split("train")
        return train.tokens if train else None

    def samples(self, code: str, limit: int = 5) -> list[str]:
        """Up to ``limit`` locations (``file:line: field``) of a finding code."""
        return [f.location for f in self.findings if f.code == code][:limit]

    def first_error(self) -> Finding | None:
        return next(iter(self.errors), None)

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["ok"] = self.ok
        data["samples"] = {code: self.samples(code) for code in self.counts}
        return data

    # -- notebooks: the report renders itself as the cell's output ------------------------

    def _repr_markdown_(self) -> str:
        return "```text\n" + redact(self.summary()) + "\n```\n"

    def _repr_html_(self) -> str:
        from html import escape

        colour = "#2da44e" if self.ok else "#cf222e"
        head, *rest = redact(self.summary()).splitlines()
        return (
            f'<div class="tunekit-validation"><p style="border-left: 4px solid {colour}; padding: .4rem .8rem; '
            f'font-weight: 600">{escape(head)}</p><pre style="white-space: pre-wrap">'
            + escape("\n".join(rest))
            + "</pre></div>"
        )

    def summary(self, *, max_findings: int = 20) -> str:
        """A few lines for a human: verdict, counts, token stats, cost, the first findings."""
        lines = []
        target = " ".join(x for x in (self.provider, self.model, self.method) if x)
        verdict = "OK" if self.ok else "INVALID"
        lines.append(
            f"data {verdict}" + (f" for {target}" if target else "") + f": {self.error_count} error(s), "
            f"{self.warning_count} warning(s)"
        )
        for s in self.splits:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(s.kinds.items())) or "none"
            lines.append(
                f"  {s.split}: {s.file} ({s.format or 'unknown format'}): {s.examples} examples ({kinds}), "
                f"{s.invalid} invalid"
            )
            t = s.tokens
            if t is not None and t.examples:
                approx = " (approximate)" if t.approximate else ""
                lines.append(
                    f"    tokens [{t.counter}{approx}]: total {t.total:,}, min {t.min}, mean {t.mean:.1f}, "
                    f"p50 {t.p50}, p95 {t.p95}, max {t.max}"
                    + (f"; {t.over_limit} over the {t.limit:,} limit" if t.limit is not None else "")
                )
        if self.counts:
            lines.append("  findings: " + ", ".join(f"{code} {n}" for code, n in sorted(self.counts.items())))
        if self.cost is not None:
            lines.extend("  " + line for line in self.cost.summary_lines())
        shown = sorted(self.findings, key=lambda f: {"error": 0, "warning": 1, "info": 2}[f.severity])
        for finding in shown[:max_findings]:
            lines.append(f"  {finding.severity}: {finding}")
        hidden = sum(self.counts.values()) - min(len(shown), max_findings)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (see --json)")
        return "\n".join(lines)
