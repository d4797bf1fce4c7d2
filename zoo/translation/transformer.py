"""`TransformerTranslator`: the peer a user would pick instead of the RNN, on the same pieces and signatures.

Needs KerasHub (`pip install rnn-zoo[bench]`), so `zoo` itself never imports
this module: `recipes/translation.py --architecture transformer` and
`bench/translation.py` do.
"""

import keras
import keras_hub
import tensorflow as tf

from zoo.decoding import PAD_ID
from zoo.layers.output import similarity_logits
from zoo.translation.config import TransformerConfig
from zoo.translation.model import Translator, never_emitted


@keras.saving.register_keras_serializable(package="zoo")
class TransformerTranslator(Translator):
    """A Transformer encoder-decoder (Vaswani et al., 2017) in place of the recurrent one.

    Everything outside the network is the `Translator`'s: the subword
    vocabulary, the tied embeddings, the serving signatures and greedy and
    beam search. Attention here is all there is: no state carries the
    sentence from step to step, every position attends to every other (the
    decoder to earlier positions only), and the order comes from sinusoidal
    position encodings. Decoding keeps each layer's keys and values of the
    pieces written so far (a key/value cache), so a step costs one position,
    not the whole prefix, and projects the source's once per sentence.

    Args:
        pieces, merges: the subword vocabulary (`zoo.translation.subwords.learn`).
        **kwargs: the hyperparameters, any field of `TransformerConfig`
            (`stack`, `heads`, `feedforward`, `embedding_dim`: the model
            width, `dropout`: in every block and on the embeddings, and the
            search's), and Keras' `name`.

    Example:

    >>> t = TransformerTranslator(["a", "b</w>"], ["a b</w>"], stack=1, heads=2, feedforward=8, embedding_dim=8)
    >>> len(t.translate(["ab ab", ""]))
    2
    """

    CONFIG = TransformerConfig

    def embedding_initializer(self):
        """N(0, 1/d): scaled by sqrt(d) on the way in, the embeddings have unit variance beside the position
        encodings, and tied to the output they give logits of unit variance (Vaswani et al., 2017)."""
        return keras.initializers.RandomNormal(stddev=self.embedding_dim ** -0.5)

    def _make_network(self):
        self.stack, self.heads, self.feedforward = self.config.stack, self.config.heads, self.config.feedforward
        self.positions = keras_hub.layers.SinePositionEncoding(name="positions")
        self.encoders = [keras_hub.layers.TransformerEncoder(self.feedforward, self.heads, self.dropout_rate,
                                                             normalize_first=True, name=f"encoder_{i}")
                         for i in range(self.stack)]
        self.encoder_norm = keras.layers.LayerNormalization(name="encoder_norm")
        self.decoders = [keras_hub.layers.TransformerDecoder(self.feedforward, self.heads, self.dropout_rate,
                                                             normalize_first=True, name=f"decoder_{i}")
                         for i in range(self.stack)]
        self.decoder_norm = keras.layers.LayerNormalization(name="decoder_norm")
        self.output_bias = self.add_weight(shape=(self.target_size,), initializer="zeros", name="output_bias")
        self.attend = None  # no single attention to show: `translate` returns zeros

    def _embed_positions(self, ids, training):
        x = self.embedding(ids) * tf.sqrt(float(self.embedding_dim))
        return self.embedding_dropout(x + self.positions(x), training=training)

    def _read(self, source_ids, training):
        mask = source_ids != PAD_ID
        x = self._embed_positions(source_ids, training)
        for layer in self.encoders:
            x = layer(x, padding_mask=mask, training=training)
        return {"keys": self.encoder_norm(x), "mask": mask, "output_weights": self.output_weights()}

    def encode(self, source_ids, training=False):
        """Reads the source for decoding: its states, and each decoder layer's empty key/value cache.

        The caches are the search's `states` (as the beam reorders them: flat,
        `[B, 2 * limit * heads * key_dim]`, behind the step `[B, 1]`); each
        layer's projection of the source is fixed, so it rides in the encoded
        dict (`cross_caches`).
        """
        encoded = self._read(source_ids, training)
        batch = tf.shape(source_ids)[0]
        source_lengths = tf.reduce_sum(tf.cast(encoded["mask"], tf.int32), axis=1)
        limit = tf.maximum(tf.reduce_max(self.length_limits(source_lengths)), 1)
        empty = tf.zeros([batch, 2, limit, self.heads, self.embedding_dim // self.heads])
        # one step from an empty cache makes each layer project the source into its cross-attention cache
        nothing = tf.zeros([batch, 1, self.embedding_dim])
        no_source = tf.zeros([batch, 2, tf.shape(source_ids)[1], self.heads, self.embedding_dim // self.heads])
        encoded["cross_caches"] = [
            layer(nothing, encoded["keys"], encoder_padding_mask=encoded["mask"],
                  self_attention_cache=empty, self_attention_cache_update_index=0,
                  cross_attention_cache=no_source, cross_attention_cache_update_index=0)[2]
            for layer in self.decoders]
        encoded["states"] = [tf.zeros([batch, 1], tf.int32)] + [tf.reshape(empty, [batch, -1])] * self.stack
        return encoded

    def _decode(self, target_in, encoded, training=False):
        y = self._embed_positions(target_in, training)
        for layer in self.decoders:
            y = layer(y, encoded["keys"], decoder_padding_mask=target_in != PAD_ID,
                      encoder_padding_mask=encoded["mask"], training=training)
        return similarity_logits(self.decoder_norm(y), encoded["output_weights"], self.output_bias)

    def decode_step(self, token_ids, states, encoded):
        steps, caches = states[0], states[1:]
        step = steps[0, 0]  # every sequence of a search is at the same step
        y = self.embedding(token_ids[:, None]) * tf.sqrt(float(self.embedding_dim))
        y += self.positions(y, start_index=step)
        updated = []
        for layer, cache, cross_cache in zip(self.decoders, caches, encoded["cross_caches"]):
            cache = tf.reshape(cache, [tf.shape(cache)[0], 2, -1, self.heads, self.embedding_dim // self.heads])
            y, cache, _ = layer(y, encoded["keys"], encoder_padding_mask=encoded["mask"],
                                self_attention_cache=cache, self_attention_cache_update_index=step,
                                cross_attention_cache=cross_cache)
            updated.append(tf.reshape(cache, [tf.shape(cache)[0], -1]))
        logits = similarity_logits(self.decoder_norm(y), encoded["output_weights"], self.output_bias)[:, 0]
        no_attention = tf.zeros([tf.shape(token_ids)[0], tf.shape(encoded["mask"])[1]])
        return never_emitted(logits, self.target_size), [steps + 1, *updated], no_attention

    def call(self, inputs, training=False):
        return self._decode(inputs["target_in"], self._read(inputs["source"], training), training)

