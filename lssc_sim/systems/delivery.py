"""Model delivery (seed 000's server-trained encoder, seed 004's model propagation): what sending the device half
over the digital link costs, and after how many images a semantic system has paid it back.

The (compressed) device half must arrive without error, so it goes over the 5G LDPC + QAM link with
retransmission of every code block whose CRC fails (ARQ). With a block error rate ``p`` measured at the delivery
SNR, a block is sent ``1 / (1 - p)`` times on average, so delivering ``b`` bits costs

    ceil(b / payload_bits) * symbols_per_block / (1 - p)   channel uses,

infinite where no block gets through (``p = 1``). Then a semantic system that spends ``s`` channel uses per image,
against a digital chain's ``d > s``, has spent fewer channel uses in total after ``N* = delivery / (d - s)`` images
(:func:`lssc_sim.bounds.break_even_images`); with ``d <= s`` it never catches up.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lssc_sim.digital.spec import LdpcSpec, check_modulation
from lssc_sim.snr import to_no
from lssc_sim.systems.base import Counters

MAX_BLOCKS = 400  # blocks simulated to measure the delivery BLER (the model may need more: they are alike)


class DeliverySpec(BaseModel):
    """The link the device half is delivered over (``delivery:`` of a ``semantic`` system)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snr_db: float = Field(
        10.0, ge=-30, le=60, allow_inf_nan=False, description="Es/N0 in dB of the delivery link (the Point's channel)"
    )
    modulation: str = "qpsk"
    fec: LdpcSpec = LdpcSpec(rate=0.5, decoder="fast")

    @field_validator("modulation")
    @classmethod
    def _known(cls, modulation: str) -> str:
        return check_modulation(modulation)


def delivery_counters(num_bytes: int, spec: DeliverySpec, channel: Any, rng: np.random.Generator) -> Counters:
    """Channel uses to deliver ``num_bytes`` over ``channel`` at ``spec``'s SNR, modulation and code, with ARQ.

    Parameters
    ----------
    num_bytes : int
        Size of what is delivered (the compressed device half).
    spec : DeliverySpec
    channel : lssc_sim.channels.Channel
        The channel model (its noise is set by ``spec.snr_db``).
    rng : numpy.random.Generator
        Draws the measurement blocks' bits and noise.

    Returns
    -------
    dict
        ``delivery_bits``, ``delivery_blocks`` (code blocks of one copy), ``delivery_bler`` (measured on
        ``min(blocks, MAX_BLOCKS)`` random blocks) and ``delivery_channel_uses`` (expected, retransmissions
        included; ``inf`` when every measured block failed).
    """
    from lssc_sim.channels.base import isolated_tf_rng
    from lssc_sim.systems.stream_link import make_link

    link = make_link(spec.fec, spec.modulation, "app", channel)
    bits = 8 * num_bytes
    blocks = max(1, math.ceil(bits / link.payload_bits))
    # channels without a NumPy path draw from Sionna's generator: seeded from rng here, then put back
    with isolated_tf_rng(int(rng.integers(2**31))):
        measured = link.run(min(blocks, MAX_BLOCKS), to_no(spec.snr_db), rng)
    bler = measured["crc_failures"] / measured["blocks"]
    uses = blocks * link.symbols_per_block / (1 - bler) if bler < 1 else float("inf")
    return {
        "delivery_bits": bits,
        "delivery_blocks": blocks,
        "delivery_bler": bler,
        "delivery_channel_uses": uses,
    }
