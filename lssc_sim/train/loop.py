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

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lssc_sim.checksum import file_sha256
from lssc_sim.codecs.builders import CODECS, SplitCodec, end_to_end
from lssc_sim.codecs.channel_layer import AnalogChannel, channel_uses_of
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.seeding import seed_everything
from lssc_sim.train.callbacks import EpochState, ResumableEarlyStopping, ValidationMiou, confusion, write_json
from lssc_sim.train.config import RESUMABLE_CHANGES, SAVED_FILES, TrainConfig

__all__ = ["MaskedSparseCrossEntropy", "TrainConfig", "TrainResult", "evaluate", "train"]


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
    """All images uint8 [N, H, W, 3] and masks int32 [N, H, W] of ``spec``, its class count and ignore label."""
    ds = load_dataset(spec)
    images, masks = ds.batch(range(len(ds)))
    return images, masks, ds.num_classes, ds.ignore_index


def _pipeline(images: np.ndarray, masks: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches of (image float32 [B, H, W, 3] in [0, 1], mask int32 [B, H, W])."""
    ds = tf.data.Dataset.from_tensor_slices((images, masks))
    # Full batches only: a last short batch would weigh its few images more in RMSprop's running averages.
    batch_size = min(batch_size, len(images))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)
    return ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


# -- models ----------------------------------------------------------------------------------------------------
def _build_codec(config: TrainConfig, num_classes: int) -> SplitCodec:
    kwargs: dict[str, Any] = dict(
        depth=config.depth,
        base_width=config.base_width,
        num_classes=num_classes,
        image_size=config.image_size,
        bandwidth=config.bandwidth,
        projections=config.projections,
        device_stages=config.device_stages,
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


# -- train -----------------------------------------------------------------------------------------------------
def _load_state(out: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The saved state of an earlier run in ``out``, checked to be the same experiment; None if there is none."""
    path = out / "state.json"
    if not path.is_file() or not (out / "last.keras").is_file():
        return None
    state = json.loads(path.read_text())
    old = {k: v for k, v in state["config"].items() if k not in RESUMABLE_CHANGES}
    new = {k: v for k, v in config.model_dump(mode="json").items() if k not in RESUMABLE_CHANGES}
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))  # a key added later: None
    if changed:
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
    hw, shapes = config.dataset.hw, [tuple(t.shape[1:]) for t in encoder.outputs]
    card = {
        "codec": config.codec,
        "dataset": config.dataset_spec("train").model_dump(mode="json"),
        "seed": config.seed,
        "command": _command(),
        "epochs_run": state["epoch"],
        "best_val_miou": state["best"],
        "val_snr_db": config.val_snr_db if config.channel is not None else None,
        # the achieved budget (two reals per complex channel use), beside the target in config.bandwidth
        "channel_uses_per_pixel": channel_uses_of(shapes) / (hw[0] * hw[1]),
        "transmitted_shapes": [list(s) for s in shapes],
        "sha256": {name: file_sha256(out / name) for name in SAVED_FILES},
        "config": config.model_dump(mode="json"),
    }
    write_json(out / "card.json", card)
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
    if program.name == "__main__.py" and program.parent.name == "train" and program.parent.parent.name == "lssc_sim":
        program_text = "-m lssc_sim.train"  # python -m runs lssc_sim/train/__main__.py
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
        image float32 [B, H, W, 3] in [0, 1] -> logits float32 [B, H, W, C].
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
        model = keras.saving.load_model(model_or_path, safe_mode=True)  # no deserialised Python code
    images, masks, num_classes, ignore = _arrays(dataset_spec)
    cm = confusion(with_snr(model, snr_db), images, masks, num_classes, ignore, batch_size)
    return {"miou": cm.miou(), "per_class_iou": cm.iou().tolist(), "pixel_accuracy": cm.pixel_accuracy()}
