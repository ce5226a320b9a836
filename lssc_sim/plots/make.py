"""Drawing a scenario's figures from its results folder: ``make_plots(out_dir, names, title)``."""

from __future__ import annotations

from pathlib import Path

from lssc_sim.engine.results import read_csv
from lssc_sim.plots import ber, codec, image  # noqa: F401  (each family registers its plots)
from lssc_sim.plots.base import PLOTS


def make_plots(out_dir: str | Path, names: list[str], title: str = "") -> list[Path]:
    """Draw the named plots from ``out_dir/results.csv``; returns the files written."""
    out_dir = Path(out_dir)
    rows = read_csv(out_dir / "results.csv")
    written: list[Path] = []
    for name in names:
        written += PLOTS.get(name)(rows, out_dir, title)
    return written
