"""The numbers a reader of a run looks for, computed from the rows of ``results.csv`` only (pure functions).

* :func:`digital_lines`: each digital image line's cliff SNR, Shannon marker, gap, channel uses and source bits
  per pixel, and the images it lost;
* :func:`semantic_crossings`: where each semantic line's mIoU crosses each digital line's of the same panel;
* :func:`bler_thresholds`: the Eb/N0 at which each coded ``ber`` line reaches a block error rate of 0.1, and its
  gap to the Shannon limit of its spectral efficiency.

Lines are the figures' lines: the same labels (:func:`lssc_sim.plots.image.system_label`, the adaptive chains'
:func:`lssc_sim.plots.bandwidth.adaptive_label`, :func:`lssc_sim.plots.ber.link_label`), split by a swept system
parameter as :class:`lssc_sim.plots.lines.LineStyles` splits them, within one channel panel
(:func:`lssc_sim.plots.base.panels`). Units: SNR is Es/N0 in dB, Eb/N0 in dB, mIoU in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lssc_sim import theory
from lssc_sim.plots.bandwidth import adaptive_label
from lssc_sim.plots.base import Row, panels
from lssc_sim.plots.ber import ber_styles
from lssc_sim.plots.image import shannon_snr_db, snr_rows, system_label
from lssc_sim.plots.lines import LineStyles

DIGITAL_KINDS = ("digital_image", "digital_adaptive", "label_map", "split_digital")
LINE_KINDS = ("semantic", *DIGITAL_KINDS)  # the image systems with an SNR axis
BLER_TARGET = 0.1


@dataclass(frozen=True)
class Cliff:
    """Where a digital line's cliff sits on its swept SNR grid.

    Attributes
    ----------
    snr_db : float or None
        The lowest swept SNR (dB) from which on every point loses at most half of its images; None when the
        last point loses more (``where == "beyond"``).
    where : {"at", "below", "beyond"}
        ``at``: a point losing more than half lies below ``snr_db``; ``below``: no swept point loses more than
        half, the cliff lies at or below the lowest swept SNR (``snr_db``); ``beyond``: the highest swept SNR
        still loses more than half.
    """

    snr_db: float | None
    where: str
    previous_db: float | None = None  # for "at": the highest swept SNR losing more than half, below snr_db


@dataclass(frozen=True)
class DigitalLine:
    """The numbers of one digital image line (one system label in one channel panel), over its sweep.

    Attributes
    ----------
    panel, label : str
        The channel panel in words and the line's legend entry.
    snr_db : tuple of float
        Its swept SNRs (dB), increasing.
    cliff : Cliff
    shannon_snr_db : float or None
        SNR (dB) at which capacity times the line's channel uses per image equals its source bits per image, as
        the mIoU figure marks it (from the line's lowest-SNR row); None without a capacity formula for the channel
        or for an adaptive chain, whose rate changes with the SNR.
    channel_uses_per_pixel, source_bits_per_pixel : tuple of float
        Lowest and highest over the line (equal for a fixed configuration; complex channel uses, bits).
    images_lost, images_sent : int
        Summed over the line's points.
    lost_snr_db : tuple of float or None
        Lowest and highest SNR (dB) at which any image was lost; None when none was.
    """

    panel: str
    label: str
    snr_db: tuple[float, ...]
    cliff: Cliff
    shannon_snr_db: float | None
    channel_uses_per_pixel: tuple[float, float]
    source_bits_per_pixel: tuple[float, float]
    images_lost: int
    images_sent: int
    lost_snr_db: tuple[float, float] | None

    @property
    def gap_db(self) -> float | None:
        """Cliff SNR minus the Shannon marker (dB); None unless both are known and the cliff is on the grid."""
        if self.cliff.where != "at" or self.shannon_snr_db is None:
            return None
        return self.cliff.snr_db - self.shannon_snr_db


@dataclass(frozen=True)
class Crossing:
    """A semantic line against a digital line of the same panel, on the SNRs both were swept at.

    Attributes
    ----------
    panel, semantic, digital : str
        The channel panel and the two lines' legend entries.
    snr_db : tuple of float
        The common SNRs (dB), increasing.
    crossings_db : tuple of float
        SNRs (dB) where the mIoU curves cross, by linear interpolation between neighbouring common SNRs.
    semantic_miou, digital_miou : tuple of float
        Their mIoU at the lowest and the highest common SNR.
    """

    panel: str
    semantic: str
    digital: str
    snr_db: tuple[float, ...]
    crossings_db: tuple[float, ...]
    semantic_miou: tuple[float, float]
    digital_miou: tuple[float, float]


@dataclass(frozen=True)
class BlerThreshold:
    """Where a coded ``ber`` line reaches the block error rate :data:`BLER_TARGET`.

    Attributes
    ----------
    panel, label : str
        The channel panel and the line's legend entry.
    efficiency : float
        Information bits per complex channel use (code rate times bits per symbol).
    ebno_db : float or None
        Eb/N0 (dB) at BLER 0.1 by log-linear interpolation between the two points around it; None when the
        point below has no block error (no logarithm: ``bracket_db`` holds the two points).
    bracket_db : tuple of float
        The Eb/N0 (dB) of the last point at or above the target and of the next one.
    shannon_ebno_db : float
        :func:`lssc_sim.theory.shannon_ebno_limit_db` of ``efficiency`` (the AWGN limit).
    """

    panel: str
    label: str
    efficiency: float
    ebno_db: float | None
    bracket_db: tuple[float, float]
    shannon_ebno_db: float

    @property
    def gap_db(self) -> float | None:
        """Eb/N0 at BLER 0.1 minus the Shannon limit (dB); None when the threshold was not interpolated."""
        return None if self.ebno_db is None else self.ebno_db - self.shannon_ebno_db


def line_label(row: Row) -> str:
    """The legend entry's system part of an image row, as the figures name it (an adaptive chain as
    ``miou_vs_snr_matched`` does: its rate changes with the SNR, so no channel uses are in its name)."""
    return adaptive_label(row) if row["kind"] == "digital_adaptive" else system_label(row)


def image_lines(rows: list[Row]) -> dict[str, dict[str, list[Row]]]:
    """Panel (channel in words) -> line name -> its rows sorted by SNR, for the image rows with an SNR."""
    rows = snr_rows(rows, LINE_KINDS)
    styles = LineStyles(rows, line_label)
    return {panel: styles.group(panel_rows) for panel, panel_rows in panels(rows).items()}


def cliff_snr_db(snr_db, images_lost, images) -> Cliff:
    """The cliff of one line: the lowest swept SNR from which on every point loses at most half its images.

    Parameters
    ----------
    snr_db : array-like of float
        Swept SNRs (dB), increasing.
    images_lost, images : array-like of float
        Images lost and images sent at each SNR.
    """
    snr = np.asarray(snr_db, float)
    good = np.asarray(images_lost, float) <= np.asarray(images, float) / 2
    if not good[-1]:
        return Cliff(None, "beyond")
    bad = np.flatnonzero(~good)
    if not bad.size:
        return Cliff(float(snr[0]), "below")
    return Cliff(float(snr[bad[-1] + 1]), "at", float(snr[bad[-1]]))


def _span(values) -> tuple[float, float]:
    values = [float(v) for v in values]
    return min(values), max(values)


def digital_lines(rows: list[Row]) -> list[DigitalLine]:
    """Every digital image line's numbers (:class:`DigitalLine`), panel by panel, in results.csv order."""
    out = []
    for panel, lines in image_lines(rows).items():
        for label, line in lines.items():
            first = line[0]
            if first["kind"] not in DIGITAL_KINDS:
                continue
            snr = [float(r["snr_db"]) for r in line]
            lost = [int(r["images_lost"]) for r in line]
            sent = [int(r["images"]) for r in line]
            marker = None
            if first["kind"] != "digital_adaptive":  # the same columns and row as the mIoU figure's star
                marker = shannon_snr_db(
                    first["channel"], float(first["source_bits_per_image"]), float(first["channel_uses_per_image"])
                )
            lossy = [s for s, k in zip(snr, lost, strict=True) if k > 0]
            out.append(
                DigitalLine(
                    panel=panel,
                    label=label,
                    snr_db=tuple(snr),
                    cliff=cliff_snr_db(snr, lost, sent),
                    shannon_snr_db=marker,
                    channel_uses_per_pixel=_span(r["channel_uses_per_pixel"] for r in line),
                    source_bits_per_pixel=_span(r["source_bits_per_pixel"] for r in line),
                    images_lost=sum(lost),
                    images_sent=sum(sent),
                    lost_snr_db=(min(lossy), max(lossy)) if lossy else None,
                )
            )
    return out


def crossing_snrs_db(snr_db, upper, lower) -> tuple[float, ...]:
    """SNRs (dB) where two curves sampled on the same increasing SNRs cross, by linear interpolation.

    A crossing is a change of sign of ``upper - lower``; points where the two are equal only touch unless the
    sign differs on either side, and a stretch of equal points between opposite signs counts once, at its middle.

    Parameters
    ----------
    snr_db : array-like of float
        The common SNRs (dB), increasing.
    upper, lower : array-like of float
        The two curves' values there.
    """
    x = np.asarray(snr_db, float)
    d = np.asarray(upper, float) - np.asarray(lower, float)
    signed = np.flatnonzero(d != 0)
    out = []
    for i, j in zip(signed[:-1], signed[1:], strict=True):
        if np.sign(d[i]) == np.sign(d[j]):
            continue
        if j == i + 1:
            out.append(float(x[i] + (x[j] - x[i]) * d[i] / (d[i] - d[j])))
        else:  # equal at x[i+1..j-1]: they cross somewhere on that stretch
            out.append(float((x[i + 1] + x[j - 1]) / 2))
    return tuple(out)


def semantic_crossings(rows: list[Row]) -> list[Crossing]:
    """Each semantic line against each digital line of its panel (:class:`Crossing`), where they share at least
    two SNRs; panel by panel, semantic lines in results.csv order."""
    out = []
    for panel, lines in image_lines(rows).items():
        semantic = {k: v for k, v in lines.items() if v[0]["kind"] == "semantic"}
        digital = {k: v for k, v in lines.items() if v[0]["kind"] in DIGITAL_KINDS}
        for s_label, s_line in semantic.items():
            s_miou = {float(r["snr_db"]): float(r["miou"]) for r in s_line}
            for d_label, d_line in digital.items():
                d_miou = {float(r["snr_db"]): float(r["miou"]) for r in d_line}
                common = sorted(set(s_miou) & set(d_miou))
                if len(common) < 2:
                    continue
                s_values = [s_miou[x] for x in common]
                d_values = [d_miou[x] for x in common]
                out.append(
                    Crossing(
                        panel=panel,
                        semantic=s_label,
                        digital=d_label,
                        snr_db=tuple(common),
                        crossings_db=crossing_snrs_db(common, s_values, d_values),
                        semantic_miou=(s_values[0], s_values[-1]),
                        digital_miou=(d_values[0], d_values[-1]),
                    )
                )
    return out


def bler_threshold_db(ebno_db, bler, target: float = BLER_TARGET) -> tuple[float | None, tuple[float, float]] | None:
    """Eb/N0 (dB) at which a falling BLER curve passes ``target``: log-linear interpolation between the last point
    at or above the target and the next one.

    Returns
    -------
    (ebno_db, bracket) or None
        None when the curve never passes below the target in the swept range (every point below it, or the last
        one still at or above it). ``ebno_db`` is None when the point below has no block error (its logarithm is
        unbounded); ``bracket`` holds the two points' Eb/N0 either way.
    """
    x = np.asarray(ebno_db, float)
    y = np.asarray(bler, float)
    above = np.flatnonzero(y >= target)
    if not above.size or above[-1] == len(y) - 1:
        return None
    i = int(above[-1])
    bracket = (float(x[i]), float(x[i + 1]))
    if y[i + 1] <= 0:
        return None, bracket
    t = (math.log10(target) - math.log10(y[i])) / (math.log10(y[i + 1]) - math.log10(y[i]))
    return float(x[i] + t * (x[i + 1] - x[i])), bracket


def bler_thresholds(rows: list[Row]) -> tuple[list[BlerThreshold], list[tuple[str, str]]]:
    """The BLER-0.1 threshold of every coded ``ber`` line (:class:`BlerThreshold`), and the (panel, label) of the
    coded lines that never pass below it in their swept range."""
    styles = ber_styles(rows)
    coded = [r for r in rows if r.get("kind") == "ber" and "fec.k" in r and "bler" in r]
    found, never = [], []
    for panel, panel_rows in panels(coded).items():
        for label, line in styles.group(panel_rows, "ebno_db").items():
            result = bler_threshold_db([r["ebno_db"] for r in line], [r["bler"] for r in line])
            if result is None:
                never.append((panel, label))
                continue
            # rounded as the BLER figure rounds it, so that lines of one efficiency share one limit
            efficiency = round(float(line[0]["code_rate"]) * int(line[0]["bits_per_symbol"]), 4)
            found.append(
                BlerThreshold(
                    panel=panel,
                    label=label,
                    efficiency=efficiency,
                    ebno_db=result[0],
                    bracket_db=result[1],
                    shannon_ebno_db=float(theory.shannon_ebno_limit_db(efficiency)),
                )
            )
    return found, never
