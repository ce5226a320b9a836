"""Datasets: procedural portraits and street scenes, and loaders for real dataset folders.

Every dataset is selected by a :class:`DatasetSpec` (the scenario key
``dataset: {name, split, num_images, image_size, seed, path}``) and built by :func:`load_dataset`::

    >>> from lssc_sim.data import DatasetSpec, load_dataset
    >>> ds = load_dataset(DatasetSpec(name="synthetic_portraits", num_images=4))
    >>> images, masks = ds.batch(range(4))   # uint8 [4, 128, 128, 3], int32 [4, 128, 128]

Built-in names: ``synthetic_portraits``, ``synthetic_street``, ``portrait_matting``, ``cityscapes``,
``folder``. ``python -m lssc_sim.data preview NAME`` draws a contact sheet; ``python -m lssc_sim.data
realism`` measures how photograph-like the procedural sets are.
"""

from lssc_sim.data.base import DATASETS, Dataset, DatasetSpec, image_hw, load_dataset

# Imported for their registration side effect.
from lssc_sim.data import folders, synthetic  # noqa: E402,F401  isort: skip

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "image_hw", "load_dataset"]
