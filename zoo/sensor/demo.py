"""What `zoo demo` prints for a sensor classifier: a few TEST series of its dataset, predicted.

The series come bundled with the zoo (`demo_series.json`: `DEMO_SERIES` TEST
series of each published dataset, picked with `DEMO_SEED`), so the demo
needs no `[data]` extra; another dataset's are read from the UEA archive.
`write_samples()` rewrites the file from the archive.
"""

import json
from importlib import resources

import numpy as np

from zoo.sensor import data as sensor_data

DEMO_SERIES = 5  # TEST series shown, at most
DEMO_SEED = 0  # which ones: the same every run
SAMPLES = "demo_series.json"
BUNDLED_DATASETS = ("BasicMotions", "JapaneseVowels")


def picked(count):
    """The indices of the TEST series the demo shows, of a TEST split of `count` series."""
    return np.random.default_rng(DEMO_SEED).choice(count, size=min(DEMO_SERIES, count), replace=False)


def samples_from_archive(name):
    """`{"class_names", "series": [{"index", "values", "label"}]}`: the picked TEST series of a UEA dataset."""
    data = sensor_data.load_split({"name": name}, "test")
    return {"class_names": list(data.class_names),
            "series": [{"index": int(i), "values": np.asarray(data.series[i]).tolist(),
                        "label": data.class_names[data.labels[i]]} for i in picked(len(data))]}


def write_samples(path=None):
    """Writes the bundled samples of `BUNDLED_DATASETS` from the UEA archive (needs the `[data]` extra)."""
    path = path or resources.files("zoo.sensor").joinpath(SAMPLES)
    path.write_text(json.dumps({name: samples_from_archive(name) for name in BUNDLED_DATASETS}) + "\n")


def samples(name):
    """The picked TEST series of dataset `name`: bundled, or read from the UEA archive."""
    bundled = json.loads(resources.files("zoo.sensor").joinpath(SAMPLES).read_text())
    return bundled[name] if name in bundled else samples_from_archive(name)


def demo_lines(model):
    """One line per picked TEST series: its length, the predicted label and probability, the true label."""
    picks = samples(model.card["dataset"]["name"])["series"]
    result = model.classify([np.asarray(pick["values"], np.float32) for pick in picks])
    lines = []
    for pick, label, scores in zip(picks, result.labels, result.scores):
        mark = "ok" if label == pick["label"] else "WRONG"
        lines.append(
            f"  test #{pick['index']:<4d} {len(pick['values']):>4d} steps  predicted {label!r:<12} "
            f"p={scores.max():.3f}  true {pick['label']!r:<12} {mark}"
        )
    return "\n".join(lines)
