"""SNR sweep axes: an explicit list of values or an inclusive ``{start, stop, step}`` range, in dB."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

MAX_POINTS = 10_000


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
    values = snr_values(axis)
    if len(values) <= count:
        return values
    step = (len(values) - 1) / (count - 1)
    return [values[round(i * step)] for i in range(count)]
