"""Training of the split codecs end to end (with or without the analog channel), resumable, and evaluation.

:func:`train` fits ``end_to_end(codec, AnalogChannel(...))`` with RMSprop on a pixel-wise cross-entropy that
skips the ignore label, scores the validation split by mIoU at ``val_snr_db`` after every epoch, stops early on
it, and writes into the output folder::

    best.keras      best end-to-end model (image -> logits; with its optimizer state)
    last.keras      the model after the last finished epoch, and state.json (epoch, best score, history):
                    calling train again on the same folder resumes after that epoch
    encoder.keras   device half of the best model (image -> transmitted tensors)
    decoder.keras   server half (received tensors -> logits), to run split around any channel
    card.json       codec, dataset, seed, command, epochs, best val mIoU, sha256 of every file, the config
    logs/           TensorBoard

:func:`evaluate` scores a model (or a saved ``.keras`` file) on a dataset at an SNR.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lssc_sim.channels import make_channel
from lssc_sim.codecs.channel_layer import AnalogChannel
from lssc_sim.codecs.unet import CODECS, SplitCodec, end_to_end
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.metrics import ConfusionMatrix
from lssc_sim.seeding import seed_everything

__all__ = ["MaskedSparseCrossEntropy", "TrainConfig", "TrainResult", "evaluate", "train"]

SAVED_FILES = ("best.keras", "encoder.keras", "decoder.keras")
# Keys that may change between a run and its resumption; any other change means a different experiment.
RESUMABLE_CHANGES = ("epochs", "patience", "out")


class TrainConfig(BaseModel):
    """Everything that defines a training run; frozen and saved in ``card.json``.

    Attributes
    ----------
    codec : str
        A name in :data:`~lssc_sim.codecs.CODECS`.
    depth : int, optional
        Downsamplings; None takes the codec's default (4 for the U-Nets, 3 for LSSC).
    base_width, decoder_kernel, bandwidth
        Passed to the codec builder; ``decoder_kernel=None`` keeps the codec's default.
    channel : str or dict, optional
        Channel of the :class:`AnalogChannel` between the halves; None trains the clean-image segmenter.
    train_snr_db : (float, float)
        SNR range in dB drawn per image in training.
    dataset : DatasetSpec
        The data; stored as the train split with ``num_images=train_images`` and ``image_size`` (giving other
        sizes there is an error); validation uses ``split="val"`` and ``val_images``.
    train_images, val_images, image_size, batch_size, epochs
        Sizes of the run.
    learning_rate : float
        RMSprop step size (as in the LSSC paper).
    patience : int
        Epochs without a better validation mIoU before stopping.
    seed : int
        Seeds weights, shuffling and channel noise.
    val_snr_db : float
        SNR in dB of the validation pass when a channel is present.
    out : str, optional
        Output folder (``train``'s ``out_dir`` overrides it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: str
    depth: int | None = Field(None, ge=1, le=5)
    base_width: int = Field(16, ge=1)
    decoder_kernel: int | None = Field(None, ge=1)
    bandwidth: int | list[int | None] | None = None
    channel: str | dict[str, Any] | None = None
    train_snr_db: tuple[float, float] = (1.0, 20.0)
    dataset: DatasetSpec = DatasetSpec(name="synthetic_portraits", split="train")
    train_images: int = Field(2000, ge=1)
    val_images: int = Field(200, ge=1)
    image_size: int = Field(128, ge=32, le=1024)
    batch_size: int = Field(16, ge=1)
    epochs: int = Field(30, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    patience: int = Field(5, ge=1)
    seed: int = 0
    val_snr_db: float = 10.0
    out: str | None = None

    @field_validator("codec")
    @classmethod
    def _known_codec(cls, codec: str) -> str:
        if codec not in CODECS:
            raise ValueError(f"unknown codec {codec!r}; known: {', '.join(CODECS.names())}")
        return codec

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, channel: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if channel is not None:
            try:
                make_channel(channel)
            except (KeyError, TypeError) as exc:  # pydantic reports only ValueErrors as validation errors
                raise ValueError(str(exc).strip('"')) from None
        return channel

    @field_validator("train_snr_db")
    @classmethod
    def _ordered(cls, snr: tuple[float, float]) -> tuple[float, float]:
        if snr[0] > snr[1]:
            raise ValueError(f"expected (low, high) with low <= high; found {snr}")
        return snr

    @model_validator(mode="before")
    @classmethod
    def _codec_depth(cls, data: Any) -> Any:
        # The default depth lives in the builder's signature, not here, so the two cannot disagree.
        if isinstance(data, dict) and data.get("depth") is None and data.get("codec") in CODECS:
            default = inspect.signature(CODECS.get(data["codec"])).parameters["depth"].default
            data = {**data, "depth": default}
        return data

    @model_validator(mode="after")
    def _dataset_sizes(self) -> TrainConfig:
        # A size given in both places would silently lose one of them.
        for key, own in (("num_images", "train_images"), ("image_size", "image_size")):
            if key in self.dataset.model_fields_set and getattr(self.dataset, key) != getattr(self, own):
                raise ValueError(f"dataset.{key}: conflicts with {own}; set {own} only")
        # Stored at the train split's sizes, so the saved config says exactly which images were used.
        object.__setattr__(self, "dataset", self.dataset_spec("train"))  # frozen: set once, while validating
        if self.image_size % 2**self.depth:
            raise ValueError(f"image_size: {self.image_size} must be divisible by 2**depth = {2**self.depth}")
        return self

    def dataset_spec(self, split: str) -> DatasetSpec:
        """The dataset of ``split`` ("train" or "val") at this run's sizes."""
        count = self.train_images if split == "train" else self.val_images
        return self.dataset.model_copy(update={"split": split, "num_images": count, "image_size": self.image_size})


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model_path : Path
        ``best.keras``, the best end-to-end model.
    best_val_miou : float
        Its validation mIoU.
    epochs_run : int
        Epochs finished over all (resumed) calls.
    history : dict of str to list of float
        Per-epoch ``loss``, ``val_miou`` and ``seconds``.
    """

    model_path: Path
    best_val_miou: float
    epochs_run: int
    history: dict[str, list[float]] = field(default_factory=dict)


@keras.saving.register_keras_serializable(package="lssc_sim")
class MaskedSparseCrossEntropy(keras.losses.Loss):
    """Mean pixel-wise cross-entropy from logits over the pixels whose label is not ``ignore_index``.

    ``y_true`` [B, H, W] integer labels, ``y_pred`` [B, H, W, C] float32 logits -> scalar float32. A batch with
    every pixel ignored gives 0 (no gradient) instead of 0/0.
    """

    def __init__(self, ignore_index: int = 255, name: str = "masked_sparse_cross_entropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.ignore_index = int(ignore_index)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        labels = keras.ops.cast(y_true, "int32")
        keep = keras.ops.not_equal(labels, self.ignore_index)
        safe = keras.ops.where(keep, labels, 0)  # any valid id; its loss is zeroed below
        ce = keras.losses.sparse_categorical_crossentropy(safe, y_pred, from_logits=True)
        weight = keras.ops.cast(keep, ce.dtype)
        return keras.ops.sum(ce * weight) / keras.ops.maximum(keras.ops.sum(weight), 1.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ignore_index": self.ignore_index}


# -- data ------------------------------------------------------------------------------------------------------
def _arrays(spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray, int, int]:
    """All images uint8 [N, S, S, 3] and masks int32 [N, S, S] of ``spec``, its class count and ignore label."""
    ds = load_dataset(spec)
    images, masks = ds.batch(range(len(ds)))
    return images, masks, ds.num_classes, ds.ignore_index


def _pipeline(images: np.ndarray, masks: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches of (image float32 [B, S, S, 3] in [0, 1], mask int32 [B, S, S])."""
    ds = tf.data.Dataset.from_tensor_slices((images, masks))
    # Full batches only: a last short batch would weigh its few images more in RMSprop's running averages.
    batch_size = min(batch_size, len(images))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)
    return ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _confusion(
    model: keras.Model, images: np.ndarray, masks: np.ndarray, num_classes: int, ignore: int, batch_size: int
) -> ConfusionMatrix:
    cm = ConfusionMatrix(num_classes, ignore)
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].astype(np.float32) / 255.0
        logits = keras.ops.convert_to_numpy(model(x, training=False))
        cm.update(logits.argmax(axis=-1), masks[start : start + batch_size])
    return cm


# -- models ----------------------------------------------------------------------------------------------------
def _build_codec(config: TrainConfig, num_classes: int) -> SplitCodec:
    kwargs: dict[str, Any] = dict(
        depth=config.depth,
        base_width=config.base_width,
        num_classes=num_classes,
        image_size=config.image_size,
        bandwidth=config.bandwidth,
    )
    if config.decoder_kernel is not None:
        kwargs["decoder_kernel"] = config.decoder_kernel
    return CODECS.get(config.codec)(**kwargs)


def _channel_layer(config: TrainConfig, snr_db: float | None) -> AnalogChannel | None:
    if config.channel is None:
        return None
    return AnalogChannel(config.channel, snr_db=snr_db, train_snr_db=config.train_snr_db, name="channel")


def _compile(model: keras.Model, config: TrainConfig, ignore: int) -> keras.Model:
    model.compile(optimizer=keras.optimizers.RMSprop(config.learning_rate), loss=MaskedSparseCrossEntropy(ignore))
    return model


def _halves(model: keras.Model, codec_name: str) -> tuple[keras.Model, keras.Model]:
    """The encoder and decoder sub-models of an end-to-end model (built or reloaded)."""
    return model.get_layer(f"{codec_name}_encoder"), model.get_layer(f"{codec_name}_decoder")


def with_snr(model: keras.Model, snr_db: float | None) -> keras.Model:
    """``model`` with every :class:`AnalogChannel` fixed at ``snr_db`` (weights shared); unchanged if None."""
    if snr_db is None or not any(isinstance(layer, AnalogChannel) for layer in model.layers):
        return model

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        # Returning the layer itself shares it (and its weights); only the weightless channel is rebuilt.
        if isinstance(layer, AnalogChannel):
            return AnalogChannel.from_config({**layer.get_config(), "snr_db": float(snr_db)})
        return layer

    return keras.models.clone_model(model, clone_function=clone)


# -- callbacks -------------------------------------------------------------------------------------------------
class ValidationMiou(keras.callbacks.Callback):
    """Writes ``val_miou`` (and ``seconds``) into the epoch logs, scoring ``val_model`` with a confusion matrix."""

    def __init__(
        self,
        val_model: keras.Model,
        images: np.ndarray,
        masks: np.ndarray,
        num_classes: int,
        ignore: int,
        batch_size: int,
    ) -> None:
        super().__init__()
        self.val_model, self.images, self.masks = val_model, images, masks
        self.num_classes, self.ignore, self.batch_size = num_classes, ignore, batch_size
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        cm = _confusion(self.val_model, self.images, self.masks, self.num_classes, self.ignore, self.batch_size)
        logs["val_miou"] = cm.miou()
        logs["seconds"] = time.perf_counter() - self._start


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping that starts from a saved best score, wait count and best weights instead of from scratch."""

    def __init__(self, resume: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resume = resume

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.resume:
            self.best, self.wait = self.resume["best"], self.resume["wait"]
            self.best_weights = self.resume.get("best_weights")


class EpochState(keras.callbacks.Callback):
    """Saves ``last.keras`` and ``state.json`` after every epoch and prints one progress line."""

    def __init__(self, out: Path, state: dict[str, Any], stopper: ResumableEarlyStopping, progress: bool) -> None:
        super().__init__()
        self.out, self.state, self.stopper, self.progress = out, state, stopper, progress

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        for key in ("loss", "val_miou", "seconds"):
            self.state["history"].setdefault(key, []).append(float(logs.get(key, math.nan)))
        best = self.state["best"]
        if best is None or logs["val_miou"] > best:
            self.state["best"] = float(logs["val_miou"])
        self.state.update(epoch=epoch + 1, wait=int(self.stopper.wait), stopped=bool(self.model.stop_training))
        self.model.save(self.out / "last.keras")
        _write_json(self.out / "state.json", self.state)  # after the model: a state never points past its file
        if self.progress:
            print(
                f"epoch {epoch + 1}: loss {logs.get('loss', math.nan):.4f}  val mIoU {logs['val_miou']:.4f}  "
                f"{logs['seconds']:.1f} s",
                flush=True,
            )


# -- train -----------------------------------------------------------------------------------------------------
def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)  # atomic: an interrupted run never leaves half a state file


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_state(out: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The saved state of an earlier run in ``out``, checked to be the same experiment; None if there is none."""
    path = out / "state.json"
    if not path.is_file() or not (out / "last.keras").is_file():
        return None
    state = json.loads(path.read_text())
    old = {k: v for k, v in state["config"].items() if k not in RESUMABLE_CHANGES}
    new = {k: v for k, v in config.model_dump(mode="json").items() if k not in RESUMABLE_CHANGES}
    if old != new:
        changed = sorted(k for k in new if old.get(k) != new[k])
        raise ValueError(
            f"{out} holds a run of a different config (changed: {', '.join(changed)}); use another out folder"
        )
    return state


def _model_and_state(
    config: TrainConfig, out: Path, num_classes: int, ignore: int
) -> tuple[keras.Model, dict[str, Any]]:
    """A fresh compiled model and empty state, or the last checkpoint (with its optimizer) and its state."""
    state = _load_state(out, config)
    if state is not None:
        return keras.saving.load_model(out / "last.keras"), state
    codec = _build_codec(config, num_classes)
    model = end_to_end(codec, _channel_layer(config, snr_db=None))
    state = {
        "epoch": 0,
        "best": None,
        "wait": 0,
        "stopped": False,
        "history": {},
        "config": config.model_dump(mode="json"),
    }
    return _compile(model, config, ignore), state


def _callbacks(
    config: TrainConfig,
    out: Path,
    state: dict[str, Any],
    model: keras.Model,
    val: tuple[np.ndarray, np.ndarray, int, int],
    progress: bool,
) -> list[keras.callbacks.Callback]:
    encoder, decoder = _halves(model, config.codec)
    channel = _channel_layer(config, snr_db=config.val_snr_db)
    val_model = model if channel is None else keras.Model(model.inputs[0], decoder(channel(encoder(model.inputs[0]))))
    resume = None
    if state["epoch"]:
        best_weights = keras.saving.load_model(out / "best.keras").get_weights()
        resume = {"best": state["best"], "wait": state["wait"], "best_weights": best_weights}
    stopper = ResumableEarlyStopping(
        resume=resume, monitor="val_miou", mode="max", patience=config.patience, restore_best_weights=True
    )
    best = keras.callbacks.ModelCheckpoint(
        out / "best.keras", monitor="val_miou", mode="max", save_best_only=True, initial_value_threshold=state["best"]
    )
    return [
        ValidationMiou(val_model, val[0], val[1], val[2], val[3], config.batch_size),  # first: fills val_miou
        best,
        stopper,
        EpochState(out, state, stopper, progress),
        keras.callbacks.TensorBoard(out / "logs", write_graph=False),
    ]


def _finish(config: TrainConfig, out: Path, state: dict[str, Any]) -> TrainResult:
    """Save the best model's halves and the card."""
    best = keras.saving.load_model(out / "best.keras")
    encoder, decoder = _halves(best, config.codec)
    encoder.save(out / "encoder.keras")
    decoder.save(out / "decoder.keras")
    card = {
        "codec": config.codec,
        "dataset": config.dataset_spec("train").model_dump(mode="json"),
        "seed": config.seed,
        "command": _command(),
        "epochs_run": state["epoch"],
        "best_val_miou": state["best"],
        "val_snr_db": config.val_snr_db if config.channel is not None else None,
        "sha256": {name: _sha256(out / name) for name in SAVED_FILES},
        "config": config.model_dump(mode="json"),
    }
    _write_json(out / "card.json", card)
    return TrainResult(out / "best.keras", state["best"], state["epoch"], state["history"])


def train(config: TrainConfig, out_dir: str | Path | None = None, progress: bool = True) -> TrainResult:
    """Train ``config``'s codec end to end, resuming from ``out_dir``'s last finished epoch if there is one.

    Parameters
    ----------
    config : TrainConfig
    out_dir : str or Path, optional
        Output folder; defaults to ``config.out``.
    progress : bool
        Print one line per epoch (loss, validation mIoU, seconds).

    Returns
    -------
    TrainResult
    """
    out_value = out_dir if out_dir is not None else config.out
    if out_value is None:
        raise ValueError("train: expected an output folder (out_dir or config.out); found none")
    out = Path(out_value)
    out.mkdir(parents=True, exist_ok=True)
    train_images, train_masks, num_classes, ignore = _arrays(config.dataset_spec("train"))
    val = _arrays(config.dataset_spec("val"))
    _seed(config.seed)  # before the model: weights, and Sionna's generator before any trace
    model, state = _model_and_state(config, out, num_classes, ignore)
    # A run stopped early resumes when asked for more patience than it ran out of.
    done = state["epoch"] >= config.epochs or (state["stopped"] and state["wait"] >= config.patience)
    if not done:
        _seed(config.seed + state["epoch"])  # a resumed run does not replay epoch 1's shuffles and noise
        data = _pipeline(train_images, train_masks, config.batch_size, config.seed + state["epoch"])
        model.fit(
            data,
            epochs=config.epochs,
            initial_epoch=state["epoch"],
            verbose=0,
            shuffle=False,
            callbacks=_callbacks(config, out, state, model, val, progress),
        )
    return _finish(config, out, state)


def _command() -> str:
    """The command line that is running, without machine paths: ``python -m lssc_sim.train CONFIG`` or
    ``python run_scenario.py SCENARIO``."""
    program = Path(sys.argv[0])
    if program.name == "train.py" and program.parent.name == "lssc_sim":
        program_text = "-m lssc_sim.train"
    else:
        program_text = program.name
    return " ".join(["python", program_text, *sys.argv[1:]])


def _seed(seed: int) -> None:
    seed_everything(seed)
    keras.utils.set_random_seed(seed)


# -- evaluate --------------------------------------------------------------------------------------------------
def evaluate(
    model_or_path: keras.Model | str | Path,
    dataset_spec: DatasetSpec,
    snr_db: float | None = None,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Segmentation scores of an end-to-end model on a dataset.

    Parameters
    ----------
    model_or_path : keras.Model or path of a ``.keras`` file
        image float32 [B, S, S, 3] in [0, 1] -> logits float32 [B, S, S, C].
    dataset_spec : DatasetSpec
    snr_db : float, optional
        SNR in dB given to every :class:`AnalogChannel` of the model; needed when it has one.
    batch_size : int

    Returns
    -------
    dict
        ``miou`` (float), ``per_class_iou`` (list of float, NaN for absent classes), ``pixel_accuracy`` (float).
    """
    model = model_or_path
    if not isinstance(model, keras.Model):
        model = keras.saving.load_model(model_or_path)
    images, masks, num_classes, ignore = _arrays(dataset_spec)
    cm = _confusion(with_snr(model, snr_db), images, masks, num_classes, ignore, batch_size)
    return {"miou": cm.miou(), "per_class_iou": cm.iou().tolist(), "pixel_accuracy": cm.pixel_accuracy()}
