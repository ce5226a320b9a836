"""Training of the codecs: loss, resumable checkpoints, saved halves and card, channel, config errors, evaluate."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math

import keras
import numpy as np
import pytest
from pydantic import ValidationError

from lssc_sim.codecs.channel_layer import AnalogChannel
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.train.cli import main
from lssc_sim.train.config import ConfigError, TrainConfig, load_config
from lssc_sim.train.loop import MaskedSparseCrossEntropy, evaluate, train

TINY = dict(codec="lssc", image_size=32, base_width=4, depth=2, train_images=32, val_images=16, batch_size=8)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch, then the same run resumed up to two epochs in the same folder; the printed lines of each."""
    out = tmp_path_factory.mktemp("lssc_run")
    printed, results = [], []
    for epochs in (1, 2):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            results.append(train(TrainConfig(**TINY, epochs=epochs), out_dir=out))
        printed.append(buffer.getvalue())
    return out, results, printed


def test_loss_falls_and_val_miou_is_a_score(run):
    _, (_, result), _ = run
    loss, miou = result.history["loss"], result.history["val_miou"]
    assert len(loss) == len(miou) == 2
    assert loss[1] < loss[0]
    assert all(0.0 <= m <= 1.0 for m in miou)
    assert result.best_val_miou == max(miou)


def test_resume_continues_after_the_last_finished_epoch(run):
    out, (first, second), printed = run
    assert (first.epochs_run, second.epochs_run) == (1, 2)
    assert second.history["loss"][0] == first.history["loss"][0]  # epoch 1 kept, not redone
    assert printed[0].count("epoch 1:") == 1 and "epoch 1:" not in printed[1] and "epoch 2:" in printed[1]
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    # Nothing left to do: a third call trains nothing and returns the same result.
    again = train(TrainConfig(**TINY, epochs=2), out_dir=out, progress=False)
    assert again.epochs_run == 2 and again.history == second.history


def test_an_early_stopped_run_resumes_only_with_more_patience(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(**TINY, epochs=1), out_dir=out, progress=False)
    state = json.loads((out / "state.json").read_text())
    (out / "state.json").write_text(json.dumps({**state, "stopped": True, "wait": 2}))  # as if out of patience 2
    assert train(TrainConfig(**TINY, epochs=3, patience=2), out_dir=out, progress=False).epochs_run == 1
    assert train(TrainConfig(**TINY, epochs=2, patience=5), out_dir=out, progress=False).epochs_run == 2


def test_resume_refuses_a_different_experiment(run):
    out, _, _ = run
    with pytest.raises(ValueError, match="base_width"):
        train(TrainConfig(**{**TINY, "base_width": 8}, epochs=3), out_dir=out)


def test_saved_files_reload_and_the_halves_compose_to_the_best_model(run):
    out, (_, result), _ = run
    card = json.loads((out / "card.json").read_text())
    assert card["codec"] == "lssc" and card["seed"] == 0 and card["epochs_run"] == 2
    assert card["best_val_miou"] == result.best_val_miou and card["dataset"]["split"] == "train"
    best = keras.saving.load_model(out / "best.keras")
    encoder = keras.saving.load_model(out / "encoder.keras")
    decoder = keras.saving.load_model(out / "decoder.keras")
    images = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(best(images)), keras.ops.convert_to_numpy(decoder(encoder(images)))
    )
    again = keras.saving.load_model(out / "best.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(best(images)), keras.ops.convert_to_numpy(again(images)))

    for name, digest in card["sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_loss_ignores_the_ignore_label():
    loss = MaskedSparseCrossEntropy(ignore_index=255)
    logits = np.random.default_rng(1).normal(size=(2, 4, 4, 3)).astype(np.float32)
    assert float(loss(np.full((2, 4, 4), 255), logits)) == 0.0
    labels = np.random.default_rng(2).integers(0, 3, size=(2, 4, 4))
    labels[0] = 255
    # Reference: mean cross-entropy of the kept pixels only.
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    kept = labels != 255
    expected = -np.take_along_axis(log_p, np.where(kept, labels, 0)[..., None], -1)[..., 0][kept].mean()
    assert float(loss(labels, logits)) == pytest.approx(expected, rel=1e-5)


def test_a_channel_config_trains_through_the_analog_channel(tmp_path):
    config = TrainConfig(**{**TINY, "codec": "unet", "depth": 1}, epochs=1, channel="awgn", train_snr_db=(5, 10))
    result = train(config, out_dir=tmp_path, progress=False)
    assert 0.0 <= result.best_val_miou <= 1.0
    model = keras.saving.load_model(result.model_path)
    channels = [layer for layer in model.layers if isinstance(layer, AnalogChannel)]
    assert len(channels) == 1 and channels[0].train_snr_db == (5.0, 10.0)
    scores = evaluate(model, config.dataset_spec("val"), snr_db=10.0, batch_size=8)
    assert 0.0 <= scores["miou"] <= 1.0


def test_default_depth_comes_from_the_codec():
    assert TrainConfig(codec="unet").depth == 4
    assert TrainConfig(codec="lssc").depth == 3
    assert TrainConfig(codec="lssc", depth=2).depth == 2


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"epoch": 3}, "epoch"),
        ({"codec": "vgg"}, "codec"),
        ({"channel": "nope"}, "channel"),
        ({"batch_size": 0}, "batch_size"),
        ({"dataset": {"name": "synthetic_portraits", "num_images": 7}}, "dataset"),
    ],
)
def test_bad_config_is_rejected_naming_the_key(entry, key, tmp_path):
    with pytest.raises(ValidationError, match=key):
        TrainConfig.model_validate({"codec": "lssc", **entry})
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"codec": "lssc", **entry}))  # JSON is YAML
    with pytest.raises(ConfigError, match=f"{path}: {key}"):
        load_config(path)
    assert main([str(path)]) == 2


def test_evaluate_of_a_perfect_model_gives_miou_one(tmp_path):
    spec = DatasetSpec(name="synthetic_portraits", split="val", num_images=6, image_size=32)
    ds = load_dataset(spec)
    images, masks = ds.batch(range(len(ds)))
    lookup = {im.tobytes(): m for im, m in zip(images, masks, strict=True)}

    class Oracle(keras.Model):
        """Logits that put the true class first, found by looking the image up."""

        def call(self, x):
            keys = np.round(keras.ops.convert_to_numpy(x) * 255).astype(np.uint8)
            labels = np.stack([lookup[k.tobytes()] for k in keys])
            return np.eye(ds.num_classes, dtype=np.float32)[np.where(labels == 255, 0, labels)]

    scores = evaluate(Oracle(), spec, batch_size=4)
    assert scores["miou"] == 1.0 and scores["pixel_accuracy"] == 1.0
    assert all(math.isnan(v) or v == 1.0 for v in scores["per_class_iou"])


def test_the_card_records_the_command_without_machine_paths(monkeypatch):
    from lssc_sim.train import loop

    monkeypatch.setattr("sys.argv", ["/any/where/lssc_sim/train/__main__.py", "my.yaml"])
    assert loop._command() == "python -m lssc_sim.train my.yaml"
    monkeypatch.setattr("sys.argv", ["/any/where/run_scenario.py", "s.yaml"])
    assert loop._command() == "python run_scenario.py s.yaml"
