"""Every registered channel honours the contract ``y, h = channel(x, no)`` (see ``lssc_sim/channels/base.py``).

Statistics use >= 1.2e5 independent samples, so a 2 % tolerance is several standard deviations wide. A channel
with a NumPy gain sampler (``draw_gains``) is held to the same law as its TensorFlow ``gains``.

Run it for one channel with its parameters (a name or a JSON spec; repeat the option for several):
``pytest tests/channels/test_contract.py --channel '{"name": "rician", "k_factor_db": 3, "coherence": "block"}'``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from lssc_sim.channels import CHANNELS, FlatFadingChannel, equalize, make_channel
from lssc_sim.channels.ofdm import OfdmChannel
from lssc_sim.seeding import seed_everything

STAT_BLOCK_LENGTH = 8  # short blocks give many independent gains per tensor for the statistics
NUM_GAINS = 2**17  # independent gains (and noise samples at least) per statistical check


def _specs() -> list[dict]:
    specs = []
    for name in CHANNELS.names():
        specs.append({"name": name})  # defaults
        if issubclass(CHANNELS.get(name), FlatFadingChannel):
            specs += [
                {"name": name, "coherence": "block"},  # default block length
                {"name": name, "coherence": "block", "block_length": STAT_BLOCK_LENGTH},
                {"name": name, "coherence": "frame"},
            ]
    return specs


def pytest_generate_tests(metafunc):
    """Every registered channel and its coherences, or only the ``--channel`` specs given on the command line."""
    if "spec" in metafunc.fixturenames and not any(m.name == "parametrize" for m in metafunc.definition.iter_markers()):
        given = metafunc.config.getoption("--channel")
        specs = [json.loads(s) if s.lstrip().startswith("{") else {"name": s} for s in given] if given else _specs()
        metafunc.parametrize("spec", specs, ids=[",".join(f"{v}" for v in s.values()) for s in specs])


def _stat_shape(channel) -> tuple[int, int]:
    """A [batch, n] input holding about NUM_GAINS independent gains (n not a multiple of the block)."""
    if isinstance(channel, OfdmChannel):  # one slot, one realisation of the model, per row
        return NUM_GAINS // 4, 8
    coherence = getattr(channel, "coherence", "symbol")
    if coherence == "frame":
        return NUM_GAINS, 4
    if coherence == "block":
        n = 8 * channel.block_length + 5  # 8 full blocks and a partial one
        return -(-NUM_GAINS // 9), n
    return 512, 512


def _unit_symbols(shape, rng: np.random.Generator) -> tf.Tensor:
    """Random QPSK symbols, unit energy."""
    x = (rng.choice([-1.0, 1.0], shape) + 1j * rng.choice([-1.0, 1.0], shape)) / np.sqrt(2)
    return tf.constant(x, tf.complex64)


def _independent_gains(channel, h: np.ndarray) -> np.ndarray:
    """One sample per independent gain: per symbol, per block, per frame or per OFDM slot."""
    coherence = getattr(channel, "coherence", "symbol")
    if coherence == "frame" or isinstance(channel, OfdmChannel):
        return h[:, 0]
    if coherence == "block":
        return h[:, :: channel.block_length].ravel()
    return h.ravel()


def test_shapes_and_dtypes(spec, rng):
    channel = make_channel(spec)
    x = _unit_symbols((3, 70), rng)
    for no in (0.1, tf.constant([0.1, 0.2, 0.3])):
        y, h = channel(x, no)
        assert y.dtype == tf.complex64 and h.dtype == tf.complex64
        assert y.shape == x.shape
        assert h.shape[0] == 3 and h.shape[1] in (1, 70)
        assert tf.broadcast_static_shape(h.shape, y.shape) == y.shape


def test_noise_free_output_is_h_times_x(spec, rng):
    channel = make_channel(spec)
    x = _unit_symbols((4, 300), rng)
    y, h = channel(x, 0.0)
    np.testing.assert_allclose(y.numpy(), (h * x).numpy(), atol=1e-6, rtol=0)


def test_noise_power_per_row(spec, rng):
    channel = make_channel(spec)
    batch, n = _stat_shape(channel)
    x = _unit_symbols((batch, n), rng)
    no = np.where(np.arange(batch) % 2 == 0, 0.1, 1.0).astype(np.float32)  # a different no per row
    y, h = channel(x, tf.constant(no))
    noise = (y - h * x).numpy()
    if channel.noiseless:  # the ideal channel: no noise whatever no says
        assert not noise.any()
        return
    for value in (0.1, 1.0):
        measured = np.mean(np.abs(noise[no == value]) ** 2)
        assert noise[no == value].size >= 1e5
        assert measured == pytest.approx(value, rel=0.02)
    # circular: equal power in I and Q
    assert np.mean(noise.real**2) == pytest.approx(np.mean(noise.imag**2), rel=0.02)


def test_average_gain_power_is_one(spec, rng):
    channel = make_channel(spec)
    batch, n = _stat_shape(channel)
    _, h = channel(_unit_symbols((batch, n), rng), 0.0)
    g = _independent_gains(channel, np.broadcast_to(h.numpy(), (batch, n)))
    # an OFDM slot costs a whole resource grid: 32,768 of them still put 2 % at 3.6 standard deviations
    assert g.size >= (3e4 if isinstance(channel, OfdmChannel) else 1.2e5)
    assert np.mean(np.abs(g) ** 2) == pytest.approx(1.0, rel=0.02)


def test_gradient_flows_to_x(spec, rng):
    channel = make_channel(spec)
    x = _unit_symbols((2, 50), rng)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y, _ = channel(x, 0.1)
        loss = tf.reduce_sum(tf.abs(y) ** 2)
    grad = tape.gradient(loss, x)
    assert grad is not None and grad.shape == x.shape
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0)


def test_graph_mode_dynamic_shape_and_reproducible(spec, rng):
    channel = make_channel(spec)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.complex64), tf.TensorSpec([None], tf.float32)])
    def run(x, no):
        return channel(x, no)

    x = _unit_symbols((3, 37), rng)
    no = tf.constant([0.1, 0.2, 0.3])
    seed_everything(7)
    y1, h1 = run(x, no)
    seed_everything(7)
    y2, h2 = run(x, no)
    assert y1.shape == x.shape
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    np.testing.assert_array_equal(h1.numpy(), h2.numpy())


def test_equalize_inverts_the_gain(spec, rng):
    channel = make_channel(spec)
    x = _unit_symbols((4, 100), rng)
    y, h = channel(x, 0.0)
    x_hat, no_eff = equalize(y, h, tf.constant([0.1, 0.2, 0.3, 0.4]))
    assert x_hat.dtype == tf.complex64 and no_eff.dtype == tf.float32 and no_eff.shape == x.shape
    np.testing.assert_allclose(x_hat.numpy(), x.numpy(), atol=1e-4)
    gain2 = np.broadcast_to(np.abs(h.numpy()) ** 2, x.shape)
    np.testing.assert_allclose(no_eff.numpy(), np.array([0.1, 0.2, 0.3, 0.4])[:, None] / gain2, rtol=1e-5)


def test_equalize_survives_a_zero_gain():
    y = tf.constant([[1 + 1j, 0j]], tf.complex64)
    x_hat, no_eff = equalize(y, tf.zeros([1, 2], tf.complex64), 0.1)
    assert np.all(np.isfinite(x_hat.numpy())) and np.all(np.isfinite(no_eff.numpy()))
    assert np.all(no_eff.numpy() >= 1e10)  # the demapper sees "no information" rather than nan


# -- fading statistics -------------------------------------------------------------------------------
@pytest.mark.parametrize("coherence", ["symbol", "block", "frame"])
def test_rayleigh_gain_is_circular_gaussian(coherence, rng):
    params = {"block_length": STAT_BLOCK_LENGTH} if coherence == "block" else {}
    channel = make_channel({"name": "rayleigh", "coherence": coherence, **params})
    batch, n = _stat_shape(channel)
    _, h = channel(_unit_symbols((batch, n), rng), 0.0)
    g = _independent_gains(channel, np.broadcast_to(h.numpy(), (batch, n)))
    assert abs(np.mean(g)) < 0.01  # no LOS
    # |h|^2 is exponential: P(|h|^2 < 0.1) = 1 - exp(-0.1), the deep fades that make Rayleigh BER ~ 1/SNR
    assert np.mean(np.abs(g) ** 2 < 0.1) == pytest.approx(1 - np.exp(-0.1), rel=0.05)


@pytest.mark.parametrize("k_factor_db", [0.0, 6.0, 10.0])
@pytest.mark.parametrize("coherence", ["symbol", "block", "frame"])
def test_rician_k_factor_is_recovered(k_factor_db, coherence, rng):
    params = {"block_length": STAT_BLOCK_LENGTH} if coherence == "block" else {}
    channel = make_channel({"name": "rician", "k_factor_db": k_factor_db, "coherence": coherence, **params})
    batch, n = _stat_shape(channel)
    _, h = channel(_unit_symbols((batch, n), rng), 0.0)
    g = _independent_gains(channel, np.broadcast_to(h.numpy(), (batch, n)))
    k_true = 10 ** (k_factor_db / 10)
    # LOS phase is 0, so E[h] = sqrt(K/(K+1)) and |E h|^2 / (E|h|^2 - |E h|^2) = K
    los2 = abs(np.mean(g)) ** 2
    assert los2 / (np.mean(np.abs(g) ** 2) - los2) == pytest.approx(k_true, rel=0.10)
    # phase-blind moment estimator from E|h|^2 and E|h|^4 (Greenstein et al. 1999)
    m2, m4 = np.mean(np.abs(g) ** 2), np.mean(np.abs(g) ** 4)
    root = np.sqrt(2 * m2**2 - m4)
    assert root / (m2 - root) == pytest.approx(k_true, rel=0.10)


@pytest.mark.parametrize("name", ["rayleigh", "rician"])
@pytest.mark.parametrize("block_length", [STAT_BLOCK_LENGTH, None])
def test_block_gains_constant_within_and_independent_across_blocks(name, block_length, rng):
    params = {"block_length": block_length} if block_length else {}
    channel = make_channel({"name": name, "coherence": "block", **params})
    length = channel.block_length
    n = 3 * length + length // 2 + 1  # last block partial
    batch = NUM_GAINS // 4 if block_length else 4096
    _, h = channel(_unit_symbols((batch, n), rng), 0.0)
    h = h.numpy()
    assert h.shape == (batch, n)
    starts = list(range(0, n, length))
    for s in starts:
        block = h[:, s : s + length]
        np.testing.assert_array_equal(block, np.repeat(block[:, :1], block.shape[1], axis=1))
    firsts = h[:, starts] - np.mean(h[:, starts])  # scattered part of each block
    for i in range(len(starts) - 1):
        rho = abs(np.mean(firsts[:, i] * np.conj(firsts[:, i + 1]))) / np.mean(np.abs(firsts[:, i]) ** 2)
        assert rho < 6 / np.sqrt(batch), f"blocks starting at {starts[i]} and {starts[i + 1]} correlated: {rho:.4f}"


@pytest.mark.parametrize("name", ["rayleigh", "rician"])
def test_frame_coherence_one_gain_per_row(name, rng):
    channel = make_channel({"name": name, "coherence": "frame"})
    batch = 50_000
    _, h = channel(_unit_symbols((batch, 33), rng), 0.0)
    h = np.broadcast_to(h.numpy(), (batch, 33))
    np.testing.assert_array_equal(h, np.repeat(h[:, :1], 33, axis=1))
    s = h[:, 0] - np.mean(h[:, 0])
    rho = abs(np.mean(s[:-1] * np.conj(s[1:]))) / np.mean(np.abs(s) ** 2)
    assert rho < 6 / np.sqrt(batch)  # rows (images) fade independently


@pytest.mark.parametrize("name", ["rayleigh", "rician"])
def test_symbol_coherence_independent_symbols(name, rng):
    channel = make_channel({"name": name, "coherence": "symbol"})
    _, h = channel(_unit_symbols((256, 512), rng), 0.0)
    s = h.numpy() - np.mean(h.numpy())
    rho = abs(np.mean(s[:, :-1] * np.conj(s[:, 1:]))) / np.mean(np.abs(s) ** 2)
    assert rho < 6 / np.sqrt(s.size)


# -- bad parameters are rejected when the channel is built, naming the parameter -----------------------
@pytest.mark.parametrize(
    ("spec", "error", "words"),
    [
        (
            {"name": "rayleigh", "coherence": "slow"},
            ValueError,
            ["coherence", "'symbol', 'block', 'frame'", "slow"],
        ),
        ({"name": "rician", "coherence": "image"}, ValueError, ["coherence", "image"]),
        (
            {"name": "rayleigh", "coherence": "block", "block_length": -3},
            ValueError,
            ["block_length", ">= 1", "-3"],
        ),
        ({"name": "rayleigh", "coherence": "block", "block_length": 0}, ValueError, ["block_length"]),
        (
            {"name": "rician", "coherence": "block", "block_length": 2.5},
            TypeError,
            ["block_length", "integer"],
        ),
        ({"name": "rician", "coherence": "block", "block_length": True}, TypeError, ["block_length"]),
        ({"name": "rayleigh", "block_length": 16}, ValueError, ["block_length", "coherence='block'"]),
        ({"name": "rician", "k_factor_db": "six"}, TypeError, ["k_factor_db", "real number", "six"]),
        ({"name": "rician", "k_factor_db": float("nan")}, ValueError, ["k_factor_db", "finite"]),
        ({"name": "phase_noise", "linewidth_symbol": -0.1}, ValueError, ["linewidth_symbol", ">= 0"]),
        ({"name": "rician", "k": 3}, TypeError, ["'k'", "k_factor_db"]),
        ({"coherence": "frame"}, ValueError, ["name"]),
        ({"name": "nakagami"}, KeyError, ["nakagami", "awgn", "rayleigh", "rician"]),
        ({"name": "tdl", "model": "F"}, ValueError, ["model", "'A'", "'E'", "'F'"]),
        ({"name": "tdl", "csi": "mmse"}, ValueError, ["csi", "'perfect'", "'ls'", "'lmmse'"]),
        ({"name": "tdl", "pilot_symbols": [2, 14]}, ValueError, ["pilot_symbols", "0..13", "[2, 14]"]),
        ({"name": "tdl", "pilot_symbols": []}, ValueError, ["pilot_symbols", "non-empty"]),
        ({"name": "tdl", "fft_size": 8}, ValueError, ["fft_size", ">= 12"]),
        ({"name": "tdl", "delay_spread_ns": -1}, ValueError, ["delay_spread_ns", ">= 0"]),
    ],
)
def test_bad_parameters_raise_naming_them(spec, error, words):
    with pytest.raises(error) as info:
        make_channel(spec)
    message = str(info.value)
    for word in words:
        assert word in message


def test_input_must_be_complex64():
    with pytest.raises(TypeError, match="complex64"):
        make_channel("awgn")(tf.ones([2, 4]), 0.1)


def test_spec_round_trip_and_description(spec):
    channel = make_channel(spec)
    again = make_channel(channel.spec())
    assert type(again) is type(channel) and again.params() == channel.params()
    assert channel.describe().startswith(channel.name + "(") and repr(channel) == channel.describe()
    assert channel._awgn is None  # building a channel does no TensorFlow work


def test_numpy_gains_follow_the_same_law_as_the_tensorflow_gains(spec, rng):
    channel = make_channel(spec)
    if not channel.has_numpy_gains():
        pytest.skip(f"{channel.name} draws no gains in NumPy")
    batch, n = _stat_shape(channel)
    _, h_tf = channel(_unit_symbols((batch, n), rng), 0.0)
    tf_gains = _independent_gains(channel, np.broadcast_to(h_tf.numpy(), (batch, n)))
    h_np = channel.draw_gains(np.random.default_rng(3), (batch, n))
    assert h_np.dtype == np.complex64 and np.broadcast_shapes(h_np.shape, (batch, n)) == (batch, n)
    np_gains = _independent_gains(channel, np.broadcast_to(h_np, (batch, n)))
    assert np_gains.size == tf_gains.size >= 1.2e5
    assert np.mean(np.abs(np_gains) ** 2) == pytest.approx(1.0, rel=0.02)
    se = np.std(tf_gains.real) / np.sqrt(tf_gains.size)
    assert abs(np.mean(np_gains.real) - np.mean(tf_gains.real)) < 6 * se + 1e-3  # the line-of-sight part
    assert abs(np.mean(np_gains.imag) - np.mean(tf_gains.imag)) < 6 * se + 1e-3
    # the distribution of the power gain |h|^2 (exponential for Rayleigh, non-central chi-square for Rician)
    assert stats.ks_2samp(np.abs(np_gains) ** 2, np.abs(tf_gains) ** 2).pvalue > 1e-3
    full = np.broadcast_to(h_np, (batch, n))
    if getattr(channel, "coherence", "symbol") == "block":  # constant within a block, new at its edge
        assert np.all(full[:, 1 : channel.block_length] == full[:, :1])
        assert np.mean(full[:, 0] == full[:, channel.block_length]) < 0.01
    if getattr(channel, "coherence", "symbol") == "symbol":  # independent neighbours
        assert abs(np.corrcoef(np.abs(full[:, 0]), np.abs(full[:, 1]))[0, 1]) < 5 / np.sqrt(batch)
