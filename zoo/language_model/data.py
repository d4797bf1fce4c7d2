"""The language model's data: English sentences tokenised as Brown is, vocabularies, and `tf.data` batches."""

import collections

import numpy as np
import tensorflow as tf

from zoo.batches import bucketed
from zoo.datasets import english, modern_english
from zoo.text import normalize, tokenize

CHUNK = 4096  # sentences tokenised per call
CORPORA = {corpus.NAME: corpus for corpus in (english, modern_english)}


def corpora_of(dataset):
    """The corpora a model card's dataset joins (`"english+modern_english"`: both)."""
    names = dataset["name"].split("+")
    unknown = [name for name in names if name not in CORPORA]
    if unknown:
        raise ValueError(f"unknown language-model corpora {unknown}; expected some of {list(CORPORA)}")
    return names


def load_split(dataset, split, corpus=None):
    """The raw sentences of a split of the dataset a model card names: of every corpus it joins, or `corpus`."""
    names = corpora_of(dataset) if corpus is None else [corpus]
    return [sentence for name in names for sentence in CORPORA[name].load(split)]


def describe(names):
    """The card's dataset section for corpora joined: the name `a+b`, and each corpus's own section."""
    if len(names) == 1:
        return CORPORA[names[0]].describe()
    return {"name": "+".join(names), "corpora": {name: CORPORA[name].describe() for name in names}}


def tokenized(sentences, max_tokens):
    """Sentences as token lists (Brown conventions, `zoo.text`), those longer than `max_tokens` left out."""
    rows = []
    for start in range(0, len(sentences), CHUNK):
        batch = tokenize(tf.constant(sentences[start:start + CHUNK])).to_list()
        rows += [[t.decode("utf-8") for t in row] for row in batch if 0 < len(row) <= max_tokens]
    return rows


def vocabularies(token_rows, size, min_count=2):
    """`(words, characters)`: the `size` most frequent normalised words seen `min_count` times, and every
    character seen `min_count` times, most frequent first."""
    words = collections.Counter(w for row in token_rows
                                for w in (t.decode() for t in normalize(tf.constant(row)).numpy()))
    characters = collections.Counter(c for row in token_rows for t in row for c in t)
    return ([w for w, n in words.most_common(size) if n >= min_count],
            [c for c, n in characters.most_common() if n >= min_count])


def as_dataset(token_rows, batch_size, shuffle=False, seed=0):
    """Batches of token rows `string [B, T]` ("" padded) of similar length, reshuffled every epoch."""
    lengths = np.array([len(row) for row in token_rows], np.int64)
    dataset = tf.data.Dataset.from_tensor_slices(tf.ragged.constant(token_rows, dtype=tf.string))
    if shuffle:
        dataset = dataset.shuffle(len(token_rows), seed=seed, reshuffle_each_iteration=True)
    return bucketed(dataset.map(lambda row: row), lengths, batch_size, "").prefetch(tf.data.AUTOTUNE)
