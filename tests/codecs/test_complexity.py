"""Complexity accounting: FLOPs against closed forms and hand counts, params, the objective Q."""

from __future__ import annotations

import keras
import pytest

from lssc_sim.codecs import CODECS, codec_complexity, end_to_end, model_flops, objective_q, unet
from lssc_sim.codecs.complexity import main, model_size_mb, reference_unet
from lssc_sim.codecs.layers import CBAM, AttentionGate


def _total(model: keras.Model) -> int:
    return sum(r.flops for r in model_flops(model))


@pytest.mark.parametrize(("padding", "strides", "use_bias"), [("valid", 1, True), ("same", 2, False)])
def test_conv2d_against_closed_form(padding, strides, use_bias):
    h, w, c_in, c_out, k = 10, 12, 3, 5, 3
    x = keras.Input((h, w, c_in))
    model = keras.Model(x, keras.layers.Conv2D(c_out, k, strides=strides, padding=padding, use_bias=use_bias)(x))
    h_out, w_out = ((h - k) // strides + 1, (w - k) // strides + 1) if padding == "valid" else (-(-h // 2), -(-w // 2))
    # 2 FLOPs per multiply-add, plus one add per output value for the bias
    expected = 2 * h_out * w_out * k * k * c_in * c_out + (h_out * w_out * c_out if use_bias else 0)
    assert _total(model) == expected


def test_small_model_against_hand_count():
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)  # 8x8x4
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.MaxPooling2D(2)(y)  # 4x4x4
    y = keras.layers.Conv2DTranspose(2, 2, strides=2)(y)  # 8x8x2
    y = keras.layers.Concatenate()([y, x])  # 8x8x5
    y = keras.layers.Dense(3, activation="sigmoid")(y)  # 8x8x3
    model = keras.Model(x, y)
    conv = 2 * 64 * 9 * 3 * 4 + 64 * 4 + 64 * 4  # MACs, bias, ReLU
    bn = 2 * 64 * 4  # folded scale and shift
    pool = 3 * 16 * 4  # 3 comparisons per 2x2 window
    tconv = 2 * 16 * 4 * 4 * 2 + 64 * 2  # every input value times the 2x2x2 kernel, bias
    dense = 2 * 64 * 5 * 3 + 64 * 3 + 4 * 64 * 3  # MACs, bias, sigmoid
    assert _total(model) == conv + bn + pool + tconv + dense


def test_attention_layers_against_hand_count():
    x = keras.Input((8, 8, 16))
    model = keras.Model(x, CBAM(reduction=4, kernel_size=7)(x))
    n, c, hid = 64, 16, 4
    channel = (n * c + (n - 1) * c) + 2 * (2 * c * hid + hid + hid + 2 * hid * c + c) + c + 4 * c + n * c
    spatial = (n * c + n * (c - 1)) + (2 * n * 49 * 2 + n) + 4 * n + n * c
    assert _total(model) == channel + spatial

    g = keras.Input((4, 4, 10))
    gated = keras.Model([x, g], AttentionGate(3)([x, g]))
    m = 16  # positions at g's resolution
    gate = 2 * m * 4 * 16 * 3 + (2 * m * 10 * 3 + m * 3) + 2 * m * 3 + (2 * m * 3 + m) + 4 * m + 8 * n + n * c
    assert _total(gated) == gate


def test_device_plus_server_is_total_and_params_match_keras():
    codec = CODECS.get("attention_unet")(depth=2, base_width=4, image_size=32, projections=3)
    report = codec_complexity(codec)
    assert report.flops_device == _total(codec.encoder) > 0
    assert report.flops_server == _total(codec.decoder) > 0
    # the composed model, walked as a whole (nested models and all), gives the same total
    assert _total(end_to_end(codec)) == report.flops_total == report.flops_device + report.flops_server
    assert report.params == codec.encoder.count_params() + codec.decoder.count_params()
    assert report.params == end_to_end(codec).count_params()
    assert report.size_mb == pytest.approx(model_size_mb(report.params)) == pytest.approx(4 * report.params / 1e6)


def test_flops_scale_with_input_area():
    small = codec_complexity(CODECS.get("lssc")(base_width=4, image_size=32))
    large = codec_complexity(CODECS.get("lssc")(base_width=4, image_size=64))
    # convolutions dominate and scale with H*W; CBAM's MLP does not, so the ratio is just under 4
    assert 3.9 < large.flops_total / small.flops_total <= 4.0
    assert large.params == small.params


def test_objective_q_of_the_reference_unet():
    ref = reference_unet(base_width=4, image_size=32)
    assert objective_q(0.8, ref, ref) == pytest.approx(0.8 - 0.1 - 0.2)
    half = codec_complexity(unet(depth=1, base_width=4, image_size=32))
    g, m = half.flops_total / ref.flops_total, half.params / ref.params
    assert g < 1 and m < 1
    assert objective_q(0.8, half, ref) == pytest.approx(0.8 - 0.1 * g - 0.2 * m)


def test_unknown_layer_with_weights_is_refused():
    class Mystery(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(1,))

        def call(self, inputs):
            return inputs * self.w

    x = keras.Input((4, 4, 1))
    with pytest.raises(NotImplementedError, match="no FLOP rule for layer .* of type Mystery"):
        model_flops(keras.Model(x, Mystery()(x)))


def test_cli_prints_the_table(capsys):
    main(["--base-width", "4", "--image-size", "32"])
    out = capsys.readouterr().out
    for name in ("unet", "attention_unet", "cbam_unet", "lssc"):
        assert f"| {name} |" in out
    assert "| unet | " in out and "+0.0% | +0.0% |" in out
