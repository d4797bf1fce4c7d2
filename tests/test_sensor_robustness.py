"""Sensor models against what real sensors do: the perturbations, the in-graph centring that makes a model blind
to a calibration offset, and the calibration augmentation."""

import numpy as np
import pytest

from zoo.sensor import perturbations
from zoo.sensor.model import CalibrationNoise, SensorClassifier


def test_resampling_keeps_the_ends_and_the_shape_of_the_curve():
    series = np.stack([np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2], axis=1)
    faster = perturbations.resample(series, 1.25)
    assert faster.shape == (62, 2) and np.allclose(faster[[0, -1]], series[[0, -1]])
    np.testing.assert_allclose(faster[:, 0], np.linspace(0, 1, 62), atol=1e-9)
    assert perturbations.resample(series[:1], 0.5).shape == (1, 2)


def test_noise_offset_and_gain_are_in_units_of_each_channel_s_spread():
    std = np.array([1.0, 10.0])
    noisy = perturbations.noise(np.zeros((20_000, 2)), 0.3, std, np.random.default_rng(0))
    np.testing.assert_allclose(noisy.std(axis=0), 0.3 * std, rtol=0.03)
    np.testing.assert_allclose(perturbations.offset(np.zeros((3, 2)), 0.5, std), [[0.5, 5.0]] * 3)
    np.testing.assert_allclose(perturbations.gain(np.ones((3, 2)), 1.2), 1.2)


@pytest.mark.parametrize("centring", ["series", "standardise"])
def test_a_series_centred_model_is_blind_to_a_constant_offset(centring):
    rng = np.random.default_rng(0)
    model = SensorClassifier(num_channels=3, class_names=["a", "b", "c"], hidden=8, centring=centring,
                             channel_std=[2.0, 1.0, 0.5])
    series = [rng.normal(size=(n, 3)).astype(np.float32) for n in (5, 17, 40)]
    shifted = [s + np.array([3.0, -1.0, 0.25], np.float32) for s in series]  # padded batches: masks matter
    np.testing.assert_allclose(model.classify(shifted).scores, model.classify(series).scores, atol=1e-5)
    plain = SensorClassifier(num_channels=3, class_names=["a", "b", "c"], hidden=8)
    assert not np.allclose(plain.classify(shifted).scores, plain.classify(series).scores, atol=1e-5)


def test_a_standardised_model_reads_the_shape_at_unit_scale_and_the_scale_as_its_log():
    """Amplitudes of six decades (appliance currents) reach the network as a shape of unit spread and one
    number, log(spread): its `(x - mean) / spread` inputs are the same whatever the gain."""
    from zoo.sensor.model import _standardised

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 1)).astype(np.float32)
    x[1] = x[0] * 1e4
    mask = np.array([[True] * 9, [True] * 6 + [False] * 3])
    x[1, 6:] = 1e9  # padding never enters the statistics
    out = np.asarray(_standardised(x, mask))
    shape = (x[0, :6, 0] - x[0, :6, 0].mean()) / x[0, :6, 0].std()
    np.testing.assert_allclose(out[1, :6, 0], shape, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out[1, :, 1], np.log(x[1, :6].std()), rtol=1e-5)
    np.testing.assert_allclose(out[0, :, 1], np.log(x[0].std()), rtol=1e-5)


def test_calibration_noise_is_one_gain_and_offset_per_channel_and_series_and_none_at_inference():
    layer = CalibrationNoise(offset=0.5, gain=0.2)
    x = np.random.default_rng(1).normal(size=(4, 30, 3)).astype(np.float32)
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(layer(x, training=True))
    gains = (y[:, 1:] - y[:, :1]) / (x[:, 1:] - x[:, :1])
    np.testing.assert_allclose(gains, np.broadcast_to(gains[:, :1], gains.shape), rtol=1e-3)
    assert np.std(gains[:, 0]) > 0.05 and not np.allclose(y - x * gains[:, :1], 0, atol=1e-3)


def test_the_options_survive_the_config_and_bad_ones_are_refused():
    model = SensorClassifier(num_channels=2, class_names=["a", "b"], hidden=4, offset=0.3, gain=0.1,
                             centring="series")
    config = SensorClassifier.from_config(model.get_config()).get_config()
    assert (config["offset"], config["gain"], config["centring"]) == (0.3, 0.1, "series")
    with pytest.raises(ValueError, match="SensorConfig centring: expected one of"):
        SensorClassifier(num_channels=2, class_names=["a", "b"], centring="mean")


def test_robustness_scores_every_standard_perturbation(smoke_model, basic_motions_test):
    scores = perturbations.robustness(smoke_model, basic_motions_test)
    assert list(scores) == ["clean", *perturbations.STANDARD] and all(0 <= v <= 1 for v in scores.values())
    assert scores["clean"] == pytest.approx(smoke_model.evaluate_split("test")["accuracy"])


def test_the_training_resampler_is_the_perturbation_s_twin():
    import tensorflow as tf

    from zoo.sensor.data import resampled

    series = np.random.default_rng(2).normal(size=(37, 3))
    for factor in (0.8, 1.0, 1.25, 0.01):
        np.testing.assert_allclose(resampled(tf.constant(series, tf.float32), factor),
                                   perturbations.resample(series, factor), atol=1e-5)


def test_resampling_while_training_draws_new_lengths_every_epoch(basic_motions_test):
    from zoo.sensor.data import as_dataset

    dataset = as_dataset(basic_motions_test, batch_size=40, resample=0.25, seed=1)
    epochs = [next(iter(dataset))[0]["lengths"].numpy() for _ in range(2)]
    assert not np.array_equal(*epochs)
    assert all(80 <= n <= 125 for lengths in epochs for n in lengths)  # 100 steps, x 1/1.25 to x 1.25


@pytest.mark.slow
def test_the_recipe_chooses_the_centring_on_validation_and_reports_robustness(tmp_path):
    import zoo
    from fixtures.recipes import REPO, RecipeRunner

    proc = RecipeRunner(REPO / "recipes" / "sensor_classification.py").run(
        ["--dataset", "BasicMotions", "--smoke", "--centring", "auto", "--offset", "0.5", "--resample", "0.2",
         "--out", str(tmp_path / "models"), "--workdir", str(tmp_path / "work")], timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = zoo.info(tmp_path / "models" / "sensor_basic_motions")
    search = card["centring_search"]
    assert set(search["mean_validation_accuracy"]) == {"none", "series", "standardise"}
    assert search["chosen"] == max(search["mean_validation_accuracy"], key=search["mean_validation_accuracy"].get)
    assert card["hyperparameters"]["centring"] == search["chosen"]
    assert list(card["robustness"]["test"]) == ["clean", *perturbations.STANDARD]
    assert card["robustness"]["test"]["clean"] == card["test_metrics"]["accuracy"]


def test_any_classifier_is_scored_under_the_same_perturbations_with_the_same_noise():
    """A baseline that reads the level of a channel loses under an offset and keeps its answers under a gain;
    two calls draw the same noise."""
    from types import SimpleNamespace

    levels = np.linspace(-1.0, 1.0, 40)
    data = SimpleNamespace(series=[np.full((30, 1), v) for v in levels], labels=(levels > 0).astype(int))
    by_level = lambda series: [int(s.mean() > 0) for s in series]  # noqa: E731
    scores = perturbations.accuracy_under_perturbations(by_level, data, std=np.array([1.0]), seed=3)
    assert scores["clean"] == scores["gain x1.2"] == scores["resampled x0.8"] == 1.0
    assert scores["offset +0.5 std"] == pytest.approx(30 / 40)  # the 10 levels in (-0.5, 0] now read positive
    assert scores == perturbations.accuracy_under_perturbations(by_level, data, std=np.array([1.0]), seed=3)
