"""What every figure shares: the plot registry, the figure style, panels per channel, one legend, titles, saving.

A plot is a function ``plot(rows, out_dir, title, style) -> list of written paths`` registered in :data:`PLOTS`;
it reads only the rows of ``results.csv`` (so ``--plot-only`` never re-simulates), and ``style`` is a resolved
:class:`lssc_sim.plots.catalog.PlotStyle` (a dict: ``width_in``, ``height_in``, ``font_size``, ``legend``). A
family writes each figure as a builder ``rows, title, style -> Figure | None`` (tests inspect its artists) and
registers a thin wrapper that hands it to :func:`draw`. The families register themselves in ``plots/ber.py``,
``plots/image.py``, ``plots/rate.py``, ``plots/codec.py`` and ``plots/bd_table.py``;
:func:`lssc_sim.plots.make.make_plots` imports them. :data:`lssc_sim.plots.catalog.PLOT_KINDS` is the light list
the scenario validator reads.

``style`` may carry more than the figure's looks: ``make_plots`` adds ``bd_anchor`` (the system label
``bd_table`` compares against, None when the scenario names none).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen on the machines this runs on
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402

from lssc_sim.bounds import has_snr  # noqa: E402, F401  (re-exported: the figures' test of a row with an SNR)
from lssc_sim.plots.catalog import PlotStyle  # noqa: E402
from lssc_sim.plots.stats import wilson_interval, zero_error_bound, zero_error_points  # noqa: E402
from lssc_sim.registry import Registry  # noqa: E402

Row = dict[str, Any]
Style = dict[str, Any]
PlotFn = Callable[[list[Row], Path, str, Style], list[Path]]
Builder = Callable[[list[Row], str, Style], "plt.Figure | None"]
PLOTS: Registry[PlotFn] = Registry("plot")

MODULATION_LABELS = {"qpsk": "QPSK", "16qam": "16-QAM", "64qam": "64-QAM", "256qam": "256-QAM"}
QUICK_MARK = "(--quick smoke run: few images, reduced budget)"
TEXT_PATH = TextToPath()  # measures text without a figure, to wrap titles and legend entries that would overflow
SMALL = 0.875  # tick labels and legend relative to the body font: 7 pt at the column preset's 8 pt
EXACT_LABEL = "exact (lossless): PSNR unbounded, arrow on the top edge"
EXACT_MARKER = r"$\uparrow$"  # off the scale, upwards; no line's marker (lines.MARKERS) looks like it


def resolve_style(style: PlotStyle | Mapping[str, Any] | None) -> Style:
    """The resolved style dict: ``PlotStyle().resolved()`` for None, a PlotStyle resolved, a dict as given."""
    if style is None:
        return PlotStyle().resolved()
    if isinstance(style, PlotStyle):
        return style.resolved()
    return dict(style)


def style_context(style: Style):
    """``matplotlib.rc_context`` with the style's fonts, marker sizes and line widths (nothing leaks out).

    Fonts must be set here rather than per artist: tick labels are created lazily while the figure is saved.
    """
    size = float(style["font_size"])
    small = SMALL * size
    return matplotlib.rc_context(
        {
            "font.size": size,
            "axes.titlesize": size,
            "axes.labelsize": size,
            "figure.titlesize": size,
            "xtick.labelsize": small,
            "ytick.labelsize": small,
            "legend.fontsize": small,
            "legend.title_fontsize": small,
            "lines.markersize": 0.45 * size,
            "lines.linewidth": 0.13 * size,
            "legend.handlelength": 2.5,
            "legend.borderaxespad": 0.3,
        }
    )


def draw(build: Builder, rows: list[Row], out_dir: Path, title: str, style: Style | None, name: str) -> list[Path]:
    """Build a figure inside the style's rc context and save it as ``name.png`` and ``name.pdf``."""
    style = resolve_style(style)
    with style_context(style):
        fig = build(rows, title, style)
        return [] if fig is None else save(fig, out_dir, name)


def save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``fig`` as ``name.png`` (150 dpi) and ``name.pdf`` into ``out_dir``, close it, return the paths.

    The figures use constrained layout, which fits titles and legends into the figure: saving at the figure's
    own size keeps a column figure exactly a column wide, so its fonts print at their nominal size.
    """
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths


MAX_COLUMNS = 4  # panels per row: more make a figure too wide to read on a page or a screen


def new_figure(n_panels: int, style: Style, *, sharey: bool = True):
    """``n_panels`` axes, each ``width_in`` wide and ``height_in`` tall, in rows of at most ``MAX_COLUMNS``;
    (fig, axes in reading order)."""
    cols = min(n_panels, MAX_COLUMNS)
    rows = -(-n_panels // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(float(style["width_in"]) * cols, float(style["height_in"]) * rows),
        squeeze=False,
        sharey=sharey,
        layout="constrained",
    )
    for ax in axes.flat[n_panels:]:  # the empty places of the last row
        fig.delaxes(ax)
    return fig, list(axes.flat[:n_panels])


def text_width_in(text: str, font_size: float) -> float:
    """Width in inches of the widest line of ``text`` at ``font_size`` points (the rc font family)."""
    prop = FontProperties(size=font_size)
    return max(TEXT_PATH.get_text_width_height_descent(line, prop, ismath=False)[0] for line in text.split("\n")) / 72


def wrap(text: str, width_in: float, font_size: float, sep: str = " ") -> str:
    """``text`` broken into lines no wider than ``width_in`` at ``font_size`` points, at ``sep`` where it can
    (a legend entry breaks between its `` · `` parts before it breaks within one)."""
    tokens: list[tuple[str, str]] = []  # (what joins it to the token before, token)
    for piece in text.split(sep):
        words = [piece] if text_width_in(piece, font_size) <= width_in else piece.split(" ")
        tokens += [(sep if i == 0 else " ", word) for i, word in enumerate(words)]
    lines: list[str] = []
    for joiner, token in tokens:
        if lines and text_width_in(lines[-1] + joiner + token, font_size) <= width_in:
            lines[-1] += joiner + token
        else:
            lines.append(token)
    return "\n".join(lines)


def set_titles(fig: plt.Figure, axes, panel_names: list[str], title: str, notes: list[str], style: Style) -> None:
    """Panel titles (channels in words), the figure title and its notes (sample sizes) wrapped to fit."""
    size = float(style["font_size"])
    for ax, name in zip(axes, panel_names, strict=True):
        ax.set_title(wrap(name, float(style["width_in"]) * 0.95, size))
    text = "\n".join(wrap(t, fig.get_figwidth() * 0.95, size) for t in [title, *notes] if t)
    if text:
        fig.suptitle(text)


def place_legend(fig: plt.Figure, axes, style: Style):
    """One legend for all panels, entries merged by label, where ``style["legend"]`` says.

    ``inside``: the best corner of the last panel. ``outside``: right of the panels, which keep the figure's
    width between them. ``below``: under the panels in as many columns as fit; the figure grows in height
    by the legend's, so the panels keep theirs (a paper fixes a figure's width, not its height).
    """
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if not entries:
        return None
    size = SMALL * float(style["font_size"])
    handle_in = (2.5 + 0.8 + 2.0) * size / 72  # handle, its pad and the border, in inches
    where = style["legend"]
    if where == "inside":
        width = axes[-1].get_position().width * fig.get_figwidth() * 0.6
        labels = [wrap(k, width, size, " · ") for k in entries]
        return axes[-1].legend(list(entries.values()), labels, loc="best", framealpha=0.8)
    if where == "outside":
        # a legend of the last axes, not of the figure: constrained layout then starts it at the panels' top,
        # below the figure title, and takes its width from the panels
        labels = [wrap(k, fig.get_figwidth() * 0.5 - handle_in, size, " · ") for k in entries]
        legend = axes[-1].legend(
            list(entries.values()), labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0
        )
        _grow_to_fit(fig, legend, vertical=False)
        return legend
    labels = [wrap(k, fig.get_figwidth() - handle_in, size, " · ") for k in entries]
    legend = fig.legend(list(entries.values()), labels, loc="outside lower center")
    renderer = fig.canvas.get_renderer()
    widest = max(t.get_window_extent(renderer).width for t in legend.get_texts()) / fig.dpi
    column_in = widest + (2.5 + 0.8 + 2.0) * size / 72  # handle, its pad, the spacing between columns
    ncols = max(1, min(len(labels), int((fig.get_figwidth() - 0.1) // column_in)))
    if ncols > 1:
        legend.remove()
        legend = fig.legend(list(entries.values()), labels, loc="outside lower center", ncols=ncols)
    _grow_to_fit(fig, legend, vertical=True)
    return legend


def _grow_to_fit(fig: plt.Figure, legend, *, vertical: bool) -> None:
    """Make the figure taller by the legend's height (below), or until the legend hanging from the panels' top
    ends inside it (outside)."""
    width, height = fig.get_size_inches()
    if vertical:
        fig.set_size_inches(width, height + legend.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi)
        return
    for _ in range(3):  # the layout moves the panels' top as the figure grows: a few rounds settle it
        with warnings.catch_warnings():  # a first round too short for a long legend collapses the panels: it grows
            warnings.filterwarnings("ignore", message="constrained_layout not applied")
            fig.draw_without_rendering()
        overhang = -legend.get_window_extent().y0 / fig.dpi + 0.05
        if overhang <= 0.05:
            return
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + overhang)


def rate_uncertainty(ax, xs, errors, trials, color: str) -> float:
    """Draw the uncertainty of the rates ``errors / trials`` on a log axis; returns the lowest value drawn.

    A point with errors gets its 95 % Wilson interval as an error bar (bars, not a band: isolated points
    between error-free ones keep theirs); an error-free point, up to the first one past the last error, a
    hollow triangle at its 95 % upper bound 3/N. Points without counts (NaN) or trials get neither.
    """
    xs, k, n = (np.asarray(v, float) for v in (xs, errors, trials))
    counted = np.flatnonzero(np.isfinite(k) & (n > 0))
    seen = counted[k[counted] > 0]
    lowest = 1.0
    if seen.size:
        rate = k[seen] / n[seen]
        low, high = wilson_interval(k[seen], n[seen])
        # clipped: at k = n the rate and the upper bound are both 1 up to rounding
        spread = np.clip([rate - low, high - rate], 0.0, None)
        ax.errorbar(xs[seen], rate, yerr=spread, fmt="none", ecolor=color, elinewidth=0.8)
        lowest = min(lowest, float(low.min()))
    clean = counted[zero_error_points(xs[counted], k[counted])]
    if clean.size:
        bounds = zero_error_bound(n[clean])
        ax.plot(xs[clean], bounds, "v", color=color, mfc="none", ms=1.4 * plt.rcParams["lines.markersize"])
        lowest = min(lowest, float(bounds.min()))
    return lowest


def uncertainty_entries(ax, zero_label: str) -> None:
    """Legend entries explaining :func:`rate_uncertainty`'s marks, added to ``ax``."""
    size = 1.4 * plt.rcParams["lines.markersize"]
    ax.plot([], [], "v", color="0.4", mfc="none", ms=size, label=zero_label)
    ax.plot([], [], "|", color="0.4", ms=size, label="bars: 95% Wilson interval")


def uses_text(channel_uses_per_pixel: float) -> str:
    """``12.9 ch. uses/px``, or two significant digits below 1 (``0.41 ch. uses/px``)."""
    value = float(channel_uses_per_pixel)
    return f"{value:.1f} ch. uses/px" if value >= 1 else f"{value:.2g} ch. uses/px"


def is_exact(row: Row) -> bool:
    """Whether every image of the row arrived exactly (``psnr_exact``; True or "True" as read back)."""
    return str(row.get("psnr_exact", False)) == "True"


def exact_marks(ax, xs, color: str) -> None:
    """Mark points whose PSNR is unbounded on the top edge of ``ax``, at their x.

    Their ``psnr_db`` is only the bound of one grey level wrong in one sample (~100 dB), no measurement: drawn
    as a value it would read as one and stretch the axis. The marks sit in axes coordinates, so they leave
    the y limits alone; :data:`EXACT_LABEL` explains them in the legend (:func:`exact_entry`).
    """
    if len(xs):
        size = 2.0 * plt.rcParams["lines.markersize"]
        ax.plot(
            xs,
            np.ones(len(xs)),
            marker=EXACT_MARKER,
            ls="none",
            color=color,
            ms=size,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
        )


def exact_entry(ax) -> None:
    """The legend entry of :func:`exact_marks`, added to ``ax``, and room above the highest value drawn: the marks
    then sit clearly above the data, not at the top tick where they would read as its value."""
    size = 2.0 * plt.rcParams["lines.markersize"]
    ax.plot([], [], marker=EXACT_MARKER, ls="none", color="0.3", ms=size, label=EXACT_LABEL)
    room_above(ax)


def room_above(ax, fraction: float = 0.1) -> None:
    """Raise the top of ``ax``'s y axis by ``fraction`` of its span (call once everything is drawn)."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + fraction * (high - low))


def coherence_words(row: Row) -> str:
    """How long one fading gain lasts, in words: ``one gain per image`` (``frame`` of an image system)."""
    coherence = row.get("channel.coherence", "symbol")  # the fading channels' default
    if coherence == "symbol":
        return "one gain per symbol"
    if coherence == "frame":  # a frame is one row of the channel input: a code block or an image
        return "one gain per code block" if row.get("kind") == "ber" else "one gain per image"
    if coherence == "block":
        return f"one gain per {int(row.get('channel.block_length', 64))} channel uses"
    return f"coherence = {coherence}"


def channel_label(row: Row) -> str:
    """The channel of a row in words: ``AWGN``, ``Rayleigh, one gain per image``, ``Rician, K = 6 dB, ...``.

    A channel this module does not know (a plug-in) reads as its name and its parameters, ``key = value``.
    """
    name = row["channel"]
    params = {k.removeprefix("channel."): row[k] for k in sorted(row) if k.startswith("channel.")}
    fading = ["coherence"] + (["block_length"] if params.get("coherence") == "block" else [])
    if name == "awgn":
        words, used = ["AWGN"], []
    elif name == "rayleigh":
        words, used = ["Rayleigh", coherence_words(row)], fading
    elif name == "rician":
        words = ["Rician", f"K = {float(params.get('k_factor_db', 6.0)):g} dB", coherence_words(row)]
        used = ["k_factor_db", *fading]
    elif name == "phase_noise":
        words = ["phase noise", f"linewidth {float(params.get('linewidth_symbol', 0.02)):g} rad/symbol"]
        used = ["linewidth_symbol"]
    elif name == "tdl":  # the grid is the same in every panel of a scenario: its title or README says it
        csi = {"perfect": "perfect CSI", "ls": "LS CSI", "lmmse": "LMMSE CSI"}.get(params.get("csi"), params.get("csi"))
        words = [
            f"TDL-{params.get('model', 'A')} {float(params.get('delay_spread_ns', 30)):g} ns",
            f"{float(params.get('speed_kmh', 3)):g} km/h",
            str(csi),
        ]
        used = list(params)
    else:
        words, used = [str(name)], []
    return ", ".join(words + [f"{k} = {v}" for k, v in params.items() if k not in used])


def panels(rows: list[Row], by_modulation: bool = False) -> dict[str, list[Row]]:
    """Rows grouped by channel (one panel each, named in words), in order of appearance; ``by_modulation``: by
    channel and modulation, the rows without a modulation (analog systems) in every panel of their channel."""
    out: dict[str, list[Row]] = defaultdict(list)
    if not by_modulation:
        for row in rows:
            out[channel_label(row)].append(row)
        return dict(out)
    modulations = list(dict.fromkeys(r["modulation"] for r in rows if r.get("modulation") not in (None, "")))
    for row in rows:
        mod = row.get("modulation")
        for m in [mod] if mod not in (None, "") else modulations or [None]:
            out[channel_label(row) + (f", {MODULATION_LABELS.get(m, m)}" if m else "")].append(row)
    return dict(out)
