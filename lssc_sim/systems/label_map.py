"""The ``label_map`` system (seed 002's E2): the device segments, the label map crosses the digital link losslessly.

Per image the device runs a whole shipped segmenter (encoder and decoder halves) on the image, codes the
predicted label map losslessly (:func:`lssc_sim.digital.label_maps.pack_label_map`: an indexed PNG or a general
coder, the smallest per map) and sends it through the same 5G LDPC + QAM link as ``digital_image``
(:class:`~lssc_sim.systems.stream_link.StreamLink`). The receiver's map is scored against the ground truth; a
lost map (strict receiver: a failed CRC or a refused stream) is replaced by the fallback map, every pixel
``fallback_class``, and counted. Above the cliff the received maps equal the sent ones bit for bit, so the mIoU
equals the transmitter-side segmenter's (``clean_miou``); ``maps_exact`` counts the maps that arrived exactly.

Segmentation and coding do not depend on the SNR: they run once per dataset and process.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Literal

import numpy as np
from pydantic import Field

from lssc_sim.metrics import per_image_confusion
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext
from lssc_sim.systems.device_cost import network_cost
from lssc_sim.systems.image_scoring import (
    dataset_confusion,
    loss_counters,
    scores,
    service_quality,
    shared_codec,
    shared_segmenter,
)
from lssc_sim.systems.stream_link import (
    DecodedStreams,
    MapStreamConfig,
    StreamLink,
    receive_streams,
    stream_rate_counters,
)


@SYSTEMS.register("label_map")
class LabelMapConfig(MapStreamConfig):
    """Segmentation at the transmitter; the label map sent losslessly over a bit-true digital link."""

    kind: Literal["label_map"] = "label_map"
    segmenter: str = Field("unet_segmenter", description="shipped model name or training output folder")

    @classmethod
    def coders(cls) -> tuple[str, ...]:
        from lssc_sim.digital.label_maps import LABEL_CODERS

        return LABEL_CODERS

    def model_name(self) -> str:
        return self.segmenter

    def build(self) -> LabelMapRun:
        return LabelMapRun(self)


class LabelMapRun:
    """Runs Points of one :class:`LabelMapConfig`; keeps the sent maps, their streams and the device's cost per
    dataset (keyed by the dataset spec's JSON)."""

    def __init__(self, config: LabelMapConfig) -> None:
        self.config = config
        self.segmenter = shared_segmenter(config.segmenter)
        self.link = StreamLink(config.fec, config.demapping)
        self._sent: dict[str, tuple[np.ndarray, list[bytes], Counters]] = {}
        self._device: dict[str, Counters] = {}
        self._decoders: dict[tuple, DecodedStreams] = {}

    def __call__(self, ctx: PointContext) -> Counters:
        cfg, ds, seconds = self.config, ctx.dataset, Counter()
        images, masks = ds.arrays()
        data_key = ds.spec.model_dump_json()
        t = time.perf_counter()
        sent, streams, references = self._sent_maps(data_key, ds)
        seconds["segmentation_and_coding"] += time.perf_counter() - t
        strict = cfg.receiver.mode == "strict"
        early_stop = strict and cfg.receiver.early_stop
        received_streams, crc_ok, link_counters = self.link.deliver(ctx, data_key, streams, early_stop, seconds)

        t = time.perf_counter()
        decoder = self._decoder(sent.shape[1:], ds.num_classes)
        maps, lost = receive_streams(received_streams, crc_ok, strict, decoder, "labels")
        received = np.full_like(sent, cfg.receiver.fallback_class)
        exact = 0  # maps that arrived (not replaced by the fallback) equal to the sent ones
        for i, labels in enumerate(maps):
            if labels is not None:
                received[i] = labels
                exact += int(np.array_equal(labels, sent[i]))
        seconds["map_decoding"] += time.perf_counter() - t

        score = scores(per_image_confusion(received, masks, ds.num_classes, ds.ignore_index), ds.ignore_index)
        return {
            **score,
            **references,
            "ss": service_quality(score["miou"], references["clean_miou"]),
            "images": len(images),
            **loss_counters(lost),
            "maps_exact": exact,
            **stream_rate_counters(streams, images.shape[1:3]),
            **link_counters,
            **self._device_cost(data_key, images[0], ds.num_classes),
            "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        }

    def _decoder(self, shape: tuple[int, ...], num_classes: int) -> DecodedStreams:
        """Guarded label-map decoding for maps of ``shape``, remembered by stream."""
        from lssc_sim.digital.label_maps import unpack_label_map

        key = (tuple(shape), num_classes)
        if key not in self._decoders:
            self._decoders[key] = DecodedStreams(
                lambda stream, tolerant: unpack_label_map(stream, key[0], num_classes, tolerant=tolerant)
            )
        return self._decoders[key]

    def _sent_maps(self, data_key: str, ds) -> tuple[np.ndarray, list[bytes], Counters]:
        """Once per dataset: the device's label maps uint8 [N, H, W], their coded streams, and the mIoU of those
        maps (``clean_miou``: what arrives above the cliff) and of the fallback maps (``lost_miou``)."""
        from lssc_sim.digital.label_maps import pack_label_map

        if data_key not in self._sent:
            images, masks = ds.arrays()
            # in dataset order, batch by batch: the maps never depend on what another system segmented first
            segment, b = self.segmenter.model, self.segmenter.batch_size
            maps = np.concatenate(
                [
                    np.asarray(segment(images[i : i + b].astype(np.float32) / 255.0)).argmax(axis=-1).astype(np.uint8)
                    for i in range(0, len(images), b)
                ]
            )
            streams = [pack_label_map(m, ds.num_classes, self.config.coder) for m in maps]
            fallback = np.full_like(maps, self.config.receiver.fallback_class)
            clean_miou, lost_miou = (
                dataset_confusion(
                    per_image_confusion(x, masks, ds.num_classes, ds.ignore_index), ds.ignore_index
                ).miou()
                for x in (maps, fallback)
            )
            self._sent[data_key] = (maps, streams, {"clean_miou": clean_miou, "lost_miou": lost_miou})
        return self._sent[data_key]

    def _device_cost(self, data_key: str, image: np.ndarray, num_classes: int) -> Counters:
        """The device runs the whole segmenter and codes the map (:mod:`~lssc_sim.systems.device_cost`)."""
        from lssc_sim.digital.label_maps import pack_label_map

        if data_key not in self._device:
            model = shared_codec(self.config.segmenter)
            segment = self.segmenter.model  # the traced graph the Points use
            x = image[None].astype(np.float32) / 255.0

            def run_once():
                labels = np.asarray(segment(x)).argmax(axis=-1)[0].astype(np.uint8)
                return pack_label_map(labels, num_classes, self.config.coder)

            self._device[data_key] = network_cost([model.encoder, model.decoder], run_once)
        return self._device[data_key]
