"""Runs a scenario's Points with a chosen executor, storing each one as soon as it finishes.

Each Point's random stream is seeded from (scenario seed, Point key), so the local, the process and the Ray
executor (:mod:`lssc_sim.engine.ray_executor`) write identical results, in any order. Points already stored are
skipped (resume), unless ``force``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lssc_sim.channels import make_channel
from lssc_sim.checksum import file_sha256
from lssc_sim.engine.lock import folder_lock
from lssc_sim.engine.results import ResultStore, manifest, utc_now
from lssc_sim.engine.scenario import Point, Scenario
from lssc_sim.seeding import derive_seed, seed_everything
from lssc_sim.snr import to_no
from lssc_sim.systems.base import Counters, PointContext

log = logging.getLogger(__name__)
EXECUTORS = ("local", "process", "ray")


@dataclass
class RunSummary:
    """What a run did: Points in the scenario, computed now, found stored, and stored ones found damaged
    (``points/<key>.json`` names, each recomputed), stale files in ``points/`` (see ``ResultStore.stale``)."""

    out_dir: Path
    total: int
    computed: int
    skipped: int
    seconds: float
    damaged: list[str] = field(default_factory=list)
    stale: int = 0


def run_scenario(
    scenario: Scenario,
    out_dir: str | Path,
    executor: str = "local",
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    threads: int | None = None,
    address: str | None = None,
) -> RunSummary:
    """Simulate every Point not yet stored, then write results.csv and manifest.json.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    out_dir : str or Path
        Results folder (``results/<name>`` by convention).
    executor : {"local", "process", "ray"}
        ``local`` runs in this process; ``process`` in a pool of ``workers`` spawned processes; ``ray`` on
        ``workers`` Ray actors, on a local Ray runtime or the cluster at ``address`` (the optional extra
        ``pip install -e '.[ray]'``).
    workers : int
        Pool size of the process and the Ray executor.
    force : bool
        Recompute stored Points too.
    progress : bool
        Show a tqdm progress bar with ETA.
    threads : int, optional
        Threads of each worker's TensorFlow and numba pools (process and Ray executors); default: the cores
        shared out, ``cpu_count // workers``, so the pool never oversubscribes the machine (1 on a Ray cluster).
    address : str, optional
        The running Ray cluster of the Ray executor (``auto``, ``ray://host:port``); default: a local runtime.

    Raises
    ------
    lssc_sim.engine.lock.FolderBusy
        Another run is writing into ``out_dir`` (nothing is written).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")
    if workers < 1:
        raise ValueError(f"expected workers >= 1, found {workers}")
    if threads is not None and (threads < 1 or executor == "local"):
        raise ValueError(
            f"threads sizes the process executor's (or the ray executor's) workers and must be >= 1; found {threads} "
            f"with the {executor} executor"
        )
    if address is not None and executor != "ray":
        raise ValueError(f"address names the Ray cluster of the ray executor; found the {executor} executor")
    if executor == "ray":
        from lssc_sim.engine.ray_executor import require_ray

        require_ray(address)  # before anything is written: the extra may not be installed
    # what ran the Points, for the manifest; the Ray executor fills in its own once connected
    pool: dict[str, Any] = {"workers": 1, "threads_per_worker": None}
    if executor == "process":
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        pool.update(workers=workers, threads_per_worker=threads)
    elif executor == "ray":
        pool.update(workers=workers, ray=None)
    with folder_lock(out_dir):
        return _run_locked(scenario, ResultStore(out_dir), executor, workers, force, progress, threads, address, pool)


def _run_locked(
    scenario: Scenario,
    store: ResultStore,
    executor: str,
    workers: int,
    force: bool,
    progress: bool,
    threads: int | None,
    address: str | None,
    pool: dict[str, Any],
) -> RunSummary:
    started, t0 = utc_now(), time.perf_counter()
    points = scenario.points()
    todo, damaged, unchecked = [], [], 0
    for point in points:
        record, problem = store.inspect(point.key)
        if problem is not None:
            damaged.append(store.path(point.key).name)
            if problem.startswith("no checksum"):  # counted below: a whole folder of them needs one line
                unchecked += 1
            else:
                log.warning("%s: %s; recomputing it", store.path(point.key), problem)
        if force or record is None:
            todo.append(point)
    if unchecked:
        log.warning(
            "%d Point files in %s carry no checksum (written before lssc_sim checksummed them, or edited): "
            "recomputing them",
            unchecked,
            store.points_dir,
        )
    stale = store.stale(p.key for p in points)
    if stale:
        log.info("%d files in %s are no Point of this scenario (--prune removes them)", len(stale), store.points_dir)
    store.write_scenario({**scenario.resolved(), "overrides": list(scenario.overrides)})
    run_id = uuid.uuid4().hex[:12]
    bar = tqdm(
        total=len(points),
        initial=len(points) - len(todo),
        disable=not progress,
        unit="point",
        desc=scenario.name,
        dynamic_ncols=True,
    )
    done: list[str] = []  # keys computed by this run, counted right even when it is interrupted
    status = "failed"
    try:
        if executor == "local" or not todo:
            for point in todo:
                done.append(_run_and_store(scenario, point, store.root, run_id))
                bar.update()
        elif executor == "process":
            _run_pool(scenario, todo, store.root, run_id, workers, threads, bar, done)
        else:
            from lssc_sim.engine.ray_executor import run_on_ray

            run_on_ray(scenario, todo, store, run_id, workers, threads, address, bar, done, pool)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except BaseException as exc:
        status = f"failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        computed = len(done)
        bar.close()
        csv_path = store.write_csv((p.key for p in points), fps=scenario.spec.fps)
        seconds = time.perf_counter() - t0
        store.add_run(
            manifest(
                scenario.digest(),
                started,
                scenario=str(scenario.path),
                executor=executor,
                **pool,
                points_total=len(points),
                points_computed=computed,
                points_skipped=len(points) - len(todo),
                points_damaged=damaged,
                overrides=list(scenario.overrides),
                results_sha256=file_sha256(csv_path),
                wall_seconds=round(seconds, 3),
                run_id=run_id,
                status=status,
            )
        )
    return RunSummary(store.root, len(points), computed, len(points) - len(todo), seconds, damaged, len(stale))


def _run_pool(
    scenario: Scenario,
    todo: list[Point],
    root: Path,
    run_id: str,
    workers: int,
    threads: int,
    bar: tqdm,
    done: list[str],
) -> None:
    # spawn, not fork: TensorFlow's thread pools do not survive a fork.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(threads,)
    ) as pool:
        pending: set[Future] = {pool.submit(_run_and_store, scenario, p, root, run_id) for p in todo}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done.append(future.result())  # re-raises a worker's error here
                    bar.update()
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _init_worker(threads: int) -> None:
    """Size this worker's TensorFlow and numba thread pools (``threads`` each); leave Ctrl-C to the driver.

    A terminal's Ctrl-C reaches the whole process group: the driver stops submitting and cancels what is
    queued, while a worker finishes (and stores) the Point it is on instead of dying mid-import with a traceback.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from lssc_sim.logs import quiet_tensorflow_import

    quiet_tensorflow_import()
    import numba
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


# Per-process caches: a built system (traced graphs, loaded weights) and the dataset are reused across Points.
_BUILT: dict[str, Any] = {}
_DATASETS: dict[str, Any] = {}


def run_point(scenario: Scenario, point: Point) -> tuple[Counters, float]:
    """Simulate one Point; returns its counters and the seconds it took."""
    t0 = time.perf_counter()
    config_id = json.dumps(point.config.model_dump(mode="json"), sort_keys=True)
    if config_id not in _BUILT:
        _BUILT[config_id] = point.config.build()
    dataset = None
    if point.config.needs_dataset:
        spec = scenario.spec.dataset
        dataset_id = spec.model_dump_json()
        if dataset_id not in _DATASETS:
            from lssc_sim.data import load_dataset

            _DATASETS[dataset_id] = load_dataset(spec)
        dataset = _DATASETS[dataset_id]
    rng = seed_everything(derive_seed(scenario.spec.seed, point.key))
    channel = make_channel(point.channel) if point.channel else None  # the one channel object of this Point
    ctx = PointContext(point.snr_db, to_no(point.snr_db), channel, point.modulation, rng, dataset)
    counters = _BUILT[config_id](ctx)
    return counters, time.perf_counter() - t0


def _run_and_store(scenario: Scenario, point: Point, root: Path, run_id: str) -> str:
    counters, seconds = run_point(scenario, point)
    ResultStore(root).save(point.key, point.params(), counters, round(seconds, 4), run_id, scenario.digest())
    return point.key
