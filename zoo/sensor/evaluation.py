"""Classification metrics recorded in model cards and recomputed by `zoo evaluate`.

>>> result = SensorEvaluation(classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], ["rest", "walk"]))
>>> str(result), result["confusion_matrix"]
('accuracy 0.7500 (1 errors of 4)', [[2, 0], [1, 1]])
"""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from zoo.evaluation import AccuracyEvaluation
from zoo.sensor import data as sensor_data


class SensorEvaluation(AccuracyEvaluation):
    """`accuracy`, `macro_f1`, `errors`, `examples` and the `confusion_matrix` (rows true, columns predicted)."""

    TASK = "sensor-classification"


def classification_metrics(y_true, y_pred, class_names):
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro")),
        "errors": int(np.sum(np.asarray(y_true) != np.asarray(y_pred))),
        "examples": int(len(y_true)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(len(class_names))).tolist(),
    }


def evaluate(model, data):
    """The `SensorEvaluation` of a classifier (anything with `classify` and `class_names`) on a
    `uea.SensorSplit`: every series classified, its class compared with the label."""
    predicted = np.argmax(model.classify(data.series).scores, axis=1)
    return SensorEvaluation(classification_metrics(data.labels, predicted, model.class_names))


def evaluate_split(model, split="test"):
    """`evaluate` on a split of the dataset the model's card names (`zoo evaluate`)."""
    return evaluate(model, sensor_data.load_split(model.card["dataset"], split))
