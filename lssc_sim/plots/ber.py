"""BER and BLER figures of the ``ber`` system: against Eb/N0 or SNR, theory for uncoded links, Shannon limits."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from lssc_sim import snr, theory
from lssc_sim.plots.base import MODULATION_LABELS, PLOTS, Row, legend_right, panels, plt, save

THEORY_CHANNELS = ("awgn", "rayleigh")  # channels with a closed-form uncoded BER in lssc_sim.theory


def link_label(row: Row) -> str:
    """``ldpc · QPSK · LDPC r=0.50 · 1.00 ch. uses/bit`` for a BER row."""
    mod = MODULATION_LABELS.get(row.get("modulation", ""), row.get("modulation", ""))
    rate = float(row.get("code_rate", 1.0))
    code = f"LDPC r={rate:.2f}" if "fec.k" in row else "uncoded"
    uses = 1.0 / (rate * float(row["bits_per_symbol"]))
    system = "" if row["system"] == code else f"{row['system']} · "
    return f"{system}{mod} · {code} · {uses:.2f} ch. uses/bit"


def _lines(rows: list[Row]) -> dict[str, list[Row]]:
    lines: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        lines[link_label(row)].append(row)
    return dict(lines)


SYSTEM_STYLES = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", (0, (5, 1)))]


def _style(rows: list[Row], row: Row) -> tuple[str, tuple]:
    """Colour by modulation, marker and line style by system, so lines of one system read as a family."""
    modulations = sorted({r.get("modulation", "") for r in rows}, key=lambda m: (len(m), m))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    color = f"C{modulations.index(row.get('modulation', '')) % 10}"
    return color, SYSTEM_STYLES[systems.index(row["system"]) % len(SYSTEM_STYLES)]


def _error_rate_plot(rows: list[Row], out_dir: Path, title: str, *, metric: str, x: str, name: str,
                     coded_only: bool, with_theory_curves: bool) -> list[Path]:
    rows = [r for r in rows if r.get("kind") == "ber" and (not coded_only or "fec.k" in r)]
    if not rows:
        return []
    trials = {"ber": "bits", "bler": "blocks"}[metric]
    by_channel = panels(rows)
    fig, axes = plt.subplots(1, len(by_channel), figsize=(6.4 * len(by_channel) + 3.2, 5.0), squeeze=False, sharey=True)
    for ax, (panel, panel_rows) in zip(axes[0], by_channel.items(), strict=True):
        lowest, limits = 1.0, set()
        for label, line_rows in _lines(panel_rows).items():
            line_rows = sorted(line_rows, key=lambda r: r[x])
            xs = np.array([r[x] for r in line_rows], float)
            ys = np.array([r[metric] for r in line_rows], float)
            first = line_rows[0]
            color, (marker, style) = _style(panel_rows, first)
            coded = "fec.k" in first
            # simulated points as markers; joined by a line only where no theory curve runs through them
            with_theory = with_theory_curves and not coded and first["channel"] in THEORY_CHANNELS
            seen = ys > 0
            # NaN breaks the line where no errors were seen, so it never bridges a gap in the data
            ax.semilogy(xs, np.where(seen, ys, np.nan), marker=marker, ls="none" if with_theory else style,
                        color=color, ms=4, label=label)
            lowest = min([lowest, *ys[seen]])
            # Zero errors cannot sit on a log axis: mark them at their 95% upper bound 3/N, up to the first one
            # past the last error (beyond it the curve only keeps falling).
            last = xs[seen].max() if seen.any() else -np.inf
            clean = [j for j in np.flatnonzero(~seen) if xs[j] <= last]
            clean += [j for j in np.flatnonzero(~seen) if xs[j] > last][:1]
            if clean:
                bounds = [3.0 / line_rows[j][trials] for j in clean]
                ax.semilogy(xs[clean], bounds, "v", color=color, mfc="none", ms=6)
                lowest = min(lowest, *bounds)
            if with_theory:
                _theory_curve(ax, first, xs, x, color)
            if coded and x == "ebno_db":
                limits.add(round(float(first["code_rate"]) * int(first["bits_per_symbol"]), 4))
        for i, efficiency in enumerate(sorted(limits)):
            limit = float(theory.shannon_ebno_limit_db(efficiency))
            ax.axvline(limit, color="0.25", ls=(0, (1, 1 + i)), lw=1.2,
                       label=f"Shannon limit, {efficiency:.2f} bit/ch. use: {limit:.2f} dB")
        ax.semilogy([], [], "v", color="0.4", mfc="none", label="no errors seen: 95% upper bound 3/N")
        ax.set_title(panel)
        ax.set_xlabel("$E_b/N_0$ (dB)" if x == "ebno_db" else "SNR $E_s/N_0$ (dB)")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(max(lowest / 3, 1e-7), 1.5)
    legend_right(fig, axes[0])
    axes[0][0].set_ylabel({"ber": "bit error rate", "bler": "block error rate"}[metric])
    if title:
        fig.suptitle(title)
    return save(fig, out_dir, name)


def _theory_curve(ax, row: Row, xs: np.ndarray, x: str, color: str) -> None:
    fn = {"awgn": theory.ber_awgn, "rayleigh": theory.ber_rayleigh}[row["channel"]]
    grid = np.linspace(xs.min(), xs.max(), 200)
    m = int(row["bits_per_symbol"])
    ebno = grid if x == "ebno_db" else snr.snr_db_to_ebno_db(grid, m, 1.0)
    ber = fn(ebno, row["modulation"])
    keep = ber > 1e-9
    mod = MODULATION_LABELS.get(row["modulation"], row["modulation"])
    ax.semilogy(grid[keep], ber[keep], "-", color=color, lw=1, alpha=0.7, label=f"theory · {mod} (exact, Gray)")


@PLOTS.register("ber_vs_ebno")
def ber_vs_ebno(rows: list[Row], out_dir: Path, title: str) -> list[Path]:
    """BER against Eb/N0, one panel per channel, theory lines for uncoded links, Shannon limits dotted."""
    return _error_rate_plot(rows, out_dir, title, metric="ber", x="ebno_db", name="ber_vs_ebno",
                            coded_only=False, with_theory_curves=True)


@PLOTS.register("ber_vs_snr")
def ber_vs_snr(rows: list[Row], out_dir: Path, title: str) -> list[Path]:
    """BER against SNR (Es/N0), one panel per channel."""
    return _error_rate_plot(rows, out_dir, title, metric="ber", x="snr_db", name="ber_vs_snr",
                            coded_only=False, with_theory_curves=True)


@PLOTS.register("bler_vs_ebno")
def bler_vs_ebno(rows: list[Row], out_dir: Path, title: str) -> list[Path]:
    """Block error rate of the coded links against Eb/N0, Shannon limits dotted."""
    return _error_rate_plot(rows, out_dir, title, metric="bler", x="ebno_db", name="bler_vs_ebno",
                            coded_only=True, with_theory_curves=False)

