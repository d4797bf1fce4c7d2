"""zoo.sensor.model: the SensorClassifier's Python API, input checks, masking and fine-tuning."""

import json

import keras
import numpy as np
import pytest

import zoo
from zoo.datasets import uea
from zoo.sensor import SensorClassifier
from zoo.sensor import demo
from zoo.sensor.data import as_dataset


# --- outputs ------------------------------------------------------------------------------------


def test_classify_returns_labels_and_probabilities(tiny, rng):
    result = tiny.model.classify(rng.normal(size=(4, 12, 3)))
    assert len(result.labels) == 4
    assert set(result.labels) <= set(tiny.model.class_names)
    assert result.scores.shape == (4, 3) and result.scores.dtype == np.float32
    np.testing.assert_allclose(result.scores.sum(axis=1), 1.0, rtol=1e-5)
    assert result.labels == [tiny.model.class_names[k] for k in result.scores.argmax(axis=1)]


def test_one_series_a_batch_and_a_list_agree(tiny, rng):
    series = rng.normal(size=(12, 3)).astype("float32")
    alone = tiny.model.classify(series)
    batch = tiny.model.classify(series[None])
    listed = tiny.model.classify([series])
    as_float64 = tiny.model.classify(series.astype("float64"))
    assert alone.labels == batch.labels == listed.labels == as_float64.labels
    for other in (batch, listed, as_float64):
        np.testing.assert_array_equal(alone.scores, other.scores)


@pytest.mark.parametrize(
    "config",
    [
        dict(cell="elman"),
        dict(cell="gru"),
        dict(cell="lstm"),
        dict(cell="dense"),
        dict(cell="gru", bidirectional=True),
        dict(cell="lstm", bidirectional=True, num_layers=2),
        dict(cell="gru", readout="pool"),
        dict(cell="gru", frame=4),
        dict(cell="lstm", frame=3, readout="pool"),
        dict(cell="gru", centring="standardise", frame=2),
    ],
    ids=["elman", "gru", "lstm", "dense", "bigru", "bilstm2", "gru-pool", "gru-frame4", "lstm-frame3-pool",
         "gru-standardise-frame2"],
)
def test_padding_does_not_change_the_result(tiny_factory, rng, config):
    """A batch of different lengths is masked, not cropped: each row equals that series alone."""
    keras.utils.set_random_seed(3)
    model = tiny_factory(**config)
    series = [rng.normal(size=(n, 3)).astype("float32") * 2 for n in (5, 17, 1, 11)]
    together = model.classify(series)
    for i, s in enumerate(series):
        alone = model.classify(s)
        assert together.labels[i] == alone.labels[0]
        np.testing.assert_allclose(together.scores[i], alone.scores[0], rtol=1e-5, atol=1e-6)
    # and the steps after the shortest length do count (no cropping to a common length)
    assert not np.allclose(model.classify(series[1][:5]).scores, together.scores[1], rtol=0, atol=1e-6)


def test_classify_traces_the_serving_function_once(tiny_factory, rng):
    model = tiny_factory(cell="elman")
    for shape in [(2, 3, 3), (1, 40, 3), (5, 7, 3)]:
        model.classify(rng.normal(size=shape))
    model.classify([rng.normal(size=(4, 3)), rng.normal(size=(9, 3))])
    assert model.signatures["classify_padded"].experimental_get_tracing_count() == 1


def test_tensor_input_means_full_length_series(tiny, rng):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    plain = np.asarray(tiny.model(x))
    padded = np.asarray(tiny.model({"series": x, "lengths": np.array([6, 6], "int32")}))
    np.testing.assert_allclose(plain, padded, rtol=1e-6)
    np.testing.assert_allclose(plain, tiny.model.classify(x).scores, rtol=1e-5, atol=1e-6)


def test_normalisation_statistics_are_part_of_the_model(tiny, tiny_factory, rng):
    """Callers send raw values: the model subtracts its channel mean and divides by its std."""
    model = tiny.model
    plain = SensorClassifier(num_channels=3, class_names=model.class_names, cell="gru", hidden=4)
    plain.set_weights(model.get_weights())
    raw = rng.normal(loc=5.0, scale=3.0, size=(2, 9, 3)).astype("float32")
    normalised = (raw - np.array(model.channel_mean)) / np.array(model.channel_std)
    np.testing.assert_allclose(
        model.classify(raw).scores, plain.classify(normalised.astype("float32")).scores, rtol=1e-5, atol=1e-6
    )


def test_config_round_trip(tiny, rng):
    clone = SensorClassifier.from_config(tiny.model.get_config())
    assert clone.get_config() == tiny.model.get_config()
    clone.set_weights(tiny.model.get_weights())
    x = rng.normal(size=(2, 7, 3))
    np.testing.assert_allclose(clone.classify(x).scores, tiny.model.classify(x).scores, rtol=1e-6)


def test_a_frame_of_steps_is_one_recurrent_step_of_their_values_side_by_side(rng):
    """frame=4 reads `[T, 3]` as `[ceil(T / 4), 12]`, the last frame zero-padded: the same network as an
    unframed one with 12 channels given the series so regrouped."""
    keras.utils.set_random_seed(5)
    framed = SensorClassifier(num_channels=3, class_names=["a", "b"], hidden=6, frame=4)
    plain = SensorClassifier(num_channels=12, class_names=["a", "b"], hidden=6)
    plain.set_weights(framed.get_weights())
    series = rng.normal(size=(10, 3)).astype("float32")
    regrouped = np.concatenate([series, np.zeros((2, 3), "float32")]).reshape(3, 12)
    np.testing.assert_allclose(framed.classify(series).scores, plain.classify(regrouped).scores, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="SensorConfig frame: expected a whole number of at least 1"):
        SensorClassifier(num_channels=3, class_names=["a", "b"], frame=0)


def test_an_ensemble_averages_its_members_which_are_the_networks_alone(rng):
    """members=3 holds three networks of the configured shape: its probabilities are the mean of theirs, each
    equal to a one-member classifier given that member's weights."""
    keras.utils.set_random_seed(7)
    config = dict(num_channels=3, class_names=["a", "b", "c"], hidden=5, bidirectional=True, readout="pool")
    ensemble = SensorClassifier(**config, members=3)
    series = rng.normal(size=(4, 9, 3)).astype("float32")
    alone = []
    for m in range(3):
        member = SensorClassifier(**config)
        member.set_weights([w.numpy() for w in _member_weights(ensemble, m)])
        alone.append(np.asarray(member(series)))
    np.testing.assert_allclose(np.asarray(ensemble(series)), np.mean(alone, axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(alone[0], alone[1])  # initialised each on its own
    assert ensemble(series, training=True).shape == (4, 3, 3)  # while training: every member's probabilities


def _member_weights(ensemble, m):
    """Member `m`'s weights, in a one-member classifier's order (its layers are named `member_<m + 1>_...`)."""
    return [w for w in ensemble.weights if f"member_{m + 1}_" in w.path or "seed_generator" in w.path]


def test_each_member_of_an_ensemble_learns_from_its_own_loss(rng):
    """The training loss is the mean of the members' own losses, not the loss of their average: a member is
    not taught to make up for another's errors."""
    model = SensorClassifier(num_channels=3, class_names=["a", "b"], hidden=4, members=2)
    model.compile(loss="sparse_categorical_crossentropy")
    members = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.6, 0.4], [0.5, 0.5]]], "float32")  # [B=2, M=2, K=2]
    labels = np.array([0, 1])
    expected = -np.mean(np.log([0.9, 0.2, 0.4, 0.5]))
    assert float(model.compute_loss(y=labels, y_pred=members)) == pytest.approx(expected, rel=1e-5)
    averaged = -np.mean(np.log([0.55, 0.45]))
    assert float(model.compute_loss(y=labels, y_pred=members.mean(axis=1))) == pytest.approx(averaged, rel=1e-5)


@pytest.mark.slow
def test_an_ensemble_trains_exports_and_loads(tmp_path, rng):
    keras.utils.set_random_seed(2)
    series = rng.normal(size=(48, 10, 2)).astype("float32")
    labels = (series[:, :, 0].mean(axis=1) > 0).astype("int32")
    model = SensorClassifier(num_channels=2, class_names=["low", "high"], hidden=6, members=2)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(series, labels, epochs=8, batch_size=16, verbose=0).history
    assert history["accuracy"][-1] > 0.8 and history["loss"][-1] < history["loss"][0]
    path = model.export_serving(tmp_path / "sensor_tiny", version=1, card={"name": "sensor_tiny"})
    loaded = zoo.load(path)
    assert loaded.members == 2
    np.testing.assert_allclose(loaded.classify(series[:5]).scores, model.classify(series[:5]).scores, rtol=1e-5,
                               atol=1e-6)


def test_unknown_encoder():
    with pytest.raises(ValueError, match="SensorConfig cell: expected one of"):
        SensorClassifier(num_channels=3, class_names=["a", "b"], cell="transformer")


# --- bad input through the Python API -----------------------------------------------------------

C = 3  # channels of the tiny model
BAD_INPUTS = {
    "wrong channel count": (np.zeros((2, 10, C + 1), "float32"), r"4 channels.*expected.*3 channels"),
    "wrong channels in a list": ([np.zeros((5, C)), np.zeros((5, C + 2))], r"series\[1\].*5 channels"),
    "rank 1": (np.zeros(10, "float32"), r"rank 1.*expected"),
    "rank 4": (np.zeros((1, 2, 10, C), "float32"), r"rank 4.*expected"),
    "NaN": (np.array([[[0.0, np.nan, 0.0]] * 4]), r"NaN.*expected"),
    "inf": (np.array([[[0.0, 0.0, np.inf]] * 4]), r"infinite.*expected"),
    "-inf in a list": ([np.zeros((3, C)), np.full((2, C), -np.inf)], r"infinite.*expected"),
    "length 0": (np.zeros((0, C), "float32"), r"length 0.*expected"),
    "length 10000": (np.zeros((10_000, C), "float32"), r"longer than the max_length.*expected"),
    "a dict": ({"series": np.zeros((4, C))}, r"got dict; expected"),
    "None": (None, r"got NoneType; expected"),
    "strings": (np.array([[["a", "b", "c"]] * 4]), r"dtype.*expected"),
    "a string": ("walking", r"expected"),
    "objects": ([np.array([[None] * C] * 2)], r"dtype.*expected"),
}


@pytest.mark.parametrize("bad,pattern", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_is_a_value_error_naming_series(tiny, bad, pattern):
    with pytest.raises(ValueError, match=pattern) as err:
        tiny.model.classify(bad)
    assert "series" in str(err.value)
    assert "expected" in str(err.value)
    # and the model keeps working afterwards
    good = tiny.model.classify(np.ones((4, C), "float32"))
    assert good.scores.shape == (1, 3)


def test_max_length_is_configurable(tiny_factory):
    model = tiny_factory(cell="elman", max_length=20)
    assert model.classify(np.zeros((20, 3))).scores.shape == (1, 3)
    with pytest.raises(ValueError, match="max_length 20"):
        model.classify(np.zeros((21, 3)))


# --- a trained model: evaluation and fine-tuning ------------------------------------------------


def test_evaluate_split_recomputes_metrics_on_the_full_split(smoke_model, basic_motions_test):
    metrics = smoke_model.evaluate_split("test")
    assert metrics["examples"] == len(basic_motions_test) == 40
    predicted = np.argmax(smoke_model.classify(basic_motions_test.series).scores, axis=1)
    assert metrics["errors"] == int(np.sum(predicted != basic_motions_test.labels))
    assert metrics["accuracy"] == pytest.approx(1 - metrics["errors"] / 40)
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (4, 4) and matrix.sum() == 40 and np.trace(matrix) == 40 - metrics["errors"]


def test_evaluate_is_the_one_evaluation_of_the_task(smoke_model, basic_motions_test):
    from zoo.evaluation import Evaluation
    from zoo.sensor import data, evaluation

    result = evaluation.evaluate(smoke_model, basic_motions_test)
    assert type(result) is evaluation.SensorEvaluation and result.TASK == smoke_model.TASK
    assert result == smoke_model.evaluate_split("test") == evaluation.evaluate_split(smoke_model)
    assert str(result) == f"accuracy {result['accuracy']:.4f} ({result['errors']} errors of 40)"
    assert type(Evaluation.of_card(smoke_model.card)) is evaluation.SensorEvaluation
    split = data.load_split(smoke_model.card["dataset"], "validation")
    assert (split.name, split.split, len(split)) == ("BasicMotions", "validation", 8)


def test_demo_shows_five_test_series(smoke_model):
    lines = smoke_model.demo().splitlines()
    assert len(lines) == 5 and all(line.startswith("  test #") and " steps  predicted " in line for line in lines)
    assert smoke_model.INPUT_KIND == "series"


@pytest.mark.parametrize("name", demo.BUNDLED_DATASETS)
def test_the_bundled_demo_series_are_the_archive_s_own(name):
    assert demo.samples({"name": name}) == json.loads(json.dumps(demo.samples_from_data({"name": name})))


def test_the_demo_needs_no_data_extra(smoke_model, monkeypatch):
    monkeypatch.setattr(demo.sensor_data, "load_split", lambda *args: pytest.fail("read the archive"))
    assert len(smoke_model.demo().splitlines()) == demo.DEMO_SERIES


def test_export_card_describes_the_model(smoke, smoke_model):
    card = smoke_model.card
    assert card["name"] == smoke.base.name == "sensor_basic_motions"
    assert card["version"] == 1
    assert card["task"] == "sensor-classification"
    assert card["parameters"] == smoke_model.count_params() > 0
    assert card["versions"] == {"zoo": zoo.__version__, "tensorflow": __import__("tensorflow").__version__,
                                "keras": keras.__version__}
    default = card["signatures"]["serving_default"]
    assert default["inputs"] == {"series": {"dtype": "float32", "shape": [-1, -1, -1]}}
    assert default["outputs"] == {"label": {"dtype": "string", "shape": [-1]},
                                  "scores": {"dtype": "float32", "shape": [-1, 4]}}
    assert set(card["signatures"]["classify_padded"]["inputs"]) == {"series", "lengths"}


@pytest.mark.slow
def test_fine_tune_and_reexport(smoke, tmp_path):
    model = zoo.load(smoke.version_dir)
    original_card = dict(model.card)
    train = uea.load("BasicMotions", "train")
    train.series, train.labels = train.series[:8], train.labels[:8]
    x = [s[: 30 + 10 * i] for i, s in enumerate(train.series[:3])]
    before = model.classify(x).scores
    digest = model.weights_digest()

    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    history = model.fit(as_dataset(train, batch_size=4), epochs=1, steps_per_epoch=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.weights_digest() != digest
    after = model.classify(x).scores
    assert not np.allclose(before, after, rtol=0, atol=1e-7)  # the serving functions see the new weights

    path = model.export_serving(tmp_path / "sensor_tuned")
    assert path == tmp_path / "sensor_tuned" / "1"
    card = zoo.info(path)
    assert card["name"] == "sensor_tuned"
    assert card["version"] == 1
    assert card["task"] == "sensor-classification"
    assert card["parameters"] > 0
    assert card["dataset"] == original_card["dataset"]
    assert card["test_metrics"] is None
    assert card["recipe_command"] is None
    assert card["fine_tuned_from"] == "sensor_basic_motions/1"
    assert set(card["versions"]) == {"zoo", "tensorflow", "keras"}

    reloaded = zoo.load(path)
    np.testing.assert_allclose(reloaded.classify(x).scores, after, rtol=1e-6, atol=1e-7)


def test_reexport_without_changes_keeps_the_metrics(smoke, tmp_path):
    model = zoo.load(smoke.version_dir)
    path = model.export_serving(tmp_path / "sensor_copy", version=3)
    card, original = zoo.info(path), zoo.info(smoke.version_dir)
    assert card["name"] == "sensor_copy" and card["version"] == 3
    assert card["test_metrics"] == original["test_metrics"] is not None
    assert card["recipe_command"] == original["recipe_command"] is not None
    assert card["dataset"] == original["dataset"]
    assert "fine_tuned_from" not in card
    assert card["exported_from"] == f"{original['name']}/{original['version']}"


def test_export_with_an_explicit_card(tiny, tmp_path):
    path = tiny.model.export_serving(tmp_path / "sensor_explicit", card={"description": "mine", "test_metrics": {"accuracy": 1}})
    card = zoo.info(path)
    assert card["description"] == "mine"
    assert card["test_metrics"] == {"accuracy": 1}
    assert card["name"] == "sensor_explicit" and card["task"] == "sensor-classification"
