"""The codec building blocks: shapes, weights, config round trip, .keras save/reload, argument errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lssc_sim.codecs.layers import CBAM, AttentionGate, ChannelAttention, ConvBlock, SpatialAttention


def _x(shape=(2, 8, 8, 16), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_channel_attention_shape_weights_and_formula():
    x = _x()
    layer = ChannelAttention(reduction=4)
    y = layer(x)
    assert y.shape == x.shape
    assert [tuple(w.shape) for w in layer.weights] == [(16, 4), (4,), (4, 16), (16,)]
    # eq. 9 of the LSSC paper, written out in NumPy
    w1, b1, w2, b2 = (np.asarray(w) for w in layer.weights)

    def mlp(v):
        return np.maximum(v @ w1 + b1, 0) @ w2 + b2

    att = 1 / (1 + np.exp(-(mlp(x.mean(axis=(1, 2))) + mlp(x.max(axis=(1, 2))))))
    np.testing.assert_allclose(np.asarray(y), x * att[:, None, None, :], rtol=1e-5, atol=1e-6)


def test_channel_attention_hidden_width_never_zero():
    layer = ChannelAttention(reduction=16)
    layer(_x((1, 4, 4, 4)))
    assert tuple(layer.w1.shape) == (4, 1)


def test_spatial_attention_shape_weights_and_constant_kernel():
    x = _x()
    layer = SpatialAttention(kernel_size=7)
    layer(x)
    assert [tuple(w.shape) for w in layer.weights] == [(7, 7, 2, 1), (1,)]
    # With a zero kernel the attention is sigmoid(bias) everywhere (eq. 10 with f = constant).
    layer.kernel.assign(np.zeros((7, 7, 2, 1), np.float32))
    layer.bias.assign(np.array([0.5], np.float32))
    np.testing.assert_allclose(np.asarray(layer(x)), x / (1 + np.exp(-0.5)), rtol=1e-6)


def test_cbam_shape_and_weights():
    x = _x()
    layer = CBAM(reduction=8, kernel_size=7)
    assert layer(x).shape == x.shape
    assert len(layer.weights) == 4 + 2
    assert layer.count_params() == (16 * 2 + 2 + 2 * 16 + 16) + (7 * 7 * 2 + 1)


def test_attention_gate_shape_weights_and_uniform_gate():
    x, g = _x((2, 8, 8, 6)), _x((2, 4, 4, 10), seed=1)
    layer = AttentionGate(inter_channels=3)
    y = layer([x, g])
    assert y.shape == x.shape
    assert [tuple(w.shape) for w in layer.weights] == [(2, 2, 6, 3), (1, 1, 10, 3), (3,), (1, 1, 3, 1), (1,)]
    # psi = 0: the gate is sigmoid(b_psi) everywhere, whatever x and g are.
    layer.w_psi.assign(np.zeros((1, 1, 3, 1), np.float32))
    np.testing.assert_allclose(np.asarray(layer([x, g])), x * 0.5, rtol=1e-6)


def test_conv_block_shape_and_weights():
    x = _x((2, 8, 8, 3))
    layer = ConvBlock(filters=5, kernel_size=2)
    assert layer(x).shape == (2, 8, 8, 5)
    # two bias-free convs + two batch norms (gamma, beta, moving mean, moving variance)
    assert layer.count_params() == 2 * 2 * 3 * 5 + 2 * 2 * 5 * 5 + 2 * 4 * 5
    assert len(layer.trainable_weights) == 2 + 2 * 2


@pytest.mark.parametrize(
    "layer",
    [ChannelAttention(reduction=2), SpatialAttention(kernel_size=3), CBAM(4, 5), AttentionGate(7), ConvBlock(9, 2)],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_save_and_reload_gives_identical_outputs(tmp_path):
    image = keras.Input((8, 8, 3))
    x = ConvBlock(8, 3, name="block")(image)
    x = CBAM(4, 7, name="cbam")(x)
    coarse = keras.layers.MaxPooling2D(2)(x)
    y = AttentionGate(4, name="gate")([x, ConvBlock(8, 3)(coarse)])
    model = keras.Model(image, y)
    data = _x((2, 8, 8, 3))
    path = tmp_path / "blocks.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(reloaded(data)), np.asarray(model(data)))


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: ChannelAttention(reduction=0), "reduction must be a positive int; found 0"),
        (lambda: SpatialAttention(kernel_size=2.5), "kernel_size must be a positive int; found 2.5"),
        (lambda: CBAM(reduction=-1), "reduction"),
        (lambda: AttentionGate(inter_channels=None), "inter_channels must be a positive int; found None"),
        (lambda: ConvBlock(filters=True), "filters must be a positive int; found True"),
    ],
)
def test_argument_errors(factory, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        factory()


def test_input_shape_errors():
    with pytest.raises(ValueError, match="expects inputs .*found"):
        ChannelAttention()(np.zeros((2, 8, 3), np.float32))
    with pytest.raises(ValueError, match="half the resolution"):
        AttentionGate(2)([_x((1, 8, 8, 4)), _x((1, 8, 8, 4))])
    with pytest.raises(ValueError, match="two inputs"):
        AttentionGate(2).build([(1, 8, 8, 4)])
