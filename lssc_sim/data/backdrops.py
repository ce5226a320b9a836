"""The scenes behind the procedural portraits: indoor walls with furniture and shelves, outdoor streets and
parks, plain studio backdrops, sharing colours with the person on purpose (see ``portraits.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lssc_sim.data import _texture as tx

if TYPE_CHECKING:
    from lssc_sim.data.portraits import Person

Array = np.ndarray
FULL = tx.FULL


def _scene_colour(rng: np.random.Generator, p: Person, share: float = 0.35) -> Array:
    """Colour of a scene element; with probability ``share`` one of the person's own colours."""
    if rng.random() < share:
        return tx.jitter(rng, p.colours[rng.integers(len(p.colours))], 0.12)
    return tx.random_colour(rng)


def _textured(rng: np.random.Generator, size: int, colour: Array, amount: float, box: tx.Box) -> Array:
    """``colour`` [3] modulated by wood-grain, plaster or fabric noise -> [h, w, 3] on ``box``."""
    kind = rng.integers(3)
    if kind == 0:
        n = tx.value_noise(rng, size, (int(rng.integers(2, 6)), int(rng.integers(20, 60))), box=box)  # grain
    elif kind == 1:
        n = tx.fractal_noise(rng, size, 4, 5, box=box)
    else:
        n = tx.fractal_noise(rng, size, 16, 3, box=box)
    return colour * (1.0 + amount * n)[..., None]


def _scene_object(canvas: Array, rng: np.random.Generator, size: int, p: Person) -> None:
    """Paint one piece of furniture, frame, window, shelf, plant or lamp somewhere on ``canvas``."""
    kind = rng.choice(["box", "window", "shelf", "plant", "lamp", "blob"], p=[0.3, 0.12, 0.14, 0.16, 0.08, 0.2])
    cx, cy = rng.uniform(-0.1, 1.1), rng.uniform(-0.1, 1.1)
    hw, hh = rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.4)
    r = max(hw, hh) + 0.05  # blobs rotate and plants have ragged edges
    box = tx.window(size, cx - r, cx + r, cy - r, cy + r)
    x, y = tx.grid(size)
    x, y, cv = x[box] - cx, y[box] - cy, canvas[box]
    d = tx.sd_box(x, y, hw, hh, rng.uniform(0, 0.02))
    if kind == "box":
        c = _scene_colour(rng, p)
        lit = np.clip(1.0 - 0.15 * y / hh, 0.7, 1.3)[..., None]  # lit from above
        tx.over(cv, _textured(rng, size, c, 0.12, box) * lit, tx.coverage(d, size))
        inner = tx.sd_box(x, y, hw * 0.85, hh * 0.85)
        tx.over(cv, c * 0.8, tx.coverage(np.abs(inner) - 0.004, size))  # panel edge
    elif kind == "window":
        sky = tx.jitter(rng, [0.75, 0.85, 0.95], 0.15) * (1.1 - 0.3 * (y / hh))[..., None]
        sky = sky + 0.15 * tx.fractal_noise(rng, size, 3, 3, channels=3, box=box)
        tx.over(cv, sky, tx.coverage(d, size))
        bars = np.minimum(np.abs(x), np.abs(y)) - 0.008
        frame = np.minimum(np.abs(d) - 0.01, np.maximum(bars, d))
        tx.over(cv, _scene_colour(rng, p, 0.2), tx.coverage(frame, size))
    elif kind == "shelf":
        books = np.stack([_scene_colour(rng, p, 0.3) for _ in range(16)])
        width = rng.uniform(0.012, 0.035)
        idx = (np.floor(x / width).astype(int) * 7) % 16
        heights = 0.6 + 0.4 * ((idx * 37) % 11) / 10.0
        rows = np.mod((y + hh) / (2 * hh / rng.integers(1, 4)), 1.0)
        fill = (1 - rows < heights) & (np.mod(x / width, 1.0) > 0.08)
        shelf = np.where(fill[..., None], books[idx], _scene_colour(rng, p, 0.3) * 0.5)
        grain = 0.95 + 0.1 * tx.fractal_noise(rng, size, 32, 2, box=box)
        tx.over(cv, shelf * grain[..., None], tx.coverage(d, size))
    elif kind == "plant":
        leaf = tx.jitter(rng, [0.2, 0.38, 0.12], 0.35)
        n = tx.fractal_noise(rng, size, 8, 4, box=box)
        d_plant = tx.sd_ellipse(x, y, hw * 0.8, hh * 0.8) + 0.12 * n
        tx.over(cv, leaf * (0.6 + 0.8 * np.clip(0.5 + n, 0, 1))[..., None], tx.coverage(d_plant, size))
    elif kind == "lamp":
        warm = tx.jitter(rng, [1.0, 0.85, 0.6], 0.1)
        tx.over(cv, warm, np.clip(1.2 * np.exp(-(x**2 + y**2) / (0.3 * hw) ** 2), 0, 1))
    else:
        u, v = tx.rotate(x, y, 0.0, 0.0, rng.uniform(0, np.pi))
        d_blob = tx.sd_ellipse(u, v, hw, hh * 0.6) + 0.03 * tx.fractal_noise(rng, size, 6, 3, box=box)
        tx.over(cv, _textured(rng, size, _scene_colour(rng, p, 0.45), 0.15, box), tx.coverage(d_blob, size))


def draw_backdrop(rng: np.random.Generator, size: int, p: Person) -> Array:
    """A studio, indoor, outdoor or cluttered scene behind ``p``: float32 [S, S, 3] in [0, 1]."""
    x, y = tx.grid(size)
    kind = rng.choice(["studio", "indoor", "outdoor", "clutter"], p=[0.16, 0.37, 0.3, 0.17])
    if kind == "studio":
        base = _scene_colour(rng, p, 0.3)
        r2 = (x - p.ox) ** 2 + (y - p.oy + 0.15) ** 2
        glow = 0.7 + 0.5 * np.exp(-r2 / rng.uniform(0.08, 0.5))
        canvas = base * (glow * (1 + 0.08 * tx.fractal_noise(rng, size, 3, 5)))[..., None]
    elif kind == "indoor":
        wall = _scene_colour(rng, p, 0.3)
        if rng.random() < 0.5:  # most walls are pale
            wall = 0.45 * wall + 0.55 * tx.jitter(rng, [0.86, 0.82, 0.75], 0.15)
        canvas = _textured(rng, size, wall, 0.06, FULL) * (1 - 0.25 * y)[..., None]
        floor = rng.uniform(0.5, 1.3)
        if floor < 1.0:
            wood = _textured(rng, size, _scene_colour(rng, p, 0.4), 0.2, FULL)
            tx.over(canvas, wood, tx.coverage(floor - y, size))
        for _ in range(rng.integers(2, 7)):
            _scene_object(canvas, rng, size, p)
    elif kind == "outdoor":
        horizon = rng.uniform(0.2, 0.7)
        top = tx.jitter(rng, [0.35, 0.55, 0.85] if rng.random() < 0.6 else [0.75, 0.77, 0.8], 0.15)
        canvas = top + (np.array([0.9, 0.92, 0.95], np.float32) - top) * np.clip(y / horizon, 0, 1)[..., None]
        clouds = tx.smoothstep(0.0, 0.6, tx.fractal_noise(rng, size, 3, 5, stretch=0.5))
        tx.over(canvas, np.float32(0.95), clouds * rng.uniform(0, 0.9))
        if rng.random() < 0.55:  # buildings
            for _ in range(rng.integers(1, 5)):
                bx, bw, bh = rng.uniform(0, 1), rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.6)
                d = tx.sd_box(x - bx, y - (horizon - bh / 2 + 0.05), bw / 2, bh / 2 + 0.05)
                nwx, nwy = rng.uniform(12, 40), rng.uniform(8, 30)
                win = (np.mod(x * nwx, 1) < 0.55) & (np.mod(y * nwy, 1) < 0.55)
                facade = _textured(rng, size, _scene_colour(rng, p, 0.3), 0.1, FULL)
                facade = np.where(win[..., None], facade * 0.55 + 0.1, facade)
                tx.over(canvas, facade, tx.coverage(d, size))
        ground = tx.jitter(
            rng, [[0.3, 0.45, 0.2], [0.5, 0.5, 0.48], [0.8, 0.7, 0.52], [0.3, 0.4, 0.5]][rng.integers(4)], 0.15
        )
        tx.over(canvas, _textured(rng, size, ground, 0.2, FULL), tx.coverage(horizon - y, size))
        for _ in range(rng.integers(0, 4)):  # trees and hedges
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, horizon + 0.1), rng.uniform(0.1, 0.35)
            n = tx.fractal_noise(rng, size, 10, 4)
            leaf = tx.jitter(rng, [0.22, 0.36, 0.14] if rng.random() < 0.8 else [0.6, 0.4, 0.15], 0.3)
            d_tree = tx.sd_ellipse(x - cx, y - cy, r, r * rng.uniform(0.7, 1.3)) + 0.1 * n
            tx.over(canvas, leaf * (0.5 + 0.9 * np.clip(0.5 + n, 0, 1))[..., None], tx.coverage(d_tree, size))
        for _ in range(rng.integers(0, 3)):
            _scene_object(canvas, rng, size, p)
    else:
        canvas = _textured(rng, size, _scene_colour(rng, p, 0.3), 0.15, FULL)
        for _ in range(rng.integers(6, 16)):
            _scene_object(canvas, rng, size, p)
    if kind != "studio" and rng.random() < 0.7:  # depth of field
        canvas = tx.blur(canvas, rng.uniform(0.0, 0.02) * size)
    return np.ascontiguousarray(canvas, dtype=np.float32)
