"""The evaluation report as one self-contained HTML page (plots embedded), or a fragment for notebooks.

The table may be wider than the page (a column per metric, long fine-tuned
model ids): it scrolls sideways inside its own box and ids wrap, so no
column is ever cut off. The styles are scoped to ``.tunekit-report`` so the
fragment does not restyle the notebook around it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sized
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Protocol


class _Comparison(Protocol):
    @property
    def difference(self) -> float: ...


class HtmlReport(Protocol):
    """What the page shows of an :class:`~tunekit.evaluate.report.EvalReport`.

    A protocol rather than the class: the report renders itself with this
    module, which therefore must not import it back.
    """

    @property
    def title(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def paths(self) -> Mapping[str, str]: ...
    @property
    def verdict(self) -> str: ...
    @property
    def failed(self) -> Sized: ...
    def legend(self) -> str: ...
    def notes(self) -> list[str]: ...
    def break_even_line(self) -> str | None: ...
    def judge_line(self) -> str | None: ...
    def table_rows(self) -> tuple[list[str], list[list[str]]]: ...
    def comparison(self) -> _Comparison | None: ...
    def samples(self, limit: int = ...) -> list[dict[str, Any]]: ...


__all__ = ["HtmlReport", "render_fragment", "render_html"]

_STYLE = """
.tunekit-report { font-family: system-ui, sans-serif; color: #1f2328; }
.tunekit-report .table-box { overflow-x: auto; max-width: 100%; }
.tunekit-report table { border-collapse: collapse; margin: 1rem 0; }
.tunekit-report th, .tunekit-report td { border: 1px solid #d0d7de; padding: .35rem .6rem; }
.tunekit-report th { background: #f6f8fa; text-align: left; }
.tunekit-report td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tunekit-report td.id { overflow-wrap: anywhere; min-width: 8rem; max-width: 18rem; }
.tunekit-report .verdict { font-size: 1.15rem; padding: .8rem 1rem; background: #eef6ee;
  border-left: 4px solid #2da44e; }
.tunekit-report .verdict.lost { background: #fff4e5; border-left-color: #d4a72c; }
.tunekit-report .verdict.failed { background: #ffebe9; border-left-color: #cf222e; }
.tunekit-report img { max-width: 100%; margin: .5rem 0; }
.tunekit-report code { background: #f6f8fa; padding: 0 .2rem; }
"""

_PAGE_STYLE = "body { margin: 2rem auto; max-width: 80rem; padding: 0 1rem; }"


def _image(path: str | None, alt: str) -> str:
    if not path or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _cell(index: int, text: str) -> str:
    if index == 0:
        return f"<td>{escape(text)}</td>"
    if index == 1:
        return f'<td class="id">{escape(text)}</td>'
    return f'<td class="num">{escape(text)}</td>'


def render_fragment(report: HtmlReport, *, heading: str = "h3") -> str:
    """The verdict, the break-even, the table, the charts (once the report is saved) and samples, in one ``<div>``."""
    header, rows = report.table_rows()
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(_cell(i, cell) for i, cell in enumerate(row)) + "</tr>" for row in rows)
    comp = report.comparison()
    if report.failed:
        state = " failed"
    elif comp is not None and comp.difference <= 0:
        state = " lost"
    else:
        state = ""
    samples = "\n".join(
        "<li><b>{}</b> — {}<br>reference: <code>{}</code><ul>{}</ul></li>".format(
            escape(s["where"]),
            escape(str(s["prompt"])),
            escape(s["reference"]),
            "".join(f"<li>{escape(name)}: <code>{escape(answer)}</code></li>" for name, answer in s["answers"].items()),
        )
        for s in report.samples()
    )
    return f"""<div class="tunekit-report"><style>{_STYLE}</style>
<p>{escape(report.legend())} Generated {escape(report.created_at.strftime("%Y-%m-%d %H:%M UTC"))}.</p>
<p class="verdict{state}">{escape(report.verdict)}</p>
{f"<p><b>Break-even</b> {escape(line)}</p>" if (line := report.break_even_line()) else ""}
{f"<p>{escape(judged)}</p>" if (judged := report.judge_line()) else ""}
{"".join(f"<p>{escape(note)}</p>" for note in report.notes())}
<div class="table-box"><table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></div>
{_image(report.paths.get("quality_cost_png"), "quality against cost per request")}
{_image(report.paths.get("metrics_png"), "metrics by candidate")}
{_image(report.paths.get("loss_png"), "training loss")}
<{heading}>Samples</{heading}>
<ul>{samples}</ul>
</div>"""


def render_html(report: HtmlReport) -> str:
    """A standalone page: the title, then :func:`render_fragment`."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(report.title)}</title>
<style>{_PAGE_STYLE}</style></head>
<body>
<h1>{escape(report.title)}</h1>
{render_fragment(report, heading="h2")}
</body></html>
"""
