"""`TransformerTranslator`: the peer a user would pick instead of the RNN, on the same pieces and signatures.

Needs KerasHub (`pip install rnn-zoo[bench]`), so `zoo` itself never imports
this module: `recipes/translation.py --architecture transformer` and
`bench/translation.py` do.
"""

import keras
import keras_hub
import tensorflow as tf

from zoo.decoding import PAD_ID
from zoo.translation.model import Translator, never_emitted

RECURRENT_ONLY = ("cell", "hidden", "attention", "bidirectional", "recurrent_initializer")  # Translator's, unused here


@keras.saving.register_keras_serializable(package="zoo")
class TransformerTranslator(Translator):
    """A Transformer encoder-decoder (Vaswani et al., 2017) in place of the recurrent one.

    Everything outside the network is the `Translator`'s: the subword
    vocabulary, the tied embeddings, the serving signatures and greedy and
    beam search. Attention here is all there is: no state carries the
    sentence from step to step, every position attends to every other (the
    decoder to earlier positions only), and the order comes from sinusoidal
    position encodings. Decoding recomputes the decoder over the prefix at
    every step (no key/value cache): simple, and fast enough for verses.

    Args:
        pieces, merges: the subword vocabulary (`zoo.translation.subwords.learn`).
        stack: encoder layers, and as many decoder layers.
        heads: attention heads per layer.
        feedforward: hidden size of each layer's feed-forward block.
        embedding_dim: the model width.
        dropout: dropout in every block and on the embeddings.
        **kwargs: the `Translator`'s decoding and input limits.

    Example:

    >>> t = TransformerTranslator(["a", "b</w>"], ["a b</w>"], stack=1, heads=2, feedforward=8, embedding_dim=8)
    >>> len(t.translate(["ab ab", ""]))
    2
    """

    def __init__(self, pieces, merges, stack=3, heads=4, feedforward=1024, embedding_dim=256, dropout=0.1,
                 **kwargs):
        self.stack, self.heads, self.feedforward = int(stack), int(heads), int(feedforward)
        for recurrent in RECURRENT_ONLY:
            kwargs.pop(recurrent, None)
        super().__init__(pieces, merges, embedding_dim=embedding_dim, dropout=dropout, **kwargs)

    def embedding_initializer(self):
        """N(0, 1/d): scaled by sqrt(d) on the way in, the embeddings have unit variance beside the position
        encodings, and tied to the output they give logits of unit variance (Vaswani et al., 2017)."""
        return keras.initializers.RandomNormal(stddev=self.embedding_dim ** -0.5)

    def _make_network(self):
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

    def encode(self, source_ids, training=False):
        mask = source_ids != PAD_ID
        x = self._embed_positions(source_ids, training)
        for layer in self.encoders:
            x = layer(x, padding_mask=mask, training=training)
        start = tf.zeros([tf.shape(source_ids)[0], 0], tf.int32)  # the decoding prefix so far: nothing
        return {"keys": self.encoder_norm(x), "mask": mask, "states": [start]}

    def _decode(self, target_in, encoded, training=False):
        y = self._embed_positions(target_in, training)
        for layer in self.decoders:
            y = layer(y, encoded["keys"], decoder_padding_mask=target_in != PAD_ID,
                      encoder_padding_mask=encoded["mask"], training=training)
        return self.output_logits(self.decoder_norm(y))

    def decode_step(self, token_ids, states, encoded):
        prefix = tf.concat([states[0], token_ids[:, None]], axis=1)
        logits = self._decode(prefix, encoded)[:, -1]
        no_attention = tf.zeros([tf.shape(prefix)[0], tf.shape(encoded["mask"])[1]])
        return never_emitted(logits, self.target_size), [prefix], no_attention

    def call(self, inputs, training=False):
        return self._decode(inputs["target_in"], self.encode(inputs["source"], training=training), training)

    def get_config(self):
        config = {**super().get_config(), "stack": self.stack, "heads": self.heads, "feedforward": self.feedforward}
        for recurrent in RECURRENT_ONLY:
            config.pop(recurrent)
        return config
