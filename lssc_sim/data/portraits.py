"""Procedural portraits: a person (head, hair, face, neck, torso, arms) in front of a textured scene.

Framing follows portrait-matting photographs: mostly head-and-shoulders shots, some close-ups cropped by
the border, some half-body and small distant persons. The person shares colours with the scene on purpose
(clothing colour in the furniture, skin tones in walls and wood, hair-dark shadows), so the mask follows
from shape and context rather than from colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lssc_sim.data import _texture as tx
from lssc_sim.data.backdrops import draw_backdrop

Array = np.ndarray
FULL = tx.FULL
FRAMINGS = ("close", "bust", "half", "small")
FRAMING_P = (0.18, 0.44, 0.23, 0.15)


@dataclass
class Person:
    """Size-independent parameters of one person; lengths in head widths unless stated."""

    framing: str
    unit: float  # head width as a fraction of the image side
    ox: float  # neck base, image coordinates
    oy: float
    lean: float  # body roll, radians
    shoulder: float  # half shoulder width
    slope: float  # trapezius drop from neck to shoulder
    neck: float  # chin-to-shoulder-line length
    yaw: float  # -1..1, turns face features and shoulders
    head_roll: float
    skin: Array
    hair: Array
    cloth: Array
    cloth2: Array
    light: Array  # unit vector (lx, ly, lz)
    colours: list[Array] = field(default_factory=list)


def sample_person(rng: np.random.Generator) -> Person:
    framing = FRAMINGS[rng.choice(4, p=FRAMING_P)]
    unit = {"close": (0.30, 0.46), "bust": (0.17, 0.29), "half": (0.10, 0.16), "small": (0.04, 0.085)}[framing]
    unit = rng.uniform(*unit)
    neck = rng.uniform(0.25, 0.45)
    if rng.random() < 0.15:  # pushed against a side and cropped by it
        ox = rng.choice([-1, 1]) * rng.uniform(0.32, 0.47) + 0.5
    else:
        ox = rng.uniform(0.25, 0.75)
    top = {"close": (-0.12, 0.12), "bust": (0.03, 0.3), "half": (0.05, 0.35), "small": (0.08, 0.55)}[framing]
    oy = rng.uniform(*top) + (1.3 + neck) * unit
    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.6, 0.2), 0.0], np.float32)
    light[2] = np.sqrt(max(0.15, 1.0 - light[0] ** 2 - light[1] ** 2))
    light /= np.linalg.norm(light)
    cloth = tx.random_colour(rng, saturation=0.4)
    cloth2 = tx.random_colour(rng, saturation=0.4) if rng.random() < 0.6 else np.clip(cloth * 1.6 + 0.1, 0, 1)
    p = Person(
        framing=framing, unit=unit, ox=ox, oy=oy, lean=float(np.clip(rng.normal(0, 0.07), -0.22, 0.22)),
        shoulder=rng.uniform(1.2, 1.6), slope=rng.uniform(0.12, 0.32), neck=neck,
        yaw=rng.uniform(-0.6, 0.6), head_roll=float(np.clip(rng.normal(0, 0.1), -0.3, 0.3)),
        skin=tx.skin_tone(rng), hair=tx.hair_colour(rng), cloth=cloth, cloth2=cloth2, light=light,
    )  # fmt: skip
    p.colours = [p.skin, p.hair, p.cloth, p.cloth2]
    return p


# -------------------------------------------------------------------------------------------- person


def _shading(nx: Array, ny: Array, light: Array, ambient: float = 0.55) -> Array:
    """Lambertian brightness of a surface whose normal has image-plane components ``nx``, ``ny``."""
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    return ambient + (1.0 - ambient) * 1.25 * np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)


def _clothing(rng: np.random.Generator, size: int, u: Array, v: Array, p: Person, box: tx.Box) -> Array:
    """Fabric colour field [h, w, 3] in body coordinates: plain, stripes, checks, print or a jacket."""
    kind = rng.choice(["plain", "stripes", "checks", "print", "jacket"], p=[0.34, 0.18, 0.12, 0.14, 0.22])
    c1, c2 = p.cloth, p.cloth2
    freq = rng.uniform(2.5, 7.0) * np.pi
    if kind == "stripes":
        s = np.sin((v if rng.random() < 0.6 else u) * freq)
        w = tx.smoothstep(-0.2, 0.2, s - rng.uniform(-0.6, 0.6))
    elif kind == "checks":
        w = 0.5 * (tx.smoothstep(-0.2, 0.2, np.sin(u * freq)) + tx.smoothstep(-0.2, 0.2, np.sin(v * freq)))
    elif kind == "print":
        w = tx.smoothstep(0.1, 0.3, tx.fractal_noise(rng, size, min(48, int(3 / p.unit)), 2, box=box))
    elif kind == "jacket":
        w = tx.smoothstep(0.02, -0.02, np.abs(u) - 0.12 - 0.2 * np.clip(v, 0, None))
    else:
        w = np.zeros_like(u)
    fabric = 1.0 + 0.07 * tx.fractal_noise(rng, size, 32, 3, box=box)
    folds = 1.0 + 0.16 * tx.value_noise(rng, size, (3, 7), box=box)
    across = np.clip(u / p.shoulder, -1.2, 1.2)
    cyl = 1.0 - 0.22 * across**2 + 0.12 * p.light[0] * np.clip(across, -1, 1)
    colour = c1 + w[..., None] * (c2 - c1)
    return colour * (fabric * folds * cyl)[..., None]


def _painter(canvas: Array, alpha: Array, unit: float, size: int):
    """``paint(d, colour)``: composite a part with signed distance ``d`` (in head widths) over ``canvas``
    and add its coverage to the person's ``alpha`` (both are views of the same window as ``d``)."""

    def paint(d: Array, colour, soft: float = 1.0) -> None:
        a = tx.coverage(d * unit, size, soft)
        tx.over(canvas, colour, a)
        np.maximum(alpha, a, out=alpha)

    return paint


def _image_box(p: Person, size: int, pts, margin: float) -> tx.Box:
    """Pixel window around body-frame points ``pts`` (head widths) grown by ``margin`` head widths."""
    pts = np.asarray(pts, np.float64)
    c, s = np.cos(p.lean), np.sin(p.lean)
    xs = p.ox + p.unit * (c * pts[:, 0] - s * pts[:, 1])
    ys = p.oy + p.unit * (s * pts[:, 0] + c * pts[:, 1])
    m = margin * p.unit
    return tx.window(size, xs.min() - m, xs.max() + m, ys.min() - m, ys.max() + m)


def _arm_joints(rng: np.random.Generator, p: Person, sx) -> list[tuple[list, bool]]:
    """Shoulder, elbow, wrist and hand points of both arms, and whether each arm is behind the torso."""
    pose = rng.choice(["down", "hips", "crossed", "raised"], p=[0.5, 0.2, 0.2, 0.1])
    arms = []
    for side, sign in ((0, -1.0), (1, 1.0)):
        up, fore = {  # segment angles: 0 = hanging straight down, positive = outwards
            "down": (rng.uniform(0.05, 0.22), rng.uniform(-0.15, 0.25)),
            "hips": (rng.uniform(0.45, 0.7), rng.uniform(-1.3, -0.9)),
            "crossed": (rng.uniform(0.05, 0.15), rng.uniform(-1.9, -1.6)),
            "raised": (rng.uniform(2.0, 2.5), rng.uniform(2.6, 3.1)) if side == 1 else (0.12, 0.05),
        }[pose]
        j0 = (sign * (p.shoulder - 0.32) * sx[side], p.slope + 0.3)
        j1 = (j0[0] + sign * 1.5 * np.sin(up), j0[1] + 1.5 * np.cos(up))
        j2 = (j1[0] + sign * 1.3 * np.sin(fore), j1[1] + 1.3 * np.cos(fore))
        j3 = (j2[0] + sign * 0.2 * np.sin(fore), j2[1] + 0.2 * np.cos(fore))
        arms.append(([j0, j1, j2, j3], pose == "down" or (pose == "raised" and side == 0)))
    return arms


def draw_person(canvas: Array, rng: np.random.Generator, size: int, p: Person) -> Array:
    """Paint ``p`` onto ``canvas`` [S, S, 3] in place; returns the person coverage float32 [S, S].

    Work happens in the person's bounding window, and small parts (face, arms, legs) in their own
    sub-windows; lengths are in head widths in the body frame (origin at the neck base, y down).
    """
    w, s = p.shoulder, p.slope
    sx = (1.0 - 0.18 * p.yaw, 1.0 + 0.18 * p.yaw)  # the far shoulder looks narrower
    hx, hy = 0.08 * p.yaw, -(p.neck + 0.62)  # head centre
    arms = _arm_joints(rng, p, sx)
    legs = p.oy + 3.2 * p.unit < 1.05  # hips inside the picture
    style = rng.choice(["short", "long", "curly", "bun", "bald"], p=[0.36, 0.36, 0.12, 0.1, 0.06])
    hair_len, hair_ext = rng.uniform(0.6, 2.4), rng.uniform(0.03, 0.12)
    head_pts = [(hx - 1.2, hy - 1.3), (hx + 1.2, hy + 1.0)] + ([(hx, hy + hair_len + 0.5)] if style == "long" else [])
    pts = head_pts + [(-1.3 * w, 3.6), (1.3 * w, 3.6)] + [j for joints, _ in arms for j in joints]
    if legs:
        pts += [(-1.6 * w, 8.0), (1.6 * w, 8.0)]
    box = _image_box(p, size, pts, 0.4)

    alpha = np.zeros((size, size), np.float32)
    x, y = tx.grid(size)
    u, v = tx.rotate(x[box], y[box], p.ox, p.oy, p.lean)
    u, v = u / p.unit, v / p.unit
    cv, al = canvas[box], alpha[box]
    paint = _painter(cv, al, p.unit, size)

    def part(pts, margin):  # window of a part, relative to ``box``, and its painter
        b = tx.within(box, _image_box(p, size, pts, margin))
        return b, _painter(cv[b], al[b], p.unit, size)

    blotch = 0.04 * tx.value_noise(rng, size, 6, 3, box) + 0.04 * tx.fractal_noise(rng, size, 24, 2, box=box)[..., None]
    skin = p.skin * (1.0 + blotch)
    cloth = _clothing(rng, size, u, v, p, box)

    # --- torso: a polygon with rounded shoulders
    torso_pts = [(-0.27, -0.14), (-0.7 * sx[0], 0.02 + 0.5 * s), (-(w - 0.3) * sx[0], s),
                 (-w * sx[0], 0.9), (-0.86 * w * sx[0], 2.3), (-0.92 * w * sx[0], 3.4),
                 (0.92 * w * sx[1], 3.4), (0.86 * w * sx[1], 2.3), (w * sx[1], 0.9), ((w - 0.3) * sx[1], s),
                 (0.7 * sx[1], 0.02 + 0.5 * s), (0.27, -0.14)]  # fmt: skip
    d_torso = tx.sd_polygon(u, v, np.array(torso_pts))
    for side, sign in ((0, -1.0), (1, 1.0)):
        jx = sign * (w - 0.32) * sx[side]
        d_torso = tx.smooth_union(d_torso, np.hypot(u - jx, v - s - 0.3) - 0.32, 0.15)

    # --- head frame (rolled), hair fields on the head window
    hb, head_paint = part(head_pts, 0.3)
    hu, hv = tx.rotate(u[hb], v[hb], hx, hy, p.head_roll)
    hbox_abs = tx.absolute(box, hb)
    clump = max(3, min(48, int(round(4.0 / p.unit))))  # hair clumps scale with the head
    edge = 0.05 * tx.fractal_noise(rng, size, clump, 3, box=hbox_abs)
    strands = tx.fractal_noise(rng, size, 2 * clump, 3, stretch=6.0, box=hbox_abs)
    hair = p.hair * (0.85 + 0.3 * strands)[..., None]

    long_front = rng.random() < 0.4
    d_back = None
    if style == "long":
        widen = 0.58 + hair_ext + 0.06 * np.clip(hv, 0, None)
        d_back = (
            tx.smooth_union(
                tx.sd_ellipse(hu, hv + 0.06, 0.55 + hair_ext, 0.7 + hair_ext),
                tx.sd_box(hu, hv - hair_len / 2, widen, hair_len / 2, 0.2),
                0.2,
            )
            + edge
        )
        if not long_front:
            head_paint(d_back, hair)

    # --- arms behind the torso, legs, neck, torso, neckline, arms in front
    sleeve = rng.choice([1.05, 0.45, 0.0], p=[0.55, 0.35, 0.1])
    front = []
    for (j0, j1, j2, j3), behind in arms:
        ab, arm_paint = part([j0, j1, j2, j3], 0.35)
        ua, va = u[ab], v[ab]
        d_up, t_up, side_up = tx.sd_capsule(ua, va, j0, j1, 0.27, 0.2)
        d_fo, t_fo, side_fo = tx.sd_capsule(ua, va, j1, j2, 0.2, 0.14)
        upper = d_up < d_fo
        on_sleeve = np.where(upper, t_up * 0.5, 0.5 + 0.5 * t_fo) < sleeve
        roll = np.where(upper, side_up, side_fo)
        lit = (0.9 - 0.25 * roll**2 + 0.15 * roll * np.sign(j1[0] - j0[0] + 1e-9) * p.light[0])[..., None]
        colour = np.where(on_sleeve[..., None], cloth[ab], skin[ab]) * lit
        d_arm = np.minimum(np.minimum(d_up, d_fo), tx.sd_ellipse(ua - j3[0], va - j3[1], 0.15, 0.15))
        if behind:
            arm_paint(d_arm, colour)
        else:
            front.append((arm_paint, d_arm, colour))
    if legs:
        pants = tx.jitter(rng, [[0.2, 0.25, 0.4], [0.08, 0.08, 0.09], [0.55, 0.5, 0.4]][rng.integers(3)], 0.2)
        for sign in (-1.0, 1.0):
            hip = (sign * 0.45 * w, 3.2)
            foot = (sign * rng.uniform(0.4, 0.9) * w, 3.2 + rng.uniform(3.6, 4.0))
            lb, leg_paint = part([hip, foot], 0.6)
            d_leg, _, roll = tx.sd_capsule(u[lb], v[lb], hip, foot, 0.42, 0.22)
            leg_paint(d_leg, pants * (0.9 - 0.25 * roll**2)[..., None])
            leg_paint(tx.sd_ellipse(u[lb] - foot[0] - sign * 0.1, v[lb] - foot[1] - 0.05, 0.3, 0.12), pants * 0.35)
    neck_d = tx.sd_box(u - hx * 0.5, v - (hy + 0.15) / 2, 0.24, (0.15 - hy) / 2, 0.08)
    paint(neck_d, skin * (0.75 + 0.1 * p.light[0] * np.clip(u / 0.25, -1, 1))[..., None])
    paint(d_torso, cloth)
    neckline = rng.choice(["v", "round", "high"], p=[0.35, 0.45, 0.2])
    if neckline == "v":
        d_open = tx.sd_polygon(u, v, np.array([(-0.34, -0.3), (0.34, -0.3), (0.0, rng.uniform(0.3, 1.1))]))
        paint(np.maximum(d_open, d_torso), skin * 0.85)
    elif neckline == "round":
        d_open = tx.sd_ellipse(u, v + 0.1, rng.uniform(0.32, 0.5), rng.uniform(0.2, 0.42))
        paint(np.maximum(d_open, d_torso), skin * 0.85)
    for arm_paint, d_arm, colour in front:
        arm_paint(d_arm, colour)
    if d_back is not None and long_front:
        head_paint(np.maximum(d_back, -(v[hb] - 0.9)), hair)  # strands over the shoulders, cut above the chest

    # --- ears, head, face, hair on top, hat
    jaw = 1.0 - 0.17 * np.clip(hv / 0.64, 0, 1) ** 1.5
    nx, ny = np.clip(hu / (0.5 * jaw), -1, 1), np.clip(hv / 0.64, -1, 1)
    face_shade = _shading(nx, ny, p.light)[..., None]
    head_skin = skin[hb]
    for sign in (-1.0, 1.0):
        head_paint(tx.sd_ellipse(hu - sign * 0.49 + 0.05 * p.yaw, hv - 0.02, 0.075, 0.14), head_skin * 0.8)
    head_paint(tx.sd_ellipse(hu / jaw, hv, 0.5, 0.64), head_skin * face_shade)
    _draw_face(cv[hb], head_paint, rng, hu, hv, p, face_shade, head_skin)
    if style != "bald" or rng.random() < 0.5:
        big = hair_ext + (0.22 if style == "curly" else 0.0)
        d_cap = tx.sd_ellipse(hu, hv + 0.08 + 0.5 * big, 0.5 + big, 0.7 + big)
        line = rng.uniform(-0.34, -0.12) + 0.45 * (np.abs(hu) / 0.5) ** 3 - (0.25 if style == "bald" else 0.0)
        if rng.random() < 0.35:  # side parting
            line = line - 0.08 * np.clip(hu * rng.choice([-1, 1]), 0, None)
        d_top = np.maximum(d_cap, (hv - line) * 0.6) + edge * (1.8 if style == "curly" else 1.0)
        if style == "bun":
            d_top = np.minimum(d_top, np.hypot(hu - 0.05, hv + 0.82) - 0.22 + edge)
        sheen = 1.0 + 0.25 * np.clip(-ny, 0, 1) * np.clip(1 - np.abs(nx), 0, 1)
        head_paint(d_top, hair * sheen[..., None])
    if rng.random() < 0.08:  # a hat counts as person in matting ground truth
        hat = tx.random_colour(rng, 0.5)
        d_hat = np.maximum(tx.sd_ellipse(hu, hv + 0.25, 0.58, 0.5), hv + 0.28)
        head_paint(np.minimum(d_hat, tx.sd_box(hu, hv + 0.28, 0.75, 0.05, 0.04)), hat * face_shade)
    return alpha


def _draw_face(canvas: Array, paint, rng: np.random.Generator, hu: Array, hv: Array, p: Person, face_shade, skin):
    """Eyes, brows, nose, mouth and sometimes glasses or a beard, in head coordinates."""
    if rng.random() < 0.1:  # seen from behind or in deep profile: no features
        return
    shift = 0.12 * p.yaw
    iris = tx.jitter(rng, [[0.25, 0.15, 0.08], [0.3, 0.45, 0.6], [0.3, 0.4, 0.25]][rng.integers(3)], 0.2)
    for sign in (-1.0, 1.0):
        ex, ey = sign * 0.19 + shift, -0.02
        paint(tx.sd_ellipse(hu - ex, hv - ey, 0.085, 0.038), np.array([0.86, 0.83, 0.8]) * face_shade)
        paint(np.hypot(hu - ex - 0.3 * shift, hv - ey) - 0.034, iris * 0.7)
        paint(tx.sd_capsule(hu, hv, (ex - 0.09, ey - 0.03), (ex + 0.09, ey - 0.035), 0.012, 0.012)[0], p.hair * 0.6)
        brow = tx.sd_capsule(hu, hv, (ex - 0.1, ey - 0.13), (ex + 0.09, ey - 0.145 + 0.02 * sign), 0.022, 0.016)[0]
        paint(brow, p.hair * 0.9)
        paint(tx.sd_ellipse(hu - shift * 1.3 - sign * 0.05, hv - 0.24, 0.03, 0.018), skin * 0.45)
    # the nose is a soft shadow on the side away from the light
    nose = np.clip(1 - np.abs(hu - shift * 1.3 + 0.04 * np.sign(p.light[0] + 1e-6)) / 0.045, 0, 1)
    canvas *= (1.0 - 0.2 * nose * tx.smoothstep(-0.04, 0.04, hv) * tx.smoothstep(0.26, 0.18, hv))[..., None]
    lips = skin * np.array([0.85, 0.55, 0.55], np.float32)
    mw, mh = rng.uniform(0.12, 0.17), rng.uniform(0.03, 0.05)
    paint(tx.sd_ellipse(hu - shift * 1.2, hv - 0.39, mw, mh), lips * face_shade)
    paint(tx.sd_capsule(hu, hv, (shift * 1.2 - mw * 0.9, 0.39), (shift * 1.2 + mw * 0.9, 0.39), 0.008, 0.008)[0],
          lips * 0.5)  # fmt: skip
    if rng.random() < 0.12:
        beard = np.maximum(tx.sd_ellipse(hu, hv, 0.49, 0.64), -(hv - 0.22)) + 0.03 * np.sin(hu * 60) * np.sin(hv * 47)
        paint(np.maximum(beard, -tx.sd_ellipse(hu - shift * 1.2, hv - 0.39, mw + 0.02, mh + 0.02)), p.hair)
    if rng.random() < 0.14:
        frame = tx.jitter(rng, [0.1, 0.08, 0.07], 0.5)
        for sign in (-1.0, 1.0):
            ring = np.abs(tx.sd_ellipse(hu - sign * 0.19 - shift, hv + 0.01, 0.14, 0.1)) - 0.016
            paint(ring, frame)
        paint(tx.sd_capsule(hu, hv, (shift - 0.06, -0.02), (shift + 0.06, -0.02), 0.014, 0.014)[0], frame)


# ------------------------------------------------------------------------------------------- backdrop


def render_portrait(layout: np.random.Generator, pixel: np.random.Generator, size: int) -> tuple[Array, Array]:
    """One portrait and its mask.

    Parameters
    ----------
    layout : numpy.random.Generator
        Stream for everything that does not depend on the size (geometry, colours, textures).
    pixel : numpy.random.Generator
        Stream for sensor noise.
    size : int
        Side ``S`` in pixels.

    Returns
    -------
    image : uint8 [S, S, 3]
    mask : uint8 [S, S]
        1 where the person covers at least half the pixel, else 0.
    """
    person = sample_person(layout)
    canvas = draw_backdrop(layout, size, person)
    alpha = draw_person(canvas, layout, size, person)
    image = tx.camera(canvas, layout, pixel)
    return image, (alpha >= 0.5).astype(np.uint8)
