"""Channels are found by name, from this package or through the ``lssc_sim.channels`` entry-point group;
the worked example ``phase_noise`` behaves like Wiener phase noise."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tensorflow as tf

import lssc_sim.registry
from lssc_sim.channels import CHANNELS, Channel, make_channel
from lssc_sim.channels.phase_noise import PhaseNoise
from lssc_sim.registry import Registry


class _Plugin(Channel):
    """A channel another package would ship: a constant attenuation."""

    name = "attenuation"

    def gains(self, shape):
        return 0.5 * tf.ones(tf.concat([shape[:-1], [1]], axis=0), tf.complex64)


class _FakeEntryPoint:
    def __init__(self, name: str, value: str, target):
        self.name, self.value, self._target = name, value, target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_builtin_channels_are_registered():
    assert {"awgn", "rayleigh", "rician", "phase_noise"} <= set(CHANNELS.names())
    for name in CHANNELS.names():
        assert CHANNELS.get(name).name == name  # the class attribute matches the registry key


def test_entry_point_plugin_is_discovered(monkeypatch):
    calls = []

    def fake_entry_points(group):
        calls.append(group)
        return [_FakeEntryPoint("attenuation", "other_pkg.channels:Attenuation", _Plugin)]

    monkeypatch.setattr(lssc_sim.registry, "entry_points", fake_entry_points)
    registry = Registry("channel", "lssc_sim.channels")
    assert "attenuation" in registry
    assert registry.get("attenuation") is _Plugin
    assert calls == ["lssc_sim.channels"]
    y, h = registry.get("attenuation")()(tf.ones([2, 3], tf.complex64), 0.0)
    np.testing.assert_allclose(y.numpy(), 0.5)


def test_broken_plugin_is_skipped_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(
        lssc_sim.registry,
        "entry_points",
        lambda group: [_FakeEntryPoint("broken", "bad_pkg:Nope", ImportError("no module bad_pkg"))],
    )
    registry = Registry("channel", "lssc_sim.channels")
    registry.add("awgn", object)
    with caplog.at_level(logging.WARNING, logger="lssc_sim.registry"):
        assert registry.names() == ["awgn"]
    assert "broken" in caplog.text and "bad_pkg" in caplog.text
    with pytest.raises(KeyError, match="unknown channel 'broken'; known: awgn"):
        registry.get("broken")


def test_plugin_with_a_built_in_name_is_refused_with_a_warning_naming_both(monkeypatch, caplog):
    monkeypatch.setattr(
        lssc_sim.registry, "entry_points", lambda group: [_FakeEntryPoint("awgn", "other_pkg.channels:Awgn", _Plugin)]
    )
    registry = Registry("channel", "lssc_sim.channels")
    builtin = object()
    registry.add("awgn", builtin)
    with caplog.at_level(logging.WARNING, logger="lssc_sim.registry"):
        assert registry.get("awgn") is builtin
    assert "'awgn'" in caplog.text and "other_pkg.channels:Awgn" in caplog.text and "built-in" in caplog.text


def test_phase_noise_variance_grows_linearly_along_the_frame():
    sigma = 0.01  # rad per symbol; the phase stays well inside (-pi, pi] over 200 symbols
    channel = PhaseNoise(linewidth_symbol=sigma)
    batch, n = 20_000, 200
    y, h = channel(tf.ones([batch, n], tf.complex64), 0.0)
    np.testing.assert_allclose(np.abs(h.numpy()), 1.0, rtol=1e-6)  # pure phase rotation: the SNR is unchanged
    phi = np.angle(h.numpy())
    var = np.mean(phi**2, axis=0)  # zero-mean random walk
    t = np.arange(1, n + 1)
    for i in (0, 9, 49, 199):  # Var(phi[t]) = (t + 1) sigma^2
        assert var[i] == pytest.approx(t[i] * sigma**2, rel=0.05)
    slope, intercept = np.polyfit(t, var, 1)
    assert slope == pytest.approx(sigma**2, rel=0.03)
    assert abs(intercept) < 0.05 * var[-1]
    increments = np.diff(phi, axis=1)
    rho = np.mean(increments[:, :-1] * increments[:, 1:]) / np.mean(increments**2)
    assert abs(rho) < 6 / np.sqrt(increments.size)  # a Wiener process has independent increments


def test_phase_noise_zero_linewidth_is_awgn():
    y, h = make_channel({"name": "phase_noise", "linewidth_symbol": 0.0})(tf.ones([2, 50], tf.complex64), 0.0)
    np.testing.assert_array_equal(h.numpy(), np.ones((2, 50)))


def test_a_plugin_that_is_not_of_the_registrys_kind_is_refused_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(
        lssc_sim.registry, "entry_points", lambda group: [_FakeEntryPoint("stray", "other_pkg:stray", lambda ctx: {})]
    )
    registry = Registry("system", "lssc_sim.systems", base=_Plugin)
    with caplog.at_level(logging.WARNING, logger="lssc_sim.registry"):
        assert "stray" not in registry
    assert "other_pkg:stray" in caplog.text and "is not a subclass of" in caplog.text
