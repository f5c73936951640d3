"""The self-contained HTML page: inline CSS, figures embedded as base64 PNG, no scripts and
no external assets, so it opens offline from a single file. Every piece of text that comes
from results (problem, optimizer and parameter names, messages) is escaped with
:func:`html.escape`."""
from __future__ import annotations

import base64
from html import escape

from .content import Bullets, Figure, Paragraph, Report, Table

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 24px 32px 64px; max-width: 1360px; }
h1 { font-size: 1.8em; margin: 0 0 4px; }
h2 { font-size: 1.35em; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 18px 0 6px; }
p, li { max-width: 100ch; }
.meta { color: var(--muted); margin: 2px 0; }
nav { margin: 16px 0 8px; padding: 10px 14px; background: var(--bg-alt); border-radius: 6px; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: 8px 0 18px; }
table { border-collapse: collapse; font-size: 13px; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 4px 9px; vertical-align: top; }
th { background: var(--bg-alt); text-align: left; white-space: nowrap; }
td { max-width: 46ch; overflow-wrap: anywhere; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
.note { color: var(--muted); font-size: 13px; }
figure { margin: 14px 0 28px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 110ch; }
code { background: var(--bg-alt); padding: 1px 4px; border-radius: 4px; }
"""


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in t.frame.columns)
    rows = []
    for row in t.frame.itertuples(index=False):
        cells = "".join(
            f'<td class="num">{escape(str(v))}</td>' if c in t.numeric else f"<td>{escape(str(v))}</td>"
            for c, v in zip(t.frame.columns, row))
        rows.append(f"<tr>{cells}</tr>")
    caption = f"<caption>{escape(t.title)}</caption>" if t.title else ""
    note = f'<p class="note">{escape(t.caption)}</p>' if t.caption else ""
    return (f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>{note}")


def _figure(f: Figure) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    return (f'<figure id="fig-{escape(f.id)}"><img alt="{escape(f.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption><strong>{escape(f.title)}.</strong> {escape(f.caption)}</figcaption></figure>")


def _block(b) -> str:
    if isinstance(b, Paragraph):
        return f"<p>{escape(b.text)}</p>"
    if isinstance(b, Bullets):
        tag = "ol" if b.ordered else "ul"
        return f"<{tag}>" + "".join(f"<li>{escape(i)}</li>" for i in b.items) + f"</{tag}>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Figure):
        return _figure(b)
    raise TypeError(f"unknown report block {type(b).__name__}")


def render(report: Report) -> str:
    """The complete HTML document for ``report``."""
    nav = "\n".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in report.sections)
    body = []
    for s in report.sections:
        body.append(f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>')
        body.extend(_block(b) for b in s.blocks)
        body.append("</section>")
    files = ""
    if report.files:
        links = "".join(f'<li><a href="{escape(path)}">{escape(label)}</a> ({escape(path)})</li>'
                        for label, path in report.files.items())
        files = f'<section id="files"><h2>Data files</h2><ul>{links}</ul></section>'
    meta = "".join(f'<p class="meta">{escape(m)}</p>' for m in report.meta)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(report.title)}</h1>{meta}</header>\n<nav>{nav}</nav>\n"
        + "\n".join(body) + files + "\n</body>\n</html>\n"
    )
