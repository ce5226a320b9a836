"""The ``semantic`` system: a split codec's encoder, its features sent as analog symbols, its decoder segments.

The device half runs once per image and process (it does not depend on the SNR); per Point the transmitted
tensors cross :class:`~lssc_sim.codecs.channel_layer.AnalogChannel` (power normalised per image, the Point's
channel and SNR, perfect-CSI equalizer; over the ideal channel they arrive as sent) and the server half
segments. Rows carry mIoU and SS = mIoU / clean mIoU (seed 004's semantic service quality; no image is
reconstructed, so there is no PSNR). Weights come from a shipped model's name,
a training output folder, or a ``train:`` section trained on first use (resumable, cached in ``out``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lssc_sim import pretrained
from lssc_sim.metrics import ConfusionMatrix, per_image_confusion
from lssc_sim.seeding import derive_seed
from lssc_sim.snr import spread
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig, channel_key, overhead_counters
from lssc_sim.systems.delivery import DeliverySpec, delivery_counters
from lssc_sim.systems.device_cost import network_cost
from lssc_sim.systems.image_scoring import scores, service_quality

TRAINED_DIR = Path("results") / "models"  # where `train:` sections without `out` are trained


class CompressSpec(BaseModel):
    """Post-training compression of both halves (seed 004, Fig. 10; :func:`lssc_sim.codecs.compression.compress_model`):
    global magnitude pruning of each half's kernels to ``sparsity``, then uniform symmetric quantisation of the
    weights to ``bits`` (batch-norm parameters stay float32)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bits: int | None = Field(None, ge=2, le=16, description="weight bits; none: float32 weights (pruning only)")
    granularity: Literal["tensor", "channel"] = Field("tensor", description="one scale per tensor or per channel")
    sparsity: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of kernel weights pruned by magnitude")


@SYSTEMS.register("semantic")
class SemanticConfig(SystemConfig):
    """A trained split codec over the channel.

    Exactly one of ``weights`` (a shipped name such as ``lssc_awgn``, or a folder written by
    ``python -m lssc_sim.train``) and ``train`` (the keys of a training config, trained on first use).
    """

    kind: Literal["semantic"] = "semantic"
    weights: str | None = Field(None, description="shipped model name or training output folder")
    train: dict[str, Any] | None = Field(None, description="a training config (python -m lssc_sim.train keys)")
    equalizer: Literal["zf", "mmse"] = "zf"
    batch_size: int = Field(16, ge=1)
    compress: CompressSpec | None = Field(None, description="compress the trained weights before use")
    delivery: DeliverySpec | None = Field(
        None, description="also count the channel uses of delivering the (compressed) device half over a digital link"
    )
    complexity: bool = Field(
        False,
        description="also report parameters, size, FLOPs and the objective Q, at "
        "the trained width and at the paper's (base width 64)",
    )

    axes = frozenset({"snr_db", "channel"})
    needs_dataset = True
    ideal_channel = True

    def quick(self) -> Self:
        """Compression sweeps thinned to 3 settings each, both ends kept."""
        sweep = {k: spread(v, 3) if k.startswith("compress.") else v for k, v in self.sweep.items()}
        return self.model_copy(update={"sweep": sweep})

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.weights is None) == (self.train is None):
            raise ValueError("expected exactly one of weights (a name or folder) and train (a training config)")
        if self.train is not None:
            self.train_config()  # validated now, so a typo fails before any Point runs
        return self

    def train_config(self):
        """The validated :class:`~lssc_sim.train.config.TrainConfig` of ``train`` (out filled in)."""
        from lssc_sim.train.config import RESUMABLE_CHANGES, TrainConfig

        config = TrainConfig.model_validate(self.train)
        if config.out is None:
            # the folder is named by the experiment: more epochs or patience resume it rather than start over
            # (keys left out while unset: the folders named before those keys existed stay valid)
            unset = {k for k in ("projections", "device_stages") if getattr(config, k) is None}
            experiment = config.model_dump(mode="json", exclude=set(RESUMABLE_CHANGES) | unset)
            digest = hashlib.sha256(json.dumps(experiment, sort_keys=True).encode()).hexdigest()
            config = config.model_copy(update={"out": str(TRAINED_DIR / f"{config.codec}_{digest[:12]}")})
        return config

    def check_files(self, dataset=None) -> list[str]:
        if self.weights is None:
            return []
        return pretrained.file_problems(self.weights) or pretrained.fit_problems(self.weights, dataset)

    def build(self) -> SemanticRun:
        return SemanticRun(self)


class SemanticRun:
    """Runs Points of one :class:`SemanticConfig`; keeps the halves, traced graphs and encoder outputs."""

    def __init__(self, config: SemanticConfig) -> None:
        self.config = config
        weights = config.weights
        if weights is None:
            from lssc_sim.train.loop import train

            train_config = config.train_config()
            train(train_config, progress=False)
            weights = train_config.out
        self.model = pretrained.load(weights)
        self.model_counters = {}
        if config.compress is not None:
            self.model, self.model_counters = compressed(self.model, config.compress)
        self.shapes = self.model.transmitted_shapes
        self._encode, self._decode = traced_halves(self.model)
        self._delivery: dict[str, Counters] = {}
        self._device: dict[str, Counters] = {}
        self._channels: dict[str, Any] = {}
        self._sent: dict[str, list[list[np.ndarray]]] = {}
        self._clean_cm: dict[str, ConfusionMatrix] = {}
        self.complexity = complexity_counters(self.model) if config.complexity else {}

    def __call__(self, ctx: PointContext) -> Counters:
        from lssc_sim.codecs.channel_layer import channel_uses_of

        seconds = Counter()
        images, masks = ctx.dataset.arrays()
        data_key = ctx.dataset.spec.model_dump_json()
        t = time.perf_counter()
        sent = self._sent_tensors(data_key, images)
        seconds["encoding"] += time.perf_counter() - t
        transmit = self._transmitter(ctx)
        ds, per_image = ctx.dataset, []
        for start, tensors in zip(range(0, len(images), self.config.batch_size), sent, strict=True):
            target = masks[start : start + len(tensors[0])]
            t = time.perf_counter()
            received = transmit(tensors, ctx)
            seconds["channel"] += time.perf_counter() - t
            t = time.perf_counter()
            pred = np.argmax(self._decode(received), axis=-1)
            per_image.append(per_image_confusion(pred, target, ds.num_classes, ds.ignore_index))
            seconds["decoding"] += time.perf_counter() - t
        t = time.perf_counter()
        clean = self._clean(data_key, ctx.dataset, sent, masks).miou()
        seconds["decoding"] += time.perf_counter() - t
        score = scores(np.concatenate(per_image), ds.ignore_index)
        uses = channel_uses_of(self.shapes)
        pixels = images.shape[1] * images.shape[2]
        return {
            **score,
            "clean_miou": clean,
            "ss": service_quality(score["miou"], clean),
            "images": len(images),
            "channel_uses": uses * len(images),
            "channel_uses_per_image": uses,
            "channel_uses_per_pixel": uses / pixels,
            **overhead_counters(ctx.channel, [uses] * len(images)),
            "side_info_reals_per_image": len(self.shapes),
            "transmitted_reals_per_image": sum(int(np.prod(s)) for s in self.shapes),
            **self.model_counters,
            **self._delivery_cost(ctx),
            **self._device_cost(data_key, images[0]),
            **{k: v for k, v in self.complexity.items() if not k.startswith("_")},
            **({"q": self.complexity["_q"](score["miou"])} if self.complexity else {}),  # Q at this Point's SNR
            "stage_seconds": {k: round(v, 4) for k, v in seconds.items()},
        }

    def _sent_tensors(self, data_key: str, images: np.ndarray) -> list[list[np.ndarray]]:
        """Encoder outputs per batch (float32 arrays), computed once per dataset."""
        if data_key not in self._sent:
            b = self.config.batch_size
            self._sent[data_key] = [
                [np.asarray(t) for t in self._encode(images[i : i + b].astype(np.float32) / 255.0)]
                for i in range(0, len(images), b)
            ]
        return self._sent[data_key]

    def _device_cost(self, data_key: str, image: np.ndarray) -> Counters:
        """The device runs its half (:mod:`~lssc_sim.systems.device_cost`); power normalisation is not counted."""
        if data_key not in self._device:
            x = image[None].astype(np.float32) / 255.0
            self._device[data_key] = network_cost(
                [self.model.encoder], lambda: [np.asarray(t) for t in self._encode(x)]
            )
        return self._device[data_key]

    def _delivery_cost(self, ctx: PointContext) -> Counters:
        """Channel uses to deliver the device half (:mod:`~lssc_sim.systems.delivery`), once per channel: its
        size is the compressed one, or float32 without compression."""
        spec = self.config.delivery
        if spec is None or ctx.channel.noiseless:  # the ideal channel has no link to deliver over
            return {}
        key = channel_key(ctx.channel)
        if key not in self._delivery:
            size = self.model_counters.get("model_bytes_device") or 4 * self.model.encoder.count_params()
            rng = np.random.default_rng(derive_seed(0, key))  # by value: the same measurement in every process
            self._delivery[key] = delivery_counters(size, spec, ctx.channel, rng)
        return self._delivery[key]

    def _clean(self, data_key: str, dataset, sent: list[list[np.ndarray]], masks: np.ndarray) -> ConfusionMatrix:
        """Confusion matrix without a channel between the halves, once per dataset."""
        if data_key not in self._clean_cm:
            cm = ConfusionMatrix(dataset.num_classes, dataset.ignore_index)
            start = 0
            for tensors in sent:
                cm.update(np.argmax(self._decode(tensors), axis=-1), masks[start : start + len(tensors[0])])
                start += len(tensors[0])
            self._clean_cm[data_key] = cm
        return self._clean_cm[data_key]

    def _transmitter(self, ctx: PointContext):
        """``transmit(tensors, ctx) -> received tensors`` over this Point's channel, built once per channel spec:
        the NumPy twin of the analog channel where the channel allows it, else the Keras layer."""
        from lssc_sim.codecs import analog_numpy

        key = channel_key(ctx.channel)
        if key not in self._channels:
            equalizer = self.config.equalizer
            if ctx.channel.noiseless:  # the ideal channel: the features arrive as sent

                def transmit(tensors, ctx):
                    return tensors
            elif analog_numpy.supports(ctx.channel):

                def transmit(tensors, ctx):
                    return analog_numpy.transmit(tensors, ctx.channel, ctx.no, ctx.rng, equalizer)
            else:
                import tensorflow as tf

                from lssc_sim.codecs.channel_layer import AnalogChannel

                layer = AnalogChannel(ctx.channel, equalizer=equalizer)
                # one trace for every batch size and SNR (otherwise each new batch shape traces the channel again)
                signature = [
                    [tf.TensorSpec([None, *shape], tf.float32) for shape in self.shapes],
                    tf.TensorSpec([], tf.float32),
                ]
                graph = tf.function(lambda tensors, snr_db: layer(tensors, snr_db=snr_db), input_signature=signature)

                def transmit(tensors, ctx):
                    return graph(tensors, tf.constant(ctx.snr_db, tf.float32))

            self._channels[key] = transmit
        return self._channels[key]


def compressed(model: pretrained.TrainedCodec, spec: CompressSpec) -> tuple[pretrained.TrainedCodec, Counters]:
    """``model`` with both halves compressed by ``spec``, and the counters of what they take to store."""
    import dataclasses

    from lssc_sim.codecs.compression import compress_model

    halves = {
        name: compress_model(half, spec.bits, spec.granularity, spec.sparsity)
        for name, half in (("device", model.encoder), ("server", model.decoder))
    }
    counters: Counters = {
        "weight_bits": spec.bits or 32,
        "weight_granularity": spec.granularity,
        "sparsity": spec.sparsity,
    }
    for name, c in halves.items():
        counters[f"model_bytes_{name}"] = c.size_bytes
        counters[f"model_float_bytes_{name}"] = c.float_bytes
        counters[f"realised_sparsity_{name}"] = c.realised_sparsity
    model = dataclasses.replace(model, encoder=halves["device"].model, decoder=halves["server"].model)
    return model, counters


def traced_halves(model: pretrained.TrainedCodec):
    """``(encode, decode)`` of a trained split codec as graphs traced once whatever the batch (several codecs in
    one process would otherwise retrace per batch size): ``encode(images float32 [B, H, W, 3] in [0, 1])`` gives
    the list of transmitted tensors, ``decode(tensors)`` the logits ``[B, H, W, C]``."""
    import tensorflow as tf

    encoder, decoder = model.encoder, model.decoder

    def encode(x):
        sent = encoder(x, training=False)
        return sent if isinstance(sent, list | tuple) else [sent]  # Keras unwraps a lone output (one tensor sent)

    def decode(tensors):
        return decoder(tensors, training=False)

    spec = [tf.TensorSpec([None, *s], tf.float32) for s in model.transmitted_shapes]
    return (
        tf.function(encode, input_signature=[tf.TensorSpec(encoder.inputs[0].shape, tf.float32)]),
        tf.function(decode, input_signature=[spec]),
    )


def complexity_counters(model: pretrained.TrainedCodec) -> dict[str, Any]:
    """Size and FLOPs of a trained codec as trained and rebuilt at base width 64 (the paper's scale), with the
    parts of the objective Q (FLOPs G and size M relative to the 4-level UNet of the same width and input).

    ``_q`` is a function of the mIoU giving Q; it is not a counter.
    """
    from lssc_sim.codecs import CODECS, SplitCodec, codec_complexity, objective_q
    from lssc_sim.codecs.complexity import reference_unet

    config = model.card["config"]
    size, classes = config["image_size"], int(model.decoder.outputs[0].shape[-1])
    shapes = tuple(model.transmitted_shapes)
    trained = codec_complexity(SplitCodec(model.encoder, model.decoder, config["codec"], shapes))
    kwargs = dict(
        depth=config["depth"],
        num_classes=classes,
        image_size=size,
        bandwidth=config.get("bandwidth"),
        projections=config.get("projections"),
        device_stages=config.get("device_stages"),
    )
    if config.get("decoder_kernel") is not None:
        kwargs["decoder_kernel"] = config["decoder_kernel"]
    paper = codec_complexity(CODECS.get(config["codec"])(base_width=64, **kwargs))
    reference = reference_unet(config["base_width"], size, classes)
    out: dict[str, Any] = {"codec": config["codec"], "depth": config["depth"], "base_width": config["base_width"]}
    for prefix, report in (("", trained), ("base64_", paper)):
        out.update(
            {
                f"{prefix}params": report.params,
                f"{prefix}size_mb": report.size_mb,
                f"{prefix}gflops": report.flops_total / 1e9,
                f"{prefix}gflops_device": report.flops_device / 1e9,
            }
        )
    out["q_flops_ratio"] = trained.flops_total / reference.flops_total  # G of eq. 7
    out["q_size_ratio"] = trained.params / reference.params  # M of eq. 7
    out["_q"] = lambda miou: objective_q(miou, trained, reference)
    return out
