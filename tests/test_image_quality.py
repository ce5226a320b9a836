"""PSNR, SSIM and MS-SSIM of received images: against direct formulas and TensorFlow, and the exact-image rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim.image_quality import MS_SSIM_MIN_SIDE, CachedQuality, quality_counters


def _pair(shape, noise, seed=0):
    rng = np.random.default_rng(seed)
    sent = rng.integers(0, 256, shape, dtype=np.uint8)
    received = np.clip(sent.astype(int) + rng.integers(-noise, noise + 1, shape), 0, 255).astype(np.uint8)
    return received, sent


def test_psnr_is_the_datasets_from_the_mean_squared_error():
    received, sent = _pair((5, 32, 48, 3), 9)
    received[0] = sent[0]  # one exact image must not make the dataset's PSNR infinite
    q = quality_counters(received, sent)
    mse = np.mean((received.astype(float) - sent) ** 2)
    assert q["mse"] == pytest.approx(mse, rel=1e-12)
    assert q["psnr_db"] == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-12)
    assert not q["psnr_exact"]
    # not the mean of per-image PSNRs (which the exact image would make infinite)
    assert q["psnr_db"] < 60


def test_exact_images_give_a_finite_bound_flagged_as_exact():
    _, sent = _pair((3, 32, 32, 3), 1)
    q = quality_counters(sent.copy(), sent)
    assert q["psnr_exact"] and q["mse"] == 0 and math.isfinite(q["psnr_db"])
    one_off = sent.copy()
    one_off[0, 0, 0, 0] ^= 1  # one level wrong in one sample: the bound is exactly that PSNR
    assert quality_counters(one_off, sent)["psnr_db"] == pytest.approx(q["psnr_db"])
    assert q["ssim"] == pytest.approx(1.0)


def test_ssim_matches_tensorflow_per_image_mean():
    received, sent = _pair((4, 40, 56, 3), 30)
    expected = tf.image.ssim(tf.constant(received, tf.float32), tf.constant(sent, tf.float32), 255.0).numpy().mean()
    assert quality_counters(received, sent, batch_size=3)["ssim"] == pytest.approx(float(expected), rel=1e-6)


def test_ms_ssim_needs_the_side_and_says_why_otherwise():
    small = quality_counters(*_pair((2, MS_SSIM_MIN_SIDE - 1, 200, 3), 20))
    assert math.isnan(small["ms_ssim"]) and f"{MS_SSIM_MIN_SIDE - 1} px" in small["ms_ssim_note"]
    received, sent = _pair((2, MS_SSIM_MIN_SIDE, MS_SSIM_MIN_SIDE, 3), 20)
    big = quality_counters(received, sent)
    expected = tf.image.ssim_multiscale(tf.constant(received, tf.float32), tf.constant(sent, tf.float32), 255.0)
    assert big["ms_ssim"] == pytest.approx(float(expected.numpy().mean()), rel=1e-6) and big["ms_ssim_note"] == ""
    with pytest.raises(tf.errors.InvalidArgumentError):  # the bound is TensorFlow's own: one pixel less fails
        too_small = tf.zeros((1, MS_SSIM_MIN_SIDE - 1, 200, 3))
        tf.image.ssim_multiscale(too_small, too_small, 255.0)


def test_cached_scores_equal_the_direct_ones():
    received, sent = _pair((6, 32, 40, 3), 12, seed=4)
    received[[1, 4]] = sent[[1, 4]]  # exact images are scored without TensorFlow
    cached = CachedQuality()
    first = cached(received, sent)
    direct = quality_counters(received, sent)
    assert first.keys() == direct.keys()
    for key, value in direct.items():
        assert first[key] == (pytest.approx(value, rel=1e-9, nan_ok=True) if isinstance(value, float) else value)
    assert cached(received, sent) == first  # from the cache
    assert cached(sent.copy(), sent)["psnr_exact"]
