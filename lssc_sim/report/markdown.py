"""The report's blocks (:mod:`lssc_sim.report.document`) as GitHub-flavoured Markdown (``report.md``).

Figures are linked by relative path (a Markdown file cannot embed them); the Markdown tables the plots wrote are
included as they are, their headings moved below the report's own. ``<`` in text is written as an entity, so
that a title such as ``<script>`` is shown and never run by a viewer that renders HTML in Markdown.
"""

from __future__ import annotations

from lssc_sim.report.document import Block, Bullets, Code, Figure, Heading, Included, Notice, Paragraph, Table

INCLUDED_LEVEL = 3  # an included file's top heading ("# ...") becomes "### ...", below "## Figures and tables"


def text(value: str) -> str:
    """Text for Markdown: ``<`` as an entity outside inline code (in a code span it would show as typed), so no
    HTML tag can start; ``>`` and ``&`` stay readable. With an odd number of backticks there is no code span."""
    parts = value.split("`")
    if len(parts) % 2 == 0:
        return _entities(value)
    return "`".join(p if i % 2 else _entities(p) for i, p in enumerate(parts))


def _entities(value: str) -> str:
    return value.replace("<", "&lt;")


def cell(value: str) -> str:
    """A table cell: :func:`text`, the pipe escaped, line breaks as spaces."""
    return text(value).replace("|", "\\|").replace("\n", " ")


def table(block: Table) -> list[str]:
    """A pipe table (folded in ``<details>`` when long, which GitHub renders)."""
    align = ["---:" if i in block.numeric else "---" for i in range(len(block.header))]
    lines = [
        "| " + " | ".join(cell(c) for c in block.header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(cell(c) for c in row) + " |" for row in block.rows),
    ]
    caption = [f"*{text(block.caption)}*", ""] if block.caption else []
    if block.folded:
        summary = f"{text(block.caption) + ': ' if block.caption else ''}{len(block.rows)} rows"
        return [f"<details><summary>{summary}</summary>", "", *lines, "", "</details>"]
    return [*caption, *lines]


def demote(markdown: str, level: int = INCLUDED_LEVEL) -> str:
    """``markdown`` with its headings moved down so that its top level becomes ``level`` (at most 6), fenced
    code left alone."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            if line[hashes : hashes + 1] == " ":
                line = "#" * min(6, hashes + level - 1) + line[hashes:]
        out.append(line)
    return "\n".join(out)


def links(paths) -> str:
    """``[a.csv](a.csv) · [b.pdf](b.pdf)``, with relative POSIX paths."""
    return " · ".join(f"[{p.name}](<{p.as_posix()}>)" for p in paths)


def block(item: Block) -> list[str]:
    """One block as Markdown lines."""
    if isinstance(item, Heading):
        return ["#" * item.level + " " + text(item.text)]
    if isinstance(item, Paragraph):
        return [text(item.text)]
    if isinstance(item, Notice):
        return [f"> **{text(item.text)}**"]
    if isinstance(item, Bullets):
        return [f"- `{i}`" if item.code else f"- {text(i)}" for i in item.items]
    if isinstance(item, Table):
        return table(item)
    if isinstance(item, Code):
        fence = "````" if "```" in item.text else "```"
        body = [fence + item.language, item.text.rstrip("\n"), fence]
        return [f"<details><summary>{text(item.summary)}</summary>", "", *body, "", "</details>"]
    if isinstance(item, Figure):
        out = [f"#### {text(item.name)}", ""]
        if item.png is not None:
            out += [f"![{text(item.name)}](<{item.png.as_posix()}>)", ""]
        return out + [links(p for p in (item.png, item.pdf) if p is not None)]
    if isinstance(item, Included):
        out = [demote(item.text).rstrip("\n")] if item.text.strip() else [f"#### {text(item.name)}"]
        return out + (["", links(item.links)] if item.links else [])
    raise TypeError(f"no Markdown for {type(item).__name__}")


def render(blocks: list[Block]) -> str:
    """The whole report as Markdown: blocks separated by blank lines."""
    return "\n\n".join("\n".join(block(b)) for b in blocks) + "\n"
