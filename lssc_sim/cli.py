"""Command line: ``python run_scenario.py SCENARIO [key.path=value ...] [options]`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lssc_sim.logs import configure_logging

EPILOG = """\
Overrides change the scenario's keys for this run, validated like the file:
  python run_scenario.py scenarios/awgn_sweep.yaml dataset.num_images=20 'sweep.snr_db=[0, 5, 10]'
  python run_scenario.py scenarios/awgn_sweep.yaml systems.png_ldpc.fec.rate=0.75 '~systems.lssc'
(values are YAML; ~key removes a key). They are recorded in scenario.yaml and manifest.json.

Results go to results/<name>/ (or --out): points/<key>.json (one per finished Point, written atomically, with
a checksum), results.csv (one row per Point), manifest.json (versions, git commit, timing), scenario.yaml
(resolved), the scenario's plots as PNG and PDF, and report.md / report.html. A rerun resumes: stored Points
are skipped unless --force; a damaged Point file is named and recomputed. One run at a time per folder.
Exit status: 0 done, 2 invalid scenario or arguments, 3 folder in use by another run, 130 interrupted (rerun
to resume)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_scenario.py",
        description="Run an lssc_sim scenario: sweep, store, plot.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", nargs="?", help="scenario YAML file, e.g. scenarios/ber_awgn.yaml")
    parser.add_argument(
        "overrides", nargs="*", metavar="key.path=value", help="override a scenario key (see below); ~key removes one"
    )
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
    parser.add_argument(
        "--plot-only", action="store_true", help="remake the plots and the report from results.csv only"
    )
    parser.add_argument(
        "--stale",
        action="store_true",
        help="list the files in points/ that are no Point of this scenario (older versions, other overrides)",
    )
    parser.add_argument("--prune", action="store_true", help="remove the files --stale lists")
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
    args = parser.parse_intermixed_args(argv)  # overrides may come after options
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

    from lssc_sim.api import NotDrawable, load, run
    from lssc_sim.engine.lock import FolderBusy
    from lssc_sim.engine.scenario import ScenarioError

    try:
        scenario = load(args.scenario, args.overrides, quick=args.quick)
    except ScenarioError as exc:
        print(f"invalid scenario:\n{exc}", file=sys.stderr)
        return 2
    out = args.out or Path("results") / scenario.name
    try:
        if args.stale or args.prune:
            return _stale(scenario, out, remove=args.prune)
        result = run(
            scenario,
            out=out,
            force=args.force,
            plot_only=args.plot_only,
            executor=args.executor,
            workers=args.workers,
            threads=args.threads,
            address=args.address,
            progress=not args.no_progress,
            verbose=args.verbose,
        )
    except FolderBusy as exc:
        print(f"run_scenario.py: {exc}", file=sys.stderr)
        return 3
    except NotDrawable as exc:
        print(f"--plot-only: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished Points are stored in {out}; rerun the same command to resume", file=sys.stderr)
        return 130
    if result.summary is not None:
        summary = result.summary
        stale = f", {summary.stale} stale files in points/ (--stale lists them)" if summary.stale else ""
        damaged = f", {len(summary.damaged)} damaged files recomputed (see the warnings above)" * bool(summary.damaged)
        print(
            f"{summary.computed} Points computed, {summary.skipped} already stored{damaged}{stale}, "
            f"{summary.seconds:.1f} s -> {out / 'results.csv'}"
        )
    for path in result.figures:
        print(f"figure: {path}")
    for path in result.report:
        print(f"report: {path}")
    return 0


def _stale(scenario, out: Path, remove: bool) -> int:
    """List (and with ``remove`` delete) the files in ``out/points`` that are no Point of ``scenario``."""
    import json

    from lssc_sim.engine.lock import folder_lock
    from lssc_sim.engine.results import ResultStore

    store = ResultStore(out)
    if not store.points_dir.is_dir():
        print(f"{store.points_dir}: no such folder, nothing stored")
        return 0
    with folder_lock(out):
        stale = store.stale(p.key for p in scenario.points())
        for path in stale:
            try:
                record = json.loads(path.read_text())
                what = f"{record['params']['system']}, scenario {record.get('scenario_hash')}, {record['finished']}"
            except (OSError, ValueError, KeyError, TypeError):
                what = "not a Point file (a killed write's temporary file, or damaged)"
            print(f"{'removed' if remove else 'stale'}: {path} ({what})")
            if remove:
                path.unlink()
    verb = "removed" if remove else "stale (--prune removes them)"
    print(f"{len(stale)} files {verb}; {len(scenario.points())} Points belong to this scenario")
    return 0


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
