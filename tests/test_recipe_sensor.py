"""recipes/sensor_classification.py: the smoke run end to end, flags, and resuming after a kill."""

import hashlib
import shutil
from pathlib import Path

import pytest

import zoo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def recipe_module(recipe):
    return recipe.module()


# --- flags ----------------------------------------------------------------------------------------


def test_model_names(recipe_module):
    assert recipe_module.model_name("BasicMotions") == "sensor_basic_motions"
    assert recipe_module.model_name("JapaneseVowels") == "sensor_japanese_vowels"


def test_flags_for_every_hyperparameter(recipe_module, tmp_path):
    args = recipe_module.parse_args([
        "--dataset", "BasicMotions", "--cell", "lstm", "--hidden", "16", "--learning-rate", "0.01",
        "--epochs", "3", "--initializer", "identity", "--seed", "5", "--bidirectional", "--layers", "2",
        "--workdir", str(tmp_path), "--version", "4", "--max-length", "200",
    ])
    assert (args.dataset, args.cell, args.hidden, args.learning_rate, args.epochs) == ("BasicMotions", "lstm", 16, 0.01, 3)
    assert (args.initializer, args.seed, args.bidirectional, args.layers) == ("identity", 5, True, 2)
    assert (args.workdir, args.version, args.max_length, args.smoke) == (tmp_path, 4, 200, False)
    defaults = recipe_module.parse_args([])
    assert defaults.out is None
    assert defaults.cell in ("elman", "gru", "lstm", "dense")
    with pytest.raises(SystemExit):
        recipe_module.parse_args(["--cell", "transformer"])


def test_channel_statistics(recipe_module):
    import numpy as np

    series = [np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([[4.0, 1.0]])]
    mean, std = recipe_module.channel_statistics(series)
    np.testing.assert_allclose(mean, [2.0, 1.0])
    np.testing.assert_allclose(std, [np.std([0.0, 2.0, 4.0]), 1e-6])  # a constant channel is not divided by 0


# --- the smoke run ------------------------------------------------------------------------------


@pytest.mark.slow
def test_smoke_run_exports_a_loadable_model(smoke, smoke_model):
    assert f"exported {smoke.version_dir}" in smoke.proc.stdout
    assert "Epoch 1/2" in smoke.proc.stdout  # Keras' progress output
    assert smoke_model.card["name"] == "sensor_basic_motions"
    assert smoke_model.classify(smoke_model.example_requests()["serving_default"]["series"]).scores.shape == (1, 4)


def test_smoke_card(smoke):
    import sktime.datasets

    card = zoo.info(smoke.version_dir)
    command = card["recipe_command"]
    assert command.startswith("python recipes/sensor_classification.py ")
    assert "--dataset BasicMotions" in command and "--smoke" in command

    folder = Path(sktime.datasets.__file__).parent / "data" / "BasicMotions"
    assert card["dataset"]["name"] == "BasicMotions"
    assert card["dataset"]["files_sha256"] == {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("BasicMotions_TRAIN.ts", "BasicMotions_TEST.ts")
    }
    assert card["dataset"]["split"] and card["dataset"]["license"]

    metrics = card["test_metrics"]
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["errors"] == round((1 - metrics["accuracy"]) * metrics["examples"])
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["examples"]

    for name in ("serving_default", "classify_padded"):
        example = card["signatures"][name]["example_request"]
        assert example["signature_name"] == name
        assert len(example["inputs"]["series"][0][0]) == 6
    assert card["classes"] == ["badminton", "running", "standing", "walking"]
    assert "--smoke" in card["recipe_command"] and "out" not in card["hyperparameters"]
    assert card["license"].startswith("Apache-2.0")
    assert card["task"] == "sensor-classification"


def test_smoke_workdir(smoke, recipe):
    work = smoke.workdir
    for png in ("curves.png", "confusion_matrix.png"):
        assert (work / png).read_bytes()[:8] == PNG_MAGIC, png
    assert recipe.logged_epochs(work) == [0, 1]
    for side in ("train", "validation"):
        events = list((work / "logs" / side).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0, side
    assert not (work / "backup").exists()  # removed once training finished


@pytest.mark.slow
def test_rerun_after_training_reuses_its_weights_and_other_flags_train_afresh(smoke, smoke_model, recipe, tmp_path):
    # a failure or kill after training (evaluation, export) must not cost the training
    work = tmp_path / "work"
    shutil.copytree(smoke.workdir, work)
    args = ["--dataset", "BasicMotions", "--smoke", "--workdir", work, "--out", tmp_path / "models"]
    rerun = recipe.run(args, timeout=300)
    assert rerun.returncode == 0, recipe.explain(rerun)
    assert "Epoch 1/" not in rerun.stdout and f"reusing the weights trained with the same flags in {work}" in rerun.stdout
    assert "Skipping variable loading" not in rerun.stderr  # no warning about the optimizer state it leaves unused
    reused = zoo.load(tmp_path / "models" / "sensor_basic_motions")
    assert reused.weights_digest() == smoke_model.weights_digest()
    assert reused.card["test_metrics"] == smoke_model.card["test_metrics"]
    assert reused.card["training_seconds"] == smoke_model.card["training_seconds"] > 0

    other = recipe.run([*args, "--seed", "1"], timeout=300)
    assert other.returncode == 0, recipe.explain(other)
    assert "Epoch 1/2" in other.stdout and "reusing" not in other.stdout
    assert recipe.logged_epochs(work) == [0, 1]  # a new log, not the old one continued
    assert zoo.load(tmp_path / "models" / "sensor_basic_motions").weights_digest() != smoke_model.weights_digest()


# --- resuming after a kill ------------------------------------------------------------------------


@pytest.mark.slow
def test_resume_after_kill(recipe, tmp_path):
    work, out = tmp_path / "work", tmp_path / "models"
    args = ["--dataset", "BasicMotions", "--cell", "elman", "--hidden", "4", "--epochs", "40",
            "--patience", "100", "--workdir", work, "--out", out]
    before = recipe.kill_after_epochs(args, work, 2, timeout=240)
    assert 2 <= len(before) < 40 and before == list(range(len(before)))
    assert not (out / "sensor_basic_motions" / "1").exists()
    recipe.assert_resumed(recipe.run(args, timeout=480), work, before, 40)

    model = zoo.load(out / "sensor_basic_motions")
    assert model.card["version"] == 1
    assert model.card["hyperparameters"]["epochs"] == 40
    assert (model.cell, model.hidden) == ("elman", 4)
