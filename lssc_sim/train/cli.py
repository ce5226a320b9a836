"""The training command line: ``python -m lssc_sim.train CONFIG.yaml [--out DIR]`` (``--help`` lists the keys)."""

from __future__ import annotations

import argparse
import logging
import sys

from lssc_sim.logs import quiet_tensorflow_import
from lssc_sim.train.config import ConfigError, TrainConfig, load_config

DESCRIPTION = """\
Train a split codec (or the clean-image segmenter) from a YAML config, for example

    codec: lssc
    channel: awgn
    epochs: 30
    out: results/models/lssc_awgn

Running it again on the same output folder resumes after the last finished epoch. The folder receives
best.keras, encoder.keras and decoder.keras (the device and server halves), card.json and TensorBoard logs."""


def keys_help() -> str:
    """The config keys, their defaults and meanings, as plain text (from the fields of TrainConfig)."""
    lines = ["config keys (only those that differ from the defaults are needed):"]
    for name, field in TrainConfig.model_fields.items():
        default = "required" if field.is_required() else f"default {field.get_default(call_default_factory=True)}"
        if name == "dataset":
            default = "default synthetic_portraits, seed 0"
        lines.append(f"  {name:15s} {field.description} ({default})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lssc_sim.train",
        description=DESCRIPTION,
        epilog=keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    quiet_tensorflow_import()
    from lssc_sim.train.loop import train

    try:
        result = train(config, out_dir=args.out, progress=not args.quiet)
    except ValueError as exc:  # e.g. no output folder, or a folder holding another config's run
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2
    print(f"best val mIoU {result.best_val_miou:.4f} after {result.epochs_run} epochs: {result.model_path}")
    return 0
