"""zoo.translation.data.as_dataset: teacher-forcing batches for a tiny Translator, checked against hand-made ids.

The tiny model's merges make "Dios", "luz", "God" and "light" whole pieces; its pieces are those four, "."
and ",": ids 0 padding, 1 unknown piece, 2 `<s>`, 3 `</s>`, then 4 to 9. Any other word is split into
letters the vocabulary does not hold: one unknown id per piece ("Luz" → `L u z</w>` → 1 1 1).
"""

import collections

import numpy as np
import pytest
import tensorflow as tf

from zoo.datasets.parallel import ParallelText
from zoo.translation.data import as_dataset

PAD, OOV, BOS, EOS, DIOS, LUZ, GOD, LIGHT, STOP, COMMA = range(10)
PIECES = ["Dios</w>", "luz</w>", "God</w>", "light</w>", ".</w>", ",</w>"]
MERGES = ["D i", "Di o", "Dio s</w>", "l u", "lu z</w>", "G o", "Go d</w>", "l i", "li g", "lig h", "ligh t</w>"]

# (source, target, source ids, target ids): ids written by hand
PAIRS = [
    ("Dios luz.", "God light.", [DIOS, LUZ, STOP], [GOD, LIGHT, STOP]),
    ("Luz", "Light", [OOV] * 3, [OOV] * 5),
    ("Dios, Dios, luz.", "God, God, light.", [DIOS, COMMA, DIOS, COMMA, LUZ, STOP],
     [GOD, COMMA, GOD, COMMA, LIGHT, STOP]),
    ("Dios", "God", [DIOS], [GOD]),
    (" ".join(["luz"] * 12), " ".join(["light"] * 12), [LUZ] * 12, [LIGHT] * 12),
    (" ".join(["Dios luz"] * 5), " ".join(["God light"] * 5), [DIOS, LUZ] * 5, [GOD, LIGHT] * 5),
    ("luz, Dios", "light, God", [LUZ, COMMA, DIOS], [LIGHT, COMMA, GOD]),
    ("Dios Dios", "God God", [DIOS, DIOS], [GOD, GOD]),
    ("luz", "light", [LUZ], [LIGHT]),
]
LONG = {4, 5}  # bucket lengths max(source ids, target ids + 1) 13 and 11: the bucket [10, 15); the others below 10
BATCHES = {4: 2 + 1, 2: 4 + 1, 1: 9, 16: 1 + 1}


@pytest.fixture(scope="module")
def translator():
    import keras

    from zoo.translation.model import Translator

    keras.utils.set_random_seed(0)
    return Translator(PIECES, MERGES, hidden=8, embedding_dim=8)


@pytest.fixture(scope="module")
def data():
    return ParallelText("toy", "train", [p[0] for p in PAIRS], [p[1] for p in PAIRS],
                        [f"toy:{i}" for i in range(len(PAIRS))])


def _rows(dataset):
    """Every example of one pass, as `(source ids, target_in, target_out, weights)`, batch by batch."""
    batches = []
    for inputs, target_out, weights in dataset:
        source, target_in = inputs["source"].numpy(), inputs["target_in"].numpy()
        target_out, weights = target_out.numpy(), weights.numpy()
        batches.append([(source[i].tolist(), target_in[i], target_out[i], weights[i]) for i in range(len(source))])
    return batches


def _check_row(source, target_in, target_out, weights):
    """Checks one example against its hand-written pair; returns the pair's index."""
    real = [t for t in source if t != PAD]
    assert source == real + [PAD] * (len(source) - len(real))  # padding only at the end
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
    assert inputs["source"].dtype == tf.int32 and inputs["source"].shape.rank == 2
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
        assert max(sum(1 for t in row[0] if t != PAD) for row in batch) == len(batch[0][0])
        assert max(int(row[3].sum()) for row in batch) == len(batch[0][1])
    assert seen == {i: 1 for i in range(len(PAIRS))}


def test_buckets_keep_long_and_short_pairs_apart(data, translator):
    for batch in _rows(as_dataset(data, translator, batch_size=16)):
        indices = {_check_row(*row) for row in batch}
        assert indices <= LONG or not indices & LONG, indices


def test_unknown_target_words_are_split_into_pieces_with_the_unknown_id(translator):
    data = ParallelText("toy", "train", ["Dios"], ["Ye gods"], ["toy:1"])
    (row,), = _rows(as_dataset(data, translator, batch_size=2))
    np.testing.assert_array_equal(row[2], [OOV] * 6 + [EOS])  # Y e</w> g o d s</w>
    np.testing.assert_array_equal(row[1], [BOS] + [OOV] * 6)


def _order(dataset):
    return [[tuple(row[0]) for row in batch] for batch in _rows(dataset)]


@pytest.mark.slow
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
