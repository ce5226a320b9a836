"""Post-training compression: quantisation error bounds, global pruning, composition, stored size, no side effects."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lssc_sim.codecs import CODECS
from lssc_sim.codecs.compression import compress_model, prune_global, quantise_weights


@pytest.fixture(scope="module")
def codec():
    keras.utils.set_random_seed(0)
    return CODECS.get("lssc")(base_width=8, depth=2, num_classes=3, image_size=32)


def _weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def _kernels(model: keras.Model) -> list[np.ndarray]:
    """The pruned tensors: rank >= 2, outside batch norm (whose weights are all vectors)."""
    return [np.asarray(v) for v in model.weights if len(v.shape) >= 2]


@pytest.mark.parametrize("bits", [2, 3, 8, 16])
@pytest.mark.parametrize("granularity", ["tensor", "channel"])
def test_error_within_half_a_step(rng, bits, granularity):
    w = rng.normal(size=(3, 3, 4, 6)).astype(np.float32) * np.linspace(0.01, 2.0, 6, dtype=np.float32)
    deq, codes, scales = quantise_weights(w, bits, granularity)
    levels = 2 ** (bits - 1) - 1
    assert deq.dtype == np.float32 and deq.shape == w.shape and codes.shape == w.shape
    assert np.issubdtype(codes.dtype, np.integer) and np.abs(codes).max() == levels
    assert scales.shape == (() if granularity == "tensor" else (6,))
    np.testing.assert_array_equal(deq, codes.astype(np.float32) * scales)  # what a decoder rebuilds
    half_step = np.broadcast_to(scales / 2, w.shape)
    assert np.all(np.abs(deq - w) <= half_step * (1 + 1e-6) + 1e-12)


def test_per_channel_beats_per_tensor_on_unequal_channels(rng):
    w = rng.normal(size=(3, 3, 8, 4)).astype(np.float32) * np.array([1e-3, 1e-2, 1e-1, 1.0], dtype=np.float32)
    tensor_err = np.abs(quantise_weights(w, 6, "tensor")[0] - w)
    channel_err = np.abs(quantise_weights(w, 6, "channel")[0] - w)
    assert np.all(channel_err.max(axis=(0, 1, 2)) <= tensor_err.max(axis=(0, 1, 2)) + 1e-9)
    assert channel_err[..., 0].max() < 0.1 * tensor_err[..., 0].max()  # the small channel gains a lot


def test_channel_axis_and_all_zero_slices():
    w = np.zeros((2, 2, 3, 5), np.float32)
    w[..., 1, :] = 1.0
    deq, codes, scales = quantise_weights(w, 4, "channel", channel_axis=-2)  # Conv2DTranspose: [kh, kw, out, in]
    assert scales.shape == (3,) and scales[0] == 0 and scales[2] == 0
    np.testing.assert_array_equal(deq, w)


def test_zeros_survive_quantisation(rng):
    w = rng.normal(size=(5, 7)).astype(np.float32)
    w[rng.random(w.shape) < 0.5] = 0.0
    for bits in (2, 4, 8, 16):
        for granularity in ("tensor", "channel"):
            deq, codes, _ = quantise_weights(w, bits, granularity)
            assert np.all(deq[w == 0] == 0) and np.all(codes[w == 0] == 0)
            assert not np.any(np.signbit(deq[w == 0]))  # +0.0, not -0.0


def test_prune_global_one_threshold_over_all_kernels(rng):
    weights = {
        "a/kernel": rng.normal(scale=0.1, size=(3, 3, 4, 8)),
        "a/bias": rng.normal(size=(8,)) * 1e-4,  # tiny, but a bias: never pruned
        "b/kernel": rng.normal(scale=1.0, size=(16, 10)),
    }
    pruned = prune_global(weights, 0.6)
    np.testing.assert_array_equal(pruned["a/bias"], weights["a/bias"])
    kernels = np.concatenate([pruned[n].ravel() for n in ("a/kernel", "b/kernel")])
    original = np.concatenate([weights[n].ravel() for n in ("a/kernel", "b/kernel")])
    assert np.mean(kernels == 0) == pytest.approx(0.6, abs=1 / kernels.size)
    assert np.abs(original[kernels == 0]).max() <= np.abs(kernels[kernels != 0]).min()  # one threshold
    # global, not per layer: the small-weight layer loses far more than the target
    assert np.mean(pruned["a/kernel"] == 0) > 0.7 > 0.3 > np.mean(pruned["b/kernel"] == 0)
    assert not np.shares_memory(pruned["a/kernel"], weights["a/kernel"]) and np.all(weights["a/kernel"] != 0)


def test_prune_zero_sparsity_is_bit_identical(rng):
    weights = {"k": rng.normal(size=(4, 4)).astype(np.float32), "b": np.zeros(4, np.float32)}
    pruned = prune_global(weights, 0.0)
    assert all(pruned[n].tobytes() == weights[n].tobytes() for n in weights)


def test_no_compression_is_identity(codec):
    for model in (codec.encoder, codec.decoder):
        result = compress_model(model)
        assert result.model is not model
        assert all(a.tobytes() == b.tobytes() for a, b in zip(_weights(result.model), _weights(model), strict=True))
        assert result.size_bytes == result.float_bytes == 4 * model.count_params()


def test_batch_norm_stays_float_and_kernels_and_biases_are_quantised(codec):
    result = compress_model(codec.encoder, bits=4)
    assert result.kept_float and all("/bn" in n for n in result.kept_float)
    assert any(n.endswith("kernel") for n in result.quantised)
    assert any(n.endswith(("b1", "b2", "bias")) for n in result.quantised)  # CBAM MLP and spatial-conv biases
    for v, new in zip(codec.encoder.weights, result.model.weights, strict=True):
        if v.path in result.kept_float:
            np.testing.assert_array_equal(np.asarray(new), np.asarray(v))
        elif np.any(np.asarray(v) != 0):  # at most 2**3 - 1 = 7 positive magnitudes per tensor
            assert len(np.unique(np.abs(np.asarray(new)))) <= 8


def test_sixteen_bits_leave_outputs_unchanged(codec):
    images = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    encoder = compress_model(codec.encoder, bits=16).model
    decoder = compress_model(codec.decoder, bits=16, granularity="channel").model
    reference = np.asarray(codec.decoder(codec.encoder(images)))
    logits = np.asarray(decoder(encoder(images)))
    assert np.abs(logits - reference).max() <= 1e-3 * np.abs(reference).max()
    assert np.mean(logits.argmax(-1) == reference.argmax(-1)) >= 0.99


def test_realised_sparsity_is_global_and_on_target(codec):
    for target in (0.5, 0.9):
        result = compress_model(codec.encoder, sparsity=target)
        kernels = _kernels(result.model)
        zeros = sum(int(np.sum(k == 0)) for k in kernels) / sum(k.size for k in kernels)
        assert zeros == pytest.approx(target, abs=0.005) and result.realised_sparsity == pytest.approx(zeros)
        per_layer = [np.mean(k == 0) for k in kernels if k.size > 100]
        assert max(per_layer) - min(per_layer) > 0.05  # one global threshold, not the target in every layer


def test_pruned_zeros_survive_quantisation(codec):
    pruned = compress_model(codec.encoder, sparsity=0.7).model
    both = compress_model(codec.encoder, bits=3, granularity="channel", sparsity=0.7).model
    for a, b in zip(_kernels(pruned), _kernels(both), strict=True):
        assert np.all(b[a == 0] == 0)


def test_size_shrinks_with_bits_and_sparsity(codec):
    model = codec.decoder
    for granularity in ("tensor", "channel"):
        sizes = [compress_model(model, bits=b, granularity=granularity).size_bytes for b in (16, 8, 4, 2)]
        assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
        assert sizes[1] < compress_model(model).float_bytes / 2
    for bits in (None, 8):
        sizes = [compress_model(model, bits=bits, sparsity=s).size_bytes for s in (0.0, 0.5, 0.9)]
        assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3
    result = compress_model(model, bits=8, sparsity=0.5)
    assert result.size_bytes == sum(result.parts.values()) and result.ratio > 2


def test_original_model_untouched(codec):
    before = _weights(codec.encoder)
    images = np.random.default_rng(2).random((1, 32, 32, 3), dtype=np.float32)
    outputs = [np.asarray(t) for t in codec.encoder(images)]
    result = compress_model(codec.encoder, bits=2, granularity="channel", sparsity=0.9)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(_weights(codec.encoder), before, strict=True))
    for a, b in zip(codec.encoder(images), outputs, strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)
    assert not {id(v) for v in result.model.weights} & {id(v) for v in codec.encoder.weights}
    assert not np.array_equal(_weights(result.model)[0], before[0])


def test_conv_transpose_scales_per_output_channel():
    x = keras.Input((4, 4, 3))
    model = keras.Model(x, keras.layers.Conv2DTranspose(5, 2, strides=2)(x))  # kernel [2, 2, 5, 3]
    result = compress_model(model, bits=8, granularity="channel")
    assert result.parts["scales"] == 4 * (5 + 1)  # 5 output channels, and one scale for the bias


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"bits": 1}, "bits"), ({"bits": 32}, "bits"), ({"granularity": "row"}, "granularity"), ({"sparsity": 1.0}, "")],
)
def test_bad_arguments(codec, kwargs, message):
    with pytest.raises(ValueError, match=message or "sparsity"):
        compress_model(codec.decoder, **kwargs)
