"""Issue 30, training: nothing a user trains can hang, blow up or lie. Each test is one hostile run of the sensor
recipe (or of `zoo.training` on a toy model): a kill mid-save, a loss gone NaN, a bad flag, a smoke run."""

import signal
import sys

import keras
import numpy as np
import pytest

from fixtures.forks import FORKS, run_python
from fixtures.recipes import REPO, failure_output, kill_when, logged_epochs, subprocess_env
from zoo import training
from zoo.recipes import sensor_classification

SMOKE = ["--dataset", "BasicMotions", "--smoke"]
NAME = "sensor_basic_motions"


def _recipe(*args):
    return [sys.executable, str(REPO / "recipes" / "sensor_classification.py"), *SMOKE, *map(str, args)]


@pytest.mark.slow
def test_a_kill_mid_training_then_a_half_written_backup_still_resumes_and_exports(tmp_path):
    # SIGKILL mid-training, then what a kill during an in-place save would leave: the newest backup half
    # written beside a leftover temporary file. The rerun must warn in one line, resume and export.
    backup = tmp_path / "runs" / f"{NAME}_smoke" / training.BACKUP_DIR
    killed = FORKS.popen(_recipe(), tmp_path, subprocess_env())
    assert kill_when(killed, lambda: training._numbered(backup), 240, "the first backup") == -signal.SIGKILL
    newest = int(training._numbered(backup)[-1].name[:4])
    (backup / f"{newest + 1:04d}.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n half written")
    (backup / "partial.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    rerun = run_python(_recipe(), cwd=tmp_path, env=subprocess_env(), timeout=240)
    assert rerun.returncode == 0, failure_output(rerun)
    assert "Traceback" not in rerun.stderr and rerun.stderr.count("warning:") == 1
    assert f"{newest + 1:04d}.weights.h5 is unreadable" in rerun.stderr
    assert "Epoch 1/2" not in rerun.stdout  # resumed from the backup before it, not started over
    smoke = tmp_path / "runs" / f"{NAME}_smoke"
    assert logged_epochs(smoke) == [0, 1] and not backup.exists()
    # the smoke run's model lies in its own work directory: nothing can shadow a published one
    assert (smoke / "saved_models" / NAME / "1" / "saved_model.pb").is_file()
    assert not (tmp_path / "saved_models").exists()


@pytest.mark.slow
def test_a_loss_that_becomes_nan_stops_the_run_and_nothing_is_exported(tmp_path, monkeypatch):
    load = sensor_classification.uea.load

    def with_a_nan(name, split):
        data = load(name, split)
        data.series = [s.copy() for s in data.series]
        data.series[0][3, 1] = np.nan  # a corrupt value in a data file
        return data

    monkeypatch.setattr(sensor_classification.uea, "load", with_a_nan)
    with pytest.raises(SystemExit) as stopped:
        sensor_classification.main([*SMOKE, "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    message = str(stopped.value.code)
    assert message.startswith("training diverged: the loss became nan in epoch 1, step 1") and "\n" not in message
    assert not (tmp_path / "out").exists() and not (tmp_path / "work" / training.TRAINED).exists()
    assert not training._numbered(tmp_path / "work" / training.BACKUP_DIR)  # a NaN epoch is no state to resume


def test_weights_that_are_not_finite_are_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.layers[0].kernel.assign(np.full((3, 1), np.inf, "float32"))
    with pytest.raises(SystemExit, match=r"the trained weights are not finite \(1 of them, .*kernel first\)"):
        training._refuse_non_finite(model)


@pytest.mark.parametrize("flags,expected", [
    (["--epochs", "0"], "argument --epochs: expected a whole number of at least 1, got '0'"),
    (["--batch-size", "0"], "argument --batch-size: expected a whole number of at least 1, got '0'"),
    (["--learning-rate", "nan"], "argument --learning-rate: expected a finite number of at least 0, got 'nan'"),
    (["--dropout", "1"], "argument --dropout: expected a fraction of at least 0 and below 1, got '1'"),
    (["--noise", "inf"], "argument --noise: expected a finite number of at least 0, got 'inf'"),
    (["--dataset", "Bogus"], "unknown UEA/UCR dataset 'Bogus'; expected one of ACSF1"),
])
def test_bad_option_values_are_one_line_usage_errors(flags, expected, capsys):
    with pytest.raises(SystemExit) as refused:
        sensor_classification.parse_args(flags)
    error = capsys.readouterr().err
    assert refused.value.code == 2 and error.count("\n") == 1 and expected in error


def test_a_max_length_the_robustness_report_would_exceed_is_refused_before_training(tmp_path, capsys):
    """BasicMotions' 100 steps resampled x1.25 are 125: --max-length 110 would fail after the training."""
    with pytest.raises(SystemExit) as refused:
        sensor_classification.main(["--dataset", "BasicMotions", "--max-length", "110", "--workdir",
                                    str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert refused.value.code == 2 and error.count("\n") == 1
    assert "argument --max-length: 110; the longest validation or test series has 100 steps" in error and "at least 125" in error
    assert not (tmp_path / "out").exists()


def test_an_unknown_dataset_lists_the_known_ones(capsys):
    with pytest.raises(SystemExit):
        sensor_classification.parse_args(["--dataset", "japanesevowels"])
    error = capsys.readouterr().err
    assert "BasicMotions" in error and "JapaneseVowels" in error and "No such file" not in error


def test_a_smoke_run_keeps_apart_from_published_models(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    smoke = sensor_classification.parse_args(SMOKE)
    assert training.workdir_for(smoke, NAME) == training.default_workdir(f"{NAME}_smoke")
    assert smoke.out == training.default_workdir(f"{NAME}_smoke") / "saved_models"
    real = sensor_classification.parse_args(SMOKE[:2])
    assert training.workdir_for(real, NAME) == training.default_workdir(NAME) and real.out == training.DEFAULT_OUT
    for out in ("saved_models", str(tmp_path / "saved_models")):
        with pytest.raises(SystemExit, match="a smoke model would shadow the published sensor_basic_motions"):
            training.workdir_for(sensor_classification.parse_args([*SMOKE, "--out", out]), NAME)


def test_a_run_an_older_zoo_backed_up_resumes(tmp_path):
    # Keras' BackupAndRestore (what the zoo used before) left latest.weights.h5 + training_metadata.json
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")

    class Killed(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(np.ones((8, 3)), np.zeros((8, 1)), epochs=5, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), double_checkpoint=True), Killed()])
    trained = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in trained])
    assert training.resume(model, tmp_path) == 3
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), trained))
    assert [p.name for p in training._numbered(tmp_path / "backup")] == ["0001.weights.h5", "0002.weights.h5"]
