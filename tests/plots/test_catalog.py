"""The light plot catalogue the scenario validator reads matches the registered plot functions."""

from __future__ import annotations

import inspect

from lssc_sim.plots import make  # noqa: F401  (registers every family's plots)
from lssc_sim.plots.base import PLOTS
from lssc_sim.plots.catalog import PLOT_KINDS, PlotStyle


def test_catalog_names_every_registered_plot():
    assert set(PLOT_KINDS) == set(PLOTS.names())


def test_every_plot_takes_rows_out_dir_title_and_style():
    for name in PLOTS.names():
        assert list(inspect.signature(PLOTS.get(name)).parameters) == ["rows", "out_dir", "title", "style"], name


def test_style_presets_resolve():
    page = {"width_in": 7.0, "height_in": 4.2, "font_size": 10.0, "legend": "outside", "panels": "channel"}
    assert PlotStyle().resolved() == page
    column = PlotStyle(preset="column", legend="inside", panels="channel_and_modulation").resolved()
    assert column == {
        "width_in": 3.5,
        "height_in": 2.8,
        "font_size": 8.0,
        "legend": "inside",
        "panels": "channel_and_modulation",
    }
