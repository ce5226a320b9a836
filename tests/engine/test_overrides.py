"""Command-line overrides (validated like the file, recorded beside the results) and YAML that would exhaust
memory or the stack (refused before it is built)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lssc_sim.cli import main
from lssc_sim.engine.scenario import ScenarioError, load_scenario, scenario_from_dict

REPO = Path(__file__).resolve().parents[2]
MAIN_JOB = REPO / "scenarios" / "awgn_sweep.yaml"


def test_overrides_set_keys_lists_and_system_parameters():
    scenario = load_scenario(
        MAIN_JOB, overrides=["dataset.num_images=20", "sweep.snr_db=[0, 5, 10]", "systems.png_ldpc.fec.rate=0.75"]
    )
    assert scenario.spec.dataset.num_images == 20
    assert sorted({p.snr_db for p in scenario.points()}) == [0, 5, 10]
    assert scenario.systems["png_ldpc"].fec.rate == 0.75
    assert scenario.systems["png_ldpc"].fec.code == "ldpc5g"  # the keys next to it are kept
    assert scenario.overrides == ("dataset.num_images=20", "sweep.snr_db=[0, 5, 10]", "systems.png_ldpc.fec.rate=0.75")
    plain = load_scenario(MAIN_JOB)
    assert plain.spec.dataset.num_images == 100 and plain.digest() != scenario.digest()


def test_overrides_add_and_remove_systems_and_keys_and_index_lists():
    scenario = load_scenario(
        MAIN_JOB,
        overrides=[
            "~systems.lssc",
            "systems.extra={kind: ber, max_bits: 2400}",
            "sweep.channel=[awgn, {name: rayleigh, coherence: block, block_length: 8}]",
            "sweep.channel.1.block_length=16",
            "sweep.snr_db.step=5",
        ],
    )
    assert sorted(scenario.systems) == ["extra", "png_ldpc"]
    assert scenario.spec.sweep.channel[1] == {"name": "rayleigh", "coherence": "block", "block_length": 16}
    assert scenario.spec.sweep.snr_values() == [-5, 0, 5, 10, 15, 20, 25]


@pytest.mark.parametrize(
    "override, message",
    [
        ("systems.png_ldpc.fec.rat=0.75", "unknown key 'rat' in systems.png_ldpc.fec; expected one of: cn_update, "),
        ("dataset.num_image=20", "unknown key 'num_image' in dataset; expected one of: image_size, name, num_images"),
        ("sweeps.snr_db=[0]", "unknown key 'sweeps'; expected one of: bd_anchor, dataset, description, fps, name, "),
        ("systems.nope.fec.rate=0.5", "systems.nope is not a system of the scenario (its systems: lssc, png_ldpc)"),
        ("sweep.channel.3.coherence=4", "sweep.channel is a list of 1 entries; expected an index 0..0"),
        ("sweep.snr_db=[0, 5", "the value '[0, 5' is not valid YAML"),
        ("dataset.num_images", "expected key.path=value (or ~key.path to remove a key)"),
        ("a..b=1", "expected a dotted key path such as dataset.num_images, found 'a..b'"),
    ],
)
def test_an_override_of_a_key_that_does_not_exist_is_refused_with_the_key_named(override, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(MAIN_JOB, overrides=[override])
    assert f"{MAIN_JOB}: override {override!r}: {message}" in str(err.value)


def test_overridden_values_are_validated_like_the_file():
    with pytest.raises(ScenarioError) as err:
        load_scenario(MAIN_JOB, overrides=["systems.png_ldpc.fec.rate=2", "dataset.num_images=0"])
    text = str(err.value)
    assert "systems.png_ldpc.fec.rate: expected: input should be less than 1; found 2.0" in text
    assert "dataset.num_images: expected: input should be greater than or equal to 1; found 0" in text
    assert "(after the overrides systems.png_ldpc.fec.rate=2, dataset.num_images=0)" in text


def test_overrides_are_recorded_beside_the_results_and_plot_only_takes_them(tmp_path, capsys):
    path = tmp_path / "small.yaml"
    path.write_text("name: small\nsystems: {u: {kind: ber, max_bits: 2400}}\nsweep: {snr_db: [0]}\n")
    out = tmp_path / "out"
    given = ["sweep.snr_db=[0, 3]", "systems.u.fec.rate=0.75", "--out", str(out), "--no-progress"]
    assert main([str(path), *given]) == 0
    saved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert saved["overrides"] == ["sweep.snr_db=[0, 3]", "systems.u.fec.rate=0.75"]
    assert saved["systems"]["u"]["fec"]["rate"] == 0.75 and saved["sweep"]["snr_db"] == [0.0, 3.0]
    assert json.loads((out / "manifest.json").read_text())["overrides"] == saved["overrides"]
    assert main([str(path), "sweep.snr_db=[0, 3]", "systems.u.fec.rate=0.75", "--out", str(out), "--plot-only"]) == 0
    assert main([str(path), "--out", str(out), "--plot-only"]) == 2  # without them it is another scenario
    assert "made by another scenario" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- hostile YAML

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{new}: &{new} [{', '.join([f'*{old}'] * 9)}]\n" for old, new in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("name: bomb\nsweep: {snr_db: [0]}\n" + "systems: {u: {kind: ber}}\n" + LAUGHS)
    with pytest.raises(ScenarioError, match=rf"{path}: expands to more than 100000 values once its aliases"):
        load_scenario(path)


def test_deep_nesting_and_huge_files_are_refused(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\nsystems: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ScenarioError, match=rf"{deep}: nested more than 64 levels deep \(line 2\)"):
        load_scenario(deep)
    huge = tmp_path / "huge.yaml"
    huge.write_text("name: x\n#" + "x" * (1 << 20) + "\n")
    with pytest.raises(ScenarioError, match=rf"{huge}: \d+ bytes; a configuration file is at most 1048576 bytes"):
        load_scenario(huge)
    many = tmp_path / "many.yaml"  # under 1 MiB, no alias, but more values than the limit: the message says so
    many.write_text("name: x\nsweep: {snr_db: [" + ", ".join(["0"] * 150_000) + "]}\n")
    assert many.stat().st_size < 1 << 20
    with pytest.raises(ScenarioError, match=rf"{many}: holds more than 100000 values \(line 2\)") as err:
        load_scenario(many)
    assert "alias" not in str(err.value)


def test_anchors_and_merge_keys_of_ordinary_scenarios_still_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "name: a\nsweep: {snr_db: [0]}\nsystems:\n"
        "  u: &base {kind: ber, max_bits: 2400}\n"
        "  v: {<<: *base, max_bits: 4800}\n"
    )
    scenario = load_scenario(path)
    assert (scenario.systems["u"].max_bits, scenario.systems["v"].max_bits) == (2400, 4800)


def test_a_training_config_is_read_with_the_same_limits(tmp_path):
    from lssc_sim.train.config import ConfigError, load_config

    path = tmp_path / "bomb.yaml"
    path.write_text(LAUGHS)
    with pytest.raises(ConfigError, match="alias"):
        load_config(path)


def test_scenario_from_dict_takes_overrides_too():
    data = {"name": "d", "systems": {"u": {"kind": "ber"}}, "sweep": {"snr_db": [0]}}
    assert scenario_from_dict(data, overrides=["systems.u.max_bits=1200"]).systems["u"].max_bits == 1200
    assert data["systems"]["u"] == {"kind": "ber"}  # the caller's dict is not changed


@pytest.mark.parametrize(
    "override, message",
    [
        ("sweep.channel.0.coherence=4", "sweep.channel.0 is 'awgn', not a mapping: coherence cannot be set inside it"),
        ("~plots.0.x", "plots.0 is 'miou_vs_snr', not a mapping: x cannot be set inside it"),
        ("~dataset.num_images=5", "~key.path removes a key and takes no value"),
        ("systems.png_ldpc.kind=nope", "systems.png_ldpc.kind: expected one of ["),
        ("title=" + "[" * 3000, "nested more than 64 levels deep"),
        ("sweep.snr_db=" + LAUGHS.replace("\n", ", ").join("{}"), "expands to more than 100000 values"),
    ],
    ids=["into a string entry", "remove inside a string", "remove with a value", "unknown kind", "deep", "bomb"],
)
def test_overrides_that_would_crash_or_explode_are_refused_with_a_message(override, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(MAIN_JOB, overrides=[override])
    assert message in str(err.value) and len(str(err.value)) < 2000


def test_a_systems_own_sweep_is_overridden_by_its_dotted_names_and_never_silently_undone():
    path = REPO / "scenarios" / "modulation_sweep.yaml"
    scenario = load_scenario(path, overrides=["systems.png_ldpc.sweep.fec.rate=[0.5]"])
    assert scenario.systems["png_ldpc"].sweep == {"fec.rate": [0.5]}
    with pytest.raises(ScenarioError, match=r"systems.png_ldpc.sweep sets 'fec.rate' for every variant"):
        load_scenario(path, overrides=["systems.png_ldpc.fec.rate=0.75"])


def test_the_api_takes_one_override_as_a_string():
    import lssc_sim

    assert lssc_sim.load(MAIN_JOB, "dataset.num_images=7").spec.dataset.num_images == 7
