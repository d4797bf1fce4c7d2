"""`SensorClassifier`: many-to-one, a multivariate series of raw sensor values → one class."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.base import Classification, ZooModel
from zoo.layers import MaskedMeanMaxPooling, make_rnn
from zoo.sensor import signatures
from zoo.sensor.config import SensorConfig
from zoo.sensor.io import read_series


@keras.saving.register_keras_serializable(package="zoo")
class CalibrationNoise(keras.layers.Layer):
    """While training: each channel of each series `[B, T, C]` shifted by N(0, `offset`) and scaled by
    exp N(0, `gain`), the same for all its steps (a sensor's calibration, not its noise); at inference the
    identity."""

    def __init__(self, offset=0.0, gain=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset, self.gain = float(offset), float(gain)
        self.seed = keras.random.SeedGenerator()

    def call(self, x, training=False):
        if not training or (self.offset == 0 and self.gain == 0):
            return x
        shape = (ops.shape(x)[0], 1, ops.shape(x)[2])
        gain = ops.exp(keras.random.normal(shape, stddev=self.gain, seed=self.seed))
        return x * gain + keras.random.normal(shape, stddev=self.offset, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "gain": self.gain}


def _standardised(x, mask):
    """`[B, T, 2C]`: each channel of each series at zero mean and unit spread over its real steps, then the log
    of its spread, the same at every step."""
    real = ops.cast(mask, x.dtype)[..., None]
    steps = ops.maximum(ops.sum(real, axis=1, keepdims=True), 1.0)
    mean = ops.sum(x * real, axis=1, keepdims=True) / steps
    spread = ops.sqrt(ops.sum(ops.square(x - mean) * real, axis=1, keepdims=True) / steps + 1e-12)
    scale = ops.log(spread) * ops.ones_like(x)
    return ops.concatenate([(x - mean) / spread, scale], axis=-1)


@keras.saving.register_keras_serializable(package="zoo")
class SensorClassifier(ZooModel):
    """Classifies multivariate time series of any length, from raw values.

    The network reads `x_1 … x_T` one step at a time and keeps a hidden state
    `h_t` that summarises the series so far; the class is read from the last
    state (`softmax(h_T W_hy)`). Per-channel normalisation statistics from the
    training data are part of the model, so every caller sends raw values.
    Padded steps are masked, so a short series is never cropped or diluted.
    The `"dense"` encoder has no recurrence at all (a per-step MLP and
    mean/max pooling over time): the DNN baseline the RNN must beat. With
    `members=M` the model holds M such networks, each trained on its own
    loss, and answers with the mean of their class probabilities.

    Args:
        num_channels: C, the number of values per time step.
        class_names: the label of each output unit.
        channel_mean, channel_std: per-channel statistics of the training data.
        **kwargs: the hyperparameters, any field of `SensorConfig` (`cell`,
            `hidden`, `centring`, `frame`, ...: each its default unless given),
            and Keras' `name`.

    Example:

    >>> import numpy as np
    >>> model = SensorClassifier(num_channels=3, class_names=["rest", "walk"], hidden=8)
    >>> result = model.classify(np.random.default_rng(0).normal(size=(50, 3)))
    >>> result.labels[0] in ("rest", "walk"), result.scores.shape
    (True, (1, 2))
    """

    TASK = "sensor-classification"
    INPUT_KIND = "series"
    CONFIG = SensorConfig

    def __init__(self, num_channels, class_names, channel_mean=None, channel_std=None, **kwargs):
        config, kwargs = self.CONFIG.take(kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.num_channels = int(num_channels)
        self.class_names = [str(c) for c in class_names]
        self.channel_mean = [float(v) for v in (channel_mean if channel_mean is not None else np.zeros(num_channels))]
        self.channel_std = [float(v) for v in (channel_std if channel_std is not None else np.ones(num_channels))]
        self.cell, self.hidden, self.bidirectional = config.cell, config.hidden, config.bidirectional
        self.num_layers, self.recurrent_initializer = config.num_layers, config.recurrent_initializer
        self.dropout_rate, self.noise_stddev, self.input_dropout_rate = config.dropout, config.noise, config.input_dropout
        self.offset_stddev, self.gain_stddev, self.centring = config.offset, config.gain, config.centring
        self.readout = "pool" if config.cell == "dense" else config.readout
        self.max_length, self.frame, self.members = config.max_length, config.frame, config.members

        self.calibration = CalibrationNoise(self.offset_stddev, self.gain_stddev)
        self.noise = keras.layers.GaussianNoise(self.noise_stddev)
        self.input_dropout = keras.layers.SpatialDropout1D(self.input_dropout_rate)
        prefixes = [""] if self.members == 1 else [f"member_{m + 1}_" for m in range(self.members)]
        self.step_mlps, self.encoders = map(list, zip(*(self._encoder_layers(prefix) for prefix in prefixes)))
        self.dropouts = [keras.layers.Dropout(self.dropout_rate) for _ in prefixes]
        self.heads = [keras.layers.Dense(len(self.class_names), activation="softmax", name=f"{prefix}W_hy")
                      for prefix in prefixes]
        self.build_for_inference()

    def _encoder_layers(self, prefix):
        """`(step_mlp, encoder)` of one member: the `"dense"` encoder's per-step MLP (else `None`), and the layers
        that read the steps into one vector (recurrent layers, then pooling for the `"pool"` readout)."""
        if self.cell == "dense":
            step_mlp = keras.Sequential(
                [keras.layers.Dense(self.hidden, activation="relu") for _ in range(2)], name=f"{prefix}step_mlp"
            )
            return step_mlp, [MaskedMeanMaxPooling()]
        encoder = [
            make_rnn(
                self.cell,
                self.hidden,
                bidirectional=self.bidirectional,
                return_sequences=i < self.num_layers - 1 or self.readout == "pool",
                recurrent_initializer=self.recurrent_initializer,
                name=f"{prefix}rnn_{i + 1}",
            )
            for i in range(self.num_layers)
        ]
        if self.readout == "pool":
            encoder.append(MaskedMeanMaxPooling())
        return None, encoder

    def call(self, inputs, training=False):
        """Class probabilities `[B, K]`.

        Args:
            inputs: `{"series": [B, T, C], "lengths": [B]}` with zero padding
                past each length, or a `[B, T, C]` tensor of full-length series.
        """
        if isinstance(inputs, dict):
            series, lengths = inputs["series"], inputs["lengths"]
        else:
            series = inputs
            lengths = ops.full(ops.shape(series)[:1], ops.shape(series)[1], "int32")
        series = ops.cast(series, "float32")
        mask = ops.arange(ops.shape(series)[1])[None, :] < ops.cast(lengths, "int32")[:, None]
        if self.centring == "series":
            steps = ops.maximum(ops.sum(ops.cast(mask, "float32"), axis=1), 1.0)[:, None, None]
            series = series - ops.sum(ops.where(mask[..., None], series, 0.0), axis=1, keepdims=True) / steps
        x = (series - ops.convert_to_tensor(self.channel_mean)) / ops.convert_to_tensor(self.channel_std)
        x = self.calibration(x, training=training)
        if self.centring == "standardise":
            x = _standardised(x, mask)
        x = self.input_dropout(self.noise(x, training=training), training=training)
        x = ops.where(mask[..., None], x, 0.0)
        if self.frame > 1:
            x, mask = self._framed(x, mask)
        probabilities = [self._member(m, x, mask, training) for m in range(self.members)]
        if self.members == 1:
            return probabilities[0]
        members = ops.stack(probabilities, axis=1)
        return members if training else ops.mean(members, axis=1)

    def _member(self, m, x, mask, training):
        """Member `m`'s class probabilities `[B, K]` for the prepared steps `x`."""
        if self.step_mlps[m] is not None:
            x = self.step_mlps[m](x)
        for layer in self.encoders[m]:
            x = layer(x, mask=mask, training=training)
        return self.heads[m](self.dropouts[m](x, training=training))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """While training an ensemble, `y_pred` is every member's probabilities `[B, M, K]`: each member is
        scored on its own (the mean of their losses), so none learns to correct the others' errors."""
        if self.members > 1 and len(y_pred.shape) == 3:
            y, sample_weight = self._per_member(y), self._per_member(sample_weight)
            y_pred = ops.reshape(y_pred, [-1, len(self.class_names)])
        return super().compute_loss(x, y, y_pred, sample_weight, training)

    def _per_member(self, values):
        """`[B]` per-series values as `[B * M]`, one per member's prediction in the flattened `[B * M, K]`."""
        return None if values is None else ops.reshape(ops.repeat(values[:, None], self.members, axis=1), [-1])

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """The metrics of the ensemble's averaged probabilities, while training too."""
        if self.members > 1 and len(y_pred.shape) == 3:
            y_pred = ops.mean(y_pred, axis=1)
        return super().compute_metrics(x, y, y_pred, sample_weight)

    def _framed(self, x, mask):
        """`x [B, T, D]` as `[B, ceil(T / frame), frame * D]`, and the mask of frames holding a real step."""
        pad = (-ops.shape(x)[1]) % self.frame
        x = ops.pad(x, [[0, 0], [0, pad], [0, 0]])
        x = ops.reshape(x, (ops.shape(x)[0], -1, self.frame * x.shape[-1]))
        return x, mask[:, :: self.frame]

    def build_for_inference(self):
        self({"series": np.zeros((1, 2, self.num_channels), "float32"), "lengths": np.array([2], "int32")})

    def get_config(self):
        return {
            **super().get_config(),
            "num_channels": self.num_channels,
            "class_names": self.class_names,
            "channel_mean": self.channel_mean,
            "channel_std": self.channel_std,
            **self.config.as_dict(),
        }

    def keras_input_signature(self):
        """One raw series `[1, T, C]` of any length, its only input: what `export(path, format="litert")`
        takes (its length is its `T`). One series at a time, as a phone classifies its latest window:
        LiteRT's built-in ops run a recurrence only over steps of a fixed shape.

        Example:

        >>> import pathlib, tempfile
        >>> model = SensorClassifier(num_channels=3, class_names=["rest", "walk"], hidden=8)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "sensor.tflite"
        >>> model.export(path, format="litert", verbose=False)
        >>> path.stat().st_size > 0
        True
        """
        return [tf.TensorSpec([1, None, self.num_channels], tf.float32, name="series")]

    def serving_signatures(self):
        return signatures.signatures(self)

    def example_requests(self):
        return signatures.example_requests(self)

    def classify(self, series: np.ndarray | Sequence[np.ndarray]) -> Classification:
        """Labels and class probabilities for raw series.

        Args:
            series: one series `[T, C]`, a batch `[B, T, C]` of equal length,
                or a list of `[T_i, C]` arrays of different lengths.

        Returns:
            `Classification(labels, scores)`: `labels` a list of B strings,
            `scores` a float32 array `[B, K]` ordered as `class_names`.

        Raises:
            ValueError: naming `series` and what was expected.
        """
        return signatures.classify(self, series)

    def predict_file(self, path):
        """Readable predictions for the series in a `.npy`, `.csv` or `.json` file."""
        return signatures.predict_file(self, path)

    def predict_records(self, inputs):
        result = self.classify(read_series(inputs))
        return [{"series": i, "label": label, "scores": {n: round(float(p), 6) for n, p in zip(self.class_names, row)}}
                for i, (label, row) in enumerate(zip(result.labels, result.scores))]

    def evaluate_split(self, split="test"):
        """The card's metrics recomputed on `split` of its dataset: a `SensorEvaluation`."""
        from zoo.sensor import evaluation

        return evaluation.evaluate_split(self, split)

    def demo(self):
        from zoo.sensor import demo

        return demo.demo_lines(self)
