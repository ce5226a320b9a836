"""ConfusionMatrix and error_rate against hand-computed examples."""

import json
import math

import numpy as np
import pytest

from lssc_sim.metrics import ConfusionMatrix, error_rate

# 3 classes, 8 pixels; the last two targets are ignored (255).
TARGET = np.array([[0, 0, 1, 1], [2, 2, 255, 255]])
PRED = np.array([[0, 1, 1, 1], [2, 0, 1, 7]])  # the 7 sits on an ignored pixel: not scored, not an error
# rows = target, cols = prediction: t0 -> (0, 1); t1 -> (1, 1); t2 -> (2, 0)
MATRIX = [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_hand_computed_example():
    cm = ConfusionMatrix(3)
    cm.update(PRED, TARGET)
    assert cm.matrix.dtype == np.int64
    assert cm.to_list() == MATRIX
    assert cm.total == 6
    # IoU = TP / (TP + FP + FN): class 0: 1/(1+1+1), class 1: 2/(2+1+0), class 2: 1/(1+0+1)
    np.testing.assert_allclose(cm.iou(), [1 / 3, 2 / 3, 1 / 2])
    assert cm.miou() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert cm.pixel_accuracy() == pytest.approx(4 / 6)


def test_absent_class_is_nan_and_left_out_of_miou():
    cm = ConfusionMatrix(4)
    cm.update(PRED[0], TARGET[0])  # only classes 0 and 1 occur
    iou = cm.iou()
    assert math.isnan(iou[2]) and math.isnan(iou[3])
    assert cm.miou() == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_class_only_predicted_counts_with_iou_zero():
    cm = ConfusionMatrix(3)
    cm.update(np.array([2, 1]), np.array([0, 1]))
    np.testing.assert_allclose(cm.iou(), [0.0, 1.0, 0.0])


def test_empty_matrix_scores_are_nan():
    cm = ConfusionMatrix(2)
    cm.update(np.array([1, 0]), np.array([255, 255]))
    assert cm.total == 0
    assert math.isnan(cm.miou()) and math.isnan(cm.pixel_accuracy())


def test_uint8_inputs_do_not_overflow():
    cm = ConfusionMatrix(19)
    t = np.full(10, 18, np.uint8)
    cm.update(t, t)  # 18 * 19 + 18 > 255
    assert cm.matrix[18, 18] == 10


@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        (np.array([3]), np.array([0]), "prediction 3"),
        (np.array([-1]), np.array([0]), "prediction -1"),
        (np.array([0]), np.array([5]), "target 5"),
        (np.array([0, 1]), np.array([0]), "shape"),
        (np.array([0.5]), np.array([0]), "integer"),
    ],
)
def test_bad_input_is_an_error(pred, target, message):
    with pytest.raises(ValueError, match=message):
        ConfusionMatrix(3).update(pred, target)


def test_ignore_index_may_not_be_a_class():
    with pytest.raises(ValueError, match="collides"):
        ConfusionMatrix(3, ignore_index=2)


def test_merge_add_and_sum():
    a, b = ConfusionMatrix(3), ConfusionMatrix(3)
    a.update(PRED[0], TARGET[0])
    b.update(PRED[1], TARGET[1])
    total = a + b
    assert total.to_list() == MATRIX
    assert a.to_list() != MATRIX  # __add__ leaves its operands alone
    assert sum([a, b]) == total
    assert a.merge(b) is a and a == total
    with pytest.raises(ValueError, match="cannot merge"):
        a.merge(ConfusionMatrix(4))


def test_json_round_trip():
    cm = ConfusionMatrix(3)
    cm.update(PRED, TARGET)
    back = ConfusionMatrix.from_list(json.loads(json.dumps(cm.to_list())))
    assert back == cm and back.miou() == cm.miou()
    with pytest.raises(ValueError, match="square"):
        ConfusionMatrix.from_list([[1, 2]])
    with pytest.raises(ValueError, match="negative"):
        ConfusionMatrix.from_list([[1, -2], [0, 0]])


def test_matrix_property_is_a_copy():
    cm = ConfusionMatrix(2)
    cm.matrix[0, 0] = 99
    assert cm.total == 0


def test_error_rate():
    assert error_rate(3, 12) == 0.25
    assert math.isnan(error_rate(0, 0))
    with pytest.raises(ValueError):
        error_rate(5, 4)
    with pytest.raises(ValueError):
        error_rate(-1, 4)


def test_per_image_confusion_sums_to_the_dataset_matrix(rng):
    from lssc_sim.metrics import per_image_confusion

    pred = rng.integers(0, 3, (5, 8, 8))
    target = rng.integers(0, 3, (5, 8, 8))
    target[0, 0, :4] = 255
    per_image = per_image_confusion(pred, target, 3)
    cm = ConfusionMatrix(3)
    cm.update(pred, target)
    assert per_image.shape == (5, 3, 3)
    np.testing.assert_array_equal(per_image.sum(axis=0), cm.matrix)
    one = ConfusionMatrix(3)
    one.update(pred[2], target[2])
    np.testing.assert_array_equal(per_image[2], one.matrix)


def test_miou_interval_covers_the_miou_and_narrows_with_more_images(rng):
    from lssc_sim.metrics import miou_interval, per_image_confusion

    def interval(n):
        target = rng.integers(0, 2, (n, 16, 16))
        pred = np.where(rng.random((n, 16, 16)) < rng.uniform(0.6, 0.95, (n, 1, 1)), target, 1 - target)
        per_image = per_image_confusion(pred, target, 2)
        cm = ConfusionMatrix(2)
        cm.update(pred, target)
        return cm.miou(), miou_interval(per_image)

    miou, (low, high) = interval(40)
    assert low < miou < high
    _, (low4, high4) = interval(400)
    assert high4 - low4 < (high - low) / 2  # width ~ 1/sqrt(N): 10x the images, about a third of the width
    assert all(math.isnan(v) for v in miou_interval(np.zeros((0, 2, 2), np.int64)))
    assert miou_interval(per_image_confusion(np.zeros((4, 2, 2), int), np.zeros((4, 2, 2), int), 2)) == (1.0, 1.0)
