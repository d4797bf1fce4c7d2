"""The output layer of the zoo's text models: each feature vector compared with every row of a weight matrix."""

import tensorflow as tf


def similarity_logits(features, weights, bias):
    """Logits `[..., V]`: features `[..., D]` times every row of `weights` `[V, D]` (a tied embedding, or a
    softmax's own weights), plus `bias` `[V]`.

    Computed as one 2-D matrix product: TensorFlow's CPU kernel for a
    batched product of `[B, T, D]` features is about twice as slow for a
    decoding step (`T` = 1) and a third slower to train.

    >>> similarity_logits(tf.ones([2, 3, 4]), tf.eye(5, 4), tf.zeros([5])).shape
    TensorShape([2, 3, 5])
    """
    flat = tf.matmul(tf.reshape(features, [-1, tf.shape(features)[-1]]), weights, transpose_b=True) + bias
    return tf.reshape(flat, tf.concat([tf.shape(features)[:-1], tf.shape(weights)[:1]], axis=0))
