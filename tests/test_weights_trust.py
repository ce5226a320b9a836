"""Verified weights: a file that no longer matches its card, a card without checksums, and a Keras file that
needs unsafe deserialisation are refused, with the file named, when loaded and when a scenario names them."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from lssc_sim import pretrained
from lssc_sim.checksum import file_sha256
from lssc_sim.engine.scenario import ScenarioError, scenario_from_dict

SMALLEST = "lssc_awgn_cu1_16"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    shutil.copytree(pretrained.resolve(SMALLEST), folder)
    return folder


def _scenario(weights: Path) -> dict:
    return {
        "name": "w",
        "dataset": {"name": "synthetic_portraits", "num_images": 2},
        "systems": {"lssc": {"kind": "semantic", "weights": str(weights)}},
        "sweep": {"snr_db": [0]},
    }


def test_an_untouched_copy_loads(copy):
    assert pretrained.file_problems(str(copy)) == []
    assert pretrained.load(str(copy)).card["sha256"]["encoder.keras"] == file_sha256(copy / "encoder.keras")


@pytest.mark.parametrize("name", ["encoder.keras", "decoder.keras"])
def test_a_tampered_file_is_refused_with_its_name_on_load_and_before_a_scenario_runs(copy, name):
    data = bytearray((copy / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    (copy / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{copy / name} does not match the sha256 in its card.json"):
        pretrained.load(str(copy))
    with pytest.raises(ScenarioError, match=rf"systems.lssc: weights .*{name} does not match the sha256"):
        scenario_from_dict(_scenario(copy))


def test_a_card_without_checksums_cannot_vouch_for_its_files(copy):
    card = json.loads((copy / "card.json").read_text())
    del card["sha256"]["decoder.keras"]
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=rf"{copy / 'decoder.keras'} has no sha256 in card.json"):
        pretrained.load(str(copy))
    (copy / "card.json").write_text("{")
    with pytest.raises(ValueError, match="card.json is unreadable or lists no sha256"):
        pretrained.load(str(copy))


def test_a_by_product_listed_in_the_card_but_not_shipped_is_no_problem_but_a_changed_one_is(copy):
    assert "best.keras" in json.loads((copy / "card.json").read_text())["sha256"]
    assert not (copy / "best.keras").exists() and pretrained.file_problems(str(copy)) == []
    (copy / "best.keras").write_bytes(b"not the trained model")
    assert pretrained.file_problems(str(copy)) == [
        f"weights {str(copy)!r}: {copy / 'best.keras'} does not match the sha256 in its card.json (changed or "
        "damaged since training): restore it, or retrain with the card's command"
    ]


def test_keras_files_load_in_safe_mode(copy):
    """A model whose file carries Python code (a Lambda layer) is refused even when its checksum matches."""
    import keras

    inputs = keras.Input((8, 8, 3))
    lam = keras.Model(inputs, [keras.layers.Lambda(lambda x: x * 2.0)(inputs)])
    lam.save(copy / "encoder.keras")
    card = json.loads((copy / "card.json").read_text())
    card["sha256"]["encoder.keras"] = file_sha256(copy / "encoder.keras")  # a card that vouches for it
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="(?i)lambda"):
        pretrained.load(str(copy))


@pytest.mark.parametrize("how", ["edited in place", "replaced"])
def test_a_file_changed_after_it_was_hashed_is_hashed_again_even_with_its_old_size_and_mtime(copy, how):
    path = copy / "decoder.keras"
    assert pretrained.file_problems(str(copy)) == []  # its digest is now remembered
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    time.sleep(0.05)  # past the file system's timestamp tick, so that the change time moves
    if how == "replaced":
        (copy / "new.keras").write_bytes(bytes(data))
        os.replace(copy / "new.keras", path)
    else:
        path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as when it was hashed
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert any(f"{path} does not match the sha256" in p for p in pretrained.file_problems(str(copy)))
