"""zoo.agreement: the classifier on a hand-written toy language (`fixtures.agreement`), its signatures, its
SavedModel, its metrics."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from fixtures.agreement import make_tiny_agreement as tiny_model
from fixtures.agreement import toy_examples
from tensorflow.python.framework import op_def_registry

import zoo
from zoo.agreement import AgreementClassifier
from zoo.agreement import data as agreement_data
from zoo.agreement import signatures as agreement_signatures
from zoo.agreement.demo import SEED_PREFIXES, demo_lines
from zoo.agreement.evaluation import agreement_metrics, majority_metrics
from zoo.agreement.model import word_endings
from zoo.datasets import agreement


class Trained:
    def __init__(self, model, data, history, version_dir):
        self.model, self.data, self.history, self.version_dir = model, data, history, version_dir


@pytest.fixture(scope="module")
def trained_agreement(tmp_path_factory):
    """A tiny LSTM classifier fitted on the toy prefixes and exported once."""
    data = toy_examples()
    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(agreement_data.as_dataset(data, 16, shuffle=True, seed=0), epochs=40, shuffle=False,
                        verbose=0)  # the dataset shuffles itself
    base = tmp_path_factory.mktemp("agreement") / "models" / "agreement_toy"
    version_dir = model.export_serving(base, card={
        "description": "toy agreement classifier", "dataset": {"name": "toy", "source": "tests"},
        "test_metrics": None, "recipe_command": "pytest tests", "license": "Apache-2.0"})
    return Trained(model, data, history.history, version_dir)


@pytest.fixture(scope="module")
def loaded(trained_agreement):
    return tf.saved_model.load(str(trained_agreement.version_dir))


# --- the Python API -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_toy_agreement_is_learned(trained_agreement):
    assert trained_agreement.history["accuracy"][-1] >= 0.95
    result = trained_agreement.model.predict_tokens(trained_agreement.data.prefixes)
    predicted = np.array([agreement.LABELS.index(label) for label in result.labels])
    assert np.mean(predicted == trained_agreement.data.labels) >= 0.95
    assert trained_agreement.model.predict_number(["The dogs near the cat", "The cat near the dogs"]).labels == [
        "plural", "singular"]


def test_predict_number_gives_labels_and_probabilities(trained_agreement):
    result = trained_agreement.model.predict_number(["The dog", "The farmers that the cat saw", "The child"])
    assert len(result.labels) == 3 and result.scores.shape == (3, 2) and result.scores.dtype == np.float32
    np.testing.assert_allclose(result.scores.sum(axis=1), 1.0, atol=1e-6)
    assert result.labels == [trained_agreement.model.label_names[i] for i in result.scores.argmax(axis=1)]
    assert trained_agreement.model.label_names == ["singular", "plural"]
    single = trained_agreement.model.predict_number("The dogs")
    assert single.labels == trained_agreement.model.predict_number(["The dogs"]).labels


def test_predict_tokens_is_predict_number_on_the_same_tokens(trained_agreement):
    texts = ["The dogs near the cat", "The child that the farmers saw"]
    by_text = trained_agreement.model.predict_number(texts)
    by_tokens = trained_agreement.model.predict_tokens([t.split() for t in texts])
    assert by_text.labels == by_tokens.labels
    np.testing.assert_allclose(by_text.scores, by_tokens.scores, atol=1e-6)


def test_batches_of_mixed_lengths_keep_the_input_order(trained_agreement, monkeypatch):
    texts = ["The dogs near the cat", "The dog", "The cats that the child saw", "The farmer", "The children"]
    one_by_one = np.concatenate([trained_agreement.model.predict_number([t]).scores for t in texts])
    monkeypatch.setattr(agreement_signatures, "BATCH_SIZE", 2)
    np.testing.assert_allclose(trained_agreement.model.predict_number(texts).scores, one_by_one, atol=1e-6)


@pytest.mark.parametrize("call, inputs, pattern", [
    ("predict_number", ["The dog", ""], r"sentences\[1\]: empty"),
    ("predict_number", ["The dog", "   "], r"sentences\[1\]: empty"),
    ("predict_number", [3], r"sentences\[0\]: got int"),
    ("predict_number", [b"caf\xe9"], r"sentences\[0\]: not valid UTF-8"),
    ("predict_tokens", [["The", "dog"], []], r"prefixes\[1\]: expected a non-empty list"),
    ("predict_tokens", ["The dog"], r"prefixes\[0\]: expected a non-empty list"),
    ("predict_tokens", [["The", ""]], r"prefixes\[0\]: expected a non-empty list of non-empty token strings"),
])
def test_bad_input_is_a_value_error_naming_it(trained_agreement, call, inputs, pattern):
    with pytest.raises(ValueError, match=pattern):
        getattr(trained_agreement.model, call)(inputs)


def test_too_many_tokens_are_refused():
    model = tiny_model(max_tokens=3)
    with pytest.raises(ValueError, match="more than max_tokens 3"):
        model.predict_number(["The dog near the cat"])
    with pytest.raises(ValueError, match="more than max_tokens 3"):
        model.predict_tokens([["The", "dog", "near", "the"]])
    assert len(model.predict_number(["The dog near"]).labels) == 1


def test_predict_text_prints_one_line_per_input(trained_agreement):
    lines = trained_agreement.model.predict_text("The dogs\nThe cat near the dogs\n").splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] in ("singular", "plural") and lines[0].endswith("The dogs")


def test_command_line_predict(trained_agreement, capsys):
    from zoo.cli import main

    assert main(["predict", str(trained_agreement.version_dir), "--text", "The dogs\nThe dog"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == trained_agreement.model.predict_number(["The dogs", "The dog"]).labels
    assert main(["predict", str(trained_agreement.version_dir), "--text", ""]) == 2
    assert "empty" in capsys.readouterr().err


def test_demo_marks_the_seed_sentences(trained_agreement):
    lines = demo_lines(trained_agreement.model).splitlines()
    assert len(lines) == len(SEED_PREFIXES) == 4
    for line, (text, expected) in zip(lines, SEED_PREFIXES):
        assert text in line and (line.endswith("ok") or line.endswith("WRONG"))
        assert line.endswith("ok") == (f" {expected} " in line)


# --- the network ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell, bidirectional", [("elman", False), ("gru", False), ("lstm", True), ("dense", False)])
def test_padding_does_not_change_a_prediction(cell, bidirectional):
    keras.utils.set_random_seed(1)
    model = tiny_model(cell=cell, bidirectional=bidirectional, num_layers=1 if cell == "dense" else 2)
    short, long = ["The", "dogs"], ["The", "dog", "near", "the", "cats"]
    batch = model({"tokens": tf.constant([short + [""] * 3, long])}).numpy()
    np.testing.assert_allclose(batch[0], model({"tokens": tf.constant([short])}).numpy()[0], atol=1e-6)
    np.testing.assert_allclose(batch[1], model({"tokens": tf.constant([long])}).numpy()[0], atol=1e-6)


def test_dense_encoder_sees_a_bag_of_words_and_the_rnn_does_not():
    keras.utils.set_random_seed(2)
    words, shuffled = [["The", "dogs", "near", "the", "cat"]], [["cat", "the", "near", "dogs", "The"]]
    dense, lstm = tiny_model(cell="dense"), tiny_model(cell="lstm")
    np.testing.assert_allclose(dense.predict_tokens(words).scores, dense.predict_tokens(shuffled).scores, atol=1e-6)
    assert not np.allclose(lstm.predict_tokens(words).scores, lstm.predict_tokens(shuffled).scores, atol=1e-6)


def test_unknown_words_share_an_entry_but_keep_their_ending():
    model = tiny_model()
    vectors = model.embed(tf.constant([["zorbogs", "glibogs", "zorcat", "dogs"]])).numpy()[0]
    np.testing.assert_allclose(vectors[0], vectors[1])  # unknown words with the known ending "ogs"
    assert not np.allclose(vectors[0], vectors[2])  # an unknown word with another ending ("cat")
    assert not np.allclose(vectors[0], vectors[3])  # a known word with the same ending
    assert [e.decode() for e in word_endings(tf.constant(["Zorbs", "an", "1961"])).numpy()] == ["rbs", "an", "000"]


def test_word_dropout_only_while_training():
    model = tiny_model(word_dropout=1.0)
    tokens = tf.constant([["dogs", "zzdogs"]])
    trained_agreement = model.embed(tokens, training=True).numpy()[0]
    np.testing.assert_allclose(trained_agreement[0], trained_agreement[1])  # every known word read as unknown (same ending "ogs")
    inference = model.embed(tokens).numpy()[0]
    assert not np.allclose(inference[0], inference[1])


def test_config_round_trip_and_reconfigured(trained_agreement):
    copy = AgreementClassifier.from_config(trained_agreement.model.get_config())
    copy.set_weights(trained_agreement.model.get_weights())
    texts = ["The dogs near the cat"]
    np.testing.assert_allclose(copy.predict_number(texts).scores, trained_agreement.model.predict_number(texts).scores)
    assert trained_agreement.model.reconfigured().get_config()["ending_vocabulary"] == trained_agreement.model.ending_vocabulary


def test_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match="AgreementConfig cell: expected one of"):
        tiny_model(cell="transformer")


# --- the SavedModel -------------------------------------------------------------------------------------------


def test_export_card_and_zoo_load(trained_agreement):
    card = zoo.info(trained_agreement.version_dir)
    assert card["task"] == "number-agreement" and card["name"] == "agreement_toy"
    assert set(card["signatures"]) == {"serving_default", "classify_tokens"}
    assert card["signatures"]["serving_default"]["inputs"] == {"sentences": {"dtype": "string", "shape": None}}
    assert card["signatures"]["classify_tokens"]["inputs"] == {"tokens": {"dtype": "string", "shape": None}}
    assert set(card["signatures"]["serving_default"]["outputs"]) == {"label", "scores"}
    assert card["signatures"]["serving_default"]["example_request"]["inputs"]["sentences"] == [
        "The book that I got yesterday", "The books read by the second-grade children"]
    loaded_model = zoo.load(trained_agreement.version_dir)
    texts = ["The dog near the cats", "The children"]
    np.testing.assert_allclose(loaded_model.predict_number(texts).scores, trained_agreement.model.predict_number(texts).scores,
                               atol=1e-6)


def test_savedmodel_signatures_match_the_api(loaded, trained_agreement):
    texts = ["The dogs near the cat", "The child"]
    out = loaded.signatures["serving_default"](sentences=tf.constant(texts))
    api = trained_agreement.model.predict_number(texts)
    assert [label.decode() for label in out["label"].numpy()] == api.labels
    np.testing.assert_allclose(out["scores"].numpy(), api.scores, atol=1e-6)
    out = loaded.signatures["classify_tokens"](tokens=tf.constant([["The", "dogs", "near", "the", "cat"],
                                                                   ["The", "child", "", "", ""]]))
    np.testing.assert_allclose(out["scores"].numpy(), api.scores, atol=1e-6)


BAD = {
    "rank-2 sentences": ("serving_default", "sentences", tf.constant([["a", "b"]]), r"sentences: expected string"),
    "invalid UTF-8 sentence": ("serving_default", "sentences", tf.constant([b"caf\xe9"]), r"sentences: not valid UTF-8"),
    "empty sentence": ("serving_default", "sentences", tf.constant(["The dog", " "]), r"sentences: an empty text"),
    "rank-1 tokens": ("classify_tokens", "tokens", tf.constant(["a", "b"]), r"tokens: expected string \(batch, tokens\)"),
    "a row of padding": ("classify_tokens", "tokens", tf.constant([["The", "dog"], ["", ""]]), r"tokens: a row with no"),
    "invalid UTF-8 token": ("classify_tokens", "tokens", tf.constant([[b"ok", b"\xff"]]), r"tokens: not valid UTF-8"),
}


@pytest.mark.parametrize("signature, name, tensor, pattern", list(BAD.values()), ids=list(BAD))
def test_savedmodel_rejects_bad_input(loaded, signature, name, tensor, pattern):
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        loaded.signatures[signature](**{name: tensor})


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_graph_has_no_cudnn_op_and_only_core_ops(trained_agreement, cell, tmp_path, saved_model_ops):
    version_dir = trained_agreement.version_dir if cell == "lstm" else tiny_model(cell=cell).export_serving(tmp_path / "agreement_gru")
    ops = saved_model_ops(version_dir)
    assert {"While", "Assert", "StringSplitV2", "LookupTableFindV2"} <= ops
    assert [op for op in ops if "cudnn" in op.lower()] == []
    assert [op for op in ops if op_def_registry.get(op) is None] == []


# --- metrics ------------------------------------------------------------------------------------------------


def test_agreement_metrics_by_bucket():
    labels = [0, 1, 1, 0, 1, 0]
    predicted = [0, 1, 0, 0, 0, 1]
    distances = [1, 3, 5, 12, 20, 1]
    attractors = [0, 1, 2, 0, 4, 0]
    m = agreement_metrics(labels, predicted, distances, attractors)
    assert (m["accuracy"], m["errors"], m["examples"]) == (0.5, 3, 6)
    assert m["confusion_matrix"] == [[2, 1], [2, 1]]
    assert m["by_distance"] == {"1": {"accuracy": 0.5, "examples": 2}, "2-4": {"accuracy": 1.0, "examples": 1},
                                "5-9": {"accuracy": 0.0, "examples": 1}, "10-14": {"accuracy": 1.0, "examples": 1},
                                "15+": {"accuracy": 0.0, "examples": 1}}
    assert m["by_attractors"] == {"0": {"accuracy": 2 / 3, "examples": 3}, "1": {"accuracy": 1.0, "examples": 1},
                                  "2": {"accuracy": 0.0, "examples": 1}, "3+": {"accuracy": 0.0, "examples": 1}}
    assert m["distance_5_plus"] == {"accuracy": 1 / 3, "examples": 3}
    assert m["with_attractors"] == {"accuracy": 1 / 3, "examples": 3}


def test_an_empty_bucket_has_no_accuracy():
    m = agreement_metrics([0], [0], [1], [0])
    assert m["by_distance"]["15+"] == {"accuracy": None, "examples": 0}


def test_evaluate_is_an_agreement_evaluation(trained_agreement):
    from zoo.agreement.evaluation import AgreementEvaluation, evaluate

    result = evaluate(trained_agreement.model, trained_agreement.data)
    assert isinstance(result, AgreementEvaluation) and result.TASK == trained_agreement.model.TASK == "number-agreement"
    assert result["examples"] == len(trained_agreement.data) and result.headline == result["accuracy"]
    assert str(result) == f"accuracy {result['accuracy']:.4f} ({result['errors']} errors of {len(trained_agreement.data)})"


def test_majority_baseline_answers_the_most_frequent_training_number():
    data = toy_examples()
    m = majority_metrics(np.array([1, 1, 0]), data)
    assert m["accuracy"] == np.mean(data.labels == 1)
