"""The translator's data: the split a model card names, and teacher-forcing `tf.data` batches."""

import numpy as np
import tensorflow as tf

from zoo.batches import bucketed
from zoo.datasets import bible, gettext_es
from zoo.datasets.parallel import ParallelText, from_tfds, read_pairs_file
from zoo.decoding import BOS_ID, EOS_ID, PAD_ID
from zoo.translation import verbatim
from zoo.translation.text import tokenize

BUCKET_BOUNDARIES = (10, 15, 20, 25, 30, 35, 40, 50, 60, 80, 100)  # in pieces
CORPORA = {"bible": bible, "software": gettext_es}  # the zoo's Spanish–English corpora, by the recipe's name
# the software corpus's held-out packages hold some 25 000 pairs each; validation and test use a fixed sample
HELD_OUT_SAMPLE = {"validation": 1500, "test": 3000}


def load_corpus(name, split):
    """A split of one of `CORPORA` (validation and test of the software messages: `HELD_OUT_SAMPLE`)."""
    if name == "bible":
        return bible.load(split)
    return gettext_es.load(split, limit=HELD_OUT_SAMPLE.get(split))


def corpora_of(dataset):
    """The names of the `CORPORA` a model card's dataset is made of (none for other data)."""
    return [name for name, module in CORPORA.items()
            if dataset["name"] == module.NAME or module.NAME in dataset.get("parts", {})]


def load_split(dataset, split):
    """A split of the data a model card names: the zoo's corpora, a TFDS dataset or the user's TSV file."""
    corpora = corpora_of(dataset)
    if corpora:
        return ParallelText.joined(dataset["name"], split, [load_corpus(name, split) for name in corpora])
    if "tfds" in dataset:
        return from_tfds(dataset["tfds"], split)
    files = dataset["files"]
    return read_pairs_file(files[split]) if split in files else read_pairs_file(files["all"], split)


def masked(sources, targets, chunk=2048):
    """`(sources, targets)` with their verbatim spans replaced by the source's slots (`zoo.translation.verbatim`):
    what a verbatim translator reads and learns to write."""
    masked_sources, masked_targets = [], []
    for i in range(0, len(sources), chunk):
        protected, spans = verbatim.protect(tf.constant(sources[i:i + chunk]))
        masked_sources += [s.decode("utf-8") for s in protected.numpy()]
        masked_targets += [t.decode("utf-8") for t in
                           verbatim.protect_like(tf.constant(targets[i:i + chunk]), spans).numpy()]
    return masked_sources, masked_targets


def piece_ids(model, texts, chunk=2048):
    """The model's piece ids of sentences, `int32 RaggedTensor [N, None]` (in chunks: BPE runs per word)."""
    parts = [model.piece_ids(tokenize(tf.constant(texts[i:i + chunk]))) for i in range(0, len(texts), chunk)]
    return tf.concat(parts, axis=0) if parts else tf.ragged.constant([], tf.int32, ragged_rank=1)


def as_dataset(data, model, batch_size, shuffle=False, seed=0):
    """Teacher-forcing batches of `data` (`zoo.datasets.parallel.ParallelText`) for `model`, bucketed by length.

    Yields `({"source": int [B, S], "target_in": int [B, T]}, target_out
    int [B, T], weights [B, T])` of piece ids: `target_in` is `<s>` + the
    reference, `target_out` the reference + `</s>`, weight 0 on padding. A
    verbatim model's pairs are `masked` first.
    """
    sources, targets = masked(data.sources, data.targets) if model.verbatim else (data.sources, data.targets)
    source, target = piece_ids(model, sources), piece_ids(model, targets)
    lengths = np.maximum(source.row_lengths().numpy(), target.row_lengths().numpy() + 1)
    dataset = tf.data.Dataset.from_tensor_slices((source, target)).cache()
    if shuffle:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)

    def teacher_forcing(source, target):
        target_in = tf.concat([[BOS_ID], target], axis=0)
        target_out = tf.concat([target, [EOS_ID]], axis=0)
        return source, target_in, target_out, tf.ones_like(target_out, tf.float32)

    dataset = bucketed(dataset.map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE), lengths, batch_size,
                       (PAD_ID, PAD_ID, PAD_ID, 0.0), boundaries=BUCKET_BOUNDARIES,
                       length_of=lambda source, target_in, *_: tf.maximum(tf.shape(source)[0], tf.shape(target_in)[0]))
    return dataset.map(lambda source, target_in, target_out, weights: (
        {"source": source, "target_in": target_in}, target_out, weights)).prefetch(tf.data.AUTOTUNE)
