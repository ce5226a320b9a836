"""Shipped model weights and how to load any trained split codec by name or folder.

Each shipped model is a folder ``lssc_sim/pretrained/<name>/`` holding what ``python -m lssc_sim.train``
writes (``encoder.keras``, ``decoder.keras``, ``card.json``; the training by-products are not shipped), made by
the config beside it: ``python -m lssc_sim.train lssc_sim/pretrained/<name>.yaml``.

- ``unet_segmenter``: the 4-level UNet trained on clean images, the digital baseline's receiver.
- ``lssc_awgn``: LSSC trained end to end through AWGN at SNRs drawn in [1, 20] dB (15 channel uses per pixel).
- ``lssc_awgn_cu1_16``, ``lssc_awgn_cu1_2``, ``lssc_awgn_cu4``: the same at budgets of 1/16, 1/2 and 4 channel
  uses per pixel (``bandwidth`` in their configs; :mod:`lssc_sim.codecs.budget` picks what crosses the cut).

Loading is verified: every file the card lists a sha256 for and that is in the folder must match it (the
training by-products such as ``best.keras`` are listed but not shipped), the two halves must be listed, and the
Keras files load with ``safe_mode=True`` (no deserialised Python code, such as a ``Lambda`` layer's). A scenario
naming tampered weights is refused before any Point runs, with the file named.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lssc_sim.checksum import file_sha256

PRETRAINED_DIR = Path(__file__).resolve().parent
MODEL_FILES = ("encoder.keras", "decoder.keras", "card.json")


@dataclass(frozen=True)
class TrainedCodec:
    """The two halves of a trained codec and its card.

    Attributes
    ----------
    encoder : keras.Model
        image float32 [B, H, W, 3] in [0, 1] -> list of transmitted tensors.
    decoder : keras.Model
        list of received tensors -> logits float32 [B, H, W, num_classes].
    card : dict
        ``card.json``: codec, dataset, seed, command, epochs, validation mIoU, sha256, config.
    folder : Path
    """

    encoder: Any
    decoder: Any
    card: dict[str, Any]
    folder: Path

    @property
    def transmitted_shapes(self) -> list[tuple[int, ...]]:
        """Per-image shape of each tensor the encoder sends."""
        return [tuple(int(d) for d in t.shape[1:]) for t in self.encoder.outputs]

    def segment(self, images):
        """Logits float32 [B, H, W, C] of float32 images [B, H, W, 3] in [0, 1], with no channel between."""
        return self.decoder(self.encoder(images, training=False), training=False)


def names() -> list[str]:
    """Names of the shipped models (folders with a card)."""
    return sorted(p.parent.name for p in PRETRAINED_DIR.glob("*/card.json"))


def resolve(weights: str) -> Path:
    """The folder of ``weights``: a shipped model's name or a folder path (``train``'s output folder)."""
    folder = PRETRAINED_DIR / weights if "/" not in weights and "\\" not in weights else Path(weights)
    return folder


def file_problems(weights: str) -> list[str]:
    """Problems finding or trusting ``weights`` (empty when loadable): a missing file, a card that is unreadable
    or lists no sha256 for a half, a file whose sha256 differs from the card's. For up-front scenario checks."""
    folder = resolve(weights)
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        hint = f"; shipped models: {', '.join(names()) or 'none'}" if folder.parent == PRETRAINED_DIR else ""
        return [f"weights {weights!r}: {folder} lacks {', '.join(missing)}{hint}"]
    try:
        listed = json.loads((folder / "card.json").read_text())["sha256"]
        assert isinstance(listed, dict)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return [f"weights {weights!r}: {folder / 'card.json'} is unreadable or lists no sha256 of the files"]
    problems = [
        f"weights {weights!r}: {folder / name} has no sha256 in card.json: it cannot be verified"
        for name in MODEL_FILES[:2]
        if name not in listed
    ]
    for name, expected in sorted(listed.items()):
        path = folder / name
        if path.is_file() and _sha256(path) != expected:
            problems.append(
                f"weights {weights!r}: {path} does not match the sha256 in its card.json (changed or damaged since "
                "training): restore it, or retrain with the card's command"
            )
    return problems


def _sha256(path: Path) -> str:
    """:func:`file_sha256`, remembered per (path, size, modification time, inode, change time): a scenario
    names the same weights in many systems, and validation stays fast."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int, inode: int, ctime_ns: int) -> str:
    # size and mtime alone miss a same-size file put back with its old mtime (os.utime); a replaced file has
    # another inode, and any write or utime moves ctime, which no user can set back
    return file_sha256(path)


def fit_problems(weights: str, dataset: Any) -> list[str]:
    """Problems using ``weights`` on ``dataset`` (a DatasetSpec or None): image size and number of classes as
    trained (``card.json``) against the scenario's, so a mismatch is refused before any work starts."""
    if dataset is None:
        return []
    from lssc_sim.data import DATASETS, image_hw

    try:
        card = json.loads((resolve(weights) / "card.json").read_text())
    except (OSError, ValueError) as exc:
        return [f"weights {weights!r}: card.json is unreadable ({exc})"]
    config = card.get("config", {})
    problems = []
    size = config.get("image_size")
    if size is not None and image_hw(size) != dataset.hw:
        trained = "x".join(map(str, image_hw(size)))
        problems.append(
            f"weights {weights!r} were trained on {trained} images (height x width); the dataset has "
            f"image_size {json.dumps(dataset.image_size)} (expected {json.dumps(size)})"
        )
    trained_on = (card.get("dataset") or config.get("dataset") or {}).get("name")
    classes = [getattr(DATASETS.get(n), "num_classes", None) for n in (trained_on, dataset.name) if n in DATASETS]
    if len(classes) == 2 and None not in classes and classes[0] != classes[1]:
        problems.append(
            f"weights {weights!r} segment {classes[0]} classes ({trained_on}); dataset "
            f"{dataset.name!r} has {classes[1]} (expected {classes[0]})"
        )
    return problems


def load(weights: str) -> TrainedCodec:
    """Load a trained codec's halves.

    Parameters
    ----------
    weights : str
        A shipped model's name (``"lssc_awgn"``) or the path of a training output folder.

    Raises
    ------
    FileNotFoundError
        When the folder lacks a file; the message lists the shipped names.
    ValueError
        When a file does not match its card's sha256 (the message names the file), or a Keras file would need
        unsafe deserialisation.
    """
    folder = resolve(weights)
    if any(not (folder / name).is_file() for name in MODEL_FILES):
        raise FileNotFoundError(file_problems(weights)[0])
    problems = file_problems(weights)
    if problems:
        raise ValueError("\n".join(problems))
    import keras

    import lssc_sim.codecs.builders  # noqa: F401  (registers the custom layers before loading)
    import lssc_sim.train.loop  # noqa: F401  (and the loss)

    encoder = keras.saving.load_model(folder / "encoder.keras", compile=False, safe_mode=True)
    decoder = keras.saving.load_model(folder / "decoder.keras", compile=False, safe_mode=True)
    card = json.loads((folder / "card.json").read_text())
    return TrainedCodec(encoder, decoder, card, folder)
