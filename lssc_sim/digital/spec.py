"""The digital chain described in plain Python, for validating scenarios without TensorFlow: the modulations,
the demapping methods and the 5G LDPC code parameters (``LdpcSpec``, the ``fec:`` section of a system).

``digital/fec.py`` (the code itself, on Sionna) and ``digital/modem.py`` read their limits from here.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MODULATIONS: dict[str, int] = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}
"""Bits per symbol of each supported modulation (Gray-labelled square QAM)."""

DEMAPPING_METHODS = ("app", "maxlog")


def check_modulation(modulation: str) -> str:
    """``modulation`` if it is one of :data:`MODULATIONS`; else a ValueError listing them."""
    if modulation not in MODULATIONS:
        raise ValueError(f"unknown modulation {modulation!r}; known: {', '.join(MODULATIONS)}")
    return modulation


BER_COUNTERS = (
    "bits",
    "bit_errors",
    "coded_bits",
    "coded_bit_errors",
    "blocks",
    "block_errors",
    "crc_failures",
    "channel_uses",
)
"""What ``Link.run`` counts for a batch of blocks."""

CODE_RATES: tuple[float, float] = (1 / 3, 5 / 6)
"""Closed range of accepted code rates ``k / n``."""

K_RANGE: tuple[int, int] = (25, 8448)
"""Closed range of the LDPC information length ``k`` (CRC included); 8448 is 5G's largest code block."""

CRC_BITS = 24  # the CRC24B every 5G code block carries: k information bits hold k - 24 payload bits
CN_UPDATES = ("boxplus-phi", "boxplus", "minsum", "offset-minsum")
DECODERS = ("sionna", "fast")
_RATE_TOL = 1e-9  # so that rate=1/3 written as 0.3333333333 or computed as k/n is not rejected by rounding


RATE_SNAP = 1e-3
"""A rate within this of a fraction ``p/q`` (``q <= 12``) is taken as that fraction: users write 0.333 for 1/3."""


def parse_rate(rate: Any) -> float:
    """A code rate as users write it: a number or a fraction string (``"1/3"``), snapped to ``p/q``, ``q <= 12``.

    Raises
    ------
    ValueError
        Neither a number nor a ``p/q`` string.
    """
    if isinstance(rate, str):
        try:
            rate = float(Fraction(rate.strip()))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError(f"expected a code rate as a number or a fraction such as '1/3'; found {rate!r}") from None
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not math.isfinite(rate):
        raise ValueError(f"expected a code rate as a number or a fraction such as '1/3'; found {rate!r}")
    nearest = Fraction(float(rate)).limit_denominator(12)
    return float(nearest) if abs(float(nearest) - rate) <= RATE_SNAP else float(rate)


def codeword_length(k: int, n: int | None = None, rate: float | None = None, bits_per_symbol: int = 1) -> int:
    """Check the code parameters (plain Python, usable when validating scenarios) and return ``n``.

    Parameters
    ----------
    k : int
        LDPC information bits per code block, CRC24 included, in ``K_RANGE``.
    n, rate : int or float, exactly one of them
        Codeword length in bits, or code rate ``k/n`` in ``CODE_RATES``. From a rate, ``n = ceil(k / rate)``
        rounded up to a multiple of ``bits_per_symbol`` (the mapper needs whole symbols).
    bits_per_symbol : int, default 1
        Bits per modulation symbol.

    Raises
    ------
    ValueError, TypeError
        A parameter out of range or of the wrong type; the message names it.
    """
    check_int("k", k, *K_RANGE)
    check_int("bits_per_symbol", bits_per_symbol, 1, 16)
    if (n is None) == (rate is None):
        raise ValueError(f"give exactly one of n and rate; got n={n!r}, rate={rate!r}")
    lo, hi = CODE_RATES
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(f"rate must be a number in [1/3, 5/6]; got {rate!r} ({type(rate).__name__})")
        if not lo - _RATE_TOL <= rate <= hi + _RATE_TOL:
            raise ValueError(f"rate must be in [1/3, 5/6] (5G LDPC as used here); got {rate!r}")
        n = math.ceil(k / rate - _RATE_TOL * k)
        n = -(-n // bits_per_symbol) * bits_per_symbol
        return n
    check_int("n", n, k + 1, 316 * 384)
    if not lo - _RATE_TOL <= k / n <= hi + _RATE_TOL:
        raise ValueError(f"k/n must be in [1/3, 5/6]; got k={k}, n={n} (rate {k / n:.4f})")
    if n % bits_per_symbol:
        raise ValueError(f"n must be a multiple of bits_per_symbol={bits_per_symbol}; got n={n}")
    return n


def check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r} ({type(value).__name__})")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r}")


class LdpcSpec(BaseModel):
    """A 5G LDPC code with CRC24 per code block: ``k`` (CRC included) and one of ``n`` or ``rate``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Literal["ldpc5g"] = "ldpc5g"
    k: int = Field(4032, ge=K_RANGE[0], le=K_RANGE[1], description="bits per code block, CRC24 included")
    rate: float | None = Field(
        None,
        gt=0,
        lt=1,
        description=(
            "code rate k/n in [1/3, 5/6], a number or a fraction such as '1/3'; a number within 0.001 of a fraction "
            "p/q with q <= 12 means that fraction (0.333 is 1/3, 0.667 is 2/3); n is rounded up to whole symbols"
        ),
    )
    n: int | None = Field(None, gt=0, description="codeword length in bits")
    num_iter: int = Field(20, ge=1, le=200)
    cn_update: Literal[CN_UPDATES] = "boxplus-phi"
    decoder: Literal[DECODERS] = Field(
        "sionna", description="sionna: stock LDPC5GDecoder (the reference); fast: numba layered offset min-sum"
    )

    @field_validator("rate", mode="before")
    @classmethod
    def _fraction(cls, rate: Any) -> Any:
        return None if rate is None else parse_rate(rate)

    @model_validator(mode="after")
    def _check(self) -> Self:
        codeword_length(self.k, self.n, self.rate)  # the code's own checks (5G rate range, n vs k)
        return self
