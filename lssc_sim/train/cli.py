"""Train a codec from a YAML config: ``python -m lssc_sim.train CONFIG.yaml [--out DIR]``.

The YAML holds the keys of :class:`lssc_sim.train.config.TrainConfig` (only those that differ from the
defaults), e.g.::

    codec: lssc
    channel: awgn
    epochs: 30
    out: results/models/lssc_awgn

Running it again on the same output folder resumes after the last finished epoch.
"""

from __future__ import annotations

import argparse
import logging
import sys

import lssc_sim  # noqa: F401  (silences TensorFlow's start-up logs before it is imported)
from lssc_sim.train.config import ConfigError, load_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lssc_sim.train", description=__doc__.split("\n")[0])
    parser.add_argument("config", help="YAML file of TrainConfig keys")
    parser.add_argument("--out", help="output folder (overrides the config's `out`)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    from lssc_sim.train.loop import train

    try:
        result = train(config, out_dir=args.out, progress=not args.quiet)
    except ValueError as exc:  # e.g. no output folder, or a folder holding another config's run
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2
    print(f"best val mIoU {result.best_val_miou:.4f} after {result.epochs_run} epochs: {result.model_path}")
    return 0

