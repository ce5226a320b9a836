"""The inference twin of :class:`~lssc_sim.codecs.channel_layer.AnalogChannel` in NumPy, for simulation sweeps.

The same power normalisation, channel, perfect-CSI equalizer and restoration as the Keras layer (which stays the
reference, and what training runs through), on the fast noise generator and the channels' NumPy gains:

* the tensors' reals are concatenated per image, each tensor scaled by its own RMS so the image's ``n`` complex
  symbols (consecutive reals paired, one zero real padded when the count is odd) have average energy 1;
* with gains (``y = h x + n``, ``h`` from :meth:`Channel.draw_gains`): zero forcing ``y / h`` or MMSE
  ``conj(h) y / (|h|^2 + no)``, then the scales multiplied back;
* without gains the restored real is ``t + s sqrt(no/2) z`` (ZF) or ``(t + s sqrt(no/2) z) / (1 + no)``
  (MMSE), with ``s`` its tensor's scale and ``z`` its standard normal draw, which is the same arithmetic done
  per real without pairing, in one pass per tensor (``tests/codecs/test_analog_numpy.py`` holds the two forms
  equal on identical draws, and both to the Keras layer's statistics).

Channels without a NumPy sampler keep the Keras layer (see :func:`supports`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lssc_sim.channels import Channel
from lssc_sim.channels.fading_numpy import fade_equalize
from lssc_sim.channels.gaussian import add_scaled_noise, standard_normal

EPS_POWER = 1e-12  # added to each tensor's mean square: keeps an all-zero tensor (dead ReLUs) finite


def supports(channel: Channel) -> bool:
    """Whether :func:`transmit` can send over ``channel``: no gains, or gains drawn in NumPy."""
    return not channel.has_gains or channel.has_numpy_gains()


def scales(tensors: Sequence[np.ndarray]) -> np.ndarray:
    """Per-image, per-tensor RMS scale ``[batch, num_tensors]`` (float32) giving unit symbol energy."""
    sizes = [math.prod(t.shape[1:]) for t in tensors]
    reals = sum(sizes)
    target = -(-reals // 2) / reals  # energy per real so that the n symbols carry energy n
    flat = [np.asarray(t, np.float32).reshape(t.shape[0], -1) for t in tensors]
    power = [np.einsum("ij,ij->i", f, f, dtype=np.float64) / f.shape[1] for f in flat]  # no squared copy
    return np.stack([np.sqrt((p + EPS_POWER) / target) for p in power], axis=1).astype(np.float32)


def pack(tensors: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised complex symbols ``[batch, ceil(R / 2)]`` (complex64) and the scales ``[batch, num_tensors]``."""
    s = scales(tensors)
    z = np.concatenate([t.reshape(t.shape[0], -1) / s[:, i : i + 1] for i, t in enumerate(tensors)], axis=1)
    if z.shape[1] % 2:
        z = np.pad(z, [(0, 0), (0, 1)])
    return np.ascontiguousarray(z, np.float32).view(np.complex64), s


def unpack(x: np.ndarray, s: np.ndarray, shapes: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Inverse of :func:`pack`: float32 tensors ``[batch, *shape]`` from symbols and scales."""
    z = np.ascontiguousarray(x, np.complex64).view(np.float32)
    out, at = [], 0
    for i, shape in enumerate(shapes):
        size = math.prod(shape)
        out.append((z[:, at : at + size] * s[:, i : i + 1]).reshape(-1, *shape))
        at += size
    return out


def transmit(
    tensors: Sequence[np.ndarray], channel: Channel, no: float, rng: np.random.Generator, equalizer: str = "zf"
) -> list[np.ndarray]:
    """Send one batch of tensors ``[batch, *shape_i]`` over ``channel`` at noise power ``no``; the restored tensors.

    Parameters
    ----------
    tensors : list of [batch, ...] float32 arrays
        What crosses the cut, as the device half outputs it.
    channel : Channel
        Without gains, or with a NumPy gain sampler (:func:`supports`).
    no : float
        Noise power per complex symbol (``lssc_sim.snr.to_no``).
    rng : numpy.random.Generator
        Draws the gains and the noise.
    equalizer : {"zf", "mmse"}
    """
    shapes = [t.shape[1:] for t in tensors]
    batch = tensors[0].shape[0]
    reals = sum(math.prod(s) for s in shapes)
    sigma = np.float32(math.sqrt(no / 2.0))
    if not channel.has_gains:  # per tensor, in pack order: the same noise per real as the paired form
        s = scales(tensors) * sigma
        out = [add_scaled_noise(t.reshape(batch, -1), s[:, i], rng).reshape(t.shape) for i, t in enumerate(tensors)]
        if equalizer == "mmse":
            out = [r * np.float32(1.0 / (1.0 + no)) for r in out]
        return out
    noise = standard_normal(rng, (batch, reals + reals % 2))
    x, s = pack(tensors)
    x_hat, _ = fade_equalize(x, channel.draw_gains(rng, x.shape), noise, no, mmse=equalizer == "mmse")
    return unpack(x_hat, s, shapes)
