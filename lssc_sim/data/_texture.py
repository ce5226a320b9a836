"""Shared drawing kit of the procedural datasets: noise, signed distances, compositing and a camera model.

Geometry lives in normalised image coordinates (x right, y down, both in [0, 1]) so a scene drawn at 64 or
512 pixels is the same scene; only anti-aliasing, pixel-scale grain and sensor noise depend on the size.
Everything is vectorised numpy on float32 [S, S] or [S, S, 3] arrays with values in [0, 1].
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

Array = np.ndarray


# ----------------------------------------------------------------------------------------------- grids


@lru_cache(maxsize=16)
def grid(size: int) -> tuple[Array, Array]:
    """Pixel-centre coordinates ``(x, y)``, each float32 [S, S] in (0, 1); cached read-only arrays."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(c, c, indexing="ij")
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


@lru_cache(maxsize=128)
def _cubic_weights(cells: int, size: int) -> Array:
    """float32 [size, cells + 3]: Catmull-Rom weights sampling knots -1 .. cells+1 at pixel centres."""
    u = (np.arange(size) + 0.5) / size * cells
    i = np.floor(u).astype(int)
    t = u - i
    w = np.stack(
        [
            (-(t**3) + 2 * t**2 - t) / 2,
            (3 * t**3 - 5 * t**2 + 2) / 2,
            (-3 * t**3 + 4 * t**2 + t) / 2,
            (t**3 - t**2) / 2,
        ],
        axis=1,
    )
    m = np.zeros((size, cells + 3), np.float32)
    rows = np.arange(size)
    for k in range(4):
        m[rows, i + k] += w[:, k]
    m.flags.writeable = False
    return m


Box = tuple[slice, slice]
FULL: Box = (slice(None), slice(None))


def value_noise(
    rng: np.random.Generator,
    size: int,
    cells: int | tuple[int, int],
    channels: int = 0,
    box: Box = FULL,
) -> Array:
    """Smooth random field with feature size ``1 / cells`` of the image.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the knot values.
    size : int
        Image side ``S`` in pixels.
    cells : int or (cells_y, cells_x)
        Knots per image side; a pair gives anisotropic noise (hair strands, wood grain).
    channels : int
        0 for a single field, else that many independent channels on a last axis.
    box : (slice, slice)
        Window of the image to evaluate (rows, cols); the field is the same as the full one, cropped.

    Returns
    -------
    float32 [h, w] or [h, w, channels], about zero mean and 0.6 standard deviation.
    """
    cy, cx = (cells, cells) if isinstance(cells, int) else cells
    knots = rng.standard_normal((max(channels, 1), cy + 3, cx + 3), dtype=np.float32)
    out = _cubic_weights(cy, size)[box[0]] @ knots @ _cubic_weights(cx, size)[box[1]].T
    return np.moveaxis(out, 0, -1) if channels else out[0]


def fractal_noise(
    rng: np.random.Generator,
    size: int,
    cells: int,
    octaves: int,
    gain: float = 0.5,
    channels: int = 0,
    stretch: float = 1.0,
    box: Box = FULL,
) -> Array:
    """Sum of ``octaves`` value-noise layers, each with twice the cells and ``gain`` times the amplitude.

    Layers finer than two pixels are skipped (they would alias); each layer draws from its own child seed,
    so the coarse structure of a texture is identical at every image size. ``stretch`` > 1 elongates
    features vertically. ``box`` crops as in :func:`value_noise`.
    """
    seeds = rng.integers(0, 2**63, size=octaves)
    rows = len(range(size)[box[0]])
    cols = len(range(size)[box[1]])
    out = np.zeros((rows, cols, channels) if channels else (rows, cols), np.float32)
    amp = 1.0
    for k in range(octaves):
        c = int(cells * 2**k)
        if c > size // 2:
            break
        cy = max(1, int(round(c / stretch)))
        out += value_noise(np.random.default_rng(seeds[k]), size, (cy, c), channels, box) * amp
        amp *= gain
    return out


def window(size: int, x0: float, x1: float, y0: float, y1: float) -> Box:
    """Pixel slices (rows, cols) covering the normalised box [x0, x1] x [y0, y1], clipped to the image.

    Drawing a small part inside its window instead of the whole image keeps generation fast; an empty
    window is fine (numpy handles zero-sized arrays), so random draws never depend on visibility.
    """

    def pixel(t: float) -> int:  # plain Python: this runs for every part of every image
        return min(max(math.floor(float(t) * size), 0), size)

    r0, r1 = pixel(y0), pixel(y1 + 1.0 / size)
    c0, c1 = pixel(x0), pixel(x1 + 1.0 / size)
    return slice(r0, max(r0, r1)), slice(c0, max(c0, c1))


def within(outer: Box, inner: Box) -> Box:
    """``inner`` (absolute slices) expressed relative to ``outer`` and clipped to it."""
    out = []
    for o, i in zip(outer, inner, strict=True):
        start = min(max(i.start, o.start), o.stop)
        stop = max(min(i.stop, o.stop), start)
        out.append(slice(start - o.start, stop - o.start))
    return out[0], out[1]


def absolute(outer: Box, inner: Box) -> Box:
    """Inverse of :func:`within`: ``inner`` (relative to ``outer``) as absolute slices."""
    return tuple(slice(o.start + i.start, o.start + i.stop) for o, i in zip(outer, inner, strict=True))


# -------------------------------------------------------------------------------------- signed distances


def rotate(x: Array, y: Array, cx: float, cy: float, angle: float) -> tuple[Array, Array]:
    """Coordinates relative to ``(cx, cy)`` in a frame rotated by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = x - cx, y - cy
    return c * dx + s * dy, -s * dx + c * dy


def sd_ellipse(u: Array, v: Array, a: float, b: float) -> Array:
    """Approximate signed distance to an axis-aligned ellipse with semi-axes ``a``, ``b`` (first order)."""
    f = np.sqrt((u / a) ** 2 + (v / b) ** 2) + 1e-9
    grad = np.sqrt((u / a**2) ** 2 + (v / b**2) ** 2) / f + 1e-9
    return (f - 1.0) / grad


def sd_capsule(x: Array, y: Array, p0: tuple[float, float], p1: tuple[float, float], r0: float, r1: float):
    """Signed distance to a segment ``p0``-``p1`` swept by a radius tapering from ``r0`` to ``r1``.

    Returns
    -------
    d : float32 [S, S]
        Signed distance.
    t : float32 [S, S]
        Position along the segment in [0, 1].
    side : float32 [S, S]
        Signed offset from the axis divided by the local radius (-1 .. 1 inside), for cylinder shading.
    """
    ax, ay = p1[0] - p0[0], p1[1] - p0[1]
    length2 = ax * ax + ay * ay + 1e-12
    px, py = x - p0[0], y - p0[1]
    t = np.clip((px * ax + py * ay) / length2, 0.0, 1.0)
    ex, ey = px - t * ax, py - t * ay
    r = r0 + (r1 - r0) * t
    dist = np.sqrt(ex * ex + ey * ey)
    side = (ex * -ay + ey * ax) / np.sqrt(length2) / r
    return dist - r, t, side


def sd_box(u: Array, v: Array, hw: float, hh: float, radius: float = 0.0) -> Array:
    """Signed distance to a box of half sizes ``hw``, ``hh`` with corners rounded by ``radius``."""
    qx = np.abs(u) - (hw - radius)
    qy = np.abs(v) - (hh - radius)
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0) - radius


def sd_polygon(x: Array, y: Array, pts: Array) -> Array:
    """Signed distance to a simple polygon with vertices ``pts`` [N, 2] (negative inside, even-odd rule)."""
    p0 = np.asarray(pts, np.float32)
    e = np.concatenate([p0[1:], p0[:1]]) - p0
    if x.size > 2048:  # large windows: one edge at a time keeps the arrays in cache
        d2 = np.full(x.shape, np.inf, np.float32)
        inside = np.zeros(x.shape, bool)
        for (x0, y0), (ex, ey) in zip(p0, e, strict=True):
            wx, wy = x - x0, y - y0
            t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey + 1e-12), 0.0, 1.0)
            np.minimum(d2, (wx - t * ex) ** 2 + (wy - t * ey) ** 2, out=d2)
            inside ^= ((y0 <= y) != (y0 + ey <= y)) & (x < x0 + wy * ex / (ey if ey != 0 else 1e-12))
        d = np.sqrt(d2)
        return np.where(inside, -d, d)
    # small windows: all edges at once on a [N, h, w] stack, one numpy call per step
    x0, y0 = p0[:, 0, None, None], p0[:, 1, None, None]
    ex, ey = e[:, 0, None, None], e[:, 1, None, None]
    wx, wy = x - x0, y - y0
    t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey + 1e-12), 0.0, 1.0)
    d = np.sqrt(((wx - t * ex) ** 2 + (wy - t * ey) ** 2).min(axis=0))
    crosses = (y0 <= y) != (y0 + ey <= y)
    inside = (crosses & (x < x0 + wy * ex / np.where(ey == 0, 1e-12, ey))).sum(axis=0) % 2 == 1
    return np.where(inside, -d, d)


def sd_convex(x: Array, y: Array, pts: Array) -> Array:
    """Signed distance (exact inside, a lower bound near outside corners) to a convex polygon ``pts`` [N, 2]
    in counter-clockwise order (y down): the largest signed distance to its edge lines."""
    p0 = np.asarray(pts, np.float32)
    e = np.concatenate([p0[1:], p0[:1]]) - p0
    n = np.stack([e[:, 1], -e[:, 0]], axis=1) / (np.sqrt((e * e).sum(axis=1, keepdims=True)) + 1e-12)
    c = (n * p0).sum(axis=1)
    return (n[:, 0, None, None] * x + n[:, 1, None, None] * y - c[:, None, None]).max(axis=0)


def smooth_union(d0: Array, d1: Array, k: float) -> Array:
    """Union of two shapes with a fillet of size ``k`` where they meet (polynomial smooth minimum)."""
    h = np.clip(0.5 + 0.5 * (d1 - d0) / k, 0.0, 1.0)
    return d1 + (d0 - d1) * h - k * h * (1.0 - h)


def coverage(d: Array, size: int, soft: float = 1.0) -> Array:
    """Anti-aliased coverage in [0, 1] of the shape ``d < 0``; ``soft`` widens the edge (in pixels)."""
    return np.clip(0.5 - d * (size / soft), 0.0, 1.0)


# ------------------------------------------------------------------------------------------ compositing


def over(canvas: Array, colour: Array | float, alpha: Array) -> None:
    """Paint ``colour`` ([S, S, 3], [3] or scalar) with coverage ``alpha`` [S, S] onto ``canvas`` in place.

    Only the bounding box of the covered pixels is touched: most parts (eyes, windows, poles) are small.
    """
    colour = np.asarray(colour, np.float32)
    if alpha.size <= 4096:  # small windows: finding the box would cost more than it saves
        canvas += alpha[..., None] * (colour - canvas)
        return
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(alpha.any(axis=0))
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    if colour.ndim == 3:
        colour = colour[box]
    sub = canvas[box]
    sub += alpha[box][..., None] * (colour - sub)


def jitter(rng: np.random.Generator, rgb, amount: float) -> Array:
    """An RGB colour (0..1) moved by up to ``amount`` in brightness and a third of that in hue."""
    r = rng.uniform(-1.0, 1.0, 4)
    out = np.asarray(rgb, np.float32) * (1.0 + amount * r[0]) * (1.0 + amount / 3 * r[1:])
    return np.minimum(np.maximum(out, 0.0), 1.0).astype(np.float32)


def blur(img: Array, sigma_px: float) -> Array:
    """Gaussian blur over the two spatial axes (sigma in pixels); a new array."""
    if sigma_px < 0.25:
        return img
    sig = (sigma_px, sigma_px) + (0,) * (img.ndim - 2)
    from scipy import ndimage  # here, not at import: scenario validation imports the datasets

    return ndimage.gaussian_filter(img, sig, mode="nearest", truncate=3.0)


# --------------------------------------------------------------------------------------------- camera


def camera(
    img: Array,
    layout_rng: np.random.Generator,
    pixel_rng: np.random.Generator,
    grain: float = 1.0,
) -> Array:
    """Turn a rendered scene into a photograph-like uint8 image.

    Applies, in order: a smooth lighting gradient and vignette, a white-balance cast, lens blur, shot and
    read noise (mostly in luma, as after demosaicing), a tone curve and 8-bit quantisation.

    Parameters
    ----------
    img : float32 [S, S, 3]
        Scene radiance in [0, 1] (modified in place).
    layout_rng : numpy.random.Generator
        Draws the size-independent camera settings.
    pixel_rng : numpy.random.Generator
        Draws the per-pixel noise.
    grain : float
        Scales the sensor noise (1 = a phone camera in indoor light).

    Returns
    -------
    uint8 [S, S, 3]
    """
    size = img.shape[0]
    x, y = grid(size)
    angle = layout_rng.uniform(0, 2 * np.pi)
    ramp = (x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle)
    light = 1.0 + layout_rng.uniform(0.0, 0.45) * ramp
    light -= layout_rng.uniform(0.0, 0.35) * ((x - 0.5) ** 2 + (y - 0.5) ** 2)  # vignette
    img *= light[..., None] * layout_rng.uniform(0.85, 1.15)
    img *= 1.0 + layout_rng.uniform(-0.07, 0.07, 3).astype(np.float32)  # white balance
    img = blur(img, layout_rng.uniform(0.35, 0.75))

    noise_level = grain * layout_rng.uniform(0.8, 1.25)
    luma_noise = pixel_rng.standard_normal(img.shape[:2], dtype=np.float32)
    # chroma noise is coarser than luma noise after demosaicing: draw it on a 2x2 grid
    half = (size + 1) // 2
    chroma_noise = pixel_rng.standard_normal((half, half, 3), dtype=np.float32)
    chroma_noise = chroma_noise.repeat(2, axis=0).repeat(2, axis=1)[:size, :size]
    shot = np.sqrt(np.clip(img, 0.0, 1.0) + 0.02)  # photon noise grows with the square root of the signal
    sigma = noise_level * (3.2 / 255) * shot
    img += sigma * (luma_noise[..., None] + 0.45 * chroma_noise)

    # tone curve through a 12-bit lookup table: a power law per pixel would cost more than all the noise
    levels = np.clip(img * 4095.0 + 0.5, 0.0, 4095.0).astype(np.int16)
    return _tone_table(round(float(layout_rng.uniform(0.9, 1.1)), 3))[levels]


@lru_cache(maxsize=512)
def _tone_table(gamma: float) -> Array:
    """uint8 [4096]: 12-bit linear level -> 8-bit value after the power-law tone curve ``gamma``."""
    t = np.round((np.arange(4096) / 4095.0) ** gamma * 255.0).astype(np.uint8)
    t.flags.writeable = False
    return t


# -------------------------------------------------------------------------------------------- colours


def hsv(h: float, s: float, v: float) -> Array:
    """RGB float32 [3] of a hue (turns), saturation and value in [0, 1]."""
    h6 = (h % 1.0) * 6.0
    c = v * s
    xx = c * (1 - abs(h6 % 2 - 1))
    r, g, b = [(c, xx, 0), (xx, c, 0), (0, c, xx), (0, xx, c), (xx, 0, c), (c, 0, xx)][int(h6) % 6]
    m = v - c
    return np.array([r + m, g + m, b + m], np.float32)


def random_colour(rng: np.random.Generator, saturation: float = 0.35, value: tuple[float, float] = (0.15, 0.95)):
    """A colour as found on everyday objects: any hue, mostly muted, sometimes vivid."""
    s = min(1.0, rng.beta(1.3, 1.3 / saturation - 1.3))
    return hsv(rng.uniform(), s, rng.uniform(*value))


SKIN_TONES = np.array(
    [[0.96, 0.83, 0.74], [0.91, 0.73, 0.61], [0.80, 0.59, 0.46], [0.67, 0.47, 0.33], [0.49, 0.32, 0.21],
     [0.32, 0.20, 0.13]],
    np.float32,
)  # fmt: skip
HAIR_COLOURS = np.array(
    [[0.05, 0.04, 0.04], [0.15, 0.09, 0.06], [0.30, 0.19, 0.11], [0.48, 0.34, 0.20], [0.78, 0.64, 0.40],
     [0.52, 0.21, 0.10], [0.62, 0.61, 0.60]],
    np.float32,
)  # fmt: skip
HAIR_WEIGHTS = np.array([0.28, 0.25, 0.17, 0.1, 0.09, 0.05, 0.06])


def skin_tone(rng: np.random.Generator) -> Array:
    """A skin colour interpolated along the light-to-dark range, slightly jittered."""
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    c = SKIN_TONES[i] * (1 - (t - i)) + SKIN_TONES[i + 1] * (t - i)
    return jitter(rng, c, 0.06)


def hair_colour(rng: np.random.Generator) -> Array:
    c = HAIR_COLOURS[rng.choice(len(HAIR_COLOURS), p=HAIR_WEIGHTS)]
    return jitter(rng, c, 0.15)


def smoothstep(e0: float, e1: float, t: Array) -> Array:
    t = np.clip((t - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)
