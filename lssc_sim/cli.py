"""Command line: ``python run_scenario.py SCENARIO [options]`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lssc_sim.logs import configure_logging, quiet_tensorflow_import

EPILOG = """\
Results go to results/<name>/ (or --out): points/<key>.json (one per finished Point, written atomically),
results.csv (one row per Point), manifest.json (versions, git commit, timing), scenario.yaml (resolved),
and the scenario's plots as PNG and PDF. A rerun resumes: stored Points are skipped unless --force.
Exit status: 0 done, 2 invalid scenario or arguments, 130 interrupted (rerun to resume)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_scenario.py",
        description="Run an lssc_sim scenario: sweep, store, plot.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", nargs="?", help="scenario YAML file, e.g. scenarios/ber_awgn.yaml")
    parser.add_argument("--out", type=Path, help="results folder (default: results/<scenario name>)")
    parser.add_argument(
        "--executor",
        choices=["local", "process", "ray"],
        default="local",
        help="run Points in this process (local), in a pool of processes (process) or on Ray actors, on a local "
        "Ray runtime or a Ray cluster (ray; pip install -e '.[ray]') (default: local)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="processes of the process executor, actors of ray (default: 2)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="threads per worker of the process and ray executors (default: the cores shared out; 1 on a cluster)",
    )
    parser.add_argument(
        "--address",
        help="running Ray cluster of --executor ray: auto (the one this machine belongs to) or ray://HOST:PORT "
        "(default: a local Ray runtime of --workers CPUs)",
    )
    parser.add_argument("--force", action="store_true", help="recompute Points that are already stored")
    parser.add_argument("--plot-only", action="store_true", help="remake the plots from results.csv only")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: at most 4 SNR points, 8 images and a reduced Monte-Carlo budget "
        "(results go to results/<name>_quick)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the scenarios, systems, channels, modulations, datasets and plots known",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1; found {args.workers}")
    if args.threads is not None and (args.threads < 1 or args.executor == "local"):
        parser.error(
            f"--threads sizes the workers of --executor process or ray and must be >= 1; found {args.threads}"
            f" with --executor {args.executor}"
        )
    if args.address is not None and args.executor != "ray":
        parser.error(f"--address names the Ray cluster of --executor ray; found --executor {args.executor}")
    if args.executor == "ray" and not args.plot_only and not args.list:
        from importlib.util import find_spec

        if find_spec("ray") is None:
            parser.error("--executor ray needs Ray, an optional extra: pip install -e '.[ray]'")
    configure_logging(args.verbose)
    if args.list:
        print_known()
        return 0
    if args.scenario is None:
        parser.print_usage(sys.stderr)
        print("run_scenario.py: error: a scenario file is required (or --list)", file=sys.stderr)
        return 2

    from lssc_sim.engine.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario, quick=args.quick)
    except ScenarioError as exc:
        print(f"invalid scenario:\n{exc}", file=sys.stderr)
        return 2
    out = args.out or Path("results") / scenario.name
    if not args.plot_only:
        quiet_tensorflow_import(args.verbose)
        from lssc_sim.engine.runner import run_scenario

        try:
            summary = run_scenario(
                scenario,
                out,
                executor=args.executor,
                workers=args.workers,
                force=args.force,
                progress=not args.no_progress,
                threads=args.threads,
                address=args.address,
            )
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: finished Points are stored in {out}; rerun the same command to resume", file=sys.stderr
            )
            return 130
        print(
            f"{summary.computed} Points computed, {summary.skipped} already stored, "
            f"{summary.seconds:.1f} s -> {out / 'results.csv'}"
        )
    else:
        problem = _results_problem(out, scenario.digest())
        if problem:
            print(f"--plot-only: {problem}", file=sys.stderr)
            return 2
    from lssc_sim.plots.make import make_plots

    spec = scenario.spec
    for path in make_plots(out, spec.plots, spec.title, spec.plot_style, args.quick, bd_anchor=spec.bd_anchor):
        print(f"figure: {path}")
    return 0


def _results_problem(out: Path, digest: str) -> str | None:
    """Why ``out`` cannot be plotted for the scenario of hash ``digest`` (None when it can)."""
    import json

    if not (out / "results.csv").is_file():
        return f"{out / 'results.csv'} not found; run the scenario first"
    try:
        recorded = json.loads((out / "manifest.json").read_text()).get("scenario_hash")
    except (OSError, ValueError):
        return f"{out / 'manifest.json'} is missing or unreadable: cannot tell which scenario made these results"
    if recorded != digest:
        return (
            f"the results in {out} were made by another scenario (hash {recorded}, this one {digest}): "
            "rerun it (stored Points of this scenario are reused) or give the scenario that made them"
        )
    return None


def print_known() -> None:
    from lssc_sim.channels import CHANNELS
    from lssc_sim.data import DATASETS
    from lssc_sim.digital.spec import MODULATIONS
    from lssc_sim.plots.catalog import PLOT_KINDS
    from lssc_sim.systems import SYSTEMS

    scenarios = sorted(Path("scenarios").glob("*.yaml"))
    print("scenarios:   " + (", ".join(str(p) for p in scenarios) or "(none in ./scenarios)"))
    print("systems:     " + ", ".join(SYSTEMS.names()))
    print("channels:    " + ", ".join(CHANNELS.names()))
    print("modulations: " + ", ".join(MODULATIONS))
    print("datasets:    " + ", ".join(DATASETS.names()))
    print("plots:       " + ", ".join(sorted(PLOT_KINDS)))
