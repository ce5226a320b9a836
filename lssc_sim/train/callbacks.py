"""Keras callbacks of a training run: validation mIoU, resumable early stopping, per-epoch state on disk."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lssc_sim.metrics import ConfusionMatrix


def confusion(
    model: keras.Model, images: np.ndarray, masks: np.ndarray, num_classes: int, ignore: int, batch_size: int
) -> ConfusionMatrix:
    cm = ConfusionMatrix(num_classes, ignore)
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].astype(np.float32) / 255.0
        logits = keras.ops.convert_to_numpy(model(x, training=False))
        cm.update(logits.argmax(axis=-1), masks[start : start + batch_size])
    return cm


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)  # atomic: an interrupted run never leaves half a state file


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
        cm = confusion(self.val_model, self.images, self.masks, self.num_classes, self.ignore, self.batch_size)
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
        write_json(self.out / "state.json", self.state)  # after the model: a state never points past its file
        if self.progress:
            print(
                f"epoch {epoch + 1}: loss {logs.get('loss', math.nan):.4f}  val mIoU {logs['val_miou']:.4f}  "
                f"{logs['seconds']:.1f} s",
                flush=True,
            )
