"""zoo.datasets.agreement: the subject finder on hand-tagged sentences, the split, the checksums, the pipeline.

The sentences below are written and tagged by hand (Brown's tags, as the corpus files write them), with the
subject, distance and attractors a reader finds in them.
"""

import collections

import numpy as np
import pytest

from zoo.agreement import data as agreement_data
from zoo.datasets import agreement, brown, tagged
from zoo.datasets.agreement import Agreement

# (sentence, its Brown tags, the agreements a reader finds: (subject word, verb word, number, distance, attractors))
HAND_TAGGED = [
    # the seed note's four sentences
    ("The book is on the table .", "at nn bez in at nn .", [("book", "is", "singular", 1, 0)]),
    ("The books are on the table .", "at nns ber in at nn .", [("books", "are", "plural", 1, 0)]),
    ("The book that I got yesterday is on the table .", "at nn cs ppss vbd nr bez in at nn .",
     [("book", "is", "singular", 5, 0)]),
    ("The books read by the second-grade children are shelved in the lower rack .",
     "at nns vbn in at jj nns ber vbn in at jj nn .", [("books", "are", "plural", 6, 0)]),
    # attractors: nouns of the other number between subject and verb; only the last noun of a compound
    ("The key to the cabinets is on the table .", "at nn in at nns bez in at nn .",
     [("key", "is", "singular", 4, 1)]),
    ("The keys to the cabinet in the rooms are here .", "at nns in at nn in at nns ber rb .",
     [("keys", "are", "plural", 7, 1)]),
    ("The developers of waterfront land have gone .", "at nns in nn nn hv vbn .",
     [("developers", "have", "plural", 4, 1)]),
    ("The books I got yesterday are here .", "at nns ppss vbd nr ber rb .", [("books", "are", "plural", 4, 0)]),
    # embedded clauses: a relative pronoun, a bare relative, a complement; the verb inside one has its own subject
    ("The dog that chases the cats is old and the cats are tired .", "at nn wps vbz at nns bez jj cc at nns ber jj .",
     [("dog", "is", "singular", 5, 1), ("cats", "are", "plural", 1, 0)]),
    ("The books the children read were old .", "at nns at nns vbd bed jj .", [("books", "were", "plural", 4, 0)]),
    ("The fact that the men are here is odd .", "at nn cs at nns ber rb bez jj .",
     [("men", "are", "plural", 1, 0), ("fact", "is", "singular", 6, 1)]),
    ("The man said the books are here .", "at nn vbd at nns ber rb .", [("books", "are", "plural", 1, 0)]),
    # an apposition between commas, a parenthesis, a quotation
    ("Mr. Smith , a doctor , was here .", "np np , at nn , bedz rb .", [("Smith", "was", "singular", 5, 0)]),
    ("The word `` binomial '' means two names .", "at nn `` jj '' vbz cd nns .", [("word", "means", "singular", 4, 0)]),
    # negated forms; do and have; plural base forms right after their subject noun
    ("The children don't go home .", "at nns do* vb nr .", [("children", "don't", "plural", 1, 0)]),
    ("The rule doesn't hold .", "at nn doz* vb .", [("rule", "doesn't", "singular", 1, 0)]),
    ("The children go home .", "at nns vb nr .", [("children", "go", "plural", 1, 0)]),
    # no example: pronoun subjects, coordinated subjects, questions, base forms that agree with nothing
    ("He is here .", "pps bez rb .", []),
    ("The boy and the girls are here .", "at nn cc at nns ber rb .", []),
    ("Are the books here ?", "ber at nns rb .", []),
    ("They made the children go home .", "ppss vbd at nns vb nr .", []),
    ("The men can go home .", "at nns md vb nr .", []),
    ("The committee recommended that the legislators act .", "at nn vbd cs at nns vb .", []),
    ("The committee are divided .", "at nn ber vbn .", []),  # subject and verb disagree: a collective noun
    ("In the morning the men were gone .", "in at nn at nns bed vbn .", []),  # no noun phrase starts a clause
]


def _readable(words, tags):
    return [(words[a.subject], words[a.verb], a.number, a.distance, a.attractors)
            for a in agreement.find_agreements(words, tags)]


@pytest.mark.parametrize("sentence, tags, expected", HAND_TAGGED, ids=[s for s, _, _ in HAND_TAGGED])
def test_find_agreements_on_hand_tagged_sentences(sentence, tags, expected):
    words, tags = sentence.split(), tags.split()
    assert len(words) == len(tags)
    assert _readable(words, tags) == expected


def test_positions_and_distance():
    (found,) = agreement.find_agreements("The key to the cabinets is".split(), "at nn in at nns bez".split())
    assert found == Agreement(subject=1, verb=5, number="singular", attractors=1)
    assert found.distance == 4


def test_position_suffixes_are_ignored():
    words = "The New York Times is here .".split()
    assert _readable(words, "at-tl jj-tl np-tl nn-tl bez rb .".split()) == [("Times", "is", "singular", 1, 0)]


# --- the corpus ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def splits(brown_tarball):
    return {split: agreement.load(split) for split in agreement.SPLITS}


@pytest.mark.slow
def test_splits_follow_the_brown_sentence_split(splits):
    sentences = {}
    for split, data in splits.items():
        assert data.split == split
        assert {tagged.split_of(int(s)) for s in data.sentences} == {split}
        sentences[split] = set(data.sentences.tolist())
    assert not sentences["train"] & sentences["test"] and not sentences["train"] & sentences["validation"]
    assert {s: len(d) for s, d in splits.items()} == {"train": 12_805, "validation": 1_598, "test": 1_579}


@pytest.mark.slow
def test_examples_are_the_words_before_a_verb_of_their_sentence(splits):
    corpus = brown.corpus()
    data = splits["test"]
    for i in range(0, len(data), 7):
        _, words, tags = corpus[data.sentences[i]]
        verb = len(data.prefixes[i])
        assert data.prefixes[i] == list(words[:verb])
        assert data.verbs[i] == words[verb] and data.subjects[i] == words[verb - data.distances[i]]
        verb_tag = tags[verb].upper().rstrip("*").split("-")[0]
        assert verb_tag in (agreement.SINGULAR_VERBS if data.labels[i] == 0 else agreement.PLURAL_VERBS)
    assert 0 < data.attractors.max() and data.distances.min() == 1
    assert set(np.unique(data.labels)) == {0, 1}


@pytest.mark.slow
def test_the_examples_match_their_checksums(splits):
    for split, data in splits.items():
        assert agreement.content_sha256(data) == agreement.SHA256[split]
    changed = splits["test"].select(np.arange(len(splits["test"])))
    changed.attractors[0] += 1
    assert agreement.content_sha256(changed) != agreement.SHA256["test"]


def test_load_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        agreement.load("dev")


def test_describe():
    card = agreement.describe()
    assert card["name"] == "agreement_brown" and card["labels"] == ["singular", "plural"]
    assert card["sha256"][brown.TARBALL] == brown.TARBALL_SHA256
    assert {k for k in card["sha256"] if k.startswith("examples/")} == {f"examples/{s}" for s in agreement.SPLITS}
    assert "i % 10 == 9 -> test" in card["split"] and card["license"]


def _toy_examples():
    prefixes = [["The", "book"], ["The", "books", "read", "by", "the", "children"], ["Dogs"]]
    return agreement.AgreementExamples("toy", "train", prefixes, np.array([0, 1, 1], np.int32),
                                       np.array([1, 5, 1], np.int32), np.array([0, 0, 0], np.int32),
                                       ["book", "books", "Dogs"], ["is", "are", "bark"], np.array([0, 1, 2]))


def test_as_dataset_pads_and_keeps_every_example():
    batches = list(agreement_data.as_dataset(_toy_examples(), batch_size=2))
    got = collections.Counter()
    for inputs, labels in batches:
        tokens = inputs["tokens"].numpy()
        assert tokens.ndim == 2 and tokens.shape[0] == labels.shape[0] <= 2
        for row, label in zip(tokens, labels.numpy()):
            got[(tuple(t.decode() for t in row if t), int(label))] += 1
    assert got == {(("The", "book"), 0): 1, (("The", "books", "read", "by", "the", "children"), 1): 1,
                   (("Dogs",), 1): 1}
    assert len(batches) == agreement_data.as_dataset(_toy_examples(), batch_size=2).cardinality().numpy()


def test_sample_select_and_take():
    data = _toy_examples()
    assert data.take(2).prefixes == data.prefixes[:2]
    picked = data.sample(2, seed=0)
    assert len(picked) == 2 and list(picked.sentences) == sorted(picked.sentences)
    assert data.sample(10) is data
    assert data.select([2]).verbs == ["bark"] and data.select([2]).labels.tolist() == [1]


@pytest.mark.slow
def test_tfds_load_gives_the_same_examples(splits, tmp_path):
    import tensorflow_datasets as tfds  # the `test` extra installs it

    import zoo.datasets.tfds  # noqa: F401  (registers the builders)

    test, info = tfds.load("agreement_brown", split="test", data_dir=str(tmp_path), with_info=True)
    assert {name: split.num_examples for name, split in info.splits.items()} == {
        "train": 12_805, "validation": 1_598, "test": 1_579}
    assert info.features["label"].names == ["singular", "plural"]
    got = sorted((tuple(t.decode() for t in ex["tokens"]), int(ex["label"]), int(ex["distance"]),
                  int(ex["attractors"])) for ex in tfds.as_numpy(test))
    data = splits["test"]
    assert got == sorted((tuple(p), int(y), int(d), int(a)) for p, y, d, a in
                         zip(data.prefixes, data.labels, data.distances, data.attractors))
