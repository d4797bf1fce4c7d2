"""The English language model: it learns next-step prediction both ways, scores, proposes words, exports."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from fixtures.language_model import make_tiny_language_model, toy_rows

from zoo.language_model import data, evaluation
from zoo.language_model.model import LanguageModel


@pytest.fixture(scope="module")
def trained_language_model():
    rows = toy_rows()
    keras.utils.set_random_seed(0)
    model = make_tiny_language_model(hidden=32, projection=16)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit(data.as_dataset(rows, 8, shuffle=True), epochs=12, verbose=0)
    return model, rows, history


def test_tokens_vocabularies_and_batches():
    rows = data.tokenized(["The keys, 1,000 of them.", "", " ".join(["a"] * 90)], max_tokens=80)
    assert rows == [["The", "keys", ",", "1,000", "of", "them", "."]]  # empty and too long left out
    words, chars = data.vocabularies(rows * 2, 10)
    assert "the" in words and "0,000" in words and "T" in chars
    batches = list(data.as_dataset(rows * 3, 2))
    assert [b.shape.as_list() for b in batches] == [[2, 7], [1, 7]]


def test_it_learns_to_predict_both_ways(trained_language_model):
    model, rows, history = trained_language_model
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    result = evaluation.evaluate(model, rows[:8])
    assert result["perplexity"] < 3 and result["backward_perplexity"] < 3
    assert result["tokens"] == sum(len(r) + 1 for r in rows[:8])


@pytest.mark.slow
def test_evaluation_traces_one_graph_per_model_which_follows_its_weights_and_lets_it_go():
    import gc
    import weakref

    model = make_tiny_language_model()
    rows = toy_rows()
    first = evaluation.evaluate(model, rows[:8], batch_size=3)
    evaluation.evaluate(model, rows[8:20], batch_size=5)  # other batch shapes
    assert evaluation.full_loss_graph(model).experimental_get_tracing_count() == 1
    eager = model.full_loss(tf.constant([rows[0]]))
    graph = evaluation.full_loss_graph(model)(tf.constant([rows[0]]))
    assert {k: float(v) for k, v in graph.items()} == pytest.approx({k: float(v) for k, v in eager.items()})
    model.softmax_bias.assign(model.softmax_bias + tf.one_hot(5, model.softmax_bias.shape[0]) * 3.0)
    assert evaluation.evaluate(model, rows[:8], batch_size=3)["perplexity"] != first["perplexity"]
    collected = weakref.ref(model)
    del model
    gc.collect()
    assert collected() is None


def test_take_weights_keeps_what_it_learned_for_the_words_and_characters_both_know(trained_language_model):
    model, rows, _ = trained_language_model
    same = LanguageModel(model.vocabulary, model.char_vocabulary, hidden=32, projection=16, dropout=0.0)
    same.take_weights(model)
    assert evaluation.evaluate(same, rows[:8]) == evaluation.evaluate(model, rows[:8])
    grown = LanguageModel(["files", *model.vocabulary], ["@", *model.char_vocabulary], hidden=32, projection=16,
                          dropout=0.0)
    grown.take_weights(model)
    known = model.word_ids(tf.constant(["keys", "dog"]))
    np.testing.assert_allclose(tf.gather(grown.softmax_weights, grown.word_ids(tf.constant(["keys", "dog"]))),
                               tf.gather(model.softmax_weights, known))
    new = int(grown.word_ids(tf.constant(["files"]))[0])
    assert float(grown.softmax_bias[new]) == pytest.approx(float(tf.reduce_min(model.softmax_bias)))
    assert evaluation.evaluate(grown, rows[:8])["perplexity"] < 3  # "files" is as rare as the rarest word


def test_targets_are_the_next_words_forwards_and_the_previous_ones_backwards(trained_language_model):
    model = trained_language_model[0]
    targets = model.targets(tf.constant([["The", "dog", "runs"], ["A", "dog", ""]]))
    ids = {w: model.word_ids(tf.constant([w])).numpy()[0] for w in ("the", "dog", "runs", "a")}
    assert targets["forward"].numpy().tolist() == [[ids["the"], ids["dog"], ids["runs"], 3],
                                                   [ids["a"], ids["dog"], 3, 0]]
    assert targets["backward"].numpy().tolist() == [[ids["runs"], ids["dog"], ids["the"], 2],
                                                    [ids["dog"], ids["a"], 2, 0]]


def test_next_words_and_score(trained_language_model):
    model = trained_language_model[0]
    words = [w for w, _ in model.next_words("The dogs", k=3)]
    assert words[0] == "run" and len(words) == 3
    probabilities = [p for _, p in model.next_words("A", k=10)]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0 + 1e-6
    good, bad = model.score(["The dogs run.", "Run dogs the."])
    assert len(good["log_probabilities"]) == len(good["tokens"]) + 1 == 5
    assert good["total"] == pytest.approx(sum(good["log_probabilities"]), abs=1e-4) and good["total"] > bad["total"]


@pytest.mark.parametrize("bad, message", [(0, "k: expected 1 to 100"), (101, "k: expected"), (True, "k: expected")])
def test_bad_k_is_refused(trained_language_model, bad, message):
    with pytest.raises(ValueError, match=message):
        trained_language_model[0].next_words("The", k=bad)


def test_bad_text_is_refused(trained_language_model):
    model = trained_language_model[0]
    with pytest.raises(ValueError, match="not valid UTF-8"):
        model.score([b"\xff the"])
    with pytest.raises(ValueError, match="expected a string"):
        model.next_words(["The"], k=2)


def test_contextual_layers_align_with_the_tokens(trained_language_model):
    model = trained_language_model[0]
    layers = model.contextual(tf.constant([["The", "dogs", "run", ""]]))
    assert layers.shape == (1, 4, 3, 16)
    alone = model.contextual(tf.constant([["The", "dogs", "run"]]))
    np.testing.assert_allclose(layers[:, :3], alone, rtol=1e-5, atol=1e-5)  # padding changes nothing before it


def test_the_exported_signatures_match_the_python_api(trained_language_model, tmp_path):
    model = trained_language_model[0]
    path = model.export_serving(tmp_path / "lm_toy", version=1, card={"description": "trained_language_model"})
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["next_words"](sentences=tf.constant(["The dogs"]), k=tf.constant(2))
    assert [w.decode() for w in out["words"].numpy()[0]] == [w for w, _ in model.next_words("The dogs", k=2)]
    scored = loaded.signatures["serving_default"](sentences=tf.constant(["The dogs run."]))
    assert float(scored["total"][0]) == pytest.approx(model.score(["The dogs run."])[0]["total"], abs=1e-4)
