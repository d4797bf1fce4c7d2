"""The output layer of the zoo's text models: each feature vector compared with every word's weights."""

import tensorflow as tf


def similarity_logits(features, weights, bias):
    """Logits `[..., V]`: features `[..., D]` times `weights` `[D, V]` (one column per word: a tied
    embedding or a softmax's own weights, transposed), plus `bias` `[V]`.

    Computed as one 2-D matrix product: TensorFlow's CPU kernel for a batched
    product of `[B, T, D]` features runs a decoding step at about half the
    speed and the training gradient a third slower. The weights come
    transposed because a decoder transposes them once per search
    (`zoo.decoding`): the product with `transpose_b` at every step took about
    a third of a translator's greedy decoding time.

    >>> similarity_logits(tf.ones([2, 3, 4]), tf.ones([4, 5]), tf.zeros([5])).shape
    TensorShape([2, 3, 5])
    """
    flat = tf.matmul(tf.reshape(features, [-1, tf.shape(features)[-1]]), weights) + bias
    return tf.reshape(flat, tf.concat([tf.shape(features)[:-1], tf.shape(weights)[1:]], axis=0))
