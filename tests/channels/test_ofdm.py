"""OFDM over 3GPP TDL with pilots: the grid returns the data exactly, the BER over a unit tap is AWGN theory, the
power delay profiles have unit power, least squares at the pilots has error variance no / |p|^2, the error
variance handed to the demapper is the estimate's, and estimated CSI costs a positive, bounded SNR (digital) and
never helps (semantic)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim.channels import make_channel
from lssc_sim.channels.ofdm import OfdmChannel
from lssc_sim.digital.link import Link
from lssc_sim.digital.modem import Modem
from lssc_sim.seeding import seed_everything
from lssc_sim.snr import snr_db_to_ebno_db, to_no
from lssc_sim.theory import ber_awgn


class UnitTapModel:
    """A Sionna channel model of one path of gain 1 at delay 0: OFDM over it is AWGN."""

    def __call__(self, batch_size, num_time_steps, sampling_frequency):
        a = tf.ones([batch_size, 1, 1, 1, 1, 1, num_time_steps], tf.complex64)
        return a, tf.zeros([batch_size, 1, 1, 1], tf.float32)


class UnitTap(OfdmChannel):
    name = "unit_tap"

    def channel_model(self):
        return UnitTapModel()

    def max_delay_s(self) -> float:
        return 0.0


def _qpsk(rows: int, n: int, rng) -> tf.Tensor:
    x = (rng.choice([-1, 1], (rows, n)) + 1j * rng.choice([-1, 1], (rows, n))) / np.sqrt(2)
    return tf.constant(x, tf.complex64)


@pytest.mark.parametrize("n", [1, 863, 864, 2000])  # within a slot, a full slot, several slots with padding
def test_a_noise_free_unit_tap_returns_the_data_symbols_exactly(n, rng):
    channel = UnitTap()
    x = _qpsk(3, n, rng)
    x_hat, no_eff = channel.receive(x, 0.0)
    np.testing.assert_array_equal(x_hat.numpy(), x.numpy())
    assert not no_eff.numpy().any()
    y, h = channel(x, 0.0)  # the flat-channel contract per data RE
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(h.numpy(), np.ones_like(h.numpy()))


def test_a_noise_free_tdl_channel_is_inverted_exactly_with_perfect_csi(rng):
    channel = make_channel({"name": "tdl", "model": "C", "delay_spread_ns": 300, "speed_kmh": 120})
    x = _qpsk(4, 3000, rng)
    y, h = channel(x, 0.0)
    np.testing.assert_allclose(y.numpy(), (h * x).numpy(), atol=1e-6)
    x_hat, _ = channel.receive(x, 0.0)
    np.testing.assert_allclose(x_hat.numpy(), x.numpy(), atol=1e-3)


@pytest.mark.parametrize("modulation, snr_db", [("qpsk", 2.0), ("16qam", 10.0)])
def test_uncoded_ber_over_a_unit_tap_is_awgn_theory(modulation, snr_db):
    seed_everything(5)
    link = Link(None, Modem(modulation, "app"), UnitTap(), uncoded_block_bits=4320)
    totals = {"bits": 0, "bit_errors": 0}
    while totals["bits"] < 2_000_000:
        counts = link.run(100, to_no(snr_db), np.random.default_rng(0))
        totals = {k: totals[k] + counts[k] for k in totals}
    m = link.modem.bits_per_symbol
    theory = float(ber_awgn(snr_db_to_ebno_db(snr_db, m), modulation))
    assert totals["bit_errors"] / totals["bits"] == pytest.approx(theory, rel=0.03)


@pytest.mark.parametrize("model, modulation, snr_db", [("A", "qpsk", 10.0), ("C", "16qam", 16.0)])
def test_uncoded_ber_over_nlos_tdl_with_perfect_csi_is_flat_rayleigh_theory(model, modulation, snr_db):
    """Every resource element of a TDL-A, B or C slot sees a CN(0, 1) gain: the BER is flat Rayleigh fading's."""
    from lssc_sim.theory import ber_rayleigh

    seed_everything(9)
    channel = make_channel({"name": "tdl", "model": model, "delay_spread_ns": 100})
    link = Link(None, Modem(modulation, "app"), channel, uncoded_block_bits=32)  # a slot per block: 20,000 fades
    counts = link.run(20_000, to_no(snr_db), np.random.default_rng(0))
    theory = float(ber_rayleigh(snr_db_to_ebno_db(snr_db, link.modem.bits_per_symbol), modulation))
    assert counts["bit_errors"] / counts["bits"] == pytest.approx(theory, rel=0.08)


@pytest.mark.parametrize("model, spread", [("A", 30), ("C", 300), ("D", 30)])
def test_tdl_power_delay_profiles_have_unit_power(model, spread, rng):
    seed_everything(11)
    channel = make_channel({"name": "tdl", "model": model, "delay_spread_ns": spread})
    _, h = channel(_qpsk(40_000, 1, rng), 0.0)  # one slot, one independent realisation per row
    assert np.mean(np.abs(h.numpy()) ** 2) == pytest.approx(1.0, rel=0.02)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["A", "B", "C", "D", "E"])
def test_every_tdl_model_has_unit_power_over_the_whole_grid(model, rng):
    seed_everything(12)
    channel = make_channel({"name": "tdl", "model": model, "delay_spread_ns": 100, "speed_kmh": 120})
    _, h = channel(_qpsk(40_000, 864, rng), 0.0)
    assert np.mean(np.abs(h.numpy()) ** 2) == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("no", [0.01, 0.3])
def test_least_squares_error_variance_at_the_pilots_is_noise_over_pilot_power(no):
    seed_everything(13)
    channel = make_channel({"name": "tdl", "model": "C", "delay_spread_ns": 300, "csi": "ls"})
    h, h_hat, err_var = (t.numpy()[:, channel.pilot_mask] for t in channel.estimates(2000, no))
    pilots = channel.resource_grid().pilot_pattern.pilots.numpy()
    assert np.allclose(np.abs(pilots) ** 2, 1.0)  # unit-energy QPSK pilots: the closed form is no
    assert np.mean(np.abs(h_hat - h) ** 2) == pytest.approx(no, rel=0.05)
    np.testing.assert_allclose(err_var, no, rtol=1e-4)  # what the receiver hands on to the demapper there


@pytest.mark.parametrize(
    "csi, model, spread, speed, no, rtol",
    [
        # ours (ls_error_variance), measured within 1 %: the pilots' noise through the weights, 0.5 no to 1.54 no
        ("ls", "A", 30, 3, 0.1, 0.03),
        ("ls", "C", 300, 120, 0.001, 0.03),  # the channel's own variation between the pilot symbols: up to 4.2 no
        # Sionna's LMMSE interpolator reports its error 3-10 % below the measured one (10 % here)
        ("lmmse", "C", 300, 3, 0.1, 0.15),
    ],
)
def test_the_error_variance_handed_on_is_the_estimates_error_at_every_ofdm_symbol(csi, model, spread, speed, no, rtol):
    seed_everything(15)
    channel = make_channel({"name": "tdl", "model": model, "delay_spread_ns": spread, "speed_kmh": speed, "csi": csi})
    h, h_hat, err_var = (t.numpy() for t in channel.estimates(2000, no))
    measured = np.mean(np.abs(h_hat - h) ** 2, axis=(0, 2))  # per OFDM symbol
    reported = np.mean(err_var, axis=(0, 2))
    np.testing.assert_allclose(reported, measured, rtol=rtol)
    if csi == "ls" and speed == 3:  # Sionna's own estimator says no everywhere; the error is not that
        assert measured.min() < 0.6 * no and measured.max() > 1.4 * no, measured / no


def test_lmmse_interpolation_beats_least_squares_at_the_pilots():
    seed_everything(14)
    errors = {}
    for csi in ("ls", "lmmse"):
        channel = make_channel({"name": "tdl", "model": "C", "delay_spread_ns": 300, "csi": csi})
        seed_everything(14)  # the same channels and noise for both
        h, h_hat, _ = (t.numpy()[:, channel.pilot_mask] for t in channel.estimates(500, 0.1))
        errors[csi] = np.mean(np.abs(h_hat - h) ** 2)
    assert errors["lmmse"] < 0.5 * errors["ls"]


def test_the_covariance_estimate_does_not_touch_the_points_random_stream():
    from sionna.phy import config

    channel = make_channel({"name": "tdl", "model": "A", "csi": "lmmse"})
    seed_everything(3)
    channel.covariances()  # 4,096 slots drawn with their own seed ...
    drawn = config.tf_rng.normal([4]).numpy()
    seed_everything(3)  # ... and the Point's stream continues as if they had not been
    np.testing.assert_array_equal(config.tf_rng.normal([4]).numpy(), drawn)
    time, freq = (m.numpy() for m in channel.covariances())
    np.testing.assert_allclose(np.diag(time).real, 1.0, rtol=0.05)  # unit power on the diagonals
    np.testing.assert_allclose(np.diag(freq).real, 1.0, rtol=0.05)


def test_overhead_counts_pilots_padding_and_cyclic_prefix():
    channel = make_channel({"name": "tdl", "cp_length": 6, "fft_size": 72, "pilot_symbols": [2, 11]})
    assert channel.data_per_slot == 72 * 12
    assert channel.overhead([864, 865]) == {
        "slots": 3,
        "pilot_uses": 3 * 2 * 72,
        "padding_uses": 3 * 864 - 1729,
        "cp_samples": 3 * 14 * 6,
        "cp_covers_delay": True,  # 6 samples at 2.16 MHz: 2.8 us, TDL-A at 30 ns: 0.29 us
    }
    long = make_channel({"name": "tdl", "model": "C", "delay_spread_ns": 1000, "cp_length": 6})
    assert not long.cp_covers_delay()  # 2.8 us < 8.65 us: the simulation ignores the resulting ISI


def _snr_at_bler(snrs, blers, target=0.1) -> float:
    """SNR (dB) where the BLER curve crosses ``target``, by interpolation in log BLER."""
    blers = np.maximum(np.asarray(blers, float), 1e-4)
    i = int(np.flatnonzero(blers <= target)[0])
    assert i > 0, "the curve starts below the target: lower the SNR grid"
    lo, hi = np.log10(blers[i - 1]), np.log10(blers[i])
    return float(snrs[i - 1] + (np.log10(target) - lo) / (hi - lo) * (snrs[i] - snrs[i - 1]))


def test_perfect_csi_beats_least_squares_by_a_positive_bounded_gap_at_bler_one_tenth():
    from lssc_sim.systems.base import PointContext
    from lssc_sim.systems.ber import BerConfig

    snrs = np.arange(2.0, 16.0, 2.0)
    at = {}
    for csi in ("perfect", "ls"):
        channel = make_channel({"name": "tdl", "model": "C", "delay_spread_ns": 300, "csi": csi})
        run = BerConfig(fec={"code": "ldpc5g", "k": 4032, "rate": 0.5}, max_bits=150 * 4032, batch_size=75).build()
        blers = []
        for snr in snrs:  # the same seed per SNR: the same channels and noise for both receivers
            blers.append(run(PointContext(snr, to_no(snr), channel, "qpsk", seed_everything(int(snr) + 1)))["bler"])
        at[csi] = _snr_at_bler(snrs, blers)
    gap = at["ls"] - at["perfect"]  # measured 3.49 dB (5.11 and 8.60 dB)
    # At 3 km/h the LS error at a data RE is a * no, a from 0.51 (midway between the pilot symbols) to 1.54 (two
    # symbols beyond them): the gap lies between what the best and the worst RE's noise of (1 + a) no would cost,
    # with 0.5 dB for the Monte-Carlo noise of 150 blocks per SNR.
    noise, _ = channel.ls_error_variance()
    data = ~channel.pilot_mask.reshape(-1)
    low, high = (10 * np.log10(1 + f(noise[data])) for f in (np.min, np.max))
    assert low - 0.5 < gap < high + 0.5, (at, low, high)


@pytest.mark.parametrize("model, spread, speed", [("A", 30, 3), pytest.param("C", 300, 120, marks=pytest.mark.slow)])
def test_the_semantic_codec_loses_with_estimated_csi_and_never_gains(model, spread, speed):
    from lssc_sim.data import DatasetSpec, load_dataset
    from lssc_sim.systems.base import PointContext
    from lssc_sim.systems.semantic import SemanticConfig

    dataset = load_dataset(DatasetSpec(name="synthetic_portraits", num_images=8))
    system = SemanticConfig(weights="lssc_awgn", equalizer="mmse").build()
    for snr in (0.0, 10.0):
        miou = {}
        for csi in ("perfect", "ls", "lmmse"):
            channel = make_channel(
                {"name": "tdl", "model": model, "delay_spread_ns": spread, "speed_kmh": speed, "csi": csi}
            )
            counters = system(PointContext(snr, to_no(snr), channel, None, seed_everything(21), dataset))
            miou[csi] = counters["miou"]
            assert counters["pilot_uses_per_image"] > 0 and counters["cp_covers_delay"]
        # the same channels and noise for all three (paired): estimation error can only hurt, beyond Monte-Carlo
        # noise; at 0 dB it costs 0.1-0.3 (measured)
        assert max(miou["ls"], miou["lmmse"]) <= miou["perfect"] + 0.005, (snr, miou)
        if snr == 0.0:
            assert miou["ls"] < miou["perfect"] - 0.05, miou
