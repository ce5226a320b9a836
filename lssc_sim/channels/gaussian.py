"""Fast, reproducible standard normal float32 samples in numba (replaces ``Generator.standard_normal`` on hot paths).

Algorithm: the ziggurat method of Marsaglia & Tsang (2000), "The Ziggurat Method for Generating Random
Variables", J. Stat. Softw. 5(8), with 256 layers (r = 3.6541528853610088, v = 4.92867323399e-3), the exact
Marsaglia (1964) tail for the base layer and exact wedge rejection, so the output is exactly N(0, 1) up to the
resolution of the position within a layer (2^23 levels) and the final rounding to float32. Uniform bits come
from xoshiro256++ (Blackman & Vigna 2021, "Scrambled Linear Pseudorandom Number Generators", ACM TOMS 47(4));
one 64-bit output feeds two samples (8 bits layer, 24 bits signed position each), the rare tail and wedge steps
draw further words from the same stream.

Reproducibility: each call draws one 64-bit seed from the NumPy generator. The flattened output is cut into
chunks of ``CHUNK`` samples; chunk ``c`` gets its own xoshiro256++ state from splitmix64 (Steele, Lea & Flood
2014) of ``(seed, c)``, so chunks are filled in parallel (``numba.prange``) and the values depend only on the
generator's state and the element index, never on the number of threads.
"""

from __future__ import annotations

import math
import operator

import numba
import numpy as np

__all__ = [
    "CHUNK",
    "LAYERS",
    "add_awgn",
    "complex_normal",
    "standard_normal",
    "standard_normal_keyed",
    "add_scaled_noise",
]

CHUNK = 65536  # samples per independent stream; even, so the two halves of a 64-bit word never straddle chunks
LAYERS = 256
R = 3.6541528853610088  # start of the tail (right edge of the base rectangle)
V = 4.92867323399e-3  # area of every layer (base layer: rectangle [0, r] x [0, f(r)] plus the tail)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer edges ``x`` (``LAYERS + 1``), heights ``f(x) = exp(-x^2 / 2)`` and position scale ``w``, all float64.

    Layer ``i`` is the rectangle ``[0, x[i]] x [f(x[i]), f(x[i+1])]`` of area ``v``; layer 0 is the base strip
    ``[0, r] x [0, f(r)]`` with the tail folded in (width ``v / f(r)``), ``x[1] = r`` and ``x[LAYERS] = 0``.
    """
    x = np.empty(LAYERS + 1)
    x[0], x[1] = V / math.exp(-0.5 * R * R), R
    for i in range(1, LAYERS - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(math.exp(-0.5 * x[i] ** 2) + V / x[i]))
    # The recurrence reaches 0 only to the precision of (r, v); the top layer's area is v to ~1e-9 relative.
    x[LAYERS] = 0.0
    return x, np.exp(-0.5 * x * x), x[:LAYERS] * 2.0**-23


_X, _F, _W = _tables()

# numba promotes uint64 mixed with a Python int to float64, so every constant in the bit arithmetic is uint64.
_U = np.uint64
_S8, _S11, _S17, _S19, _S23, _S27, _S30, _S31, _S32, _S41, _S45 = map(_U, (8, 11, 17, 19, 23, 27, 30, 31, 32, 41, 45))
_GOLDEN = _U(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = _U(0xBF58476D1CE4E5B9), _U(0x94D049BB133111EB)
_LOW8, _LOW23, _LOW32 = _U(0xFF), _U(0x7FFFFF), _U(0xFFFFFFFF)
_INV53 = 2.0**-53


@numba.njit(cache=True, nogil=True)
def _mix(z):
    """splitmix64 finaliser: a bijective 64-bit avalanche."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(cache=True, nogil=True)
def _next(s0, s1, s2, s3):
    """One xoshiro256++ step: (output, new state)."""
    t = s0 + s3
    out = ((t << _S23) | (t >> _S41)) + s0
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _S45) | (s3 >> _S19)
    return out, s0, s1, s2, s3


@numba.njit(cache=True, nogil=True)
def _slow(i, x, s0, s1, s2, s3):
    """|x| in layer ``i`` failed the rectangle test: exact tail or wedge test, fresh words until accepted."""
    while True:
        if i == 0:
            if x < R:
                return x, s0, s1, s2, s3
            # Marsaglia's tail: x = r + a with a ~ Exp(r), kept with probability exp(-a^2 / 2).
            while True:
                u1, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                u2, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                a = -math.log(((u1 >> _S11) + _U(1)) * _INV53) / R  # uniforms in (0, 1]: log never sees 0
                b = -math.log(((u2 >> _S11) + _U(1)) * _INV53)
                if 2.0 * b > a * a:
                    return R + a, s0, s1, s2, s3
        if x < _X[i + 1]:
            return x, s0, s1, s2, s3
        u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        y = _F[i] + (u >> _S11) * _INV53 * (_F[i + 1] - _F[i])  # uniform height within the layer
        if y < math.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3
        u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)  # rejected: new layer and position; the sign is kept
        i = numba.int64(u & _LOW8)
        x = (numba.int64((u >> _S8) & _LOW23) + 0.5) * _W[i]


@numba.njit(cache=True, nogil=True)
def _sample(h, s0, s1, s2, s3):
    """N(0, 1) (float64) from a 32-bit word: bits 0-7 pick the layer, bits 8-31 a signed position."""
    i = numba.int64(h & _LOW8)
    # Sign-extend bits 8-31; the half offset makes the 2^24 positions symmetric about 0, so no separate sign bit.
    x = ((((numba.int64(h) ^ 0x80000000) - 0x80000000) >> 8) + 0.5) * _W[i]
    if abs(x) >= _X[i + 1]:  # ~1 % of words: outside the layer's inner rectangle
        a, s0, s1, s2, s3 = _slow(i, abs(x), s0, s1, s2, s3)
        x = math.copysign(a, x)
    return x, s0, s1, s2, s3


@numba.njit(cache=True, nogil=True)
def _start(seed, index):
    """xoshiro state of stream ``(seed, index)``: four splitmix64 outputs from a start keyed by both, as Vigna
    recommends."""
    z = _mix(seed ^ _mix(index * _GOLDEN + _U(1)))
    s0, s1 = _mix(z + _GOLDEN), _mix(z + _U(2) * _GOLDEN)
    s2, s3 = _mix(z + _U(3) * _GOLDEN), _mix(z + _U(4) * _GOLDEN)
    if (s0 | s1 | s2 | s3) == _U(0):  # the all-zero state is a fixed point of xoshiro
        s0 = _GOLDEN
    return s0, s1, s2, s3


@numba.njit(cache=True, nogil=True, parallel=True)
def _fill_keyed(out, seeds, indices):
    """Row ``r`` of ``out`` ``[R, C]`` (C even) from stream ``(seeds[r], indices[r])``; rows in parallel."""
    for r in numba.prange(out.shape[0]):
        s0, s1, s2, s3 = _start(seeds[r], indices[r])
        o = out[r]
        for p in range(out.shape[1] // 2):
            u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            x, s0, s1, s2, s3 = _sample(u & _LOW32, s0, s1, s2, s3)
            y, s0, s1, s2, s3 = _sample(u >> _S32, s0, s1, s2, s3)
            o[2 * p] = np.float32(x)
            o[2 * p + 1] = np.float32(y)


@numba.njit(cache=True, nogil=True, parallel=True)
def _fill(out, base, seed, scale, add):
    """Flat float32 ``out[k] = scale * z_k``, or ``base[k] + scale * z_k`` when ``add``; one stream per chunk."""
    n = out.size
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        s0, s1, s2, s3 = _start(seed, _U(c))
        start = c * CHUNK
        m = min(start + CHUNK, n) - start
        o = out[start : start + m]
        b = base[start : start + m] if add else base
        for p in range(m // 2):  # one 64-bit word per pair of samples
            u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            x, s0, s1, s2, s3 = _sample(u & _LOW32, s0, s1, s2, s3)
            y, s0, s1, s2, s3 = _sample(u >> _S32, s0, s1, s2, s3)
            if add:
                o[2 * p] = np.float32(b[2 * p] + scale * x)
                o[2 * p + 1] = np.float32(b[2 * p + 1] + scale * y)
            else:
                o[2 * p] = np.float32(scale * x)
                o[2 * p + 1] = np.float32(scale * y)
        if m % 2:
            u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            x, s0, s1, s2, s3 = _sample(u & _LOW32, s0, s1, s2, s3)
            o[m - 1] = np.float32(b[m - 1] + scale * x) if add else np.float32(scale * x)


@numba.njit(cache=True, nogil=True, parallel=True)
def _fill_rows(out, base, seed, scales, cols):
    """Flat float32 ``out[k] = base[k] + scales[k // cols] * z_k``, the ``z`` of :func:`_fill` (same streams)."""
    n = out.size
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        s0, s1, s2, s3 = _start(seed, _U(c))
        start = c * CHUNK
        m = min(start + CHUNK, n) - start
        row = start // cols
        edge = (row + 1) * cols - start  # first index of the chunk in the next row
        for p in range(m // 2):
            u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            x, s0, s1, s2, s3 = _sample(u & _LOW32, s0, s1, s2, s3)
            y, s0, s1, s2, s3 = _sample(u >> _S32, s0, s1, s2, s3)
            i = 2 * p
            if i == edge:
                row += 1
                edge += cols
            out[start + i] = np.float32(base[start + i] + scales[row] * x)
            if i + 1 == edge:
                row += 1
                edge += cols
            out[start + i + 1] = np.float32(base[start + i + 1] + scales[row] * y)
        if m % 2:
            u, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            x, s0, s1, s2, s3 = _sample(u & _LOW32, s0, s1, s2, s3)
            if m - 1 == edge:
                row += 1
            out[start + m - 1] = np.float32(base[start + m - 1] + scales[row] * x)


_EMPTY = np.empty(0, np.float32)


def _output(shape: int | tuple[int, ...], out: np.ndarray | None, dtype: type) -> np.ndarray:
    """``out`` checked against ``shape`` and ``dtype``, or a new C-contiguous array."""
    try:
        dims = tuple(operator.index(d) for d in ((shape,) if isinstance(shape, int | np.integer) else shape))
    except TypeError:
        raise ValueError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"shape must be non-negative, got {dims}")
    if out is None:
        return np.empty(dims, dtype)
    if not isinstance(out, np.ndarray) or out.dtype != dtype or out.shape != dims:
        found = f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"out must be a {np.dtype(dtype)} array of shape {dims}, got {found}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writeable")
    return out


def _seed(rng: np.random.Generator) -> np.uint64:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return np.uint64(rng.integers(2**64, dtype=np.uint64))  # one draw per call, whatever the size


def standard_normal(
    rng: np.random.Generator, shape: int | tuple[int, ...], out: np.ndarray | None = None
) -> np.ndarray:
    """I.i.d. N(0, 1) samples, filled in parallel; the same ``rng`` state gives the same array on any thread count.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the per-call seed; advanced by exactly one 64-bit draw per call, whatever the size.
    shape : int or tuple of int
        Output shape (non-negative).
    out : numpy.ndarray, optional
        C-contiguous writeable float32 array of shape ``shape``, filled in place.

    Returns
    -------
    numpy.ndarray
        float32, shape ``shape``, C-contiguous (``out`` if given).
    """
    out = _output(shape, out, np.float32)
    seed = _seed(rng)
    _fill(out.reshape(-1), _EMPTY, seed, 1.0, False)
    return out


def standard_normal_keyed(seeds: np.ndarray, indices: np.ndarray, cols: int) -> np.ndarray:
    """N(0, 1) float32 ``[R, cols]`` whose row ``r`` is the stream keyed by ``(seeds[r], indices[r])``.

    For draws that must not depend on what else is drawn with them: the noise of code block ``j`` of image ``i``
    keyed by (the image's seed, ``j``) is the same whether or not the blocks around it are sent (early stopping).
    One parallel call for all rows, however few samples each holds.

    Parameters
    ----------
    seeds, indices : [R], uint64
        The key of each row.
    cols : int
        Samples per row, even.
    """
    seeds = np.ascontiguousarray(seeds, np.uint64)
    indices = np.ascontiguousarray(indices, np.uint64)
    if seeds.ndim != 1 or seeds.shape != indices.shape:
        raise ValueError(f"seeds and indices must be 1-D of equal length, got {seeds.shape} and {indices.shape}")
    if cols < 0 or cols % 2:
        raise ValueError(f"cols must be even and non-negative, got {cols}")
    out = np.empty((seeds.size, cols), np.float32)
    _fill_keyed(out, seeds, indices)
    return out


def add_scaled_noise(base: np.ndarray, scales: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``base + scales[:, None] * z`` in one pass, float32 ``[R, C]``, with ``z`` exactly
    ``standard_normal(rng, (R, C))`` (the same draw from ``rng``, the same streams).

    Parameters
    ----------
    base : [R, C], float32
    scales : [R], float32
        One noise standard deviation per row.
    rng : numpy.random.Generator
    """
    base = np.ascontiguousarray(base, np.float32)
    scales = np.ascontiguousarray(scales, np.float32)
    if base.ndim != 2 or scales.shape != (base.shape[0],):
        raise ValueError(f"expected base [R, C] and scales [R]; found {base.shape} and {scales.shape}")
    out = np.empty_like(base)
    seed = _seed(rng)
    if base.size:
        _fill_rows(out.reshape(-1), base.reshape(-1), seed, scales, base.shape[1])
    return out


def complex_normal(rng: np.random.Generator, shape: int | tuple[int, ...], out: np.ndarray | None = None) -> np.ndarray:
    """I.i.d. CN(0, 1) samples: real and imaginary parts independent N(0, 1/2) (same kernel, float32 view).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the per-call seed; advanced by exactly one 64-bit draw per call.
    shape : int or tuple of int
        Output shape (non-negative).
    out : numpy.ndarray, optional
        C-contiguous writeable complex64 array of shape ``shape``, filled in place.

    Returns
    -------
    numpy.ndarray
        complex64, shape ``shape``, C-contiguous (``out`` if given).
    """
    out = _output(shape, out, np.complex64)
    seed = _seed(rng)
    _fill(out.reshape(-1).view(np.float32), _EMPTY, seed, math.sqrt(0.5), False)
    return out


def add_awgn(x: np.ndarray, no: float, rng: np.random.Generator) -> np.ndarray:
    """``x + sqrt(no) * n`` with ``n ~ CN(0, 1)``, generated and added in one pass (no noise array).

    Parameters
    ----------
    x : numpy.ndarray
        complex64 array of any shape.
    no : float
        Noise variance per complex sample (``no / 2`` per real dimension), finite and >= 0.
    rng : numpy.random.Generator
        Source of the per-call seed; the noise equals ``sqrt(no) * complex_normal(rng, x.shape)`` up to rounding.

    Returns
    -------
    numpy.ndarray
        New complex64 array, shape ``x.shape``.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.complex64:
        found = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be a complex64 numpy array, got {found}")
    try:
        variance = float(no) if np.ndim(no) == 0 and not np.iscomplexobj(no) else math.nan
    except (TypeError, ValueError):
        variance = math.nan
    if not (math.isfinite(variance) and variance >= 0):
        raise ValueError(f"no must be a finite real scalar >= 0, got {no!r}")
    seed = _seed(rng)
    base = np.ascontiguousarray(x).reshape(-1).view(np.float32)
    out = np.empty(x.shape, np.complex64)
    _fill(out.reshape(-1).view(np.float32), base, seed, math.sqrt(0.5 * variance), True)
    return out
