"""A language model's reading of a sentence, without its softmax: what the taggers and the agreement model
build on (ELMo's contextual word vectors)."""

import keras
import tensorflow as tf

from zoo.layers.characters import CharacterWordEncoder
from zoo.layers.recurrent import ProjectedLSTMCell

BOS, EOS = "<s>", "</s>"  # what each direction reads first
LAYERS_PER_TOKEN = 3  # ELMo's: the word's character vector, the forward state, the backward state


@keras.saving.register_keras_serializable(package="zoo")
class BidirectionalLanguageReader(keras.layers.Layer):
    """Two projected LSTMs (`ProjectedLSTMCell`) reading a sentence's words, one forwards and one backwards,
    over character-CNN word vectors.

    The forward reader reads `<s> w1 ... wT`, the backward one `</s> wT ...
    w1`; each state, projected, is what its `LanguageModel` predicts the next
    word from. Trained that way on raw text, the states carry what a word
    means in its sentence, so other models take them as input
    (`layers_per_token`: the three layers of ELMo, Peters et al., 2018).

    Args:
        char_vocabulary: characters of the word encoder.
        hidden: LSTM memory size of each direction.
        projection: size of the word vectors and of each direction's output (its projected state).
        dropout: dropout on word vectors and states while training.

    Example:

    >>> reader = BidirectionalLanguageReader(list("abc"), hidden=8, projection=4)
    >>> tuple(reader.layers_per_token(tf.constant([["ab", "c", ""]])).shape)
    (1, 3, 3, 4)
    """

    def __init__(self, char_vocabulary, hidden=512, projection=128, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.char_vocabulary = [str(c) for c in char_vocabulary]
        self.hidden, self.projection_dim, self.dropout_rate = int(hidden), int(projection), float(dropout)
        self.word_encoder = CharacterWordEncoder(self.char_vocabulary, output_dim=self.projection_dim,
                                                 name="word_encoder")
        self.dropout = keras.layers.Dropout(self.dropout_rate, name="dropout")
        self.readers = {
            direction: keras.layers.RNN(ProjectedLSTMCell(self.hidden, self.projection_dim), return_sequences=True,
                                        name=f"{direction}_lstm")
            for direction in ("forward", "backward")}

    def build(self, input_shape=None):
        self.call(tf.constant([["a", ""]]))  # creates every sublayer's weights

    def call(self, tokens, training=False):
        """`{"forward", "backward"}`: each reader's states `[B, T + 1, projection]` for tokens `string [B, T]`
        (`""` padded), in its reading order, the first after reading its start mark."""
        _, _, states = self._read_both_ways(tokens, training)
        return states

    def _read_both_ways(self, tokens, training):
        """The tokens' character vectors `[B, T, projection]` (each distinct word encoded once, for both
        readers), the sentence lengths `[B]` and `call`'s states."""
        vectors = self.word_encoder(tokens)
        lengths = tf.reduce_sum(tf.cast(tokens != "", tf.int32), axis=1)
        marks = self.word_encoder(tf.constant([BOS, EOS]))
        mask = tf.sequence_mask(lengths + 1, tf.shape(tokens)[1] + 1)
        states = {}
        for direction, mark in zip(("forward", "backward"), tf.unstack(marks)):
            ordered = vectors if direction == "forward" else tf.reverse_sequence(vectors, lengths, 1, batch_axis=0)
            start = tf.broadcast_to(mark, [tf.shape(tokens)[0], 1, self.projection_dim])
            x = self.dropout(tf.concat([start, ordered], axis=1), training=training)
            states[direction] = self.dropout(self.readers[direction](x, mask=mask, training=training),
                                             training=training)
        return vectors, lengths, states

    def layers_per_token(self, tokens, training=False):
        """ELMo's three layers for each token, `[B, T, 3, projection]`: its character vector, the forward
        state after reading it, and the backward state after reading it from the sentence's end."""
        vectors, lengths, states = self._read_both_ways(tokens, training)
        backward = tf.reverse_sequence(states["backward"][:, 1:], lengths, seq_axis=1, batch_axis=0)
        return tf.stack([vectors, states["forward"][:, 1:], backward], axis=2)

    def get_config(self):
        return {**super().get_config(), "char_vocabulary": self.char_vocabulary, "hidden": self.hidden,
                "projection": self.projection_dim, "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable(package="zoo")
class ScalarMix(keras.layers.Layer):
    """ELMo's task-specific mix of a reader's layers: `gamma * sum_j softmax(s)_j * layer_j`, `s` and `gamma`
    learned with the task.

    >>> mix = ScalarMix()
    >>> tuple(mix(tf.ones([2, 5, 3, 4])).shape)
    (2, 5, 4)
    """

    def build(self, input_shape):
        self.scalars = self.add_weight(shape=(input_shape[-2],), initializer="zeros", name="scalars")
        self.gamma = self.add_weight(shape=(), initializer="ones", name="gamma")

    def call(self, layers):
        """`[..., L, D]` → `[..., D]`."""
        weights = tf.nn.softmax(self.scalars)
        return self.gamma * tf.reduce_sum(layers * weights[:, None], axis=-2)


class ReadsThroughLanguageModel:
    """For a model whose tokens can also be read by a pretrained language model (a mixin of `ZooModel`s).

    The model sets `language_model` (a `BidirectionalLanguageReader`
    config, or `None`) and `fine_tune_language_model`, calls
    `_make_language_model_layers()` among its layers and adds
    `read_in_context(tokens)` to its token vectors; `with_language_model`
    builds one on a `LanguageModel`, whose weights it copies.
    """

    def _make_language_model_layers(self):
        """The reader and its mix, when there is a language model; returns the width they add."""
        if self.language_model is None:
            return 0
        self.reader = BidirectionalLanguageReader.from_config(self.language_model)
        self.reader.build()
        self.reader.trainable = self.fine_tune_language_model
        self.mix = ScalarMix(name="language_model_mix")
        self.mix.build((None, None, LAYERS_PER_TOKEN, self.reader.projection_dim))
        return self.reader.projection_dim

    def read_in_context(self, tokens, training=False):
        """`[]`, or with a language model `[the learned mix of its layers, [B, N, projection]]`; a frozen
        reader reads without dropout."""
        if self.language_model is None:
            return []
        layers = self.reader.layers_per_token(tokens, training=training and self.fine_tune_language_model)
        return [self.mix(layers)]

    @classmethod
    def with_language_model(cls, language_model, fine_tune=False, **kwargs):
        """The model reading tokens also through a pretrained `LanguageModel`'s reader (its weights copied,
        its softmax left behind), kept frozen unless `fine_tune`."""
        model = cls(language_model=language_model.reader.get_config(), **{**kwargs, "fine_tune_language_model": fine_tune})
        model.reader.set_weights(language_model.reader.get_weights())
        return model
