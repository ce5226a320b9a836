"""What every figure shares: the plot registry, saving as PNG and PDF, panels per channel, one legend, labels.

A plot is a function ``plot(rows, out_dir, title) -> list of written paths`` registered in :data:`PLOTS`; it
reads only the rows of ``results.csv`` (so ``--plot-only`` never re-simulates). The families register
themselves in ``plots/ber.py``, ``plots/image.py`` and ``plots/codec.py``; :func:`lssc_sim.plots.make.make_plots`
imports them. :data:`lssc_sim.plots.catalog.PLOT_KINDS` is the light list the scenario validator reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen on the machines this runs on
import matplotlib.pyplot as plt  # noqa: E402

from lssc_sim.registry import Registry  # noqa: E402

Row = dict[str, Any]
PlotFn = Callable[[list[Row], Path, str], list[Path]]
PLOTS: Registry[PlotFn] = Registry("plot")

MODULATION_LABELS = {"qpsk": "QPSK", "16qam": "16-QAM", "64qam": "64-QAM", "256qam": "256-QAM"}


def save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``name.png`` (150 dpi) and ``name.pdf`` into ``out_dir``, close it, return the paths."""
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths


def channel_label(row: Row) -> str:
    """``rayleigh (coherence=frame)`` from a row's channel columns."""
    params = [f"{k.removeprefix('channel.')}={row[k]}" for k in sorted(row) if k.startswith("channel.")]
    return row["channel"] + (f" ({', '.join(params)})" if params else "")


def panels(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows grouped by channel (one panel each), in order of appearance."""
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        out[channel_label(row)].append(row)
    return dict(out)


def legend_right(fig: plt.Figure, axes) -> None:
    """One legend for all panels (entries merged by label), to the right of the last panel."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    axes[-1].legend(entries.values(), entries.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    borderaxespad=0)
