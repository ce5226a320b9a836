"""The results folder: one JSON file per Point (written atomically), results.csv, manifest.json, scenario.yaml.

Layout of ``results/<name>/``::

    points/<key>.json   one finished Point: parameters, counters, seconds, run id and the sha256 of all that
                        (never half-written; a file whose checksum does not match is reported and recomputed)
    results.csv         one tidy row per verified Point of the scenario, in sweep order (the same run to run)
    timings.csv         the wall-clock measurements of those Points (seconds by stage, device seconds per image),
                        keyed like results.csv: they differ run to run, so they are kept apart
    manifest.json       the latest run (versions, git commit, scenario hash, start, end, status, Points computed,
                        skipped and damaged, sha256 of results.csv) and ``runs``: every run into this folder
    scenario.yaml       the resolved scenario (every default filled in) and the command-line overrides
    .lock               held by the run writing into the folder (:mod:`lssc_sim.engine.lock`)
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from lssc_sim.checksum import file_sha256, json_sha256

# Leading columns of results.csv; the rest follow alphabetically (parameters, then counters).
LEADING_COLUMNS = ("system", "kind", "channel", "modulation", "snr_db", "key")
# Counters kept in the Point files and timings.csv but not in results.csv: wall-clock times differ run to run,
# results.csv must not.
TIMING_COUNTERS = ("stage_seconds", "device_seconds")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` holds either the old or the new content, even after kill -9."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    """Reads and writes one scenario's results folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.points_dir = self.root / "points"

    def path(self, key: str) -> Path:
        return self.points_dir / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """A stored Point whose checksum holds, or None (absent or damaged: either is recomputed)."""
        return self.inspect(key)[0]

    def inspect(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """``(record, None)`` for a sound Point file, ``(None, None)`` when there is none, and ``(None, reason)``
        for a damaged one: unreadable, truncated, edited, renamed, or without a checksum."""
        path = self.path(key)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None, None
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"unreadable ({exc})"
        try:
            record = json.loads(text)
        except ValueError:
            return None, "not valid JSON (truncated?)"
        if not isinstance(record, dict) or "sha256" not in record:
            return None, "no checksum (edited, or written before Point files carried one)"
        if record["sha256"] != json_sha256({k: v for k, v in record.items() if k != "sha256"}):
            return None, "checksum mismatch (edited or damaged on disk)"
        if record.get("key") != key:
            return None, f"holds Point {record.get('key')!r}, not {key!r}"
        return record, None

    def save(
        self,
        key: str,
        params: dict[str, Any],
        counters: dict[str, Any],
        seconds: float,
        run_id: str,
        scenario_hash: str | None = None,
    ) -> None:
        record = {
            "key": key,
            "params": params,
            "counters": counters,
            "seconds": seconds,
            "run_id": run_id,
            "scenario_hash": scenario_hash,
            "finished": utc_now(),
        }
        # round-trip first: the checksum covers the values exactly as a reader will parse them
        record = json.loads(json.dumps(record, default=_jsonable))
        record["sha256"] = json_sha256(record)
        atomic_write_text(self.path(key), json.dumps(record, indent=1, sort_keys=True))

    def stale(self, keys: Iterable[str]) -> list[Path]:
        """Files in ``points/`` that are no Point among ``keys`` (Points of older versions of the scenario, or of
        the same scenario with other overrides) and temporary files a killed write left behind."""
        if not self.points_dir.is_dir():
            return []
        wanted = {f"{k}.json" for k in keys}
        return sorted(p for p in self.points_dir.iterdir() if p.is_file() and p.name not in wanted)

    def write_csv(self, keys: Iterable[str], fps: float | None = None) -> Path:
        """results.csv from the stored Points among ``keys`` (in that order), and their timings.csv; returns
        results.csv's path. With ``fps`` (images per second), rates per second are derived for every row that
        counts bits or channel uses per image (:func:`per_second`)."""
        rows, timings = [], []
        for key in keys:
            record = self.load(key)
            if record is not None:
                counters = {k: v for k, v in record["counters"].items() if k not in TIMING_COUNTERS}
                rows.append({**record["params"], **counters, **per_second(counters, fps)})
                timed = _flat({k: v for k, v in record["counters"].items() if k in TIMING_COUNTERS})
                timings.append({"system": record["params"].get("system"), "key": key, **timed})
        _write_table(self.root / "timings.csv", timings)
        return _write_table(self.root / "results.csv", rows)

    def csv_problem(self) -> str | None:
        """Why results.csv cannot be trusted (None when it matches the sha256 the last run recorded)."""
        path = self.root / "results.csv"
        if not path.is_file():
            return f"{path} not found; run the scenario first"
        recorded = (self.read_manifest() or {}).get("results_sha256")  # a missing manifest: the caller's to report
        if recorded is not None and recorded != file_sha256(path):
            return (
                f"{path} was changed after the run wrote it (its sha256 differs from the manifest's): rerun the "
                "scenario to rewrite it from the stored Points"
            )
        return None

    def write_scenario(self, resolved: dict[str, Any]) -> None:
        atomic_write_text(self.root / "scenario.yaml", yaml.safe_dump(resolved, sort_keys=False))

    def read_manifest(self) -> dict[str, Any] | None:
        """``manifest.json`` as a dict; None when it is missing or unreadable."""
        try:
            data = json.loads((self.root / "manifest.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def add_run(self, run: dict[str, Any]) -> None:
        """Record a run in ``manifest.json``: its fields at the top level (the latest run) and appended to
        ``runs``, the history of every run into this folder, so a resumed run never erases how results were made."""
        history = (self.read_manifest() or {}).get("runs", [])
        manifest = {**run, "runs": [*history, run]}
        atomic_write_text(self.root / "manifest.json", json.dumps(manifest, indent=2, default=_jsonable))


def per_second(counters: dict[str, Any], fps: float | None) -> dict[str, float]:
    """Rates at ``fps`` images per second: ``source_mbit_per_s`` (source bits on the air, headers included) and
    ``channel_msym_per_s`` (complex channel uses carrying data), where the row counts them per image."""
    if not fps:
        return {}
    out = {}
    for counter, rate in (
        ("source_bits_per_image", "source_mbit_per_s"),
        ("channel_uses_per_image", "channel_msym_per_s"),
    ):
        if isinstance(counters.get(counter), int | float):
            out[rate] = counters[counter] * fps / 1e6
    return out


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``outer.inner`` columns."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _write_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = [c for c in LEADING_COLUMNS if any(c in r for r in rows)]
    columns += sorted({c for r in rows for c in r} - set(columns))
    lines = io.StringIO()
    writer = csv.DictWriter(lines, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    atomic_write_text(path, lines.getvalue())
    return path


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """results.csv as a list of rows; numbers parsed, empty cells dropped."""
    with open(path, newline="") as handle:
        return [{k: _parse(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def manifest(scenario_digest: str, started: str, **extra: Any) -> dict[str, Any]:
    """Provenance of a run: versions, git commit, scenario hash, timing, cores."""
    return {
        "scenario_hash": scenario_digest,
        "started": started,
        "finished": utc_now(),
        "versions": _versions(),
        "git_commit": _git_commit(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        **extra,
    }


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("lssc_sim", "tensorflow", "keras", "sionna-no-rt", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        return result.stdout.strip() + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _jsonable(value: Any) -> Any:
    if getattr(value, "ndim", 0) > 0:  # numpy arrays (they have .item too, for size 1 only)
        return value.tolist()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a result")


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def _parse(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)
