"""zoo.tagging.SequenceTagger: what it learns, masking, the Python API, configuration and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.tagging import SequenceTagger

TIGHT = dict(rtol=0, atol=1e-6)


def _accuracy(rows, gold):
    pairs = [(tag, g) for row, tags in zip(rows, gold) for (_, tag), g in zip(row, tags)]
    assert len(pairs) == sum(map(len, gold))
    return np.mean([tag == g for tag, g in pairs])


# --- what a tiny tagger learns ------------------------------------------------------------------------


def test_learns_the_toy_language(trained_tagger, toy_corpus):
    model, sentences = trained_tagger.model, trained_tagger.sentences
    assert trained_tagger.history["accuracy"][-1] >= 0.95
    words, gold = [w for w, _ in sentences], [t for _, t in sentences]
    assert _accuracy(model.tag_tokens(words), gold) >= 0.95
    # new combinations of the same words
    unseen = toy_corpus(30, offset=1000)
    assert _accuracy(model.tag_tokens([w for w, _ in unseen]), [t for _, t in unseen]) >= 0.95


def test_tags_raw_text(trained_tagger):
    (row,) = trained_tagger.model.tag(["The old horse sleeps slowly."])
    assert row == [("The", "DET"), ("old", "ADJ"), ("horse", "NOUN"), ("sleeps", "VERB"), ("slowly", "ADV"),
                   (".", ".")]


# --- the network --------------------------------------------------------------------------------------


def test_output_shape_and_probabilities(tiny_tagger_factory):
    model = tiny_tagger_factory()
    tokens = tf.constant([["the", "dog", "runs", "."], ["a", "cat", "", ""], ["", "", "", ""]])
    probabilities = model({"tokens": tokens}).numpy()
    assert probabilities.shape == (3, 4, len(model.tag_names))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)
    assert (probabilities > 0).all()
    # a plain tensor works as well as the dict
    np.testing.assert_array_equal(model(tokens).numpy(), probabilities)


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
def test_padding_does_not_change_real_tokens(tiny_tagger_factory, cell, bidirectional):
    keras.utils.set_random_seed(7)
    model = tiny_tagger_factory(cell=cell, bidirectional=bidirectional)
    short = ["the", "dog", "sleeps", "."]
    alone = model({"tokens": tf.constant([short])}).numpy()
    padded = model({"tokens": tf.constant([short + [""] * 9, ["a"] * 13])}).numpy()
    np.testing.assert_allclose(padded[0, :4], alone[0], **TIGHT)


def test_padding_does_not_change_tags_through_the_api(trained_tagger):
    model = trained_tagger.model
    short = ["The", "dog", "sleeps", "."]
    longer = ["A", "small", "cat", "sees", "the", "old", "farmer", "today", "and", "the", "bird", "."]
    (alone,) = model.tag_tokens([short], scores=True)
    together = model.tag_tokens([longer, short, ["bird"]], scores=True)
    assert [(w, t) for w, t, _ in together[1]] == [(w, t) for w, t, _ in alone]
    np.testing.assert_allclose([s for *_, s in together[1]], [s for *_, s in alone], **TIGHT)
    (raw_alone,) = model.tag(["The dog sleeps."], scores=True)
    raw_together = model.tag(["A small cat sees the old farmer today and the bird.", "The dog sleeps."], scores=True)
    assert [(w, t) for w, t, _ in raw_together[1]] == [(w, t) for w, t, _ in raw_alone]
    np.testing.assert_allclose([s for *_, s in raw_together[1]], [s for *_, s in raw_alone], **TIGHT)


def test_word_dropout_only_while_training(tiny_tagger_factory):
    """With word_dropout=1 every known word reads the out-of-vocabulary embedding while training, never otherwise."""
    keras.utils.set_random_seed(3)
    model = tiny_tagger_factory(word_dropout=1.0, dropout=0.0)
    tokens = {"tokens": tf.constant([["the", "dog", "runs", "."], ["A", "cat", "", ""]])}
    inference = model(tokens, training=False).numpy()
    np.testing.assert_array_equal(model(tokens, training=False).numpy(), inference)
    training = model(tokens, training=True).numpy()
    assert np.abs(training - inference).max() > 1e-4
    # what training saw: every known word's embedding replaced by the unknown-word row (index 1)
    table = model.word_embedding.embeddings.numpy()
    table[2:] = table[1]
    model.word_embedding.embeddings.assign(table)
    np.testing.assert_allclose(model(tokens, training=False).numpy(), training, **TIGHT)


def test_no_word_dropout_means_training_equals_inference_without_dropout(tiny_tagger_factory):
    model = tiny_tagger_factory(word_dropout=0.0, dropout=0.0)
    tokens = {"tokens": tf.constant([["the", "dog", "runs", "."]])}
    np.testing.assert_allclose(model(tokens, training=True).numpy(), model(tokens, training=False).numpy(), **TIGHT)


def test_long_tokens_are_read_by_their_ends(tiny_tagger_factory):
    """A token longer than max_chars is read as its first and last max_chars // 2 characters."""
    keras.utils.set_random_seed(5)
    model = tiny_tagger_factory(max_chars=4, char_filters=16)
    context = ["the", "dog", "sees", "."]

    def probabilities(token):
        return model({"tokens": tf.constant([[*context[:2], token, *context[2:]]])}).numpy()[0]

    # both unknown words: the same first two and last two characters give the same vector
    np.testing.assert_allclose(probabilities("dogxxxxxxxxxxxxxxxxxxxxsees"), probabilities("doqqqqes"), **TIGHT)
    assert np.abs(probabilities("dogxxxxxxxxxes") - probabilities("dogxxxxxxxxxed")).max() > 0 or \
        np.abs(probabilities("dogxxxxxxxxxes") - probabilities("xogxxxxxxxxxes")).max() > 0


# --- the Python API ------------------------------------------------------------------------------------


def test_empty_and_blank_sentences_give_no_tokens(trained_tagger):
    result = trained_tagger.model.tag(["The dog runs.", "", "   ", "A cat."])
    assert [len(row) for row in result] == [4, 0, 0, 3]
    assert trained_tagger.model.tag([""]) == [[]]
    assert trained_tagger.model.tag([]) == []


def test_a_single_string_is_one_sentence(trained_tagger):
    model = trained_tagger.model
    expected = model.tag(["The dog runs. The cat sleeps."])
    assert model.tag("The dog runs. The cat sleeps.") == expected
    assert model.tag("The dog runs. The cat sleeps.".encode("utf-8")) == expected
    assert len(expected) == 1 and len(expected[0]) == 8


def test_scores(trained_tagger):
    model = trained_tagger.model
    rows = model.tag(["The dog runs.", "Every old farmer sleeps quickly today."], scores=True)
    pairs = model.tag(["The dog runs.", "Every old farmer sleeps quickly today."])
    assert [[(w, t) for w, t, _ in row] for row in rows] == pairs
    scores = [s for row in rows for _, _, s in row]
    assert all(isinstance(s, float) and 0 < s <= 1 for s in scores)
    # the score is the probability of the chosen tag: the largest one, so at least 1 / K
    assert min(scores) >= 1 / len(model.tag_names) - 1e-6
    probabilities = model({"tokens": tf.constant([["The", "dog", "runs", "."]])}).numpy()[0]
    np.testing.assert_allclose([s for *_, s in rows[0]], probabilities.max(axis=-1), **TIGHT)
    assert [t for _, t, _ in rows[0]] == [model.tag_names[i] for i in probabilities.argmax(axis=-1)]


def test_unknown_words_still_get_a_tag(trained_tagger):
    model = trained_tagger.model
    (row,) = model.tag(["Zorblax glimphs the vorpal 1,234 Ünïcødé 北京 snark."])
    assert [w for w, _ in row] == ["Zorblax", "glimphs", "the", "vorpal", "1,234", "Ünïcødé", "北京", "snark", "."]
    assert all(tag in model.tag_names for _, tag in row)
    assert row[2] == ("the", "DET") and row[-1] == (".", ".")


def test_order_is_kept_across_batches(trained_tagger, toy_corpus):
    """The API sorts by length and batches 128 sentences per call; results come back in input order."""
    model = trained_tagger.model
    sentences = [" ".join(words) for words, _ in toy_corpus(300, offset=7)]
    sentences[5] = ""
    sentences[200] = "Dog " * 40 + "."
    result = model.tag(sentences)
    assert len(result) == 300
    for i in (0, 1, 2, 5, 150, 200, 299):
        assert result[i] == model.tag([sentences[i]])[0], i
    assert [" ".join(w for w, _ in row) for i, row in enumerate(result) if i not in (5, 200)] == \
        [s for i, s in enumerate(sentences) if i not in (5, 200)]


def test_tag_tokens(trained_tagger):
    model = trained_tagger.model
    result = model.tag_tokens([["The", "dog", "runs", "."], ["Mr.", "U.S.", "don't"]])
    assert [[w for w, _ in row] for row in result] == [["The", "dog", "runs", "."], ["Mr.", "U.S.", "don't"]]
    assert result[0] == [("The", "DET"), ("dog", "NOUN"), ("runs", "VERB"), (".", ".")]
    assert model.tag_tokens([]) == []


def test_predict_text_and_file(trained_tagger, tmp_path):
    model = trained_tagger.model
    assert model.predict_text("The dog runs.\nA cat sleeps.") == "The/DET dog/NOUN runs/VERB ./.\n" \
                                                                "A/DET cat/NOUN sleeps/VERB ./."
    path = tmp_path / "input.txt"
    path.write_text("The dog runs.\n", encoding="utf-8")
    assert model.predict_file(path) == "The/DET dog/NOUN runs/VERB ./."
    path.write_bytes(b"The caf\xe9 runs.\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        model.predict_file(path)


# --- configuration and saving --------------------------------------------------------------------------


def test_config_round_trip(tiny_tagger_factory):
    keras.utils.set_random_seed(11)
    model = tiny_tagger_factory(cell="gru", max_tokens=50, max_chars=6, word_dropout=0.2, dropout=0.1, seed=4)
    config = model.get_config()
    assert config["cell"] == "gru" and config["max_tokens"] == 50 and config["max_chars"] == 6
    assert config["word_dropout"] == 0.2 and config["dropout"] == 0.1 and config["hidden"] == 4
    clone = SequenceTagger.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    tokens = {"tokens": tf.constant([["The", "dog", "runs", "."], ["A", "zzz", "", ""]])}
    np.testing.assert_array_equal(clone(tokens).numpy(), model(tokens).numpy())


def test_keras_file_round_trip(trained_tagger, tmp_path):
    model = trained_tagger.model
    model.save(tmp_path / "tagger.keras")
    loaded = keras.saving.load_model(tmp_path / "tagger.keras")
    assert isinstance(loaded, SequenceTagger)
    assert (loaded.tag_names, loaded.word_vocabulary, loaded.char_vocabulary) == \
        (model.tag_names, model.word_vocabulary, model.char_vocabulary)
    sentences = ["The old horse sleeps slowly.", "Zorblax glimphs.", ""]
    assert loaded.tag(sentences, scores=True) == model.tag(sentences, scores=True)
    tokens = {"tokens": tf.constant([["the", "dog", "runs", "."]])}
    np.testing.assert_array_equal(loaded(tokens).numpy(), model(tokens).numpy())


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
def test_every_cell_builds_and_tags(tiny_tagger_factory, cell, bidirectional):
    model = tiny_tagger_factory(cell=cell, bidirectional=bidirectional, num_layers=2 if cell == "gru" else 1)
    rows = model.tag(["The dog runs.", "Unknown words, too!"], scores=True)
    assert [[w for w, _, _ in row] for row in rows] == [["The", "dog", "runs", "."],
                                                        ["Unknown", "words", ",", "too", "!"]]
    assert all(t in model.tag_names and 0 < s <= 1 for row in rows for _, t, s in row)
    assert len(model.rnns) == (2 if cell == "gru" else 1)
    assert all(isinstance(rnn, keras.layers.Bidirectional) == bidirectional for rnn in model.rnns)


def test_unknown_cell(tiny_tagger_factory):
    with pytest.raises(ValueError, match="TaggerConfig cell: expected one of"):
        tiny_tagger_factory(cell="transformer")


# --- bad input ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_tagger(tiny_tagger_factory):
    return tiny_tagger_factory(max_tokens=5)


@pytest.mark.parametrize("bad,pattern", [
    ([b"caf\xe9"], r"sentences\[0\]: not valid UTF-8"),
    (["fine", b"\xff\xfe"], r"sentences\[1\]: not valid UTF-8"),
    (["fine", 3], r"sentences\[1\]: got int; expected a string"),
    ([None], r"sentences\[0\]: got NoneType"),
    ([["a", "list"]], r"sentences\[0\]: got list"),
], ids=["latin-1 bytes", "second sentence", "int", "None", "list"])
def test_tag_rejects_bad_sentences(short_tagger, bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        short_tagger.tag(bad)


def test_max_tokens(short_tagger):
    assert [w for w, _ in short_tagger.tag(["a b c d."])[0]] == ["a", "b", "c", "d", "."]  # 5 tokens: accepted
    with pytest.raises(ValueError, match=r"more than max_tokens 5 tokens in one sentence"):
        short_tagger.tag(["fine.", "a b c d e."])  # 6 tokens
    with pytest.raises(ValueError, match=r"more than max_tokens 5"):
        short_tagger.tag_tokens([["a", "b", "c", "d", "e", "f"]])
    assert len(short_tagger.tag_tokens([["a", "b", "c", "d", "e"]])[0]) == 5
    # the model keeps working after a refusal
    assert len(short_tagger.tag(["a b."])[0]) == 3


@pytest.mark.parametrize("bad", [["a", ""], "a b c", [["a"]], ["a", 3], b"ab"], ids=["empty token", "str", "nested",
                                                                                    "int", "bytes"])
def test_tag_tokens_rejects_bad_rows(short_tagger, bad):
    with pytest.raises(ValueError, match=r"sentences\[1\]: expected a list of non-empty token strings"):
        short_tagger.tag_tokens([["fine"], bad])


def test_signatures_reject_bad_tensors(short_tagger):
    serving_default, tag_tokens = short_tagger.signatures["serving_default"], short_tagger.signatures["tag_tokens"]
    cases = [
        (serving_default, tf.constant([["a", "b"]]), r"sentences: expected string \(batch,\)"),
        (serving_default, tf.constant("a b"), r"sentences: expected string \(batch,\)"),
        (serving_default, tf.constant([b"caf\xe9"]), r"sentences: not valid UTF-8"),
        (serving_default, tf.constant(["a b c d e f"]), r"sentences: more than max_tokens 5"),
        (tag_tokens, tf.constant(["a", "b"]), r"tokens: expected string \(batch, tokens\)"),
        (tag_tokens, tf.constant("a"), r"tokens: expected string \(batch, tokens\)"),
        (tag_tokens, tf.constant([[["a"]]]), r"tokens: expected string \(batch, tokens\)"),
        (tag_tokens, tf.constant([[b"a", b"\xc3"]]), r"tokens: not valid UTF-8"),
        (tag_tokens, tf.constant([["a"] * 6]), r"tokens: more than max_tokens 5"),
    ]
    for function, tensor, pattern in cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
            function(tensor)
    out = serving_default(tf.constant(["a b."]))
    assert out["tokens"].numpy().tolist() == [[b"a", b"b", b"."]]
