"""The report's blocks (:mod:`lssc_sim.report.document`) as one self-contained HTML page (``report.html``).

Self-contained: the figures are embedded as base64 PNG data URIs and the style sheet is inline, so the file can be
mailed or opened offline; it needs no JavaScript (folded parts are ``<details>``). The PDFs and CSVs are linked
by relative path. Every piece of text passes through :func:`html.escape`; the Markdown tables the plots wrote are
rendered by :func:`markdown_to_html`, a small reader of the subset they use (headings, pipe tables, bullet
lists, paragraphs, inline code).
"""

from __future__ import annotations

import base64
import html
import re

from lssc_sim.report.document import (
    LONG_TABLE,
    Block,
    Bullets,
    Code,
    Figure,
    Heading,
    Included,
    Notice,
    Paragraph,
    Table,
)

INCLUDED_LEVEL = 3  # an included file's "# ..." becomes <h3>, below "Figures and tables"
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; background: #fff; }
h1 { font-size: 1.7em; margin-bottom: 0.3em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h4 { margin-bottom: 0.3em; }
nav ul { columns: 2; }
.scroll { overflow-x: auto; margin: 0.5em 0 1.5em; }
table { border-collapse: collapse; font-size: 0.88em; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.55em; vertical-align: top; text-align: left; }
th { background: #f0f2f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0 2em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; line-height: 1.35; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em;
       background: #f3f4f6; padding: 0 0.2em; border-radius: 3px; }
pre code { background: none; padding: 0; }
.notice { border-left: 4px solid #d9822b; background: #fff4e5; padding: 0.5em 1em; font-weight: 600; }
details { margin: 0.5em 0 1em; }
summary { cursor: pointer; color: #1a5fb4; }
"""
_ALIGN = re.compile(r"^\s*:?-{3,}:?\s*$")


def inline(text: str) -> str:
    """Text as HTML: escaped, and `code` spans (balanced backticks) as ``<code>``."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # unbalanced: no code span
        return html.escape(text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


def html_table(header, rows, numeric=frozenset(), caption: str = "") -> str:
    """A ``<table>`` of text cells (escaped, inline code kept); ``numeric`` column indices right-aligned; folded
    in ``<details>`` beyond :data:`~lssc_sim.report.document.LONG_TABLE` rows."""

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{inline(c)}</th>" for i, c in enumerate(header))
    body = "\n".join(
        "<tr>" + "".join(f"<td{cls(i)}>{inline(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    cap = f"<caption>{inline(caption)}</caption>" if caption and len(rows) <= LONG_TABLE else ""
    table = f'<div class="scroll"><table>{cap}\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'
    if len(rows) > LONG_TABLE:
        summary = f"{inline(caption) + ': ' if caption else ''}{len(rows)} rows (click to open)"
        return f"<details><summary>{summary}</summary>\n{table}\n</details>"
    return table


def split_row(line: str) -> list[str]:
    """The cells of one pipe-table line: outer pipes dropped, ``\\|`` kept as a pipe inside a cell."""
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def pipe_table_to_html(lines: list[str]) -> str:
    """A Markdown pipe table (header, alignment row, body) as an HTML table; right-aligned columns (``---:``)
    stay right-aligned. Lines without an alignment row are read as body rows under the first line."""
    header = split_row(lines[0])
    body = lines[1:]
    numeric: frozenset[int] = frozenset()
    if body and all(_ALIGN.match(c) for c in split_row(body[0])):
        numeric = frozenset(i for i, c in enumerate(split_row(body[0])) if c.strip().endswith(":"))
        body = body[1:]
    rows = [split_row(line) for line in body]
    width = len(header)
    rows = [(r + [""] * width)[:width] for r in rows]  # a short or long row must not shift the columns
    return html_table(header, rows, numeric)


def markdown_to_html(markdown: str, level: int = INCLUDED_LEVEL) -> str:
    """The Markdown subset the plots write (headings, pipe tables, ``-`` lists, paragraphs, fenced code) as HTML;
    the top heading level becomes ``level``. Anything else is shown as escaped paragraph text."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1 : end]))}</code></pre>")
            i = end + 1
        elif re.match(r"^#{1,6} ", stripped):
            hashes = len(stripped) - len(stripped.lstrip("#"))
            n = min(6, hashes + level - 1)
            out.append(f"<h{n}>{inline(stripped[hashes:].strip())}</h{n}>")
            i += 1
        elif stripped.startswith("|"):
            end = i
            while end < len(lines) and lines[end].strip().startswith("|"):
                end += 1
            out.append(pipe_table_to_html(lines[i:end]))
            i = end
        elif re.match(r"^[-*] ", stripped):
            items = []
            while i < len(lines) and re.match(r"^[-*] ", lines[i].strip()):
                items.append(f"<li>{inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#{1,6} |\||[-*] |```)", lines[i].strip()):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para))}</p>")
    return "\n".join(out)


def _link(path, label: str) -> str:
    return f'<a href="{html.escape(path.as_posix(), quote=True)}">{html.escape(label)}</a>'


def block(item: Block) -> str:
    """One block as HTML."""
    if isinstance(item, Heading):
        anchor = f' id="{_slug(item.text)}"' if item.level == 2 else ""
        return f"<h{item.level}{anchor}>{inline(item.text)}</h{item.level}>"
    if isinstance(item, Paragraph):
        return f"<p>{inline(item.text)}</p>"
    if isinstance(item, Notice):
        return f'<p class="notice">{inline(item.text)}</p>'
    if isinstance(item, Bullets):
        cells = (f"<code>{html.escape(i)}</code>" if item.code else inline(i) for i in item.items)
        return "<ul>" + "".join(f"<li>{c}</li>" for c in cells) + "</ul>"
    if isinstance(item, Table):
        return html_table(item.header, item.rows, item.numeric, item.caption)
    if isinstance(item, Code):
        language = html.escape(item.language, quote=True)
        return (
            f"<details><summary>{inline(item.summary)}</summary>\n"
            f'<pre><code class="language-{language}">{html.escape(item.text)}</code></pre>\n</details>'
        )
    if isinstance(item, Figure):
        links = [_link(p, p.suffix[1:].upper()) for p in (item.pdf, item.png) if p is not None]
        caption = f"<figcaption><b>{html.escape(item.name)}</b> · {' · '.join(links)}</figcaption>"
        if item.png_bytes is None:
            return f"<figure>{caption}</figure>"
        data = base64.b64encode(item.png_bytes).decode("ascii")
        image = f'<img src="data:image/png;base64,{data}" alt="{html.escape(item.name, quote=True)}">'
        return f"<figure>{image}\n{caption}</figure>"
    if isinstance(item, Included):
        body = markdown_to_html(item.text) if item.text.strip() else f"<h4>{html.escape(item.name)}</h4>"
        links = f"<p>{' · '.join(_link(p, p.name) for p in item.links)}</p>" if item.links else ""
        return body + links
    raise TypeError(f"no HTML for {type(item).__name__}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def render(blocks: list[Block]) -> str:
    """The whole report as an HTML page: the title, a list of the sections, then every block."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "Report")
    sections = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    nav = "<nav><ul>" + "".join(f'<li><a href="#{_slug(b.text)}">{inline(b.text)}</a></li>' for b in sections)
    body = [block(b) for b in blocks]
    first = next((i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.level == 2), len(blocks))
    body.insert(first, nav + "</ul></nav>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
