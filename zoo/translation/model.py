"""`Translator`: encoder-decoder with attention over subword pieces, raw sentence in, raw sentence out."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from zoo.base import ZooModel
from zoo.decoding import BOS, BOS_ID, EOS, OOV_ID, PAD_ID, output_embedding_initializer
from zoo.layers import make_rnn, read_both_ways
from zoo.layers.attention import Attention
from zoo.layers.output import similarity_logits
from zoo.translation import signatures
from zoo.translation.config import TranslatorConfig
from zoo.translation.subwords import SubwordEncoder
from zoo.translation.verbatim import SLOT_WORDS


def never_emitted(logits, size):
    """Log-probabilities `[N, V]` of logits, with no chance for padding, unknown or start ids."""
    never = tf.reduce_sum(tf.one_hot([PAD_ID, OOV_ID, BOS_ID], size, on_value=-1e9), axis=0)
    return tf.nn.log_softmax(logits + never)


@keras.saving.register_keras_serializable(package="zoo")
class Translator(ZooModel):
    """Translates sentences: an RNN encoder reads the source, an RNN decoder writes the target.

    Both sides are written in one vocabulary of subword pieces learned by
    byte-pair encoding (`zoo.translation.subwords`), applied inside the
    graph: a word never seen in training is read as pieces it is made of and
    can be written the same way, so names pass through ("Nabucodonosor") and
    no source word is dropped for being unknown. Source, target and output
    share one embedding matrix (Press & Wolf, 2017), which makes copying a
    piece as easy as translating it.

    The encoder (bidirectional by default) turns the source pieces into one
    state per piece. Its last states (forwards at the last piece, backwards
    at the first) summarise the sentence: this *context vector* starts the
    decoder. With `attention="none"` it is all the decoder ever sees of the
    source, the seq2seq of Sutskever et al. (2014); with attention, at every
    target step the decoder state asks which source states matter now
    (`zoo.layers.attention`) and reads their weighted sum. Either way the
    context and the decoder state are combined into `tanh(W_c [c; s])`, whose
    similarity to each piece's embedding gives the next piece's logits.

    Every score is used Luong's way: the query is the decoder state after
    its step and the context joins the output, not the next step's input
    (Bahdanau's placement, and Luong's input feeding, would make each
    training step wait for the previous one's attention); so during
    training the decoder reads the whole reference in one recurrent pass.

    Training feeds the reference translation (teacher forcing); translating
    runs greedy or beam search in a `tf.while_loop` inside the graph, up to
    `max_length_ratio * source pieces + max_length_offset` pieces.

    Args:
        pieces: the subword vocabulary (`zoo.translation.subwords.learn`).
        merges: the BPE merges that split words into those pieces.
        **kwargs: the hyperparameters, any field of `TranslatorConfig`
            (`hidden`, `attention`, `beam_width`, `verbatim`, ...: each its
            default unless given), and Keras' `name`.

    Example:

    >>> t = Translator(["d", "i", "o", "s</w>", "l", "u", "z</w>", "luz</w>"], ["l u", "lu z</w>"],
    ...                hidden=8, embedding_dim=8)
    >>> len(t.translate(["Dios es luz.", ""]))
    2
    """

    TASK = "translation"
    INPUT_KIND = "text"
    CONFIG = TranslatorConfig

    def __init__(self, pieces, merges, **kwargs):
        config, kwargs = self.CONFIG.take(kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.pieces = [str(p) for p in pieces]
        if config.verbatim:  # every slot is a piece of its own, even one the training pairs never fill
            self.pieces += [p for p in SLOT_WORDS if p not in self.pieces]
        self.merges = [str(m) for m in merges]
        self.embedding_dim, self.dropout_rate, self.verbatim = config.embedding_dim, config.dropout, config.verbatim
        self.beam_width, self.length_penalty = config.beam_width, config.length_penalty
        self.max_length_ratio, self.max_length_offset = config.max_length_ratio, config.max_length_offset
        self.max_source_tokens = config.max_source_tokens
        self._make_vocabulary()
        self._make_network()
        self.build_for_inference()

    def _make_vocabulary(self):
        """The BPE encoder, the piece ids (`zoo.decoding`'s four, then the pieces) and the shared embedding."""
        self.subwords = SubwordEncoder(self.merges, name="subwords")
        self.piece_lookup = keras.layers.StringLookup(vocabulary=[BOS, EOS, *self.pieces], mask_token="",
                                                      name="pieces")
        self.target_size = self.piece_lookup.vocabulary_size()
        self.written = tf.constant(["", "", "", "", *self.pieces])  # by id: what each piece writes
        self.embedding = keras.layers.Embedding(
            self.target_size, self.embedding_dim, name="embedding",
            embeddings_initializer=self.embedding_initializer())
        self.embedding_dropout = keras.layers.Dropout(self.dropout_rate, name="embedding_dropout")

    def embedding_initializer(self):
        """The shared embedding's initialiser; the embedding is also the output layer (tied weights)."""
        return output_embedding_initializer()

    def _make_network(self):
        """The recurrent network, in the order its weights are created (and saved)."""
        self.cell, self.hidden, self.attention = self.config.cell, self.config.hidden, self.config.attention
        self.bidirectional, self.recurrent_initializer = self.config.bidirectional, self.config.recurrent_initializer
        self.state_size = self.hidden * (2 if self.bidirectional else 1)
        self.encoder = make_rnn(self.cell, self.hidden, bidirectional=self.bidirectional, return_sequences=True,
                                recurrent_initializer=self.recurrent_initializer, name="encoder")
        self.encoder.build((None, None, self.embedding_dim))
        self.bridge = keras.layers.Dense(self.state_size, activation="tanh", name="bridge")
        self.decoder = make_rnn(self.cell, self.state_size, return_sequences=True,
                                recurrent_initializer=self.recurrent_initializer, name="decoder")
        self.decoder.build((None, None, self.embedding_dim))
        self.attend = None
        if self.attention != "none":  # built here: decoding calls its parts, not the layer
            self.attend = Attention(self.attention, units=self.state_size, name="attention")
            self.attend.build((None, None, self.state_size), (None, None, self.state_size))
        self.combine = keras.layers.Dense(self.embedding_dim, activation="tanh", name="W_c")
        self.output_dropout = keras.layers.Dropout(self.dropout_rate, name="output_dropout")
        self.output_bias = self.add_weight(shape=(self.target_size,), initializer="zeros", name="output_bias")

    def piece_ids(self, tokens):
        """Words and punctuation `RaggedTensor [B, None]` (`zoo.translation.text.tokenize`) → piece ids,
        `int32 RaggedTensor [B, None]`."""
        return tf.cast(self.piece_lookup(self.subwords(tokens).merge_dims(1, 2)), tf.int32)

    def pieces_of(self, ids):
        """Piece ids `[B, T]` → the pieces they write (`""` for padding and the special ids)."""
        return tf.gather(self.written, ids)

    def embed(self, ids, training=False):
        return self.embedding_dropout(self.embedding(ids), training=training)

    def output_weights(self):
        """The output layer's weights `[embedding_dim, V]`: the shared embedding, transposed."""
        return tf.transpose(self.embedding.embeddings)

    # -- encoder ---------------------------------------------------------------------------------

    def encode(self, source_ids, training=False):
        """Reads `int [B, S]` source piece ids (0 padded).

        Returns a dict: `keys` `[B, S, D]` (one state per piece), `projected`
        (the keys' part of the attention score), `mask` `[B, S]`, `summary`
        `[B, D]` (the context vector), `states` (the decoder's start) and
        `output_weights` (`zoo.decoding`).
        """
        mask = source_ids != PAD_ID
        x = self.embed(source_ids, training)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        if self.bidirectional:
            keys = read_both_ways(self.encoder, x, lengths, training)
            last = tf.gather(keys[:, :, :self.hidden], tf.maximum(lengths - 1, 0), batch_dims=1)
            summary = tf.concat([last, keys[:, 0, self.hidden:]], axis=-1)  # backwards: done at the first piece
        else:
            keys = self.encoder(x, training=training)
            summary = tf.gather(keys, tf.maximum(lengths - 1, 0), batch_dims=1)
        start = self.bridge(summary)
        states = [start, tf.zeros_like(start)] if self.cell == "lstm" else [start]
        projected = keys if self.attend is None else self.attend.project_keys(keys)
        return {"keys": keys, "projected": projected, "mask": mask, "summary": summary, "states": states,
                "output_weights": self.output_weights()}

    def length_limits(self, source_lengths):
        """The most target pieces `int [B]` decoding may write for sources of `source_lengths` pieces."""
        ratio = tf.math.ceil(self.max_length_ratio * tf.cast(source_lengths, tf.float32))
        return tf.cast(ratio, tf.int32) + self.max_length_offset

    # -- decoder ---------------------------------------------------------------------------------

    def _logits(self, decoder_states, encoded, training=False):
        """Next-piece logits `[B, T, V]` and attention `[B, T, S]` for decoder states `[B, T, D]`."""
        if self.attend is None:
            context = tf.broadcast_to(encoded["summary"][:, None, :], tf.shape(decoder_states))
            weights = tf.zeros([tf.shape(decoder_states)[0], tf.shape(decoder_states)[1],
                                tf.shape(encoded["keys"])[1]])
        else:
            context, weights = self.attend.attend(decoder_states, encoded["keys"], encoded["projected"],
                                                  encoded["mask"])
        combined = self.output_dropout(self.combine(tf.concat([context, decoder_states], axis=-1)),
                                       training=training)
        return similarity_logits(combined, encoded["output_weights"], self.output_bias), weights

    def decode_step(self, token_ids, states, encoded):
        """One decoding step for `[N]` previous pieces: `(log-probabilities [N, V], states, attention [N, S])`."""
        output, states = self.decoder.cell(self.embedding(token_ids), states, training=False)
        logits, weights = self._logits(output[:, None, :], encoded)
        return never_emitted(logits[:, 0], self.target_size), states, weights[:, 0]

    def call(self, inputs, training=False):
        """Teacher-forced logits `[B, T, V]` for `{"source": int [B, S], "target_in": int [B, T]}` piece ids."""
        encoded = self.encode(inputs["source"], training=training)
        y = self.embed(inputs["target_in"], training)
        decoder_states = self.decoder(y, initial_state=encoded["states"], training=training)
        return self._logits(decoder_states, encoded, training=training)[0]

    def build(self, input_shape=None):
        """Nothing to do: every layer is built by `build_for_inference` in the constructor."""

    def build_for_inference(self):
        self({"source": tf.constant([[OOV_ID, PAD_ID]]), "target_in": tf.constant([[BOS_ID, OOV_ID]])})
        self.piece_ids(tf.ragged.constant([["a"]]))  # the vocabulary is not part of `call`

    def get_config(self):
        return {
            **super().get_config(),
            "pieces": self.pieces,
            "merges": self.merges,
            **self.config.as_dict(),
        }

    # -- serving and the Python API ----------------------------------------------------------------

    def serving_signatures(self):
        return signatures.signatures(self)

    def example_requests(self):
        return signatures.example_requests(self)

    def translate(self, sentences: str | Sequence[str], beam_width: int | None = None, max_length: int | None = None,
                  return_attention: bool = False) -> list:
        """Translates raw sentences.

        Args:
            sentences: a list of strings (or UTF-8 bytes); a single string is
                one sentence. An empty or whitespace-only sentence gives `""`.
            beam_width: hypotheses kept per step; 1 is greedy search. The
                model's `beam_width` when `None`.
            max_length: at most this many target tokens (besides the limit
                tied to each source's length).
            return_attention: return dicts with the tokens of both sides, the
                attention matrix `[target, source]` and the score.

        Returns:
            One translation per sentence, or one dict per sentence with
            `return_attention=True` (for `zoo.plot_attention`).

        Raises:
            ValueError: naming the sentence that is not text, not UTF-8 or
                longer than `max_source_tokens`, or the option out of range
                (`zoo.decoding.check_options`).
        """
        return signatures.translate_sentences(self, sentences, beam_width, max_length, return_attention)

    def predict_text(self, text):
        return "\n".join(self.translate(text.splitlines() or [""]))

    def predict_records(self, inputs):
        return [{"sentence": s, "translation": t} for s, t in zip(inputs, self.translate(inputs))]

    def evaluate_split(self, split="test"):
        from zoo.translation import evaluation

        return evaluation.evaluate_split(self, split)

    def demo(self):
        from zoo.translation import demo

        return demo.demo_lines(self)
