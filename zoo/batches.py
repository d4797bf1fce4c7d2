"""Batches of similar length: the Python API's calls of a signature over many inputs (answers in input order),
and the `tf.data` pipelines the recipes train on (examples bucketed by length)."""

import numpy as np
import tensorflow as tf

BUCKET_BOUNDARIES = (8, 16, 24, 32, 48, 64, 96)  # a sentence's tokens


def by_length(function, rows, batch_size, length=len):
    """`function` over `rows`, `batch_size` at a time, shortest first (less padding per batch).

    `function(batch)` returns one result per row of `batch`; the results come
    back in the order of `rows`.

    >>> by_length(lambda batch: [row.upper() for row in batch], ["ccc", "a", "bb"], batch_size=2)
    ['CCC', 'A', 'BB']
    """
    order = sorted(range(len(rows)), key=lambda i: length(rows[i]))
    results = [None] * len(rows)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        for i, result in zip(batch, function([rows[i] for i in batch])):
            results[i] = result
    return results


def padded_tokens(token_lists):
    """Lists of token strings → `string [B, N]`, `""` padded to the longest (N ≥ 1).

    >>> padded_tokens([["a", "b"], ["c"]]).numpy().tolist()
    [[b'a', b'b'], [b'c', b'']]
    """
    width = max(1, *(len(tokens) for tokens in token_lists))
    return tf.constant([list(tokens) + [""] * (width - len(tokens)) for tokens in token_lists], tf.string)


def bounded_slices(count, max_items, costs=None, max_cost=None):
    """`slice`s of `count` items in order, each at most `max_items` items and (when `costs` are given)
    `max_cost` of their summed cost; an item costlier than `max_cost` gets a slice of its own.

    >>> list(bounded_slices(5, 2, costs=[1, 1, 3, 1, 1], max_cost=3))
    [slice(0, 2, None), slice(2, 3, None), slice(3, 5, None)]
    """
    start = 0
    while start < count:
        stop, used = start, 0
        while stop < count and stop - start < max_items:
            cost = 0 if costs is None else int(costs[stop])
            if stop > start and used + cost > max_cost:
                break
            used += cost
            stop += 1
        yield slice(start, stop)
        start = stop


def bucketed(dataset, lengths, batch_size, padding_values, length_of=lambda first, *_: tf.shape(first)[0],
             boundaries=BUCKET_BOUNDARIES):
    """`dataset` in padded batches of examples of similar length, with its number of batches known.

    Args:
        dataset: a `tf.data.Dataset` of one example per element.
        lengths: each example's length as `length_of` measures it, in order.
        batch_size: examples per batch (the last batch of each bucket may have fewer).
        padding_values: one per component of an example.
        length_of: an example's components -> its length (default: the first one's).
        boundaries: where one bucket of lengths ends and the next begins, increasing.

    >>> rows = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1, 2], [3], [4, 5, 6]]))
    >>> batches = bucketed(rows.map(lambda row: row), [2, 1, 3], 2, 0, boundaries=(2,))
    >>> int(batches.cardinality()), [batch.numpy().tolist() for batch in batches]
    (2, [[[1, 2, 0], [4, 5, 6]], [[3]]])
    """
    dataset = dataset.bucket_by_sequence_length(
        length_of, bucket_boundaries=list(boundaries), bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=padding_values)
    bucket_sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
    batches = int(np.sum(-(-bucket_sizes // batch_size)))  # every bucket's last batch may be partial
    return dataset.apply(tf.data.experimental.assert_cardinality(batches))


def sentence_batches(token_columns, lengths, batch_size, padding_values, sentence_columns=(), shuffle=False,
                     seed=0):
    """Batches of sentences cut from flat token columns, `bucketed` by length, the tokens as `{"tokens": [B, N]}`.

    Args:
        token_columns: tensors with one row per token of every sentence, end
            to end; the first holds the tokens.
        lengths: each sentence's token count, in order.
        batch_size: sentences per batch (the last of each bucket may have fewer).
        padding_values: one per column (token columns, then sentence columns).
        sentence_columns: arrays with one row per sentence (labels).
        shuffle, seed: reshuffle the sentences every epoch.

    Returns:
        A `tf.data.Dataset` of `({"tokens": ...}, *other columns)` with a known cardinality.
    """
    starts = np.cumsum(lengths) - lengths

    def cut(start, length, *per_sentence):
        return tuple(column[start:start + length] for column in token_columns) + per_sentence

    dataset = tf.data.Dataset.from_tensor_slices((starts, lengths, *sentence_columns)).map(
        cut, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        dataset = dataset.shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
    dataset = bucketed(dataset, lengths, batch_size, padding_values)
    return dataset.map(lambda tokens, *rest: ({"tokens": tokens}, *rest)).prefetch(tf.data.AUTOTUNE)
