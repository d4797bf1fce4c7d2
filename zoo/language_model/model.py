"""`LanguageModel`: next-step prediction both ways over words read from their characters (ELMo-style)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from zoo.base import ZooModel
from zoo.language_model import signatures
from zoo.language_model.config import LanguageModelConfig
from zoo.layers.contextual import BOS, EOS, BidirectionalLanguageReader
from zoo.layers.output import similarity_logits
from zoo.text import normalize

SCORE_CHUNK = 512  # predicted positions whose full softmax is computed at once


@keras.saving.register_keras_serializable(package="zoo")
class LanguageModel(ZooModel):
    """Predicts every word of a sentence from the words before it, and (a second network) from those after.

    The seed's next-step picture: an LSTM reads `<s> w1 ... wT` and at
    every step gives a distribution over the next word (`w1 ... wT </s>`);
    a second LSTM reads the sentence backwards. Words come in through their
    characters (`zoo.layers.CharacterWordEncoder`), so an unseen word still
    has a vector; the predictions are over a vocabulary of normalised words
    (`zoo.text.normalize`: lower case, digits as 0), the rest
    `<unk>`. Both directions share the word encoder and the output layer.

    Training samples the softmax (Jean et al., 2015): each step scores the
    right word against `sampled` words drawn by frequency, not the whole
    vocabulary; evaluation and the signatures use the full softmax.

    The reading without the softmax is a layer of its own (`reader`, a
    `zoo.layers.contextual.BidirectionalLanguageReader`), which the taggers
    and the agreement model take over with its weights; `contextual` gives
    its three layers per token (ELMo's).

    Args:
        vocabulary: normalised words it predicts, most frequent first.
        char_vocabulary: characters of the word encoder.
        **kwargs: the hyperparameters, any field of `LanguageModelConfig`
            (`hidden`, `projection`, `dropout`, `sampled`, `max_tokens`: each
            its default unless given), and Keras' `name`.
    """

    TASK = "language-model"
    INPUT_KIND = "text"
    CONFIG = LanguageModelConfig

    def __init__(self, vocabulary, char_vocabulary, **kwargs):
        config, kwargs = self.CONFIG.take(kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.vocabulary = [str(w) for w in vocabulary]
        self.char_vocabulary = [str(c) for c in char_vocabulary]
        self.hidden, self.projection_dim = config.hidden, config.projection
        self.dropout_rate, self.sampled, self.max_tokens = config.dropout, config.sampled, config.max_tokens
        self._make_layers()
        self.build_for_inference()

    def _make_layers(self):
        self.word_lookup = keras.layers.StringLookup(vocabulary=[BOS, EOS, *self.vocabulary], mask_token="",
                                                     name="words")  # 0 padding, 1 <unk>, 2 <s>, 3 </s>
        self.size = self.word_lookup.vocabulary_size()
        self.reader = BidirectionalLanguageReader(self.char_vocabulary, hidden=self.hidden,
                                                  projection=self.projection_dim, dropout=self.dropout_rate,
                                                  name="reader")
        self.softmax_weights = self.add_weight(shape=(self.size, self.projection_dim), name="softmax_weights",
                                               initializer=keras.initializers.RandomNormal(stddev=0.05))
        self.softmax_bias = self.add_weight(shape=(self.size,), initializer="zeros", name="softmax_bias")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "backward_loss")}

    def word_ids(self, tokens):
        """Output ids of tokens as written (`""` → 0)."""
        return tf.cast(self.word_lookup(normalize(tokens)), tf.int32)

    def call(self, tokens, training=False):
        """`{"forward", "backward"}`: each reader's states `[B, T + 1, projection]` for tokens `string [B, T]`."""
        return self.reader(tokens, training=training)

    def targets(self, tokens):
        """What each reader predicts at each of its `T + 1` steps: `w1 ... wT </s>` and `wT ... w1 <s>` ids."""
        lengths = tf.reduce_sum(tf.cast(tokens != "", tf.int32), axis=1)
        ids = tf.pad(self.word_ids(tokens), [[0, 0], [0, 1]])
        ends = tf.one_hot(lengths, tf.shape(ids)[1], on_value=3, off_value=0, dtype=tf.int32)  # </s> after wT
        backward = tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0)
        starts = tf.one_hot(lengths, tf.shape(ids)[1], on_value=2, off_value=0, dtype=tf.int32)  # <s> before w1
        return {"forward": ids + ends, "backward": backward + starts}

    def log_probabilities(self, states):
        """Full-softmax log-probabilities `[..., V]` of the next word from states `[..., projection]`."""
        return tf.nn.log_softmax(similarity_logits(states, tf.transpose(self.softmax_weights), self.softmax_bias))

    def target_log_probabilities(self, states, targets):
        """Full-softmax log-probabilities `[N]` of target ids `[N]` from states `[N, projection]`, the softmax
        of `SCORE_CHUNK` positions at a time: memory stays at `SCORE_CHUNK x V` floats however long the text
        (all of it at once would be an `[N, V]` matrix, gigabytes for a few long texts)."""
        count = tf.shape(targets)[0]
        padding = (SCORE_CHUNK - count % SCORE_CHUNK) % SCORE_CHUNK
        states = tf.reshape(tf.pad(states, [[0, padding], [0, 0]]), [-1, SCORE_CHUNK, self.projection_dim])
        targets = tf.reshape(tf.pad(targets, [[0, padding]]), [-1, SCORE_CHUNK])
        weights = tf.transpose(self.softmax_weights)

        def chunk(pair):
            logits = similarity_logits(pair[0], weights, self.softmax_bias)
            return tf.gather(logits, pair[1], batch_dims=1) - tf.reduce_logsumexp(logits, axis=-1)

        picked = tf.map_fn(chunk, (states, targets), fn_output_signature=tf.float32, parallel_iterations=1)
        return tf.reshape(picked, [-1])[:count]

    def sampled_loss(self, tokens, training=True):
        """Mean sampled-softmax loss per predicted word over both directions (training)."""
        states, targets = self(tokens, training=training), self.targets(tokens)
        losses = []
        for direction in ("forward", "backward"):
            keep = targets[direction] > 0
            losses.append(tf.nn.sampled_softmax_loss(
                self.softmax_weights, self.softmax_bias, tf.cast(targets[direction][keep], tf.int64)[:, None],
                states[direction][keep], num_sampled=min(self.sampled, self.size - 1), num_classes=self.size))
        return tf.reduce_mean(tf.concat(losses, axis=0))

    def full_loss(self, tokens):
        """Mean negative log-probability per predicted word (full softmax), each direction: `{direction: loss}`."""
        states, targets = self(tokens), self.targets(tokens)
        losses = {}
        for direction in ("forward", "backward"):
            keep = targets[direction] > 0
            losses[direction] = -tf.reduce_mean(
                self.target_log_probabilities(states[direction][keep], targets[direction][keep]))
        return losses

    def take_weights(self, other):
        """Starts from another `LanguageModel`'s weights, to go on training it on new text (ULMFiT's
        continued pre-training): every reader weight, and the rows of the characters and words both know.

        A character or word new to `other` keeps its initialisation; a new word's bias starts at the lowest of
        `other`'s, as rare as the rarest word it knew. Both need the same `hidden` and `projection`.

        >>> old = LanguageModel(["the", "keys"], list("thekys"), hidden=8, projection=8)
        >>> new = LanguageModel(["the", "keys", "files"], list("thekysfil"), hidden=8, projection=8)
        >>> new.take_weights(old)
        >>> bool(np.allclose(new.softmax_weights[4], old.softmax_weights[4]))   # "the"
        True
        """
        mine, theirs = self.reader.word_encoder, other.reader.word_encoder
        for weight, source in zip(self.reader.weights, other.reader.weights):
            if weight is not mine.char_embedding.embeddings:
                weight.assign(source)
        _copy_rows(mine.char_embedding.embeddings, mine.char_lookup, theirs.char_embedding.embeddings,
                   theirs.char_lookup)
        self.softmax_bias.assign(tf.fill([self.size], tf.reduce_min(other.softmax_bias)))
        for weight, source in ((self.softmax_weights, other.softmax_weights), (self.softmax_bias, other.softmax_bias)):
            _copy_rows(weight, self.word_lookup, source, other.word_lookup)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def train_step(self, tokens):
        with tf.GradientTape() as tape:
            loss = self.sampled_loss(tokens)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.trackers["loss"].update_state(loss)
        return {"loss": self.trackers["loss"].result()}

    def test_step(self, tokens):
        """Validation: the full-softmax loss of the forward reader as `loss` (log perplexity), and the
        backward reader's."""
        losses = self.full_loss(tokens)
        self.trackers["loss"].update_state(losses["forward"])
        self.trackers["backward_loss"].update_state(losses["backward"])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def contextual(self, tokens, training=False):
        """ELMo's three layers per token `[B, T, 3, projection]`: the character vector, the forward state after
        reading the token and the backward state after reading it (from the sentence's end)."""
        return self.reader.layers_per_token(tokens, training=training)

    def build(self, input_shape=None):
        """Nothing to do: `build_for_inference` builds every layer in the constructor."""

    def build_for_inference(self):
        self(tf.constant([["a", ""]]))

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "char_vocabulary": self.char_vocabulary,
                **self.config.as_dict()}

    # -- serving and the Python API ----------------------------------------------------------------

    def serving_signatures(self):
        return signatures.signatures(self)

    def example_requests(self):
        return signatures.example_requests(self)

    def score(self, sentences: str | Sequence[str]) -> list[dict]:
        """Scores raw sentences with the forward reader.

        Returns one dict per sentence: its `tokens`, the natural-log
        probability of each token and of the sentence's end
        (`log_probabilities`, one more than the tokens) and their sum (`total`).

        Raises:
            ValueError: naming the sentence that is not text or not UTF-8, or is too long.
        """
        return signatures.score_sentences(self, sentences)

    def next_words(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The `k` likeliest words to follow `text`, as `(word, probability)` pairs, most likely first.

        >>> lm = LanguageModel(["the", "keys", "are", "is"], list("thekysari"), hidden=8, projection=8)
        >>> len(lm.next_words("The keys", k=3))
        3
        """
        return signatures.predict_next_words(self, text, k)

    def predict_text(self, text):
        lines = text.splitlines() or [""]
        return "\n".join(f"{result['total']:.2f}\t{line}" for line, result in zip(lines, self.score(lines)))

    def predict_records(self, inputs):
        return [{"sentence": s, "tokens": list(r["tokens"]), "total": round(float(r["total"]), 6),
                 "log_probabilities": [round(float(p), 6) for p in r["log_probabilities"]]}
                for s, r in zip(inputs, self.score(inputs))]

    def evaluate_split(self, split="test"):
        from zoo.language_model import evaluation

        return evaluation.evaluate_split(self, split)

    def demo(self):
        from zoo.language_model import demo

        return demo.demo_lines(self)


def _copy_rows(weight, lookup, source, source_lookup):
    """Rows of `source` (indexed by `source_lookup`'s tokens) into the rows of `weight` of the same tokens."""
    tokens = lookup.get_vocabulary()
    known = {token: index for index, token in enumerate(source_lookup.get_vocabulary())}
    shared = [(index, known[token]) for index, token in enumerate(tokens) if token in known]
    rows, source_rows = (np.array(r, np.int64) for r in zip(*shared))
    weight.assign(tf.tensor_scatter_nd_update(weight, rows[:, None], tf.gather(source, source_rows)))
