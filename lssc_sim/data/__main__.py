"""``python -m lssc_sim.data preview NAME`` and ``python -m lssc_sim.data realism [NAME ...]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lssc_sim.data.base import DATASETS, Dataset, DatasetSpec, load_dataset
from lssc_sim.data.realism import compressed_bpp, format_report, measure


def contact_sheet(ds: Dataset, columns: int = 8, alpha: float = 0.5) -> np.ndarray:
    """uint8 image: each item as its picture above the same picture with the mask overlaid.

    Classes named "background" stay untinted; ignored pixels are shown washed out in white.
    """
    colours = np.zeros((256, 3), np.float32)
    colours[: ds.num_classes] = np.asarray(ds.colours(), np.float32)
    tint = np.zeros(256, np.float32)
    tint[: ds.num_classes] = [0.0 if n == "background" else alpha for n in ds.class_names]
    colours[ds.ignore_index], tint[ds.ignore_index] = 255.0, 0.6
    tiles = []
    for i in range(len(ds)):
        image, mask = ds[i]
        t = tint[mask][..., None]
        overlay = image * (1 - t) + colours[mask] * t
        tiles.append(np.concatenate([image, overlay.astype(np.uint8)], axis=0))
    h, w = ds.spec.hw
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * (2 * h + 4), min(columns, len(tiles)) * (w + 4), 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        sheet[r * (2 * h + 4) : r * (2 * h + 4) + 2 * h, c * (w + 4) : c * (w + 4) + w] = tile
    return sheet


def preview(args: argparse.Namespace) -> int:
    size = args.image_size[0] if len(args.image_size) == 1 else tuple(args.image_size)
    spec = DatasetSpec(name=args.name, split=args.split, num_images=args.num_images, image_size=size,
                       seed=args.seed, path=args.path)  # fmt: skip
    ds = load_dataset(spec)
    out = Path(args.out or f"results/preview/{spec.name}_{spec.split}_{'x'.join(map(str, args.image_size))}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(contact_sheet(ds, args.columns)).save(out)
    items = [ds[i] for i in range(len(ds))]
    png = [compressed_bpp(im, "PNG") for im, _ in items]
    jpeg = [compressed_bpp(im, "JPEG", quality=75) for im, _ in items]
    print(f"{ds!r}\ncontact sheet: {out}")
    print(f"PNG bits/pixel     mean {np.mean(png):.2f}  min {np.min(png):.2f}  max {np.max(png):.2f}")
    print(f"JPEG-75 bits/pixel mean {np.mean(jpeg):.2f}  min {np.min(jpeg):.2f}  max {np.max(jpeg):.2f}")
    masks = np.stack([m for _, m in items])
    print("class fractions of all pixels:")
    for k, name in list(enumerate(ds.class_names)) + [(ds.ignore_index, "(ignore)")]:
        per_image = (masks == k).mean(axis=(1, 2))
        print(f"  {name:<16} mean {per_image.mean():.3f}  min {per_image.min():.3f}  max {per_image.max():.3f}")
    return 0


def realism(args: argparse.Namespace) -> int:
    names = args.names or ["synthetic_portraits", "synthetic_street"]
    ok = True
    results = []
    for name in names:
        result = measure(name, args.train, args.test, args.image_size, args.seed, args.path)
        results.append(result)
        print(format_report(result), flush=True)
        ok &= all(holds for _, holds in result["bars"].values())
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok or not args.check else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lssc_sim.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("preview", help="write a contact sheet (images and mask overlays) and print statistics")
    p.add_argument("name", help=f"dataset name ({', '.join(DATASETS.names())})")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--num-images", type=int, default=32)
    p.add_argument("--image-size", type=int, nargs="+", default=[128], help="side, or height and width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--path", default=None, help="root folder of a real dataset")
    p.add_argument("--columns", type=int, default=8)
    p.add_argument("--out", default=None, help="PNG file (default results/preview/NAME_SPLIT_SIZE.png)")
    p.set_defaults(func=preview)
    r = sub.add_parser("realism", help="measure bits per pixel, class fractions and colour-classifier mIoU")
    r.add_argument("names", nargs="*", help="datasets (default: both procedural sets)")
    r.add_argument("--train", type=int, default=200, help="training images for the colour classifiers")
    r.add_argument("--test", type=int, default=100, help="test images measured")
    r.add_argument("--image-size", type=int, default=128)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--path", default=None, help="root folder, for a real dataset")
    r.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    r.add_argument("--check", action="store_true", help="exit with status 1 when a bar is not met")
    r.set_defaults(func=realism)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # bad spec or layout: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
