"""Peak activation memory: hand-counted chains, a long skip, nested layers and models, batch scaling."""

from __future__ import annotations

import math

import keras
import pytest

from lssc_sim.codecs import CODECS
from lssc_sim.codecs.layers import ConvBlock
from lssc_sim.codecs.memory import peak_activation_bytes


def _conv(filters: int, name: str) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, 3, padding="same", name=name)


def test_chain_peak_is_the_largest_adjacent_pair():
    x = keras.Input((8, 8, 3))  # 192 values per image
    a = _conv(4, "a")(x)  # 256
    b = _conv(16, "b")(a)  # 1024
    c = _conv(2, "c")(b)  # 128
    peak, steps = peak_activation_bytes(keras.Model(x, c), detail=True)
    assert steps == [("a", 4 * (192 + 256)), ("b", 4 * (256 + 1024)), ("c", 4 * (1024 + 128))]
    assert peak == 4 * (256 + 1024)


def test_long_skip_stays_live():
    x = keras.Input((8, 8, 2))  # 128
    a = _conv(8, "a")(x)  # 512
    b = _conv(8, "b")(a)  # 512
    c = _conv(2, "c")(b)  # 128
    out = keras.layers.Concatenate(name="cat")([x, c])  # 256
    peak, steps = peak_activation_bytes(keras.Model(x, out), detail=True)
    assert dict(steps) == {"a": 4 * 640, "b": 4 * (128 + 512 + 512), "c": 4 * (128 + 512 + 128), "cat": 4 * 512}
    assert peak == 4 * 1152  # without the skip it would be a + b = 1024 values


def test_batch_scales_linearly():
    codec = CODECS.get("lssc")(base_width=8, depth=2, num_classes=3, image_size=32)
    for model in (codec.encoder, codec.decoder):
        one = peak_activation_bytes(model)
        assert peak_activation_bytes(model, batch=4) == 4 * one


def test_nested_layer_counts_its_largest_inner_pair():
    x = keras.Input((8, 8, 3))  # 192
    model = keras.Model(x, ConvBlock(4, name="block")(x))  # conv, bn, relu twice: 256 values each
    # the block's input is held while bn1 reads conv1's output and writes its own
    assert peak_activation_bytes(model, detail=True) == (4 * (192 + 2 * 256), [("block", 4 * (192 + 2 * 256))])


def test_nested_model_costs_its_own_peak():
    codec = CODECS.get("lssc")(base_width=8, depth=2, num_classes=3, image_size=32)
    image = keras.Input((32, 32, 3))
    wrapped = keras.Model(image, codec.encoder(image))
    assert peak_activation_bytes(wrapped) == peak_activation_bytes(codec.encoder)
    sequential = keras.Sequential([keras.Input((8, 8, 3)), _conv(4, "a"), _conv(16, "b")])
    assert peak_activation_bytes(sequential) == 4 * (256 + 1024)


def test_lssc_encoder_between_largest_activation_and_sum_of_all():
    codec = CODECS.get("lssc")(base_width=8, depth=2, num_classes=3, image_size=32)
    encoder = codec.encoder
    sizes = [4 * math.prod(encoder.inputs[0].shape[1:])]
    sizes += [4 * math.prod(layer.output.shape[1:]) for layer in encoder.layers[1:]]
    peak = peak_activation_bytes(encoder)
    assert max(sizes) <= peak <= sum(sizes)
    assert peak >= sizes[0] + sizes[1]  # the image and the first block's output coexist


def test_bad_arguments():
    x = keras.Input((4, 4, 1))
    model = keras.Model(x, _conv(1, "a")(x))
    with pytest.raises(ValueError, match="batch"):
        peak_activation_bytes(model, batch=0)
    y = keras.Input((None, None, 1))
    with pytest.raises(ValueError, match="unknown axis"):
        peak_activation_bytes(keras.Model(y, _conv(1, "b")(y)))
