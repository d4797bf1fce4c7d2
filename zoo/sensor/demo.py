"""What `zoo demo` prints for a sensor classifier: a few TEST series of its dataset, predicted."""

import numpy as np

from zoo.sensor import data as sensor_data

DEMO_SERIES = 5  # TEST series shown, at most
DEMO_SEED = 0  # which ones: the same every run


def demo_lines(model):
    """One line per picked TEST series: its length, the predicted label and probability, the true label."""
    data = sensor_data.load_split(model.card["dataset"], "test")
    picks = np.random.default_rng(DEMO_SEED).choice(len(data), size=min(DEMO_SERIES, len(data)), replace=False)
    result = model.classify([data.series[i] for i in picks])
    lines = []
    for i, label, scores in zip(picks, result.labels, result.scores):
        truth = data.class_names[data.labels[i]]
        mark = "ok" if label == truth else "WRONG"
        lines.append(
            f"  test #{i:<4d} {len(data.series[i]):>4d} steps  predicted {label!r:<12} "
            f"p={scores.max():.3f}  true {truth!r:<12} {mark}"
        )
    return "\n".join(lines)
