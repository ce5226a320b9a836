"""The Ray executor: a scenario's Points as work of a pool of Ray actors, on this machine or on a Ray cluster.

Ray is an optional extra (``pip install -e '.[ray]'``) and is imported only here, inside the functions, so the
scenario validator and the local executor never need it.

Why actors, not tasks: each of the ``workers`` actors is one long-lived process that sizes its thread pools
once, builds each system once and loads the dataset once (the runner's per-process caches), which Ray tasks do
not guarantee (a task may land in any fresh worker process). The driver gives each actor one Point at a time, so
a fast actor is never stuck behind a slow one's queue, and writes every finished Point itself, atomically, as
it arrives: actors return counters and seconds only, so nodes need not share the driver's filesystem, and a
Point file exists only for a Point that finished. An actor whose process dies (SIGKILL, OOM) is restarted by Ray
and its Point retried there; the retry gives the same numbers, since a Point's random stream is seeded from
(scenario seed, Point key).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from lssc_sim.engine.runner import _init_worker, run_point

if TYPE_CHECKING:
    from tqdm import tqdm

    from lssc_sim.engine.results import ResultStore
    from lssc_sim.engine.scenario import Point, Scenario
    from lssc_sim.systems.base import Counters

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install -e '.[ray]'"
# Restarts of a dead actor process, each retrying the Point it was on: enough for a lost worker or node, few
# enough that a Point that kills its worker every time (out of memory) fails the run with Ray's error instead.
MAX_RESTARTS = 3
# The local runtime's object store: Points exchange kilobytes, and a small store keeps Ray from warning about
# a small /dev/shm in containers.
OBJECT_STORE_BYTES = 256 * 2**20
POLL_SECONDS = 1.0  # ray.wait timeout: the driver's loop returns to Python this often, so Ctrl-C acts at once


def require_ray(address: str | None = None) -> Any:
    """The ``ray`` module, or an ImportError saying how to install the extra.

    Ray enables token authentication on a new local runtime either way; saying so explicitly (the documented
    ``RAY_AUTH_MODE=token``) keeps it from warning about it on every run. Ray reads the variable when it is
    first imported, so it is set only then, and only for a local runtime (``address`` None): a cluster's
    authentication mode is the cluster's.
    """
    if address is None and "ray" not in sys.modules:
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"the ray executor needs Ray, an optional extra of lssc_sim: {INSTALL_HINT}") from exc
    return ray


class PointWorker:
    """What each Ray actor runs: the scenario's Points, one call per Point, with the runner's caches.

    Parameters
    ----------
    scenario : Scenario
        The scenario of the Points (sent once per actor, not with each Point).
    threads : int
        Threads of this actor's TensorFlow and numba pools.
    cwd : str
        The driver's working directory: relative paths in the scenario (weights folders, dataset roots) resolve
        against it as with the other executors, where this node has that folder.
    """

    def __init__(self, scenario: Scenario, threads: int, cwd: str) -> None:
        _init_worker(threads)
        if os.path.isdir(cwd):
            os.chdir(cwd)
        self.scenario = scenario

    def run(self, point: Point) -> tuple[Counters, float]:
        """Simulate one Point; returns its counters and the seconds it took (the driver stores them)."""
        return run_point(self.scenario, point)


def run_on_ray(
    scenario: Scenario,
    todo: list[Point],
    store: ResultStore,
    run_id: str,
    workers: int,
    threads: int | None,
    address: str | None,
    bar: tqdm,
    done: list[str],
    info: dict[str, Any],
) -> None:
    """Run ``todo`` on ``workers`` Ray actors; store each finished Point as it arrives.

    Parameters
    ----------
    scenario : Scenario
        The scenario of the Points.
    todo : list of Point
        The Points to compute, dispatched in this order.
    store : ResultStore
        Where the driver writes each finished Point (atomically).
    run_id : str
        Recorded in every Point file of this run.
    workers : int
        Ray actors, each holding one CPU of Ray's resources (``threads`` CPUs on a cluster).
    threads : int, optional
        Threads per actor. Default: on a local runtime started here, the cores shared out, ``cpu_count //
        workers`` (as the process executor); on a runtime or cluster already running, 1 (the actors may share a
        node with any others, and one CPU each is what they reserve).
    address : str, optional
        A running Ray cluster (``auto``, ``ray://host:port``, ``host:port``); None starts a local runtime of
        ``workers`` CPUs, shut down at the end. A cluster is only disconnected from, never stopped. When Ray is
        already initialised in this process (a notebook, the tests), that runtime is used and left running.
    bar : tqdm
        Progress bar, advanced once per stored Point.
    done : list of str
        Keys of the Points stored by this run, appended as they are stored (right even when interrupted).
    info : dict
        Filled, as soon as known, with what the manifest records: ``workers``, ``threads_per_worker`` and
        ``ray`` (version, address, nodes and CPUs of the cluster).
    """
    ray = require_ray(address)
    local = address is None and not ray.is_initialized()
    threads = threads or (max(1, (os.cpu_count() or 1) // workers) if local else 1)
    connected_here = not ray.is_initialized()
    if not connected_here and address is not None:
        log.warning("Ray is already initialised in this process: using that runtime, not %s", address)
    actors: list[Any] = []
    try:
        if connected_here:  # inside the try: a Ctrl-C while a local runtime starts still shuts it down
            _connect(ray, workers, address)
        cpus_per_actor = 1 if local else threads
        info.update(workers=workers, threads_per_worker=threads, ray=describe_cluster(ray, address, local))
        capacity = info["ray"]["cpus"]
        if workers * cpus_per_actor > capacity:
            # an actor that cannot be placed waits for CPUs forever, and so would its Points
            raise ValueError(
                f"{workers} Ray workers of {cpus_per_actor} CPU(s) each do not fit the cluster's {capacity} CPUs; "
                "give fewer --workers (or --threads)"
            )
        actor_class = ray.remote(num_cpus=cpus_per_actor, max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS)(
            PointWorker
        )
        # the scenario goes by value (a few kB, inlined in the actor's creation): a restarted actor rebuilds from
        # it even when no object store holds it any more. Named by run, so `ray list actors` shows whose they are.
        actors = [
            actor_class.options(name=f"lssc_sim:{run_id}:{i}").remote(scenario, threads, os.getcwd())
            for i in range(workers)
        ]
        _dispatch(ray, actors, todo, store, run_id, scenario.digest(), bar, done)
    finally:
        if connected_here:
            # stops a runtime started here; from a cluster, disconnects, and the cluster ends the actors this
            # driver owns (killing them one by one first would only make Ray report their Points as retried)
            ray.shutdown()
        else:
            for actor in actors:  # a runtime that stays up: the actors would hold their CPUs and memory
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # an actor already gone: nothing left to free
                    pass


def _connect(ray: Any, workers: int, address: str | None) -> None:
    verbose = logging.getLogger("lssc_sim").isEnabledFor(logging.DEBUG)
    options: dict[str, Any] = {
        "logging_level": logging.DEBUG if verbose else logging.WARNING,
        # workers' stdout and stderr (TensorFlow's start-up lines) stay in Ray's log files unless -v; their
        # errors still reach the driver as exceptions
        "log_to_driver": verbose,
    }
    if address is None:
        # "local": a new runtime even where this machine runs a cluster already (or RAY_ADDRESS names one),
        # which ray.init() would otherwise join, ignoring num_cpus
        ray.init(
            address="local",
            num_cpus=workers,
            include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES,
            **options,
        )
    else:
        ray.init(address=address, **options)


def describe_cluster(ray: Any, address: str | None, local: bool) -> dict[str, Any]:
    """The manifest's ``ray`` entry: Ray version, address, alive nodes (host, IP, CPUs) and their CPUs in all."""
    nodes = [
        {
            "host": node.get("NodeManagerHostname"),
            "ip": node.get("NodeManagerAddress"),
            "cpus": int(node.get("Resources", {}).get("CPU", 0)),
        }
        for node in ray.nodes()
        if node.get("Alive")
    ]
    return {
        "version": ray.__version__,
        "address": address or ("local runtime" if local else "runtime already initialised"),
        "nodes": len(nodes),
        "cpus": sum(n["cpus"] for n in nodes),
        "node_list": nodes,
    }


def _dispatch(
    ray: Any,
    actors: list[Any],
    todo: list[Point],
    store: ResultStore,
    run_id: str,
    digest: str,
    bar: tqdm,
    done: list[str],
) -> None:
    queue = list(reversed(todo))  # popped from the end: the sweep's order
    running: dict[Any, tuple[Any, Point]] = {}

    def submit(actor: Any) -> None:
        if queue:
            point = queue.pop()
            running[actor.run.remote(point)] = (actor, point)

    for actor in actors:
        submit(actor)
    while running:
        finished, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
        for ref in finished:
            actor, point = running.pop(ref)
            try:
                counters, seconds = ray.get(ref)  # a worker's exception is re-raised here, with its traceback
            except ray.exceptions.RayActorError as exc:
                raise RuntimeError(
                    f"Point {point.key}: its Ray worker died and Ray's {MAX_RESTARTS} restarts of it are used up "
                    "(Ray's reason above); the stored Points are kept: rerun to resume"
                ) from exc
            store.save(point.key, point.params(), counters, round(seconds, 4), run_id, digest)
            done.append(point.key)
            bar.update()
            submit(actor)
