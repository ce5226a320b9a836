"""The Python entry point for notebooks and scripts: ``lssc_sim.run(scenario, overrides=..., out=...)``.

It does what ``python run_scenario.py`` does (validate, run or resume, write results.csv, the figures and the
report) and hands back the rows and the files::

    import lssc_sim

    result = lssc_sim.run("scenarios/awgn_sweep.yaml", overrides=["dataset.num_images=20"], out="results/small")
    result.rows        # a pandas DataFrame when pandas is installed, else a list of dicts (one per Point)
    result.figures     # the PNG and PDF files (and tables) the scenario's plots wrote
    result.report      # report.md and report.html
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lssc_sim.engine.scenario import Scenario, load_scenario, scenario_from_dict

log = logging.getLogger(__name__)


class NotDrawable(ValueError):
    """``plot_only`` for a folder whose results cannot be drawn for this scenario (the message says why)."""


@dataclass
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    out : Path
        The results folder.
    rows : pandas.DataFrame or list of dict
        results.csv, one row per Point (numbers parsed).
    figures : list of Path
        Files the scenario's plots wrote (PNG, PDF, and the tables some plots write).
    report : list of Path
        ``report.md`` and ``report.html``.
    summary : lssc_sim.engine.RunSummary or None
        Points computed, skipped and found damaged; None for ``plot_only``.
    """

    out: Path
    rows: Any
    figures: list[Path] = field(default_factory=list)
    report: list[Path] = field(default_factory=list)
    summary: Any = None


def load(
    scenario: str | Path | dict[str, Any] | Scenario, overrides: list[str] | tuple[str, ...] = (), quick: bool = False
) -> Scenario:
    """A validated scenario from a YAML file or from a dict of the same keys, with ``overrides`` applied (a
    :class:`Scenario` is returned as it is).

    Raises
    ------
    lssc_sim.engine.ScenarioError
        Naming the file (``<dict>`` for a dict), the key, what was expected and what was found.
    """
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(overrides, str):  # one override, not its characters
        overrides = [overrides]
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario, "<dict>", quick, overrides)
    return load_scenario(scenario, quick, overrides)


def run(
    scenario: str | Path | dict[str, Any] | Scenario,
    overrides: list[str] | tuple[str, ...] = (),
    out: str | Path | None = None,
    *,
    quick: bool = False,
    force: bool = False,
    plot_only: bool = False,
    executor: str = "local",
    workers: int = 2,
    threads: int | None = None,
    address: str | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> RunResult:
    """Run a scenario (resuming what is stored), draw its figures and write its report.

    Parameters
    ----------
    scenario : str, Path, dict or Scenario
        A scenario file, its content as a dict, or a scenario already loaded.
    overrides : list of str
        Dotted overrides as on the command line: ``["dataset.num_images=20", "sweep.snr_db=[0, 5, 10]"]``.
    out : str or Path, optional
        Results folder; default ``results/<name>`` (``results/<name>_quick`` for ``quick``).
    quick : bool
        The ``--quick`` smoke run.
    force : bool
        Recompute stored Points.
    plot_only : bool
        Only redraw the figures and the report from the stored results.csv.
    executor, workers, threads, address : see :func:`lssc_sim.engine.run_scenario`. The process executor spawns
        workers that import the calling script: guard a script's top level with ``if __name__ == "__main__":``.
    progress : bool
        Show the progress bar.
    verbose : bool
        Let TensorFlow's native start-up lines through.

    Raises
    ------
    lssc_sim.engine.ScenarioError
        An invalid scenario or override (nothing runs).
    lssc_sim.engine.lock.FolderBusy
        Another run is writing into ``out``.
    NotDrawable
        ``plot_only`` for a folder without results of this scenario.
    KeyboardInterrupt, Exception
        An interrupted or failed run re-raises its error after the figures and the report of the Points stored
        so far are drawn (a failure of that drawing is logged, never raised in place of the run's error).
    """
    from lssc_sim.engine.lock import folder_lock

    spec = load(scenario, overrides, quick)
    folder = Path(out) if out is not None else Path("results") / spec.name
    summary = None
    with folder_lock(folder):  # the run, its figures and its report: no other writer in between
        if plot_only:
            problem = results_problem(folder, spec.digest())
            if problem:
                raise NotDrawable(problem)
        else:
            from lssc_sim.engine.runner import run_scenario
            from lssc_sim.logs import quiet_tensorflow_import

            quiet_tensorflow_import(verbose)
            try:
                summary = run_scenario(spec, folder, executor=executor, workers=workers, force=force,
                                       progress=progress, threads=threads, address=address)  # fmt: skip
            except (KeyboardInterrupt, Exception):
                _draw_stored(spec, folder)
                raise
        figures, report = draw(spec, folder)
    return RunResult(folder, _rows(folder / "results.csv"), figures, report, summary)


def draw(scenario: Scenario, out: Path) -> tuple[list[Path], list[Path]]:
    """The scenario's figures and its report, from ``out/results.csv``; returns (figures, report files).

    The plots draw with matplotlib's Agg backend; the caller's backend (a notebook's inline one) is put back.
    """
    import matplotlib

    backend = matplotlib.get_backend()
    from lssc_sim.plots.make import make_plots
    from lssc_sim.report import write_report

    spec = scenario.spec
    try:
        figures = make_plots(out, spec.plots, spec.title, spec.plot_style, scenario.quick, bd_anchor=spec.bd_anchor)
        return figures, write_report(out, figures)
    finally:
        if matplotlib.get_backend() != backend:
            import matplotlib.pyplot as plt

            plt.switch_backend(backend)


def _draw_stored(scenario: Scenario, out: Path) -> None:
    """Draw the Points stored by a run that is giving up; the run's own error is the one the caller sees."""
    if not (out / "results.csv").is_file():
        return
    try:
        draw(scenario, out)
    except Exception as exc:  # e.g. too few Points for a plot: the run's error matters more
        log.warning("could not draw the Points stored in %s: %s: %s", out, type(exc).__name__, exc)


def results_problem(out: Path, digest: str) -> str | None:
    """Why ``out`` cannot be redrawn for the scenario of hash ``digest`` (None when it can): no results.csv, a
    results.csv changed after the run wrote it, or results of another scenario."""
    from lssc_sim.engine.results import ResultStore

    store = ResultStore(out)
    problem = store.csv_problem()
    if problem:
        return problem
    manifest = store.read_manifest()
    if manifest is None:
        return f"{out / 'manifest.json'} is missing or unreadable: cannot tell which scenario made these results"
    recorded = manifest.get("scenario_hash")
    if recorded != digest:
        return (
            f"the results in {out} were made by another scenario (hash {recorded}, this one {digest}): "
            "rerun it (stored Points of this scenario are reused) or give the scenario that made them"
        )
    return None


def _rows(path: Path) -> Any:
    from lssc_sim.engine.results import read_csv

    rows = read_csv(path)
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)
