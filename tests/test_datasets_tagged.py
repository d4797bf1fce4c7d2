"""zoo.datasets.tagged: the user-corpus readers (CoNLL-U and word/TAG) and the tf.data pipeline."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from zoo.datasets import tagged

CONLLU = """\
# newdoc id = toy
# sent_id = 1
# text = Don't stop.
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\tVBP\t_\t2\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = 2
# text = Sue likes tea, and Bob coffee.
1\tSue\tSue\tPROPN\tNNP\t_\t2\tnsubj\t_\t_
2\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t_\t_
3\ttea\ttea\tNOUN\tNN\t_\t2\tobj\t_\tSpaceAfter=No
4\t,\t,\tPUNCT\t,\t_\t7\tpunct\t_\t_
5\tand\tand\tCCONJ\tCC\t_\t7\tcc\t_\t_
6\tBob\tBob\tPROPN\tNNP\t_\t2\tconj\t_\t_
6.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t2:conj\t_
7\tcoffee\tcoffee\tNOUN\tNN\t_\t6\tobj\t_\tSpaceAfter=No
8\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_
"""
CONLLU_SENTENCES = [
    (["Do", "n't", "stop", "."], ["AUX", "PART", "VERB", "PUNCT"]),
    (["Sue", "likes", "tea", ",", "and", "Bob", "coffee", "."],
     ["PROPN", "VERB", "NOUN", "PUNCT", "CCONJ", "PROPN", "NOUN", "PUNCT"]),
]

SLASH = """\
The/DET dog/NOUN barks/VERB ./.

1/2/NUM of/ADP the/DET café's/NOUN  menu/NOUN ./.
  Über/ADP Straße/NOUN   ,/. 中文/X
"""
SLASH_SENTENCES = [
    (["The", "dog", "barks", "."], ["DET", "NOUN", "VERB", "."]),
    (["1/2", "of", "the", "café's", "menu", "."], ["NUM", "ADP", "DET", "NOUN", "NOUN", "."]),
    (["Über", "Straße", ",", "中文"], ["ADP", "NOUN", ".", "X"]),
]


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- readers ----------------------------------------------------------------------------------------


def test_read_conllu(tmp_path):
    """Comments, the multi-word token range 1-2 and the empty node 6.1 are skipped; FORM and UPOS are read."""
    assert tagged.read_tagged_file(_write(tmp_path, "toy.conllu", CONLLU)) == CONLLU_SENTENCES


def test_read_conllu_without_a_final_blank_line_and_with_crlf(tmp_path):
    text = CONLLU.rstrip("\n").replace("\n", "\r\n")
    assert tagged.read_tagged_file(_write(tmp_path, "crlf.conllu", text)) == CONLLU_SENTENCES


def test_read_slash_format(tmp_path):
    """Blank lines are skipped, whitespace runs separate tokens, the tag follows the token's last slash."""
    assert tagged.read_tagged_file(_write(tmp_path, "toy.txt", SLASH)) == SLASH_SENTENCES


def test_read_brown_style_lines(tmp_path):
    text = "\tThe/at Fulton/np-tl County/nn-tl said/vbd ./.\n\n\n\t``/`` Only/rb ''/'' ./.\n"
    assert tagged.read_tagged_file(_write(tmp_path, "ca00", text)) == [
        (["The", "Fulton", "County", "said", "."], ["at", "np-tl", "nn-tl", "vbd", "."]),
        (["``", "Only", "''", "."], ["``", "rb", "''", "."]),
    ]


BAD_FILES = {
    "non-UTF-8": (b"The/DET caf\xe9/NOUN ./.\n", r"not UTF-8"),
    "token without a slash": ("The/DET dog/NOUN ./.\nThe/DET cat ./.\n", r":2: token 'cat' is not `word/TAG`"),
    "token with an empty tag": ("The/DET dog/ ./.\n", r":1: token 'dog/' is not `word/TAG`"),
    "token with an empty word": ("/DET dog/NOUN\n", r":1: token '/DET' is not `word/TAG`"),
    "9-column CoNLL-U line": (CONLLU.replace("3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No",
                                             "3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_"),
                              r":7: expected 10 tab-separated CoNLL-U columns, got 9"),
    "empty file": ("", r"no tagged sentences"),
    "blank lines only": ("\n  \n\t\n", r"no tagged sentences"),
    "CoNLL-U with no 10-column line": ("# sent_id = 1\n1\ta\ta\tDET\t_\t_\t_\t_\t_\n", r":1: token '#'"),
}


@pytest.mark.parametrize("content,pattern", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_files_name_the_file(tmp_path, content, pattern):
    path = _write(tmp_path, "bad file.txt", content)
    with pytest.raises(ValueError, match=pattern) as err:
        tagged.read_tagged_file(path)
    assert str(err.value).startswith(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(OSError):
        tagged.read_tagged_file(tmp_path / "absent.conllu")


def test_tagged_sentences():
    data = tagged.TaggedSentences("toy", "train", [["a", "b"], ["c"], ["d", "e", "f"]],
                                  [["X", "Y"], ["Y"], ["Z", "X", "X"]])
    assert len(data) == 3 and data.num_tokens == 6
    assert data.tag_names() == ["X", "Y", "Z"]
    first = data.take(2)
    assert (first.words, first.tags, first.name, first.split) == ([["a", "b"], ["c"]], [["X", "Y"], ["Y"]],
                                                                   "toy", "train")


# --- as_dataset -------------------------------------------------------------------------------------

TAGS = ["A", "B", "C"]


def _corpus(lengths):
    """Unique sentences of the given lengths: word j of sentence i is `s{i}w{j}`, tags cycle A B C D."""
    words = [[f"s{i}w{j}" for j in range(n)] for i, n in enumerate(lengths)]
    tags = [["ABCD"[(i + j) % 4] for j in range(n)] for i, n in enumerate(lengths)]
    return tagged.TaggedSentences("synthetic", "train", words, tags)


LENGTHS = [1, 3, 7, 8, 9, 15, 16, 17, 30, 47, 64, 65, 100, 2, 5, 5, 12, 40, 96, 97, 33, 1, 8, 20, 60]


def _rows(dataset):
    """Every row of every batch, padding checked and stripped, as (words, tag ids, weights) tuples."""
    rows = []
    for inputs, ids, weights in dataset:
        assert set(inputs) == {"tokens"}
        tokens = inputs["tokens"].numpy()
        ids, weights = ids.numpy(), weights.numpy()
        assert tokens.ndim == 2 and tokens.shape == ids.shape == weights.shape
        assert ids.dtype == np.int32 and weights.dtype == np.float32
        for row_tokens, row_ids, row_weights in zip(tokens, ids, weights):
            real = row_tokens != b""
            length = int(real.sum())
            assert real[:length].all() and not real[length:].any(), "padding is at the end only"
            assert (row_ids[length:] == 0).all() and (row_weights[length:] == 0).all()
            rows.append((tuple(t.decode() for t in row_tokens[:length]), tuple(row_ids[:length].tolist()),
                         tuple(row_weights[:length].tolist())))
    return rows


def _expected_rows(data):
    rows = []
    for words, tags in zip(data.words, data.tags):
        rows.append((tuple(words), tuple(TAGS.index(t) if t in TAGS else 0 for t in tags),
                     tuple(1.0 if t in TAGS else 0.0 for t in tags)))
    return rows


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_as_dataset_batches(batch_size):
    data = _corpus(LENGTHS)
    dataset = tagged.as_dataset(data, TAGS, batch_size)
    batches = list(dataset)
    assert len(batches) == dataset.cardinality().numpy()
    for inputs, ids, _ in batches:
        assert 1 <= inputs["tokens"].shape[0] <= batch_size
        assert inputs["tokens"].dtype == tf.string
    rows = _rows(dataset)
    # every sentence exactly once, with its tag ids; the tag "D" (not in TAGS) has weight 0
    assert collections.Counter(rows) == collections.Counter(_expected_rows(data))
    assert sum(w for _, _, weights in rows for w in weights) == sum(
        t != "D" for tags in data.tags for t in tags)


def test_as_dataset_pads_with_empty_strings():
    data = tagged.TaggedSentences("toy", "train", [["a", "b", "c"], ["d"]], [["A", "B", "C"], ["B"]])
    (inputs, ids, weights), = list(tagged.as_dataset(data, TAGS, 8))
    order = np.argsort([-len([t for t in row if t]) for row in inputs["tokens"].numpy()])
    tokens = inputs["tokens"].numpy()[order].tolist()
    assert tokens == [[b"a", b"b", b"c"], [b"d", b"", b""]]
    assert ids.numpy()[order].tolist() == [[0, 1, 2], [1, 0, 0]]
    assert weights.numpy()[order].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_unknown_tags_get_weight_zero():
    data = tagged.TaggedSentences("toy", "validation", [["a", "b", "c"]], [["A", "NEW", "C"]])
    (_, ids, weights), = list(tagged.as_dataset(data, TAGS, 4))
    assert weights.numpy().tolist() == [[1.0, 0.0, 1.0]]
    assert ids.numpy()[0, [0, 2]].tolist() == [0, 2]


def test_shuffled_epochs_hold_every_sentence_once():
    data = _corpus(LENGTHS * 4)
    data.words = [[f"e{k}" + w for w in words] for k, words in enumerate(data.words)]  # unique again
    dataset = tagged.as_dataset(data, TAGS, 4, shuffle=True, seed=3)
    expected = collections.Counter(_expected_rows(data))
    epochs = []
    for _ in range(2):
        rows = _rows(dataset)
        assert collections.Counter(rows) == expected
        epochs.append([words for words, _, _ in rows])
    assert epochs[0] != epochs[1], "reshuffled each epoch"
    # and the same seed gives the same order
    assert [w for w, _, _ in _rows(tagged.as_dataset(data, TAGS, 4, shuffle=True, seed=3))] == epochs[0]


def test_buckets_keep_batches_mostly_real_tokens():
    data = _corpus([2] * 16 + [90] * 16)
    for inputs, _, _ in tagged.as_dataset(data, TAGS, 4, shuffle=True):
        tokens = inputs["tokens"].numpy()
        lengths = (tokens != b"").sum(axis=1)
        assert lengths.max() - lengths.min() == 0  # short and long sentences are never batched together
        assert tokens.shape[1] == lengths.max()
