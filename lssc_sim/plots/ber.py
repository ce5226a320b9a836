"""BER and BLER figures of the ``ber`` system: against Eb/N0 or SNR, theory for uncoded links, Shannon limits.

:func:`error_rate_figure` builds any of the three (rows, title, style -> Figure); the registered wrappers save
them. Colours follow the modulation and markers the system, both fixed once from every ``ber`` row
(:func:`ber_styles`), so a link looks the same in ``ber_vs_ebno``, ``ber_vs_snr`` and ``bler_vs_ebno``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lssc_sim import snr, theory
from lssc_sim.plots.base import (
    MODULATION_LABELS,
    PLOTS,
    Row,
    Style,
    draw,
    new_figure,
    panels,
    place_legend,
    plt,
    rate_uncertainty,
    set_titles,
    uncertainty_entries,
)
from lssc_sim.plots.lines import LineStyles
from lssc_sim.plots.stats import per_point

# metric -> (error count, trials, what a trial is called in the title)
COUNTS = {"ber": ("bit_errors", "bits", "bits"), "bler": ("block_errors", "blocks", "code blocks")}


def link_label(row: Row) -> str:
    """``ldpc · QPSK · LDPC r=0.50 · 1.00 ch. uses/bit`` for a BER row."""
    mod = MODULATION_LABELS.get(row.get("modulation", ""), row.get("modulation", ""))
    rate = float(row.get("code_rate", 1.0))
    code = f"LDPC r={rate:.2f}" if "fec.k" in row else "uncoded"
    uses = 1.0 / (rate * float(row["bits_per_symbol"]))
    system = "" if row["system"] == code else f"{row['system']} · "
    return f"{system}{mod} · {code} · {uses:.2f} ch. uses/bit"


def ber_styles(rows: list[Row]) -> LineStyles:
    """Colour by modulation, marker and line style by system, so lines of one system read as a family."""
    return LineStyles(
        [r for r in rows if r.get("kind") == "ber"],
        link_label,
        colour_by=lambda r: r.get("modulation", ""),
        shape_by=lambda r: r["system"],
    )


def error_rate_figure(
    rows: list[Row], title: str, style: Style, *, metric: str, x: str, coded_only: bool, with_theory_curves: bool
) -> plt.Figure | None:
    """BER or BLER (``metric``) against ``x`` (``ebno_db`` or ``snr_db``), one panel per channel.

    Points carry a 95 % Wilson interval over their trials (error bars); for the BER it treats the bits as
    independent, which errors in bursts within a code block are not, so it is a lower bound on the spread.
    A point without errors is marked at its 95 % upper bound 3/N.
    """
    styles = ber_styles(rows)
    rows = [r for r in rows if r.get("kind") == "ber" and (not coded_only or "fec.k" in r)]
    if not rows:
        return None
    errors, trials, unit = COUNTS[metric]
    by_channel = panels(rows)
    fig, axes = new_figure(len(by_channel), style)
    lowest = 1.0  # over all panels: they share the y axis
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        limits = set()
        for label, line_rows in styles.group(panel_rows, x).items():
            xs = np.array([r[x] for r in line_rows], float)
            ys = np.array([r[metric] for r in line_rows], float)
            k = np.array([r.get(errors, np.nan) for r in line_rows], float)
            n = np.array([r.get(trials, np.nan) for r in line_rows], float)
            first = line_rows[0]
            look = styles.look(first)
            coded = "fec.k" in first
            # simulated points as markers; joined by a line only where no theory curve runs through them
            with_theory = with_theory_curves and not coded and theory_of(first) is not None
            seen = ys > 0
            if with_theory:
                look["ls"] = "none"
            # NaN breaks the line where no errors were seen, so it never bridges a gap in the data
            ax.semilogy(xs, np.where(seen, ys, np.nan), **look, label=label)
            lowest = min([lowest, *ys[seen], rate_uncertainty(ax, xs, k, n, look["color"])])
            if with_theory:
                _theory_curve(ax, first, xs, x, look["color"])
            if coded and x == "ebno_db":
                limits.add(round(float(first["code_rate"]) * int(first["bits_per_symbol"]), 4))
        for i, efficiency in enumerate(sorted(limits)):
            limit = float(theory.shannon_ebno_limit_db(efficiency))
            ax.axvline(
                limit,
                color="0.25",
                ls=(0, (1, 1 + i)),
                lw=1.2,
                label=f"Shannon limit, {efficiency:.2f} bit/ch. use: {limit:.2f} dB",
            )
        ax.set_xlabel("$E_b/N_0$ (dB)" if x == "ebno_db" else "SNR $E_s/N_0$ (dB)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylim(max(lowest / 3, 1e-7), 1.5)
    uncertainty_entries(axes[-1], "no errors seen: 95% upper bound 3/N")
    axes[0].set_ylabel({"ber": "bit error rate", "bler": "block error rate"}[metric])
    set_titles(fig, axes, list(by_channel), title, [per_point((r.get(trials) for r in rows), unit)], style)
    place_legend(fig, axes, style)
    return fig


def theory_of(row: Row):
    """The exact uncoded BER of a row's channel (``ber(ebno_db, modulation)``), or None where there is none.

    Over OFDM with a non-line-of-sight TDL (A, B, C) and perfect CSI every resource element sees a CN(0, 1) gain:
    the uncoded BER is flat Rayleigh fading's, whatever the delay spread and the speed.
    """
    if row["channel"] == "tdl":
        nlos = row.get("channel.model") in ("A", "B", "C") and row.get("channel.csi") == "perfect"
        return theory.ber_rayleigh if nlos else None
    return {"awgn": theory.ber_awgn, "rayleigh": theory.ber_rayleigh}.get(row["channel"])


def _theory_curve(ax, row: Row, xs: np.ndarray, x: str, color: str) -> None:
    fn = theory_of(row)
    grid = np.linspace(xs.min(), xs.max(), 200)
    m = int(row["bits_per_symbol"])
    ebno = grid if x == "ebno_db" else snr.snr_db_to_ebno_db(grid, m, 1.0)
    ber = fn(ebno, row["modulation"])
    keep = ber > 1e-9
    mod = MODULATION_LABELS.get(row["modulation"], row["modulation"])
    ax.semilogy(grid[keep], ber[keep], "-", color=color, lw=1, alpha=0.7, label=f"theory · {mod} (exact, Gray)")


def ber_vs_ebno_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """BER against Eb/N0, one panel per channel, theory lines for uncoded links, Shannon limits dotted."""
    return error_rate_figure(rows, title, style, metric="ber", x="ebno_db", coded_only=False, with_theory_curves=True)


def ber_vs_snr_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """BER against SNR (Es/N0), one panel per channel."""
    return error_rate_figure(rows, title, style, metric="ber", x="snr_db", coded_only=False, with_theory_curves=True)


def bler_vs_ebno_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Block error rate of the coded links against Eb/N0, Shannon limits dotted."""
    return error_rate_figure(rows, title, style, metric="bler", x="ebno_db", coded_only=True, with_theory_curves=False)


@PLOTS.register("ber_vs_ebno")
def ber_vs_ebno(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`ber_vs_ebno_figure` as ``ber_vs_ebno.{png,pdf}``."""
    return draw(ber_vs_ebno_figure, rows, out_dir, title, style, "ber_vs_ebno")


@PLOTS.register("ber_vs_snr")
def ber_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`ber_vs_snr_figure` as ``ber_vs_snr.{png,pdf}``."""
    return draw(ber_vs_snr_figure, rows, out_dir, title, style, "ber_vs_snr")


@PLOTS.register("bler_vs_ebno")
def bler_vs_ebno(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`bler_vs_ebno_figure` as ``bler_vs_ebno.{png,pdf}``."""
    return draw(bler_vs_ebno_figure, rows, out_dir, title, style, "bler_vs_ebno")
