"""What a user must be able to trust: every README scenario block validates, plots that cannot draw are refused,
--plot-only refuses another scenario's results, weights that do not fit the data are refused before any work,
every problem is reported at once, run history is kept, and validation imports neither TensorFlow nor matplotlib.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lssc_sim.cli import main
from lssc_sim.engine.scenario import ScenarioError, scenario_from_dict

REPO = Path(__file__).resolve().parents[2]
BER = {"name": "t", "systems": {"u": {"kind": "ber", "max_bits": 2400}}, "sweep": {"snr_db": [0]}}


def _readme_yaml_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("index", range(len(_readme_yaml_blocks())))
def test_every_readme_yaml_block_validates(index):
    block = yaml.safe_load(_readme_yaml_blocks()[index])
    if "systems" in block:  # a scenario
        scenario_from_dict(block, f"README block {index}")
    else:  # a training config
        from lssc_sim.train.config import TrainConfig

        TrainConfig.model_validate(block)


@pytest.mark.parametrize("rate, expected", [(0.333, 1 / 3), ("1/3", 1 / 3), (0.5, 0.5), (0.667, 2 / 3), (0.75, 0.75)])
def test_code_rates_as_users_write_them(rate, expected):
    data = {**BER, "systems": {"c": {"kind": "ber", "fec": {"rate": rate}}}}
    assert scenario_from_dict(data).systems["c"].fec.rate == pytest.approx(expected, abs=1e-12)


def test_a_bad_swept_value_names_the_sweep_entry():
    data = {**BER, "systems": {"c": {"kind": "ber", "fec": {"rate": 0.5}, "sweep": {"fec.rate": [0.5, 0.2]}}}}
    with pytest.raises(ScenarioError, match=r"systems\.c\.sweep\.fec\.rate: rate must be in .* \(swept value 0\.2\)"):
        scenario_from_dict(data)


def test_a_codeword_length_that_does_not_fit_a_swept_modulation_is_refused():
    data = {
        **BER,
        "systems": {"c": {"kind": "ber", "fec": {"k": 4032, "n": 8066}}},
        "sweep": {"snr_db": [0], "modulation": ["qpsk", "16qam"]},
    }
    with pytest.raises(ScenarioError, match=r"systems\.c\.fec\.n: 8066 bits do not fill whole 16qam symbols"):
        scenario_from_dict(data)


def test_a_plot_that_draws_none_of_the_systems_is_refused():
    drawn = "digital_image, semantic, label_map or split_digital"
    with pytest.raises(ScenarioError, match=rf"plots\[1\]: 'miou_vs_snr' draws {drawn} systems"):
        scenario_from_dict({**BER, "plots": ["ber_vs_snr", "miou_vs_snr"]})


def test_the_bler_plot_without_a_coded_ber_system_is_refused():
    with pytest.raises(ScenarioError, match=r"plots\[1\]: 'bler_vs_ebno' draws coded ber systems"):
        scenario_from_dict({**BER, "plots": ["ber_vs_ebno", "bler_vs_ebno"]})
    coded = {**BER, "systems": {**BER["systems"], "c": {"kind": "ber", "fec": {"rate": 0.5}}}}
    scenario_from_dict({**coded, "plots": ["ber_vs_ebno", "bler_vs_ebno"]})


def test_every_problem_is_reported_at_once():
    data = {
        **BER,
        "sweep": {"snr_db": [0], "channel": [{"name": "rician", "coherence": "slow"}, "warp"]},
        "systems": {"a": {"kind": "ber", "max_bits": -1}, "b": {"kind": "nope"}},
        "plots": ["miou_vs_snr"],
        "colour": "red",
    }
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    message = str(info.value)
    for expected in (
        "colour",
        "sweep.channel: entry 0 (rician)",
        "sweep.channel: entry 1",
        "systems.a.max_bits",
        "systems.b.kind",
        "plots[0]",
    ):
        assert expected in message, (expected, message)


def test_weights_that_do_not_fit_the_data_are_refused_before_any_work():
    data = {
        "name": "w",
        "dataset": {"name": "synthetic_portraits", "num_images": 2, "image_size": 32},
        "systems": {"lssc": {"kind": "semantic", "weights": "lssc_awgn"}, "png": {"kind": "digital_image"}},
        "sweep": {"snr_db": [0]},
    }
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert "systems.lssc: weights 'lssc_awgn' were trained on 128x128 images" in str(info.value)
    assert "systems.png: weights 'unet_segmenter' were trained on 128x128" in str(info.value)
    street = {**data, "dataset": {"name": "synthetic_street", "num_images": 2, "image_size": 128}}
    with pytest.raises(ScenarioError, match="segment 2 classes .* has 8"):
        scenario_from_dict(street)


def test_plot_only_refuses_results_of_another_scenario(tmp_path, capsys):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump({**BER, "plots": ["ber_vs_snr"]}))
    second.write_text(yaml.safe_dump({**BER, "seed": 3, "plots": ["ber_vs_snr"]}))
    out = tmp_path / "out"
    assert main([str(first), "--out", str(out), "--no-progress"]) == 0
    assert main([str(second), "--out", str(out), "--plot-only"]) == 2
    assert "made by another scenario" in capsys.readouterr().err
    assert main([str(first), "--out", str(out), "--plot-only"]) == 0


def test_manifest_keeps_every_run(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(BER))
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--no-progress"]) == 0
    assert main([str(path), "--out", str(out), "--no-progress"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    runs = manifest["runs"]
    assert [r["points_computed"] for r in runs] == [1, 0] and [r["points_skipped"] for r in runs] == [0, 1]
    assert all(r["status"] == "finished" and r["git_commit"] is not None for r in runs)
    assert manifest["run_id"] == runs[-1]["run_id"] != runs[0]["run_id"]


def test_a_run_that_fails_midway_records_it(tmp_path, monkeypatch):
    from lssc_sim.engine import runner

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(runner, "run_point", broken)
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(BER))
    with pytest.raises(RuntimeError):
        main([str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed: RuntimeError: simulated failure"


def test_refusal_imports_neither_tensorflow_nor_matplotlib(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**BER, "systems": {"u": {"kind": "ber", "demaping": "app"}}}))
    code = (
        f"import sys, runpy; sys.argv = ['run_scenario.py', {str(bad)!r}]\n"
        "try:\n    runpy.run_path('run_scenario.py', run_name='__main__')\nexcept SystemExit as e:\n"
        "    print('exit', e.code)\n"
        "print('heavy', sorted(m for m in ('tensorflow', 'matplotlib', 'sionna', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "exit 2" in out.stdout and "heavy []" in out.stdout, out.stdout + out.stderr
    assert "systems.u.demaping: unknown key" in out.stderr
