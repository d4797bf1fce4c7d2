"""Classification metrics recorded in model cards and recomputed by `zoo evaluate`."""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def classification_metrics(y_true, y_pred, class_names):
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro")),
        "errors": int(np.sum(np.asarray(y_true) != np.asarray(y_pred))),
        "examples": int(len(y_true)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(len(class_names))).tolist(),
    }
