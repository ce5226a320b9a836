"""The "numbers a reader looks for" (:mod:`lssc_sim.report.numbers`) as report blocks: one table per channel panel.

Formats, the same in every table: SNR and Eb/N0 in dB with 1 and 2 decimals (Eb/N0 as the BER figures' Shannon
limits), gaps in dB with a sign, mIoU with 3 decimals, per-pixel quantities like the legends' channel uses
(1 decimal from 1 up, 2 significant digits below).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from lssc_sim.plots.base import Row
from lssc_sim.report.document import Block, Heading, Paragraph, Table
from lssc_sim.report.numbers import (
    BLER_TARGET,
    BlerThreshold,
    Crossing,
    DigitalLine,
    bler_thresholds,
    digital_lines,
    semantic_crossings,
)


def snr_text(value: float) -> str:
    """An SNR (dB): 1 decimal."""
    return f"{value:.1f}"


def ebno_text(value: float) -> str:
    """An Eb/N0 (dB): 2 decimals."""
    return f"{value:.2f}"


def gap_text(value: float | None, digits: int = 1) -> str:
    """A gap (dB) with its sign; ``n/a`` when unknown."""
    return "n/a" if value is None else f"{value:+.{digits}f}"


def miou_text(value: float) -> str:
    """An mIoU: 3 decimals."""
    return f"{value:.3f}"


def per_pixel_text(value: float) -> str:
    """A per-pixel quantity as the legends write channel uses (:func:`lssc_sim.plots.base.uses_text`)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def span_text(span: tuple[float, float], fmt) -> str:
    """``lo`` when both ends agree, else ``lo..hi`` (a dash would read as a minus before a negative SNR)."""
    low, high = (fmt(v) for v in span)
    return low if low == high else f"{low}..{high}"


def cliff_text(line: DigitalLine) -> str:
    """The cliff SNR, or where it lies relative to the swept range."""
    cliff = line.cliff
    if cliff.where == "beyond":
        return f"beyond the swept range (> {snr_text(line.snr_db[-1])})"
    if cliff.where == "below":
        return f"below the swept range (≤ {snr_text(cliff.snr_db)})"
    # the grid brackets the cliff: it lies above the last SNR that lost more than half
    return f"{snr_text(cliff.snr_db)} (> half lost at {snr_text(cliff.previous_db)})"


def cliff_gap_text(line: DigitalLine) -> str:
    """The gap between cliff and Shannon marker as the grid brackets it: ``(previous - marker)..(cliff - marker)``."""
    if line.gap_db is None:
        return gap_text(None)
    low = line.cliff.previous_db - line.shannon_snr_db
    return f"{gap_text(low)}..{gap_text(line.gap_db)}"


def digital_table(lines: list[DigitalLine]) -> Table:
    """Cliff, Shannon marker, gap, bandwidth and images lost of the digital lines of one panel."""
    header = (
        "digital line",
        "ch. uses/px",
        "source bits/px",
        "cliff SNR (dB)",
        "Shannon marker (dB)",
        "gap (dB)",
        "images lost",
        "SNR with losses (dB)",
    )
    rows = []
    for line in lines:
        losses = "none" if line.lost_snr_db is None else span_text(line.lost_snr_db, snr_text)
        rows.append(
            (
                line.label,
                span_text(line.channel_uses_per_pixel, per_pixel_text),
                span_text(line.source_bits_per_pixel, per_pixel_text),
                cliff_text(line),
                "n/a" if line.shannon_snr_db is None else snr_text(line.shannon_snr_db),
                cliff_gap_text(line),
                f"{line.images_lost} of {line.images_sent}",
                losses,
            )
        )
    return Table(header, tuple(rows), frozenset({1, 2, 3, 4, 5}))


def _higher(crossing: Crossing, at: int) -> str:
    """Which line is higher at the lowest (``at=0``) or highest (``at=-1``) common SNR."""
    s, d = crossing.semantic_miou[at], crossing.digital_miou[at]
    return "semantic" if s > d else "digital" if d > s else "neither"


def crossing_text(crossing: Crossing) -> str:
    """The crossing SNR(s), or ``no crossing in lo..hi dB: <line> above``."""
    low, high = crossing.snr_db[0], crossing.snr_db[-1]
    if not crossing.crossings_db:
        return f"no crossing in {snr_text(low)}..{snr_text(high)} dB: {_higher(crossing, 0)} above"
    first = _higher(crossing, 0)
    below = f" (below {snr_text(crossing.crossings_db[0])}: {first} higher)" if first != "neither" else ""
    return ", ".join(snr_text(x) for x in crossing.crossings_db) + below


def crossing_table(crossings: list[Crossing]) -> Table:
    """Where each semantic line of one panel crosses each digital line, with both mIoUs at the ends."""
    header = (
        "semantic line",
        "digital line",
        "SNRs compared (dB)",
        "crossing SNR (dB)",
        "mIoU semantic (lowest, highest SNR)",
        "mIoU digital (lowest, highest SNR)",
    )
    rows = tuple(
        (
            c.semantic,
            c.digital,
            f"{span_text((c.snr_db[0], c.snr_db[-1]), snr_text)} ({len(c.snr_db)} points)",
            crossing_text(c),
            ", ".join(map(miou_text, c.semantic_miou)),
            ", ".join(map(miou_text, c.digital_miou)),
        )
        for c in crossings
    )
    return Table(header, rows, frozenset({2, 4, 5}))


def threshold_text(threshold: BlerThreshold) -> str:
    """Eb/N0 at the target BLER, or the two points around it when the one below saw no block error."""
    if threshold.ebno_db is not None:
        return ebno_text(threshold.ebno_db)
    low, high = (ebno_text(x) for x in threshold.bracket_db)
    return f"between {low} and {high} (no block error at {high})"


def bler_table(thresholds: list[BlerThreshold]) -> Table:
    """Eb/N0 at BLER 0.1 and the gap to the Shannon limit of the coded lines of one panel."""
    header = ("coded line", "bit/ch. use", f"Eb/N0 at BLER {BLER_TARGET:g} (dB)", "Shannon limit (dB)", "gap (dB)")
    rows = tuple(
        (
            t.label,
            f"{t.efficiency:.2f}",
            threshold_text(t),
            ebno_text(t.shannon_ebno_db),
            gap_text(t.gap_db, 2),
        )
        for t in thresholds
    )
    return Table(header, rows, frozenset({1, 2, 3, 4}))


def _by_panel(items) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for item in items:
        out[item.panel].append(item)
    return dict(out)


def number_blocks(rows: list[Row]) -> list[Block]:
    """The section "Numbers a reader looks for": digital cliffs, semantic-digital crossings, BLER thresholds."""
    out: list[Block] = [Heading("Numbers a reader looks for")]
    lines = digital_lines(rows)
    if lines:
        out += [
            Heading("Digital image lines: cliff, Shannon marker, images lost", 3),
            Paragraph(
                "Cliff: the lowest swept SNR from which on every point loses at most half of its images. Shannon "
                "marker: the SNR at which the channel's capacity times the line's channel uses per image equals its "
                "source bits per image (the star of the mIoU figure; ergodic capacity for Rayleigh fading). Gap: "
                "cliff minus marker, from the last swept SNR that lost more than half to the cliff (the true cliff "
                "lies between: a coarse grid gives a wide bracket). Over fading with one gain per image there is no "
                "cliff, only a smooth rise: read the images lost there. Images lost: summed over the sweep, and the "
                "SNRs at which any was lost."
            ),
        ]
        for panel, group in _by_panel(lines).items():
            out.append(replace(digital_table(group), caption=panel))
    crossings = semantic_crossings(rows)
    if crossings:
        out += [
            Heading("Semantic against digital: where the mIoU curves cross", 3),
            Paragraph(
                "On the SNRs both lines were swept at, by linear interpolation of the mIoU between neighbouring "
                "points; beside the crossings, the line that is higher below the first one."
            ),
        ]
        for panel, group in _by_panel(crossings).items():
            out.append(replace(crossing_table(group), caption=panel))
    thresholds, never = bler_thresholds(rows)
    if thresholds or never:
        out += [
            Heading(f"Coded links: Eb/N0 at BLER {BLER_TARGET:g}", 3),
            Paragraph(
                "Log-linear interpolation between the last point at or above the target and the next one; Shannon "
                "limit: the smallest Eb/N0 for reliable communication over AWGN at the line's spectral efficiency "
                "(code rate times bits per symbol)."
            ),
        ]
        for panel, group in _by_panel(thresholds).items():
            out.append(replace(bler_table(group), caption=panel))
        if never:
            names = "; ".join(f"{label} ({panel})" for panel, label in never)
            out.append(Paragraph(f"Coded lines that do not pass below BLER {BLER_TARGET:g} in their sweep: {names}."))
    if len(out) == 1:
        out.append(
            Paragraph(
                "Nothing to compute: results.csv has no digital image line swept over SNR, no semantic line beside "
                "one, and no coded BER line."
            )
        )
    return out
