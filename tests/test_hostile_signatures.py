"""The signatures and their Python API probed as a careless or hostile caller would: empty text, options of the
wrong type, texts whose cost grows without bound. Each is a one-line `ValueError` naming what was expected, or
a correct result."""

import re

import numpy as np
import pytest
import tensorflow as tf

from zoo.language_model import signatures as lm_signatures
from zoo.language_model.model import SCORE_CHUNK, LanguageModel
from zoo.translation import signatures as translation_signatures

WRONG_TYPES = [2.0, "2", [2], True, None, np.float32(2)]


@pytest.fixture(scope="module")
def language_model():
    return LanguageModel(["the", "keys", "are", "is"], list("thekysari."), hidden=8, projection=8)


@pytest.mark.slow
def test_an_empty_text_asks_for_the_first_word_and_scores_the_end(language_model, tmp_path):
    words = language_model.next_words("", k=3)
    assert len(words) == 3 and all(0 < p < 1 for _, p in words)
    (empty,) = language_model.score([""])
    assert empty["tokens"] == [] and len(empty["log_probabilities"]) == 1 and empty["total"] < 0
    exported = tf.saved_model.load(str(language_model.export_serving(tmp_path / "lm", card={"description": "toy"})))
    out = exported.signatures["score"](sentences=tf.constant(["", " "]))
    np.testing.assert_allclose(out["total"].numpy(), [empty["total"]] * 2, rtol=1e-5)
    assert exported.signatures["next_words"](sentences=tf.constant([""]), k=tf.constant(2))["words"].shape == [1, 2]


@pytest.mark.parametrize("count", [0, 1, SCORE_CHUNK, SCORE_CHUNK + 3])
def test_scoring_in_chunks_gives_the_full_softmax(language_model, count):
    states = tf.random.stateless_normal([count, 8], seed=[1, count])
    targets = tf.random.stateless_uniform([count], seed=[2, count], maxval=language_model.size, dtype=tf.int32)
    expected = tf.gather(language_model.log_probabilities(states), targets, batch_dims=1)
    np.testing.assert_allclose(language_model.target_log_probabilities(states, targets), expected, atol=1e-5)


@pytest.mark.slow
def test_too_many_tokens_in_one_signature_call_are_refused(language_model, monkeypatch):
    monkeypatch.setattr(lm_signatures, "MAX_TOKENS_PER_CALL", 50)
    fresh = LanguageModel(["the"], list("the"), hidden=8, projection=8)  # traced with the lower cap
    with pytest.raises(tf.errors.InvalidArgumentError, match="more than 50 tokens in one call; send fewer"):
        fresh.signatures["score"](tf.constant(["the the the"] * 20))
    assert len(fresh.signatures["score"](tf.constant(["the the the"] * 10))["total"]) == 10


@pytest.mark.parametrize("k", WRONG_TYPES + [0, 101])
def test_k_of_a_wrong_type_or_range_is_refused(language_model, k):
    with pytest.raises(ValueError, match=r"^k: expected 1 to 100 words, got"):
        language_model.next_words("The", k=k)


@pytest.fixture(scope="module")
def translator(tiny_translator_factory):
    return tiny_translator_factory(max_source_tokens=5)


@pytest.mark.parametrize("option", ["beam_width", "max_length"])
@pytest.mark.parametrize("value", [v for v in WRONG_TYPES if v is not None] + [-1, 10_001])
def test_decoding_options_of_a_wrong_type_or_range_are_refused(translator, option, value):
    with pytest.raises(ValueError, match=rf"^{option}: expected .*, got {re.escape(repr(value))}"):
        translator.translate(["el rey"], **{option: value})


@pytest.mark.slow
def test_a_word_too_long_to_be_a_word_is_refused_before_the_subword_encoder(translator):
    long_word = "a" * (translation_signatures.MAX_WORD_CHARACTERS + 1)
    with pytest.raises(ValueError, match="a word of more than 100 characters; expected text in words"):
        translator.translate([f"el {long_word}"])
    with pytest.raises(ValueError, match="subword pieces"):  # a word of 100 letters is let through to the encoder
        translator.translate(["a" * translation_signatures.MAX_WORD_CHARACTERS])


@pytest.mark.slow
def test_a_sentence_of_too_many_pieces_is_refused(translator):
    pieces = translation_signatures.PIECES_PER_WORD * translator.max_source_tokens
    many = " ".join(["zqxzqxzqxzqxzqxzqx"] * 5)  # five words, each of letters the pairs never join
    with pytest.raises(ValueError, match=f"more than {pieces} subword pieces in one sentence"):
        translator.translate([many])
