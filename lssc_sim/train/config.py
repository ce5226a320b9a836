"""The training config: every key of ``python -m lssc_sim.train CONFIG.yaml``, validated without TensorFlow.

Scenario files hold training configs too (a ``semantic`` system's ``train:`` section), and scenarios are
validated before anything heavy is imported, so this module imports only pydantic and the light name lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lssc_sim.channels import make_channel
from lssc_sim.codecs.budget import cut_widths, native_widths
from lssc_sim.codecs.catalog import CODEC_DEPTHS
from lssc_sim.data import DatasetSpec
from lssc_sim.yaml_io import format_errors, read_yaml

SAVED_FILES = ("best.keras", "encoder.keras", "decoder.keras")
# Keys that may change between a run and its resumption; any other change means a different experiment.
RESUMABLE_CHANGES = ("epochs", "patience", "out")


class TrainConfig(BaseModel):
    """Everything that defines a training run; frozen and saved in ``card.json``.

    Each key's meaning is its field's ``description`` (``python -m lssc_sim.train --help`` lists them).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: str = Field(description="the codec: unet, attention_unet, cbam_unet or lssc")
    depth: int | None = Field(
        None, ge=1, le=5, description=("downsamplings; default: the codec's (4 for the U-Nets, 3 for LSSC)")
    )
    base_width: int = Field(16, ge=1, description="filters of the first stage (the paper: 64)")
    decoder_kernel: int | None = Field(None, ge=1, description="decoder convolution kernel; default: the codec's")
    bandwidth: float | None = Field(
        None,
        gt=0,
        description=(
            "budget in channel uses per pixel: the builder picks the skips that cross and their 1x1 projection "
            "widths (within 5 %); none: every tensor crosses"
        ),
    )
    projections: int | list[int | None] | None = Field(
        None,
        description=(
            "channels of a 1x1 projection on each transmitted tensor (one number for all, or a list); "
            "none: as built; exclusive with bandwidth"
        ),
    )
    device_stages: int | None = Field(
        None,
        ge=1,
        description=(
            "encoder stages on the device (1..depth); fewer than depth: the device sends the last one's "
            "downsampled output and the server runs the rest (a split after stage k); none: all"
        ),
    )
    channel: str | dict[str, Any] | None = Field(
        None,
        description=(
            "channel between the halves, a name or {name: ..., params}; none trains the clean-image segmenter"
        ),
    )
    train_snr_db: tuple[float, float] = Field((1.0, 20.0), description="SNR range in dB drawn per image in training")
    dataset: DatasetSpec = Field(
        DatasetSpec(name="synthetic_portraits", split="train"),
        description=("the data {name, seed, path}; sizes come from train_images, val_images and image_size"),
    )
    train_images: int = Field(2000, ge=1, description="images of the train split")
    val_images: int = Field(200, ge=1, description="images of the validation split (scored every epoch)")
    image_size: int | tuple[int, int] = Field(
        128, description="image side, or [height, width], in pixels (32..1024, divisible by 2**depth)"
    )
    batch_size: int = Field(16, ge=1, description="images per training step")
    epochs: int = Field(30, ge=1, description="epochs at most (more resume a finished run)")
    learning_rate: float = Field(1e-3, gt=0, description="RMSprop step size (the LSSC paper's)")
    patience: int = Field(5, ge=1, description="epochs without a better validation mIoU before stopping early")
    seed: int = Field(0, description="seeds the weights, the shuffling and the channel noise")
    val_snr_db: float = Field(10.0, description="SNR in dB of the validation pass when there is a channel")
    out: str | None = Field(None, description="output folder (--out overrides it); rerunning it resumes")

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

    @field_validator("bandwidth", mode="before")
    @classmethod
    def _budget_not_widths(cls, bandwidth: Any) -> Any:
        if isinstance(bandwidth, list):
            raise ValueError(
                "bandwidth is a budget in channel uses per pixel (one number); per-tensor channels are projections"
            )
        return bandwidth

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
        if any(side % 2**self.depth for side in self.dataset.hw):
            raise ValueError(f"image_size: {self.image_size} must be divisible by 2**depth = {2**self.depth}")
        if self.device_stages is not None and self.device_stages > self.depth:
            raise ValueError(f"device_stages: {self.device_stages} is more than depth {self.depth}")
        if self.bandwidth is not None:
            if self.projections is not None:
                raise ValueError("give bandwidth (channel uses per pixel) or projections (channels), not both")
            # refuses a budget it cannot reach, before any training
            native = native_widths(self.base_width, self.depth, self.device_stages)
            cut_widths(self.bandwidth, *self.dataset.hw, native)
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
