"""What every recipe's training shares: resuming from a backup, even one a kill left half-written."""

import keras
import numpy as np
import pytest

from zoo import training


class _KilledAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt  # what a kill between epochs leaves behind: the backups, no end of training


def _fit(workdir, epochs, *extra):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    return model.fit(x, y, epochs=epochs, verbose=0, initial_epoch=training.resume(model, workdir),
                     callbacks=[*training.standard_callbacks(workdir, 10, 10), *extra])


def test_an_unreadable_backup_is_set_aside_and_the_one_before_resumes(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, 5, _KilledAfter(2))
    backup = tmp_path / "backup"
    assert sorted(p.name for p in backup.glob("*.weights.h5")) == ["0001.weights.h5", "0002.weights.h5"]
    assert sorted(p.name for p in backup.glob("*.counters.json")) == ["0001.counters.json", "0002.counters.json"]
    (backup / "0002.weights.h5").write_bytes(b"\x89HDF\r\n half written")
    resumed = _fit(tmp_path, 5)
    assert resumed.epoch == [2, 3, 4]  # from the backup of epoch 1, not from scratch
    assert (backup / "0002.weights.h5.unreadable").exists()
    assert capsys.readouterr().err.count("warning: the backup") == 1


def test_an_intact_backup_resumes_from_its_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, 5, _KilledAfter(2))
    assert _fit(tmp_path, 5).epoch == [3, 4]


def _fit_away_from_validation(workdir, epochs, *extra):
    """A model whose validation loss rises every epoch (it learns 1, validation wants -1): early stopping's
    best is epoch 0, and it stops after `patience` (10) epochs more, restoring epoch 0's weights."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = np.ones((8, 3), "float32")
    history = model.fit(x, np.ones((8, 1), "float32"), validation_data=(x, -np.ones((8, 1), "float32")),
                        epochs=epochs, verbose=0, initial_epoch=training.resume(model, workdir),
                        callbacks=[*training.standard_callbacks(workdir, 10, 10), *extra])
    return history, model.get_weights()


@pytest.mark.slow  # trains the same toy twice and once more with a kill: 7 s
def test_a_resumed_run_stops_early_and_restores_the_best_weights_as_an_unbroken_run_does(tmp_path):
    unbroken, unbroken_weights = _fit_away_from_validation(tmp_path / "unbroken", 40)
    assert unbroken.epoch[-1] == 10  # 0 the best, then ten without progress
    with pytest.raises(KeyboardInterrupt):
        _fit_away_from_validation(tmp_path / "killed", 40, _KilledAfter(5))
    resumed, resumed_weights = _fit_away_from_validation(tmp_path / "killed", 40)
    assert resumed.epoch == list(range(6, 11))  # not ten more epochs from the kill
    for ours, theirs in zip(resumed_weights, unbroken_weights, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert len(list((tmp_path / "killed" / "backup").glob("best-*.npz"))) <= 2


class _LearningRates(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.rates = getattr(self, "rates", []) + [float(self.model.optimizer.learning_rate.numpy())]


def test_a_time_budget_stops_training_and_lowers_the_learning_rate_with_the_clock(monkeypatch):
    ticks = iter(range(1_000_000))  # a clock 0.1 s further on at each reading, however loaded the machine
    monkeypatch.setattr(training.time, "perf_counter", lambda: next(ticks) / 10)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    rates = _LearningRates()
    history = model.fit(np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"), batch_size=2, epochs=1000,
                        verbose=0, callbacks=[training.TimeBudget(3 / 60, 0.1, warmup_steps=4).started(0.0), rates])
    assert 2 <= len(history.epoch) < 1000  # stopped by the clock, not by the epochs
    warmup = rates.rates[:4]  # linear warm-up to the peak, times the cosine of the time already gone
    assert warmup == sorted(warmup) and warmup[0] <= 0.025 + 1e-6 and max(rates.rates) == warmup[-1]
    assert rates.rates[-1] < 0.1 * max(rates.rates)  # the cosine is near its floor when the minutes run out
    assert all(a >= b - 1e-9 for a, b in zip(rates.rates[4:], rates.rates[5:]))


def test_a_resumed_budget_counts_the_minutes_already_spent():
    budget = training.TimeBudget(10, 0.1, warmup_steps=1).started(10 * 60)  # all spent before the kill
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    history = model.fit(np.ones((8, 3), "float32"), np.zeros((8, 1), "float32"), batch_size=2, epochs=50,
                        verbose=0, callbacks=[budget])
    assert len(history.epoch) == 1


def test_smoothed_crossentropy_spreads_the_target():
    logits = np.log(np.array([[0.7, 0.2, 0.1]], "float32"))
    plain = float(training.SmoothedCrossentropy(0.0)(np.array([0]), logits))
    smoothed = float(training.SmoothedCrossentropy(0.3)(np.array([0]), logits))
    expected = 0.7 * -np.log(0.7) + 0.3 * -np.mean(np.log([0.7, 0.2, 0.1]))
    assert plain == pytest.approx(-np.log(0.7), rel=1e-5) and smoothed == pytest.approx(expected, rel=1e-5)


def test_the_last_epochs_weights_are_kept_and_averaged(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])

    model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), epochs=5, verbose=0,
              callbacks=[Record(), training._EpochWeights(tmp_path / training.EPOCHS_DIR, keep=3)])
    files = training.epoch_weights(tmp_path)
    assert [f.name for f in files] == ["0002.weights.h5", "0003.weights.h5", "0004.weights.h5"]
    training.averaged_weights(model, files[-2:])
    for got, a, b in zip(model.get_weights(), seen[3], seen[4]):
        np.testing.assert_allclose(got, (a + b) / 2, rtol=1e-6)


@pytest.mark.parametrize("flag,value", [
    ("--epochs", "0"), ("--batch-size", "0"), ("--hidden", "-3"), ("--layers", "0"), ("--patience", "0"),
    ("--learning-rate", "nan"), ("--learning-rate", "-0.1"), ("--learning-rate", "inf"), ("--version", "0"),
    ("--epochs", "1.5"), ("--batch-size", "many"),
])
def test_every_recipe_refuses_out_of_range_options_before_anything_runs(flag, value, capsys):
    from zoo.sensor.config import SensorConfig
    from zoo.training import recipe_parser

    with pytest.raises(SystemExit) as exit:
        recipe_parser("a recipe", SensorConfig).parse_args([flag, value])
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert flag in error and "expected" in error and repr(value) in error
    assert recipe_parser("a recipe", SensorConfig).parse_args(["--learning-rate", "0"]).learning_rate == 0.0


def test_an_existing_version_is_refused_before_training(tmp_path):
    import argparse

    (tmp_path / "out" / "model_x" / "3").mkdir(parents=True)
    args = argparse.Namespace(out=tmp_path / "out", version=3, workdir=None, smoke=False)
    with pytest.raises(SystemExit, match="model_x/3 already exists: versions are immutable"):
        training.workdir_for(args, "model_x")
    assert training.workdir_for(argparse.Namespace(out=tmp_path / "out", version=4, workdir=None, smoke=False),
                                "model_x") == training.default_workdir("model_x")
    assert training.workdir_for(argparse.Namespace(out=tmp_path / "out", version=None, workdir=tmp_path,
                                                   smoke=False), "x") == tmp_path
