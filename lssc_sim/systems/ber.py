"""The ``ber`` system: uncoded or 5G-LDPC-coded QAM over a channel; BER and BLER vs SNR and Eb/N0."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field

from lssc_sim.digital.spec import BER_COUNTERS, LdpcSpec
from lssc_sim.snr import snr_db_to_ebno_db
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig, channel_key, overhead_counters


@SYSTEMS.register("ber")
class BerConfig(SystemConfig):
    """Uncoded (``fec: null``) or LDPC-coded bits over QAM and a channel, perfect-CSI equalization.

    Monte-Carlo stops at a Point once both error targets are reached or ``max_bits`` were sent.
    """

    kind: Literal["ber"] = "ber"
    fec: LdpcSpec | None = None
    demapping: Literal["app", "maxlog"] = "app"
    uncoded_block_bits: int = Field(1200, ge=8, description="bits per block of the uncoded link")
    batch_size: int = Field(64, ge=1, description="blocks per Monte-Carlo batch")
    max_bits: int = Field(2_000_000, ge=1, description="information bits sent at most per Point")
    target_bit_errors: int = Field(1000, ge=1)
    target_block_errors: int = Field(100, ge=1)

    axes = frozenset({"snr_db", "channel", "modulation"})

    def quick(self) -> Self:
        return self.model_copy(
            update={
                "max_bits": max(1, self.max_bits // 20),
                "target_bit_errors": max(1, self.target_bit_errors // 10),
                "target_block_errors": max(1, self.target_block_errors // 10),
            }
        )

    def build(self):
        return BerRun(self)


class BerRun:
    """Runs Points of one :class:`BerConfig`, keeping a link per (modulation, channel spec)."""

    def __init__(self, config: BerConfig):
        self.config = config
        self._links: dict[tuple[str, str], object] = {}

    def __call__(self, ctx: PointContext) -> Counters:
        link = self._link(ctx)
        cfg = self.config
        totals = dict.fromkeys(BER_COUNTERS, 0)
        while totals["bits"] < cfg.max_bits:
            for name, value in link.run(cfg.batch_size, ctx.no, ctx.rng).items():
                totals[name] += value
            enough_blocks = cfg.fec is None or totals["block_errors"] >= cfg.target_block_errors
            if totals["bit_errors"] >= cfg.target_bit_errors and enough_blocks:
                break
        m = link.modem.bits_per_symbol
        rate = totals["bits"] / totals["coded_bits"]  # payload rate: the CRC24 counts as overhead
        return {
            **totals,
            **overhead_counters(ctx.channel, [link.symbols_per_block] * totals["blocks"], per="block"),
            "bits_per_symbol": m,
            "code_rate": rate,
            "ebno_db": float(snr_db_to_ebno_db(ctx.snr_db, m, rate)),
            "ber": totals["bit_errors"] / totals["bits"],
            "bler": totals["block_errors"] / totals["blocks"],
            "coded_ber": totals["coded_bit_errors"] / totals["coded_bits"],
        }

    def _link(self, ctx: PointContext):
        from lssc_sim.digital.fec import LDPC5GCode
        from lssc_sim.digital.link import Link
        from lssc_sim.digital.modem import Modem

        key = (ctx.modulation, channel_key(ctx.channel))
        if key not in self._links:
            modem = Modem(ctx.modulation, self.config.demapping)
            f = self.config.fec
            code = None if f is None else LDPC5GCode.from_spec(f, modem.bits_per_symbol)
            # the stock decoder runs in the stock chain: Sionna's mapper, channel, equalizer and demapper
            reference = f is not None and f.decoder == "sionna"
            self._links[key] = Link(
                code, modem, ctx.channel, reference=reference, uncoded_block_bits=self.config.uncoded_block_bits
            )
        return self._links[key]
