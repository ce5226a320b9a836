"""How photograph-like is a dataset? Compressed sizes, class fractions and per-pixel colour classifiers.

The procedural sets must cost a digital link as many bits as photographs do (PNG 9.5-16.8 bits per pixel,
JPEG-75 1.2-2.4, measured on photographs resized to 128x128) and must not be segmentable from colour alone. Three colour
classifiers are trained on the train split and scored (mIoU) on the test split:

- ``logistic``: multinomial logistic regression on RGB (a linear rule);
- ``knn``: the majority of the 25 nearest training pixels in RGB;
- ``histogram``: the most frequent class of each cell of a 32x32x32 RGB histogram (lightly smoothed),
  with plain and class-balanced priors. This is about the best any rule that sees one pixel's colour
  can do, so the bar is checked against the best of all of them.

Run ``python -m lssc_sim.data realism`` to print the numbers and whether the bars hold.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage, optimize
from scipy.spatial import cKDTree

from lssc_sim.data.base import Dataset, DatasetSpec, load_dataset
from lssc_sim.metrics import ConfusionMatrix

# (low, high) per quantity; None = unbounded. Fractions are of all pixels.
BARS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "synthetic_portraits": {
        "png_bpp": (9.0, 17.0),
        "jpeg75_bpp": (1.0, 3.0),
        "fraction:person": (0.20, 0.50),
        "colour_miou": (None, 0.75),
    },
    "synthetic_street": {"png_bpp": (9.0, 17.0), "jpeg75_bpp": (1.0, 3.0), "colour_miou": (None, 0.60)},
}


def compressed_bpp(image: np.ndarray, fmt: str, **options) -> float:
    """Bits per pixel of ``image`` uint8 [H, W, 3] saved by Pillow as ``fmt`` ("PNG", "JPEG")."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt, **options)
    return 8.0 * buf.tell() / (image.shape[0] * image.shape[1])


def _summary(values) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max())}


# ------------------------------------------------------------------------------------- colour classifiers


def _fit_logistic(x: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """Weights [4, C] of a softmax regression on standardised RGB plus a bias (L-BFGS, small L2)."""
    feats = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    onehot = np.eye(num_classes)[y]

    def loss(w_flat):
        w = w_flat.reshape(4, num_classes)
        z = feats @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -np.log(np.maximum((p * onehot).sum(axis=1), 1e-12)).mean() + 1e-4 * (w**2).sum()
        grad = feats.T @ (p - onehot) / len(x) + 2e-4 * w
        return nll, grad.ravel()

    res = optimize.minimize(loss, np.zeros(4 * num_classes), jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return res.x.reshape(4, num_classes)


@dataclass
class ColourClassifiers:
    """Per-pixel colour rules fitted on training pixels; ``predict`` maps uint8 RGB [N, 3] to class ids."""

    num_classes: int
    seed: int = 0
    models: dict = field(default_factory=dict)

    def fit(self, rgb: np.ndarray, labels: np.ndarray) -> ColourClassifiers:
        rng = np.random.default_rng(self.seed)
        c = self.num_classes
        # histogram: counts per 5-bit RGB cell, smoothed by one cell so unseen shades borrow from neighbours
        cells = _cell(rgb)
        counts = np.stack([np.bincount(cells[labels == k], minlength=32**3) for k in range(c)], axis=1)
        counts = counts.reshape(32, 32, 32, c).astype(np.float64)
        counts = ndimage.gaussian_filter(counts, sigma=(0.7, 0.7, 0.7, 0), mode="nearest").reshape(-1, c)
        prior = np.bincount(labels, minlength=c).astype(np.float64)
        self.models["histogram"] = counts.argmax(axis=1)
        self.models["histogram_balanced"] = (counts / np.maximum(prior, 1)).argmax(axis=1)
        empty = counts.sum(axis=1) == 0
        for k in ("histogram", "histogram_balanced"):
            self.models[k][empty] = prior.argmax()
        pick = rng.choice(len(rgb), min(len(rgb), 60_000), replace=False)
        self.models["knn"] = (cKDTree(rgb[pick].astype(np.float32)), labels[pick])
        pick = rng.choice(len(rgb), min(len(rgb), 200_000), replace=False)
        mean, std = rgb.mean(axis=0), rgb.std(axis=0) + 1e-6
        self.models["logistic"] = (mean, std, _fit_logistic((rgb[pick] - mean) / std, labels[pick], c))
        return self

    def predict(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        cells = _cell(rgb)
        for k in ("histogram", "histogram_balanced"):
            out[k] = self.models[k][cells]
        tree, train_labels = self.models["knn"]
        # one query per distinct 6-bit colour: photographs have far fewer distinct colours than pixels
        q = (rgb >> 2).astype(np.int64)
        key = (q[:, 0] << 12) | (q[:, 1] << 6) | q[:, 2]
        uniq, inverse = np.unique(key, return_inverse=True)
        centres = np.stack([uniq >> 12, (uniq >> 6) & 63, uniq & 63], axis=1) * 4 + 2
        _, idx = tree.query(centres.astype(np.float32), k=25)
        c = self.num_classes
        flat = (np.arange(len(uniq))[:, None] * c + train_labels[idx]).ravel()
        votes = np.bincount(flat, minlength=len(uniq) * c).reshape(len(uniq), c)
        out["knn"] = votes.argmax(axis=1)[inverse]
        mean, std, w = self.models["logistic"]
        z = np.concatenate([(rgb - mean) / std, np.ones((len(rgb), 1))], axis=1) @ w
        out["logistic"] = z.argmax(axis=1)
        return out


def _cell(rgb: np.ndarray) -> np.ndarray:
    q = (rgb >> 3).astype(np.int64)
    return (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]


def colour_classifier_miou(train: Dataset, test: Dataset) -> dict[str, float]:
    """mIoU on ``test`` of each colour classifier fitted on ``train`` (ignore label respected)."""
    images, masks = train.batch(range(len(train)))
    rgb, labels = images.reshape(-1, 3), masks.reshape(-1)
    keep = labels != train.ignore_index
    clf = ColourClassifiers(train.num_classes, seed=train.spec.seed).fit(rgb[keep].astype(np.int64), labels[keep])
    images, masks = test.batch(range(len(test)))
    preds = clf.predict(images.reshape(-1, 3).astype(np.int64))
    scores = {}
    for name, pred in preds.items():
        cm = ConfusionMatrix(test.num_classes, test.ignore_index)
        cm.update(pred, masks.reshape(-1))
        scores[name] = cm.miou()
    return scores


# ----------------------------------------------------------------------------------------- measurement


def measure(name: str, num_train: int = 200, num_test: int = 100, image_size: int = 128, seed: int = 0,
            path: str | None = None) -> dict:  # fmt: skip
    """All realism numbers of one dataset: bpp, class fractions, colour-classifier mIoU, generation time."""
    test = load_dataset(DatasetSpec(name=name, split="test", num_images=num_test, image_size=image_size,
                                    seed=seed, path=path))  # fmt: skip
    test[0]  # warm the caches (grids, interpolation weights) before timing
    items, seconds = [], []
    for i in range(len(test)):
        t0 = time.perf_counter()
        items.append(test[i])
        seconds.append(time.perf_counter() - t0)
    seconds_per_image = float(np.median(seconds))
    png = [compressed_bpp(im, "PNG") for im, _ in items]
    jpeg = [compressed_bpp(im, "JPEG", quality=75) for im, _ in items]
    result = {
        "name": name,
        "image_size": image_size,
        "num_test": num_test,
        "num_train": num_train,
        "seconds_per_image": seconds_per_image,
        "png_bpp": _summary(png),
        "jpeg75_bpp": _summary(jpeg),
        "fractions": {},
    }
    for k, cls_name in enumerate(test.class_names):
        result["fractions"][cls_name] = _summary([(m == k).mean() for _, m in items])
    result["fractions"]["(ignore)"] = _summary([(m == test.ignore_index).mean() for _, m in items])
    train = load_dataset(DatasetSpec(name=name, split="train", num_images=num_train, image_size=image_size,
                                     seed=seed, path=path))  # fmt: skip
    result["colour_miou"] = colour_classifier_miou(train, test)
    result["bars"] = check_bars(result)
    return result


def check_bars(result: dict) -> dict[str, tuple[float, bool]]:
    """``{quantity: (value, holds)}`` for the bars of ``result["name"]`` (none for real datasets)."""
    out = {}
    for key, (low, high) in BARS.get(result["name"], {}).items():
        if key == "colour_miou":
            value = max(result["colour_miou"].values())
        elif key.startswith("fraction:"):
            value = result["fractions"][key.split(":", 1)[1]]["mean"]
        else:
            value = result[key]["mean"]
        out[key] = (value, (low is None or value >= low) and (high is None or value <= high))
    return out


def format_report(result: dict) -> str:
    """A plain-text table of :func:`measure`'s numbers."""

    def row(label: str, s: dict) -> str:
        return f"  {label:<22} mean {s['mean']:7.3f}  std {s['std']:6.3f}  min {s['min']:7.3f}  max {s['max']:7.3f}"

    lines = [
        f"{result['name']} at {result['image_size']}x{result['image_size']} "
        f"({result['num_test']} test images, colour classifiers trained on {result['num_train']})",
        f"  generation             {1e3 * result['seconds_per_image']:.1f} ms per image (median wall time)",
        row("PNG bits/pixel", result["png_bpp"]),
        row("JPEG-75 bits/pixel", result["jpeg75_bpp"]),
        "  class fractions (of all pixels):",
    ]
    lines += [row("  " + k, s) for k, s in result["fractions"].items()]
    lines.append("  colour-classifier mIoU: " + ", ".join(f"{k} {v:.3f}" for k, v in result["colour_miou"].items()))
    for key, (value, ok) in result["bars"].items():
        low, high = BARS[result["name"]][key]
        span = f"[{'' if low is None else low}, {'' if high is None else high}]"
        lines.append(f"  bar {key:<20} {value:7.3f} in {span:<12} {'ok' if ok else 'FAILS'}")
    return "\n".join(lines)
