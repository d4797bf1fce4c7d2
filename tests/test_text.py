"""zoo.text: Brown-style tokenisation and normalisation inside the graph."""

import pytest
import tensorflow as tf

from zoo.text import normalize, tokenize


def _tokens(sentence):
    (row,) = tokenize(tf.constant([sentence])).to_list()
    return [t.decode("utf-8") for t in row]


CASES = {
    # punctuation is split off
    "punctuation": ("Hello, world! Is it; really: (so) [yes] {no}?",
                    ["Hello", ",", "world", "!", "Is", "it", ";", "really", ":", "(", "so", ")", "[", "yes", "]",
                     "{", "no", "}", "?"]),
    "dashes and ellipsis": ("Wait -- no... fine\u2014ok \u2013 go.",
                            ["Wait", "--", "no", "...", "fine", "\u2014", "ok", "\u2013", "go", "."]),
    "hyphens stay inside words": ("A well-known, hard-fought race.", ["A", "well-known", ",", "hard-fought", "race", "."]),
    # contractions and possessives stay one token, as Brown tags them
    "don't": ("I don't know.", ["I", "don't", "know", "."]),
    "I'm and it's": ("I'm sure it's fine.", ["I'm", "sure", "it's", "fine", "."]),
    "possessives": ("Atlanta's boys' club won.", ["Atlanta's", "boys'", "club", "won", "."]),
    "curly apostrophe": ("It\u2019s Bob\u2019s.", ["It's", "Bob's", "."]),
    # double quotes become Brown's `` and ''
    "straight quotes": ('"Hi," she said.', ["``", "Hi", ",", "''", "she", "said", "."]),
    "quoted sentence": ('He said "stop" twice.', ["He", "said", "``", "stop", "''", "twice", "."]),
    "curly quotes": ("\u201cHi,\u201d she said.", ["``", "Hi", ",", "''", "she", "said", "."]),
    "low-9 quote": ("\u201eJa\u201d, sagte er.", ["``", "Ja", "''", ",", "sagte", "er", "."]),
    "Brown quotes": ("`` Only '' a few.", ["``", "Only", "''", "a", "few", "."]),
    "quote after bracket": ('(\"so\")', ["(", "``", "so", "''", ")"]),
    # numbers stay whole
    "numbers": ("It cost $5,000 for 1,000 at 9:30 and 3.5% more.",
                ["It", "cost", "$5,000", "for", "1,000", "at", "9:30", "and", "3.5%", "more", "."]),
    "big number and fraction": ("About 1,234,567 or 1/2 of 12.50.", ["About", "1,234,567", "or", "1/2", "of", "12.50", "."]),
    "comma after a number": ("In 1961, he left.", ["In", "1961", ",", "he", "left", "."]),
    "colon after a number": ("Items 1: apples.", ["Items", "1", ":", "apples", "."]),
    # abbreviations keep their period inside a sentence; the sentence's final period is always split
    "abbreviations": ("Mr. Smith of the U.S. left at 5 p.m. with etc. in hand.",
                      ["Mr.", "Smith", "of", "the", "U.S.", "left", "at", "5", "p.m.", "with", "etc.", "in", "hand", "."]),
    "more abbreviations": ("Dr. Jones and Mrs. Lee met Gen. Grant in Mass. on Jan. 3.",
                           ["Dr.", "Jones", "and", "Mrs.", "Lee", "met", "Gen.", "Grant", "in", "Mass.", "on", "Jan.", "3",
                            "."]),
    "abbreviation at the end": ("He moved to the U.S.", ["He", "moved", "to", "the", "U.S", "."]),
    "etc. at the end": ("Apples, pears, etc.", ["Apples", ",", "pears", ",", "etc", "."]),
    "lower-case state name is a word": ("The mass. The end.", ["The", "mass", ".", "The", "end", "."]),
    # several sentences in one string
    "two sentences": ("He was ill. She left.", ["He", "was", "ill", ".", "She", "left", "."]),
    "three sentences": ("Go! Now? Yes.", ["Go", "!", "Now", "?", "Yes", "."]),
    # non-ASCII text
    "accents": ("Café über naïve.", ["Café", "über", "naïve", "."]),
    "Chinese": ("我 爱 北京 。", ["我", "爱", "北京", "。"]),
    "Chinese with a period": ("北京 is big.", ["北京", "is", "big", "."]),
    "non-breaking and other spaces": ("a\u00a0b\u2003c\td\ne", ["a", "b", "c", "d", "e"]),
    # no final period
    "no final period": ("no period here", ["no", "period", "here"]),
    "single word": ("Yes", ["Yes"]),
}


@pytest.mark.parametrize("sentence,expected", list(CASES.values()), ids=list(CASES))
def test_tokenize(sentence, expected):
    assert _tokens(sentence) == expected


@pytest.mark.parametrize("blank", ["", " ", "   \t \n ", "\u00a0\u2003"])
def test_blank_input_gives_no_tokens(blank):
    assert _tokens(blank) == []


def test_batch_keeps_rows_apart():
    ragged = tokenize(tf.constant(["A b.", "", "C d e f."]))
    assert isinstance(ragged, tf.RaggedTensor)
    assert ragged.row_lengths().numpy().tolist() == [3, 0, 5]
    assert [[t.decode() for t in row] for row in ragged.to_list()] == [["A", "b", "."], [], ["C", "d", "e", "f", "."]]


def test_tokenize_inside_a_tf_function():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def count(sentences):
        return tokenize(sentences).row_lengths()

    assert count(tf.constant(["It's 9:30, Mr. Smith.", "x"])).numpy().tolist() == [6, 1]  # It's 9:30 , Mr. Smith .


def test_long_sentence():
    words = [f"w{i % 97}" for i in range(5_000)]
    ragged = tokenize(tf.constant([" ".join(words), " ".join(words) + "."]))
    assert ragged.row_lengths().numpy().tolist() == [5_000, 5_001]
    rows = ragged.to_list()
    assert [t.decode() for t in rows[0]] == words
    assert [t.decode() for t in rows[1]] == words + ["."]  # the last word, w52, loses its final period


NORMALIZE = {
    "The": "the", "BOOK": "book", "McDonald's": "mcdonald's", "ÉTÉ": "été", "ÜBER": "über", "Straße": "straße",
    "ΣΟΦΊΑ": "σοφία", "ÇA": "ça", "北京": "北京", "1,962": "0,000", "9:30": "0:00", "$5,000.50": "$0,000.00",
    "A1b2": "a0b0", "1960's": "0000's", "": "", ".": ".",
}


def test_normalize():
    words = list(NORMALIZE)
    assert [t.decode("utf-8") for t in normalize(tf.constant(words)).numpy()] == list(NORMALIZE.values())


def test_normalize_keeps_the_shape():
    out = normalize(tf.constant([["The", ""], ["3", "Dog"]]))
    assert out.shape == (2, 2)
    assert out.numpy().tolist() == [[b"the", b""], [b"0", b"dog"]]
