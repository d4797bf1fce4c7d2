"""What `zoo demo` prints for a sensor classifier: a few TEST series of its dataset, predicted.

The series come bundled with the zoo (`demo_series.json`: `DEMO_SERIES` TEST
series of each published dataset, picked with `DEMO_SEED`), so the demo
needs no `[data]` extra; another dataset's are read from the archive, or from
the user's files a model trained with `--data` names (their validation series
where there is no test file). `write_samples()` rewrites the file from the archive.
"""

import json
from importlib import resources

import numpy as np

from zoo.sensor import data as sensor_data

DEMO_SERIES = 5  # TEST series shown, at most
DEMO_SEED = 0  # which ones: the same every run
SAMPLES = "demo_series.json"
BUNDLED_DATASETS = ("BasicMotions", "JapaneseVowels", "GunPoint", "PLAID")


def picked(count):
    """The indices of the TEST series the demo shows, of a TEST split of `count` series."""
    return np.random.default_rng(DEMO_SEED).choice(count, size=min(DEMO_SERIES, count), replace=False)


def samples_from_data(dataset):
    """`{"split", "class_names", "series": [{"index", "values", "label"}]}`: the picked series of the dataset a
    card's section names, of its TEST split (of validation where the user gave no test file)."""
    split = "validation" if dataset.get("examples", {}).get("test") == 0 else "test"
    data = sensor_data.load_split(dataset, split)
    return {"split": split, "class_names": list(data.class_names),
            "series": [{"index": int(i), "values": np.asarray(data.series[i]).tolist(),
                        "label": data.class_names[data.labels[i]]} for i in picked(len(data))]}


def write_samples(path=None):
    """Writes the bundled samples of `BUNDLED_DATASETS` from the UEA archive (needs the `[data]` extra)."""
    path = path or resources.files("zoo.sensor").joinpath(SAMPLES)
    path.write_text(json.dumps({name: samples_from_data({"name": name}) for name in BUNDLED_DATASETS}) + "\n")


def samples(dataset):
    """The picked series of the dataset a card's section names: bundled, or read from the data."""
    bundled = json.loads(resources.files("zoo.sensor").joinpath(SAMPLES).read_text())
    return bundled[dataset["name"]] if "files" not in dataset and dataset["name"] in bundled \
        else samples_from_data(dataset)


def demo_lines(model):
    """One line per picked TEST series: its length, the predicted label and probability, the true label."""
    shown = samples(model.card["dataset"])
    picks = shown["series"]
    result = model.classify([np.asarray(pick["values"], np.float32) for pick in picks])
    lines = []
    for pick, label, scores in zip(picks, result.labels, result.scores):
        mark = "ok" if label == pick["label"] else "WRONG"
        lines.append(
            f"  {shown['split']} #{pick['index']:<4d} {len(pick['values']):>4d} steps  predicted {label!r:<12} "
            f"p={scores.max():.3f}  true {pick['label']!r:<12} {mark}"
        )
    return "\n".join(lines)
