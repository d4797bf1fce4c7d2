"""A word's vector from its characters: convolutions of several widths, max-pooled, and a highway layer."""

import keras
import tensorflow as tf

WORD_START, WORD_END = "\x02", "\x03"  # marks around a word's characters, so a suffix differs from a middle


@keras.saving.register_keras_serializable(package="zoo")
class CharacterWordEncoder(keras.layers.Layer):
    """Encodes words as written, from their characters (Kim et al., 2016; the input of ELMo).

    Every word, seen in training or not, gets a vector: the characters (with
    start and end marks) are embedded, convolved with filters of several
    widths (a width-3 filter sees "ing" + end), max-pooled over the word, and
    passed through a highway layer (`y = t * relu(W x) + (1 - t) * x`) and a
    projection. Each distinct word of a batch is encoded once.

    Args:
        char_vocabulary: characters with their own embedding; the others share one.
        char_dim: character embedding size.
        filters: `(width, count)` pairs of the convolutions.
        output_dim: size of the word vectors.
        max_chars: characters read per word; a longer one is read as its
            first and last `max_chars // 2`.

    Example:

    >>> import numpy as np
    >>> encoder = CharacterWordEncoder(list("abc"), filters=((1, 4), (2, 4)), output_dim=6)
    >>> tuple(encoder(tf.constant([["ab", "cab", ""]])).shape)
    (1, 3, 6)
    """

    def __init__(self, char_vocabulary, char_dim=16, filters=((1, 32), (2, 32), (3, 64), (4, 128), (5, 256)),
                 output_dim=256, max_chars=20, **kwargs):
        super().__init__(**kwargs)
        self.char_vocabulary = [str(c) for c in char_vocabulary]
        self.char_dim = int(char_dim)
        self.filters = [(int(w), int(n)) for w, n in filters]
        self.output_dim = int(output_dim)
        self.max_chars = int(max_chars)
        self.char_lookup = keras.layers.StringLookup(vocabulary=[*self.char_vocabulary, WORD_START, WORD_END],
                                                     mask_token="", name="chars")
        self.char_embedding = keras.layers.Embedding(self.char_lookup.vocabulary_size(), self.char_dim,
                                                     name="char_embedding")
        self.convolutions = [keras.layers.Conv1D(n, w, padding="same", activation="relu", name=f"conv_{w}")
                             for w, n in self.filters]
        width = sum(n for _, n in self.filters)
        self.highway_transform = keras.layers.Dense(width, activation="relu", name="highway_transform")
        self.highway_gate = keras.layers.Dense(width, activation="sigmoid", name="highway_gate",
                                               bias_initializer=keras.initializers.Constant(-2.0))  # carry at first
        self.projection = keras.layers.Dense(self.output_dim, name="projection")

    def build(self, input_shape=None):
        self.encode_words(tf.constant(["a"]))

    def call(self, tokens):
        """Tokens `string [...]` → `[..., output_dim]`; `""` (padding) gives zeros."""
        distinct, position = tf.unique(tf.reshape(tokens, [-1]))
        encoded = tf.cond(tf.size(distinct) > 0,  # a batch of no tokens: oneDNN's convolutions break on it
                          lambda: tf.where((distinct != "")[:, None], self.encode_words(distinct), 0.0),
                          lambda: tf.zeros([0, self.output_dim]))
        return tf.reshape(tf.gather(encoded, position), tf.concat([tf.shape(tokens), [self.output_dim]], axis=0))

    def encode_words(self, words):
        """`[U, output_dim]` for a vector of U words."""
        half = self.max_chars // 2
        length = tf.strings.length(words, unit="UTF8_CHAR")
        ends = tf.strings.substr(words, 0, half, unit="UTF8_CHAR") + tf.strings.substr(
            words, tf.maximum(length - half, 0), tf.fill(tf.shape(length), half), unit="UTF8_CHAR")
        chars = tf.strings.unicode_split(tf.where(length > self.max_chars, ends, words), "UTF-8")
        count = tf.size(words)
        chars = tf.concat([tf.fill([count, 1], WORD_START), chars, tf.fill([count, 1], WORD_END)], axis=1)
        char_ids = self.char_lookup(chars.to_tensor("", shape=tf.stack([count, self.max_chars + 2])))
        x = self.char_embedding(char_ids)
        real = (char_ids > 0)[..., None]
        pooled = tf.concat([tf.reduce_max(tf.where(real, conv(x), 0.0), axis=1) for conv in self.convolutions],
                           axis=-1)  # ReLU outputs are >= 0: padding never wins the max
        gate = self.highway_gate(pooled)
        return self.projection(gate * self.highway_transform(pooled) + (1.0 - gate) * pooled)

    def get_config(self):
        return {**super().get_config(), "char_vocabulary": self.char_vocabulary, "char_dim": self.char_dim,
                "filters": self.filters, "output_dim": self.output_dim, "max_chars": self.max_chars}
