"""One writer per results folder: an advisory lock on ``<folder>/.lock`` held for the whole run.

Whoever writes into the folder holds it: a run, while it computes Points and then draws the figures and the
report, and ``--plot-only`` or ``--prune``. Within one thread the lock is re-entrant (the runner takes it, and
so does the API around the runner and the drawing); another thread of the same process (a second run started
from a notebook) is refused as another process is, since each ``open`` gets its own ``flock``. The lock is an
``flock`` on the file, not the file's existence: the kernel drops it when the holding process ends, however it
ends, so a run killed with ``kill -9`` never leaves the folder locked. The file keeps the
holder's pid, host, start time and command so that the refusal can say who holds it. (``flock`` works between
processes of one machine and, on Linux, on NFS v4; two machines writing into one folder on an older network
file system are not detected.)
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lssc_sim.engine.results import utc_now


class FolderBusy(RuntimeError):
    """Another run is writing into the results folder."""


_LOCAL = threading.local()  # per thread: the folders this thread holds, with their nesting depth


def _held() -> dict[Path, int]:
    if not hasattr(_LOCAL, "held"):
        _LOCAL.held = {}
    return _LOCAL.held


@contextmanager
def folder_lock(root: str | Path) -> Iterator[None]:
    """Hold the results folder ``root`` for this thread; refuse at once when another process or thread holds it.

    Raises
    ------
    FolderBusy
        The message names the folder and the holder (pid, host, start, command).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    key = root.resolve()
    held = _held()
    if key in held:  # this thread holds it already: nested use
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    path = root / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(
                f"{root} is in use by another run ({_holder(path)}); wait for it to finish, or write into "
                "another folder (--out)"
            ) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now(), "command": sys.argv}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        held[key] = 1
        try:
            yield
        finally:
            del held[key]
            os.ftruncate(fd, 0)  # the file stays (removing it would race with a waiting run); the lock goes
    finally:
        os.close(fd)  # releases the flock


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        command = " ".join(str(a) for a in info.get("command", []))
        return f"pid {info['pid']} on {info['host']}, started {info['started']}: {command}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown: it is still starting"
