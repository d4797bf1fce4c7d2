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
    for series in basic_motions_test.series[:10]:
        series = series[None].astype(np.float32)
        expected = classify(series=tf.constant(series))["scores"].numpy()
        (scores,) = litert_runner(series=series, lengths=np.array([series.shape[1]], np.int32)).values()
        np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_litert_takes_series_of_any_length(litert_runner, smoke_model, rng):
    for steps in (1, 7, 250):
        series = rng.normal(size=(1, steps, 6)).astype(np.float32)
        (scores,) = litert_runner(series=series, lengths=np.array([steps], np.int32)).values()
        np.testing.assert_allclose(scores, smoke_model.classify(series).scores, atol=1e-5)


def test_litert_holds_only_builtin_ops(smoke_model, tmp_path):
    """Select TensorFlow ops would be custom ops named `Flex...`, which the stock runtime cannot run."""
    path = tmp_path / "sensor.tflite"
    smoke_model.export(path, format="litert", verbose=False)
    assert b"Flex" not in path.read_bytes()
