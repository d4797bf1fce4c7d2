"""What real sensors do to a series: noise, another sampling rate, a calibration offset or gain.

Each perturbation maps a raw series `[T, C]` to another, in units of the
standard deviation of each channel over the training data (`std`, the
model's `channel_std`). `robustness` scores a classifier on a split under
each of `STANDARD`, the perturbations the cards and `bench/sensor.py` report.

>>> series = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
>>> resample(series, 2.0).shape, offset(series, 0.5, np.array([2.0, 4.0]))[0].tolist()
((6, 2), [1.0, 3.0])
"""

import numpy as np


def noise(series, scale, std, rng):
    """Gaussian noise of `scale` standard deviations added to every value."""
    return series + rng.normal(size=series.shape) * scale * std


def resample(series, factor):
    """The series sampled `factor` times as often (linear interpolation; at least one step)."""
    steps = max(1, round(len(series) * factor))
    old = np.linspace(0.0, 1.0, len(series))
    new = np.linspace(0.0, 1.0, steps)
    return np.stack([np.interp(new, old, series[:, c]) for c in range(series.shape[1])], axis=1)


def offset(series, amount, std):
    """Every value shifted by `amount` standard deviations of its channel (a calibration offset)."""
    return series + amount * std


def gain(series, factor):
    """Every value multiplied by `factor` (a sensor of another gain)."""
    return series * factor


MAX_RESAMPLING = 1.25  # the most a standard perturbation lengthens a series
STANDARD = {  # name -> (series, std, rng) -> series
    "noise 0.1 std": lambda s, std, rng: noise(s, 0.1, std, rng),
    "noise 0.3 std": lambda s, std, rng: noise(s, 0.3, std, rng),
    "resampled x0.8": lambda s, std, rng: resample(s, 0.8),
    f"resampled x{MAX_RESAMPLING:g}": lambda s, std, rng: resample(s, MAX_RESAMPLING),
    "offset +0.5 std": lambda s, std, rng: offset(s, 0.5, std),
    "gain x1.2": lambda s, std, rng: gain(s, 1.2),
}


def robustness(model, data, seed=0):
    """`{"clean": accuracy, perturbation: accuracy, ...}` of `model` on the `uea.SensorSplit` `data`, each of
    `STANDARD` applied to every series (noise drawn with `seed`)."""
    std = np.asarray(model.channel_std)
    labels = np.asarray(data.labels)
    accuracy = {}
    for name, perturb in {"clean": lambda s, std, rng: s, **STANDARD}.items():
        rng = np.random.default_rng(seed)
        series = [perturb(np.asarray(s, np.float64), std, rng).astype(np.float32) for s in data.series]
        accuracy[name] = float(np.mean(np.argmax(model.classify(series).scores, axis=1) == labels))
    return accuracy
