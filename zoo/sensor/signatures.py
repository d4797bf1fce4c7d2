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
from zoo.batches import by_length
from zoo.sensor.io import read_series
from zoo.validation import as_value_error, check

TOP_CLASSES = 3  # alternatives `predict_file` shows per series
BATCH_SIZE = 64  # series per signature call in the Python API

_SERIES = tf.TensorSpec([None, None, None], tf.float32, name="series")
_LENGTHS = tf.TensorSpec([None], tf.int32, name="lengths")


def _validate(model, series, lengths):
    shape = tf.shape(series)
    expected = f"float32 (batch, time, {model.num_channels})"
    return [
        check((shape[0] == 0) | (shape[1] > 0), f"series: length 0; expected {expected} with time >= 1"),
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

    @tf.function(input_signature=[_SERIES, _LENGTHS], autograph=False)
    def classify_padded(series, lengths):
        with tf.control_dependencies(_validate(model, series, lengths)):
            series = tf.ensure_shape(series, [None, None, model.num_channels])
            steps = tf.shape(series)[1]  # 0 only in an empty batch, which the recurrence needs a step for
            series = tf.pad(series, [[0, 0], [0, tf.maximum(steps, 1) - steps], [0, 0]])
            scores = model({"series": series, "lengths": lengths}, training=False)
        return {"label": tf.gather(class_names, tf.argmax(scores, axis=-1)), "scores": scores}

    @tf.function(input_signature=[_SERIES], autograph=False)
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


def _as_items(model, series):
    """Raw input → a list of `[T_i, C]` arrays, each checked (shape, dtype, length) before it is copied."""
    expected = (f"float32 (time, {model.num_channels}) or (batch, time, {model.num_channels}), or a list of "
                f"(time, {model.num_channels}) arrays")
    if isinstance(series, (list, tuple)) and all(np.ndim(s) == 2 for s in series):
        items = list(series)
    elif isinstance(series, (list, tuple, np.ndarray)) or hasattr(series, "__array__"):
        try:
            array = np.asarray(series)
        except ValueError:
            raise ValueError(f"series: neither one array nor a list of 2-D arrays; expected {expected}") from None
        if array.ndim not in (2, 3):
            raise ValueError(f"series: got rank {array.ndim} with shape {array.shape}; expected {expected}")
        items = [array] if array.ndim == 2 else list(array)
    else:
        raise ValueError(f"series: got {type(series).__name__}; expected {expected}")
    for i, item in enumerate(items):
        _check_item(model, f"series[{i}]", np.asarray(item), expected)
    return [np.asarray(item) for item in items]


def _check_item(model, name, item, expected):
    if item.dtype.kind not in "biuf":
        raise ValueError(f"{name}: got dtype {item.dtype}; expected numbers, {expected}")
    if item.ndim != 2:
        raise ValueError(f"{name}: got shape {item.shape}; expected {expected}")
    if item.shape[1] != model.num_channels:
        raise ValueError(f"{name}: got {item.shape[1]} channels; expected {expected} with {model.num_channels} "
                         "channels")
    if not 1 <= item.shape[0] <= model.max_length:
        problem = "length 0" if not item.shape[0] else f"{item.shape[0]} steps, longer than the max_length"
        raise ValueError(f"{name}: {problem}; expected {expected} with 1 to max_length {model.max_length} "
                         "time steps")


def pad(series):
    """Stacks `[T_i, C]` arrays into a zero-padded `[N, T_max, C]` float32 batch plus lengths `[N]`."""
    lengths = np.array([len(s) for s in series], np.int32)
    batch = np.zeros((len(series), lengths.max(initial=0), series[0].shape[1]), np.float32)
    for i, s in enumerate(series):
        batch[i, : len(s)] = s
    return batch, lengths


def classify(model, series):
    """Labels and class probabilities of raw series, `BATCH_SIZE` series of similar length per signature call."""
    def run(batch):
        padded, lengths = pad(batch)
        with as_value_error():
            outputs = model.signatures["classify_padded"](tf.constant(padded), tf.constant(lengths))
        return zip((label.decode("utf-8") for label in outputs["label"].numpy()), outputs["scores"].numpy())

    results = by_length(run, _as_items(model, series), BATCH_SIZE)
    scores = np.array([s for _, s in results], np.float32).reshape(len(results), len(model.class_names))
    return Classification([label for label, _ in results], scores)


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
