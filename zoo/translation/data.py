"""The translator's data: the split a model card names, and teacher-forcing `tf.data` batches."""

import numpy as np
import tensorflow as tf

from zoo.datasets import bible
from zoo.datasets.parallel import from_tfds, read_pairs_file
from zoo.decoding import BOS_ID, EOS_ID, PAD_ID
from zoo.translation.text import tokenize

BUCKET_BOUNDARIES = (10, 15, 20, 25, 30, 35, 40, 50, 60, 80, 100)  # in pieces


def load_split(dataset, split):
    """A split of the data a model card names: the Bible pairs, a TFDS dataset or the user's TSV file."""
    if dataset["name"] == bible.NAME:
        return bible.load(split)
    if "tfds" in dataset:
        return from_tfds(dataset["tfds"], split)
    files = dataset["files"]
    return read_pairs_file(files[split]) if split in files else read_pairs_file(files["all"], split)


def piece_ids(model, texts, chunk=2048):
    """The model's piece ids of raw sentences, `int32 RaggedTensor [N, None]` (in chunks: BPE runs per word)."""
    parts = [model.piece_ids(tokenize(tf.constant(texts[i:i + chunk]))) for i in range(0, len(texts), chunk)]
    return tf.concat(parts, axis=0) if parts else tf.ragged.constant([], tf.int32, ragged_rank=1)


def as_dataset(data, model, batch_size, shuffle=False, seed=0):
    """Teacher-forcing batches of `data` (`zoo.datasets.parallel.ParallelText`) for `model`, bucketed by length.

    Yields `({"source": int [B, S], "target_in": int [B, T]}, target_out
    int [B, T], weights [B, T])` of piece ids: `target_in` is `<s>` + the
    reference, `target_out` the reference + `</s>`, weight 0 on padding.
    """
    source, target = piece_ids(model, data.sources), piece_ids(model, data.targets)
    lengths = np.maximum(source.row_lengths().numpy(), target.row_lengths().numpy() + 1)
    dataset = tf.data.Dataset.from_tensor_slices((source, target)).cache()
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)

    def teacher_forcing(source, target):
        target_in = tf.concat([[BOS_ID], target], axis=0)
        target_out = tf.concat([target, [EOS_ID]], axis=0)
        return source, target_in, target_out, tf.ones_like(target_out, tf.float32)

    dataset = dataset.map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE).bucket_by_sequence_length(
        lambda source, target_in, *_: tf.maximum(tf.shape(source)[0], tf.shape(target_in)[0]),
        bucket_boundaries=list(BUCKET_BOUNDARIES),
        bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
        padding_values=(PAD_ID, PAD_ID, PAD_ID, 0.0),
    )
    bucket_sizes = np.bincount(np.searchsorted(BUCKET_BOUNDARIES, lengths, side="right"))
    batches = int(np.sum(-(-bucket_sizes // batch_size)))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.map(lambda source, target_in, target_out, weights: (
        {"source": source, "target_in": target_in}, target_out, weights)).prefetch(tf.data.AUTOTUNE)
