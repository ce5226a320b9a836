"""The ``digital_image`` system: source codec + 5G LDPC + QAM over a channel, then a UNet segments what arrived.

Per Point, every image of the dataset is source-coded (PNG by default, or a lossy codec at a quality or at a
bit-rate target) behind an in-band header
(:mod:`lssc_sim.digital.source`), cut into CRC24-protected LDPC code blocks, sent over the channel at the Point's
SNR (:func:`~lssc_sim.digital.transport.send_streams`), decoded, reassembled and decoded again guardedly. A lost
image is replaced by a mid-grey fallback that is still segmented, so the mIoU is what the receiver would really
output. Source coding and LDPC encoding do not depend on the SNR: they are done once per image and process.
Over the ideal channel the stream arrives as sent: no code, no modulation, and no channel-use columns.

Rows carry the task scores (mIoU and SS = mIoU / clean mIoU), the image quality of what the receiver shows
(PSNR, SSIM, MS-SSIM: :func:`~lssc_sim.image_quality.quality_counters`), the source rate per pixel (mean, min,
max; with a target, how many images could not reach it) and the link's counters.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lssc_sim import pretrained
from lssc_sim.digital.rate_target import pack_at_rate
from lssc_sim.digital.source import SOURCE_CODECS, pack, unpack
from lssc_sim.digital.spec import LdpcSpec
from lssc_sim.image_quality import CachedQuality
from lssc_sim.metrics import per_image_confusion
from lssc_sim.snr import snr_db_to_ebno_db, thin
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig, channel_key, overhead_counters
from lssc_sim.systems.image_scoring import CachedSegmenter, dataset_confusion, scores

QUICK_RATE_TARGETS = 4  # rate targets a --quick run keeps
MAX_DECODED = 4096  # decoded images remembered (oldest dropped first): 48 KiB each at 128x128
_SEGMENTERS: dict[str, CachedSegmenter] = {}  # per process, by weights name: masks cached by image content


class SourceSpec(BaseModel):
    """The image codec: ``png`` (lossless, the paper's), ``raw`` (24 bpp) or the lossy ``jpeg``, ``jpeg2000``,
    ``webp``, ``avif``, ``heif``, at a fixed ``quality`` or at a rate target ``bpp`` (one of the two)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: str = "png"
    quality: int | None = Field(
        None,
        ge=1,
        le=100,
        description=(
            "jpeg, webp, avif, heif: Pillow's quality 1-100 (default 75); jpeg2000: the target PSNR in dB "
            "(default 35); png, raw: ignored (always lossless); None: the codec's default"
        ),
    )
    bpp: float | None = Field(
        None,
        gt=0,
        description=(
            "a rate target instead of quality: per image, the codec setting found by bisection whose stream, "
            "header included, is at most this many bits per pixel (lossy codecs only)"
        ),
    )

    @field_validator("codec")
    @classmethod
    def _known(cls, codec: str) -> str:
        if codec not in SOURCE_CODECS:
            raise ValueError(f"unknown source codec {codec!r}; known: {', '.join(SOURCE_CODECS.names())}")
        return codec

    @model_validator(mode="after")
    def _one_rate(self) -> Self:
        if self.bpp is not None and self.quality is not None:
            raise ValueError("bpp: expected either quality or a bpp target, found both")
        if self.bpp is not None and SOURCE_CODECS.get(self.codec).lossless:
            raise ValueError(f"bpp: {self.codec} is lossless and takes no rate target; expected a lossy codec")
        return self


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
    ideal_channel = True

    def quick(self) -> Self:
        """Rate targets thinned to at most 4 (both ends kept: still enough for a BD fit)."""
        targets = self.sweep.get("source.bpp")
        if not targets:
            return self
        return self.model_copy(update={"sweep": {**self.sweep, "source.bpp": thin(targets, QUICK_RATE_TARGETS)}})

    def check_files(self, dataset=None) -> list[str]:
        return pretrained.file_problems(self.receiver.segmenter) or pretrained.fit_problems(
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
        name = config.receiver.segmenter
        if name not in _SEGMENTERS:  # shared by every variant of a sweep: loaded, traced and cached once
            model = pretrained.load(name)
            _SEGMENTERS[name] = CachedSegmenter(tf.function(model.segment, reduce_retracing=True))
        self.segmenter = _SEGMENTERS[name]
        self.quality = CachedQuality()
        self._links: dict[tuple[str, str], object] = {}
        self._streams: dict[str, tuple[list[bytes], list[float], list[bool]]] = {}
        self._coded: dict[tuple[str, str], tuple[list[np.ndarray], list[np.ndarray], int]] = {}
        self._decoded: dict[tuple, object] = {}
        self._reference_miou: dict[str, tuple[float, float]] = {}

    def __call__(self, ctx: PointContext) -> Counters:
        cfg, seconds = self.config, Counter()
        images, masks = ctx.dataset.arrays()
        num, shape = len(images), images.shape[1:]
        data_key = ctx.dataset.spec.model_dump_json()
        t = time.perf_counter()
        streams, settings, reached = self._source(data_key, images)
        seconds["source_coding"] += time.perf_counter() - t
        strict = cfg.receiver.mode == "strict"
        if ctx.channel.noiseless:  # the ideal channel: the stream arrives as sent, no code, no modulation
            received_streams, crc_ok, link_counters = streams, [None] * num, {}
        else:
            received_streams, crc_ok, link_counters = self._transport(ctx, data_key, streams, strict, seconds)

        t = time.perf_counter()
        fallback = np.full(shape, cfg.receiver.fallback, np.uint8)
        received, lost = images.copy(), Counter()
        for i, stream in enumerate(received_streams):
            if strict and (stream is None or (crc_ok[i] is not None and not crc_ok[i].all())):
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
        t = time.perf_counter()
        quality = self.quality(received, images)
        seconds["image_quality"] += time.perf_counter() - t

        score = scores(per_image, ds.ignore_index)
        bpp = np.array([8 * len(s) for s in streams]) / (shape[0] * shape[1])  # header included, as it is sent
        rate: Counters = {
            "source_bits_per_image": float(bpp.mean() * shape[0] * shape[1]),
            "source_bits_per_pixel": float(bpp.mean()),
            "source_bpp_min": float(bpp.min()),
            "source_bpp_max": float(bpp.max()),
        }
        if cfg.source.bpp is not None:  # a rate target: how it was met, never silently missed
            rate["images_over_target"] = int(num - sum(reached))
            rate["source_setting_mean"] = float(np.mean(settings))
        return {
            **score,
            "clean_miou": clean,
            "lost_miou": all_lost,
            "ss": score["miou"] / clean if clean > 0 else float("nan"),  # semantic service quality, seed 004 eq. 1
            "images": num,
            "images_lost": sum(lost.values()),
            "images_lost_crc": lost["crc"],
            "images_undecodable": sum(v for k, v in lost.items() if k != "crc"),
            **quality,
            **rate,
            **link_counters,
            "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        }

    def _transport(self, ctx: PointContext, data_key: str, streams: list[bytes], strict: bool, seconds: Counter):
        """Streams through the Point's LDPC + QAM link: (received streams, CRC flags per image, link counters)."""
        from lssc_sim.digital.transport import send_streams

        link = self._link(ctx)
        t = time.perf_counter()
        payloads, coded, padding = self._encode(data_key, link, streams, ctx.modulation)
        seconds["fec_encoding"] += time.perf_counter() - t
        tx = send_streams(link, payloads, coded, ctx.no, ctx.rng, early_stop=strict and self.config.receiver.early_stop)
        seconds.update(tx.seconds)
        c = tx.counters
        source_bits = 8 * sum(len(s) for s in streams)
        pixels = len(streams) * ctx.dataset.spec.hw[0] * ctx.dataset.spec.hw[1]
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
            "channel_uses_per_pixel": c["channel_uses"] / pixels,
            **overhead_counters(link.channel, [len(b) * link.symbols_per_block for b in coded]),
            # Eb per source bit (header included): what the channel uses buy
            "ebno_db": float(snr_db_to_ebno_db(ctx.snr_db, source_bits / c["channel_uses"])),
        }
        return tx.streams, tx.crc_ok, counters

    def _link(self, ctx: PointContext):
        key = (ctx.modulation, channel_key(ctx.channel))
        if key not in self._links:
            self._links[key] = make_link(self.config.fec, ctx.modulation, self.config.demapping, ctx.channel)
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

    def _source(self, data_key: str, images: np.ndarray) -> tuple[list[bytes], list[float], list[bool]]:
        """Framed streams of the dataset's images, with the setting used and whether a rate target was met."""
        if data_key not in self._streams:
            s = self.config.source
            if s.bpp is None:
                coded = [(pack(im, s.codec, s.quality), float(s.quality or 0), True) for im in images]
            else:
                coded = [(a.stream, a.setting, a.reached) for a in (pack_at_rate(im, s.codec, s.bpp) for im in images)]
            self._streams[data_key] = tuple(list(column) for column in zip(*coded, strict=True))
        return self._streams[data_key]

    def _encode(self, data_key: str, link, streams: list[bytes], modulation: str):
        from lssc_sim.digital.transport import stream_blocks

        key = (data_key, modulation)
        if key not in self._coded:
            blocks = [stream_blocks(s, link.payload_bits) for s in streams]
            payloads = [b for b, _ in blocks]
            self._coded[key] = (payloads, [link.encode(p) for p in payloads], sum(p for _, p in blocks))
        return self._coded[key]


def make_link(fec: LdpcSpec, modulation: str, demapping: str, channel):
    """The :class:`~lssc_sim.digital.link.Link` of ``fec`` with ``modulation`` over ``channel``."""
    from lssc_sim.digital.fec import LDPC5GCode
    from lssc_sim.digital.link import Link
    from lssc_sim.digital.modem import Modem

    modem = Modem(modulation, demapping)
    return Link(LDPC5GCode.from_spec(fec, modem.bits_per_symbol), modem, channel)
