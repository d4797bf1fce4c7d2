"""Running a signature over many inputs in the Python API: batches of similar length, answers in input order."""

import tensorflow as tf


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
