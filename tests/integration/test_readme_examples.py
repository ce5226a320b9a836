"""The README's override and Python API examples run as written (in a scratch folder that sees the repository's
scenarios), and do what the README says."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from lssc_sim.engine.results import read_csv

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def _scratch(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    (tmp_path / "run_scenario.py").symlink_to(REPO / "run_scenario.py")
    return tmp_path


def test_the_override_example_runs_as_written(tmp_path):
    line = next(x.strip() for x in README.splitlines() if x.strip().startswith("python run_scenario.py scenarios/")
                and "=" in x)  # fmt: skip
    argv = shlex.split(line)
    assert argv[0] == "python"
    done = subprocess.run([sys.executable, *argv[1:], "--no-progress"], cwd=_scratch(tmp_path), capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = argv[argv.index("--out") + 1]
    out = tmp_path / folder
    rows = read_csv(out / "results.csv")
    digital = [r for r in rows if r["kind"] == "digital_image"]
    assert sorted({r["snr_db"] for r in rows}) == [0.0, 5.0, 10.0]
    assert {r["images"] for r in rows} == {20} and {r["fec.rate"] for r in digital} == {0.75}
    assert len(rows) == 3 + 2 * 3  # LSSC, and PNG + LDPC with QPSK and 16-QAM, at three SNRs
    assert f"report: {folder}/report.html" in done.stdout
    figures = [Path(x.removeprefix("figure: ")).name for x in done.stdout.splitlines() if x.startswith("figure: ")]
    report = (out / "report.md").read_text()
    assert len(figures) == 6 and all(f"({name})" in report or f"(<{name}>)" in report for name in figures)
    scenario = next(a for a in argv if a.endswith(".yaml"))
    plots = yaml.safe_load((tmp_path / scenario).read_text())["plots"]
    shown = re.findall(r"!\[[^\]]*\]\(<?([^)>]+)>?\)", report)
    for plot in plots:  # a plot that silently draws nothing leaves no figure of its name in the report
        assert any(Path(name).name.startswith(plot) for name in shown), f"{plot} missing from the report: {shown}"


def test_the_python_example_runs_as_written(tmp_path):
    code = next(block for block in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "lssc_sim.run(" in block)
    done = subprocess.run([sys.executable, "-c", code], cwd=_scratch(tmp_path), capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / "results" / "awgn_api"
    rows = read_csv(out / "results.csv")
    assert {r["images"] for r in rows} == {10} and sorted({r["snr_db"] for r in rows}) == [0.0, 10.0]
    assert "results/awgn_api/miou_vs_snr.png" in done.stdout and "results/awgn_api/report.html" in done.stdout
