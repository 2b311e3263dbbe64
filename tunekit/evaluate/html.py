"""The evaluation report as one self-contained HTML page (plots embedded)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sized
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Protocol

__all__ = ["HtmlReport", "render_html"]


class _Comparison(Protocol):
    @property
    def difference(self) -> float: ...


class HtmlReport(Protocol):
    """What the page shows of an :class:`~tunekit.evaluate.report.EvalReport` (which renders itself with it)."""

    @property
    def title(self) -> str: ...
    @property
    def items(self) -> Sized: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def paths(self) -> Mapping[str, str]: ...
    @property
    def verdict(self) -> str: ...
    def table_rows(self) -> tuple[list[str], list[list[str]]]: ...
    def comparison(self) -> _Comparison | None: ...
    def samples(self, limit: int = ...) -> list[dict[str, Any]]: ...


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1f2328; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: .35rem .6rem; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-size: 1.15rem; padding: .8rem 1rem; background: #eef6ee; border-left: 4px solid #2da44e; }
.verdict.lost { background: #fff4e5; border-left-color: #d4a72c; }
img { max-width: 100%; margin: .5rem 0; }
code { background: #f6f8fa; padding: 0 .2rem; }
"""


def _image(path: str | None, alt: str) -> str:
    if not path or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(report: HtmlReport) -> str:
    header, rows = report.table_rows()
    numeric_from = 2
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if i >= numeric_from else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    comp = report.comparison()
    lost = comp is not None and comp.difference <= 0
    samples = "\n".join(
        "<li><b>{}</b> — {}<br>reference: <code>{}</code><ul>{}</ul></li>".format(
            escape(s["where"]),
            escape(str(s["prompt"])),
            escape(s["reference"]),
            "".join(f"<li>{escape(name)}: <code>{escape(answer)}</code></li>" for name, answer in s["answers"].items()),
        )
        for s in report.samples()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(report.title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{escape(report.title)}</h1>
<p>{len(report.items)} held-out examples; quality in points (mean score × 100);
generated {escape(report.created_at.strftime("%Y-%m-%d %H:%M UTC"))}.</p>
<p class="verdict{" lost" if lost else ""}">{escape(report.verdict)}</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>
{_image(report.paths.get("metrics_png"), "metrics by candidate")}
{_image(report.paths.get("loss_png"), "training loss")}
<h2>Samples</h2>
<ul>{samples}</ul>
</body></html>
"""
