"""The evaluation report as Markdown: the ladder table, the verdict, the break-even, the judge, charts, samples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunekit.evaluate.summary import LadderReport

__all__ = ["render_markdown"]


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def render_markdown(report: LadderReport) -> str:
    header, rows = report.table_rows()
    lines = [f"# {report.title}", "", report.legend(), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
    lines.extend("| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows)
    lines += ["", f"**Verdict:** {report.verdict}", ""]
    break_even = report.break_even_line()
    if break_even:
        lines += [f"**Break-even:** {break_even}", ""]
    judged = report.judge_line()
    if judged:
        lines += [judged, ""]
    notes = report.notes()
    lines += notes
    if notes:
        lines.append("")
    for key, alt in (
        ("quality_cost_png", "quality against cost"),
        ("metrics_png", "metrics"),
        ("loss_png", "training loss"),
    ):
        if key in report.paths:
            lines.append(f"![{alt}]({Path(report.paths[key]).name})")
    samples = report.samples()
    if samples:
        lines += ["", "## Samples", ""]
        for sample in samples:
            lines.append(f"- **{sample['where']}** — prompt: {_md(_short(str(sample['prompt'])))}")
            lines.append(f"  - reference: `{_md(_short(sample['reference']))}`")
            for name, answer in sample["answers"].items():
                lines.append(f"  - {_md(name)}: `{_md(_short(answer))}`")
    return "\n".join(lines).rstrip() + "\n"
