"""The sensor classifier's data: the split a model card names, and the `tf.data` pipeline it trains on.

Example:

>>> test = load_split({"name": "BasicMotions"}, "test")
>>> (inputs, labels), = as_dataset(test, batch_size=40).take(1)
>>> inputs["series"].shape, inputs["lengths"].shape, labels.shape
(TensorShape([40, 100, 6]), TensorShape([40]), TensorShape([40]))
"""

import tensorflow as tf

from zoo.datasets import uea


def load_split(dataset, split):
    """The `uea.SensorSplit` `split` of the UEA dataset a model card's `dataset` section names.

    Args:
        dataset: the card's dataset section (its `"name"`, e.g. `"BasicMotions"`).
        split: `"train"`, `"validation"`, `"test"` or `"full_train"`.
    """
    return uea.load(dataset["name"], split)


def as_dataset(data, batch_size=32, shuffle=False, seed=0):
    """A `tf.data.Dataset` of `({"series", "lengths"}, label)`, padded per batch."""
    dataset = tf.data.Dataset.from_generator(
        lambda: ((s, len(s), y) for s, y in zip(data.series, data.labels)),
        output_signature=(
            tf.TensorSpec([None, data.num_channels], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
        ),
    ).apply(tf.data.experimental.assert_cardinality(len(data))).cache()
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    return (
        dataset.padded_batch(batch_size)
        .map(lambda s, n, y: ({"series": s, "lengths": n}, y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
