"""The sensor classifiers on a phone: Keras' LiteRT export of a zoo model (built-in ops only), run by the LiteRT
interpreter, scores series as the SavedModel that TF Serving runs does."""

import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture(scope="module")
def litert_runner(smoke_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("litert") / "sensor.tflite"
    smoke_model.export(path, format="litert", verbose=False)
    return tf.lite.Interpreter(model_path=str(path)).get_signature_runner()


def test_litert_scores_match_the_savedmodel(litert_runner, smoke_savedmodel, basic_motions_test):
    classify = smoke_savedmodel.signatures["serving_default"]
    for series in basic_motions_test.series:
        series = series[None].astype(np.float32)
        expected = classify(series=tf.constant(series))["scores"].numpy()
        (scores,) = litert_runner(series=series).values()
        np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_litert_takes_series_of_any_length(litert_runner, smoke_model, rng):
    for steps in (1, 7, 250):
        series = rng.normal(size=(1, steps, 6)).astype(np.float32)
        (scores,) = litert_runner(series=series).values()
        np.testing.assert_allclose(scores, smoke_model.classify(series).scores, atol=1e-5)


def test_litert_holds_only_builtin_ops(smoke_model, tmp_path):
    """Select TensorFlow ops would be custom ops named `Flex...`, which the stock runtime cannot run."""
    path = tmp_path / "sensor.tflite"
    smoke_model.export(path, format="litert", verbose=False)
    assert b"Flex" not in path.read_bytes()


@pytest.mark.slow
def test_the_published_model_on_a_phone_answers_as_keras_on_every_test_series(basic_motions_test, tmp_path):
    """What the README shows: `zoo export sensor_basic_motions sensor.tflite --format litert`, one series in."""
    import zoo

    model = zoo.load("sensor_basic_motions")
    path = tmp_path / "sensor.tflite"
    model.export(path, format="litert", verbose=False)
    runner = tf.lite.Interpreter(model_path=str(path)).get_signature_runner()
    for series in basic_motions_test.series:
        series = series[None].astype(np.float32)
        (scores,) = runner(series=series).values()
        np.testing.assert_allclose(scores, model.classify(series).scores, atol=1e-5)


@pytest.mark.slow
def test_an_ensemble_on_a_phone_answers_as_keras(tmp_path, rng):
    """Every member runs in the one LiteRT graph, built-in ops only, and their probabilities are averaged there."""
    from zoo.sensor import SensorClassifier

    model = SensorClassifier(num_channels=2, class_names=["a", "b", "c"], hidden=6, members=3, readout="pool")
    path = tmp_path / "ensemble.tflite"
    model.export(path, format="litert", verbose=False)
    assert b"Flex" not in path.read_bytes()
    runner = tf.lite.Interpreter(model_path=str(path)).get_signature_runner()
    for steps in (1, 40):
        series = rng.normal(size=(1, steps, 2)).astype(np.float32)
        (scores,) = runner(series=series).values()
        np.testing.assert_allclose(scores, model.classify(series).scores, atol=1e-5)
