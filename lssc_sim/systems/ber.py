"""The ``ber`` system: uncoded or 5G-LDPC-coded QAM over a channel; BER and BLER vs SNR and Eb/N0."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lssc_sim.digital.fec import CN_UPDATES, DECODERS, K_RANGE, codeword_length
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig
from lssc_sim.theory import snr_db_to_ebno_db


class LdpcSpec(BaseModel):
    """A 5G LDPC code with CRC24 per code block: ``k`` (CRC included) and one of ``n`` or ``rate``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Literal["ldpc5g"] = "ldpc5g"
    k: int = Field(4032, ge=K_RANGE[0], le=K_RANGE[1], description="bits per code block, CRC24 included")
    rate: float | None = Field(None, gt=0, lt=1, description="code rate k/n; n is rounded up to whole symbols")
    n: int | None = Field(None, gt=0, description="codeword length in bits")
    num_iter: int = Field(20, ge=1, le=200)
    cn_update: Literal[CN_UPDATES] = "boxplus-phi"
    decoder: Literal[DECODERS] = Field(
        "sionna", description="sionna: stock LDPC5GDecoder (the reference); fast: numba layered offset min-sum")

    @model_validator(mode="after")
    def _check(self) -> Self:
        codeword_length(self.k, self.n, self.rate)  # the code's own checks (5G rate range, n vs k)
        return self


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
        return self.model_copy(update={
            "max_bits": max(1, self.max_bits // 20),
            "target_bit_errors": max(1, self.target_bit_errors // 10),
            "target_block_errors": max(1, self.target_block_errors // 10),
        })

    def build(self):
        return BerRun(self)


class BerRun:
    """Runs Points of one :class:`BerConfig`, keeping traced links per (modulation, channel)."""

    def __init__(self, config: BerConfig):
        self.config = config
        self._links: dict[tuple[str, str], object] = {}

    def __call__(self, ctx: PointContext) -> Counters:
        link = self._link(ctx)
        if hasattr(link, "rng"):  # the fast link draws bits and noise from NumPy: use the Point's stream
            link.rng = ctx.rng
        cfg = self.config
        no = 10 ** (-ctx.snr_db / 10)
        totals = dict.fromkeys(("bits", "bit_errors", "coded_bits", "coded_bit_errors", "blocks",
                                "block_errors", "crc_failures", "channel_uses"), 0)
        while totals["bits"] < cfg.max_bits:
            for name, value in link.run(cfg.batch_size, no).items():
                totals[name] += value
            enough_blocks = cfg.fec is None or totals["block_errors"] >= cfg.target_block_errors
            if totals["bit_errors"] >= cfg.target_bit_errors and enough_blocks:
                break
        m = link.modem.bits_per_symbol
        rate = totals["bits"] / totals["coded_bits"]  # payload rate: the CRC24 counts as overhead
        return {
            **totals,
            "bits_per_symbol": m,
            "code_rate": rate,
            "ebno_db": snr_db_to_ebno_db(ctx.snr_db, m, rate),
            "ber": totals["bit_errors"] / totals["bits"],
            "bler": totals["block_errors"] / totals["blocks"],
            "coded_ber": totals["coded_bit_errors"] / totals["coded_bits"],
        }

    def _link(self, ctx: PointContext):
        from lssc_sim.digital.fast_link import FastBitLink
        from lssc_sim.digital.fec import LDPC5GCode
        from lssc_sim.digital.link import BitLink
        from lssc_sim.digital.modem import Modem

        cache_key = (ctx.modulation, repr(ctx.channel))
        if cache_key not in self._links:
            modem = Modem(ctx.modulation, self.config.demapping)
            f = self.config.fec
            if f is None:
                link = BitLink(modem, ctx.channel, None, self.config.uncoded_block_bits)
            else:
                code = LDPC5GCode(f.k, n=f.n, rate=f.rate, bits_per_symbol=modem.bits_per_symbol,
                                  num_iter=f.num_iter, cn_update=f.cn_update)
                link = (FastBitLink(modem, ctx.channel, code, max_iter=f.num_iter) if f.decoder == "fast"
                        else BitLink(modem, ctx.channel, code))
            self._links[cache_key] = link
        return self._links[cache_key]
