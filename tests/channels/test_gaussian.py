"""Statistics, reproducibility and input checks of the numba ziggurat (``lssc_sim.channels.gaussian``).

Every statistical bound is 5 standard errors of the estimate (stated per test), so a correct generator fails
with probability ~1e-6 per check while the seeds below are fixed; a wrong variance, missing tail, uniform or
correlated noise lands tens to thousands of standard errors away.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import erfc

from lssc_sim.channels import gaussian as g
from lssc_sim.channels.gaussian import CHUNK, add_awgn, complex_normal, standard_normal

Z = 5.0  # width of every statistical band, in standard errors


def _draw(seed: int, n: int) -> np.ndarray:
    return standard_normal(np.random.default_rng(seed), n).astype(np.float64)


def test_tables_close() -> None:
    """(r, v) define 256 layers of equal area v, the base one holding exactly the tail mass beyond r."""
    x, f = g._X, g._F
    tail = math.sqrt(math.pi / 2) * math.erfc(g.R / math.sqrt(2))
    assert g.R * math.exp(-0.5 * g.R**2) + tail == pytest.approx(g.V, rel=1e-10)
    areas = x[1:-1] * (f[2:] - f[1:-1])  # layers 1..255: width x[i] times height f(x[i+1]) - f(x[i])
    np.testing.assert_allclose(areas, g.V, rtol=1e-8)
    assert x[0] * f[1] == pytest.approx(g.V, rel=1e-12) and x[1] == g.R and x[-1] == 0.0
    assert np.all(np.diff(x) < 0)


def test_dtype_shape_and_out() -> None:
    a = standard_normal(np.random.default_rng(0), (3, 5, 7))
    assert a.dtype == np.float32 and a.shape == (3, 5, 7) and a.flags.c_contiguous
    buf = np.empty((3, 5, 7), np.float32)
    assert standard_normal(np.random.default_rng(0), (3, 5, 7), out=buf) is buf
    np.testing.assert_array_equal(buf, a)
    assert standard_normal(np.random.default_rng(0), 0).shape == (0,)
    assert standard_normal(np.random.default_rng(0), ()).shape == ()
    assert np.isfinite(standard_normal(np.random.default_rng(0), np.int64(9))).all()


def test_moments() -> None:
    """Mean, variance, skewness, excess kurtosis of 2^22 samples within 5 standard errors (1, sqrt(2), sqrt(6),
    sqrt(24) over sqrt(n)): a uniform noise (kurtosis -1.2) or a Box-Muller missing its factor 2 (variance 1/2)
    fails by hundreds of them."""
    x = _draw(1, 2**22)
    n = x.size
    assert abs(x.mean()) < Z / math.sqrt(n)
    assert abs(x.var() - 1.0) < Z * math.sqrt(2 / n)
    assert abs(st.skew(x)) < Z * math.sqrt(6 / n)
    assert abs(st.kurtosis(x)) < Z * math.sqrt(24 / n)


def test_tail_probabilities() -> None:
    """P(|x| > a) for a up to 4.5 within a 5-sigma binomial band over 2^24 samples, and samples beyond the
    ziggurat's base r and beyond the base layer's width v / f(r) (a ziggurat without its tail has none)."""
    x = np.abs(_draw(2, 2**24))
    n = x.size
    for a in (1.0, 2.0, 3.0, g.R, 4.0, 4.5):
        p = erfc(a / math.sqrt(2))
        count = np.count_nonzero(x > a)
        assert abs(count - n * p) < Z * math.sqrt(n * p * (1 - p)), (a, count, n * p)
    assert np.count_nonzero(x > g._X[0]) > 0.5 * n * erfc(g._X[0] / math.sqrt(2))  # ~1500 expected
    assert x.max() > 5.0  # P(max over 2^24 < 5) ~ 1e-42


def test_ks_and_chi_square() -> None:
    """KS on 1e6 samples against N(0, 1) and a chi-square over 200 equiprobable bins of 4e6 samples (p > 1e-4)."""
    assert st.kstest(_draw(2024, 1_000_000), "norm").pvalue > 1e-4
    x = _draw(7, 4_000_000)
    edges = st.norm.ppf(np.linspace(0, 1, 201))
    counts = np.histogram(x, edges)[0]
    assert counts.sum() == x.size
    chi2 = float(((counts - x.size / 200) ** 2 / (x.size / 200)).sum())
    assert st.chi2.sf(chi2, 199) > 1e-4, chi2


def test_matches_sionna_awgn() -> None:
    """Per-axis variance of sqrt(no) * complex_normal and of Sionna's AWGN within 5 standard errors of no / 2
    (SE = no / 2 * sqrt(2 / n)) and of each other, and a two-sample KS test (p > 1e-4) on both axes."""
    import tensorflow as tf
    from sionna.phy import config
    from sionna.phy.channel import AWGN

    n, no = 2**20, 0.3
    config.seed = 1
    theirs = AWGN(precision="single")(tf.zeros([n], tf.complex64), no).numpy()
    ours = math.sqrt(no) * complex_normal(np.random.default_rng(11), n)
    se = no / 2 * math.sqrt(2 / n)
    for part in (np.real, np.imag):
        a, b = part(ours).astype(np.float64), part(theirs).astype(np.float64)
        assert abs(a.var() - no / 2) < Z * se and abs(b.var() - no / 2) < Z * se
        assert abs(a.var() - b.var()) < Z * math.sqrt(2) * se
        assert st.ks_2samp(a, b).pvalue > 1e-4


def test_reproducible_whatever_the_threads() -> None:
    """Same generator state, same array, with 1 and with several numba threads (several chunks, odd length)."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    n = 5 * CHUNK + 123
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = standard_normal(np.random.default_rng(5), n)
        one_c = complex_normal(np.random.default_rng(5), n)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = standard_normal(np.random.default_rng(5), n)
        two_c = complex_normal(np.random.default_rng(5), n)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one_c, two_c)


def test_streams_differ_and_values_depend_on_index_only() -> None:
    rng = np.random.default_rng(3)
    first, second = standard_normal(rng, 1000), standard_normal(rng, 1000)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, standard_normal(np.random.default_rng(3), 1000))
    assert not np.array_equal(first, standard_normal(np.random.default_rng(4), 1000))
    # Element k depends only on (seed, k): a shorter request is a prefix of a longer one.
    long = standard_normal(np.random.default_rng(8), 2 * CHUNK + 11)
    np.testing.assert_array_equal(long[: CHUNK + 7], standard_normal(np.random.default_rng(8), CHUNK + 7))


def test_chunks_and_neighbours_uncorrelated() -> None:
    """Correlation of chunk i with chunk i+1, and of the two samples sharing a 64-bit word, within 5 / sqrt(n)."""
    chunks = 48
    x = _draw(9, chunks * CHUNK).reshape(chunks, CHUNK)
    corr = np.array([np.corrcoef(x[i], x[i + 1])[0, 1] for i in range(chunks - 1)])
    assert np.all(np.abs(corr) < Z / math.sqrt(CHUNK)), corr
    assert abs(corr.mean()) < Z / math.sqrt(CHUNK * (chunks - 1))  # disjoint pairs are nearly independent
    flat = x.ravel()
    assert abs(np.corrcoef(flat[0::2], flat[1::2])[0, 1]) < Z / math.sqrt(flat.size / 2)
    assert abs(np.corrcoef(flat[1:-1:2], flat[2::2])[0, 1]) < Z / math.sqrt(flat.size / 2)


def test_complex_normal() -> None:
    """E|z|^2 = 1 (SE 1 / sqrt(n)), each part variance 1/2 (SE sqrt(2 / n) / 2), parts uncorrelated."""
    n = 2**21
    z = complex_normal(np.random.default_rng(12), (2, n // 2))
    assert z.dtype == np.complex64 and z.shape == (2, n // 2) and z.flags.c_contiguous
    z = z.ravel().astype(np.complex128)
    assert abs(np.mean(np.abs(z) ** 2) - 1.0) < Z / math.sqrt(n)
    for part in (z.real, z.imag):
        assert abs(part.mean()) < Z * math.sqrt(0.5 / n)
        assert abs(part.var() - 0.5) < Z * 0.5 * math.sqrt(2 / n)
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < Z / math.sqrt(n)
    buf = np.empty(10, np.complex64)
    assert complex_normal(np.random.default_rng(1), 10, out=buf) is buf


def test_add_awgn() -> None:
    """x + sqrt(no) * complex_normal(rng), fused; no = 0 returns x; the input is left alone."""
    rng = np.random.default_rng(13)
    x = (rng.choice([-1.0, 1.0], (64, 2051)) + 1j * rng.choice([-1.0, 1.0], (64, 2051))).astype(np.complex64)
    x_copy = x.copy()
    no = 0.25
    y = add_awgn(x, no, np.random.default_rng(14))
    assert y.dtype == np.complex64 and y.shape == x.shape
    np.testing.assert_array_equal(x, x_copy)
    expected = x + np.float32(math.sqrt(no)) * complex_normal(np.random.default_rng(14), x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    noise = (y - x).ravel().astype(np.complex128)
    assert abs(np.mean(np.abs(noise) ** 2) - no) < Z * no / math.sqrt(noise.size)
    np.testing.assert_array_equal(add_awgn(x, 0.0, np.random.default_rng(1)), x)
    np.testing.assert_array_equal(add_awgn(x.T, 0.0, np.random.default_rng(1)), x.T)  # non-contiguous input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: standard_normal(r, -1), "non-negative"),
        (lambda r: standard_normal(r, (3, -2)), "non-negative"),
        (lambda r: standard_normal(r, 2.5), "int"),
        (lambda r: standard_normal(r, 4, out=np.empty(4, np.float64)), "float32.*float64"),
        (lambda r: standard_normal(r, 4, out=np.empty(5, np.float32)), r"\(4,\).*\(5,\)"),
        (lambda r: standard_normal(r, 4, out=np.empty(8, np.float32)[::2]), "C-contiguous"),
        (lambda r: standard_normal(r, 4, out=[0.0] * 4), "list"),
        (lambda r: complex_normal(r, 4, out=np.empty(4, np.float32)), "complex64.*float32"),
        (lambda r: add_awgn(np.zeros(4), 1.0, r), "complex64.*float64"),
        (lambda r: add_awgn(np.zeros(4, np.complex64), -1.0, r), "no must be"),
        (lambda r: add_awgn(np.zeros(4, np.complex64), float("nan"), r), "no must be"),
        (lambda r: add_awgn(np.zeros(4, np.complex64), np.ones(4), r), "no must be"),
        (lambda r: standard_normal(np.random.RandomState(0), 4), "Generator"),
    ],
)
def test_bad_input_raises(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(np.random.default_rng(0))


def test_benchmark_smoke() -> None:
    """bench_noise() reports positive timings and restores the thread count (no wall-clock assertion)."""
    from lssc_sim.bench.noise import bench_noise

    before = numba.get_num_threads()
    res = bench_noise(200_000)
    assert numba.get_num_threads() == before
    assert set(res) >= {"numpy_ns", "ours_1_thread_ns", "ours_all_threads_ns", "speedup_1_thread"}
    assert all(v > 0 for v in res.values())


def test_keyed_rows_depend_only_on_their_key() -> None:
    seeds = np.array([7, 7, 9], np.uint64)
    blocks = np.array([0, 1, 0], np.uint64)
    rows = g.standard_normal_keyed(seeds, blocks, 4096)
    alone = g.standard_normal_keyed(seeds[1:2], blocks[1:2], 4096)
    np.testing.assert_array_equal(rows[1], alone[0])  # whatever else is drawn with it
    assert abs(np.corrcoef(rows[0], rows[1])[0, 1]) < 5 / np.sqrt(4096)
    big = g.standard_normal_keyed(np.arange(64, dtype=np.uint64), np.zeros(64, np.uint64), 8192)
    assert abs(big.mean()) < 5 / np.sqrt(big.size) and abs(big.var() - 1) < 5 * np.sqrt(2 / big.size)
    with pytest.raises(ValueError, match="even"):
        g.standard_normal_keyed(seeds, blocks, 5)


def test_add_scaled_noise_is_base_plus_scaled_standard_normal() -> None:
    base = np.random.default_rng(1).standard_normal((5, 70001)).astype(np.float32)  # rows cross chunk edges
    scales = np.array([0.0, 1.0, 0.5, 2.0, 3.0], np.float32)
    out = g.add_scaled_noise(base, scales, np.random.default_rng(9))
    z = g.standard_normal(np.random.default_rng(9), base.shape)
    np.testing.assert_allclose(out, base + scales[:, None] * z, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="scales"):
        g.add_scaled_noise(base, scales[:2], np.random.default_rng(0))
