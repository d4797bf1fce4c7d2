"""The sensor classifier's data: the split a model card names, and the `tf.data` pipeline it trains on.

Example:

>>> test = load_split({"name": "BasicMotions"}, "test")
>>> (inputs, labels), = as_dataset(test, batch_size=40).take(1)
>>> inputs["series"].shape, inputs["lengths"].shape, labels.shape
(TensorShape([40, 100, 6]), TensorShape([40]), TensorShape([40]))
"""

import numpy as np
import tensorflow as tf

from zoo.datasets import sensor_files, uea


def load_split(dataset, split):
    """The `uea.SensorSplit` `split` of the data a model card's `dataset` section names: a UEA dataset, or the
    user's files (`zoo.datasets.sensor_files`).

    Args:
        dataset: the card's dataset section (its `"name"`, e.g. `"BasicMotions"`; `"files"` for the user's).
        split: `"train"`, `"validation"`, `"test"` or `"full_train"`.
    """
    if "files" in dataset:
        return sensor_files.load_described(dataset, split)
    return uea.load(dataset["name"], split)


def resampled(series, factor):
    """`series` `[T, C]` sampled `factor` times as often, by linear interpolation (at least one step): the
    graph twin of `zoo.sensor.perturbations.resample`."""
    steps = tf.shape(series)[0]
    new_steps = tf.maximum(1, tf.cast(tf.round(tf.cast(steps, tf.float32) * factor), tf.int32))
    position = tf.linspace(0.0, tf.cast(steps - 1, tf.float32), new_steps)
    below = tf.cast(tf.floor(position), tf.int32)
    above = tf.minimum(below + 1, steps - 1)
    weight = (position - tf.cast(below, tf.float32))[:, None]
    return tf.gather(series, below) * (1.0 - weight) + tf.gather(series, above) * weight


def as_dataset(data, batch_size=32, shuffle=False, seed=0, resample=0.0):
    """A `tf.data.Dataset` of `({"series", "lengths"}, label)`, padded per batch.

    `resample` > 0 (training): each series is resampled by a factor drawn log-uniformly from
    `[1 / (1 + resample), 1 + resample]`, anew every epoch (a sensor of another sampling rate).
    """
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
    if resample > 0:
        spread = float(np.log1p(resample))
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(
            lambda r: tf.exp(spread * (2.0 * tf.cast(r % 1_000_000, tf.float32) / 1_000_000 - 1.0)))
        dataset = tf.data.Dataset.zip(dataset, draws).map(
            lambda example, factor: (*_with_length(resampled(example[0], factor)), example[2]),
            num_parallel_calls=tf.data.AUTOTUNE)
    return (
        dataset.padded_batch(batch_size)
        .map(lambda s, n, y: ({"series": s, "lengths": n}, y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _with_length(series):
    return series, tf.shape(series)[0]
