"""Comparisons at equal bandwidth: the best swept digital chain within a budget, and the ideal separate scheme.

Both read only rows of ``results.csv`` (plain dicts), so figures and tests use them alike.

**Best-digital envelope** at a budget of ``B`` complex channel uses per pixel: at each SNR of one channel,
the highest mIoU among the swept digital configurations (source codec and rate x code rate x modulation)
whose mean channel uses per pixel are at most ``B``. The choice is a genie's: it knows the SNR and has
measured every configuration there; a real link adapts from estimates and a table.

**Ideal separate scheme** at ``B``: any separate source and channel code delivers at most
``R = B log2(1 + snr)`` bits per pixel over AWGN. ``R`` is mapped through the best measured rate-mIoU curve,
the upper envelope of the ideal-channel rate curves of the scenario's source codecs (:func:`rate_curve`).
Over fading, each image sees its own gains: ``R`` is what the capacity of that image's fades carries (as if
the transmitter knew them: no outage), and the curve's mIoU is averaged over the fades
(:func:`separate_scheme_miou`; the curve is a dataset mIoU, so this average approximates the dataset mIoU of a
mix of rates). The curve is an upper envelope through measured points, pchip-interpolated between them in log
rate: at a measured rate nothing of these codecs does better; between two, the interpolation is a model. It
bounds what these source codecs followed by any channel code can reach; better source codecs would move it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

from lssc_sim.theory import capacity_rayleigh

Row = dict[str, Any]

FADES_DRAWN = 4000  # gain quantiles (one gain per image) or images drawn (several gains per image, fixed seed)
MAX_FADES = 256  # fades per image drawn at most: the mean capacity of more has concentrated (its spread ~ 1/sqrt)
# relative: budgets are grouped at 4 significant digits (budget_of), so a configuration at a semantic codec's
# exact channel uses is within the rounded budget
BUDGET_SLACK = 5e-4
MATCH_TOLERANCE = 0.05  # an adaptive chain's target and a semantic codec's achieved budget (within 5 % below it)
RATE_KINDS = ("digital_image", "digital_adaptive")  # rows with a source rate (ideal channel: the rate curve)


def has_snr(row: Row) -> bool:
    """Whether ``row`` was measured at an SNR: False on the ideal channel, whose Points have ``snr_db`` NaN (or a
    missing cell)."""
    return finite(row.get("snr_db"))


@dataclass(frozen=True)
class RateCurve:
    """The best measured mIoU at each source rate: the upper envelope of ideal-channel rate curves.

    Attributes
    ----------
    bpp : ndarray, float [n]
        Source bits per pixel of the points on the envelope, strictly increasing.
    miou : ndarray, float [n]
        Their mIoU, strictly increasing.
    floor_miou : float
        The mIoU when nothing arrives (every image replaced by the receiver's fallback): what a rate below
        every codec's smallest stream gives.
    points : int
        Ideal-channel rows the envelope was taken over.
    """

    bpp: np.ndarray
    miou: np.ndarray
    floor_miou: float
    points: int

    def __call__(self, rate_bpp: Any) -> np.ndarray:
        """Best mIoU at ``rate_bpp`` bits per pixel (array-like): monotone (pchip) interpolation in log rate
        between the envelope's points, their last value above them, ``floor_miou`` below the first."""
        r = np.asarray(rate_bpp, dtype=float)
        out = np.full(r.shape, self.floor_miou)
        inside = (r >= self.bpp[0]) & (r <= self.bpp[-1])
        if len(self.bpp) > 1:
            fit = PchipInterpolator(np.log(self.bpp), self.miou)
            out[inside] = fit(np.log(r[inside]))
        else:
            out[inside] = self.miou[0]
        out[r > self.bpp[-1]] = self.miou[-1]
        return np.maximum(out, self.floor_miou)  # sending nothing is always possible


def rate_curve(rows: Iterable[Row]) -> RateCurve | None:
    """The upper envelope of every ideal-channel digital row's (source bits per pixel, mIoU), the adaptive chains'
    included; None if there is none.

    A point is on the envelope when no point at a lower or equal rate has a higher or equal mIoU.
    """
    ideal = [
        r
        for r in rows
        if r.get("kind") in RATE_KINDS
        and not has_snr(r)
        and finite(r.get("source_bits_per_pixel"))
        and finite(r.get("miou"))
    ]
    if not ideal:
        return None
    order = sorted(ideal, key=lambda r: (float(r["source_bits_per_pixel"]), -float(r["miou"])))
    bpp, miou = [], []
    for r in order:
        if not miou or float(r["miou"]) > miou[-1]:  # (at equal rates the best comes first)
            bpp.append(float(r["source_bits_per_pixel"]))
            miou.append(float(r["miou"]))
    # the best of the receivers' fallbacks: sending nothing is always possible (0 where no row reports one)
    floor = max((float(r["lost_miou"]) for r in ideal if finite(r.get("lost_miou"))), default=0.0)
    return RateCurve(np.array(bpp), np.array(miou), floor, len(ideal))


def separate_scheme_miou(curve: RateCurve, budget: float, snr_db: float, channel: Row, pixels: int) -> float | None:
    """mIoU of the ideal separate scheme with ``budget`` channel uses per pixel at ``snr_db``.

    Parameters
    ----------
    curve : RateCurve
        The best measured rate-mIoU curve (:func:`rate_curve`).
    budget : float
        Complex channel uses per pixel.
    snr_db : float
        Average Es/N0 in dB.
    channel : dict
        A row's channel columns: ``channel`` (name), ``channel.coherence``, ``channel.block_length``.
    pixels : int
        Pixels per image (fades per image for block fading).

    Returns
    -------
    float or None
        AWGN: ``curve(B log2(1 + snr))``. Rayleigh, one gain per image: the mean of ``curve(B log2(1 + g snr))``
        over the exponential gain ``g``; a gain per ``L`` channel uses: the mean over images of ``curve`` at
        ``B`` times the mean capacity of that image's fades; a gain per symbol: ``curve(B C_ergodic(snr))``.
        None for channels without a capacity formula here (Rician, phase noise, plug-ins).
    """
    snr = 10.0 ** (snr_db / 10.0)
    name = channel.get("channel")
    if name == "awgn":
        return float(curve(budget * math.log2(1.0 + snr)))
    if name != "rayleigh":
        return None
    coherence = channel.get("channel.coherence") or "symbol"
    if coherence == "symbol":
        return float(curve(budget * capacity_rayleigh(snr_db)))
    if coherence == "frame":
        # the gain's quantiles at evenly spaced probabilities: the expectation over one exponential gain
        g = -np.log1p(-(np.arange(FADES_DRAWN) + 0.5) / FADES_DRAWN)
        return float(np.mean(curve(budget * np.log2(1.0 + g * snr))))
    if coherence == "block":
        fades = max(1, math.ceil(budget * pixels / int(channel.get("channel.block_length") or 64)))
        fades = min(fades, MAX_FADES)
        g = np.random.default_rng(0).exponential(size=(FADES_DRAWN, fades))
        return float(np.mean(curve(budget * np.log2(1.0 + g * snr).mean(axis=1))))
    return None


def configuration(row: Row) -> tuple:
    """What identifies a digital configuration across SNRs: system label, modulation and every system
    parameter (the dotted columns that are not the channel's: ``source.bpp``, ``fec.rate``, ...)."""
    params = tuple((c, repr(row[c])) for c in sorted(row) if "." in c and not c.startswith("channel"))
    return (row.get("system"), row.get("modulation"), *params)


def within(row: Row, budget: float) -> bool:
    """Whether a row's mean channel uses per pixel are at most ``budget``."""
    uses = row.get("channel_uses_per_pixel")
    return finite(uses) and float(uses) <= budget * (1 + BUDGET_SLACK)


def digital_envelope(rows: Iterable[Row], budget: float) -> tuple[list[Row], int]:
    """The best digital row within ``budget`` at each SNR of ``rows`` (one channel's rows).

    Parameters
    ----------
    rows : iterable of dict
        results.csv rows of one channel; only ``digital_image`` rows with an SNR count.
    budget : float
        Complex channel uses per pixel.

    Returns
    -------
    winners : list of dict
        One row per SNR (sorted by SNR): the configuration with the highest mIoU there; a tie goes to the one
        with fewer channel uses per pixel. SNRs where no configuration fits the budget have no row.
    configurations : int
        Distinct configurations within the budget (the N of "best of N").
    """
    fit = [
        r
        for r in rows
        if r.get("kind") == "digital_image" and has_snr(r) and finite(r.get("miou")) and within(r, budget)
    ]
    best: dict[float, Row] = {}
    for r in fit:
        snr = float(r["snr_db"])
        if snr not in best or _better(r, best[snr]):
            best[snr] = r
    return [best[s] for s in sorted(best)], len({configuration(r) for r in fit})


def budget_of(row: Row, digits: int = 4) -> float | None:
    """The channel-use budget a row stands for, to ``digits`` significant digits: a semantic system's channel
    uses per pixel, a ``digital_adaptive`` chain's ``bandwidth``; None for other rows."""
    column = {"semantic": "channel_uses_per_pixel", "digital_adaptive": "bandwidth"}.get(row.get("kind"))
    value = row.get(column) if column else None
    return float(f"{float(value):.{digits}g}") if finite(value) else None


def budgets(rows: Iterable[Row]) -> list[float]:
    """The channel-use budgets of a scenario: the distinct channel uses per pixel of its semantic rows, increasing."""
    return sorted({budget_of(r) for r in rows if r.get("kind") == "semantic"} - {None})


def at_budget(budget: float, kind: str = "semantic") -> Callable[[Row], bool]:
    """A filter of the rows of ``kind`` that stand for ``budget``: semantic rows whose budget (:func:`budget_of`)
    is ``budget``; adaptive chains whose target it meets, within 5 % below, as a semantic codec's does."""
    if kind == "semantic":
        return lambda r: r.get("kind") == kind and budget_of(r) == float(budget)

    def near(r: Row) -> bool:
        target = budget_of(r)
        return r.get("kind") == kind and target is not None and (1 - MATCH_TOLERANCE) * target <= budget <= target

    return near


def _better(a: Row, b: Row) -> bool:
    ma, mb = float(a["miou"]), float(b["miou"])
    return ma > mb or (ma == mb and float(a["channel_uses_per_pixel"]) < float(b["channel_uses_per_pixel"]))


def finite(value: Any) -> bool:
    """Whether ``value`` reads as a finite number (a results.csv cell may be empty or text)."""
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def break_even_images(delivery_uses: float, semantic_per_image: float, digital_per_image: float) -> float:
    """Images after which the semantic system's channel uses, delivery included, fall below the digital chain's:
    the smallest integer ``N`` with ``delivery + N * s < N * d``; ``inf`` when ``d <= s`` or delivery never ends.
    """
    gain = digital_per_image - semantic_per_image
    if gain <= 0 or not math.isfinite(delivery_uses):
        return float("inf")
    return float(math.floor(delivery_uses / gain) + 1)
