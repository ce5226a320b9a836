"""Procedural Cityscapes-like street scenes seen from a car, with a pinhole camera over a flat road.

A pixel ``(x, y)`` below the horizon sees the ground at depth ``Z = f * cam_h / (y - y_h)`` and lateral
offset ``X = (x - x_v) * Z / f`` (metres); facades are vertical planes ``X = const`` beside the sidewalks,
split into buildings along ``Z``. Trees, poles, cars and pedestrians are placed in metres and drawn far to
near. Pixels of the ego vehicle's hood and of street clutter (bins, sign plates) carry the ignore label,
as Cityscapes' unlabelled classes do.
"""

from __future__ import annotations

import numpy as np

from lssc_sim.data import _texture as tx

Array = np.ndarray
STREET_CLASSES = ("road", "sidewalk", "building", "pole", "vegetation", "sky", "person", "car")
ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY, PERSON, CAR = range(8)
IGNORE = 255
# Cityscapes colours of the same classes, so overlays read like theirs.
STREET_PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (153, 153, 153), (107, 142, 35),
                  (70, 130, 180), (220, 20, 60), (0, 0, 142))  # fmt: skip
# The same classes as Cityscapes train ids, for users who compare with models trained on Cityscapes.
CITYSCAPES_TRAIN_IDS = (0, 1, 2, 5, 8, 10, 11, 13)


class Scene:
    """Camera and street layout of one image (metres and normalised image units)."""

    def __init__(self, rng: np.random.Generator, size: int):
        self.size = size
        self.f = rng.uniform(0.75, 1.1)  # focal length in image widths
        self.cam_h = rng.uniform(1.2, 1.6)
        self.y_h = rng.uniform(0.36, 0.5)
        self.x_v = rng.uniform(0.35, 0.65)
        self.left, self.right = rng.uniform(1.6, 8.0), rng.uniform(1.6, 8.0)  # road edges, camera at X=0
        self.walk = rng.uniform(2.0, 6.0, 2)  # sidewalk widths, left and right
        self.facade = (-(self.left + self.walk[0]), self.right + self.walk[1])
        self.z_end = rng.uniform(60.0, 250.0)
        self.grain = tx.fractal_noise(rng, size, 12, 3)  # shared texture of small objects
        self.canvas = np.zeros((size, size, 3), np.float32)
        self.label = np.full((size, size), SKY, np.uint8)

    def project(self, X: float, height: float, Z: float) -> tuple[float, float]:
        """Image point of the world point (X, height above ground, Z)."""
        return self.x_v + self.f * X / Z, self.y_h + self.f * (self.cam_h - height) / Z

    def paint(self, box: tx.Box, d: Array, colour, cls: int, soft: float = 1.0) -> Array:
        """Composite a shape (signed distance ``d`` in image units on window ``box``) and label it."""
        a = tx.coverage(d, self.size, soft)
        tx.over(self.canvas[box], colour, a)
        self.label[box][a >= 0.5] = cls
        return a


def _palette_colour(rng: np.random.Generator, kind: str) -> Array:
    """Colours of man-made things: mostly greys, whites and muted tones, as in real streets."""
    if kind == "car" and rng.random() < 0.65:
        return tx.jitter(rng, [rng.choice([0.08, 0.25, 0.5, 0.7, 0.88])] * 3, 0.1)
    if kind == "facade":
        base = [[0.75, 0.72, 0.66], [0.6, 0.6, 0.6], [0.55, 0.35, 0.28], [0.85, 0.83, 0.8], [0.5, 0.47, 0.4]]
        return tx.jitter(rng, base[rng.integers(len(base))], 0.18)
    if kind == "cloth" and rng.random() < 0.6:
        return tx.jitter(rng, [rng.choice([0.06, 0.15, 0.3, 0.5])] * 3, 0.25)
    return tx.random_colour(rng, saturation=0.45)


# ---------------------------------------------------------------------------------------- background


def _sky(sc: Scene, rng: np.random.Generator) -> None:
    x, y = tx.grid(sc.size)
    overcast = rng.random() < 0.4
    top = tx.jitter(rng, [0.7, 0.72, 0.75] if overcast else [0.35, 0.55, 0.85], 0.12)
    low = tx.jitter(rng, [0.88, 0.89, 0.9], 0.06)
    t = np.clip(y / max(sc.y_h, 1e-3), 0, 1)[..., None]
    sc.canvas[:] = top + (low - top) * t
    clouds = tx.smoothstep(0.0, 0.7, tx.fractal_noise(rng, sc.size, 3, 5, stretch=0.4))
    tx.over(sc.canvas, low * 1.05, clouds * rng.uniform(0.2, 1.0))


def _facade_colours(rng: np.random.Generator, n: int) -> Array:
    """float32 [n, 3]: plaster, concrete, brick, white and stone facades with a little variation."""
    base = np.array([[0.75, 0.72, 0.66], [0.6, 0.6, 0.6], [0.55, 0.35, 0.28], [0.85, 0.83, 0.8],
                     [0.5, 0.47, 0.4]], np.float32)  # fmt: skip
    c = base[rng.integers(len(base), size=n)] * (1 + 0.18 * rng.uniform(-1, 1, (n, 1)))
    return np.clip(c * (1 + 0.06 * rng.uniform(-1, 1, (n, 3))), 0, 1).astype(np.float32)


def _facades(sc: Scene, rng: np.random.Generator) -> None:
    """Both street sides: buildings (with windows) or park vegetation, and the end of the street."""
    size = sc.size
    x, y = tx.grid(size)
    tex = 1.0 + 0.1 * tx.fractal_noise(rng, size, 6, 5)
    h_end = rng.uniform(8, 30)
    y_top = sc.y_h - sc.f * (h_end - sc.cam_h) / sc.z_end
    d_end = np.maximum(y_top - y, np.abs(x - sc.x_v) - sc.f * max(abs(sc.facade[0]), sc.facade[1]) / sc.z_end)
    sc.paint(tx.FULL, d_end, _facade_colours(rng, 1)[0] * tex[..., None], BUILDING)
    n = 40  # blocks per side along Z: start, height, building or trees, colour, window pattern
    for side, xb in ((0, sc.facade[0]), (1, sc.facade[1])):
        starts = np.concatenate([[0.0], np.cumsum(rng.uniform(8, 35, n - 1))])
        heights = rng.uniform(6, 35, n) * (1.0 if rng.random() < 0.8 else 0.4)
        park = rng.random(n) < (0.7 if rng.random() < 0.2 else 0.12)
        colours = _facade_colours(rng, n) * (0.8 if side == 0 else 1.0)  # one side in the shade
        glass = np.clip(np.array([0.2, 0.25, 0.3]) * rng.uniform(0.6, 1.4, (n, 1)), 0, 1).astype(np.float32)
        period, storey = rng.uniform(3.0, 5.0, n), rng.uniform(2.8, 3.6, n)
        open_frac = rng.uniform(0.35, 0.7, n)
        tree_top, green = rng.uniform(4, 12), tx.jitter(rng, [0.2, 0.33, 0.12], 0.25)
        # the facade's foot is lowest at the image border: no facade pixel lies below that row
        foot = sc.y_h + sc.cam_h * max(sc.x_v, 1.0 - sc.x_v) / abs(xb) + 0.02
        box = tx.window(size, sc.x_v, 1.0, 0.0, foot) if side else tx.window(size, 0.0, sc.x_v, 0.0, foot)
        leaves = tx.fractal_noise(rng, size, 8, 4, box=box)
        dx = (x[box] - sc.x_v) * (1 if side else -1)
        z = sc.f * abs(xb) / np.maximum(dx, 1e-4)  # depth along the facade plane
        hgt = sc.cam_h - (y[box] - sc.y_h) * z / sc.f  # height on it
        block = np.clip(np.searchsorted(starts, z) - 1, 0, n - 1)
        on = (dx > 1e-4) & (z < sc.z_end) & (hgt >= 0)
        # windows, faded out where their pattern would alias
        zz, hh = np.mod(z, period[block]) / period[block], np.mod(hgt, storey[block]) / storey[block]
        win = (np.abs(zz - 0.5) < open_frac[block] / 2) & (np.abs(hh - 0.55) < 0.25) & (hgt > 3.0)
        fade = np.clip(1.5 - 4.0 * z * z / (sc.f * abs(xb) * size) / period[block], 0, 1)
        colour = colours[block] * tex[box][..., None]
        colour += (win * fade)[..., None] * (glass[block] - colour)
        building = on & ~park[block] & (hgt <= heights[block])
        sc.paint(box, np.where(building, -1.0, 1.0), colour, BUILDING, soft=0.01)
        foliage = on & park[block] & (hgt <= tree_top + 3.0 * leaves)
        sc.paint(box, np.where(foliage, -1.0, 1.0), green * (0.6 + 0.9 * np.clip(0.5 + leaves, 0, 1))[..., None],
                 VEGETATION, soft=0.01)  # fmt: skip


def _ground(sc: Scene, rng: np.random.Generator) -> None:
    """Road (asphalt, lane markings, patches), curbs and paved sidewalks below the horizon."""
    size = sc.size
    box = tx.window(size, 0.0, 1.0, sc.y_h, 1.0)
    x, y = (a[box] for a in tx.grid(size))
    z = sc.f * sc.cam_h / np.maximum(y - sc.y_h, 1e-4)
    X = (x - sc.x_v) * z / sc.f
    ground = (y > sc.y_h + 1e-4) & (z < sc.z_end) & (X > sc.facade[0]) & (X < sc.facade[1])
    road = (X > -sc.left) & (X < sc.right)
    asphalt = tx.jitter(rng, [0.36, 0.36, 0.38], 0.2)
    n1 = tx.fractal_noise(rng, size, 16, 3, box=box)
    patches = tx.smoothstep(0.25, 0.35, tx.fractal_noise(rng, size, 4, 3, box=box))  # repairs, wet spots
    road_c = asphalt * (1.0 + 0.07 * n1 - 0.1 * patches)[..., None]
    fade = np.clip(2.0 - z * z / (sc.f * size * 0.6), 0, 1)  # markings fade before they alias
    lanes = np.arange(-sc.left + 3.2, sc.right - 1.0, 3.2)
    dist = np.min(np.abs(X[..., None] - lanes), axis=-1) if lanes.size else np.full_like(X, np.inf)
    dashed = (dist < 0.08) & (np.mod(z, 9.0) < 3.0)
    edges = np.minimum(np.abs(X + sc.left - 0.3), np.abs(X - sc.right + 0.3)) < 0.08
    paint_c = tx.jitter(rng, [0.85, 0.85, 0.8], 0.08)
    road_c = np.where(((dashed | edges) & (fade > 0))[..., None], road_c + fade[..., None] * (paint_c - road_c), road_c)
    walk = _palette_colour(rng, "facade") * rng.uniform(0.7, 1.0)
    joints = (np.mod(X, 0.6) < 0.05) | (np.mod(z, 0.6) < 0.05)
    walk_c = walk * (1.0 + 0.08 * n1 - 0.15 * joints * fade)[..., None]
    curb = (np.abs(X + sc.left) < 0.2) | (np.abs(X - sc.right) < 0.2)
    walk_c = np.where(curb[..., None], walk_c * 1.15, walk_c)
    colour = np.where(road[..., None], road_c, walk_c)
    # a building's shadow: a diagonal boundary on the ground
    if rng.random() < 0.6:
        slope, offset = rng.uniform(-0.4, 0.4), rng.uniform(-8, 8)
        shadow = (X - offset - slope * z) * (1 if rng.random() < 0.5 else -1) > 0
        colour = colour * np.where(shadow, rng.uniform(0.5, 0.75), 1.0)[..., None]
    sc.paint(box, np.where(ground & road, -1.0, 1.0), colour, ROAD, soft=0.01)
    sc.paint(box, np.where(ground & ~road, -1.0, 1.0), colour, SIDEWALK, soft=0.01)


# ------------------------------------------------------------------------------------------- objects


def _hull(pts: Array) -> Array:
    """Convex hull [M, 2] of points [N, 2] (Andrew's monotone chain), counter-clockwise."""
    pts = sorted(map(tuple, np.asarray(pts, np.float64).tolist()))  # Python floats: fast comparisons

    def half(points):
        out: list = []
        for p in points:
            while (
                len(out) >= 2
                and (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                <= 0
            ):
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(half(pts) + half(pts[::-1]), np.float32)


def _box_points(sc: Scene, x0: float, x1: float, h0: float, h1: float, z0: float, z1: float) -> Array:
    """float32 [8, 2]: image points of the corners of a world box."""
    X = np.array([x0, x0, x0, x0, x1, x1, x1, x1])
    H = np.array([h0, h0, h1, h1, h0, h0, h1, h1])
    Z = np.array([z0, z1, z0, z1, z0, z1, z0, z1])
    return np.stack([sc.x_v + sc.f * X / Z, sc.y_h + sc.f * (sc.cam_h - H) / Z], axis=1).astype(np.float32)


def _window_of(sc: Scene, pts: Array, margin: float = 0.01) -> tx.Box:
    return tx.window(sc.size, pts[:, 0].min() - margin, pts[:, 0].max() + margin,
                     pts[:, 1].min() - margin, pts[:, 1].max() + margin)  # fmt: skip


def _car(sc: Scene, rng: np.random.Generator, x0: float, z0: float, facing: bool) -> None:
    """A car as two projected boxes (body, cabin); ``facing`` cars show their front (headlights).

    Faces parallel to the image plane (rear, rear window, lamps, tyres) are plain rectangles in the image.
    """
    w, length = rng.uniform(1.7, 1.95), rng.uniform(3.9, 4.9)
    x1, z1 = x0 + w, z0 + length
    top, cab_h = rng.uniform(0.95, 1.1), rng.uniform(1.4, 1.6)
    body = _box_points(sc, x0, x1, 0.2, top, z0, z1)
    cabin = _box_points(sc, x0 + 0.12, x1 - 0.12, 1.0, cab_h, z0 + 1.2, z1 - 1.0)
    box = _window_of(sc, np.concatenate([body, cabin]), 0.02)
    x, y = (a[box] for a in tx.grid(sc.size))
    paint_c = _palette_colour(rng, "car")
    glass_c = tx.jitter(rng, [0.12, 0.14, 0.17], 0.3)
    m = sc.f / z0  # image units per metre on the rear face

    def rect(X: float, h: float, hw: float, hh: float, z: float = z0) -> Array:  # metres -> image box
        px, py = sc.project(X, h, z)
        k = sc.f / z
        return tx.sd_box(x - px, y - py, hw * k, hh * k, 0.002)

    tx.over(
        sc.canvas[box], np.float32(0.05), 0.6 * tx.coverage(rect((x0 + x1) / 2, 0.0, w / 2 + 0.1, 0.25), sc.size, 2)
    )
    sc.paint(box, tx.sd_convex(x, y, _hull(body)), paint_c * (1.0 + 0.1 * sc.grain[box])[..., None], CAR)
    pixels = m * w * sc.size
    if pixels < 4:  # too small for details
        return
    tx.over(
        sc.canvas[box],
        paint_c * 0.8,
        tx.coverage(rect((x0 + x1) / 2, (0.2 + top) / 2, w / 2, (top - 0.2) / 2), sc.size),
    )
    sc.paint(box, tx.sd_convex(x, y, _hull(cabin)), paint_c * 0.9, CAR)
    glass = rect((x0 + x1) / 2, (1.05 + cab_h) / 2, w / 2 - 0.3, (cab_h - 1.1) / 2, z0 + 1.2)
    tx.over(sc.canvas[box], glass_c, tx.coverage(glass, sc.size))
    if pixels < 10:
        return
    lamp = np.array([0.95, 0.92, 0.8] if facing else [0.75, 0.08, 0.05], np.float32)
    d_lamps = np.minimum(rect(x0 + 0.25, 0.8, 0.17, 0.07), rect(x1 - 0.25, 0.8, 0.17, 0.07))
    tx.over(sc.canvas[box], lamp, tx.coverage(d_lamps, sc.size))
    d_tyres = np.minimum(rect(x0 + 0.15, 0.15, 0.13, 0.17, z0 + 0.5), rect(x1 - 0.15, 0.15, 0.13, 0.17, z0 + 0.5))
    sc.paint(box, d_tyres, np.float32(0.05), CAR)


def _person(sc: Scene, rng: np.random.Generator, X: float, Z: float) -> None:
    """A pedestrian, 1.5-1.95 m tall, walking with a random stride; drawn in body metres."""
    s = sc.f / Z  # image units per metre
    xf, yf = sc.project(X, 0.0, Z)
    height = rng.uniform(1.5, 1.95)
    box = tx.window(sc.size, xf - 0.6 * s, xf + 0.6 * s, yf - (height + 0.1) * s, yf + 0.05 * s)
    x, y = tx.grid(sc.size)
    u, v = (x[box] - xf) / s, (yf - y[box]) / s  # metres, v up
    top, bottom = _palette_colour(rng, "cloth"), _palette_colour(rng, "cloth")
    skin, hair = tx.skin_tone(rng), tx.hair_colour(rng)
    stride, swing = rng.uniform(-0.25, 0.25), rng.uniform(-0.2, 0.2)
    hip, shoulder = 0.52 * height, 0.81 * height
    if height * s * sc.size < 8:  # a few pixels tall: a body and a head
        sc.paint(box, tx.sd_capsule(u, v, (0.0, 0.1), (0.0, shoulder), 0.15, 0.18)[0] * s, top, PERSON)
        sc.paint(box, (np.hypot(u, v - height + 0.12) - 0.12) * s, hair, PERSON)
        return
    legs = [tx.sd_capsule(u, v, (k * 0.09, hip), (k * (0.1 + stride), 0.05), 0.085, 0.06)[0] for k in (-1, 1)]
    sc.paint(box, np.minimum(*legs) * s, bottom, PERSON)
    arms = [
        tx.sd_capsule(u, v, (k * 0.21, shoulder - 0.03), (k * (0.25 + swing), hip - 0.05), 0.055, 0.045)[0]
        for k in (-1, 1)
    ]
    sc.paint(box, np.minimum(*arms) * s, top * 0.85, PERSON)
    d_torso = tx.sd_box(u, v - (hip + shoulder) / 2, 0.19, (shoulder - hip) / 2 + 0.04, 0.06)
    sc.paint(box, d_torso * s, top * (1.0 + 0.1 * np.clip(u / 0.2, -1, 1))[..., None], PERSON)
    head_v = height - 0.12
    sc.paint(box, (np.hypot(u, v - head_v) - 0.11) * s, skin, PERSON)
    sc.paint(box, np.maximum(np.hypot(u, v - head_v - 0.02) - 0.115, head_v + 0.01 - v) * s, hair, PERSON)


def _tree(sc: Scene, rng: np.random.Generator, X: float, Z: float) -> None:
    s = sc.f / Z
    xb, yb = sc.project(X, 0.0, Z)
    crown_h, radius = rng.uniform(4.0, 8.0), rng.uniform(1.5, 3.5)
    box = tx.window(sc.size, xb - 1.3 * radius * s, xb + 1.3 * radius * s,
                    yb - (crown_h + 1.3 * radius) * s, yb + 0.02)  # fmt: skip
    x, y = tx.grid(sc.size)
    u, v = (x[box] - xb) / s, (yb - y[box]) / s
    bark = tx.jitter(rng, [0.3, 0.24, 0.18], 0.2)
    sc.paint(box, tx.sd_capsule(u, v, (0.0, 0.0), (0.0, crown_h), 0.18, 0.1)[0] * s, bark, VEGETATION)
    leaves = sc.grain[box]
    d = tx.sd_ellipse(u, v - crown_h, radius, radius * rng.uniform(0.8, 1.2)) + 0.35 * radius * leaves
    green = tx.jitter(rng, [0.22, 0.34, 0.13] if rng.random() < 0.85 else [0.55, 0.4, 0.15], 0.25)
    sc.paint(box, d * s, green * (0.55 + 0.9 * np.clip(0.5 - leaves, 0, 1))[..., None], VEGETATION)


def _pole(sc: Scene, rng: np.random.Generator, X: float, Z: float, toward_road: float) -> None:
    s = sc.f / Z
    xb, yb = sc.project(X, 0.0, Z)
    height, radius = rng.uniform(4.0, 9.0), rng.uniform(0.06, 0.14)
    box = tx.window(sc.size, xb - 2.5 * s, xb + 2.5 * s, yb - (height + 0.5) * s, yb + 0.01)
    x, y = tx.grid(sc.size)
    u, v = (x[box] - xb) / s, (yb - y[box]) / s
    metal = tx.jitter(rng, [0.45, 0.45, 0.45], 0.35)
    d = tx.sd_capsule(u, v, (0.0, 0.0), (0.0, height), radius, radius * 0.7)[0]
    if rng.random() < 0.5:  # street light arm over the road
        d = np.minimum(d, tx.sd_capsule(u, v, (0.0, height), (toward_road * 1.5, height + 0.2), 0.05, 0.05)[0])
    sc.paint(box, d * s, metal, POLE)
    if rng.random() < 0.4:  # a sign plate: unlabelled, like a clutter object
        d_sign = tx.sd_box(u, v - rng.uniform(2.0, 3.0), 0.3, 0.3, 0.05)
        sc.paint(box, d_sign * s, _palette_colour(rng, "sign"), IGNORE)


def _clutter(sc: Scene, rng: np.random.Generator, X: float, Z: float) -> None:
    """A bin, bollard or bench: present in the picture but outside the classes (ignore label)."""
    s = sc.f / Z
    xb, yb = sc.project(X, 0.0, Z)
    w, h = rng.uniform(0.2, 0.9), rng.uniform(0.4, 1.1)
    box = tx.window(sc.size, xb - w * s, xb + w * s, yb - h * s, yb + 0.01)
    x, y = tx.grid(sc.size)
    d = tx.sd_box((x[box] - xb) / s, (yb - y[box]) / s - h / 2, w / 2, h / 2, 0.05)
    sc.paint(box, d * s, _palette_colour(rng, "clutter"), IGNORE)


def _objects(sc: Scene, rng: np.random.Generator) -> None:
    """Place trees, poles, clutter, parked and moving cars and pedestrians; draw them far to near."""
    items: list[tuple[float, object, tuple]] = []
    for side, sign in ((0, -1.0), (1, 1.0)):
        edge = sc.left if side == 0 else sc.right
        if rng.random() < 0.6:
            for z in np.arange(rng.uniform(3, 12), min(sc.z_end, 80), rng.uniform(8, 20)):
                items.append((z, _tree, (sign * (edge + rng.uniform(0.6, sc.walk[side])), z)))
        for z in np.arange(rng.uniform(3, 20), min(sc.z_end, 100), rng.uniform(18, 40)):
            items.append((z, _pole, (sign * (edge + 0.4), z, -sign)))
        for _ in range(rng.integers(0, 3)):
            z = rng.uniform(4, 40)
            items.append((z, _clutter, (sign * (edge + rng.uniform(0.3, sc.walk[side])), z)))
        if rng.random() < 0.65:  # parked cars along the curb
            z = rng.uniform(3, 10)
            while z < min(sc.z_end, 60):
                x0 = -edge + 0.2 if side == 0 else edge - 2.1
                items.append((z, _car, (x0, z, False)))
                z += rng.uniform(5.0, 14.0)
        for _ in range(rng.integers(0, 8)):
            z = rng.uniform(2.5, 35)
            items.append((z, _person, (sign * (edge + rng.uniform(0.3, sc.walk[side] - 0.2)), z)))
    for _ in range(rng.integers(0, 4)):  # moving traffic: ahead in our lanes, oncoming on the left
        x0 = rng.uniform(-sc.left + 0.3, sc.right - 2.3)
        z = rng.uniform(6 if abs(x0 + 1) < 2 else 4, 70)
        items.append((z, _car, (x0, z, x0 + 1 < -1.5)))
    if rng.random() < 0.35:  # someone crossing the road
        z = rng.uniform(5, 20)
        items.append((z, _person, (rng.uniform(-sc.left, sc.right), z)))
    for _, draw, args in sorted(items, key=lambda it: -it[0]):
        draw(sc, rng, *args)


def render_street(layout: np.random.Generator, pixel: np.random.Generator, size: int) -> tuple[Array, Array]:
    """One street scene and its label map.

    Parameters
    ----------
    layout : numpy.random.Generator
        Stream for the scene (size-independent).
    pixel : numpy.random.Generator
        Stream for sensor noise.
    size : int
        Side ``S`` in pixels.

    Returns
    -------
    image : uint8 [S, S, 3]
    mask : uint8 [S, S]
        Class ids (see ``STREET_CLASSES``) or 255 for unlabelled pixels.
    """
    sc = Scene(layout, size)
    _sky(sc, layout)
    _facades(sc, layout)
    _ground(sc, layout)
    _objects(sc, layout)
    if layout.random() < 0.5:  # the ego vehicle's hood, unlabelled as in Cityscapes
        x, y = tx.grid(size)
        d = layout.uniform(0.86, 0.95) + 0.1 * (2 * x - 1) ** 2 - y
        hood = tx.jitter(layout, [0.12, 0.12, 0.13], 0.5) * (1.0 + 0.6 * np.clip(y - 0.85, 0, 1) * 5)[..., None]
        sc.paint(tx.FULL, d, hood, IGNORE)
    image = tx.camera(sc.canvas, layout, pixel, grain=1.0)
    return image, sc.label
