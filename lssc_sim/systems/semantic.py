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
from pydantic import Field, model_validator

from lssc_sim import pretrained
from lssc_sim.metrics import ConfusionMatrix, per_image_confusion
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig, channel_key, overhead_counters
from lssc_sim.systems.image_scoring import scores

TRAINED_DIR = Path("results") / "models"  # where `train:` sections without `out` are trained


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
    complexity: bool = Field(
        False,
        description="also report parameters, size, FLOPs and the objective Q, at "
        "the trained width and at the paper's (base width 64)",
    )

    axes = frozenset({"snr_db", "channel"})
    needs_dataset = True
    ideal_channel = True

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
            # (projections left out while unset: the folders named before that key existed stay valid)
            unset = {"projections"} if config.projections is None else set()
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
        import tensorflow as tf

        self.config = config
        weights = config.weights
        if weights is None:
            from lssc_sim.train.loop import train

            train_config = config.train_config()
            train(train_config, progress=False)
            weights = train_config.out
        self.model = pretrained.load(weights)
        self.shapes = self.model.transmitted_shapes
        encoder, decoder = self.model.encoder, self.model.decoder

        def encode(x):
            sent = encoder(x, training=False)
            return sent if isinstance(sent, list | tuple) else [sent]  # Keras unwraps a lone output (one tensor sent)

        def decode(tensors):
            return decoder(tensors, training=False)

        # one trace each, whatever the batch (several codecs in one process retraced per batch size)
        spec = [tf.TensorSpec([None, *s], tf.float32) for s in self.shapes]
        self._encode = tf.function(encode, input_signature=[tf.TensorSpec(encoder.inputs[0].shape, tf.float32)])
        self._decode = tf.function(decode, input_signature=[spec])
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
            "ss": score["miou"] / clean if clean > 0 else float("nan"),  # seed 004 eq. 1
            "images": len(images),
            "channel_uses": uses * len(images),
            "channel_uses_per_image": uses,
            "channel_uses_per_pixel": uses / pixels,
            **overhead_counters(ctx.channel, [uses] * len(images)),
            "side_info_reals_per_image": len(self.shapes),
            "transmitted_reals_per_image": sum(int(np.prod(s)) for s in self.shapes),
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
