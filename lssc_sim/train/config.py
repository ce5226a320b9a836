"""The training config: every key of ``python -m lssc_sim.train CONFIG.yaml``, validated without TensorFlow.

Scenario files hold training configs too (a ``semantic`` system's ``train:`` section), and scenarios are
validated before anything heavy is imported, so this module imports only pydantic and the light name lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lssc_sim.channels import make_channel
from lssc_sim.codecs.catalog import CODEC_DEPTHS
from lssc_sim.data import DatasetSpec
from lssc_sim.yaml_io import format_errors, read_yaml

SAVED_FILES = ("best.keras", "encoder.keras", "decoder.keras")
# Keys that may change between a run and its resumption; any other change means a different experiment.
RESUMABLE_CHANGES = ("epochs", "patience", "out")


class TrainConfig(BaseModel):
    """Everything that defines a training run; frozen and saved in ``card.json``.

    Attributes
    ----------
    codec : str
        A codec name (``unet``, ``attention_unet``, ``cbam_unet``, ``lssc``).
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
        if codec not in CODEC_DEPTHS:
            raise ValueError(f"unknown codec {codec!r}; known: {', '.join(sorted(CODEC_DEPTHS))}")
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
        # CODEC_DEPTHS mirrors the builders' default depth (a test holds the two together).
        if isinstance(data, dict) and data.get("depth") is None and data.get("codec") in CODEC_DEPTHS:
            data = {**data, "depth": CODEC_DEPTHS[data["codec"]]}
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


class ConfigError(ValueError):
    """A config file that cannot be read or validated; the message names the file and the key."""


def load_config(path: str | Path) -> Any:
    """Read and validate a YAML training config.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    TrainConfig

    Raises
    ------
    ConfigError
        Missing file, invalid YAML, not a mapping, or a key that is unknown or has a bad value.
    """
    path = Path(path)
    raw = read_yaml(path, ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (codec, epochs, ...); found {type(raw).__name__}")
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_errors(path, exc, raw, TrainConfig)) from None
