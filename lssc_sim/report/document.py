"""The report as a list of blocks, written once and rendered twice: as Markdown (:mod:`lssc_sim.report.markdown`)
and as HTML (:mod:`lssc_sim.report.html`), so that both files always say the same.

Text in a block is plain text except for inline code between backticks (file names, keys), which both renderers
keep as code; the renderers escape everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LONG_TABLE = 40  # rows above which a table is folded (<details>): a sweep of 100 lines must not bury the rest


@dataclass(frozen=True)
class Heading:
    """A section heading; ``level`` 1 is the report's title."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text."""

    text: str


@dataclass(frozen=True)
class Notice:
    """A paragraph a reader must not miss (the ``--quick`` mark, a missing file)."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bullet list; ``code`` renders every item as inline code (command-line overrides)."""

    items: tuple[str, ...]
    code: bool = False


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells; ``numeric`` marks the right-aligned columns (by index)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = field(default_factory=frozenset)
    caption: str = ""

    @property
    def folded(self) -> bool:
        """Whether the table is long enough to be shown folded."""
        return len(self.rows) > LONG_TABLE


@dataclass(frozen=True)
class Code:
    """A block of verbatim text (the resolved scenario), shown folded under ``summary``."""

    text: str
    language: str
    summary: str


@dataclass(frozen=True)
class Figure:
    """One figure: its PNG (embedded in HTML, linked in Markdown) and PDF, paths relative to the report."""

    name: str
    png: Path | None
    pdf: Path | None
    png_bytes: bytes | None = None  # the PNG's content for the HTML; None when there is no PNG


@dataclass(frozen=True)
class Included:
    """A Markdown file a plot wrote (``bd_table.md``...): its text, included as it is, and its companion files."""

    name: str
    text: str
    links: tuple[Path, ...] = ()


Block = Heading | Paragraph | Notice | Bullets | Table | Code | Figure | Included
