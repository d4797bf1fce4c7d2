"""zoo.translation.subwords: BPE learned by Hugging Face `tokenizers`, applied in the graph the same way."""

import random

import pytest
import tensorflow as tf
from tokenizers import models

from zoo.translation import subwords

WORDS = ("En el principio creó Dios los cielos y la tierra . And God created the heaven and the earth ; "
         "Jehová es mi pastor , nada me faltará . The LORD is my shepherd ; I shall not want").split()


@pytest.fixture(scope="module")
def learned():
    rows = [WORDS[i:i + 7] for i in range(0, len(WORDS), 7)] * 3
    return subwords.learn(rows, 120, min_frequency=2)


def _hugging_face_pieces(pieces, merges, word):
    """Hugging Face's split of `word`, a piece outside the vocabulary written `<unk>`."""
    model = models.BPE(vocab={p: i for i, p in enumerate([*pieces, "<unk>"])}, unk_token="<unk>",
                       merges=[tuple(m.split(" ")) for m in merges], end_of_word_suffix=subwords.END_OF_WORD)
    return [token.value for token in model.tokenize(word)]


def test_learn_returns_every_character_and_merges_in_learning_order(learned):
    pieces, merges = learned
    assert len(pieces) == len(set(pieces)) <= 120
    assert set("".join(WORDS)) <= {p.removesuffix(subwords.END_OF_WORD) for p in pieces if len(p) <= 5}
    assert all(len(m.split(" ")) == 2 for m in merges)
    merged = {m.replace(" ", "") for m in merges}
    assert merged <= set(pieces)


def test_the_graph_splits_words_exactly_as_hugging_face_does(learned):
    pieces, merges = learned
    encoder = subwords.SubwordEncoder(merges)
    rng = random.Random(0)
    letters = sorted(set("".join(WORDS)))
    unseen = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 14))) for _ in range(200)]
    words = sorted(set(WORDS)) + unseen + ["aaaa", "tierratierra", "ó", "a"]
    split = encoder.split_words(tf.constant(words)).to_list()
    known = set(pieces)
    for word, ours in zip(words, split):
        ours = [p.decode() if p.decode() in known else "<unk>" for p in ours]
        assert ours == _hugging_face_pieces(pieces, merges, word), word


def test_pieces_join_back_into_the_words(learned):
    _, merges = learned
    encoder = subwords.SubwordEncoder(merges)
    tokens = tf.ragged.constant([["Jehová", "es", "mi", "pastorcito", ","], ["Nabucodonosor"]])
    pieces = encoder(tokens).merge_dims(1, 2).to_tensor("")
    assert [t.decode() for t in subwords.join_pieces(pieces).numpy()] == ["Jehová es mi pastorcito ,",
                                                                          "Nabucodonosor"]


def test_readable_marks_the_pieces_inside_a_word():
    pieces = tf.constant([["Abr", "am</w>", ".</w>", ""]])
    assert [p.decode() for p in subwords.readable(pieces).numpy()[0]] == ["Abr@@", "am", ".", ""]


def test_an_empty_batch_and_one_letter_words_pass_through(learned):
    encoder = subwords.SubwordEncoder(learned[1])
    assert encoder(tf.ragged.constant([[]], tf.string)).to_list() == [[]]
    assert encoder.split_words(tf.constant(["x", "y"])).to_list() == [[b"x</w>"], [b"y</w>"]]


def test_no_merges_leaves_characters():
    encoder = subwords.SubwordEncoder([])
    assert encoder.split_words(tf.constant(["luz"])).to_list() == [[b"l", b"u", b"z</w>"]]
