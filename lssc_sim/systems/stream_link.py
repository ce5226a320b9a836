"""What the systems that send one byte stream per image share: the LDPC + QAM link of a Point and its counters.

``digital_image`` (image streams), ``label_map`` (label-map streams) and ``split_digital`` (quantised feature
streams) differ in what the stream holds and how it is scored; their streams cross the channel the same way
(:func:`~lssc_sim.digital.transport.send_streams`), and the same counters describe the crossing. Links and the
LDPC codewords of the sent streams are kept per process, keyed by value (modulation, channel spec, a key of the
streams), because neither depends on the SNR.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lssc_sim.digital.spec import LdpcSpec
from lssc_sim.snr import snr_db_to_ebno_db
from lssc_sim.systems.base import Counters, PointContext, SystemConfig, channel_key, overhead_counters


class MapReceiverSpec(BaseModel):
    """How a receiver of label maps or features decodes (``label_map``, ``split_digital``).

    ``strict``: a CRC failure in any code block, or a stream the decoder refuses, loses the image: the receiver
    outputs the fallback map (every pixel ``fallback_class``), counted in ``images_lost``. ``tolerant``: every
    block's bits are used, CRC or not, and the decoder does its best with what arrived.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["strict", "tolerant"] = "strict"
    fallback_class: int = Field(0, ge=0, le=254, description="class of every pixel of the map shown when one is lost")
    early_stop: bool = Field(True, description="strict only: stop decoding an image at its first failed round")

    def fallback_problems(self, dataset: Any) -> list[str]:
        """A fallback class the scenario's dataset (a DatasetSpec or None) does not have."""
        from lssc_sim.data import DATASETS

        known = dataset is not None and dataset.name in DATASETS
        classes = getattr(DATASETS.get(dataset.name), "num_classes", None) if known else None
        if classes is not None and self.fallback_class >= classes:
            return [
                f"receiver.fallback_class: {self.fallback_class} is not a class of {dataset.name!r} "
                f"(expected 0..{classes - 1})"
            ]
        return []


class MapStreamConfig(SystemConfig):
    """What the systems that deliver a label map through one byte stream per image share (``label_map``,
    ``split_digital``): the link, the demapper, the receiver, the sweep axes, and the check of their model's files
    (:meth:`model_name`) and fallback class against the scenario's dataset."""

    coder: str = Field("auto", description="entropy coder of the streams; auto: the smallest per stream")
    fec: LdpcSpec = LdpcSpec(rate=0.5, decoder="fast")
    demapping: Literal["app", "maxlog"] = "app"
    receiver: MapReceiverSpec = MapReceiverSpec()

    axes = frozenset({"snr_db", "channel", "modulation"})
    needs_dataset = True
    ideal_channel = True

    @field_validator("coder")
    @classmethod
    def _known_coder(cls, coder: str) -> str:
        known = cls.coders()
        if coder != "auto" and coder not in known:
            raise ValueError(
                f"unknown {cls.model_fields['kind'].default} coder {coder!r}; known: auto, {', '.join(known)}"
            )
        return coder

    @classmethod
    def coders(cls) -> tuple[str, ...]:
        """The coders ``coder`` may name besides ``auto`` (imported lazily: validation stays light)."""
        raise NotImplementedError

    def model_name(self) -> str:
        """The shipped model or training folder the system runs at the device."""
        raise NotImplementedError

    def check_files(self, dataset=None) -> list[str]:
        from lssc_sim import pretrained

        name = self.model_name()
        return (
            pretrained.file_problems(name)
            or pretrained.fit_problems(name, dataset)
            or self.receiver.fallback_problems(dataset)
        )


class DecodedStreams:
    """Results of a pure decoder remembered by the stream's digest (oldest dropped first): decoding is a function
    of the bytes, and above the cliff every Point receives the same streams, so each is decoded once. Only strict
    decodes are remembered (a strict receiver decodes only streams whose every CRC passed).

    Parameters
    ----------
    decode : callable
        ``decode(stream, tolerant) -> result``.
    max_entries : int
    """

    def __init__(self, decode: Any, max_entries: int = 4096) -> None:
        self.decode, self.max_entries = decode, max_entries
        self._results: dict[tuple[bytes, bool], Any] = {}

    def __call__(self, stream: bytes | None, tolerant: bool) -> Any:
        if stream is None or tolerant:  # damaged streams seldom repeat: tolerant results would only fill memory
            return self.decode(stream, tolerant)
        key = (hashlib.blake2b(stream, digest_size=16).digest(), tolerant)
        if key not in self._results:
            if len(self._results) >= self.max_entries:
                self._results.pop(next(iter(self._results)))
            self._results[key] = self.decode(stream, tolerant)
        return self._results[key]


def lost_by_crc(stream: bytes | None, crc_ok: np.ndarray | None) -> bool:
    """Whether a strict receiver drops a stream: never decoded, or any of its code blocks failed its CRC."""
    return stream is None or (crc_ok is not None and not crc_ok.all())


def receive_streams(
    received: list[bytes | None], crc_ok: list[Any], strict: bool, decode: Any, payload: str
) -> tuple[list[Any], Counter]:
    """Decode every received stream as a strict or tolerant receiver does.

    Parameters
    ----------
    received, crc_ok : list
        As :meth:`StreamLink.deliver` returns them, one per image.
    strict : bool
        Drop a stream whose code blocks did not all pass their CRC (else decode it tolerantly, damage and all).
    decode : callable
        ``decode(stream, tolerant)`` -> a result with the attribute ``payload`` (None when it failed) and
        ``reason``.
    payload : str
        The attribute of the decoder's result that holds what was decoded ("image", "labels", "tensors").

    Returns
    -------
    payloads : list
        Per image the decoded payload, or None where the image was lost.
    lost : Counter
        Lost images by reason: ``"crc"`` or the decoder's (see :func:`~lssc_sim.systems.image_scoring.loss_counters`).
    """
    payloads, lost = [], Counter()
    for stream, ok in zip(received, crc_ok, strict=True):
        if strict and lost_by_crc(stream, ok):
            lost["crc"] += 1
            payloads.append(None)
            continue
        out = decode(stream, not strict)
        value = getattr(out, payload)
        if value is None:
            lost[out.reason] += 1
        payloads.append(value)
    return payloads, lost


class StreamLink:
    """Byte streams (one per image) through the Point's link.

    Parameters
    ----------
    fec : LdpcSpec
        The 5G LDPC code (``fec:`` of the system).
    demapping : {"app", "maxlog"}
        The demapper.
    """

    def __init__(self, fec: LdpcSpec, demapping: str) -> None:
        self.fec, self.demapping = fec, demapping
        self._links: dict[tuple[str | None, str], Any] = {}
        self._coded: dict[tuple[str, str | None], tuple[list[np.ndarray], list[np.ndarray], int]] = {}

    def deliver(
        self, ctx: PointContext, streams_key: str, streams: list[bytes], early_stop: bool, seconds: Counter
    ) -> tuple[list[bytes | None], list[Any], Counters]:
        """:meth:`send`, or over a noiseless channel (``ideal``) the streams as sent: no code, no modulation, no
        CRC (``crc_ok`` None per image) and no link counters."""
        if ctx.channel.noiseless:
            return list(streams), [None] * len(streams), {}
        return self.send(ctx, streams_key, streams, early_stop, seconds)

    def send(
        self, ctx: PointContext, streams_key: str, streams: list[bytes], early_stop: bool, seconds: Counter
    ) -> tuple[list[bytes | None], list[np.ndarray], Counters]:
        """Send ``streams`` over ``ctx``'s channel at its SNR and modulation.

        Parameters
        ----------
        ctx : PointContext
        streams_key : str
            Identifies ``streams`` by value (the dataset spec and whatever made them): their codewords are
            cached under it.
        streams : list of bytes
            One stream per image of ``ctx.dataset``.
        early_stop : bool
            Stop decoding an image at its first failed round (strict receivers).
        seconds : Counter
            Wall time by stage, added to.

        Returns
        -------
        received : list of bytes or None
            Each image's received stream (whole code blocks: zero padding at its end), None where early stopping
            dropped it.
        crc_ok : list of [num_blocks_i] bool
            CRC24B check of each code block.
        counters : dict
            Blocks, errors (BER, BLER on the first round of every image: unbiased), channel uses per image and
            per pixel, padding bits, the channel's overhead per image, and Eb/N0 per source bit.
        """
        from lssc_sim.digital.transport import send_streams

        link = self._link(ctx)
        t = time.perf_counter()
        payloads, coded, padding = self._encode(streams_key, link, streams, ctx.modulation)
        seconds["fec_encoding"] += time.perf_counter() - t
        tx = send_streams(link, payloads, coded, ctx.no, ctx.rng, early_stop=early_stop)
        seconds.update(tx.seconds)
        c = tx.counters
        source_bits = 8 * sum(len(s) for s in streams)
        height, width = ctx.dataset.spec.hw
        counters = {
            **c,
            "padding_bits": padding,
            # error rates on the first round of every image, decoded whatever the early stop (unbiased)
            "ber": c["bit_errors"] / c["bits_scored"],
            "coded_ber": c["coded_bit_errors"] / c["coded_bits"],
            "bler": c["block_errors"] / c["scored_blocks"],
            "bits_per_symbol": link.modem.bits_per_symbol,
            "code_rate": link.payload_bits / link.coded_bits,  # payload rate (the CRC is overhead), as in ber
            "channel_uses_per_image": c["channel_uses"] / len(streams),
            "channel_uses_per_pixel": c["channel_uses"] / (len(streams) * height * width),
            **overhead_counters(link.channel, [len(b) * link.symbols_per_block for b in coded]),
            # Eb per source bit (header included): what the channel uses buy
            "ebno_db": float(snr_db_to_ebno_db(ctx.snr_db, source_bits / c["channel_uses"])),
        }
        return tx.streams, tx.crc_ok, counters

    def _link(self, ctx: PointContext):
        key = (ctx.modulation, channel_key(ctx.channel))
        if key not in self._links:
            self._links[key] = make_link(self.fec, ctx.modulation, self.demapping, ctx.channel)
        return self._links[key]

    def _encode(self, streams_key: str, link, streams: list[bytes], modulation: str | None):
        from lssc_sim.digital.transport import stream_blocks

        key = (streams_key, modulation)
        if key not in self._coded:
            blocks = [stream_blocks(s, link.payload_bits) for s in streams]
            payloads = [b for b, _ in blocks]
            self._coded[key] = (payloads, [link.encode(p) for p in payloads], sum(p for _, p in blocks))
        return self._coded[key]


def stream_rate_counters(streams: list[bytes], hw: tuple[int, int]) -> Counters:
    """Source bits per image and per pixel of ``streams`` (headers included, as sent): mean, min and max."""
    bpp = np.array([8 * len(s) for s in streams]) / (hw[0] * hw[1])
    return {
        "source_bits_per_image": float(bpp.mean() * hw[0] * hw[1]),
        "source_bits_per_pixel": float(bpp.mean()),
        "source_bpp_min": float(bpp.min()),
        "source_bpp_max": float(bpp.max()),
    }


def make_link(fec: LdpcSpec, modulation: str, demapping: str, channel):
    """The :class:`~lssc_sim.digital.link.Link` of ``fec`` with ``modulation`` over ``channel``."""
    from lssc_sim.digital.fec import LDPC5GCode
    from lssc_sim.digital.link import Link
    from lssc_sim.digital.modem import Modem

    modem = Modem(modulation, demapping)
    return Link(LDPC5GCode.from_spec(fec, modem.bits_per_symbol), modem, channel)
