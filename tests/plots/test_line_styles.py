"""One look per system in every figure of a scenario, and one line per swept parameter value."""

from __future__ import annotations

import matplotlib
import pytest

from lssc_sim.plots import ber, image
from lssc_sim.plots.base import plt, resolve_style, style_context
from lssc_sim.plots.catalog import PlotStyle
from lssc_sim.plots.lines import LineStyles, parameter_columns, varying_columns

IMAGE_FIGURES = (image.miou_figure, image.bler_figure, image.images_lost_figure)
BER_FIGURES = (ber.ber_vs_ebno_figure, ber.ber_vs_snr_figure, ber.bler_vs_ebno_figure)


def drawn_lines(build, rows, style=None):
    """Legend label -> Line2D of the data lines a builder draws (proxies without data left out)."""
    style = resolve_style(style)
    with style_context(style):
        fig = build(rows, "", style)
    lines = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_") and len(line.get_xdata()):
                lines.setdefault(line.get_label(), line)
    plt.close(fig)
    return lines


def test_parameter_columns_are_dotted_or_known_system_fields():
    row = {
        "system": "s",
        "kind": "digital_image",
        "channel": "rayleigh",
        "channel.coherence": "frame",
        "modulation": "qpsk",
        "snr_db": 1.0,
        "key": "k",
        "fec.rate": 0.5,
        "receiver.early_stop": True,
        "weights": "w",
        "miou": 0.9,
        "images": 100,
        "bler": 0.1,
    }
    assert parameter_columns([row]) == ["fec.rate", "receiver.early_stop", "weights"]
    assert varying_columns([row, {**row, "receiver.early_stop": False, "miou": 0.5}]) == ["receiver.early_stop"]


def test_a_system_has_one_colour_and_marker_in_all_three_image_figures(make):
    rows = make.image_sweep()
    drawn = [drawn_lines(build, rows) for build in IMAGE_FIGURES]
    digital = [label for label in drawn[1] if label.startswith("PNG")]
    assert len(digital) == 2
    for label in digital:
        looks = {(d[label].get_color(), d[label].get_marker(), str(d[label].get_linestyle())) for d in drawn}
        assert len(looks) == 1, (label, looks)
    # the semantic system, drawn first in results.csv, keeps its colour, and no two systems share one
    colours = {label: line.get_color() for label, line in drawn[0].items() if " ch. uses/px" in label}
    assert len(set(colours.values())) == len(colours) == 3
    # the styles are fixed by all rows: a figure given only the digital rows' lines draws them the same
    assert drawn_lines(image.bler_figure, rows)[digital[0]].get_color() == drawn[0][digital[0]].get_color()


def test_a_swept_system_parameter_draws_one_line_per_value(make):
    rows = [
        make.digital(s, "qpsk", lost=float(s < cliff), **{"receiver.early_stop": stop})
        for stop, cliff in ((True, 2), (False, 3))
        for s in range(-2, 8)
    ]
    for build in IMAGE_FIGURES:
        lines = drawn_lines(build, rows)
        names = sorted(k for k in lines if k.startswith("PNG"))
        assert names == [
            "PNG + LDPC r=0.50 + QPSK · 6.5 ch. uses/px · early_stop=False",
            "PNG + LDPC r=0.50 + QPSK · 6.5 ch. uses/px · early_stop=True",
        ]
        first, second = (lines[n] for n in reversed(names))  # True appears first in the rows
        assert list(first.get_xdata()) == list(range(-2, 8))  # one point per SNR: no zig-zag between values
        assert first.get_color() == second.get_color()  # one system: one colour ...
        assert first.get_linestyle() != second.get_linestyle()  # ... a line style per value
        assert second.get_markerfacecolor() == "none"


def test_a_parameter_already_in_the_label_adds_nothing():
    rows = [{"system": "png", "kind": "digital_image", "fec.rate": r, "snr_db": 0.0} for r in (0.5, 0.75)]
    styles = LineStyles(rows, lambda r: f"r={r['fec.rate']}")
    assert [styles.name(r) for r in rows] == ["r=0.5", "r=0.75"]


def test_ber_colours_follow_the_modulation_in_all_three_figures(make):
    rows = [
        make.ber(s, system, mod) for system in ("uncoded", "ldpc") for mod in ("qpsk", "16qam") for s in range(0, 12)
    ]
    drawn = [drawn_lines(build, rows) for build in BER_FIGURES]
    coded = [label for label in drawn[2] if label.startswith("ldpc")]
    assert len(coded) == 2
    for label in coded:
        assert len({(d[label].get_color(), d[label].get_marker()) for d in drawn}) == 1
    qpsk = [line.get_color() for label, line in drawn[0].items() if "QPSK" in label and " · " in label]
    assert len(set(qpsk)) == 1  # uncoded, coded and theory QPSK share the modulation's colour


@pytest.mark.parametrize("preset", ["column", "page"])
def test_fonts_do_not_leak(make, preset):
    before = dict(matplotlib.rcParams)
    drawn_lines(image.miou_figure, make.image_sweep(step=5), PlotStyle(preset=preset).resolved())
    assert matplotlib.rcParams["font.size"] == before["font.size"]
    assert matplotlib.rcParams["legend.fontsize"] == before["legend.fontsize"]
