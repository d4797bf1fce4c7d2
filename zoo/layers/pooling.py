"""Pooling over time that ignores padded steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMeanMaxPooling(keras.layers.Layer):
    """Concatenates the mean and the max over the unmasked time steps.

    It turns per-step features `[batch, time, d]` into one vector `[batch, 2d]`
    with no recurrence: the "DNN" side of the seed note's DNN-vs-RNN contrast.

    Example:

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> mask = np.array([[True, True, False]])
    >>> MaskedMeanMaxPooling()(x, mask=mask).numpy().tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None, training=None):
        if mask is None:
            return ops.concatenate([ops.mean(inputs, axis=1), ops.max(inputs, axis=1)], axis=-1)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        mean = ops.sum(inputs * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        masked_max = ops.max(ops.where(weights > 0, inputs, ops.full_like(inputs, -1e9)), axis=1)
        return ops.concatenate([mean, masked_max], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None
