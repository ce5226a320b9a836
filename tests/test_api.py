"""``lssc_sim.run`` as a notebook uses it: the rows it hands back (a DataFrame with pandas, dicts without), and a
run that fails part-way still leaves the figures and the report of the Points it stored."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import lssc_sim
from lssc_sim.engine import runner
from lssc_sim.engine.results import read_csv

SMALL = """
name: api
seed: 3
systems:
  uncoded: {kind: ber, max_bits: 4800, target_bit_errors: 100000000}
sweep: {snr_db: [0, 4, 8], modulation: [qpsk]}
plots: [ber_vs_snr, ber_vs_ebno]
"""


@pytest.fixture
def scenario_path(tmp_path: Path) -> Path:
    path = tmp_path / "api.yaml"
    path.write_text(SMALL)
    return path


def _figures_in_report(report: Path) -> list[str]:
    """File names of the figures report.md shows (``![...](name)`` or ``![...](<name>)``)."""
    return re.findall(r"!\[[^\]]*\]\(<?([^)>]+)>?\)", report.read_text())


def test_rows_are_a_dataframe_of_results_csv_with_pandas(scenario_path, tmp_path):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "out"
    result = lssc_sim.run(scenario_path, out=out)
    assert isinstance(result.rows, pd.DataFrame)
    # read_csv drops empty cells; the DataFrame holds them as NaN
    rows = [{k: v for k, v in r.items() if not pd.isna(v)} for r in result.rows.to_dict("records")]
    assert rows == read_csv(out / "results.csv") and len(rows) == 3


def test_rows_are_a_list_of_dicts_without_pandas(scenario_path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # "import pandas" raises ImportError
    out = tmp_path / "out"
    result = lssc_sim.run(scenario_path, out=out)
    assert isinstance(result.rows, list) and result.rows == read_csv(out / "results.csv") and len(result.rows) == 3


def test_the_report_shows_a_figure_for_every_plot_of_the_scenario(scenario_path, tmp_path):
    result = lssc_sim.run(scenario_path, out=tmp_path / "out")
    shown = _figures_in_report(result.report[0])
    for plot in lssc_sim.load(scenario_path).spec.plots:  # a plot that silently draws nothing fails here
        assert any(Path(name).name.startswith(plot) for name in shown), f"{plot} missing from the report: {shown}"


def _fail_at_the_third_point(monkeypatch):
    calls = []
    run_point = runner.run_point

    def failing(scenario, point):
        calls.append(point.key)
        if len(calls) == 3:
            raise RuntimeError("simulated failure")
        return run_point(scenario, point)

    monkeypatch.setattr(runner, "run_point", failing)


def test_a_failed_run_draws_what_it_stored_then_raises_its_error(scenario_path, tmp_path, monkeypatch):
    _fail_at_the_third_point(monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="simulated failure"):
        lssc_sim.run(scenario_path, out=out)
    assert len(read_csv(out / "results.csv")) == 2
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    assert {"ber_vs_snr.png", "ber_vs_ebno.png"} <= {Path(n).name for n in _figures_in_report(out / "report.md")}


def test_a_drawing_that_fails_after_a_failed_run_does_not_hide_the_run_error(
    scenario_path, tmp_path, monkeypatch, caplog
):
    from lssc_sim import api

    _fail_at_the_third_point(monkeypatch)

    def broken_draw(scenario, out):
        raise ValueError("cannot draw")

    monkeypatch.setattr(api, "draw", broken_draw)
    with pytest.raises(RuntimeError, match="simulated failure"):
        lssc_sim.run(scenario_path, out=tmp_path / "out")
    assert "could not draw the Points stored in" in caplog.text and "ValueError: cannot draw" in caplog.text


def test_plot_only_writes_the_report(scenario_path, tmp_path):
    out = tmp_path / "out"
    lssc_sim.run(scenario_path, out=out)
    for name in ("report.md", "report.html", "ber_vs_snr.png"):
        (out / name).unlink()
    result = lssc_sim.run(scenario_path, out=out, plot_only=True)
    assert [p.name for p in result.report] == ["report.md", "report.html"]
    assert all(p.is_file() for p in result.report) and (out / "ber_vs_snr.png").is_file()
    assert result.summary is None and len(result.rows) == 3
