"""A flat-fading channel and its perfect-CSI equalizer in numba: the fast path of channels that draw their gains
in NumPy (``Channel.draw_gains``), for the digital links and the semantic system. ``Channel.__call__`` with
:func:`lssc_sim.channels.equalize` is the reference it is tested against (``tests/digital/test_link.py``)."""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from lssc_sim.channels.base import EPS_GAIN2


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _fade_equalize(x, h, noise, sigma, no, mmse, x_hat, no_eff):
    per_symbol = h.shape[1] > 1  # else one gain per row
    for b in prange(x.shape[0]):
        for s in range(x.shape[1]):
            g = h[b, s] if per_symbol else h[b, 0]
            y = g * x[b, s] + sigma * (noise[b, 2 * s] + 1j * noise[b, 2 * s + 1])
            gain2 = max(g.real * g.real + g.imag * g.imag, EPS_GAIN2)
            x_hat[b, s] = y * np.conj(g) / ((g.real * g.real + g.imag * g.imag + no) if mmse else gain2)
            no_eff[b, s] = no / gain2


def fade_equalize(
    x: np.ndarray, h: np.ndarray, noise: np.ndarray, no: float, mmse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A flat-fading channel and its perfect-CSI equalizer in one pass.

    ``y = h x + sqrt(no/2) (n_re + j n_im)``, then zero forcing ``x_hat = y conj(h) / |h|^2`` (``|h|^2`` floored
    at 1e-12, as ``Channel.__call__`` followed by :func:`lssc_sim.channels.equalize`) or, with ``mmse``, the
    per-symbol MMSE estimate ``y conj(h) / (|h|^2 + no)``; ``no_eff = no / |h|^2`` (the ZF effective noise).

    Parameters
    ----------
    x : [B, S], complex64
        Unit-energy symbols.
    h : [B, S] or [B, 1] (or broadcastable), complex64
        Channel gains, per symbol or one per row.
    noise : [B, 2 S], float32
        Standard normal draws, real and imaginary parts interleaved.
    no : float
        Noise power per complex symbol.
    mmse : bool, default False
        MMSE instead of zero forcing.

    Returns
    -------
    x_hat : [B, S], complex64
    no_eff : [B, S], float32
    """
    x = np.ascontiguousarray(x, np.complex64)
    h = np.asarray(h, np.complex64)
    rows = np.broadcast_to(h, (x.shape[0], h.shape[-1] if h.ndim else 1))
    h = np.ascontiguousarray(rows if rows.shape[1] == 1 else np.broadcast_to(h, x.shape))
    x_hat, no_eff = np.empty_like(x), np.empty(x.shape, np.float32)
    sigma = np.float32(np.sqrt(no / 2.0))
    _fade_equalize(x, h, np.ascontiguousarray(noise, np.float32), sigma, np.float32(no), mmse, x_hat, no_eff)
    return x_hat, no_eff
