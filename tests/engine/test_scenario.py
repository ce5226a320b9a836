"""Scenario files: malformed ones are rejected before any work, naming file, key, expected and found."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from lssc_sim.engine.scenario import ScenarioError, load_scenario, scenario_from_dict

VALID = """
name: tiny
seed: 3
systems:
  uncoded:
    kind: ber
  ldpc:
    kind: ber
    fec: {code: ldpc5g, k: 1000, rate: 0.5}
sweep:
  snr_db: {start: 0, stop: 4, step: 2}
  channel: [awgn, {name: rayleigh, coherence: frame}]
  modulation: [qpsk, 16qam]
plots: [ber_vs_ebno]
"""


def write(tmp_path, text: str, name: str = "scenario.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def mutate(edit) -> str:
    data = yaml.safe_load(VALID)
    edit(data)
    return yaml.safe_dump(data)


def test_valid_scenario_loads(tmp_path):
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.spec.sweep.snr_values() == [0.0, 2.0, 4.0]
    assert set(scenario.systems) == {"uncoded", "ldpc"}


BAD = {
    "unknown top-level key": (lambda d: d.update(sweeps={}), ["sweeps", "unknown key", "expected one of"]),
    "snr step zero": (lambda d: d["sweep"]["snr_db"].update(step=0), ["sweep.snr_db", "step 0"]),
    "snr step wrong sign": (lambda d: d["sweep"]["snr_db"].update(step=-1), ["sweep.snr_db", "step -1"]),
    "snr list of words": (lambda d: d["sweep"].update(snr_db=["low", "high"]), ["sweep.snr_db.0", "'low'"]),
    "code rate above one": (
        lambda d: d["systems"]["ldpc"]["fec"].update(rate=1.5),
        ["systems.ldpc.fec.rate", "less than 1", "1.5"],
    ),
    "code rate zero": (lambda d: d["systems"]["ldpc"]["fec"].update(rate=0), ["systems.ldpc.fec.rate", "0"]),
    "code rate outside 5G": (
        lambda d: d["systems"]["ldpc"]["fec"].update(rate=0.2),
        ["systems.ldpc.fec", "[1/3, 5/6]", "0.2"],
    ),
    "both n and rate": (lambda d: d["systems"]["ldpc"]["fec"].update(n=2000), ["systems.ldpc.fec", "exactly one"]),
    "unknown key in fec": (
        lambda d: d["systems"]["ldpc"]["fec"].update(kk=1),
        ["systems.ldpc.fec", "unknown key", "'kk'", "rate"],
    ),
    "unknown channel": (lambda d: d["sweep"].update(channel=["rayleight"]), ["sweep.channel", "rayleight", "awgn"]),
    "bad channel parameter": (
        lambda d: d["sweep"].update(channel=[{"name": "rayleigh", "coherence": "slow"}]),
        ["sweep.channel", "coherence", "slow"],
    ),
    "unknown channel keyword": (
        lambda d: d["sweep"].update(channel=[{"name": "rician", "k_factor": 3}]),
        ["sweep.channel", "rician", "k_factor"],
    ),
    "unknown modulation": (lambda d: d["sweep"].update(modulation=["8psk"]), ["sweep.modulation", "8psk", "qpsk"]),
    "unknown system kind": (lambda d: d["systems"]["ldpc"].update(kind="turbo"), ["systems.ldpc.kind", "turbo", "ber"]),
    "unknown system key": (
        lambda d: d["systems"]["uncoded"].update(max_bitz=5),
        ["systems.uncoded", "max_bitz", "max_bits"],
    ),
    "negative max_bits": (lambda d: d["systems"]["uncoded"].update(max_bits=-5), ["systems.uncoded.max_bits", "-5"]),
    "bad swept value": (
        lambda d: d["systems"]["ldpc"].update(sweep={"fec.rate": [0.5, 0.9]}),
        ["systems.ldpc", "fec", "0.9"],
    ),
    "empty snr list": (lambda d: d["sweep"].update(snr_db=[]), ["sweep.snr_db", "at least 1", "[]"]),
    "system snr step zero": (
        lambda d: d["systems"]["ldpc"].update(snr_db={"start": 0, "stop": 1, "step": 0}),
        ["systems.ldpc.snr_db", "step 0"],
    ),
    "wrong type seed": (lambda d: d.update(seed="abc"), ["seed", "integer", "'abc'"]),
    "missing sweep": (lambda d: d.pop("sweep"), ["sweep", "missing"]),
    "no systems": (lambda d: d.update(systems={}), ["systems", "at least 1"]),
    "unknown plot": (lambda d: d.update(plots=["cliff"]), ["plots", "cliff", "ber_vs_ebno"]),
    "bad name": (lambda d: d.update(name="my scenario"), ["name", "'my scenario'"]),
    "unknown dataset": (lambda d: d.update(dataset={"name": "imagenet"}), ["dataset.name", "imagenet"]),
    "missing dataset folder": (
        lambda d: d.update(dataset={"name": "folder", "path": "/nonexistent/lssc"}),
        ["dataset", "/nonexistent/lssc"],
    ),
    "snr axis missing over a noisy channel": (lambda d: d["sweep"].pop("snr_db"), ["sweep", "snr_db", "noiseless"]),
    "ideal channel for the ber system": (
        lambda d: d["sweep"].update(channel=["ideal"]),
        ["sweep.channel[0]", "'ideal'", "does not apply", "'uncoded' (ber)"],
    ),
    "bd anchor not a system": (lambda d: d.update(bd_anchor="jpeg"), ["bd_anchor", "'jpeg'", "ldpc"]),
    "dataset side out of range": (
        lambda d: d.update(dataset={"name": "synthetic_street", "image_size": [64, 2048]}),
        ["dataset.image_size", "32..1024", "2048"],
    ),
    "dataset size of three sides": (
        lambda d: d.update(dataset={"name": "synthetic_street", "image_size": [64, 128, 3]}),
        ["dataset.image_size"],
    ),
    "dataset key typo": (
        lambda d: d.update(dataset={"name": "synthetic_portraits", "num_image": 4}),
        ["dataset", "num_image"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_scenario_is_rejected_naming_the_key(tmp_path, case):
    edit, expected = BAD[case]
    path = write(tmp_path, mutate(edit), name=f"{case.replace(' ', '_')}.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("- just\n- a list\n", "expected a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        ("", "expected a mapping"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=expected) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_every_problem_is_listed_at_once(tmp_path):
    def edit(d):
        d["systems"]["ldpc"]["fec"]["rate"] = 2
        d["systems"]["uncoded"]["max_bits"] = 0

    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, mutate(edit)))
    assert "systems.ldpc.fec.rate" in str(info.value) and "systems.uncoded.max_bits" in str(info.value)


def test_points_are_the_product_of_the_applicable_axes(tmp_path):
    scenario = load_scenario(write(tmp_path, VALID))
    points = scenario.points()
    # 2 systems x 3 SNR x 2 channels x 2 modulations
    assert len(points) == 24
    assert len({p.key for p in points}) == 24
    assert {p.modulation for p in points} == {"qpsk", "16qam"}


def test_system_sweep_multiplies_points_and_resolves_parameters(tmp_path):
    text = mutate(lambda d: d["systems"]["ldpc"].update(sweep={"fec.rate": [1 / 3, 0.5, 0.75]}))
    points = load_scenario(write(tmp_path, text)).points()
    rates = sorted({p.config.fec.rate for p in points if p.system == "ldpc"})
    assert rates == pytest.approx([1 / 3, 0.5, 0.75])
    assert len(points) == 12 + 3 * 12
    assert {p.params()["fec.rate"] for p in points if p.system == "ldpc"} == set(rates)


def test_keys_are_stable_and_depend_on_every_parameter(tmp_path):
    a = [p.key for p in load_scenario(write(tmp_path, VALID, "a.yaml")).points()]
    b = [p.key for p in load_scenario(write(tmp_path, VALID, "b.yaml")).points()]
    assert a == b
    for edit in (
        lambda d: d.update(seed=4),
        lambda d: d["systems"]["ldpc"]["fec"].update(k=1200),
        lambda d: d["systems"]["uncoded"].update(max_bits=7),
    ):
        c = [p.key for p in scenario_from_dict(yaml.safe_load(mutate(edit))).points()]
        assert set(c) != set(a)


def test_snr_range_is_inclusive_and_exact():
    scenario = scenario_from_dict(
        yaml.safe_load(mutate(lambda d: d["sweep"].update(snr_db={"start": 25, "stop": -5, "step": -0.1})))
    )
    values = scenario.spec.sweep.snr_values()
    assert len(values) == 301 and values[0] == 25 and values[-1] == -5
    assert all(math.isclose(v, round(v, 1)) for v in values)


def test_quick_shrinks_the_sweep():
    data = yaml.safe_load(mutate(lambda d: d["sweep"].update(snr_db={"start": -5, "stop": 25, "step": 1})))
    full = scenario_from_dict(data)
    quick = scenario_from_dict(data, quick=True)
    assert quick.name == "tiny_quick"
    assert quick.spec.sweep.snr_values() == [-5, 5, 15, 25]
    assert quick.systems["uncoded"].max_bits < full.systems["uncoded"].max_bits


def test_quick_thins_a_system_snr_axis_too():
    data = yaml.safe_load(mutate(lambda d: d["systems"]["ldpc"].update(snr_db={"start": 0, "stop": 6, "step": 0.25})))
    points = scenario_from_dict(data, quick=True).points()
    assert sorted({p.snr_db for p in points if p.system == "ldpc"}) == [0, 2, 4, 6]
    assert sorted({p.snr_db for p in points if p.system == "uncoded"}) == [0, 2, 4]


IDEAL = """
name: rates
dataset: {name: synthetic_portraits, num_images: 2}
systems:
  jpeg: {kind: digital_image, source: {codec: jpeg}, sweep: {source.bpp: [0.5, 1.0]}}
  lssc: {kind: semantic, weights: lssc_awgn}
sweep:
  channel: [ideal]
  modulation: [qpsk, 16qam]
"""


def test_noiseless_points_have_no_snr_and_no_modulation(tmp_path):
    scenario = load_scenario(write(tmp_path, IDEAL))
    points = scenario.points()
    assert [(p.system, p.channel["name"], p.modulation) for p in points] == [
        ("jpeg", "ideal", None),
        ("jpeg", "ideal", None),
        ("lssc", "ideal", None),
    ]
    assert all(math.isnan(p.snr_db) for p in points) and len({p.key for p in points}) == 3
    # beside a noisy channel, the ideal one still gets one Point per system variant, the noisy one the full axes
    mixed = load_scenario(write(tmp_path, IDEAL.replace("[ideal]", "[ideal, awgn]") + "  snr_db: [0, 5]\n", "m.yaml"))
    by_channel = {}
    for p in mixed.points():
        by_channel.setdefault((p.system, p.channel["name"]), []).append((p.snr_db, p.modulation))
    assert len(by_channel[("jpeg", "ideal")]) == 2 and len(by_channel[("jpeg", "awgn")]) == 2 * 2 * 2
    assert len(by_channel[("lssc", "ideal")]) == 1 and len(by_channel[("lssc", "awgn")]) == 2
    assert len(load_scenario(write(tmp_path, IDEAL), quick=True).points()) == 3


MIXED = IDEAL.replace("[ideal]", "[ideal, awgn]") + "  snr_db: [0, 5]\n"


def test_keys_of_scenarios_without_channels_are_unchanged():
    """Keys recorded before systems could name their ``channels``: the key only changes with a Point's result,
    so the finished Points of every existing scenario are still found."""
    assert scenario_from_dict(yaml.safe_load(VALID)).points()[0].key == "4b0d7f23d5b91ef4"  # ber, awgn, 0 dB
    assert scenario_from_dict(yaml.safe_load(MIXED)).points()[0].key == "cd822f9894569b4a"  # jpeg, ideal


def test_a_system_runs_over_only_its_channels_and_keeps_its_keys():
    full = scenario_from_dict(yaml.safe_load(MIXED)).points()
    data = yaml.safe_load(MIXED)
    data["systems"]["jpeg"]["channels"] = ["ideal"]
    data["systems"]["lssc"]["channels"] = ["ideal", "awgn"]  # every channel: the same Points as without the key
    chosen = scenario_from_dict(data).points()
    assert {(p.system, p.channel["name"]) for p in chosen} == {("jpeg", "ideal"), ("lssc", "ideal"), ("lssc", "awgn")}
    assert [p.key for p in chosen] == [p.key for p in full if p.system == "lssc" or p.channel["name"] == "ideal"]
    assert "channels" not in chosen[0].params()  # results.csv: the channel column already says which


@pytest.mark.parametrize(
    "channels, expected",
    [
        (["rayleight"], ["systems.uncoded.channels", "'rayleight'", "['awgn', 'rayleigh']"]),
        ([], ["systems.uncoded.channels", "selects none", "['awgn', 'rayleigh']"]),
    ],
)
def test_channels_outside_the_sweep_are_refused(tmp_path, channels, expected):
    path = write(tmp_path, mutate(lambda d: d["systems"]["uncoded"].update(channels=channels)))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert all(part in message for part in [str(path), *expected]), message


def test_a_noiseless_channel_outside_a_system_channels_is_not_its_problem():
    def edit(d):
        d["sweep"]["channel"] = ["ideal", "awgn"]
        d["systems"]["uncoded"]["channels"] = ["awgn"]

    with pytest.raises(ScenarioError) as info:  # the ldpc system still runs over ideal, where ber has nothing
        scenario_from_dict(yaml.safe_load(mutate(edit)))
    assert "'ldpc' (ber)" in str(info.value) and "'uncoded'" not in str(info.value)
    mutate_both = mutate(lambda d: (edit(d), d["systems"]["ldpc"].update(channels=["awgn"])))
    points = scenario_from_dict(yaml.safe_load(mutate_both)).points()
    assert {p.channel["name"] for p in points} == {"awgn"}


def test_choosing_channels_imports_no_tensorflow():
    code = (
        "import sys, yaml\nfrom lssc_sim.engine.scenario import scenario_from_dict\n"
        f"data = yaml.safe_load({MIXED!r})\ndata['systems']['jpeg']['channels'] = ['ideal']\n"
        "scenario_from_dict(data).points()\n"
        "print('heavy', sorted(m for m in ('tensorflow', 'sionna', 'keras') if m in sys.modules))"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert "heavy []" in out.stdout, out.stdout + out.stderr
