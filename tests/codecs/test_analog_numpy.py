"""The NumPy twin of the analog channel against the Keras layer: same packing and restoration, the fused
noise-only path equal to the paired one on identical draws, and the same noise statistics as AnalogChannel."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim.channels import make_channel
from lssc_sim.channels.gaussian import standard_normal
from lssc_sim.codecs import analog_numpy
from lssc_sim.codecs.channel_layer import AnalogChannel, pack_symbols, relative_noise_power, unpack_symbols


def _tensors(rng, batch=3):
    # an odd total number of reals, so the zero padding is exercised
    return [
        rng.standard_normal((batch, 4, 4, 3)).astype(np.float32) * 3,
        rng.standard_normal((batch, 2, 2, 5)).astype(np.float32) * 0.1,
        rng.standard_normal((batch, 1, 1, 1)).astype(np.float32),
    ]


def test_pack_and_unpack_equal_the_keras_layers(rng):
    tensors = _tensors(rng)
    x, s = analog_numpy.pack(tensors)
    x_tf, s_tf = pack_symbols([tf.constant(t) for t in tensors])
    np.testing.assert_allclose(x, x_tf.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s, s_tf.numpy(), rtol=1e-6)
    assert np.mean(np.abs(x) ** 2, axis=1) == pytest.approx(1.0, rel=1e-5)
    shapes = [t.shape[1:] for t in tensors]
    for ours, theirs, t in zip(
        analog_numpy.unpack(x, s, shapes), unpack_symbols(x_tf, s_tf, shapes), tensors, strict=True
    ):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours, t, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("equalizer", ["zf", "mmse"])
def test_fused_awgn_path_equals_the_paired_path_on_identical_draws(equalizer, rng):
    tensors = _tensors(rng)
    no = 0.2
    out = analog_numpy.transmit(tensors, make_channel("awgn"), no, np.random.default_rng(5), equalizer)
    reals = sum(t[0].size for t in tensors)
    draws = np.random.default_rng(5)  # one draw per tensor, in pack order, as the fused path does
    noise = np.concatenate([standard_normal(draws, (3, t[0].size)) for t in tensors], axis=1)
    noise = np.pad(noise, [(0, 0), (0, reals % 2)])
    x, s = analog_numpy.pack(tensors)
    y = x + np.float32(np.sqrt(no / 2)) * noise.view(np.complex64)
    if equalizer == "mmse":
        y = y / (1 + no)
    for ours, paired in zip(
        out, analog_numpy.unpack(y.astype(np.complex64), s, [t.shape[1:] for t in tensors]), strict=True
    ):
        np.testing.assert_allclose(ours, paired, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("channel", ["awgn", {"name": "rayleigh", "coherence": "frame"}, "rayleigh"])
def test_noise_free_transmission_restores_the_tensors(channel, rng):
    tensors = _tensors(rng)
    for ours, t in zip(analog_numpy.transmit(tensors, make_channel(channel), 0.0, rng, "zf"), tensors, strict=True):
        np.testing.assert_allclose(ours, t, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "channel, equalizer",
    [("awgn", "zf"), ("awgn", "mmse"), ({"name": "rayleigh", "coherence": "block", "block_length": 4}, "mmse")],
)
def test_same_noise_statistics_as_the_keras_layer(channel, equalizer, rng):
    # relative MSE of the restored tensors over many images: NumPy twin and Keras layer within 3 %
    tensors = [rng.standard_normal((400, 8, 8, 4)).astype(np.float32)]
    snr_db = 5.0
    no = 10 ** (-snr_db / 10)
    ours = analog_numpy.transmit(tensors, make_channel(channel), no, np.random.default_rng(1), equalizer)[0]
    layer = AnalogChannel(make_channel(channel), equalizer=equalizer)
    theirs = layer([tf.constant(tensors[0])], snr_db=snr_db)[0].numpy()
    power = np.mean(tensors[0] ** 2)
    mse = [np.mean((r - tensors[0]) ** 2) / power for r in (ours, theirs)]
    assert mse[0] == pytest.approx(mse[1], rel=0.03)
    if channel == "awgn" and equalizer == "zf":
        assert mse[0] == pytest.approx(relative_noise_power([(8, 8, 4)], no), rel=0.02)


def test_supports_only_channels_it_can_draw():
    assert analog_numpy.supports(make_channel("awgn")) and analog_numpy.supports(make_channel("rician"))
    assert not analog_numpy.supports(make_channel("phase_noise"))
