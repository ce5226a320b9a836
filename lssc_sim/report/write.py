"""``write_report``: a results folder (results.csv, manifest.json, scenario.yaml, figures) as ``report.md`` and a
self-contained ``report.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lssc_sim.engine.results import atomic_write_text, read_csv
from lssc_sim.report import html, markdown
from lssc_sim.report.document import Block, Notice
from lssc_sim.report.sections import figure_blocks, header_blocks, overrides_of, run_blocks, scenario_blocks
from lssc_sim.report.tables import number_blocks

REPORT_NAMES = ("report.md", "report.html")


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when the file is missing or unreadable (the report says so)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_scenario(path: Path) -> tuple[str | None, dict[str, Any] | None]:
    """scenario.yaml's text and its parsed content; (None, None) when missing, (text, None) when unparsable."""
    try:
        text = path.read_text()
    except OSError:
        return None, None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, None
    return text, data if isinstance(data, dict) else None


def report_blocks(out_dir: Path, figures: list[Path]) -> list[Block]:
    """Every block of the report of ``out_dir``, in order: header, scenario, run, numbers, figures."""
    out_dir = Path(out_dir)
    manifest = _read_json(out_dir / "manifest.json")
    scenario_text, scenario = _read_scenario(out_dir / "scenario.yaml")
    blocks = header_blocks(out_dir, scenario, manifest)
    blocks += scenario_blocks(scenario_text, overrides_of(scenario, manifest))
    blocks += run_blocks(manifest)
    csv_path = out_dir / "results.csv"
    if csv_path.is_file():
        blocks += number_blocks(read_csv(csv_path))
    else:
        blocks.append(Notice("No results.csv in this folder: no numbers to report."))
    # the reports themselves are no figures, whatever a caller globbed
    blocks += figure_blocks(out_dir, [Path(f) for f in figures if Path(f).name not in REPORT_NAMES])
    return blocks


def write_report(out_dir: Path, figures: list[Path]) -> list[Path]:
    """Write ``report.md`` and ``report.html`` into ``out_dir`` (atomically) and return their paths.

    Parameters
    ----------
    out_dir : Path
        A scenario's results folder: results.csv, manifest.json and scenario.yaml are read from it; a missing
        manifest or scenario is said in the report.
    figures : list of Path
        The files the plots wrote (what :func:`lssc_sim.plots.make.make_plots` returned: PNG, PDF, Markdown and
        CSV tables, in any order). PNGs are embedded in the HTML and linked from the Markdown; PDFs and CSVs are
        linked; Markdown tables are included.

    Returns
    -------
    list of Path
        ``[out_dir / "report.md", out_dir / "report.html"]``.
    """
    out_dir = Path(out_dir)
    blocks = report_blocks(out_dir, figures)
    paths = [out_dir / name for name in REPORT_NAMES]
    atomic_write_text(paths[0], markdown.render(blocks))
    atomic_write_text(paths[1], html.render(blocks))
    return paths
