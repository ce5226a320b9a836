"""The ``digital_adaptive`` system: a digital image chain that adapts to the SNR, as 5G link adaptation does.

Where the best-digital envelope of :mod:`lssc_sim.bounds` is a genie's pick among measured configurations, this
system decides before sending, from a table: at each Point it takes the modulation and code rate that carry
the most code blocks within the channel-use budget among those whose measured SNR for a 10 % image error rate
(an image is one transport block, as 5G's 10 % BLER target counts them; over AWGN, with this simulator's own
link, measured once per process: :func:`mcs_threshold`) is at most the Point's SNR, and the source rate target
that fills those blocks.
Then it runs exactly as ``digital_image`` (source codec at the rate target, 5G LDPC + QAM, strict or tolerant
receiver, the UNet at the receiver). Over fading it knows only the average SNR (no channel state at the
transmitter), so the fades below the table's threshold lose their images. Below every threshold it sends
with the most robust entry.

Rows carry the choice (``adaptive_modulation``, ``adaptive_code_rate``, ``adaptive_threshold_snr_db``,
``adaptive_bpp_target``) beside every counter of ``digital_image``. An image whose codec cannot get under the
target (its floor) is sent at its smallest setting and counted in ``images_over_target``; the achieved
``channel_uses_per_pixel`` then exceeds the budget, and the row says so.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from lssc_sim.digital.source import SOURCE_CODECS
from lssc_sim.digital.spec import CRC_BITS, MODULATIONS, LdpcSpec, check_modulation, codeword_length, parse_rate
from lssc_sim.seeding import derive_seed
from lssc_sim.snr import to_no
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig
from lssc_sim.systems.digital_image import DigitalImageConfig, ReceiverSpec, SourceSpec
from lssc_sim.systems.stream_link import make_link

# A 5G-like ladder (TS 38.214's MCS tables span QPSK at rate ~0.12 to 64-QAM at ~0.93; 5G LDPC here: 1/3..5/6)
DEFAULT_MCS = (
    ("qpsk", 1 / 3),
    ("qpsk", 1 / 2),
    ("qpsk", 3 / 4),
    ("16qam", 1 / 2),
    ("16qam", 2 / 3),
    ("16qam", 3 / 4),
    ("64qam", 2 / 3),
    ("64qam", 3 / 4),
    ("64qam", 5 / 6),
)
SNR_STEP_DB = 0.25  # resolution of the measured thresholds
TABLE_BATCH = 400  # code blocks per link call while measuring
MAX_GAP_DB = 20.0  # a threshold this far above the Shannon SNR means the entry never gets there
_TABLES: dict[tuple, float] = {}  # per process, by value: measured once


@SYSTEMS.register("digital_adaptive")
class DigitalAdaptiveConfig(SystemConfig):
    """A lossy source codec + 5G LDPC + QAM chain choosing its modulation, code rate and source rate per SNR."""

    kind: Literal["digital_adaptive"] = "digital_adaptive"
    bandwidth: float = Field(gt=0, description="channel-use budget in complex channel uses per pixel")
    codec: str = Field("webp", description="lossy source codec run at the rate target that fills the budget")
    fec: LdpcSpec = LdpcSpec(k=1024, rate=0.5, decoder="fast")
    mcs: list[tuple[str, float]] = Field(
        default_factory=lambda: list(DEFAULT_MCS),
        validate_default=True,
        description="the table's entries, [modulation, code rate] each",
    )
    bler_target: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="image (transport block) error rate the table's thresholds meet, as 5G's 10 % BLER target",
    )
    table_blocks: int = Field(400, ge=50, description="code blocks per threshold test at least")
    max_table_blocks: int = Field(
        20_000, ge=50, description="code blocks per threshold test at most (beyond, the test is stricter)"
    )
    demapping: Literal["app", "maxlog"] = "app"
    receiver: ReceiverSpec = ReceiverSpec()

    axes = frozenset({"snr_db", "channel"})
    needs_dataset = True
    ideal_channel = True  # there: the densest entry, as at an infinite SNR, and no link

    def quick(self) -> DigitalAdaptiveConfig:
        """A table measured with a tenth of the blocks (coarser thresholds) for ``--quick`` smoke runs."""
        return self.model_copy(update={"max_table_blocks": 2_000})

    @field_validator("codec")
    @classmethod
    def _lossy(cls, codec: str) -> str:
        if codec not in SOURCE_CODECS or SOURCE_CODECS.get(codec).lossless:
            lossy = [n for n in SOURCE_CODECS.names() if not SOURCE_CODECS.get(n).lossless]
            raise ValueError(f"expected a lossy source codec ({', '.join(lossy)}); found {codec!r}")
        return codec

    @field_validator("mcs")
    @classmethod
    def _entries(cls, mcs: list[tuple[str, float]]) -> list[tuple[str, float]]:
        if not mcs:
            raise ValueError("expected at least one [modulation, code rate] entry")
        out = []
        for modulation, rate in mcs:
            out.append((check_modulation(modulation), parse_rate(rate)))
        return out

    def check_files(self, dataset=None) -> list[str]:
        problems = DigitalImageConfig(receiver=self.receiver).check_files(dataset)
        if dataset is not None:
            pixels = dataset.hw[0] * dataset.hw[1]
            fits = [m for m in self.mcs if blocks_in_budget(self.fec, *m, self.bandwidth, pixels) > 0]
            if not fits:
                problems.append(
                    f"bandwidth: {self.bandwidth:g} channel uses per pixel ({self.bandwidth * pixels:g} per image) "
                    f"hold no code block of k = {self.fec.k} at any entry of mcs; expected a larger budget or k"
                )
        return problems

    def build(self) -> DigitalAdaptiveRun:
        return DigitalAdaptiveRun(self)


def blocks_in_budget(fec: LdpcSpec, modulation: str, rate: float, budget: float, pixels: int) -> int:
    """Whole code blocks of ``fec`` at ``modulation`` and ``rate`` within ``budget`` channel uses per pixel."""
    m = MODULATIONS[modulation]
    symbols = codeword_length(fec.k, rate=rate, bits_per_symbol=m) // m
    return math.floor(budget * pixels / symbols + 1e-9)


def block_error_target(image_error_target: float, blocks: int) -> float:
    """Block error rate at which an image of ``blocks`` independent code blocks is lost with probability
    ``image_error_target`` (a strict receiver loses it at any block error): ``1 - (1 - e)**(1 / blocks)``."""
    return -math.expm1(math.log1p(-image_error_target) / blocks)


def mcs_threshold(config: DigitalAdaptiveConfig, modulation: str, rate: float, blocks: int) -> float:
    """The lowest SNR (dB, on a 0.25 dB grid) at which images of ``blocks`` code blocks at ``modulation`` and
    ``rate`` are lost at most ``config.bler_target`` of the time over AWGN, measured with the link the images use.

    The per-block target is :func:`block_error_target`; from the Shannon SNR of the entry's spectral efficiency
    upwards, each step sends up to ``max(table_blocks, 10 / target)`` blocks (at most ``max_table_blocks``, then
    the test is stricter than the target) in batches, and fails as soon as the errors pass what the target
    allows. The seed is fixed per entry; the result is remembered per process.
    """
    from lssc_sim.channels import make_channel

    target = block_error_target(config.bler_target, blocks)
    key = (config.fec.model_dump_json(), modulation, rate, target, config.table_blocks, config.max_table_blocks)
    key += (config.demapping,)
    if key not in _TABLES:
        fec = config.fec.model_copy(update={"rate": rate, "n": None})
        link = make_link(fec, modulation, config.demapping, make_channel("awgn"))
        shannon = 10 * math.log10(2 ** (link.payload_bits / link.symbols_per_block) - 1)
        needed = min(max(config.table_blocks, math.ceil(10 / target)), config.max_table_blocks)
        allowed = target * needed
        rng = np.random.default_rng(derive_seed(0, f"mcs:{modulation}:{rate}:{fec.k}:{blocks}"))
        snr = math.floor(shannon / SNR_STEP_DB) * SNR_STEP_DB
        while not _meets(link, snr, needed, allowed, rng):
            snr += SNR_STEP_DB
            if snr > shannon + MAX_GAP_DB:
                raise ValueError(
                    f"{modulation} at rate {rate:g} (k = {fec.k}) does not reach a block error rate of {target:.2g} "
                    f"within {MAX_GAP_DB:g} dB of its Shannon SNR; drop it from mcs or raise bler_target"
                )
        _TABLES[key] = snr
    return _TABLES[key]


def _meets(link, snr_db: float, needed: int, allowed: float, rng: np.random.Generator) -> bool:
    errors, sent = 0, 0
    while sent < needed:
        batch = min(TABLE_BATCH, needed - sent)
        errors += link.run(batch, to_no(snr_db), rng)["block_errors"]
        sent += batch
        if errors > allowed:
            return False
    return True


class DigitalAdaptiveRun:
    """Runs Points of one :class:`DigitalAdaptiveConfig`: one ``digital_image`` run per choice, kept."""

    def __init__(self, config: DigitalAdaptiveConfig) -> None:
        self.config = config
        self._runs: dict[tuple, object] = {}

    def choose(self, snr_db: float, pixels: int) -> tuple[str, float, int, float]:
        """(modulation, code rate, code blocks per image, threshold SNR) for ``snr_db``: among the entries whose
        code block fits the budget, the one carrying the most blocks (then the lowest threshold) whose threshold
        ``snr_db`` reaches; else the most robust one."""
        cfg, entries = self.config, []
        for modulation, rate in cfg.mcs:
            blocks = blocks_in_budget(cfg.fec, modulation, rate, cfg.bandwidth, pixels)
            if blocks > 0:
                entries.append((blocks, -mcs_threshold(cfg, modulation, rate, blocks), modulation, rate))
        reached = [e for e in entries if -e[1] <= snr_db]
        blocks, minus_threshold, modulation, rate = max(reached) if reached else max(entries, key=lambda e: e[1])
        return modulation, rate, blocks, -minus_threshold

    def __call__(self, ctx: PointContext) -> Counters:
        cfg = self.config
        h, w = ctx.dataset.spec.hw
        snr = math.inf if ctx.channel.noiseless else ctx.snr_db
        modulation, rate, blocks, threshold = self.choose(snr, h * w)
        target = blocks * (cfg.fec.k - CRC_BITS) / (h * w)  # whole code blocks' payloads, in bits per pixel
        key = (modulation, rate, target)
        if key not in self._runs:
            chain = DigitalImageConfig(
                source=SourceSpec(codec=cfg.codec, bpp=target),
                fec=cfg.fec.model_copy(update={"rate": rate, "n": None}),
                demapping=cfg.demapping,
                receiver=cfg.receiver,
            )
            self._runs[key] = chain.build()
        counters = self._runs[key](dataclasses.replace(ctx, modulation=None if ctx.channel.noiseless else modulation))
        return {
            **counters,
            "adaptive_modulation": modulation,
            "adaptive_code_rate": rate,
            "adaptive_blocks_per_image": blocks,
            "adaptive_block_error_target": block_error_target(cfg.bler_target, blocks),
            "adaptive_threshold_snr_db": threshold,
            "adaptive_bpp_target": target,
        }
