"""The tagger's data: the split a model card names, and the `tf.data` pipeline it trains on."""

import numpy as np
import tensorflow as tf

from zoo.batches import sentence_batches
from zoo.datasets import brown, tagged


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
    return sentence_batches((words, ids, weights), lengths, batch_size, ("", 0, 0.0), shuffle=shuffle, seed=seed)

