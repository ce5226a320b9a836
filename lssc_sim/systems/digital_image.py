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
from lssc_sim.snr import thin
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig
from lssc_sim.systems.device_cost import coding_cost
from lssc_sim.systems.image_scoring import dataset_confusion, loss_counters, scores, service_quality, shared_segmenter
from lssc_sim.systems.stream_link import DecodedStreams, StreamLink, receive_streams, stream_rate_counters

QUICK_RATE_TARGETS = 4  # rate targets a --quick run keeps


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
        self.config = config
        self.segmenter = shared_segmenter(config.receiver.segmenter)
        self.quality = CachedQuality()
        self.link = StreamLink(config.fec, config.demapping)
        self._unpack: dict[tuple, DecodedStreams] = {}  # per image shape
        self._streams: dict[str, tuple[list[bytes], list[float], list[bool]]] = {}
        self._reference_miou: dict[str, tuple[float, float]] = {}
        self._device: dict[str, Counters] = {}

    def __call__(self, ctx: PointContext) -> Counters:
        cfg, seconds = self.config, Counter()
        images, masks = ctx.dataset.arrays()
        num, shape = len(images), images.shape[1:]
        data_key = ctx.dataset.spec.model_dump_json()
        t = time.perf_counter()
        streams, settings, reached = self._source(data_key, images)
        seconds["source_coding"] += time.perf_counter() - t
        strict = cfg.receiver.mode == "strict"
        early_stop = strict and cfg.receiver.early_stop
        received_streams, crc_ok, link_counters = self.link.deliver(ctx, data_key, streams, early_stop, seconds)

        t = time.perf_counter()
        fallback = np.full(shape, cfg.receiver.fallback, np.uint8)
        decoded, lost = receive_streams(received_streams, crc_ok, strict, self._decoder(shape), "image")
        received = np.stack([fallback if image is None else image for image in decoded])
        seconds["source_decoding"] += time.perf_counter() - t

        t = time.perf_counter()
        ds = ctx.dataset
        # the sent images first: segmented in dataset order, whatever else this process segmented before
        clean, all_lost = self._references(data_key, ds, images, masks, fallback)
        per_image = per_image_confusion(self.segmenter(received), masks, ds.num_classes, ds.ignore_index)
        seconds["segmentation"] += time.perf_counter() - t
        t = time.perf_counter()
        quality = self.quality(received, images)
        seconds["image_quality"] += time.perf_counter() - t

        score = scores(per_image, ds.ignore_index)
        rate = stream_rate_counters(streams, shape[:2])
        if cfg.source.bpp is not None:  # a rate target: how it was met, never silently missed
            rate["images_over_target"] = int(num - sum(reached))
            rate["source_setting_mean"] = float(np.mean(settings))
        return {
            **score,
            "clean_miou": clean,
            "lost_miou": all_lost,
            "ss": service_quality(score["miou"], clean),
            "images": num,
            **loss_counters(lost),
            **quality,
            **rate,
            **link_counters,
            **self._device_cost(data_key, images[0], streams[0]),
            "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        }

    def _device_cost(self, data_key: str, image: np.ndarray, stream: bytes) -> Counters:
        """The device codes the image, nothing more (:mod:`~lssc_sim.systems.device_cost`)."""
        if data_key not in self._device:
            s = self.config.source
            if s.bpp is None:
                code = lambda: pack(image, s.codec, s.quality)  # noqa: E731
            else:
                code = lambda: pack_at_rate(image, s.codec, s.bpp)  # noqa: E731
            self._device[data_key] = coding_cost(image.nbytes, len(stream), code)
        return self._device[data_key]

    def _decoder(self, shape: tuple[int, ...]) -> DecodedStreams:
        """Guarded source decoding of images of ``shape``, remembered by stream."""
        if shape not in self._unpack:
            self._unpack[shape] = DecodedStreams(lambda stream, tolerant: unpack(stream, shape, tolerant=tolerant))
        return self._unpack[shape]

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
