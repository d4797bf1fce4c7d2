"""zoo.datasets.english: raw English from the registries, sentence by sentence, deduplicated, split by blocks."""

import collections

import pytest

from zoo.datasets import english


def test_sentences_of_keeps_prose_and_drops_headings_and_fragments():
    paragraph = ("ACT II. SCENE I. Rome. A street. The people gathered. “Who goes there?” asked the guard. "
                 "He paid $5. A ### ### ### ### ### ### ### ###. It was 1961. No.")
    assert english.sentences_of(paragraph) == ["The people gathered.", "“Who goes there?” asked the guard.",
                                               "He paid $5.", "It was 1961."]


def test_the_split_keeps_blocks_together_and_is_fixed():
    assert english.split_of("kjv", "Genesis", 3) == english.split_of("kjv", "Genesis", 3)
    splits = collections.Counter(english.split_of("sotu", f"speech{i}", 0) for i in range(5000))
    assert 0.01 < splits["test"] / 5000 < 0.03 and 0.01 < splits["validation"] / 5000 < 0.03


def test_load_refuses_unknown_splits_and_sources():
    with pytest.raises(ValueError, match="split must be one of"):
        english.load("dev")
    with pytest.raises(ValueError, match="unknown sources"):
        english.load("train", sources=["wikipedia"])


@pytest.fixture(scope="module")
def table(zoo_data_dir):
    return english.describe()


@pytest.mark.slow
def test_every_source_is_read_and_split(table):
    words = table["words"]
    assert set(words) == set(english.SOURCES)
    for source, by_split in words.items():
        assert by_split["train"] > 100_000, source
    assert sum(w["test"] for w in words.values()) > 50_000
    assert set(table["license"]) == set(english.SOURCES)


@pytest.mark.slow
def test_sentences_are_unique_across_splits_and_brown_held_out_is_never_in(table):
    from zoo.datasets import brown

    splits = {s: english.load(s) for s in english.SPLITS}
    every = [x for sentences in splits.values() for x in sentences]
    assert len(every) == len(set(every))
    held_out = {" ".join(words) for split in ("validation", "test") for words in brown.load(split).words}
    assert not held_out & set(english.load("train", sources=["brown_train"]))
    web = english.load("train", sources=["web"])
    assert not any("<" in s or "strong:" in s for s in web[:5000])  # markup and footnotes gone
