"""zoo.sensor.signatures at the SavedModel level: what plain TensorFlow, saved_model_cli and TF Serving see."""

import re
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import artifacts
from zoo.serving import read_warmup_requests

TIGHT = dict(rtol=1e-6, atol=1e-7)


def _varied(test):
    """Three real BasicMotions series cut to different lengths, as a list and as a padded batch."""
    series = [test.series[0][:100], test.series[15][:60], test.series[30][:37]]
    lengths = np.array([len(s) for s in series], np.int32)
    padded = np.zeros((3, 100, 6), np.float32)
    for i, s in enumerate(series):
        padded[i, : len(s)] = s
    return series, padded, lengths



def test_in_process_savedmodel_matches_the_api(smoke_savedmodel, smoke_model, basic_motions_test):
    series, padded, lengths = _varied(basic_motions_test)
    out = smoke_savedmodel.signatures["classify_padded"](series=tf.constant(padded), lengths=tf.constant(lengths))
    api = smoke_model.classify(series)
    assert [b.decode() for b in out["label"].numpy()] == api.labels
    np.testing.assert_allclose(out["scores"].numpy(), api.scores, **TIGHT)
    # batch dimension first on every output (TF Serving's REST row format)
    assert out["label"].shape == (3,) and out["scores"].shape == (3, 4)


def test_serving_default_equals_classify_padded_at_full_length(smoke_savedmodel, basic_motions_test):
    equal = np.stack(basic_motions_test.series[:4]).astype(np.float32)
    default = smoke_savedmodel.signatures["serving_default"](series=tf.constant(equal))
    padded = smoke_savedmodel.signatures["classify_padded"](
        series=tf.constant(equal), lengths=tf.constant([100] * 4, dtype=tf.int32))
    np.testing.assert_array_equal(default["scores"].numpy(), padded["scores"].numpy())
    np.testing.assert_array_equal(default["label"].numpy(), padded["label"].numpy())


# --- saved_model_cli ------------------------------------------------------------------------------


def _ops_from_cli(text):
    found = re.search(r"contains the following ops: (\{.*?\})", text)
    assert found, text[-3000:]
    return {op.strip().strip("'\"") for op in found.group(1).strip("{}").split(",")}


@pytest.mark.slow
def test_saved_model_cli_run_on_raw_input_matches_the_api(smoke, smoke_model, basic_motions_test, tmp_path, recipe):
    raw = basic_motions_test.series[20][None].astype(np.float32)  # raw sensor values, [1, 100, 6]
    np.save(tmp_path / "series.npy", raw)
    proc = subprocess.run(
        [recipe.saved_model_cli(), "run", "--dir", str(smoke.version_dir), "--tag_set", "serve",
         "--signature_def", "serving_default", "--inputs", "series=series.npy"],
        cwd=tmp_path, env=recipe.env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, recipe.explain(proc)
    label = re.search(r"Result for output key label:\s*\[b'([^']*)'\]", proc.stdout)
    assert label, proc.stdout[-3000:]
    assert label.group(1) == smoke_model.classify(raw).labels[0]
    assert label.group(1) in smoke_model.class_names


@pytest.mark.slow
def test_saved_model_cli_show_lists_no_cudnn_op(smoke, recipe, saved_model_ops):
    proc = subprocess.run(
        [recipe.saved_model_cli(), "show", "--dir", str(smoke.version_dir), "--all"],
        env=recipe.env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, recipe.explain(proc)
    ops = _ops_from_cli(proc.stdout)
    assert {"While", "Assert", "MatMul"} <= ops  # the recurrence and the input checks are in the graph
    assert [op for op in ops if "cudnn" in op.lower()] == []
    # the in-process reader below sees at least these ops (it also walks every nested function)
    pb_ops = saved_model_ops(smoke.version_dir)
    assert ops <= pb_ops
    assert [op for op in pb_ops if "cudnn" in op.lower()] == []
    assert "signature_def['serving_default']" in proc.stdout
    assert "signature_def['classify_padded']" in proc.stdout


@pytest.mark.parametrize("config", [dict(cell="lstm"), dict(cell="gru", bidirectional=True)], ids=["lstm", "bigru"])
def test_exported_graph_has_no_cudnn_op(tiny_factory, tmp_path, config, saved_model_ops):
    path = tiny_factory(**config).export_serving(tmp_path / "sensor_ops")
    ops = saved_model_ops(path)
    assert "While" in ops
    assert [op for op in ops if "cudnn" in op.lower()] == []


# --- bad input through the signatures -------------------------------------------------------------

SERIES_ERRORS = {
    "wrong channel count": (np.zeros((1, 10, 7), np.float32), r"series: wrong channel count.*6 channels"),
    "NaN": (np.where(np.arange(60).reshape(1, 10, 6) == 13, np.nan, 0).astype(np.float32), r"series: NaN"),
    "inf": (np.full((2, 10, 6), np.inf, np.float32), r"series: .*infinite"),
    "length 0": (np.zeros((1, 0, 6), np.float32), r"series: length 0"),
    "length 10000": (np.zeros((1, 10_000, 6), np.float32), r"series: longer than the max_length 1000"),
}


def _good_request(loaded, test):
    out = loaded.signatures["serving_default"](series=tf.constant(test.series[0][None]))
    assert out["label"].shape == (1,)
    return out


@pytest.mark.parametrize("bad,pattern", list(SERIES_ERRORS.values()), ids=list(SERIES_ERRORS))
def test_signature_rejects_bad_series(smoke_savedmodel, basic_motions_test, bad, pattern):
    expected_good = _good_request(smoke_savedmodel, basic_motions_test)
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern) as err:
        smoke_savedmodel.signatures["serving_default"](series=tf.constant(bad))
    assert "expected" in err.value.message
    # the server keeps working: a good request after the bad one gives the same answer
    again = _good_request(smoke_savedmodel, basic_motions_test)
    np.testing.assert_array_equal(again["scores"].numpy(), expected_good["scores"].numpy())


def test_an_empty_batch_is_an_empty_answer(smoke_savedmodel):
    for series in (np.zeros((0, 10, 6), np.float32), np.zeros((0, 0, 6), np.float32)):
        out = smoke_savedmodel.signatures["serving_default"](series=tf.constant(series))
        assert out["label"].shape == (0,) and out["scores"].shape[0] == 0


LENGTHS_ERRORS = {
    "one length too many": (np.zeros((2, 10, 6), np.float32), [10, 10, 10]),
    "length 0": (np.zeros((2, 10, 6), np.float32), [10, 0]),
    "negative length": (np.zeros((2, 10, 6), np.float32), [-1, 10]),
    "longer than the series": (np.zeros((2, 10, 6), np.float32), [10, 11]),
}


@pytest.mark.parametrize("series,lengths", list(LENGTHS_ERRORS.values()), ids=list(LENGTHS_ERRORS))
def test_signature_rejects_bad_lengths(smoke_savedmodel, basic_motions_test, series, lengths):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"lengths: expected"):
        smoke_savedmodel.signatures["classify_padded"](
            series=tf.constant(series), lengths=tf.constant(lengths, dtype=tf.int32))
    _good_request(smoke_savedmodel, basic_motions_test)


def test_classify_padded_rejects_bad_series_too(smoke_savedmodel, basic_motions_test):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"series: NaN"):
        smoke_savedmodel.signatures["classify_padded"](
            series=tf.constant(np.full((1, 5, 6), np.nan, np.float32)), lengths=tf.constant([5]))
    _good_request(smoke_savedmodel, basic_motions_test)


# --- TF Serving warm-up records -------------------------------------------------------------------


def test_warmup_requests_feed_the_signatures(smoke, smoke_savedmodel, smoke_model):
    requests = read_warmup_requests(smoke.version_dir / artifacts.WARMUP)
    assert sorted(r.model_spec.signature_name for r in requests) == ["classify_padded", "serving_default"]
    card = zoo.info(smoke.version_dir)
    for request in requests:
        assert request.model_spec.name == "sensor_basic_motions" == card["name"]
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        signature = request.model_spec.signature_name
        assert set(inputs) == set(card["signatures"][signature]["inputs"])
        # the warm-up request is the card's example request
        example = card["signatures"][signature]["example_request"]
        assert example["signature_name"] == signature
        for key, value in inputs.items():
            np.testing.assert_allclose(value, np.array(example["inputs"][key], dtype=value.dtype))
        out = smoke_savedmodel.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        batch = inputs["series"].shape[0]
        assert out["label"].shape == (batch,) and out["scores"].shape == (batch, 4)
        assert set(l.decode() for l in out["label"].numpy()) <= set(smoke_model.class_names)


def test_example_requests_carry_raw_scale_values(smoke_model):
    """Examples are drawn around the training statistics, so they look like real sensor input."""
    examples = smoke_model.example_requests()
    series = examples["classify_padded"]["series"]
    lengths = examples["classify_padded"]["lengths"]
    assert series.dtype == np.float32 and series.shape[2] == smoke_model.num_channels
    assert np.all(series[1, lengths[1]:] == 0)
    np.testing.assert_array_equal(examples["serving_default"]["series"], series[:1])


def test_pad():
    from zoo.sensor.signatures import pad

    batch, lengths = pad([np.ones((2, 3), np.float32), np.full((4, 3), 2.0, np.float32)])
    assert batch.shape == (2, 4, 3) and lengths.tolist() == [2, 4]
    np.testing.assert_array_equal(batch[0], [[1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0]])
