"""Figures at equal bandwidth: semantic codecs at a channel-use budget against the best swept digital chain
within it and the ideal separate scheme (:mod:`lssc_sim.bounds`), registered in :data:`PLOTS`:

=========================  ================================================================  =====================
plot                       draws                                                             systems
=========================  ================================================================  =====================
``miou_vs_snr_matched``    mIoU against SNR, a panel per channel (rows) and budget           digital_image, semantic
                           (columns); also writes ``envelope_winners.md`` and ``.csv``
``miou_vs_bandwidth``      mIoU against channel uses per pixel (log) at the grid SNRs        digital_image, semantic
                           nearest 0, 10 and 20 dB, a panel per channel and SNR
=========================  ================================================================  =====================

The budgets are the channel uses per pixel of the scenario's semantic systems. Each panel draws three
families: the semantic codec at the budget (its own line), the best digital configuration within the budget
at each SNR (a genie's choice among the swept configurations that fit it: solid black), and the ideal
separate scheme at the budget (the Shannon rate through the best ideal-channel rate-mIoU curve of the
scenario's source codecs: dashed). The ideal scheme needs the scenario's ideal-channel digital rows (its rate
curves); without them it is not drawn and the figure says so.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

import numpy as np

from lssc_sim import bounds
from lssc_sim.engine.results import atomic_write_text
from lssc_sim.plots.base import PLOTS, SMALL, Row, Style, draw, panels, place_legend, plt, set_titles, wrap
from lssc_sim.plots.image import images_note, snr_rows, system_label
from lssc_sim.plots.lines import LineStyles

KINDS = ("digital_image", "semantic", "digital_adaptive")
BANDWIDTH_SNRS_DB = (0.0, 10.0, 20.0)  # miou_vs_bandwidth draws the grid SNRs nearest these
MAX_DENOMINATOR = 32  # a budget written as a fraction: 1/16 is one, 0.41 (41/100) is not
DIGITAL = {"color": "k", "marker": "s", "ls": "-", "mfc": "none"}
ADAPTIVE = {"color": "C3", "marker": "D", "ls": "-."}
IDEAL = {"color": "k", "ls": (0, (6, 2)), "lw": 1.7}  # black and thick: no line of the cycle looks like it
NO_CURVE_NOTE = "ideal separate scheme not drawn: the scenario has no ideal-channel digital rows (rate curves)"
WINNER_COLUMNS = [
    "channel",
    "budget_channel_uses_per_pixel",
    "snr_db",
    "configurations",
    "winner",
    "winner_miou",
    "winner_channel_uses_per_pixel",
    "winner_source_bits_per_pixel",
    "semantic",
    "semantic_miou",
    "ideal_separate_miou",
    "adaptive_miou",
    "adaptive_channel_uses_per_pixel",
]


def configuration_name(row: Row) -> str:
    """A digital configuration in words, without its channel uses: ``WebP 0.2 bpp target + LDPC r=0.50 + QPSK``."""
    return system_label(row).split(" · ")[0]


GENIE_NOTE = (
    "best digital: at each SNR the highest mIoU among the swept configurations within the budget, chosen knowing "
    "the SNR (a genie). Ideal separate scheme (dashed): B log2(1 + SNR) bits per pixel (per image fade over "
    "fading) through the best ideal-channel rate-mIoU curve of these source codecs; a bound for these codecs, "
    "not for all codes"
)


def budget_number(budget: float) -> str:
    """A budget as its legend writes it: a simple fraction where it is one (``1/16``, ``1/2``), else a number
    (``4``, ``15``, ``2.5``, ``0.41``)."""
    value = float(budget)
    if value >= 1 or value <= 0:
        return f"{value:.3g}"
    simple = Fraction(value).limit_denominator(MAX_DENOMINATOR)
    # exact at the 4 significant digits budgets are kept to (bounds.budget_of): 0.3333 is 1/3
    return f"{simple.numerator}/{simple.denominator}" if f"{float(simple):.4g}" == f"{value:.4g}" else f"{value:.2g}"


def budget_text(budget: float) -> str:
    """``1/16 ch. uses/px``, ``15 ch. uses/px`` (:func:`budget_number`)."""
    return f"{budget_number(budget)} ch. uses/px"


def digital_label(budget: float, configurations: list[int]) -> str:
    """The envelope's entry in a budget's legend, which the channels share: ``configurations`` fit the budget
    on each (a range where they differ)."""
    low, high = min(configurations), max(configurations)
    return f"best digital ≤ {budget_text(budget)} (best of {low if low == high else f'{low}-{high}'} swept)"


def _listed(items: list[str]) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def envelope_label(counts: dict[str, dict[float, int]]) -> str:
    """The staircase's legend entry: how many swept configurations fit each budget (``counts``: channel ->
    budget -> configurations). One entry serves every panel, so where the channels differ it gives the range."""
    per_channel = {tuple(c.items()) for c in counts.values()}
    if len(per_channel) == 1:
        (pairs,) = per_channel
        ns = _listed([str(n) for _, n in pairs])
        within = _listed([budget_number(b) for b, _ in pairs])
        return f"best digital within the budget: best of {ns} swept configurations within {within} ch. uses/px"
    ns = [n for c in counts.values() for n in c.values()]
    return f"best digital within the budget: best of {min(ns)}-{max(ns)} swept configurations within each budget"


def adaptive_label(row: Row) -> str:
    return f"{row['system']}: {row['codec']} + adaptive MCS (measured 10 % BLER table)"


def ideal_label(budget: float | None = None) -> str:
    at = f" at {budget_text(budget)}" if budget is not None else ""
    return f"ideal separate scheme{at} (bound for these codecs)"


def _over_budget(ax, points: list[tuple[float, float]], look: dict | None = None) -> None:
    """Hollow the adaptive chain's points whose images overran the budget (the codec's smallest stream did not
    fit the rate target), so no one reads them as made within it."""
    if points:
        xs, ys = zip(*points, strict=True)
        look = {**(look or ADAPTIVE), "ls": "none", "mfc": "white"}
        ax.plot(xs, ys, **look, label="hollow: over its budget (the codec cannot get under the rate target)")


def _pixels(rows: list[Row]) -> int:
    """Pixels per image, from any row with channel uses per image and per pixel."""
    for r in rows:
        if bounds.finite(r.get("channel_uses_per_image")) and bounds.finite(r.get("channel_uses_per_pixel")):
            return round(float(r["channel_uses_per_image"]) / float(r["channel_uses_per_pixel"]))
    return 0


def _ideal(curve, budget: float, snrs: np.ndarray, channel: Row, pixels: int) -> np.ndarray:
    values = [bounds.separate_scheme_miou(curve, budget, float(s), channel, pixels) for s in snrs]
    return np.array([np.nan if v is None else v for v in values], float)


def _clean_line(ax, digital: list[Row]) -> None:
    if digital:
        ax.axhline(float(digital[0]["clean_miou"]), color="0.3", ls="--", lw=1, label="clean images, UNet segmenter")


def _grid(n_rows: int, n_cols: int, style: Style):
    """A grid of panels, each at most 4 inches wide; (fig, axes [rows][cols], the style at the panel's width)."""
    width = min(float(style["width_in"]), 4.0)  # several columns: narrower panels than a one-panel figure
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(width * n_cols, float(style["height_in"]) * n_rows * 1.15),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    return fig, axes, {**style, "width_in": width}


def matched_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU against SNR, a row of panels per channel and a column per budget B: the semantic codec at B, the best
    digital chain within B, the adaptive chains at B, the ideal separate scheme at B and the clean-image level;
    a legend under each column names B and the number of configurations that fit it."""
    # one colour and marker per semantic codec and adaptive chain (the best-digital line is black)
    styles = LineStyles(snr_rows(rows, ("semantic", "digital_adaptive")), lambda r: r["system"])
    curve = bounds.rate_curve(rows)
    budgets = bounds.budgets(rows)
    measured = snr_rows(rows, KINDS)
    if not budgets or not measured:
        return None
    by_channel = panels(measured)
    pixels = _pixels(measured)
    notes = [images_note(measured), GENIE_NOTE] + ([] if curve else [NO_CURVE_NOTE])
    fig, axes, panel_style = _grid(len(by_channel), len(budgets), style)
    legend_in = 0.85 * float(panel_style["width_in"])
    names = []
    envelopes = {c: {b: bounds.digital_envelope(p, b) for b in budgets} for c, p in by_channel.items()}
    counts = {b: [envelopes[c][b][1] for c in by_channel] for b in budgets}  # the legend a budget's panels share
    for i, (channel, panel_rows) in enumerate(by_channel.items()):
        digital = [r for r in panel_rows if r["kind"] == "digital_image"]
        snrs = np.array(sorted({float(r["snr_db"]) for r in panel_rows}))
        fine = np.linspace(snrs[0], snrs[-1], 8 * len(snrs))
        for j, budget in enumerate(budgets):
            ax = axes[i][j]
            for line in styles.group([r for r in panel_rows if bounds.at_budget(budget)(r)]).values():
                label = f"{line[0]['system']} (semantic, analog)"
                xs, ys = [float(r["snr_db"]) for r in line], [float(r["miou"]) for r in line]
                ax.plot(xs, ys, **styles.look(line[0]), label=label)
            winners = envelopes[channel][budget][0]
            if winners:
                xs = [float(r["snr_db"]) for r in winners]
                label = digital_label(budget, counts[budget])
                ax.plot(xs, [float(r["miou"]) for r in winners], **DIGITAL, label=label)
            else:
                ax.plot([], [], **DIGITAL, label=f"no swept digital configuration fits {budget_text(budget)}")
            adaptive = [r for r in panel_rows if bounds.at_budget(budget, "digital_adaptive")(r)]
            for system in dict.fromkeys(r["system"] for r in adaptive):
                line = sorted((r for r in adaptive if r["system"] == system), key=lambda r: float(r["snr_db"]))
                xs, ys = [float(r["snr_db"]) for r in line], [float(r["miou"]) for r in line]
                look = styles.look(line[0])
                ax.plot(xs, ys, **look, label=adaptive_label(line[0]))
                over = [(x, y) for x, y, r in zip(xs, ys, line, strict=True) if not bounds.within(r, budget)]
                _over_budget(ax, over, look)
            if curve is not None:
                ax.plot(fine, _ideal(curve, budget, fine, panel_rows[0], pixels), **IDEAL, label=ideal_label(budget))
            _clean_line(ax, digital)
            ax.grid(True, alpha=0.3)
            ax.set_ylim(0, 1.02)
            names.append(f"{channel} · budget {budget_text(budget)}")
            if i == len(by_channel) - 1:  # one legend per budget, under its column (the channels share it)
                ax.set_xlabel("SNR $E_s/N_0$ (dB)")
                entries = dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
                small = SMALL * float(style["font_size"])
                labels = [wrap(t, legend_in, small) for t in entries]
                ax.legend(list(entries.values()), labels, loc="upper center", bbox_to_anchor=(0.5, -0.18))
            if j == 0:
                ax.set_ylabel("mIoU")
    set_titles(fig, list(axes.flat), names, title, notes, panel_style)
    return fig


def _nearest_snrs(snrs: list[float]) -> list[float]:
    return sorted({min(snrs, key=lambda s: abs(s - target)) for target in BANDWIDTH_SNRS_DB})


def bandwidth_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU against channel uses per pixel (log) at two or three SNRs: the semantic codecs at their budgets
    (one line through them), the adaptive chains at theirs, the best digital chain within each budget (a
    staircase: it can only rise with the budget) and the ideal separate scheme."""
    curve = bounds.rate_curve(rows)
    measured = snr_rows(rows, KINDS)
    semantic = [r for r in measured if r["kind"] == "semantic"]
    if not semantic:
        return None
    by_channel = panels(measured)
    pixels = _pixels(measured)
    snr_grid = _nearest_snrs(sorted({float(r["snr_db"]) for r in semantic}))
    uses = [float(r["channel_uses_per_pixel"]) for r in measured if bounds.finite(r.get("channel_uses_per_pixel"))]
    budget_axis = np.geomspace(min(uses) / 1.5, max(uses) * 1.5, 200)
    notes = [images_note(measured), GENIE_NOTE] + ([] if curve else [NO_CURVE_NOTE])
    fig, axes, panel_style = _grid(len(by_channel), len(snr_grid), style)
    names = []
    budgets = bounds.budgets(semantic)
    # one legend for every panel: the budgets and the configurations within each, counted over each channel's SNRs
    counts = {
        channel: {b: bounds.digital_envelope(panel_rows, b)[1] for b in budgets}
        for channel, panel_rows in by_channel.items()
    }
    semantic_label = f"semantic codecs at their budgets ({_listed([budget_number(b) for b in budgets])} ch. uses/px)"
    targets = sorted({bounds.budget_of(r) for r in measured if r["kind"] == "digital_adaptive"} - {None})
    for i, (channel, panel_rows) in enumerate(by_channel.items()):
        digital = [r for r in panel_rows if r["kind"] == "digital_image"]
        for j, snr in enumerate(snr_grid):
            ax = axes[i][j]
            at = [r for r in panel_rows if float(r["snr_db"]) == snr]
            sem = sorted((r for r in at if r["kind"] == "semantic"), key=lambda r: float(r["channel_uses_per_pixel"]))
            ax.plot(
                [float(r["channel_uses_per_pixel"]) for r in sem],
                [float(r["miou"]) for r in sem],
                "o-",
                color="C0",
                label=semantic_label,
            )
            adaptive = sorted((r for r in at if r["kind"] == "digital_adaptive"), key=bounds.budget_of)
            if adaptive:
                xs = [bounds.budget_of(r) for r in adaptive]
                at_budgets = _listed([budget_number(b) for b in targets])
                label = f"adaptive digital at {at_budgets} ch. uses/px ({adaptive[0]['codec']}, measured MCS table)"
                ys = [float(r["miou"]) for r in adaptive]
                ax.plot(xs, ys, **ADAPTIVE, label=label)
                over = [(x, y) for x, y, r in zip(xs, ys, adaptive, strict=True) if not bounds.within(r, x)]
                _over_budget(ax, over)
            steps = sorted({float(r["channel_uses_per_pixel"]) for r in at if r["kind"] == "digital_image"})
            best = [bounds.digital_envelope([r for r in digital if float(r["snr_db"]) == snr], b)[0] for b in steps]
            xs = [b for b, w in zip(steps, best, strict=True) if w]
            if xs:
                ys = [float(w[0]["miou"]) for w in best if w]
                ax.step([*xs, budget_axis[-1]], [*ys, ys[-1]], where="post", color="k", lw=1.2)
                ax.plot([], [], color="k", label=envelope_label(counts))
            if curve is not None:
                ideal = [bounds.separate_scheme_miou(curve, b, snr, panel_rows[0], pixels) for b in budget_axis]
                ax.plot(budget_axis, [np.nan if v is None else v for v in ideal], **IDEAL, label=ideal_label())
            _clean_line(ax, digital)
            ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_ylim(0, 1.02)
            names.append(f"{channel} · SNR {snr:g} dB")
            if i == len(by_channel) - 1:
                ax.set_xlabel("channel uses per pixel (log)")
            if j == 0:
                ax.set_ylabel("mIoU")
    set_titles(fig, list(axes.flat), names, title, notes, panel_style)
    place_legend(fig, list(axes.flat), {**style, "legend": "below"})  # beside a grid, it would squeeze the panels
    return fig


def winners_table(rows: list[Row]) -> list[dict]:
    """Per channel, budget and SNR: the winning digital configuration, the semantic codec and the ideal scheme."""
    curve = bounds.rate_curve(rows)
    measured = snr_rows(rows, KINDS)
    pixels = _pixels(measured)
    table = []
    for channel, panel_rows in panels(measured).items():
        digital = [r for r in panel_rows if r["kind"] == "digital_image"]
        for budget in bounds.budgets(rows):
            semantic = {float(r["snr_db"]): r for r in panel_rows if bounds.at_budget(budget)(r)}
            adaptive = {float(r["snr_db"]): r for r in panel_rows if bounds.at_budget(budget, "digital_adaptive")(r)}
            winners, count = bounds.digital_envelope(digital, budget)
            won = {float(r["snr_db"]): r for r in winners}
            for snr in sorted(set(semantic) | set(won)):
                w, s = won.get(snr), semantic.get(snr)
                ideal = bounds.separate_scheme_miou(curve, budget, snr, panel_rows[0], pixels) if curve else None
                table.append(
                    {
                        "channel": channel,
                        "budget_channel_uses_per_pixel": budget,
                        "snr_db": snr,
                        "configurations": count,
                        "winner": _winner_name(w),
                        "winner_miou": float(w["miou"]) if w else np.nan,
                        "winner_channel_uses_per_pixel": float(w["channel_uses_per_pixel"]) if w else np.nan,
                        "winner_source_bits_per_pixel": float(w["source_bits_per_pixel"]) if w else np.nan,
                        "semantic": s["system"] if s else "",
                        "semantic_miou": float(s["miou"]) if s else np.nan,
                        "ideal_separate_miou": np.nan if ideal is None else ideal,
                        "adaptive_miou": float(adaptive[snr]["miou"]) if snr in adaptive else np.nan,
                        "adaptive_channel_uses_per_pixel": (
                            float(adaptive[snr].get("channel_uses_per_pixel", np.nan)) if snr in adaptive else np.nan
                        ),
                    }
                )
    return table


def _winner_name(row: Row | None) -> str:
    if row is None:
        return "none fits"
    if float(row.get("images_lost", 0)) >= float(row.get("images", 1)):
        return "none delivers (every configuration that fits loses every image)"
    return configuration_name(row)


def winners_markdown(table: list[dict], title: str) -> str:
    """The table for a reader: per channel and budget, the SNR spans over which each configuration wins."""
    lines = [f"# Best digital configuration at each SNR within each budget — {title}".rstrip(" —"), ""]
    lines += [
        "A genie's choice: at each SNR, the swept configuration with the highest mIoU among those whose mean "
        "channel uses per pixel fit the budget; beside it the semantic codec at the budget, the ideal separate "
        "scheme, and the adaptive digital chain at the budget (its mIoU marked † where its images used more "
        "channel uses than the budget: the codec could not get under the rate target).",
        "",
    ]
    groups: dict[tuple, list[dict]] = {}
    for row in table:
        groups.setdefault((row["channel"], row["budget_channel_uses_per_pixel"]), []).append(row)
    for (channel, budget), group in groups.items():
        lines += [
            f"## {channel}, budget {budget_text(budget)} ({group[0]['configurations']} configurations fit)",
            "",
            "| SNR (dB) | winner | ch. uses/px | mIoU winner | mIoU semantic | mIoU ideal separate | mIoU adaptive |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in group:
            lines.append(
                f"| {row['snr_db']:g} | {row['winner']} | {_num(row['winner_channel_uses_per_pixel'], 3)} | "
                f"{_num(row['winner_miou'], 3)} | {_num(row['semantic_miou'], 3)} | "
                f"{_num(row['ideal_separate_miou'], 3)} | {_num(row['adaptive_miou'], 3)}{_dagger(row)} |"
            )
        lines.append("")
    return "\n".join(lines)


def _dagger(row: dict) -> str:
    over = row["adaptive_channel_uses_per_pixel"] > row["budget_channel_uses_per_pixel"] * (1 + bounds.BUDGET_SLACK)
    return " †" if over else ""


def _num(value: float, digits: int) -> str:
    return "–" if not np.isfinite(value) else f"{value:.{digits}f}"


@PLOTS.register("miou_vs_snr_matched")
def miou_vs_snr_matched(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`matched_figure` as ``miou_vs_snr_matched.{png,pdf}``, and the winners as
    ``envelope_winners.md`` and ``envelope_winners.csv``."""
    written = draw(matched_figure, rows, out_dir, title, style, "miou_vs_snr_matched")
    table = winners_table(rows)
    if table:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, WINNER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        for name, text in (
            ("envelope_winners.md", winners_markdown(table, title)),
            ("envelope_winners.csv", buffer.getvalue()),
        ):
            atomic_write_text(out_dir / name, text)
            written.append(out_dir / name)
    return written


@PLOTS.register("miou_vs_bandwidth")
def miou_vs_bandwidth(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """:func:`bandwidth_figure` as ``miou_vs_bandwidth.{png,pdf}``."""
    return draw(bandwidth_figure, rows, out_dir, title, style, "miou_vs_bandwidth")
