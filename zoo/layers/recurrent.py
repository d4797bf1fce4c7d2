"""Recurrent building blocks: the Elman cell of the seed note, the projected LSTM of the language model
and a factory over cell types."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

CELLS = ("elman", "gru", "lstm")


@keras.saving.register_keras_serializable(package="zoo")
class ElmanCell(keras.layers.Layer):
    """The Elman recurrence, written out: `h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)`.

    The same three weights are applied at every time step; the hidden state
    `h_t` is the sequence representation so far. A task head (`W_hy`) reads
    the last state (many-to-one) or every state (many-to-many). Wrap the cell
    in `keras.layers.RNN` to run it over a sequence, or use `make_rnn`.

    Args:
        units: size of the hidden state `h_t`.
        activation: the squashing function, `"tanh"` in Elman's network.
        kernel_initializer: initialiser of `W_xh`.
        recurrent_initializer: initialiser of `W_hh`. Orthogonal keeps the
            gradient norm of the linear part constant through time, which
            delays (but cannot prevent) vanishing gradients over long spans.
        bias_initializer: initialiser of `b`.

    Example:

    >>> import numpy as np
    >>> rnn = keras.layers.RNN(ElmanCell(4))
    >>> tuple(rnn(np.zeros((2, 7, 3), "float32")).shape)
    (2, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer=self.kernel_initializer, name="W_xh"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer=self.recurrent_initializer, name="W_hh"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="b")

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        h = self.activation(
            ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        )
        return h, [h]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class ProjectedLSTMCell(keras.layers.Layer):
    """An LSTM whose output is a projection of its state, and what it reads back (LSTMP, Sak et al., 2014).

    `i, f, g, o = split(x_t W + r_{t-1} U + b)`, `c_t = σ(f) c_{t-1} + σ(i)
    tanh(g)`, `r_t = (σ(o) tanh(c_t)) P`. The gates read the `projection`-wide
    `r_{t-1}`, not the `units`-wide state, so the step costs `projection x
    4 units` instead of `units x 4 units`: a wide memory at a narrow price,
    as in the large language models of Jozefowicz et al. (2016) and ELMo.
    The forget gate's bias starts at 1, so the memory is kept at first.

    Args:
        units: size of the memory `c_t`.
        projection: size of the output `r_t`.

    Example:

    >>> import numpy as np
    >>> rnn = keras.layers.RNN(ProjectedLSTMCell(8, projection=3), return_sequences=True)
    >>> tuple(rnn(np.zeros((2, 7, 5), "float32")).shape)
    (2, 7, 3)
    """

    def __init__(self, units, projection, **kwargs):
        super().__init__(**kwargs)
        self.units, self.projection = int(units), int(projection)
        self.state_size = [self.projection, self.units]
        self.output_size = self.projection

    def build(self, input_shape):
        gates = 4 * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], gates), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.projection, gates), initializer="orthogonal",
                                                name="recurrent_kernel")
        forget_at_one = np.concatenate([np.zeros(self.units), np.ones(self.units), np.zeros(2 * self.units)])
        self.bias = self.add_weight(shape=(gates,), initializer=keras.initializers.Constant(forget_at_one),
                                    name="bias")
        self.projection_kernel = self.add_weight(shape=(self.units, self.projection), initializer="glorot_uniform",
                                                 name="projection_kernel")

    def call(self, inputs, states, training=False):
        output, memory = states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(output, self.recurrent_kernel) + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        memory = ops.sigmoid(f) * memory + ops.sigmoid(i) * ops.tanh(g)
        output = ops.matmul(ops.sigmoid(o) * ops.tanh(memory), self.projection_kernel)
        return output, [output, memory]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "projection": self.projection}


def make_rnn(
    cell,
    units,
    *,
    bidirectional=False,
    return_sequences=False,
    recurrent_initializer="orthogonal",
    name=None,
):
    """Builds a recurrent layer over `[batch, time, features]` that honours masks.

    GRU and LSTM are built with `use_cudnn=False` so that a model trained on a
    GPU still exports a graph of portable ops (no `CudnnRNN*`), which the stock
    TF Serving image can run on CPU.

    Args:
        cell: `"elman"`, `"gru"` or `"lstm"`.
        units: hidden size (per direction).
        bidirectional: read the sequence both ways and concatenate.
        return_sequences: `True` for one output per step (many-to-many),
            `False` for the state after the last unmasked step (many-to-one).
        recurrent_initializer: initialiser of the recurrent weights `W_hh`.
        name: layer name.

    Example:

    >>> import numpy as np
    >>> layer = make_rnn("gru", 8, bidirectional=True)
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 16)
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    common = dict(return_sequences=return_sequences, recurrent_initializer=recurrent_initializer)
    if cell == "elman":
        layer = keras.layers.RNN(ElmanCell(units, recurrent_initializer=recurrent_initializer),
                                 return_sequences=return_sequences)
    elif cell == "gru":
        layer = keras.layers.GRU(units, use_cudnn=False, **common)
    else:
        layer = keras.layers.LSTM(units, use_cudnn=False, **common)
    if bidirectional:
        return keras.layers.Bidirectional(layer, name=name)
    if name:
        layer.name = name
    return layer


def read_both_ways(bidirectional, x, lengths, training=False):
    """Runs a `Bidirectional` layer's two readers over the real steps of each sequence.

    Padding follows the real steps in both reading orders (the backward
    reader gets each sequence reversed in place by `reverse_sequence`), so no
    padding step can reach a real step's state: the result of masking,
    without a masking op at every step.

    Args:
        bidirectional: a built `keras.layers.Bidirectional` returning sequences.
        x: `[B, T, C]`, each sequence's real steps first.
        lengths: `[B]` int, the real steps of each sequence.

    Returns:
        `[B, T, 2 * units]`: forward and backward states, both in reading order
        of the sentence (position t holds what each reader knows at t).

    Example:

    >>> import numpy as np
    >>> layer = make_rnn("gru", 4, bidirectional=True, return_sequences=True)
    >>> x = np.random.rand(2, 5, 3).astype("float32")
    >>> both = read_both_ways(layer, x, np.array([5, 3]))
    >>> alone = read_both_ways(layer, x[1:, :3], np.array([3]))
    >>> bool(np.allclose(both[1, :3], alone[0], atol=1e-6))
    True
    """
    forward = bidirectional.forward_layer(x, training=training)
    # `backward_layer` reads its input from the end and returns its states in reading order.
    reversed_in_place = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
    backward = bidirectional.backward_layer(tf.reverse(reversed_in_place, axis=[1]), training=training)
    return tf.concat([forward, tf.reverse_sequence(backward, lengths, seq_axis=1, batch_axis=0)], axis=-1)
