"""The codec's channel layer: shapes kept, identity without noise, the noise level the physics predicts.

Statistical checks use >= 1e5 noise samples per estimate; tolerances are stated beside each check.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import exp1

from lssc_sim.codecs.channel_layer import (
    AnalogChannel,
    channel_uses_of,
    pack_symbols,
    relative_noise_power,
    unpack_symbols,
)
from lssc_sim.seeding import seed_everything

# Three tensors of different shapes and scales (skip, skip, bottleneck) with an odd number of reals (465).
SHAPES = [(4, 4, 3), (3, 5, 7), (2, 2, 78)]
SCALES = [3.0, 0.2, 1.0]


def _tensors(rng: np.random.Generator, batch: int, shapes=SHAPES, scales=SCALES) -> list[tf.Tensor]:
    return [
        tf.constant(s * rng.normal(size=(batch, *shape)), tf.float32) for shape, s in zip(shapes, scales, strict=True)
    ]


def _relative_mse(outputs, inputs) -> np.ndarray:
    """Per image and per tensor, MSE of the restored tensor over the mean square of the sent one: [B, T]."""
    rel = []
    for o, i in zip(outputs, inputs, strict=True):
        axes = tuple(range(1, i.shape.rank))
        rel.append(np.mean((o.numpy() - i.numpy()) ** 2, axis=axes) / np.mean(i.numpy() ** 2, axis=axes))
    return np.stack(rel, axis=-1)


def test_shapes_dtypes_and_channel_uses(rng):
    inputs = _tensors(rng, batch=3)
    layer = AnalogChannel()
    outputs = layer(inputs, snr_db=10.0)
    assert [o.shape for o in outputs] == [i.shape for i in inputs]
    assert all(o.dtype == tf.float32 for o in outputs)
    reals = sum(math.prod(s) for s in SHAPES)
    assert reals % 2 == 1
    assert layer.channel_uses(SHAPES) == channel_uses_of(SHAPES) == (reals + 1) // 2 == 233
    assert layer.side_info_reals(SHAPES) == 3
    assert layer.compute_output_shape([(None, *s) for s in SHAPES]) == [(None, *s) for s in SHAPES]
    with_snr = AnalogChannel(snr_to_decoder=True)
    assert with_snr.compute_output_shape([(None, *s) for s in SHAPES])[-1] == (None, 1)


@pytest.mark.parametrize("equalizer", ["zf", "mmse"])
@pytest.mark.parametrize("spec", ["awgn", {"name": "rayleigh"}, {"name": "rayleigh", "coherence": "frame"}])
def test_noise_off_restores_the_input(spec, equalizer, rng):
    inputs = _tensors(rng, batch=4)
    outputs = AnalogChannel(spec, equalizer=equalizer)(inputs, snr_db=200.0)
    for o, i in zip(outputs, inputs, strict=True):
        np.testing.assert_allclose(o.numpy(), i.numpy(), rtol=1e-4, atol=1e-4 * np.abs(i.numpy()).max())


def test_pack_unpack_and_unit_power_per_image(rng):
    # Images of very different power: each must leave with average symbol energy 1.
    inputs = [t * tf.constant([[[[0.01]]], [[[1.0]]], [[[100.0]]]]) for t in _tensors(rng, batch=3)]
    x, scale = pack_symbols(inputs)
    assert x.dtype == tf.complex64 and x.shape == (3, 233)
    assert scale.shape == (3, 3)
    np.testing.assert_allclose(np.mean(np.abs(x.numpy()) ** 2, axis=-1), 1.0, rtol=1e-5)
    restored = unpack_symbols(x, scale, SHAPES)
    for o, i in zip(restored, inputs, strict=True):
        np.testing.assert_allclose(o.numpy(), i.numpy(), rtol=1e-5, atol=1e-5 * np.abs(i.numpy()).max())


@pytest.mark.parametrize("snr_db", [5.0, 15.0])
@pytest.mark.parametrize("shapes", [SHAPES, [(8, 8, 4), (4, 4, 16)]], ids=["odd", "even"])
def test_awgn_relative_mse_is_no(snr_db, shapes, rng):
    # Noise per real after equalisation: no/2; normalised power per real: n/R -> relative MSE no*R/(2n)
    # (= no for an even R). 512 images x 465..512 reals = 2.4e5 noise samples: 5 % is > 10 sigma.
    inputs = _tensors(rng, batch=512, shapes=shapes, scales=[1.0] * len(shapes))
    no = 10 ** (-snr_db / 10)
    expected = relative_noise_power(shapes, no)
    if sum(math.prod(s) for s in shapes) % 2 == 0:
        assert expected == pytest.approx(no)
    rel = _relative_mse(AnalogChannel("awgn")(inputs, snr_db=snr_db), inputs)
    assert rel.mean() == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("snr_db", [5.0, 15.0])
@pytest.mark.parametrize("spec", ["awgn", {"name": "rayleigh"}])
def test_mmse_relative_mse(spec, snr_db, rng):
    # Linear MMSE with per-symbol gain h: error power no / (|h|^2 + no) per unit-energy symbol. AWGN (h = 1):
    # no / (1 + no); Rayleigh (|h|^2 ~ Exp(1)): E[no / (g + no)] = no e^no E1(no). 512 images x 512 symbols.
    shapes = [(8, 8, 4), (4, 4, 16)]
    inputs = _tensors(rng, batch=512, shapes=shapes, scales=[1.0, 1.0])
    no = 10 ** (-snr_db / 10)
    expected = no / (1 + no) if spec == "awgn" else no * math.exp(no) * exp1(no)
    rel = _relative_mse(AnalogChannel(spec, equalizer="mmse")(inputs, snr_db=snr_db), inputs)
    assert rel.mean() == pytest.approx(expected, rel=0.05)


def test_per_image_snr_from_the_call(rng):
    inputs = _tensors(rng, batch=2, shapes=[(32, 32, 16)], scales=[1.0])
    rel = _relative_mse(AnalogChannel()(inputs, snr_db=tf.constant([0.0, 20.0])), inputs)[:, 0]
    np.testing.assert_allclose(rel, [1.0, 0.01], rtol=0.05)  # 16384 reals per image: 1.1 % std


def test_rayleigh_frame_coherence(rng):
    # One gain per image, shared by all its tensors: per image relative MSE = no/|h|^2 (averaged over 1024
    # symbols), the same for each tensor; |h|^2 ~ Exp(1), so its median over images is no/ln 2.
    # 4096 images: the sample median's std is about 2.2 %, plus 3 % from the per-image noise; 10 % tolerance.
    shapes = [(8, 8, 16), (4, 4, 64)]
    inputs = _tensors(rng, batch=4096, shapes=shapes, scales=[1.0, 1.0])
    no = 10 ** (-10.0 / 10)
    rel = _relative_mse(AnalogChannel({"name": "rayleigh", "coherence": "frame"})(inputs, snr_db=10.0), inputs)
    assert np.median(rel.mean(axis=-1)) == pytest.approx(no / math.log(2), rel=0.10)
    # Both tensors see the same gain: their ratio is ~1 up to the noise averaging (1024 reals each: ~6 % std).
    assert np.median(np.abs(np.log(rel[:, 0] / rel[:, 1]))) < 0.1


def test_training_draws_snr_per_image_in_range(rng):
    layer = AnalogChannel(train_snr_db=(3.0, 7.0), snr_to_decoder=True)
    inputs = _tensors(rng, batch=256)
    *outputs, snr = layer(inputs, training=True)
    assert snr.shape == (256, 1) and snr.dtype == tf.float32
    snr = snr.numpy()[:, 0]
    assert snr.min() >= 3.0 and snr.max() <= 7.0
    assert len(np.unique(snr)) == 256  # one draw per image
    assert snr.min() < 3.2 and snr.max() > 6.8  # spread over the whole range (uniform, 256 draws)
    # A fixed SNR wins over the draw; the call's SNR wins over both.
    fixed = AnalogChannel(snr_db=12.0, snr_to_decoder=True)
    np.testing.assert_array_equal(fixed(inputs, training=True)[-1].numpy(), 12.0)
    np.testing.assert_array_equal(fixed(inputs, snr_db=4.0)[-1].numpy(), 4.0)


def test_inference_without_snr_is_an_error(rng):
    with pytest.raises(ValueError, match="expected an SNR in inference"):
        AnalogChannel()(_tensors(rng, batch=2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channel": "nope"}, KeyError, "nope"),
        ({"channel": {"name": "rayleigh", "coherence": "forever"}}, ValueError, "coherence"),
        ({"channel": 3}, TypeError, "expected channel"),
        ({"snr_db": "high"}, ValueError, "expected snr_db"),
        ({"snr_db": float("nan")}, ValueError, "expected snr_db"),
        ({"train_snr_db": 5.0}, ValueError, "expected train_snr_db as a pair"),
        ({"train_snr_db": (1.0, 2.0, 3.0)}, ValueError, "expected train_snr_db as a pair"),
        ({"train_snr_db": (20.0, 1.0)}, ValueError, "low <= high"),
        ({"snr_to_decoder": "yes"}, TypeError, "snr_to_decoder"),
        ({"equalizer": "mrc"}, ValueError, "expected equalizer"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        AnalogChannel(**kwargs)


def test_bad_inputs():
    layer = AnalogChannel(snr_db=10.0)
    with pytest.raises(ValueError, match="non-empty list"):
        layer([])
    with pytest.raises(ValueError, match="rank >= 2"):
        layer([tf.zeros([4])])


def test_config_round_trip():
    layer = AnalogChannel(
        {"name": "rician", "k_factor_db": 3.0},
        snr_db=7.0,
        train_snr_db=(0.0, 10.0),
        snr_to_decoder=True,
        equalizer="mmse",
    )
    config = layer.get_config()
    assert config["channel"] == {"name": "rician", "k_factor_db": 3.0, "coherence": "symbol"}
    assert config["equalizer"] == "mmse" and config["train_snr_db"] == [0.0, 10.0]
    clone = AnalogChannel.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)).get_config() == config


def _tiny_model(channel="awgn", snr_db=None) -> keras.Model:
    image = keras.Input((8, 8, 3))
    skip = keras.layers.Conv2D(4, 3, padding="same")(image)
    bottleneck = keras.layers.Conv2D(5, 3, strides=2, padding="same")(skip)
    skip_hat, bottleneck_hat = AnalogChannel(channel, snr_db=snr_db, name="channel")([skip, bottleneck])
    up = keras.layers.UpSampling2D()(bottleneck_hat)
    logits = keras.layers.Conv2D(2, 1)(keras.layers.Concatenate()([skip_hat, up]))
    return keras.Model(image, logits)


def test_save_and_load_keras_file(tmp_path, rng):
    model = _tiny_model({"name": "rayleigh", "coherence": "frame"}, snr_db=10.0)
    path = tmp_path / "tiny.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("channel").get_config() == model.get_layer("channel").get_config()
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    seed_everything(3)
    expected = model(x).numpy()
    seed_everything(3)
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_inputs(rng):
    inputs = [tf.Variable(t) for t in _tensors(rng, batch=2)]
    layer = AnalogChannel({"name": "rayleigh"})
    with tf.GradientTape() as tape:
        loss = sum(tf.reduce_sum(tf.square(o)) for o in layer(inputs, training=True))
    for g in tape.gradient(loss, inputs):
        assert g is not None and np.all(np.isfinite(g.numpy())) and np.abs(g.numpy()).max() > 0


def test_reproducible_with_seed_everything(rng):
    inputs = _tensors(rng, batch=4)
    layer = AnalogChannel({"name": "rayleigh", "coherence": "block", "block_length": 16}, snr_to_decoder=True)
    fn = tf.function(lambda xs: layer(xs, training=True))
    runs = []
    for _ in range(2):
        seed_everything(11)
        runs.append([t.numpy() for t in fn(inputs)])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[0][0], fn(inputs)[0].numpy())  # the stream moves on between calls


def test_fit_two_steps(rng):
    seed_everything(5)
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(True))
    x = rng.normal(size=(8, 8, 8, 3)).astype("float32")
    y = (x[..., 0] > 0).astype("int32")
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    changed = [not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights, strict=True)]
    assert all(changed)  # the encoder's conv weights too: gradients crossed the channel
