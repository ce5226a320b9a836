"""The one place for SNR conversions (dB to noise power, Es/N0 to Eb/N0) and the SNR sweep axis of scenarios.

Conventions: symbols have unit average energy, SNR means Es/N0 per complex symbol, and the noise power per
complex symbol is ``no = 10**(-snr_db/10)`` (:func:`to_no`). Eb is the energy per information bit:
``Es/N0 = Eb/N0 * bits per channel use`` (bits per symbol times code rate, or source bits per channel use).
An axis is an explicit list of values or an inclusive ``{start, stop, step}`` range, in dB.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

MAX_POINTS = 10_000


def to_no(snr_db: float) -> float:
    """Noise power per complex symbol (linear) at ``snr_db`` (Es/N0 in dB) with unit-energy symbols."""
    return 10.0 ** (-float(snr_db) / 10.0)


def snr_db_to_ebno_db(snr_db: ArrayLike, bits_per_symbol: float, code_rate: float = 1.0) -> np.ndarray:
    """Es/N0 to Eb/N0, ``Eb/N0 = Es/N0 / (bits_per_symbol * code_rate)``.

    Parameters
    ----------
    snr_db : float or array
        Es/N0 in dB (per complex symbol).
    bits_per_symbol : float
        Coded bits per complex symbol (2 for QPSK).
    code_rate : float, default 1.0
        Information bits per coded bit.

    Returns
    -------
    np.ndarray of float
        Eb/N0 in dB, Eb per information bit.
    """
    return np.asarray(snr_db, dtype=float) - _efficiency_db(bits_per_symbol, code_rate)


def ebno_db_to_snr_db(ebno_db: ArrayLike, bits_per_symbol: float, code_rate: float = 1.0) -> np.ndarray:
    """Eb/N0 to Es/N0, ``Es/N0 = Eb/N0 * bits_per_symbol * code_rate``; inverse of :func:`snr_db_to_ebno_db`.

    Parameters
    ----------
    ebno_db : float or array
        Eb/N0 in dB, Eb per information bit.
    bits_per_symbol : float
        Coded bits per complex symbol.
    code_rate : float, default 1.0
        Information bits per coded bit.

    Returns
    -------
    np.ndarray of float
        Es/N0 in dB.
    """
    return np.asarray(ebno_db, dtype=float) + _efficiency_db(bits_per_symbol, code_rate)


def _efficiency_db(bits_per_symbol: float, code_rate: float) -> float:
    if not bits_per_symbol > 0 or not 0 < code_rate <= 1:
        raise ValueError(f"need bits_per_symbol > 0 and 0 < code_rate <= 1; got {bits_per_symbol}, {code_rate}")
    return 10.0 * math.log10(bits_per_symbol * code_rate)


class SnrRange(BaseModel):
    """An inclusive arithmetic range ``start, start + step, ..., stop`` (dB)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: float
    stop: float
    step: float

    @model_validator(mode="after")
    def _check(self) -> SnrRange:
        span = self.stop - self.start
        if self.step == 0 or (span != 0 and math.copysign(1, span) != math.copysign(1, self.step)):
            raise ValueError(
                f"expected a non-zero step going from start ({self.start}) towards stop ({self.stop}), "
                f"found step {self.step}"
            )
        if span / self.step > MAX_POINTS:
            raise ValueError(f"expected at most {MAX_POINTS} SNR points, found {span / self.step:.0f}")
        return self

    def values(self) -> list[float]:
        count = int(math.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return [round(self.start + i * self.step, 9) for i in range(count)]


def _kind(value: Any) -> str:
    return "range" if isinstance(value, dict | SnrRange) else "list"


SnrAxis = Annotated[
    Annotated[list[float], Field(min_length=1), Tag("list")] | Annotated[SnrRange, Tag("range")],
    Discriminator(_kind),
]


def snr_values(axis: list[float] | SnrRange) -> list[float]:
    """The SNR values (dB) of an axis, in the order written."""
    return axis.values() if isinstance(axis, SnrRange) else [float(v) for v in axis]


def thin(axis: list[float] | SnrRange, count: int) -> list[float]:
    """At most ``count`` values of an axis, evenly spread and keeping both ends (for ``--quick`` runs)."""
    return spread(snr_values(axis), count)


def spread(values: list[Any], count: int) -> list[Any]:
    """At most ``count`` of ``values``, evenly spread and keeping both ends."""
    if len(values) <= count:
        return list(values)
    step = (len(values) - 1) / (count - 1)
    return [values[round(i * step)] for i in range(count)]
