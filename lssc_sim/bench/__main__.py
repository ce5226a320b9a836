"""Benchmarks: python -m lssc_sim.bench {noise,link,bler,scaling,mainjob,runtime}; ``--help`` lists what each
measures."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from lssc_sim.logs import quiet_tensorflow_import

quiet_tensorflow_import()  # before the benchmarks import it
from lssc_sim.bench.link import OUT_DIR, bench_bler, bench_link, format_link_table, plot_bler  # noqa: E402
from lssc_sim.bench.noise import bench_noise  # noqa: E402
from lssc_sim.bench.runs import MAIN_JOB, bench_main_job, bench_scaling, describe_run  # noqa: E402
from lssc_sim.bench.runtime import bench_runtime, format_runtime_table  # noqa: E402

DESCRIPTION = """\
Speed and memory of lssc_sim, as ratios against a reference measured in the same run (runtime: seconds on this
machine, with seed 004's from another machine beside them for scale).

subcommands (times on 2 cores):
  noise     ns per standard normal sample of the fast generator (1 thread and all) and of NumPy's, same run.
            A few seconds.
  link      end-to-end information throughput (Mbit/s) and BLER of the fast link (numba encoder, mapper, AWGN,
            demapper, layered min-sum decoder) and of the stock Sionna chain (Sionna encoder, mapper, AWGN, APP
            demapper, LDPC5GDecoder boxplus-phi 20 iterations), at the cliff and 1 dB above it; QPSK and 16-QAM,
            k = 4032 and 8448, rate 1/2, AWGN. Table, JSON in results/bench/link.json. About 10 minutes.
  bler      BLER against Eb/N0 of both decoders on identical LLRs (QPSK, AWGN, k = 4032, rate 1/2), the Eb/N0
            of each at BLER 1e-2 and their gap; JSON and a figure in results/bench/. About 5 minutes.
  scaling   sweep time against the number of Points and of images (local executor), then the main job from
            scratch on the process executor and on Ray (with the ray extra) with 1 and 2 single-threaded
            workers and on the local executor, with the memory of all processes. About 15 minutes.
  mainjob   a scenario (default: the main job, scenarios/awgn_sweep.yaml) run from scratch in a child process
            as a user runs it: wall time, time by stage (source coding, LDPC encoding, channel and demapping,
            LDPC decoding, source decoding, segmentation; the semantic codec's encoding, channel, decoding) and
            peak memory of all its processes together. About 1 minute for the main job.
  runtime   seconds per image on this machine (median and min-max of images x repeats, warm-up excluded) beside
            seed 004's Tables IV-V (another machine): encoding and decoding of every source codec at 256x256 with
            its bits per pixel; LDPC decoding of a 256x256 portrait's PNG stream (QPSK, k = 4032, rate 1/2) at
            Es/N0 0, 5 and 10 dB by the fast and the Sionna decoder, with iterations, early stopping and the strict
            receiver's early stop; lssc_awgn's device and server halves and unet_segmenter whole at batch 1 and
            16. Markdown and JSON in results/bench/. About 2 minutes.

Eb/N0 counts Eb per LDPC information bit (CRC included): Es/N0 = Eb/N0 * bits per symbol * k / n.
python -m lssc_sim.bench SUBCOMMAND --help gives each one's options."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lssc_sim.bench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True, metavar="{noise,link,bler,scaling,mainjob,runtime}")
    p_noise = sub.add_parser("noise", help="fast Gaussian generator against NumPy's")
    p_noise.add_argument("--samples", type=int, default=20_000_000)
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
    p_main.add_argument("--executor", choices=["local", "process", "ray"], default="local")
    p_main.add_argument("--workers", type=int, default=2, help="process executor's workers")
    p_main.add_argument("--threads", type=int, help="threads per worker (default: the cores shared out)")
    p_main.add_argument("--out", type=Path, help="keep the results in this (empty) folder")
    p_main.add_argument("--json", type=Path, default=OUT_DIR / "mainjob.json")
    p_runtime = sub.add_parser("runtime", help="seconds per image: source codecs, LDPC decoding, neural halves")
    p_runtime.add_argument("--json", type=Path, default=OUT_DIR / "runtime.json")
    p_runtime.add_argument("--md", type=Path, default=OUT_DIR / "runtime.md")
    p_runtime.add_argument("--repeats", type=int, default=7, help="timed runs per image and row")
    p_runtime.add_argument("--images", type=int, default=8, help="test images per row")
    p_runtime.add_argument("--quick", action="store_true", help="1 image, 2 repeats, png and jpeg, fast LDPC only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.what == "noise":
        res = bench_noise(args.samples)
        print(
            f"NumPy standard_normal {res['numpy_ns']:.2f} ns/sample; ours {res['ours_1_thread_ns']:.2f} (1 thread, "
            f"{res['speedup_1_thread']:.1f}x), {res['ours_all_threads_ns']:.2f} ({res['threads']} threads, "
            f"{res['speedup_all_threads']:.1f}x)"
        )
    elif args.what == "link":
        rows = bench_link(args.blocks)
        table = format_link_table(rows)
        print(table)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "table": table}, indent=1))
        print(f"wrote {args.json}")
    elif args.what == "mainjob":
        res = bench_main_job(args.scenario, args.executor, args.workers, args.threads, args.out)
        print(
            f"{res['scenario']} ({describe_run(res)}): {res['points']} Points in {res['wall_seconds']:.1f} s "
            f"wall, peak memory {res['peak_rss_gib']:.2f} GiB"
        )
        print("seconds in Points by system kind:", {k: round(v, 1) for k, v in res["point_seconds_by_kind"].items()})
        for stage, seconds in res["stage_seconds"].items():
            print(f"  {stage:18s} {seconds:8.1f} s")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")
    elif args.what == "runtime":
        res = bench_runtime(args.repeats, args.images, args.quick, json_path=args.json, md_path=args.md)
        print(format_runtime_table(res))
        print(f"{res['bench_seconds']:.0f} s; wrote {args.json} and {args.md}")
    elif args.what == "scaling":
        res = bench_scaling(scenario=args.scenario)
        for count, seconds in res["local_seconds"].items():
            print(f"local, {count:3d} Points: {seconds:6.1f} s ({seconds / count:.2f} s per Point)")
        for count, seconds in res["images_seconds"].items():
            print(f"local, 3 Points of {count:3d} images: {seconds:6.1f} s ({seconds / count:.3f} s per image)")
        for run in res["executor_runs"].values():
            print(
                f"{res['executor_scenario']}, {describe_run(run)}: {run['wall_seconds']:6.1f} s, "
                f"peak memory {run['peak_rss_gib']:.2f} GiB"
            )
        print(
            f"process executor, 2 workers vs 1 (1 thread each): {res['process_speedup_2_vs_1_worker']:.2f}x; "
            f"2 workers vs local (all cores in one process): {res['local_vs_2_workers']:.2f}x"
        )
        if res.get("ray_speedup_2_vs_1_worker") is not None:
            print(f"ray executor, 2 workers vs 1 (1 thread each): {res['ray_speedup_2_vs_1_worker']:.2f}x")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))
        print(f"wrote {args.json}")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        res = bench_bler(np.round(np.arange(0.8, 1.61, 0.1), 2))
        path = args.out / "bler.json"
        path.write_text(json.dumps(res, indent=1))
        print(
            f"Eb/N0 at BLER 1e-2: fast {res['fast_ebno_at_1e-2']:.3f} dB, reference "
            f"{res['reference_ebno_at_1e-2']:.3f} dB, gap {res['gap_db']:+.3f} dB"
        )
        print("wrote", path, *plot_bler(path, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
