"""The tagger's data: the split a model card names, and the `tf.data` pipeline it trains on.

`bucketed_dataset` is the sentence batching every token-sequence task of the
zoo shares (the agreement classifier's pipeline uses it too): sentences cut
from flat token columns, batched with sentences of similar length.
"""

import numpy as np
import tensorflow as tf

from zoo.datasets import brown, tagged

BUCKET_BOUNDARIES = (8, 16, 24, 32, 48, 64, 96)


def load_split(dataset, split):
    """The tagged sentences of `split` of the dataset a model card describes: Brown, or the user's files."""
    if dataset["name"].startswith("brown/"):
        return brown.load(split, dataset["tagset"])
    files = dataset["files"]
    if split in files:
        sentences = tagged.read_tagged_file(files[split])
    else:
        sentences = tagged.split_sentences(tagged.read_tagged_file(files["all"]), split)
    return tagged.TaggedSentences.from_pairs(dataset["name"], split, sentences)


def as_dataset(data, tag_names, batch_size, shuffle=False, seed=0):
    """`({"tokens": [B, N] string}, tag ids [B, N], weights [B, N])` batches, "" / 0 padded.

    Sentences are bucketed by length so a batch is mostly real tokens. A tag
    outside `tag_names` (a tag absent from training) gets weight 0.
    """
    index = {t: i for i, t in enumerate(tag_names)}
    lengths = np.array([len(words) for words in data.words], np.int64)
    flat_tags = [t for tags in data.tags for t in tags]
    words = tf.constant([w for sentence in data.words for w in sentence], tf.string)
    ids = tf.constant([index.get(t, 0) for t in flat_tags], tf.int32)
    weights = tf.constant([float(t in index) for t in flat_tags], tf.float32)
    return bucketed_dataset((words, ids, weights), lengths, batch_size, ("", 0, 0.0), shuffle=shuffle, seed=seed)


def bucketed_dataset(token_columns, lengths, batch_size, padding_values, sentence_columns=(), shuffle=False,
                     seed=0):
    """Batches of sentences of similar length (`BUCKET_BOUNDARIES`), the tokens as `{"tokens": [B, N]}`.

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
    dataset = dataset.bucket_by_sequence_length(
        lambda tokens, *_: tf.shape(tokens)[0],
        bucket_boundaries=list(BUCKET_BOUNDARIES),
        bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
        padding_values=padding_values,
    )
    bucket_sizes = np.bincount(np.searchsorted(BUCKET_BOUNDARIES, lengths, side="right"))
    batches = int(np.sum(-(-bucket_sizes // batch_size)))  # every bucket's last batch may be partial
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.map(lambda tokens, *rest: ({"tokens": tokens}, *rest)).prefetch(tf.data.AUTOTUNE)
