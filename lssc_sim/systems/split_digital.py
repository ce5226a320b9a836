"""The ``split_digital`` system (seed 002's E3, seed 004's codec + LDPC): a split codec's features sent as bits.

Per image the device half of a trained split codec runs; its transmitted tensors are quantised to ``feature_bits``
(uniform, per tensor or per channel, the ranges in the stream's header) and entropy-coded
(:func:`lssc_sim.digital.features.pack_features`, the smallest coder per stream), then sent bit-true through
the same 5G LDPC + QAM link as ``digital_image`` (:class:`~lssc_sim.systems.stream_link.StreamLink`). The server
half segments what arrived. A strict receiver loses an image on a failed CRC or a refused stream and shows the
fallback map (every pixel ``fallback_class``); a tolerant one decodes damaged features anyway.

Which tensors cross is the codec's cut, fixed when it was trained: every skip (LSSC) or only the deep tensor
(``projections: [0, ..., 0, w]``, a PIDNet-like split). ``clean_miou`` is the mIoU of the quantised features
arriving error-free (what arrives above the cliff), ``float_miou`` the codec's without quantisation (the analog
codec over a noiseless channel) and ``feature_sqnr_db`` the quantiser's signal-to-noise ratio.
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
from lssc_sim.systems.image_scoring import dataset_confusion, loss_counters, scores, service_quality, shared_codec
from lssc_sim.systems.stream_link import (
    DecodedStreams,
    MapStreamConfig,
    StreamLink,
    receive_streams,
    stream_rate_counters,
)


@SYSTEMS.register("split_digital")
class SplitDigitalConfig(MapStreamConfig):
    """A trained split codec whose features are quantised, entropy-coded and sent over a bit-true digital link."""

    kind: Literal["split_digital"] = "split_digital"
    weights: str = Field(description="shipped model name or training output folder of a split codec")
    feature_bits: int = Field(8, ge=2, le=8, description="quantiser bits per feature value")
    granularity: Literal["tensor", "channel"] = Field("tensor", description="one range per tensor or per channel")
    batch_size: int = Field(16, ge=1)

    @classmethod
    def coders(cls) -> tuple[str, ...]:
        from lssc_sim.digital.features import CODERS

        return CODERS

    def model_name(self) -> str:
        return self.weights

    def build(self) -> SplitDigitalRun:
        return SplitDigitalRun(self)


class SplitDigitalRun:
    """Runs Points of one :class:`SplitDigitalConfig`; keeps the traced halves and, per dataset, the sent
    features, their streams, the reference scores and the device's cost."""

    def __init__(self, config: SplitDigitalConfig) -> None:
        from lssc_sim.digital.features import unpack_features
        from lssc_sim.systems.semantic import traced_halves

        self.config = config
        self.model = shared_codec(config.weights)
        self.shapes = [tuple(s) for s in self.model.transmitted_shapes]
        self._encode, self._decode = traced_halves(self.model)
        self.link = StreamLink(config.fec, config.demapping)
        self._sent: dict[str, tuple[list[np.ndarray], list[bytes], Counters]] = {}
        self._device: dict[str, Counters] = {}
        self._decode_stream = DecodedStreams(
            lambda stream, tolerant: unpack_features(stream, self.shapes, tolerant=tolerant)
        )

    def __call__(self, ctx: PointContext) -> Counters:
        cfg, ds, seconds = self.config, ctx.dataset, Counter()
        images, masks = ds.arrays()
        data_key = ds.spec.model_dump_json()
        t = time.perf_counter()
        features, streams, references = self._sent_streams(data_key, images, masks, ds)
        seconds["encoding"] += time.perf_counter() - t
        strict = cfg.receiver.mode == "strict"
        early_stop = strict and cfg.receiver.early_stop
        received_streams, crc_ok, link_counters = self.link.deliver(ctx, data_key, streams, early_stop, seconds)

        t = time.perf_counter()
        decoded, lost = receive_streams(received_streams, crc_ok, strict, self._decode_stream, "tensors")
        seconds["feature_decoding"] += time.perf_counter() - t
        t = time.perf_counter()
        predicted = self._segment(decoded, images.shape[1:3])
        seconds["decoding"] += time.perf_counter() - t

        score = scores(per_image_confusion(predicted, masks, ds.num_classes, ds.ignore_index), ds.ignore_index)
        return {
            **score,
            **references,
            "ss": service_quality(score["miou"], references["clean_miou"]),
            "images": len(images),
            **loss_counters(lost),
            "transmitted_reals_per_image": sum(int(np.prod(s)) for s in self.shapes),
            **stream_rate_counters(streams, images.shape[1:3]),
            **link_counters,
            **self._device_cost(data_key, images[0]),
            "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        }

    def _segment(self, decoded: list[list[np.ndarray] | None], hw: tuple[int, int]) -> np.ndarray:
        """Label maps uint8 [N, H, W]: the server half on every decoded image (in batches), the fallback map
        where an image was lost."""
        out = np.full((len(decoded), *hw), self.config.receiver.fallback_class, np.uint8)
        done = [i for i, d in enumerate(decoded) if d is not None]
        b = self.config.batch_size
        for start in range(0, len(done), b):
            chunk = done[start : start + b]
            tensors = [np.stack([decoded[i][j] for i in chunk]) for j in range(len(self.shapes))]
            out[chunk] = np.asarray(self._decode(tensors)).argmax(axis=-1)
        return out

    def _sent_streams(self, data_key: str, images: np.ndarray, masks: np.ndarray, ds):
        """Per dataset, once: the device's float features per image, their streams, and the reference scores
        (mIoU of the features unquantised and quantised, both error-free; the quantiser's SQNR)."""
        from lssc_sim.digital.features import pack_features, unpack_features

        if data_key not in self._sent:
            cfg, b = self.config, self.config.batch_size
            features: list[list[np.ndarray]] = []
            for start in range(0, len(images), b):
                batch = [np.asarray(t) for t in self._encode(images[start : start + b].astype(np.float32) / 255.0)]
                features += [[t[i] for t in batch] for i in range(len(batch[0]))]
            streams = [pack_features(f, cfg.feature_bits, cfg.granularity, cfg.coder) for f in features]
            quantised = [unpack_features(s, self.shapes).tensors for s in streams]
            signal = sum(float(np.sum(np.square(t))) for f in features for t in f)
            error = sum(
                float(np.sum(np.square(t - q)))
                for f, g in zip(features, quantised, strict=True)
                for t, q in zip(f, g, strict=True)
            )
            hw = images.shape[1:3]
            float_miou, clean_miou = (
                dataset_confusion(
                    per_image_confusion(self._segment(x, hw), masks, ds.num_classes, ds.ignore_index), ds.ignore_index
                ).miou()
                for x in (features, quantised)
            )
            references = {
                "clean_miou": clean_miou,
                "float_miou": float_miou,
                "feature_sqnr_db": 10 * np.log10(signal / error) if error > 0 else float("nan"),
            }
            self._sent[data_key] = (features, streams, references)
        return self._sent[data_key]

    def _device_cost(self, data_key: str, image: np.ndarray) -> Counters:
        """The device runs its half and quantises and codes the features (:mod:`~lssc_sim.systems.device_cost`)."""
        from lssc_sim.digital.features import pack_features

        if data_key not in self._device:
            cfg, x = self.config, image[None].astype(np.float32) / 255.0

            def run_once():
                tensors = [np.asarray(t)[0] for t in self._encode(x)]
                return pack_features(tensors, cfg.feature_bits, cfg.granularity, cfg.coder)

            self._device[data_key] = network_cost([self.model.encoder], run_once)
        return self._device[data_key]
