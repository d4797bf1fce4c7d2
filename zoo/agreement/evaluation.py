"""Agreement metrics (accuracy overall, by subject–verb distance and by number of attractors) and `evaluate`."""

import numpy as np

from zoo.agreement import data as agreement_data
from zoo.datasets import constructed_agreement
from zoo.evaluation import AccuracyEvaluation, accuracy

DISTANCE_BUCKETS = ((1, 1), (2, 4), (5, 9), (10, 14), (15, None))  # inclusive; None: no upper end
ATTRACTOR_BUCKETS = ((0, 0), (1, 1), (2, 2), (3, None))


def _bucket_name(low, high):
    return str(low) if low == high else f"{low}+" if high is None else f"{low}-{high}"


def _by(values, buckets, correct):
    buckets = [(low, np.inf if high is None else high, _bucket_name(low, high)) for low, high in buckets]
    return {name: accuracy(correct[(values >= low) & (values <= high)]) for low, high, name in buckets}


def agreement_metrics(labels, predicted, distances, attractors, label_names=("singular", "plural")):
    """Metrics of predicted against true verb numbers.

    Returns:
        A JSON-able dict: `accuracy`, `errors`, `examples`, `confusion_matrix`
        (rows true, columns predicted), `by_distance` and `by_attractors`
        (accuracy and examples per bucket), `distance_5_plus` and
        `with_attractors` (one attractor or more).

    >>> m = agreement_metrics([0, 1, 1], [0, 1, 0], distances=[1, 6, 7], attractors=[0, 0, 1])
    >>> m["accuracy"], m["by_distance"]["5-9"]
    (0.6666666666666666, {'accuracy': 0.5, 'examples': 2})
    >>> m["by_attractors"]["0"], m["with_attractors"]
    ({'accuracy': 1.0, 'examples': 2}, {'accuracy': 0.0, 'examples': 1})
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    distances, attractors = np.asarray(distances), np.asarray(attractors)
    correct = labels == predicted
    matrix = np.zeros((len(label_names), len(label_names)), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return {
        "accuracy": float(correct.mean()),
        "errors": int((~correct).sum()),
        "examples": int(correct.size),
        "confusion_matrix": matrix.tolist(),
        "by_distance": _by(distances, DISTANCE_BUCKETS, correct),
        "by_attractors": _by(attractors, ATTRACTOR_BUCKETS, correct),
        "distance_5_plus": accuracy(correct[distances >= 5]),
        "with_attractors": accuracy(correct[attractors >= 1]),
    }


class AgreementEvaluation(AccuracyEvaluation):
    """An agreement classifier's metrics (`agreement_metrics`), headed by accuracy."""

    TASK = "number-agreement"


def evaluate(model, data):
    """The `AgreementEvaluation` of a model (or anything with `predict_tokens`) on `AgreementExamples`."""
    predicted = np.argmax(model.predict_tokens(data.prefixes).scores, axis=1)
    return AgreementEvaluation(agreement_metrics(data.labels, predicted, data.distances, data.attractors))


def majority_metrics(train_labels, data):
    """The metrics of always answering the most frequent number of training."""
    majority = int(np.bincount(train_labels, minlength=2).argmax())
    return AgreementEvaluation(
        agreement_metrics(data.labels, np.full(len(data), majority), data.distances, data.attractors))


def evaluate_split(model, split="test"):
    """`evaluate` on a split of the dataset the model card names."""
    dataset = model.card["dataset"] if model.card else None
    return evaluate(model, agreement_data.load_split(dataset, split))


def evaluate_constructed(model, examples=None):
    """`zoo.datasets.constructed_agreement.metrics` of an agreement classifier (anything with `predict_tokens`)
    on constructed examples (all of `constructed_agreement.examples()` by default)."""
    examples = constructed_agreement.examples() if examples is None else examples
    predicted = np.argmax(model.predict_tokens([list(e.prefix) for e in examples]).scores, axis=1)
    return constructed_agreement.metrics(examples, predicted)
