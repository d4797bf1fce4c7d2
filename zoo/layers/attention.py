"""Attention: importance = similarity between what the decoder needs now and each source state.

For a decoder state `q` (the query) and the encoder's states `k_1 ... k_S`
(the keys, which are also the values), a score function rates every source
position, a softmax over the real (unpadded) positions turns the scores into
weights that sum to 1, and the context is the weighted sum of the states:

    score(q, k_s)  dot:       q · k_s                    (Luong et al., 2015)
                   general:   q · (W k_s)                (Luong et al., 2015)
                   additive:  v · tanh(W_q q + W_k k_s)  (Bahdanau et al., 2015)
    α_s = softmax_s(score(q, k_s)),   context = Σ_s α_s k_s

The seed note's "importance = similarity = inner product" is `dot`.
"""

import keras
import tensorflow as tf

SCORES = ("dot", "general", "additive")
_MASKED = -1e9  # score of a padding position: its weight underflows to exactly 0


@keras.saving.register_keras_serializable(package="zoo")
class Attention(keras.layers.Layer):
    """Weights over source positions and the context they select, for many queries at once.

    Args:
        score: `"dot"`, `"general"` or `"additive"`.
        units: hidden size of the additive score (ignored by the others).

    Call arguments:
        query: `[B, T, Dq]`, one query per target step.
        keys: `[B, S, Dk]`, the encoder states. `dot` needs `Dq == Dk`.
        key_mask: `[B, S]` bool, `True` on real source positions.

    Returns:
        `(context [B, T, Dk], weights [B, T, S])`; each row of weights sums to
        1 over the real positions and is 0 on padding.

    Example:

    >>> import numpy as np
    >>> attention = Attention("dot")
    >>> keys = np.eye(3, dtype="float32")[None]             # three source states
    >>> query = np.array([[[0.0, 5.0, 0.0]]], "float32")      # most similar to the second
    >>> context, weights = attention(query, keys, key_mask=np.array([[True, True, False]]))
    >>> np.round(np.asarray(weights, "float64"), 3).tolist()
    [[[0.007, 0.993, 0.0]]]
    """

    def __init__(self, score="dot", units=128, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        self.score = score
        self.units = int(units)

    def build(self, query_shape, keys_shape):
        query_dim, keys_dim = int(query_shape[-1]), int(keys_shape[-1])
        if self.score == "dot" and query_dim != keys_dim:
            raise ValueError(f"dot attention needs queries and keys of one size, got {query_dim} and {keys_dim}")
        if self.score == "general":
            self.W = self.add_weight(shape=(keys_dim, query_dim), initializer="glorot_uniform", name="W")
        elif self.score == "additive":
            self.W_q = self.add_weight(shape=(query_dim, self.units), initializer="glorot_uniform", name="W_q")
            self.W_k = self.add_weight(shape=(keys_dim, self.units), initializer="glorot_uniform", name="W_k")
            self.v = self.add_weight(shape=(self.units,), initializer="glorot_uniform", name="v")

    def project_keys(self, keys):
        """The part of the score that depends on the keys only: computed once per source sentence."""
        if self.score == "general":
            return tf.matmul(keys, self.W)
        if self.score == "additive":
            return tf.matmul(keys, self.W_k)
        return keys

    def attend(self, query, keys, projected_keys, key_mask):
        """`call` with `project_keys(keys)` already computed (each decoding step reuses it)."""
        if self.score == "additive":
            hidden = tf.tanh(tf.matmul(query, self.W_q)[:, :, None, :] + projected_keys[:, None, :, :])
            scores = tf.tensordot(hidden, self.v, axes=[[3], [0]])
        else:
            scores = tf.matmul(query, projected_keys, transpose_b=True)
        scores = tf.where(key_mask[:, None, :], scores, _MASKED)
        weights = tf.nn.softmax(scores, axis=-1)
        return tf.matmul(weights, keys), weights

    def call(self, query, keys, key_mask):
        return self.attend(query, keys, self.project_keys(keys), tf.cast(key_mask, tf.bool))

    def get_config(self):
        return {**super().get_config(), "score": self.score, "units": self.units}
