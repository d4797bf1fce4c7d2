"""`AgreementClassifier`: many-to-one, the words before a verb → the number the verb must agree in."""

from __future__ import annotations

import collections
from collections.abc import Sequence

import keras
import tensorflow as tf

from zoo.agreement import signatures
from zoo.agreement.config import AgreementConfig
from zoo.base import Classification, ZooModel
from zoo.datasets.agreement import LABELS
from zoo.layers import MaskedMeanMaxPooling, make_rnn
from zoo.layers.contextual import ReadsThroughLanguageModel
from zoo.text import normalize

ENDING_LENGTH = 3  # letters of a word's ending that get an embedding of their own


def word_endings(tokens):
    """The last `ENDING_LENGTH` letters of each token's normalised form (the whole form if shorter).

    >>> [e.decode() for e in word_endings(tf.constant(["Books", "children", "is", "1961"])).numpy()]
    ['oks', 'ren', 'is', '000']
    """
    return tf.strings.regex_replace(normalize(tokens), f"^.*(.{{{ENDING_LENGTH}}})$", r"\1")


def build_vocabularies(prefixes, min_word_count=2, min_ending_count=3):
    """`(word_vocabulary, ending_vocabulary)`: the normalised forms and the endings of the words of `prefixes`
    (lists of tokens) that occur at least `min_word_count` and `min_ending_count` times, most frequent first.

    >>> build_vocabularies([["The", "books"], ["the", "cooks"]], min_word_count=2, min_ending_count=2)
    (['the'], ['the', 'oks'])
    """
    flat = tf.constant([w for prefix in prefixes for w in prefix], tf.string)
    vocabularies = []
    for form, min_count in ((normalize, min_word_count), (word_endings, min_ending_count)):
        counts = collections.Counter(f.decode("utf-8") for f in form(flat).numpy())
        vocabularies.append([f for f, n in counts.most_common() if n >= min_count])
    return tuple(vocabularies)


@keras.saving.register_keras_serializable(package="zoo")
class AgreementClassifier(ReadsThroughLanguageModel, ZooModel):
    """Predicts whether the next verb is singular or plural from the words before it.

    "The book that I got yesterday ___" needs `is`; "The books read by the
    second-grade children ___" needs `are`: the network must carry the
    subject's number past every word in between. A word's vector is the sum
    of two embeddings: one of its normalised form (lower-case, digits as
    `0`; unknown words share one entry) and one of its last three letters,
    which carries number to rare and unseen nouns (`-oks`, `-ies`, but also
    `-ren`, `-ple`), much as Linzen et al. gave their model the part-of-speech
    tags of rare words. A recurrent network reads the words in order and the
    number is read from its last state (`softmax(h_T W_hy)`). The `"dense"`
    encoder has no recurrence (a per-word MLP, then mean and max over the
    words): the bag-of-words baseline, which cannot tell which noun came
    first. Tokenisation (`zoo.text`, Brown conventions) and the
    lookups are inside the graph, so raw text goes in everywhere.

    With `language_model` (`with_language_model`), each word also gets what a
    pretrained language model's readers make of it in the words given
    (ELMo's layers, mixed by learned weights): a model of English that has
    seen far more subjects and verbs than Brown's labelled ones.

    Args:
        word_vocabulary: normalised words with their own embedding.
        ending_vocabulary: word endings (`word_endings`) with their own
            embedding; the others share one.
        language_model: the config of a `BidirectionalLanguageReader` whose
            layers join each word's vector; `None` for none.
        **kwargs: the hyperparameters, any field of `AgreementConfig` (`cell`,
            `hidden`, `word_dim`, ...: each its default unless given), and
            Keras' `name`.

    Example:

    >>> model = AgreementClassifier(["the", "book", "books"], ["the", "ook", "oks"], hidden=4)
    >>> result = model.predict_number(["The book that I got yesterday", "The books"])
    >>> result.labels[0] in ("singular", "plural"), result.scores.shape
    (True, (2, 2))
    """

    TASK = "number-agreement"
    INPUT_KIND = "text"
    CONFIG = AgreementConfig

    def __init__(self, word_vocabulary, ending_vocabulary, language_model=None, **kwargs):
        config, kwargs = self.CONFIG.take(kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.word_vocabulary = [str(w) for w in word_vocabulary]
        self.ending_vocabulary = [str(e) for e in ending_vocabulary]
        self.label_names = list(LABELS)
        self.cell, self.hidden, self.bidirectional = config.cell, config.hidden, config.bidirectional
        self.num_layers, self.recurrent_initializer = config.num_layers, config.recurrent_initializer
        self.word_dim, self.dropout_rate, self.word_dropout_rate = config.word_dim, config.dropout, config.word_dropout
        self.max_tokens, self.seed = config.max_tokens, config.seed
        self.language_model = language_model
        self.fine_tune_language_model = config.fine_tune_language_model
        self._make_layers()
        self.build_for_inference()

    def _make_layers(self):
        """The lookups and embeddings, the language model's reader if any, the encoder and the output layer."""
        self.word_lookup = keras.layers.StringLookup(vocabulary=self.word_vocabulary, mask_token="", name="words")
        self.word_embedding = keras.layers.Embedding(self.word_lookup.vocabulary_size(), self.word_dim,
                                                     name="word_embedding")
        self.ending_lookup = keras.layers.StringLookup(vocabulary=self.ending_vocabulary, mask_token="",
                                                       name="endings")
        self.ending_embedding = keras.layers.Embedding(self.ending_lookup.vocabulary_size(), self.word_dim,
                                                       name="ending_embedding")
        self.token_dropout = keras.layers.Dropout(self.dropout_rate, name="token_dropout")
        self._make_language_model_layers()
        if self.cell == "dense":
            self.step_mlp = keras.Sequential(
                [keras.layers.Dense(self.hidden, activation="relu") for _ in range(2)], name="step_mlp")
            self.encoder = [MaskedMeanMaxPooling()]
        else:
            self.step_mlp = None
            self.encoder = [
                make_rnn(self.cell, self.hidden, bidirectional=self.bidirectional,
                         return_sequences=i < self.num_layers - 1, recurrent_initializer=self.recurrent_initializer,
                         name=f"rnn_{i + 1}")
                for i in range(self.num_layers)
            ]
        self.output_dropout = keras.layers.Dropout(self.dropout_rate, name="output_dropout")
        self.head = keras.layers.Dense(len(self.label_names), activation="softmax", name="W_hy")
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def embed(self, tokens, training=False):
        """The word vectors `[B, N, word_dim (+ projection)]` the encoder reads, for tokens `[B, N]` (`""` padded)."""
        word_ids = self.word_lookup(normalize(tokens))
        if training and self.word_dropout_rate > 0:
            dropped = keras.random.uniform(tf.shape(word_ids), seed=self.seed_generator) < self.word_dropout_rate
            word_ids = tf.where(dropped & (word_ids > 1), tf.ones_like(word_ids), word_ids)  # 1: out of vocabulary
        x = self.word_embedding(word_ids) + self.ending_embedding(self.ending_lookup(word_endings(tokens)))
        x = tf.concat([x, *self.read_in_context(tokens, training)], axis=-1)
        return self.token_dropout(x, training=training)

    def call(self, inputs, training=False):
        """Number probabilities `[B, 2]` (`label_names` order) for `{"tokens": string [B, N]}`, `""` padded."""
        tokens = inputs["tokens"] if isinstance(inputs, dict) else inputs
        mask = tokens != ""
        x = self.embed(tokens, training)
        if self.step_mlp is not None:
            x = self.step_mlp(x)
        for layer in self.encoder:
            x = layer(x, mask=mask, training=training)
        return self.head(self.output_dropout(x, training=training))

    def build_for_inference(self):
        self({"tokens": tf.constant([["a", ""]])})

    def get_config(self):
        return {
            **super().get_config(),
            "word_vocabulary": self.word_vocabulary,
            "ending_vocabulary": self.ending_vocabulary,
            "language_model": self.language_model,
            **self.config.as_dict(),
        }

    def serving_signatures(self):
        return signatures.signatures(self)

    def example_requests(self):
        return signatures.example_requests(self)

    def predict_number(self, sentences: str | Sequence[str]) -> Classification:
        """Singular or plural, for the verb that would come next after each raw text.

        Args:
            sentences: a list of strings (or UTF-8 bytes), each the words
                before a verb ("The books read by the second-grade children");
                a single string is one input.

        Returns:
            `Classification(labels, scores)`: `labels` a list of `"singular"`
            or `"plural"`, `scores` a float32 array `[B, 2]` of their
            probabilities, in `label_names` order.

        Raises:
            ValueError: naming the input that is empty, not text, not UTF-8 or
                longer than `max_tokens`.
        """
        return signatures.predict_sentences(self, sentences)

    def predict_tokens(self, prefixes: Sequence[Sequence[str]]) -> Classification:
        """`predict_number` for inputs already tokenised (lists of token strings)."""
        return signatures.predict_token_lists(self, prefixes)

    def predict_text(self, text):
        result = self.predict_number(text.splitlines() or [""])
        return "\n".join(f"{label:<8} {max(scores):.3f}  {line}"
                         for line, label, scores in zip(text.splitlines(), result.labels, result.scores))

    def predict_records(self, inputs):
        result = self.predict_number(inputs)
        return [{"sentence": s, "number": label, "scores": {n: round(float(p), 6) for n, p in zip(self.label_names, row)}}
                for s, label, row in zip(inputs, result.labels, result.scores)]

    def evaluate_split(self, split="test"):
        """The card's test metrics recomputed: an `AgreementEvaluation` of a split of the agreement examples."""
        from zoo.agreement import evaluation

        return evaluation.evaluate_split(self, split)

    def demo(self):
        from zoo.agreement import demo

        return demo.demo_lines(self)
