"""Benchmarks: ``python -m lssc_sim.bench {link,bler,scaling,mainjob} ...`` (``--help`` lists what each measures).

``python -m lssc_sim.bench link [--json PATH] [--blocks N]``: end-to-end information throughput (Mbit/s) and
BLER of ``FastBitLink`` and ``BitLink`` (Sionna's APP demapper and ``LDPC5GDecoder``, boxplus-phi, 20
iterations) at the cliff and above it, QPSK and 16-QAM, k = 4032 and 8448 at rate 1/2, AWGN.

``python -m lssc_sim.bench bler [--out DIR]``: BLER vs Eb/N0 of both decoders on identical LLRs (QPSK, AWGN,
k = 4032, rate 1/2), the Eb/N0 of each at BLER 1e-2 and their gap; JSON, then a figure made from the JSON.

``python -m lssc_sim.bench scaling [--scenario SCENARIO] [--json PATH]``: sweep wall time against the number of
Points and of images, then the main job on the process executor with 1 and 2 single-threaded workers (the
executor's scaling) and on the local executor (every core in one process), each from scratch.

``python -m lssc_sim.bench mainjob [SCENARIO] [--executor local|process] [--workers N] [--threads T]
[--json PATH]``: the main job run from scratch in a child process, as a user runs it: wall time, time by stage
(source coding, LDPC encoding, channel and demapping, decoding, source decoding, segmentation; the semantic
codec's encoding, channel, decoding) and peak memory of all its processes together.

Eb/N0 counts ``Eb`` per LDPC information bit (CRC included): ``Es/N0 = Eb/N0 * bits_per_symbol * k / n``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

import lssc_sim  # noqa: F401  (silences TensorFlow before it is imported)
from lssc_sim.bench.link import OUT_DIR, bench_bler, bench_link, format_link_table, plot_bler
from lssc_sim.bench.runs import MAIN_JOB, bench_main_job, bench_scaling, describe_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lssc_sim.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p_link = sub.add_parser("link", help="throughput of the fast and the reference link")
    p_link.add_argument("--json", type=Path, default=OUT_DIR / "link.json")
    p_link.add_argument("--blocks", type=int, default=128, help="blocks per operating point and path")
    p_bler = sub.add_parser("bler", help="BLER curves of both decoders")
    p_bler.add_argument("--out", type=Path, default=OUT_DIR)
    p_scaling = sub.add_parser("scaling", help="sweep time vs Points and images; the process executor's scaling")
    p_scaling.add_argument("--scenario", type=Path, default=MAIN_JOB, help="scenario of the executor runs")
    p_scaling.add_argument("--json", type=Path, default=OUT_DIR / "scaling.json")
    p_main = sub.add_parser("mainjob", help="time by stage and peak memory of the main job, from scratch")
    p_main.add_argument("scenario", nargs="?", type=Path, default=MAIN_JOB)
    p_main.add_argument("--executor", choices=["local", "process"], default="local")
    p_main.add_argument("--workers", type=int, default=2, help="process executor's workers")
    p_main.add_argument("--threads", type=int, help="threads per worker (default: the cores shared out)")
    p_main.add_argument("--out", type=Path, help="keep the results in this (empty) folder")
    p_main.add_argument("--json", type=Path, default=OUT_DIR / "mainjob.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.what == "link":
        rows = bench_link(args.blocks)
        table = format_link_table(rows)
        print(table)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "table": table}, indent=1))
        print(f"wrote {args.json}")
    elif args.what == "mainjob":
        res = bench_main_job(args.scenario, args.executor, args.workers, args.threads, args.out)
        print(f"{res['scenario']} ({describe_run(res)}): {res['points']} Points in {res['wall_seconds']:.1f} s "
              f"wall, peak memory {res['peak_rss_gib']:.2f} GiB")
        print("seconds in Points by system kind:", {k: round(v, 1) for k, v in res["point_seconds_by_kind"].items()})
        for stage, seconds in res["stage_seconds"].items():
            print(f"  {stage:18s} {seconds:8.1f} s")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")
    elif args.what == "scaling":
        res = bench_scaling(scenario=args.scenario)
        for count, seconds in res["local_seconds"].items():
            print(f"local, {count:3d} Points: {seconds:6.1f} s ({seconds / count:.2f} s per Point)")
        for count, seconds in res["images_seconds"].items():
            print(f"local, 3 Points of {count:3d} images: {seconds:6.1f} s ({seconds / count:.3f} s per image)")
        for run in res["executor_runs"].values():
            print(f"{res['executor_scenario']}, {describe_run(run)}: {run['wall_seconds']:6.1f} s, "
                  f"peak memory {run['peak_rss_gib']:.2f} GiB")
        print(f"process executor, 2 workers vs 1 (1 thread each): {res['process_speedup_2_vs_1_worker']:.2f}x; "
              f"2 workers vs local (all cores in one process): {res['local_vs_2_workers']:.2f}x")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        res = bench_bler(np.round(np.arange(0.8, 1.61, 0.1), 2))
        path = args.out / "bler.json"
        path.write_text(json.dumps(res, indent=1))
        print(f"Eb/N0 at BLER 1e-2: fast {res['fast_ebno_at_1e-2']:.3f} dB, reference "
              f"{res['reference_ebno_at_1e-2']:.3f} dB, gap {res['gap_db']:+.3f} dB")
        print("wrote", path, *plot_bler(path, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
