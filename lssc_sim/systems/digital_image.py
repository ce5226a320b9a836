"""The ``digital_image`` system: source codec + 5G LDPC + QAM over a channel, then a UNet segments what arrived.

Per Point, every image of the dataset is source-coded (PNG by default) behind an in-band header
(:mod:`lssc_sim.digital.source`), cut into CRC24-protected LDPC code blocks, sent over the channel at the Point's
SNR (:func:`~lssc_sim.digital.transport.send_streams`), decoded, reassembled and decoded again guardedly. A lost
image is replaced by a mid-grey fallback that is still segmented, so the mIoU is what the receiver would really
output. Source coding and LDPC encoding do not depend on the SNR: they are done once per image and process.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lssc_sim import pretrained
from lssc_sim.digital.source import SOURCE_CODECS, pack, unpack
from lssc_sim.digital.spec import LdpcSpec
from lssc_sim.metrics import per_image_confusion
from lssc_sim.snr import snr_db_to_ebno_db
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig, channel_key
from lssc_sim.systems.image_scoring import CachedSegmenter, dataset_confusion, scores

MAX_DECODED = 4096  # decoded images remembered (oldest dropped first): 48 KiB each at 128x128


class SourceSpec(BaseModel):
    """The image codec: ``png`` (lossless, the paper's) or ``jpeg``, ``jpeg2000``, ``webp``, ``avif``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: str = "png"
    quality: int | None = Field(
        None,
        ge=1,
        le=100,
        description=(
            "jpeg, webp, avif: Pillow's quality 1-100 (default 75); jpeg2000: the target PSNR in dB (default 35); "
            "png: ignored (always lossless); None: the codec's default"
        ),
    )

    @field_validator("codec")
    @classmethod
    def _known(cls, codec: str) -> str:
        if codec not in SOURCE_CODECS:
            raise ValueError(f"unknown source codec {codec!r}; known: {', '.join(SOURCE_CODECS.names())}")
        return codec


class ReceiverSpec(BaseModel):
    """How the receiver decodes and segments.

    ``strict``: a CRC failure in any code block, or any source decoder error, loses the image (the default).
    ``tolerant``: every block's decoded bits are used, CRC or not, and the source decoder does its best.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["strict", "tolerant"] = "strict"
    fallback: int = Field(128, ge=0, le=255, description="grey level of the image shown when one is lost")
    segmenter: str = Field("unet_segmenter", description="shipped model name or training output folder")
    early_stop: bool = Field(True, description="strict only: stop decoding an image at its first failed round")


@SYSTEMS.register("digital_image")
class DigitalImageConfig(SystemConfig):
    """Images over a bit-true digital link, segmented at the receiver."""

    kind: Literal["digital_image"] = "digital_image"
    source: SourceSpec = SourceSpec()
    fec: LdpcSpec = LdpcSpec(rate=0.5, decoder="fast")
    demapping: Literal["app", "maxlog"] = "app"
    receiver: ReceiverSpec = ReceiverSpec()

    axes = frozenset({"snr_db", "channel", "modulation"})
    needs_dataset = True

    def check_files(self, dataset=None) -> list[str]:
        return pretrained.missing_files(self.receiver.segmenter) or pretrained.fit_problems(
            self.receiver.segmenter, dataset
        )

    def build(self) -> DigitalImageRun:
        return DigitalImageRun(self)


class DigitalImageRun:
    """Runs Points of one :class:`DigitalImageConfig`; keeps the segmenter, the links and the sent codewords,
    each keyed by value (modulation, channel spec, dataset spec)."""

    def __init__(self, config: DigitalImageConfig) -> None:
        import tensorflow as tf

        self.config = config
        model = pretrained.load(config.receiver.segmenter)
        self.segmenter = CachedSegmenter(tf.function(model.segment, reduce_retracing=True))
        self._links: dict[tuple[str, str], object] = {}
        self._streams: dict[str, list[bytes]] = {}
        self._coded: dict[tuple[str, str], tuple[list[np.ndarray], list[np.ndarray], int]] = {}
        self._decoded: dict[tuple, object] = {}
        self._reference_miou: dict[str, tuple[float, float]] = {}

    def __call__(self, ctx: PointContext) -> Counters:
        from lssc_sim.digital.transport import send_streams

        cfg, seconds = self.config, Counter()
        images, masks = ctx.dataset.arrays()
        num, shape = len(images), images.shape[1:]
        data_key = ctx.dataset.spec.model_dump_json()
        link = self._link(ctx)
        t = time.perf_counter()
        streams = self._source(data_key, images)
        seconds["source_coding"] += time.perf_counter() - t
        t = time.perf_counter()
        payloads, coded, padding = self._encode(data_key, link, streams, ctx.modulation)
        seconds["fec_encoding"] += time.perf_counter() - t

        strict = cfg.receiver.mode == "strict"
        tx = send_streams(link, payloads, coded, ctx.no, ctx.rng, early_stop=strict and cfg.receiver.early_stop)
        seconds.update(tx.seconds)

        t = time.perf_counter()
        fallback = np.full(shape, cfg.receiver.fallback, np.uint8)
        received, lost = images.copy(), Counter()
        for i, stream in enumerate(tx.streams):
            if strict and (stream is None or not tx.crc_ok[i].all()):
                lost["crc"] += 1
                received[i] = fallback
                continue
            out = self._unpack(stream, shape, tolerant=not strict)
            if out.image is None:
                lost[out.reason] += 1
                received[i] = fallback
            else:
                received[i] = out.image
        seconds["source_decoding"] += time.perf_counter() - t

        t = time.perf_counter()
        ds = ctx.dataset
        per_image = per_image_confusion(self.segmenter(received), masks, ds.num_classes, ds.ignore_index)
        clean, all_lost = self._references(data_key, ds, images, masks, fallback)
        seconds["segmentation"] += time.perf_counter() - t

        c = tx.counters
        source_bits = 8 * sum(len(s) for s in streams)
        pixels = num * shape[0] * shape[1]  # source bits per pixel: header included, as it is sent
        return {
            **scores(per_image, ds.ignore_index),
            "clean_miou": clean,
            "lost_miou": all_lost,
            "images": num,
            "images_lost": sum(lost.values()),
            "images_lost_crc": lost["crc"],
            "images_undecodable": sum(v for k, v in lost.items() if k != "crc"),
            "images_exact": int(sum(np.array_equal(r, x) for r, x in zip(received, images, strict=True))),
            **c,
            "padding_bits": padding,
            # error rates on the first round of every image, decoded whatever the early stop (unbiased)
            "ber": c["bit_errors"] / c["bits_scored"],
            "coded_ber": c["coded_bit_errors"] / c["coded_bits"],
            "bler": c["block_errors"] / c["scored_blocks"],
            "bits_per_symbol": link.modem.bits_per_symbol,
            "code_rate": link.payload_bits / link.coded_bits,  # payload rate (the CRC is overhead), as in ber
            "source_bits_per_image": source_bits / num,
            "source_bits_per_pixel": source_bits / pixels,
            "channel_uses_per_image": c["channel_uses"] / num,
            "channel_uses_per_pixel": c["channel_uses"] / pixels,
            # Eb per source bit (header included): what the channel uses buy
            "ebno_db": float(snr_db_to_ebno_db(ctx.snr_db, source_bits / c["channel_uses"])),
            "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        }

    def _link(self, ctx: PointContext):
        from lssc_sim.digital.fec import LDPC5GCode
        from lssc_sim.digital.link import Link
        from lssc_sim.digital.modem import Modem

        key = (ctx.modulation, channel_key(ctx.channel))
        if key not in self._links:
            f = self.config.fec
            modem = Modem(ctx.modulation, self.config.demapping)
            code = LDPC5GCode(
                f.k,
                n=f.n,
                rate=f.rate,
                bits_per_symbol=modem.bits_per_symbol,
                num_iter=f.num_iter,
                cn_update=f.cn_update,
                decoder=f.decoder,
            )
            self._links[key] = Link(code, modem, ctx.channel)
        return self._links[key]

    def _unpack(self, stream: bytes, shape: tuple[int, ...], tolerant: bool):
        """Guarded source decoding, remembered by the stream's digest: decoding is a pure function of the
        bytes, and above the cliff every Point receives the same streams."""
        key = (hashlib.blake2b(stream, digest_size=16).digest(), tuple(shape), tolerant)
        if key not in self._decoded:
            if len(self._decoded) >= MAX_DECODED:
                self._decoded.pop(next(iter(self._decoded)))
            self._decoded[key] = unpack(stream, shape, tolerant=tolerant)
        return self._decoded[key]

    def _references(self, data_key: str, dataset, images, masks, fallback) -> tuple[float, float]:
        """mIoU of the segmenter on the sent images and on all fallbacks: fixed per dataset, computed once."""
        if data_key not in self._reference_miou:
            lost_images = np.broadcast_to(fallback, images.shape).copy()
            clean, lost = (
                dataset_confusion(
                    per_image_confusion(self.segmenter(x), masks, dataset.num_classes, dataset.ignore_index),
                    dataset.ignore_index,
                ).miou()
                for x in (images, lost_images)
            )
            self._reference_miou[data_key] = (clean, lost)
        return self._reference_miou[data_key]

    def _source(self, data_key: str, images: np.ndarray) -> list[bytes]:
        if data_key not in self._streams:
            s = self.config.source
            self._streams[data_key] = [pack(im, s.codec, s.quality) for im in images]
        return self._streams[data_key]

    def _encode(self, data_key: str, link, streams: list[bytes], modulation: str):
        from lssc_sim.digital.transport import stream_blocks

        key = (data_key, modulation)
        if key not in self._coded:
            blocks = [stream_blocks(s, link.payload_bits) for s in streams]
            payloads = [b for b, _ in blocks]
            self._coded[key] = (payloads, [link.encode(p) for p in payloads], sum(p for _, p in blocks))
        return self._coded[key]
