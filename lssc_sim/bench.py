"""Benchmarks of the digital link: the numba fast path against the stock Sionna reference, side by side.

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
import os
import time
from pathlib import Path

import numpy as np

import lssc_sim  # noqa: F401  (silences TensorFlow before it is imported)
from lssc_sim import theory
from lssc_sim.channels import make_channel
from lssc_sim.digital.fast_ldpc import FastLDPC5GEncoder
from lssc_sim.digital.fast_link import FastBitLink, QAMTables, map_awgn_demap
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.link import BitLink
from lssc_sim.digital.modem import MODULATIONS, Modem

log = logging.getLogger(__name__)
OUT_DIR = Path("results/bench")
MAIN_JOB = Path("scenarios/awgn_sweep.yaml")
LINK_CASES = [("qpsk", 4032), ("qpsk", 8448), ("16qam", 4032), ("16qam", 8448)]
BATCH = 64


def noise_power(ebno_db: float, code: LDPC5GCode) -> float:
    """Noise power per complex symbol (unit-energy symbols) at ``ebno_db`` for this code's rate and QAM."""
    return float(10 ** (-theory.ebno_db_to_snr_db(ebno_db, code.bits_per_symbol, code.rate) / 10))


def _time_link(link, blocks: int, no: float) -> dict:
    """Warm-up call (tracing/JIT), then ``blocks`` blocks in batches of ``BATCH``; counts and seconds."""
    t0 = time.perf_counter()
    link.run(BATCH, no)
    warmup = time.perf_counter() - t0
    total: dict[str, int] = {}
    t0 = time.perf_counter()
    for _ in range(-(-blocks // BATCH)):
        for key, value in link.run(BATCH, no).items():
            total[key] = total.get(key, 0) + value
    seconds = time.perf_counter() - t0
    return {"mbit_s": total["bits"] / seconds / 1e6, "bler": total["block_errors"] / total["blocks"],
            "blocks": total["blocks"], "seconds": seconds, "warmup_s": warmup}


def find_cliff(link: FastBitLink, code: LDPC5GCode, target: float = 0.15, blocks: int = 128) -> float:
    """Lowest Eb/N0 (dB, 0.1 dB grid) where the fast decoder's BLER is at most ``target``.

    The stock decoder is ~0.1 dB worse here (see ``bench bler``), so its BLER there is inside 0.1-0.5.
    """
    m = code.bits_per_symbol
    ebno = {2: 0.6, 4: 2.8}.get(m, 4.0)
    while ebno < 15:
        errors = sum(link.run(BATCH, noise_power(ebno, code))["block_errors"] for _ in range(blocks // BATCH))
        if errors / blocks <= target:
            return round(ebno, 2)
        ebno += 0.1
    raise RuntimeError("no cliff found below 15 dB")


def bench_link(blocks: int) -> list[dict]:
    """Rows of the link benchmark: one per (modulation, k, operating point), both paths."""
    rows = []
    for modulation, k in LINK_CASES:
        m = MODULATIONS[modulation]
        channel = make_channel("awgn")
        fast_code = LDPC5GCode(k, rate=0.5, bits_per_symbol=m)
        fast = FastBitLink(Modem(modulation), channel, fast_code)
        ref = BitLink(Modem(modulation), channel, LDPC5GCode(k, rate=0.5, bits_per_symbol=m))
        cliff = find_cliff(fast, fast_code)
        for point, ebno in (("cliff", cliff), ("above", cliff + 1.0)):
            no = noise_power(ebno, fast_code)
            f, r = _time_link(fast, blocks, no), _time_link(ref, blocks, no)
            rows.append({"modulation": modulation, "k": k, "n": fast_code.n, "point": point, "ebno_db": ebno,
                         "fast": f, "reference": r, "speedup": f["mbit_s"] / r["mbit_s"]})
            log.info("%s", rows[-1])
    return rows


def format_link_table(rows: list[dict]) -> str:
    """Markdown table of :func:`bench_link` rows."""
    lines = ["| modulation | k | point | Eb/N0 dB | fast Mbit/s | ref Mbit/s | fast/ref | fast BLER | ref BLER "
             "| warm-up fast s | warm-up ref s |", "|---" * 11 + "|"]
    for r in rows:
        f, ref = r["fast"], r["reference"]
        lines.append(f"| {r['modulation']} | {r['k']} | {r['point']} | {r['ebno_db']:.1f} | {f['mbit_s']:.2f} "
                     f"| {ref['mbit_s']:.3f} | {r['speedup']:.1f}x | {f['bler']:.4f} | {ref['bler']:.4f} "
                     f"| {f['warmup_s']:.1f} | {ref['warmup_s']:.1f} |")
    return "\n".join(lines)


def bench_bler(ebno_grid: np.ndarray, fast_blocks: int = 3000, ref_blocks: int = 512,
               max_errors: int = 200) -> dict:
    """BLER of both decoders on identical QPSK/AWGN LLR batches (k = 4032, rate 1/2).

    The stock decoder decodes the first ``ref_blocks`` blocks of each point (its time is the budget); the
    fast one goes on to ``fast_blocks`` or ``max_errors`` block errors. A curve stops once it saw no error.
    """
    code = LDPC5GCode(4032, rate=0.5, bits_per_symbol=2)
    fast_code = LDPC5GCode(4032, rate=0.5, bits_per_symbol=2, decoder="fast")
    encoder, tables = FastLDPC5GEncoder(code._encoder), QAMTables(2)
    rng = np.random.default_rng(1)
    out = {"ebno_db": [], "fast": [], "reference": [], "fast_blocks": [], "reference_blocks": []}
    ref_done = fast_done = False
    for ebno in ebno_grid:
        no = noise_power(float(ebno), code)
        counts = {"fast": [0, 0], "reference": [0, 0]}
        for start in range(0, fast_blocks, BATCH):
            payload = rng.integers(0, 2, (BATCH, code.payload_bits), dtype=np.uint8)
            noise = rng.standard_normal((BATCH, code.n), np.float32)
            llr = map_awgn_demap(encoder.encode(payload), no, tables, noise)
            if not fast_done:
                bits, _, _ = fast_code.fast_decoder.decode(llr)
                counts["fast"][0] += int(np.any(bits != payload, axis=-1).sum())
                counts["fast"][1] += BATCH
            if not ref_done and start < ref_blocks:
                bits = code.decode(llr)[0].numpy()
                counts["reference"][0] += int(np.any(bits != payload, axis=-1).sum())
                counts["reference"][1] += BATCH
            if (fast_done or counts["fast"][0] >= max_errors) and (ref_done or start + BATCH >= ref_blocks):
                break
        out["ebno_db"].append(float(ebno))
        for name in ("fast", "reference"):
            errors, n = counts[name]
            out[name].append(errors / n if n else None)
            out[f"{name}_blocks"].append(n)
        fast_done = fast_done or counts["fast"][0] == 0
        ref_done = ref_done or counts["reference"][0] == 0
        log.info("Eb/N0 %.2f dB: %s", ebno, counts)
        if fast_done and ref_done:
            break
    for name in ("fast", "reference"):
        out[f"{name}_ebno_at_1e-2"] = ebno_at_bler(out["ebno_db"], out[name], 1e-2)
    out["gap_db"] = out["fast_ebno_at_1e-2"] - out["reference_ebno_at_1e-2"]
    return out


def ebno_at_bler(ebno_db: list[float], bler: list[float | None], target: float) -> float:
    """Eb/N0 (dB) where the BLER curve crosses ``target``, interpolating ``log10(BLER)`` linearly."""
    pts = [(e, b) for e, b in zip(ebno_db, bler, strict=True) if b is not None]
    for (e0, b0), (e1, b1) in zip(pts, pts[1:], strict=False):
        if b0 >= target > b1:
            lb0, lb1 = np.log10(b0), np.log10(max(b1, 1e-6))  # a zero count: the crossing is at most there
            return float(e0 + (np.log10(target) - lb0) * (e1 - e0) / (lb1 - lb0))
    return float("nan")


def plot_bler(json_path: Path, out_dir: Path) -> list[Path]:
    """BLER vs Eb/N0 figure (PNG and PDF) from the JSON written by ``bench bler``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = json.loads(Path(json_path).read_text())
    fig, ax = plt.subplots(figsize=(5.5, 4))
    labels = {"fast": f"numba layered offset min-sum, \u226420 it ({res['fast_ebno_at_1e-2']:.2f} dB)",
              "reference": f"Sionna boxplus-phi, 20 flooding it ({res['reference_ebno_at_1e-2']:.2f} dB)"}
    for name, marker in (("reference", "o"), ("fast", "s")):
        pts = [(e, b) for e, b in zip(res["ebno_db"], res[name], strict=True) if b]
        ax.semilogy(*zip(*pts, strict=True), marker=marker, label=labels[name])
    ax.axhline(1e-2, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("block error rate")
    ax.set_title(f"5G LDPC k=4032, r=1/2, QPSK, AWGN; gap at 1e-2: {res['gap_db']:+.2f} dB", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out_dir / "bler_fast_vs_sionna.png", out_dir / "bler_fast_vs_sionna.pdf"]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths


def bench_scaling(points: tuple[int, ...] = (4, 8, 16), max_bits: int = 4_000_000,
                  image_counts: tuple[int, ...] = (25, 50, 100),
                  scenario: Path = Path("scenarios/awgn_sweep.yaml")) -> dict:
    """Sweep wall time against the number of Points and of images (local executor), and the process
    executor's scaling on ``scenario`` (the main job).

    Every Point of the Points sweep is the same amount of work: ``max_bits`` payload bits of the fast LDPC link
    (QPSK, k = 4032, rate 1/2, AWGN) above its cliff, where the error targets are never reached. The images
    sweep runs the PNG + LDPC digital image system at 3 SNRs above its cliff on ``image_counts`` images.

    The executor runs are whole runs from scratch (:func:`bench_main_job`): the process executor with 1 and with
    2 single-threaded workers (how the executor scales with the processes it is given), and the local executor
    (one process, every core in its TensorFlow and numba pools) beside 2 workers (which to use on this machine).
    """
    import tempfile

    from lssc_sim.runner import run_scenario
    from lssc_sim.scenario import scenario_from_dict

    def points_scenario(count: int):
        return scenario_from_dict({
            "name": f"scaling_{count}", "seed": 0,
            "systems": {"ldpc": {"kind": "ber", "fec": {"k": 4032, "rate": 0.5, "decoder": "fast"},
                                 "max_bits": max_bits, "target_bit_errors": 10**12}},
            "sweep": {"snr_db": [round(2.0 + 0.1 * i, 2) for i in range(count)], "modulation": ["qpsk"]},
        })

    def images_scenario(count: int):
        # PNG + LDPC(1/2) + QPSK above its cliff at 3 SNRs: every image is sent, decoded and segmented
        return scenario_from_dict({
            "name": f"scaling_images_{count}", "seed": 0,
            "dataset": {"name": "synthetic_portraits", "split": "test", "num_images": count, "image_size": 128},
            "systems": {"png": {"kind": "digital_image", "fec": {"k": 4032, "rate": 0.5, "decoder": "fast"}}},
            "sweep": {"snr_db": [10, 15, 20], "modulation": ["qpsk"]},
        })

    def timed(make, count: int) -> float:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            run_scenario(make(count), out, progress=False)
            return time.perf_counter() - t0

    timed(points_scenario, 2)  # warm-up: imports, numba compilation, tracing
    local = {n: timed(points_scenario, n) for n in points}
    timed(images_scenario, 4)  # warm-up: weights, PNG coding
    images = {n: timed(images_scenario, n) for n in image_counts}
    runs = {
        "process_1_worker_1_thread": bench_main_job(scenario, "process", 1, threads=1),
        "process_2_workers_1_thread": bench_main_job(scenario, "process", 2, threads=1),
        "local": bench_main_job(scenario, "local"),
    }
    wall = {name: run["wall_seconds"] for name, run in runs.items()}
    return {
        "points": list(points), "max_bits_per_point": max_bits,
        "local_seconds": local,
        "local_seconds_per_point": {k: v / k for k, v in local.items()},
        "images": list(image_counts),
        "images_seconds": images,
        "images_seconds_per_image": {k: v / k for k, v in images.items()},
        "executor_scenario": str(scenario),
        "executor_runs": runs,
        "process_speedup_2_vs_1_worker": wall["process_1_worker_1_thread"] / wall["process_2_workers_1_thread"],
        "local_vs_2_workers": wall["local"] / wall["process_2_workers_1_thread"],
    }


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` and all its descendants, from ``/proc`` (Linux; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def bench_main_job(scenario: Path, executor: str = "local", workers: int = 1, threads: int | None = None,
                   out: Path | None = None) -> dict:
    """Wall time, time by stage and peak memory of a scenario run from scratch, as a user runs it.

    The scenario runs in a child process (``python run_scenario.py SCENARIO --out TMP``) into an empty folder, so
    imports, weight loading and numba compilation are all counted. Peak memory is sampled every 0.2 s as the
    resident memory of the child and its workers together (``peak_rss_gib``); ``ru_maxrss`` gives the largest
    single process. Stage times are summed over the Points' ``stage_seconds``. ``out`` keeps the results there
    (it must not hold results of the scenario already: they would be skipped, not timed).
    """
    import resource
    import subprocess
    import sys
    import tempfile
    from collections import Counter

    if out is not None and (Path(out) / "points").is_dir() and any((Path(out) / "points").iterdir()):
        raise ValueError(f"{out} already holds Points: they would be skipped, not timed; give an empty folder")
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(out).resolve()) if out is not None else tmp
        command = [sys.executable, "run_scenario.py", str(Path(scenario).resolve()), "--out", out, "--no-progress",
                   "--executor", executor]
        if executor == "process":
            command += ["--workers", str(workers)] + (["--threads", str(threads)] if threads else [])
        t0 = time.perf_counter()
        child = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss_bytes(child.pid))
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        if child.returncode:
            raise subprocess.CalledProcessError(child.returncode, command)
        stages: Counter = Counter()
        point_seconds: Counter = Counter()
        for path in Path(out, "points").glob("*.json"):
            record = json.loads(path.read_text())
            stages.update(record["counters"].get("stage_seconds", {}))
            point_seconds[record["params"]["kind"]] += record["seconds"]
        points = len(list(Path(out, "points").glob("*.json")))
    largest_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {
        "scenario": str(scenario), "executor": executor, "workers": workers if executor == "process" else 1,
        "threads_per_worker": threads, "points": points, "wall_seconds": wall,
        "point_seconds_by_kind": dict(point_seconds),
        "stage_seconds": {k: round(v, 2) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
        "peak_rss_gib": peak / 2**30, "largest_process_rss_gib": largest_kib / 2**20,
    }


def describe_run(run: dict) -> str:
    """``local`` or ``process, 2 workers x 1 thread`` for a :func:`bench_main_job` result."""
    if run["executor"] == "local":
        return "local"
    threads = run["threads_per_worker"] or "default"
    return f"process, {run['workers']} worker{'s' if run['workers'] > 1 else ''} x {threads} thread(s)"


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
