"""Tagged sentences, from any corpus: the fixed split rule, file readers and `tf.data` pipelines.

Users bring their own corpus in one of two formats, detected from the content:

- CoNLL-U: tab-separated lines of 10 columns, sentences separated by blank
  lines; FORM (column 2) is the word and UPOS (column 4) the tag. Comment
  lines, multi-word token ranges (`1-2`) and empty nodes (`1.1`) are skipped.
- `word/TAG`: one sentence per line, tokens separated by whitespace, the tag
  after the token's last `/` (the Brown corpus's own format).
"""

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

SPLIT_RULE = ("sentences in file order over the sorted file names, numbered i = 0, 1, ... over the whole "
              "corpus: i % 10 == 9 -> test, i % 10 == 8 -> validation (dev), otherwise train")
BUCKET_BOUNDARIES = (8, 16, 24, 32, 48, 64, 96)


def split_of(index):
    """The split of the `index`-th sentence of a corpus (see `SPLIT_RULE`).

    >>> [split_of(i) for i in (0, 7, 8, 9, 10, 19)]
    ['train', 'train', 'validation', 'test', 'train', 'test']
    """
    return {9: "test", 8: "validation"}.get(index % 10, "train")


@dataclasses.dataclass
class TaggedSentences:
    """Sentences as lists of words with one tag per word."""

    name: str
    split: str
    words: list
    tags: list

    @classmethod
    def from_pairs(cls, name, split, sentences):
        """From `(words, tags)` pairs, as `read_tagged_file` returns them."""
        return cls(name, split, [list(words) for words, _ in sentences], [list(tags) for _, tags in sentences])

    def __len__(self):
        return len(self.words)

    @property
    def num_tokens(self):
        return sum(len(w) for w in self.words)

    def tag_names(self):
        """The sorted tags that occur in these sentences."""
        return sorted({t for tags in self.tags for t in tags})

    def take(self, count):
        return TaggedSentences(self.name, self.split, self.words[:count], self.tags[:count])


def read_tagged_file(path):
    """All `(words, tags)` sentences of a CoNLL-U or `word/TAG` file, in file order."""
    path = Path(path)
    try:
        text = path.read_text("utf-8-sig")  # tolerates a byte-order mark
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None
    lines = text.splitlines()
    if any(len(line.split("\t")) == 10 for line in lines):
        sentences = _read_conllu(lines, path)
    else:
        sentences = [_read_slash_line(line, path, n) for n, line in enumerate(lines, 1) if line.strip()]
    if not sentences:
        raise ValueError(f"{path}: no tagged sentences; expected CoNLL-U or one `word/TAG ...` sentence per line")
    return sentences


def _read_conllu(lines, path):
    sentences, words, tags = [], [], []
    for n, line in enumerate(lines + [""], 1):
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
        elif not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) != 10:
                raise ValueError(f"{path}:{n}: expected 10 tab-separated CoNLL-U columns, got {len(fields)}")
            if fields[0].isdigit():
                words.append(fields[1])
                tags.append(fields[3])
    return sentences


def _read_slash_line(line, path, n):
    words, tags = [], []
    for token in line.split():
        word, slash, tag = token.rpartition("/")
        if not slash or not word or not tag:
            raise ValueError(f"{path}:{n}: token {token!r} is not `word/TAG`")
        words.append(word)
        tags.append(tag)
    return words, tags


def split_sentences(sentences, split):
    """The sentences of one split, by `split_of` over their order."""
    return [s for i, s in enumerate(sentences) if split_of(i) == split]


def as_dataset(data, tag_names, batch_size, shuffle=False, seed=0):
    """`({"tokens": [B, N] string}, tag ids [B, N], weights [B, N])` batches, "" / 0 padded.

    Sentences are bucketed by length so a batch is mostly real tokens. A tag
    outside `tag_names` (a tag absent from training) gets weight 0.
    """
    index = {t: i for i, t in enumerate(tag_names)}
    lengths = np.array([len(words) for words in data.words], np.int64)
    starts = np.cumsum(lengths) - lengths
    flat_tags = [t for tags in data.tags for t in tags]
    words = tf.constant([w for sentence in data.words for w in sentence], tf.string)
    ids = tf.constant([index.get(t, 0) for t in flat_tags], tf.int32)
    weights = tf.constant([float(t in index) for t in flat_tags], tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices((starts, lengths)).map(
        lambda start, length: tuple(x[start:start + length] for x in (words, ids, weights)),
        num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        dataset = dataset.shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.bucket_by_sequence_length(
        lambda words, _, __: tf.shape(words)[0],
        bucket_boundaries=list(BUCKET_BOUNDARIES),
        bucket_batch_sizes=[batch_size] * (len(BUCKET_BOUNDARIES) + 1),
        padding_values=("", 0, 0.0),
    )
    bucket_sizes = np.bincount(np.searchsorted(BUCKET_BOUNDARIES, lengths, side="right"))
    batches = int(np.sum(-(-bucket_sizes // batch_size)))  # every bucket's last batch may be partial
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.map(lambda words, ids, weights: ({"tokens": words}, ids, weights)).prefetch(tf.data.AUTOTUNE)
