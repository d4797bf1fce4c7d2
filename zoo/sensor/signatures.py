"""The sensor classifier's serving signatures and the Python API built on them (`classify`, `predict_file`).

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `series` float32 `[B, T, C]` | `label` string `[B]`, `scores` float32 `[B, K]` |
| `classify_padded` | `series` float32 `[B, T, C]` zero-padded, `lengths` int32 `[B]` | same |

`serving_default` takes a batch of equal-length series (every REST row the same
length); `classify_padded` takes series of different lengths in one batch.
"""

import numpy as np
import tensorflow as tf

from zoo.base import Classification
from zoo.sensor.io import read_series
from zoo.validation import as_value_error, check

TOP_CLASSES = 3  # alternatives `predict_file` shows per series

_SERIES = tf.TensorSpec([None, None, None], tf.float32, name="series")
_LENGTHS = tf.TensorSpec([None], tf.int32, name="lengths")


def _validate(model, series, lengths):
    shape = tf.shape(series)
    expected = f"float32 (batch, time, {model.num_channels})"
    return [
        check(shape[0] > 0, f"series: empty batch; expected {expected} with batch >= 1"),
        check(shape[1] > 0, f"series: length 0; expected {expected} with time >= 1"),
        check(
            shape[1] <= model.max_length,
            f"series: longer than the max_length {model.max_length}; expected {expected}",
        ),
        check(
            shape[2] == model.num_channels,
            f"series: wrong channel count; expected {expected} with {model.num_channels} channels",
        ),
        check(
            tf.reduce_all(tf.math.is_finite(series)),
            f"series: NaN or infinite value; expected finite {expected}",
        ),
        check(tf.size(lengths) == shape[0], "lengths: expected int32 (batch,), one length per series"),
        check(
            tf.reduce_all((lengths >= 1) & (lengths <= shape[1])),
            "lengths: expected every length in 1..time of series",
        ),
    ]


def signatures(model):
    class_names = tf.constant(model.class_names)

    @tf.function(input_signature=[_SERIES, _LENGTHS])
    def classify_padded(series, lengths):
        with tf.control_dependencies(_validate(model, series, lengths)):
            series = tf.ensure_shape(series, [None, None, model.num_channels])
            scores = model({"series": series, "lengths": lengths}, training=False)
        return {"label": tf.gather(class_names, tf.argmax(scores, axis=-1)), "scores": scores}

    @tf.function(input_signature=[_SERIES])
    def serving_default(series):
        shape = tf.shape(series)
        return classify_padded(series, tf.fill(shape[:1], shape[1]))

    return {"serving_default": serving_default, "classify_padded": classify_padded}


def example_requests(model):
    rng = np.random.default_rng(0)
    mean, std = np.array(model.channel_mean), np.array(model.channel_std)
    series = np.round(mean + std * rng.standard_normal((2, 8, model.num_channels)), 3).astype(np.float32)
    lengths = np.array([8, 5], np.int32)
    series[1, 5:] = 0.0
    return {
        "serving_default": {"series": series[:1]},
        "classify_padded": {"series": series, "lengths": lengths},
    }


def _as_batch(model, series):
    """Raw input → `(padded [B, T, C] float32, lengths [B] int32)`, or a clear ValueError."""
    expected = f"float32 (time, {model.num_channels}) or (batch, time, {model.num_channels}), or a list of (time, {model.num_channels}) arrays"
    if isinstance(series, (list, tuple)) and series and all(np.ndim(s) == 2 for s in series):
        items = list(series)
    else:
        array = np.asarray(series)
        if array.ndim == 2:
            items = [array]
        elif array.ndim == 3:
            items = list(array)
        else:
            raise ValueError(f"series: got rank {array.ndim} with shape {array.shape}; expected {expected}")
    if not items:
        raise ValueError(f"series: empty batch; expected {expected}")
    converted = []
    for i, item in enumerate(items):
        item = np.asarray(item)
        if item.dtype.kind not in "biuf":
            raise ValueError(f"series[{i}]: got dtype {item.dtype}; expected numbers, {expected}")
        if item.ndim != 2:
            raise ValueError(f"series[{i}]: got shape {item.shape}; expected {expected}")
        if item.shape[1] != model.num_channels:
            raise ValueError(
                f"series[{i}]: got {item.shape[1]} channels; expected {expected} "
                f"with {model.num_channels} channels"
            )
        converted.append(item.astype(np.float32))
    return pad(converted)


def pad(series):
    """Stacks `[T_i, C]` arrays into a zero-padded `[N, T_max, C]` float32 batch plus lengths `[N]`."""
    lengths = np.array([len(s) for s in series], np.int32)
    batch = np.zeros((len(series), lengths.max(initial=0), series[0].shape[1]), np.float32)
    for i, s in enumerate(series):
        batch[i, : len(s)] = s
    return batch, lengths


def classify(model, series):
    batch, lengths = _as_batch(model, series)
    with as_value_error():
        outputs = model.signatures["classify_padded"](tf.constant(batch), tf.constant(lengths))
    labels = [label.decode("utf-8") for label in outputs["label"].numpy()]
    return Classification(labels, outputs["scores"].numpy())


def predict_file(model, path):
    """Readable predictions for the series in a `.npy`, `.csv` or `.json` file: one line per series."""
    result = classify(model, read_series(path))
    top = min(TOP_CLASSES, len(model.class_names))
    lines = []
    for i, (label, scores) in enumerate(zip(result.labels, result.scores)):
        best = np.argsort(scores)[::-1][:top]
        alternatives = ", ".join(f"{model.class_names[k]} {scores[k]:.3f}" for k in best)
        lines.append(f"series {i}: {label}   ({alternatives})")
    return "\n".join(lines)
