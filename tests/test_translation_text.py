"""zoo.translation.text: in-graph tokenisation, casing and detokenisation, against hand-written tokens."""

import pytest
import tensorflow as tf

from zoo.translation.text import capitalize_first, detokenize, tokenize


def _tokens(text):
    return [t.decode() for t in tokenize(tf.constant([text]))[0].numpy()]


def _strings(tensor):
    return [s.decode() for s in tensor.numpy()]


@pytest.mark.parametrize("text,tokens", [
    ("Y dijo Dios: Sea la luz; y fué la luz.",
     ["Y", "dijo", "Dios", ":", "Sea", "la", "luz", ";", "y", "fué", "la", "luz", "."]),
    ("¿Quién es? ¡Oh (sí)!", ["¿", "Quién", "es", "?", "¡", "Oh", "(", "sí", ")", "!"]),
    ("a,b;c:d.e?f!g(h)i", list("a,b;c:d.e?f!g(h)i")),
    ("Jehová, ESPÍRITU y niño.", ["Jehová", ",", "ESPÍRITU", "y", "niño", "."]),
    ("Año 1909: Reina-Valera.", ["Año", "1909", ":", "Reina", "-", "Valera", "."]),
    ("  muchos   espacios\ty\ttabuladores  ", ["muchos", "espacios", "y", "tabuladores"]),
])
def test_tokenize_splits_off_punctuation(text, tokens):
    assert _tokens(text) == tokens


def test_tokenize_keeps_in_word_apostrophes():
    assert _tokens("Jacob's well, the LORD’S house.") == ["Jacob's", "well", ",", "the", "LORD’S", "house", "."]
    assert _tokens("o'er the land") == ["o'er", "the", "land"]


def test_tokenize_splits_double_quotes_off_words():
    assert _tokens('"Come," he said.') == ['"', "Come", ",", '"', "he", "said", "."]
    assert _tokens("‘Go now") == ["‘", "Go", "now"]


@pytest.mark.parametrize("text,tokens", [
    ("'Hello,' he said", ["'", "Hello", ",", "'", "he", "said"]),
    ("he said ’go’ then", ["he", "said", "’", "go", "’", "then"]),
])
def test_tokenize_splits_single_quotes_off_word_edges(text, tokens):
    """A quote at a word's edge is a token of its own, like every non-letter (module docstring)."""
    assert _tokens(text) == tokens


@pytest.mark.parametrize("text", ["", " ", "  \t \n "])
def test_tokenize_empty_text_gives_no_tokens(text):
    assert _tokens(text) == []


def test_tokenize_a_batch_is_ragged():
    tokens = tokenize(tf.constant(["Jesus wept.", "", "En el principio"]))
    assert tokens.row_lengths().numpy().tolist() == [3, 0, 3]


def _spaced(tokens):
    """Tokens `[B, N]` ("" padded) joined by spaces, as `zoo.translation.subwords.join_pieces` writes them."""
    return tf.strings.reduce_join(tokens, axis=-1, separator=" ")


def test_capitalize_first():
    got = _strings(capitalize_first(tf.constant(["élan", "", "ñu", "and God", "Already", "1 more", "¿qué?"])))
    assert got == ["Élan", "", "Ñu", "And God", "Already", "1 more", "¿qué?"]


def test_detokenize_glues_punctuation_as_english_prints_it():
    tokens = tf.constant([
        ["and", "god", "said", ",", "let", "there", "be", "light", ":", "and", "it", "was", "so", "."],
        ["who", "(", "saith", "he", ")", "is", "this", "?", "", "", "", "", "", ""],
        ["a", ";", "b", "!", "c", ".", "", "", "", "", "", "", "", ""],
        ["", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    ])
    assert _strings(detokenize(_spaced(tokens))) == [
        "And god said, let there be light: and it was so.",
        "Who (saith he) is this?",
        "A; b! c.",
        "",
    ]


def test_detokenize_ignores_padding_and_keeps_casing():
    tokens = tf.constant([["Jesus", "wept", ".", "", ""], ["the", "LORD", "is", "my", "shepherd"]])
    assert _strings(detokenize(_spaced(tokens))) == ["Jesus wept.", "The LORD is my shepherd"]


ROUND_TRIP = [
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "Jesus wept.",
    "The LORD is my shepherd; I shall not want.",
    "Hast thou eaten of the tree, whereof I commanded thee that thou shouldest not eat?",
    "O LORD, how manifold are thy works! in wisdom hast thou made them all.",
    "And Jacob's sons came (for they had heard it) unto their father.",
    "And he saw Simon and Andrew casting a net into the sea (for they were fishers.)",
]


@pytest.mark.parametrize("sentence", ROUND_TRIP)
def test_detokenize_undoes_tokenize(sentence):
    tokens = tokenize(tf.constant([sentence])).to_tensor(default_value="")
    assert _strings(detokenize(_spaced(tokens))) == [sentence]


def test_detokenize_undoes_tokenize_for_a_padded_batch():
    tokens = tokenize(tf.constant(ROUND_TRIP)).to_tensor(default_value="")
    assert _strings(detokenize(_spaced(tokens))) == ROUND_TRIP
