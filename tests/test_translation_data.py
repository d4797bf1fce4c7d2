"""zoo.translation.data.as_dataset: teacher-forcing batches for a tiny Translator, checked against hand-made ids.

The tiny model's target vocabulary is ["god", "light"]: ids 0 padding, 1 out of vocabulary, 2 `<s>`,
3 `</s>`, 4 "god", 5 "light".
"""

import collections

import numpy as np
import pytest
import tensorflow as tf

from zoo.datasets.parallel import ParallelText
from zoo.translation.data import as_dataset

PAD, OOV, BOS, EOS, GOD, LIGHT = 0, 1, 2, 3, 4, 5

# (source, target, source tokens, target ids): tokens and ids written by hand
PAIRS = [
    ("Dios es luz.", "God is light.", ["Dios", "es", "luz", "."], [GOD, OOV, LIGHT, OOV]),
    ("Luz", "Light", ["Luz"], [LIGHT]),
    ("Y dijo Dios: Sea la luz.", "And God said, Let there be light.",
     ["Y", "dijo", "Dios", ":", "Sea", "la", "luz", "."],
     [OOV, GOD, OOV, OOV, OOV, OOV, OOV, LIGHT, OOV]),
    ("Dios", "God", ["Dios"], [GOD]),
    ("La luz de Dios", "The light of God", ["La", "luz", "de", "Dios"], [OOV, LIGHT, OOV, GOD]),
    ("Dios y luz", "GOD and LIGHT", ["Dios", "y", "luz"], [GOD, OOV, LIGHT]),
    ("Luz, luz, luz", "Light, light, light", ["Luz", ",", "luz", ",", "luz"], [LIGHT, OOV, LIGHT, OOV, LIGHT]),
    ("a b c d e f g h i j k l", "light god light god light god light god light god light god",
     list("abcdefghijkl"), [LIGHT, GOD] * 6),
    ("Dios dijo", "God said", ["Dios", "dijo"], [GOD, OOV]),
]
# Bucket lengths max(source tokens, target ids + 1): pairs 2 and 7 (10 and 13) are in the bucket [10, 15),
# the other seven below 10.
BATCHES = {4: 2 + 1, 2: 4 + 1, 1: 9, 16: 1 + 1}


@pytest.fixture(scope="module")
def translator():
    import keras

    from zoo.translation.model import Translator

    keras.utils.set_random_seed(0)
    return Translator(["dios", "luz"], ["god", "light"], ["God", "light"], hidden=8, embedding_dim=8)


@pytest.fixture(scope="module")
def data():
    return ParallelText("toy", "train", [p[0] for p in PAIRS], [p[1] for p in PAIRS],
                        [f"toy:{i}" for i in range(len(PAIRS))])


def _rows(dataset):
    """Every example of one pass, as `(source tokens, target_in, target_out, weights)`, batch by batch."""
    batches = []
    for inputs, target_out, weights in dataset:
        source, target_in = inputs["source"].numpy(), inputs["target_in"].numpy()
        target_out, weights = target_out.numpy(), weights.numpy()
        batches.append([([t.decode() for t in source[i]], target_in[i], target_out[i], weights[i])
                        for i in range(len(source))])
    return batches


def _check_row(source, target_in, target_out, weights):
    """Checks one example against its hand-written pair; returns the pair's index."""
    real = [t for t in source if t]
    assert source == real + [""] * (len(source) - len(real))  # padding "" only at the end
    matches = [i for i, p in enumerate(PAIRS) if p[2] == real]
    assert len(matches) == 1, real
    ids = PAIRS[matches[0]][3]
    n = len(ids) + 1  # real target tokens + EOS
    width = len(target_out)
    assert len(target_in) == len(weights) == width >= n
    np.testing.assert_array_equal(target_out, ids + [EOS] + [PAD] * (width - n))
    np.testing.assert_array_equal(target_in, [BOS] + ids + [PAD] * (width - n))
    np.testing.assert_array_equal(target_in[1:n], target_out[: n - 1])  # shifted right by one
    np.testing.assert_array_equal(weights, [1.0] * n + [0.0] * (width - n))
    return matches[0]


def test_element_spec(data, translator):
    dataset = as_dataset(data, translator, batch_size=4)
    inputs, target_out, weights = dataset.element_spec
    assert set(inputs) == {"source", "target_in"}
    assert inputs["source"].dtype == tf.string and inputs["source"].shape.rank == 2
    assert inputs["target_in"].dtype == tf.int32 and inputs["target_in"].shape.rank == 2
    assert target_out.dtype == tf.int32 and target_out.shape.rank == 2
    assert weights.dtype == tf.float32 and weights.shape.rank == 2


@pytest.mark.parametrize("batch_size", sorted(BATCHES))
def test_batches_hold_every_pair_once_with_teacher_forcing(data, translator, batch_size):
    dataset = as_dataset(data, translator, batch_size=batch_size)
    batches = _rows(dataset)
    assert len(batches) == BATCHES[batch_size]
    assert int(dataset.cardinality()) == BATCHES[batch_size]
    seen = collections.Counter()
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        assert len({len(row[0]) for row in batch}) == 1 and len({len(row[1]) for row in batch}) == 1
        for row in batch:
            seen[_check_row(*row)] += 1
        # padded to the batch's longest example, no further
        assert max(sum(1 for t in row[0] if t) for row in batch) == len(batch[0][0])
        assert max(int(row[3].sum()) for row in batch) == len(batch[0][1])
    assert seen == {i: 1 for i in range(len(PAIRS))}


def test_buckets_keep_long_and_short_pairs_apart(data, translator):
    long = {2, 7}
    for batch in _rows(as_dataset(data, translator, batch_size=16)):
        indices = {_check_row(*row) for row in batch}
        assert indices <= long or not indices & long, indices


def test_unknown_target_words_get_the_oov_id(translator):
    data = ParallelText("toy", "train", ["Dios"], ["Ye gods"], ["toy:1"])
    (row,), = _rows(as_dataset(data, translator, batch_size=2))
    np.testing.assert_array_equal(row[2], [OOV, OOV, EOS])
    np.testing.assert_array_equal(row[1], [BOS, OOV, OOV])


def _order(dataset):
    return [[" ".join(row[0]).strip() for row in batch] for batch in _rows(dataset)]


def test_shuffle_is_reproducible_and_keeps_every_pair(data, translator):
    first = as_dataset(data, translator, batch_size=2, shuffle=True, seed=7)
    again = as_dataset(data, translator, batch_size=2, shuffle=True, seed=7)
    assert _order(first) == _order(again)
    assert int(first.cardinality()) == BATCHES[2]
    for _ in range(2):  # every epoch holds every pair once, reshuffled or not
        batches = _rows(first)
        assert len(batches) == BATCHES[2]
        assert sorted(_check_row(*row) for batch in batches for row in batch) == list(range(len(PAIRS)))
    plain = _order(as_dataset(data, translator, batch_size=2))
    orders = [_order(as_dataset(data, translator, batch_size=2, shuffle=True, seed=seed)) for seed in range(4)]
    assert any(order != plain for order in orders)  # shuffling does change the order
