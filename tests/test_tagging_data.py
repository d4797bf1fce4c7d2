"""zoo.tagging.data: the split a model card names and the tf.data pipeline the tagger trains on."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from zoo.datasets import tagged
from zoo.tagging import data as tagging_data


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
    dataset = tagging_data.as_dataset(data, TAGS, batch_size)
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
    (inputs, ids, weights), = list(tagging_data.as_dataset(data, TAGS, 8))
    order = np.argsort([-len([t for t in row if t]) for row in inputs["tokens"].numpy()])
    tokens = inputs["tokens"].numpy()[order].tolist()
    assert tokens == [[b"a", b"b", b"c"], [b"d", b"", b""]]
    assert ids.numpy()[order].tolist() == [[0, 1, 2], [1, 0, 0]]
    assert weights.numpy()[order].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_unknown_tags_get_weight_zero():
    data = tagged.TaggedSentences("toy", "validation", [["a", "b", "c"]], [["A", "NEW", "C"]])
    (_, ids, weights), = list(tagging_data.as_dataset(data, TAGS, 4))
    assert weights.numpy().tolist() == [[1.0, 0.0, 1.0]]
    assert ids.numpy()[0, [0, 2]].tolist() == [0, 2]


def test_shuffled_epochs_hold_every_sentence_once():
    data = _corpus(LENGTHS * 4)
    data.words = [[f"e{k}" + w for w in words] for k, words in enumerate(data.words)]  # unique again
    dataset = tagging_data.as_dataset(data, TAGS, 4, shuffle=True, seed=3)
    expected = collections.Counter(_expected_rows(data))
    epochs = []
    for _ in range(2):
        rows = _rows(dataset)
        assert collections.Counter(rows) == expected
        epochs.append([words for words, _, _ in rows])
    assert epochs[0] != epochs[1], "reshuffled each epoch"
    # and the same seed gives the same order
    assert [w for w, _, _ in _rows(tagging_data.as_dataset(data, TAGS, 4, shuffle=True, seed=3))] == epochs[0]


def test_buckets_keep_batches_mostly_real_tokens():
    data = _corpus([2] * 16 + [90] * 16)
    for inputs, _, _ in tagging_data.as_dataset(data, TAGS, 4, shuffle=True):
        tokens = inputs["tokens"].numpy()
        lengths = (tokens != b"").sum(axis=1)
        assert lengths.max() - lengths.min() == 0  # short and long sentences are never batched together
        assert tokens.shape[1] == lengths.max()


# --- load_split -----------------------------------------------------------------------------------


def test_load_split_of_a_user_corpus_split_by_the_rule(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("".join(f"w{i}/X w/Y\n" for i in range(20)), encoding="utf-8")
    dataset = {"name": "mine", "source": "user files", "files": {"all": str(path)}, "split": tagged.SPLIT_RULE}
    test = tagging_data.load_split(dataset, "test")
    assert (test.name, test.split, test.words, test.tags) == (
        "mine", "test", [["w9", "w"], ["w19", "w"]], [["X", "Y"], ["X", "Y"]])
    assert [w for w, _ in tagging_data.load_split(dataset, "validation").words] == ["w8", "w18"]
    assert len(tagging_data.load_split(dataset, "train")) == 16


def test_load_split_of_separate_user_files(tmp_path):
    files = {}
    for split, count in (("train", 5), ("validation", 2), ("test", 3)):
        files[split] = str(tmp_path / f"{split}.txt")
        (tmp_path / f"{split}.txt").write_text(f"{split}/X\n" * count, encoding="utf-8")
    dataset = {"name": "mine", "source": "user files", "files": files, "split": "given files"}
    for split, count in (("train", 5), ("validation", 2), ("test", 3)):
        data = tagging_data.load_split(dataset, split)
        assert data.words == [[split]] * count and data.split == split
