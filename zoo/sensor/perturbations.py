"""What real sensors do to a series: noise, another sampling rate, a calibration offset or gain.

Each perturbation maps a raw series `[T, C]` to another, in units of the
standard deviation of each channel over the training data (`std`, the
model's `channel_std`). `robustness` scores a zoo model on a split under
each of `STANDARD`, the perturbations the cards and `bench/sensor.py` report;
`accuracy_under_perturbations` scores any classifier (the bench's baselines).

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
    return accuracy_under_perturbations(lambda series: np.argmax(model.classify(series).scores, axis=1),
                                        data, model.channel_std, seed)


def accuracy_under_perturbations(predict, data, std, seed=0):
    """`robustness` of any classifier: `predict` maps a list of `[T, C]` series to their class indices, `std`
    is each channel's standard deviation over the training data (the baselines of `bench/sensor.py` are
    scored under the same perturbations as the zoo's models).

    >>> from types import SimpleNamespace
    >>> data = SimpleNamespace(series=[np.full((4, 1), 5.0), np.full((4, 1), -5.0)], labels=[0, 1])
    >>> accuracy_under_perturbations(lambda s: [int(x.mean() < 0) for x in s], data, np.ones(1))["gain x1.2"]
    1.0
    """
    std = np.asarray(std)
    labels = np.asarray(data.labels)
    accuracy = {}
    for name, perturb in {"clean": lambda s, std, rng: s, **STANDARD}.items():
        rng = np.random.default_rng(seed)
        series = [perturb(np.asarray(s, np.float64), std, rng).astype(np.float32) for s in data.series]
        accuracy[name] = float(np.mean(np.asarray(predict(series)) == labels))
    return accuracy
