"""The report's sections other than the numbers: title, the scenario as resolved, the run's provenance, figures.

Each function takes what was read from the results folder (None for a file that is not there) and returns report
blocks (:mod:`lssc_sim.report.document`); nothing here reads or writes files but the figures' PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lssc_sim.plots.base import QUICK_MARK
from lssc_sim.report.document import Block, Bullets, Code, Figure, Heading, Included, Notice, Paragraph, Table

VERSIONS = ("python", "tensorflow", "keras", "sionna-no-rt", "numpy", "lssc_sim")
FIGURE_SUFFIXES = (".png", ".pdf")


def header_blocks(out_dir: Path, scenario: dict[str, Any] | None, manifest: dict[str, Any] | None) -> list[Block]:
    """Title (the scenario's title, else its name, else the folder's), description, and the ``--quick`` mark."""
    scenario = scenario or {}
    title = scenario.get("title") or scenario.get("name") or out_dir.resolve().name
    out: list[Block] = [Heading(str(title), 1)]
    if scenario.get("description"):
        out.append(Paragraph(str(scenario["description"]).strip()))
    if scenario.get("quick") is True:
        # QUICK_MARK is the figures' title suffix "(--quick ...)"; here it stands alone
        out.append(Notice(f"{QUICK_MARK.strip('()')}. A check that the scenario runs, not a result."))
    name = scenario.get("name", out_dir.resolve().name)
    finished = (manifest or {}).get("finished")
    out.append(
        Paragraph(f"Scenario `{name}`, results in `{out_dir}`" + (f", run finished {finished}." if finished else "."))
    )
    return out


def scenario_blocks(scenario_text: str | None, overrides: list[str] | None) -> list[Block]:
    """The resolved scenario (folded) and the command-line overrides, if any were recorded."""
    out: list[Block] = [Heading("Scenario")]
    if scenario_text is None:
        out.append(Notice("No scenario.yaml in this folder: the scenario as run is unknown."))
    else:
        out.append(Code(scenario_text, "yaml", "scenario.yaml: the scenario as resolved (every default filled in)"))
    if overrides:
        out += [Paragraph("Overrides given on the command line:"), Bullets(tuple(map(str, overrides)), code=True)]
    return out


def overrides_of(scenario: dict[str, Any] | None, manifest: dict[str, Any] | None) -> list[str] | None:
    """The ``overrides`` list of the resolved scenario, else of the manifest; None when neither holds one."""
    for source in (scenario or {}, manifest or {}):
        if source.get("overrides"):
            return list(source["overrides"])
    return None


def _value(value: Any) -> str:
    if isinstance(value, list):  # the damaged Point files, the overrides
        return ", ".join(map(str, value)) or "none"
    return "unknown" if value is None or value == "" else str(value)


def optional(manifest: dict[str, Any], key: str, name: str) -> list[tuple[str, str]]:
    """A row for a manifest field that only newer runs record (none when the field is absent)."""
    return [(name, _value(manifest[key]))] if key in manifest else []


def run_blocks(manifest: dict[str, Any] | None) -> list[Block]:
    """The latest run's provenance (versions, commit, times, executor, Points, cores) and every earlier run."""
    out: list[Block] = [Heading("Run")]
    if manifest is None:
        out.append(Notice("No manifest.json in this folder: versions, commit and timings unknown."))
        return out
    versions = manifest.get("versions") or {}
    rows = [(f"{name} version", _value(versions.get(name))) for name in VERSIONS]
    wall = manifest.get("wall_seconds")
    executor = _value(manifest.get("executor"))
    if manifest.get("workers") is not None:
        executor += f", {manifest['workers']} worker(s)"
    if manifest.get("threads_per_worker") is not None:
        executor += f", {manifest['threads_per_worker']} thread(s) each"
    cores = _value(manifest.get("cores"))
    if manifest.get("cores_available") is not None:
        cores += f" ({manifest['cores_available']} available to the run)"
    rows += [
        ("git commit", _value(manifest.get("git_commit"))),
        ("started", _value(manifest.get("started"))),
        ("finished", _value(manifest.get("finished"))),
        ("wall time (s)", "unknown" if wall is None else f"{float(wall):.1f}"),
        ("status", _value(manifest.get("status"))),
        ("executor", executor),
        ("Points computed", _value(manifest.get("points_computed"))),
        ("Points skipped (already stored)", _value(manifest.get("points_skipped"))),
        ("Points in the scenario", _value(manifest.get("points_total"))),
        *optional(manifest, "points_damaged", "Points damaged on disk (recomputed)"),
        ("cores", cores),
        ("platform", _value(manifest.get("platform"))),
        ("scenario file, hash", f"{_value(manifest.get('scenario'))}, {_value(manifest.get('scenario_hash'))}"),
        ("run id", _value(manifest.get("run_id"))),
        *optional(manifest, "results_sha256", "results.csv sha256"),
    ]
    out.append(Table(("", "latest run"), tuple(rows)))
    runs = manifest.get("runs") or []
    if len(runs) > 1:
        header = ("run id", "started", "finished", "computed", "skipped", "wall time (s)", "status", "git commit")
        history = tuple(
            (
                _value(r.get("run_id")),
                _value(r.get("started")),
                _value(r.get("finished")),
                _value(r.get("points_computed")),
                _value(r.get("points_skipped")),
                "unknown" if r.get("wall_seconds") is None else f"{float(r['wall_seconds']):.1f}",
                _value(r.get("status")),
                _value(r.get("git_commit")),
            )
            for r in runs
        )
        out += [Paragraph(f"Every run into this folder ({len(runs)}):"), Table(header, history, frozenset({3, 4, 5}))]
    return out


def relative(path: Path, out_dir: Path) -> Path:
    """``path`` relative to the report's folder, for a link that survives moving the folder."""
    return Path(os.path.relpath(Path(path).resolve(), Path(out_dir).resolve()))


def figure_blocks(out_dir: Path, figures: list[Path]) -> list[Block]:
    """Every figure (PNG and PDF of one name) and every Markdown table a plot wrote, in the order first given.

    Files are grouped by name without suffix: ``x.png`` and ``x.pdf`` make one :class:`Figure`, ``x.md`` an
    :class:`Included` table with ``x.csv`` linked beside it; a CSV alone is linked.
    """
    groups: dict[str, dict[str, Path]] = {}
    for path in map(Path, figures):
        groups.setdefault(str(path.with_suffix("")), {})[path.suffix.lower()] = path
    out: list[Block] = [Heading("Figures and tables")]
    if not groups:
        out.append(Paragraph("The scenario drew no figures."))
    missing = []
    for files in groups.values():
        if any(s in files for s in FIGURE_SUFFIXES):
            png, pdf = files.get(".png"), files.get(".pdf")
            data = png.read_bytes() if png is not None and png.is_file() else None
            if png is not None and data is None:
                missing.append(png)
            name = (png or pdf).stem
            out.append(
                Figure(
                    name,
                    None if png is None else relative(png, out_dir),
                    None if pdf is None else relative(pdf, out_dir),
                    data,
                )
            )
        md, csv = files.get(".md"), files.get(".csv")
        links = () if csv is None else (relative(csv, out_dir),)
        if md is not None and md.is_file():
            out.append(Included(md.name, md.read_text(), links))
        elif md is not None:
            missing.append(md)
        elif links:
            out.append(Included(csv.name, "", links))
    if missing:
        out.append(Notice("Listed but not found: " + ", ".join(f"`{relative(p, out_dir)}`" for p in missing) + "."))
    return out
