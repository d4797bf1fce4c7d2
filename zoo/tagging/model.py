"""`SequenceTagger`: many-to-many aligned, one tag for every token of a raw sentence."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from zoo.base import ZooModel
from zoo.layers import make_rnn, read_both_ways
from zoo.layers.contextual import ReadsThroughLanguageModel
from zoo.tagging import signatures
from zoo.tagging.config import TaggerConfig
from zoo.text import normalize

WORD_START, WORD_END = "\x02", "\x03"  # boundary marks around a word's characters


@keras.saving.register_keras_serializable(package="zoo")
class SequenceTagger(ReadsThroughLanguageModel, ZooModel):
    """Tags every token of a sentence (part of speech, or any aligned label set).

    Each token becomes a vector from two sources: a word embedding looked up
    by its normalised form (lower-case, digits as `0`; unknown words share
    one out-of-vocabulary vector) and a character encoder (a convolution over
    the token's characters as written, max-pooled), which gives unseen words
    sensible tags from their spelling (`-ly`, `-ed`, capitals, digits). A
    recurrent network reads the token vectors in both directions, so the tag
    of "book" can depend on the "is"/"are" that follows; a softmax per step
    gives the tag. Tokenisation (`zoo.text`) and both lookups are
    inside the graph, so raw sentences go in everywhere, TF Serving included.

    With `language_model`, each token also gets what a pretrained language
    model's two readers make of it in its sentence (ELMo's three layers,
    mixed by learned weights): a `BidirectionalLanguageReader` inside the
    tagger, built from `language_model` (its config) and loaded with the
    language model's weights by `with_language_model`.

    Args:
        tag_names: the label of each output unit.
        word_vocabulary: normalised words with their own embedding.
        char_vocabulary: characters with their own embedding.
        language_model: the config of a `BidirectionalLanguageReader` whose
            layers join each token's vector; `None` for none.
        **kwargs: the hyperparameters, any field of `TaggerConfig` (`cell`,
            `hidden`, `char_filters`, ...: each its default unless given), and
            Keras' `name`.

    Example:

    >>> tagger = SequenceTagger(["DET", "NOUN", "VERB", "."], ["the", "book", "is"], list("thebokis."), hidden=8)
    >>> [token for token, tag in tagger.tag(["The book is here."])[0]]
    ['The', 'book', 'is', 'here', '.']

    On a language model (its reader's weights copied, frozen):

    >>> import numpy as np
    >>> from zoo.language_model import LanguageModel
    >>> lm = LanguageModel(["the", "book"], list("thebok"), hidden=8, projection=4)
    >>> tagger = SequenceTagger.with_language_model(lm, tag_names=["DET", "NOUN"], word_vocabulary=["the"],
    ...                                             char_vocabulary=list("the"), hidden=4)
    >>> all(np.array_equal(a, b) for a, b in zip(tagger.reader.get_weights(), lm.reader.get_weights()))
    True
    >>> tagger.reader.trainable, len(tagger.tag(["the book"])[0])
    (False, 2)
    """

    TASK = "pos-tagging"
    INPUT_KIND = "text"
    CONFIG = TaggerConfig

    def __init__(self, tag_names, word_vocabulary, char_vocabulary, language_model=None, **kwargs):
        config, kwargs = self.CONFIG.take(kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.tag_names = [str(t) for t in tag_names]
        self.word_vocabulary = [str(w) for w in word_vocabulary]
        self.char_vocabulary = [str(c) for c in char_vocabulary]
        self.cell, self.hidden, self.bidirectional = config.cell, config.hidden, config.bidirectional
        self.num_layers, self.recurrent_initializer = config.num_layers, config.recurrent_initializer
        self.word_dim, self.char_dim, self.char_filters = config.word_dim, config.char_dim, config.char_filters
        self.char_width, self.max_chars, self.char_boundaries = config.char_width, config.max_chars, config.char_boundaries
        if self.char_boundaries:
            self.char_vocabulary += [m for m in (WORD_START, WORD_END) if m not in self.char_vocabulary]
        self.dropout_rate, self.word_dropout_rate = config.dropout, config.word_dropout
        self.max_tokens, self.seed = config.max_tokens, config.seed
        self.language_model = language_model
        self.fine_tune_language_model = config.fine_tune_language_model
        self._make_layers()
        self.build_for_inference()

    def _make_layers(self):
        """The lookups, the embeddings, the character encoder, the recurrent layers and the output layer."""
        self.word_lookup = keras.layers.StringLookup(vocabulary=self.word_vocabulary, mask_token="", name="words")
        self.char_lookup = keras.layers.StringLookup(vocabulary=self.char_vocabulary, mask_token="", name="chars")
        self.word_embedding = keras.layers.Embedding(self.word_lookup.vocabulary_size(), self.word_dim,
                                                     name="word_embedding")
        self.char_embedding = keras.layers.Embedding(self.char_lookup.vocabulary_size(), self.char_dim,
                                                     name="char_embedding")
        self.char_conv = keras.layers.Conv1D(self.char_filters, self.char_width, padding="same",
                                             activation="relu", name="char_conv")
        self.token_dropout = keras.layers.Dropout(self.dropout_rate, name="token_dropout")
        width = self.word_dim + self.char_filters + self._make_language_model_layers()
        self.rnns = [
            make_rnn(self.cell, self.hidden, bidirectional=self.bidirectional, return_sequences=True,
                     recurrent_initializer=self.recurrent_initializer, name=f"rnn_{i + 1}")
            for i in range(self.num_layers)
        ]
        for rnn in self.rnns:  # built here: `call` runs a bidirectional wrapper's two readers directly
            rnn.build((None, None, width))
            width = self.hidden * (2 if self.bidirectional else 1)
        self.output_dropout = keras.layers.Dropout(self.dropout_rate, name="output_dropout")
        self.head = keras.layers.Dense(len(self.tag_names), activation="softmax", name="W_hy")
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs, training=False):
        """Tag probabilities `[B, N, K]` for `{"tokens": string [B, N]}`, `""` padded."""
        tokens = inputs["tokens"] if isinstance(inputs, dict) else inputs
        mask = tokens != ""
        word_ids = self.word_lookup(normalize(tokens))
        if training and self.word_dropout_rate > 0:
            dropped = keras.random.uniform(tf.shape(word_ids), seed=self.seed_generator) < self.word_dropout_rate
            word_ids = tf.where(dropped & (word_ids > 1), tf.ones_like(word_ids), word_ids)  # 1: out of vocabulary
        x = tf.concat([self.word_embedding(word_ids), self._encode_chars(tokens),
                       *self.read_in_context(tokens, training)], axis=-1)
        x = self.token_dropout(x, training=training)
        positions = tf.range(1, tf.shape(tokens)[1] + 1)
        lengths = tf.reduce_max(tf.where(mask, positions, 0), axis=1)  # up to the last real token
        x = self._read_both_ways(x, lengths, training)
        return self.head(self.output_dropout(x, training=training))

    def _read_both_ways(self, x, lengths, training):
        for rnn in self.rnns:
            x = read_both_ways(rnn, x, lengths, training) if self.bidirectional else rnn(x, training=training)
        return x

    def _encode_chars(self, tokens):
        """`[B, N, char_filters]`: max over a convolution of each token's characters.

        Each distinct token of the batch is encoded once (a batch of text
        repeats its words), then copied to its positions.
        """
        distinct, position = tf.unique(tf.reshape(tokens, [-1]))
        encoded = tf.gather(self._encode_words(distinct), position)
        return tf.reshape(encoded, tf.concat([tf.shape(tokens), [self.char_filters]], axis=0))

    def _encode_words(self, words):
        """`[U, char_filters]` for a vector of U words."""
        half = self.max_chars // 2
        length = tf.strings.length(words, unit="UTF8_CHAR")
        ends = tf.strings.substr(words, 0, half, unit="UTF8_CHAR") + tf.strings.substr(
            words, tf.maximum(length - half, 0), tf.fill(tf.shape(length), half), unit="UTF8_CHAR")
        chars = tf.strings.unicode_split(tf.where(length > self.max_chars, ends, words), "UTF-8")
        width = self.max_chars
        if self.char_boundaries:  # lets the convolution tell a suffix ("ed" + end) from the same letters inside
            count = tf.size(words)
            chars = tf.concat([tf.fill([count, 1], WORD_START), chars, tf.fill([count, 1], WORD_END)], axis=1)
            width += 2
        chars = chars.to_tensor("", shape=tf.stack([tf.size(words), width]))
        char_ids = self.char_lookup(chars)
        h = self.char_conv(self.char_embedding(char_ids))
        h = tf.where((char_ids > 0)[..., None], h, 0.0)  # ReLU outputs are >= 0: padding never wins the max
        return tf.reduce_max(h, axis=1)

    def build_for_inference(self):
        self({"tokens": tf.constant([["a", ""]])})

    def get_config(self):
        return {
            **super().get_config(),
            "tag_names": self.tag_names,
            "word_vocabulary": self.word_vocabulary,
            "char_vocabulary": self.char_vocabulary,
            "language_model": self.language_model,
            **self.config.as_dict(),
        }

    def tag(self, sentences: str | Sequence[str], scores: bool = False) -> list[list[tuple]]:
        """Tokenises raw sentences and tags every token.

        Args:
            sentences: a list of strings (or UTF-8 bytes); a single string is
                one sentence. An empty or whitespace-only sentence gives `[]`.
            scores: also return each tag's probability.

        Returns:
            One list per sentence of `(token, tag)` pairs, or
            `(token, tag, probability)` triples with `scores=True`.

        Raises:
            ValueError: naming the sentence that is not text, not UTF-8 or
                longer than `max_tokens`.
        """
        return signatures.tag_sentences(self, sentences, scores)

    def tag_tokens(self, sentences: Sequence[Sequence[str]], scores: bool = False) -> list[list[tuple]]:
        """Tags sentences that are already tokenised (lists of token strings)."""
        return signatures.tag_token_lists(self, sentences, scores)

    def predict_text(self, text):
        return "\n".join(" ".join(f"{token}/{tag}" for token, tag in sentence)
                         for sentence in self.tag(text.splitlines() or [""]))

    def predict_records(self, inputs):
        return [{"sentence": sentence, "tokens": [t for t, _, _ in tagged], "tags": [tag for _, tag, _ in tagged],
                 "scores": [round(float(p), 6) for _, _, p in tagged]}
                for sentence, tagged in zip(inputs, self.tag(inputs, scores=True))]

    def serving_signatures(self):
        return signatures.signatures(self)

    def example_requests(self):
        return signatures.example_requests(self)

    def evaluate_split(self, split="test"):
        """The card's test metrics recomputed: a `TaggingEvaluation` of a split of the card's dataset."""
        from zoo.tagging import evaluation

        return evaluation.evaluate_split(self, split)

    def demo(self):
        from zoo.tagging import demo

        return demo.demo_lines(self)
