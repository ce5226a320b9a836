"""Which rows make one line, what the line is called, and how it looks: one map per scenario, no matplotlib.

A line is a system label (what a family calls a system: chain, modulation, bandwidth) plus every system
parameter whose value varies among that label's rows, so a swept ``receiver.early_stop`` draws two lines
instead of one zig-zag through both. :class:`LineStyles` is built once from all rows of a family, in their
order in results.csv, so a system keeps its colour and marker in every figure of the scenario.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

Row = dict[str, Any]

# Columns that are sweep axes or identity, never a line's parameter: each figure handles them itself.
AXES = frozenset({"system", "kind", "channel", "modulation", "snr_db", "key"})
# System parameters that are not flattened with dots (a system's top-level fields); every dotted column that
# is not a channel parameter is a system parameter too. Counters (miou, bler, images...) are none of these.
TOP_LEVEL_PARAMETERS = frozenset(
    {
        "weights",
        "segmenter",
        "feature_bits",
        "granularity",
        "coder",
        "train",
        "equalizer",
        "batch_size",
        "complexity",
        "demapping",
        "fec",
        "uncoded_block_bits",
        "max_bits",
        "target_bit_errors",
        "target_block_errors",
    }
)

# matplotlib's default cycle, as names so tests can compare them, then the darker half of tab20b, so that a
# figure with more than ten lines (split_computing: 14) repeats no colour
COLOURS = [f"C{i}" for i in range(10)] + ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]
COLOURS += ["#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
DASHES: list[Any] = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]


def parameter_columns(rows: Iterable[Row]) -> list[str]:
    """The system-parameter columns among ``rows``' keys, sorted."""
    columns = {c for row in rows for c in row}
    return sorted(
        c for c in columns if c not in AXES and not c.startswith("channel") and ("." in c or c in TOP_LEVEL_PARAMETERS)
    )


def varying_columns(rows: list[Row]) -> list[str]:
    """The parameter columns whose value (a missing cell counts as a value) differs among ``rows``."""
    return [c for c in parameter_columns(rows) if len({repr(r.get(c)) for r in rows}) > 1]


def short_names(columns: list[str]) -> dict[str, str]:
    """``receiver.early_stop`` -> ``early_stop``, unless two columns would then read the same."""
    last = [c.rsplit(".", 1)[-1] for c in columns]
    return {c: (s if last.count(s) == 1 else c) for c, s in zip(columns, last, strict=True)}


class LineStyles:
    """Line names and looks of one figure family, derived once from all of its rows.

    Parameters
    ----------
    rows : list of dict
        Every row the family may draw, in results.csv order (first appearance fixes colours and markers).
    label : callable
        Row -> the system label, the start of the legend entry.
    colour_by, shape_by : callable, optional
        Row -> the key that picks the colour, and the one that picks marker and line style; both default to
        ``label`` (one colour and one marker per system). The BER figures colour by modulation and shape by
        system, so that the lines of one system read as a family.
    """

    def __init__(
        self,
        rows: list[Row],
        label: Callable[[Row], str],
        *,
        colour_by: Callable[[Row], Hashable] | None = None,
        shape_by: Callable[[Row], Hashable] | None = None,
    ) -> None:
        self.label = label
        self.colour_by = colour_by or label
        self.shape_by = shape_by or label
        by_label: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_label[label(row)].append(row)
        self.varying = {name: varying_columns(group) for name, group in by_label.items()}
        colour_keys = dict.fromkeys(map(self.colour_by, rows))
        self.colours = {key: COLOURS[i % len(COLOURS)] for i, key in enumerate(colour_keys)}
        self.shapes = {key: i for i, key in enumerate(dict.fromkeys(map(self.shape_by, rows)))}
        # a label's variants (its swept parameter values) in order of appearance: the first keeps the plain look
        self.variants: dict[str, list[tuple]] = defaultdict(list)
        for row in rows:
            values = self.values(row)
            if values not in self.variants[label(row)]:
                self.variants[label(row)].append(values)

    def values(self, row: Row) -> tuple:
        """The row's values of its label's varying columns."""
        return tuple(row.get(c) for c in self.varying.get(self.label(row), []))

    def name(self, row: Row) -> str:
        """The legend entry of the row's line: ``system label · early_stop=False``."""
        label = self.label(row)
        columns = self.varying.get(label, [])
        names = short_names(columns)
        return " · ".join([label, *(f"{names[c]}={row.get(c)}" for c in columns)])

    def group(self, rows: list[Row], x: str = "snr_db") -> dict[str, list[Row]]:
        """``rows`` split into lines (legend entry -> rows sorted by ``x``), in order of appearance."""
        lines: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            lines[self.name(row)].append(row)
        return {name: sorted(group, key=lambda r: float(r[x])) for name, group in lines.items()}

    def colour(self, row: Row) -> str:
        """The row's colour (a key unseen when the map was built gets the next colour of the cycle)."""
        key = self.colour_by(row)
        if key not in self.colours:
            self.colours[key] = COLOURS[len(self.colours) % len(COLOURS)]
        return self.colours[key]

    def look(self, row: Row) -> dict[str, Any]:
        """Keyword arguments for ``Axes.plot``: colour, marker, line style; a swept variant gets the next line
        style and a hollow marker, so it differs from its system's first line even in grey print."""
        shape = self.shapes.setdefault(self.shape_by(row), len(self.shapes))
        variants = self.variants[self.label(row)]
        values = self.values(row)
        variant = variants.index(values) if values in variants else len(variants)
        look = {
            "color": self.colour(row),
            "marker": MARKERS[shape % len(MARKERS)],
            "ls": DASHES[(shape + variant) % len(DASHES)],
        }
        if variant:
            look["mfc"] = "none"
        return look
