"""Plug-ins: a throwaway package, installed with pip into a folder of its own, adds a system and a dataset through
the entry-point groups ``lssc_sim.systems`` and ``lssc_sim.datasets``; a scenario runs them with no change to
lssc_sim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PACKAGE = '''
"""A toy system that counts foreground pixels, and a toy dataset of squares."""
from typing import ClassVar, Literal

import numpy as np

from lssc_sim.data import Dataset
from lssc_sim.systems import SystemConfig


class ToyConfig(SystemConfig):
    kind: Literal["toy_count"] = "toy_count"
    scale: float = 1.0
    needs_dataset: ClassVar[bool] = True

    def build(self):
        def run(ctx):
            _, masks = ctx.dataset.arrays()
            return {"images": len(masks), "foreground": float(np.mean(masks == 1)), "scaled": ctx.snr_db * self.scale}
        return run


class ToySquares(Dataset):
    num_classes = 2
    class_names = ("background", "square")

    def _load(self, index):
        h, w = self.spec.hw
        mask = np.zeros((h, w), np.uint8)
        mask[: h // 2, : w // 2] = 1  # a quarter of every image
        return np.repeat(mask[..., None] * 200, 3, axis=2).astype(np.uint8), mask
'''

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "lssc-toy-plugin"
version = "0.1"

[project.entry-points."lssc_sim.systems"]
toy_count = "lssc_toy_plugin:ToyConfig"

[project.entry-points."lssc_sim.datasets"]
toy_squares = "lssc_toy_plugin:ToySquares"
"""

RUN = """
import json, sys
import lssc_sim
result = lssc_sim.run(
    {
        "name": "toy",
        "dataset": {"name": "toy_squares", "num_images": 3, "image_size": 32},
        "systems": {"t": {"kind": "toy_count", "scale": 2.0}},
        "sweep": {"snr_db": [1, 4]},
    },
    out=sys.argv[1],
)
rows = result.rows if isinstance(result.rows, list) else result.rows.to_dict("records")
print(json.dumps([{k: r[k] for k in ("system", "kind", "snr_db", "images", "foreground", "scaled")} for r in rows]))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The plug-in, built and installed by pip into a folder that is then put on the path."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    (source / "lssc_toy_plugin").mkdir(parents=True)
    (source / "lssc_toy_plugin" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    (source / "pyproject.toml").write_text(PYPROJECT)
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert (target / "lssc_toy_plugin-0.1.dist-info" / "entry_points.txt").is_file()
    return target


def _python(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_an_installed_plugin_adds_a_system_and_a_dataset(site, tmp_path):
    listed = _python(site, str(REPO / "run_scenario.py"), "--list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    systems = next(line for line in listed.stdout.splitlines() if line.startswith("systems:"))
    datasets = next(line for line in listed.stdout.splitlines() if line.startswith("datasets:"))
    assert "toy_count" in systems and "semantic" in systems
    assert "toy_squares" in datasets and "synthetic_portraits" in datasets
    ran = _python(site, "-c", RUN, str(tmp_path / "out"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(ran.stdout.strip().splitlines()[-1])
    assert rows == [
        {"system": "t", "kind": "toy_count", "snr_db": snr, "images": 3, "foreground": 0.25, "scaled": 2.0 * snr}
        for snr in (1.0, 4.0)
    ]


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    from lssc_sim.engine.scenario import ScenarioError, scenario_from_dict

    data = {"name": "toy", "systems": {"t": {"kind": "toy_count"}}, "sweep": {"snr_db": [1]}}
    with pytest.raises(ScenarioError, match=r"systems\.t\.kind: expected one of \[.*'semantic'.*\], found 'toy_count'"):
        scenario_from_dict(data)
