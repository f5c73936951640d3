"""``summary.md``: the report as GitHub-flavoured Markdown, tables as pipe tables and
figures as links to the PNG files written beside it. Text from results is escaped so that a
name cannot inject Markdown or HTML (``<``, ``>``, ``&`` become entities; Markdown's
punctuation gets a backslash)."""
from __future__ import annotations

import re

from .content import Bullets, Figure, Paragraph, Report, Table

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def escape(text: str) -> str:
    """Text safe inside a Markdown paragraph or table cell (one line)."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def _table(t: Table) -> list[str]:
    cols = list(t.frame.columns)
    lines = [f"**{escape(t.title)}**", ""] if t.title else []
    lines.append("| " + " | ".join(escape(c) for c in cols) + " |")
    lines.append("|" + "|".join("---:" if c in t.numeric else ":---" for c in cols) + "|")
    for row in t.frame.itertuples(index=False):
        lines.append("| " + " | ".join(escape(v) for v in row) + " |")
    if t.caption:
        lines += ["", f"_{escape(t.caption)}_"]
    return lines + [""]


def _block(b, figure_dir: str) -> list[str]:
    if isinstance(b, Paragraph):
        return [escape(b.text), ""]
    if isinstance(b, Bullets):
        return [f"{f'{k}.' if b.ordered else '-'} {escape(i)}" for k, i in enumerate(b.items, 1)] + [""]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Figure):
        return [f"![{escape(b.title)}]({figure_dir}/{b.id}.png)", "", f"_{escape(b.title)}._ {escape(b.caption)}", ""]
    raise TypeError(f"unknown report block {type(b).__name__}")


def render(report: Report, figure_dir: str = "figures") -> str:
    """The Markdown document; figures link to ``figure_dir/<id>.png``."""
    lines = [f"# {escape(report.title)}", ""]
    lines += [escape(m) + "  " for m in report.meta] + [""]
    for s in report.sections:
        lines += [f"## {escape(s.title)}", ""]
        for b in s.blocks:
            lines += _block(b, figure_dir)
    if report.files:
        lines += ["## Data files", ""] + [f"- [{escape(k)}]({v})" for k, v in report.files.items()] + [""]
    return "\n".join(lines)
