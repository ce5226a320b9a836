"""Drawing a scenario's figures from its results folder:
``make_plots(out_dir, names, title, style, quick, bd_anchor=...)``."""

from __future__ import annotations

from pathlib import Path

from lssc_sim.engine.results import read_csv

# each family registers its plots
from lssc_sim.plots import bandwidth, bd_table, ber, codec, compression, image, rate, split  # noqa: F401
from lssc_sim.plots.base import PLOTS, QUICK_MARK, resolve_style
from lssc_sim.plots.catalog import PlotStyle


def make_plots(
    out_dir: str | Path,
    names: list[str],
    title: str = "",
    style: PlotStyle | None = None,
    quick: bool = False,
    *,
    bd_anchor: str | None = None,
) -> list[Path]:
    """Draw the named plots from ``out_dir/results.csv``; returns the files written.

    Parameters
    ----------
    out_dir : str or Path
        The scenario's results folder; the figures are written next to its results.csv.
    names : list of str
        Registered plot names (:data:`lssc_sim.plots.catalog.PLOT_KINDS`).
    title : str
        The scenario's title, the first line of every figure's title.
    style : PlotStyle, optional
        Size, fonts and legend placement; ``PlotStyle()`` (the page preset) when None.
    quick : bool
        The results come from a ``--quick`` smoke run: every title says so, so that such a figure is never
        mistaken for a result.
    bd_anchor : str, optional
        The system label ``bd_table`` compares every rate curve against (the scenario's ``bd_anchor``); handed
        to the plots as ``style["bd_anchor"]``. None: ``bd_table`` falls back to the one JPEG 2000 system.
    """
    out_dir = Path(out_dir)
    rows = read_csv(out_dir / "results.csv")
    resolved = {**resolve_style(style), "bd_anchor": bd_anchor}
    if quick:
        title = f"{title} {QUICK_MARK}".strip()
    written: list[Path] = []
    for name in names:
        written += PLOTS.get(name)(rows, out_dir, title, resolved)
    return written
