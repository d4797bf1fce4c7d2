"""The agreement classifier's data: the split a model card names, and the `tf.data` pipeline it trains on."""

import numpy as np
import tensorflow as tf

from zoo.batches import sentence_batches
from zoo.datasets import agreement


def load_split(dataset, split):
    """The `AgreementExamples` of `split` of the dataset a model card describes.

    There is one: `zoo.datasets.agreement`'s examples from the Brown corpus
    (`dataset`, the card's section, names it and is not read further).
    """
    return agreement.load(split)


def as_dataset(data, batch_size, shuffle=False, seed=0):
    """`({"tokens": string [B, N]}, label [B])` batches, `""` padded, bucketed by prefix length."""
    lengths = np.array([len(p) for p in data.prefixes], np.int64)
    words = tf.constant([w for prefix in data.prefixes for w in prefix], tf.string)
    return sentence_batches((words,), lengths, batch_size, ("", 0), sentence_columns=(data.labels,),
                            shuffle=shuffle, seed=seed)
