"""What every system shares: its config base class, the per-Point context, and the SYSTEMS registry.

A system is anything that turns (data, channel, SNR, modulation, random stream) into counters; the runner
never knows which system it runs. A new system is one file: a :class:`SystemConfig` subclass registered under
its ``kind`` whose :meth:`SystemConfig.build` returns a callable ``run(ctx) -> dict of counters``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lssc_sim.registry import Registry
from lssc_sim.snr import SnrAxis

Counters = dict[str, float | int]


@dataclass
class PointContext:
    """Everything one Point's run may use.

    Attributes
    ----------
    snr_db : float
        Es/N0 of the channel in dB.
    no : float
        Noise power per complex symbol at ``snr_db`` with unit symbol energy (:func:`lssc_sim.snr.to_no`).
    channel : lssc_sim.channels.Channel or None
        The channel model, built once per Point by the runner and handed down.
    modulation : str or None
        Modulation name (``qpsk``, ``16qam``, ...) where the modulation axis applies.
    rng : numpy.random.Generator
        The Point's NumPy stream; Sionna's TF generator has been reset from the same seed.
    dataset : lssc_sim.data.Dataset or None
        The scenario's dataset, where the system needs images.
    """

    snr_db: float
    no: float
    channel: Any
    modulation: str | None
    rng: np.random.Generator
    dataset: Any = None


def overhead_counters(channel: Any, frame_symbols: list[int], per: str = "image") -> Counters:
    """The channel's overhead besides the symbols sent (OFDM: pilots, padding, cyclic prefix; nothing on a flat
    channel) for frames of ``frame_symbols`` symbols each, as counters per frame (``pilot_uses_per_image``...)
    and flags (``cp_covers_delay``)."""
    counters: Counters = {}
    for name, value in channel.overhead(frame_symbols).items():
        if isinstance(value, bool):
            counters[name] = value
        else:
            counters[f"{name}_per_{per}"] = value / max(len(frame_symbols), 1)
    return counters


def channel_key(channel: Any) -> str:
    """A cache key for a channel by value: its spec as sorted JSON (never ``id()`` or ``repr()``)."""
    return json.dumps(channel.spec(), sort_keys=True)


class SystemConfig(BaseModel):
    """Base of every system's parameters; a scenario's ``systems.<label>`` entry is validated by it.

    Class attributes
    ----------------
    axes : frozenset of str
        The sweep axes that apply (``snr_db``, ``channel``, ``modulation``); others are not multiplied out.
    needs_dataset : bool
        Whether Points need the scenario's dataset.
    ideal_channel : bool
        Whether the system runs over a noiseless channel (``ideal``: no SNR, no modulation); the scenario refuses
        one swept for a system that does not.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="system parameters to sweep, as dotted paths to lists of values (e.g. fec.rate: [0.5, 0.75])",
    )

    snr_db: SnrAxis | None = Field(
        default=None, description="this system's own SNR axis (dB), replacing the scenario's sweep.snr_db"
    )
    channels: list[str] | None = Field(
        default=None,
        description="run this system over only these of the scenario's channels, by name (default: all)",
    )

    axes: ClassVar[frozenset[str]] = frozenset({"snr_db", "channel"})
    needs_dataset: ClassVar[bool] = False
    ideal_channel: ClassVar[bool] = False

    def quick(self) -> Self:
        """A cheaper copy for ``--quick`` smoke runs (default: unchanged)."""
        return self

    def check_files(self, dataset: Any = None) -> list[str]:
        """Problems with files this config names (missing weights, weights that do not fit the scenario's
        ``dataset``, a :class:`~lssc_sim.data.DatasetSpec` or None), checked before any work starts."""
        return []

    def build(self) -> Callable[[PointContext], Counters]:
        """Prepare the system (heavy set-up, cached per process by the runner); returns ``run(ctx)``."""
        raise NotImplementedError


SYSTEMS: Registry[type[SystemConfig]] = Registry("system", entry_point_group="lssc_sim.systems", base=SystemConfig)
