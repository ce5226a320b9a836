"""The codec builders: what crosses the cut, its shapes, the decoder's logits, projections, LSSC's Table I."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lssc_sim.codecs import CODECS, SplitCodec, end_to_end, lssc, unet
from lssc_sim.codecs.layers import CBAM, AttentionGate, ConvBlock

NAMES = ["unet", "attention_unet", "cbam_unet", "lssc"]


def _images(batch=2, size=32, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, size, size, 3), dtype=np.float32)


def test_registry_holds_the_four_builders():
    assert set(NAMES) <= set(CODECS.names())
    with pytest.raises(KeyError, match="known: .*lssc"):
        CODECS.get("vgg")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_transmitted_tensors_and_logits(name, depth):
    size, width, classes = 32, 4, 3
    codec = CODECS.get(name)(depth=depth, base_width=width, num_classes=classes, image_size=size)
    assert isinstance(codec, SplitCodec) and codec.name == name
    expected = tuple((size // 2**lv, size // 2**lv, width * 2**lv) for lv in range(depth)) + (
        (size // 2**depth, size // 2**depth, width * 2**depth),
    )
    assert codec.transmitted_shapes == expected
    sent = codec.encoder(_images(size=size))
    assert len(sent) == depth + 1
    assert [tuple(t.shape) for t in sent] == [(2, *s) for s in expected]
    logits = codec.decoder(sent)
    assert tuple(logits.shape) == (2, size, size, classes)
    assert codec.transmitted_values == sum(h * w * c for h, w, c in expected)
    keras.backend.clear_session()


def test_blocks_present_where_the_papers_put_them():
    def count(model, cls):
        return sum(isinstance(layer, cls) for layer in model.layers)

    kw = dict(depth=3, base_width=4, image_size=32)
    plain, gated, cbam = unet(**kw), CODECS.get("attention_unet")(**kw), CODECS.get("cbam_unet")(**kw)
    assert count(plain.encoder, CBAM) == count(plain.decoder, AttentionGate) == 0
    assert count(gated.decoder, AttentionGate) == 3 and count(gated.encoder, AttentionGate) == 0
    assert count(cbam.encoder, CBAM) == 3 and count(cbam.decoder, CBAM) == 0


def test_projection_sets_transmitted_channels():
    codec = unet(depth=2, base_width=8, image_size=32, projections=3)
    assert codec.transmitted_shapes == ((32, 32, 3), (16, 16, 3), (8, 8, 3))
    per_tensor = unet(depth=2, base_width=8, image_size=32, projections=[2, None, 5])
    assert per_tensor.transmitted_shapes == ((32, 32, 2), (16, 16, 16), (8, 8, 5))
    sent = per_tensor.encoder(_images())
    assert [t.shape[-1] for t in sent] == [2, 16, 5]
    assert tuple(per_tensor.decoder(sent).shape) == (2, 32, 32, 2)
    # the decoder unprojects back to the widths its blocks expect
    assert per_tensor.decoder.get_layer("unproject0").filters == 8
    assert per_tensor.decoder.get_layer("unproject2").filters == 32


@pytest.mark.parametrize("name", NAMES)
def test_a_split_after_stage_k_moves_the_deeper_stages_to_the_server(name):
    from lssc_sim.codecs.complexity import codec_complexity

    kw = dict(depth=3, base_width=4, image_size=32, num_classes=3)
    full = CODECS.get(name)(**kw)
    x = _images()
    flops = {}
    for k in (3, 2, 1):
        codec = CODECS.get(name)(**kw, device_stages=k)
        # the k skips of the device's stages, then the k-th stage's downsampled output (its channels, level k's size)
        expected = tuple((32 >> lv, 32 >> lv, 4 << lv) for lv in range(k))
        expected += ((32 >> k, 32 >> k, 4 << (k - 1 if k < 3 else 3)),)
        assert codec.transmitted_shapes == expected
        assert codec.encoder.count_params() + codec.decoder.count_params() == full.encoder.count_params() + (
            full.decoder.count_params()
        )  # the same network, cut elsewhere
        encoder_blocks = {layer.name for layer in codec.encoder.layers if isinstance(layer, ConvBlock)}
        decoder_blocks = {layer.name for layer in codec.decoder.layers if isinstance(layer, ConvBlock)}
        assert encoder_blocks == {f"enc{lv}" for lv in range(k)} | ({"bottleneck"} if k == 3 else set())
        assert {f"enc{lv}" for lv in range(k, 3)} <= decoder_blocks
        sent = codec.encoder(x)
        assert tuple(codec.decoder(sent).shape) == (2, 32, 32, 3)
        flops[k] = codec_complexity(codec).flops_device
        # the same weights give the same logits whichever side runs the middle stages
        codec_weights = {w.path: w for part in (codec.encoder, codec.decoder) for w in part.weights}
        for part in (full.encoder, full.decoder):
            for w in part.weights:
                codec_weights[w.path].assign(w)
        np.testing.assert_allclose(
            np.asarray(codec.decoder(codec.encoder(x))), np.asarray(full.decoder(full.encoder(x))), rtol=1e-4, atol=1e-5
        )
    assert flops[1] < flops[2] < flops[3]
    keras.backend.clear_session()


def test_a_split_after_stage_k_sends_only_its_deep_tensor_when_asked():
    codec = lssc(base_width=4, image_size=32, device_stages=2, projections=[0, 0, 2])
    assert codec.transmitted_shapes == ((8, 8, 2),)  # after two downsamplings, projected to 2 channels
    assert tuple(codec.decoder(codec.encoder(_images())).shape) == (2, 32, 32, 2)
    with pytest.raises(ValueError, match=r"device_stages must be an int in \[1, 3\]; found 4"):
        lssc(base_width=4, image_size=32, device_stages=4)
    with pytest.raises(ValueError, match=r"one entry per candidate tensor \(3\)"):
        lssc(base_width=4, image_size=32, device_stages=2, projections=[0, 0, 0, 2])


def test_lssc_defaults_follow_table_one():
    codec = lssc(base_width=4, image_size=32)
    assert len(codec.transmitted_shapes) == 3 + 1  # 3 downsamplings
    assert codec.transmitted_shapes[-1] == (4, 4, 32)
    dec_blocks = [layer for layer in codec.decoder.layers if isinstance(layer, ConvBlock)]
    enc_blocks = [layer for layer in codec.encoder.layers if isinstance(layer, ConvBlock)]
    assert len(dec_blocks) == 3 and all(b.kernel_size == 2 for b in dec_blocks)
    assert all(b.kernel_size == 3 for b in enc_blocks)
    assert sum(isinstance(layer, CBAM) for layer in codec.encoder.layers) == 3
    assert len(unet(base_width=4, image_size=32).transmitted_shapes) == 4 + 1


def test_end_to_end_without_channel_matches_the_halves():
    codec = CODECS.get("attention_unet")(depth=2, base_width=4, image_size=32, projections=2)
    model = end_to_end(codec)
    x = _images()
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(codec.decoder(codec.encoder(x))), rtol=1e-6)


def test_end_to_end_passes_through_the_channel_layer():
    class Scale(keras.layers.Layer):
        def call(self, inputs):
            return [t * 0.0 for t in inputs]

    codec = unet(depth=1, base_width=4, image_size=32)
    model = end_to_end(codec, Scale())
    zeros = [np.zeros((2, *s), np.float32) for s in codec.transmitted_shapes]
    np.testing.assert_allclose(np.asarray(model(_images())), np.asarray(codec.decoder(zeros)), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(depth=0), r"depth must be an int in \[1, 5\]; found 0"),
        (dict(depth=6), r"depth must be an int in \[1, 5\]; found 6"),
        (dict(image_size=40, depth=4), "divisible by 2\\*\\*depth = 16; found 40"),
        (dict(base_width=0), "base_width must be an int >= 1; found 0"),
        (dict(projections=0), r"the bottleneck \(last entry\) always crosses"),
        (dict(projections=-1), "projections must be an int >= 0; found -1"),
        (dict(projections=[4, 4]), r"one entry per candidate tensor \(5\); found 2"),
    ],
)
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        unet(**{"base_width": 4, "image_size": 32, **kwargs})


def test_codec_halves_save_reload_and_train(tmp_path):
    codec = CODECS.get("lssc")(depth=2, base_width=4, image_size=32, projections=2)
    x = _images()
    for part in (codec.encoder, codec.decoder):
        part.save(tmp_path / f"{part.name}.keras")
    encoder = keras.models.load_model(tmp_path / f"{codec.encoder.name}.keras")
    decoder = keras.models.load_model(tmp_path / f"{codec.decoder.name}.keras")
    np.testing.assert_array_equal(np.asarray(decoder(encoder(x))), np.asarray(codec.decoder(codec.encoder(x))))
    # one training step through the composed model moves the weights and the batch-norm statistics
    model = end_to_end(codec)
    model.compile(optimizer="rmsprop", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [np.array(w) for w in model.weights]
    masks = np.random.default_rng(1).integers(0, 2, (2, 32, 32))
    history = model.fit(x, masks, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert sum(not np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.weights, strict=True)) > 0
    moving = [w for w in model.weights if "moving_mean" in w.path]
    assert moving and any(np.abs(np.asarray(w)).sum() > 0 for w in moving)


def test_the_light_name_list_matches_the_builders():
    import inspect

    from lssc_sim.codecs.catalog import CODEC_DEPTHS

    assert sorted(CODEC_DEPTHS) == CODECS.names()
    for name, depth in CODEC_DEPTHS.items():
        assert inspect.signature(CODECS.get(name)).parameters["depth"].default == depth


@pytest.mark.parametrize("name", ["unet", "lssc"])
def test_non_square_inputs(name):
    codec = CODECS.get(name)(depth=2, base_width=4, image_size=(32, 64), num_classes=3)
    logits = codec.decoder(codec.encoder(np.zeros((1, 32, 64, 3), np.float32)))
    assert logits.shape == (1, 32, 64, 3)
    assert codec.transmitted_shapes[0][:2] == (32, 64)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth"):
        CODECS.get(name)(depth=2, base_width=4, image_size=(32, 66))
