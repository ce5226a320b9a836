"""DatasetSpec validation, the registry, and the Dataset base-class contract."""

import numpy as np
import pydantic
import pytest

from lssc_sim.data import DATASETS, Dataset, DatasetSpec, load_dataset

BUILT_IN = {"synthetic_portraits", "synthetic_street", "portrait_matting", "cityscapes", "folder"}


def test_built_ins_are_registered():
    assert BUILT_IN <= set(DATASETS.names())


def test_defaults_and_frozen():
    spec = DatasetSpec(name="synthetic_portraits")
    assert (spec.split, spec.num_images, spec.image_size, spec.seed, spec.path) == ("test", 100, 128, 0, None)
    with pytest.raises(pydantic.ValidationError):
        spec.num_images = 5
    assert hash(spec) == hash(DatasetSpec(name="synthetic_portraits"))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(pydantic.ValidationError, match="unknown dataset 'portraits'.*synthetic_portraits"):
        DatasetSpec(name="portraits")


@pytest.mark.parametrize(
    "bad",
    [
        {"image_size": 31},
        {"image_size": 1025},
        {"num_images": 0},
        {"split": "validation"},
        {"colour": "red"},  # extra keys are refused
    ],
)
def test_bad_fields_are_refused(bad):
    with pytest.raises(pydantic.ValidationError):
        DatasetSpec(name="synthetic_portraits", **bad)


def test_item_and_batch_contract():
    ds = load_dataset(DatasetSpec(name="synthetic_street", num_images=3, image_size=48))
    assert len(ds) == 3 and ds.num_classes == len(ds.class_names) and ds.ignore_index == 255
    image, mask = ds[0]
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert mask.shape == (48, 48) and mask.dtype == np.uint8
    np.testing.assert_array_equal(ds[-1][0], ds[2][0])
    with pytest.raises(IndexError, match="out of range"):
        ds[3]
    images, masks = ds.batch([2, 0])
    assert images.shape == (2, 48, 48, 3) and images.dtype == np.uint8
    assert masks.shape == (2, 48, 48) and masks.dtype == np.int32
    np.testing.assert_array_equal(images[1], image)
    empty_images, empty_masks = ds.batch([])
    assert empty_images.shape == (0, 48, 48, 3) and empty_masks.dtype == np.int32
    assert len(list(ds)) == 3
    assert len(ds.colours()) == ds.num_classes


def test_procedural_sets_refuse_a_path():
    spec = DatasetSpec(name="synthetic_portraits", path="/data/portraits")
    with pytest.raises(ValueError, match="takes no path"):
        load_dataset(spec)


def test_a_new_dataset_is_one_registered_class():
    @DATASETS.register("test_only_checkerboard")
    class Checkerboard(Dataset):
        num_classes = 2
        class_names = ("dark", "light")

        def _load(self, index):
            s = self.spec.image_size
            mask = ((np.add.outer(np.arange(s), np.arange(s)) + index) % 2).astype(np.uint8)
            return np.repeat(mask[..., None] * 255, 3, axis=2), mask

    try:
        ds = load_dataset(DatasetSpec(name="test_only_checkerboard", num_images=2, image_size=32))
        assert isinstance(ds, Checkerboard)
        assert ds.batch([0, 1])[1].sum() == 32 * 32
        assert "test_only_checkerboard" in repr(ds)
    finally:
        DATASETS._items.pop("test_only_checkerboard")


@pytest.mark.parametrize("name", ["synthetic_street", "synthetic_portraits"])
def test_non_square_images_are_the_centre_crop_of_the_square_scene(name):
    wide = load_dataset(DatasetSpec(name=name, num_images=2, image_size=[64, 128]))
    tall = load_dataset(DatasetSpec(name=name, num_images=2, image_size=(96, 48)))
    assert wide.spec.hw == (64, 128) and tall.spec.hw == (96, 48)
    images, masks = wide.batch([0, 1])
    assert images.shape == (2, 64, 128, 3) and masks.shape == (2, 64, 128)
    square = load_dataset(DatasetSpec(name=name, num_images=2, image_size=128))
    np.testing.assert_array_equal(images[1], square[1][0][32:96])
    np.testing.assert_array_equal(masks[1], square[1][1][32:96])
    square96 = load_dataset(DatasetSpec(name=name, num_images=1, image_size=96))
    np.testing.assert_array_equal(tall[0][0], square96[0][0][:, 24:72])


def test_square_size_stays_an_int_in_the_spec():
    # Point keys hash the spec's JSON: a square size must serialize as it always did
    assert DatasetSpec(name="synthetic_street").model_dump(mode="json")["image_size"] == 128
    assert DatasetSpec(name="synthetic_street", image_size=[64, 128]).model_dump(mode="json")["image_size"] == [64, 128]
    with pytest.raises(pydantic.ValidationError, match="32..1024"):
        DatasetSpec(name="synthetic_street", image_size=[16, 128])
