"""Tagging metrics (token accuracy, accuracy on unseen words, per-tag precision/recall/F1) and `evaluate`."""

import collections

import numpy as np

from zoo.evaluation import AccuracyEvaluation
from zoo.tagging import data as tagging_data


def tagging_metrics(words, gold, predicted, known_words, tag_names):
    """Metrics of predicted against gold tags, sentence-aligned.

    Args:
        words, gold, predicted: lists of sentences (lists of tokens / tags).
        known_words: the token forms seen in training; a test token whose
            exact form is not among them counts as unseen.
        tag_names: the tags to report per tag and in the confusion matrix.

    Returns:
        A JSON-able dict: `accuracy`, `errors`, `examples` (tokens),
        `unseen_accuracy`, `unseen_tokens`, `sentence_accuracy`, `macro_f1`,
        `per_tag` (precision, recall, f1, support), `top_confusions` and
        `confusion_matrix` (rows gold, columns predicted, in `tag_names` order).

    >>> m = tagging_metrics([["a", "b"]], [["X", "Y"]], [["X", "X"]], {"a"}, ["X", "Y"])
    >>> m["accuracy"], m["unseen_accuracy"], m["per_tag"]["X"]["precision"]
    (0.5, 0.0, 0.5)
    """
    flat_words = [w for sentence in words for w in sentence]
    flat_gold = [t for sentence in gold for t in sentence]
    flat_predicted = [t for sentence in predicted for t in sentence]
    if not (len(flat_words) == len(flat_gold) == len(flat_predicted)):
        raise ValueError("words, gold and predicted must have the same tokens")
    correct = np.array([g == p for g, p in zip(flat_gold, flat_predicted)])
    unseen = np.array([w not in known_words for w in flat_words])
    pairs = collections.Counter(zip(flat_gold, flat_predicted))
    per_tag = {}
    for tag in tag_names:
        true_positive = pairs[tag, tag]
        predicted_count = sum(n for (_, p), n in pairs.items() if p == tag)
        support = sum(n for (g, _), n in pairs.items() if g == tag)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_tag[tag] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                        "support": support}
    index = {t: i for i, t in enumerate(tag_names)}
    matrix = np.zeros((len(tag_names), len(tag_names)), np.int64)
    for (g, p), n in pairs.items():
        if g in index and p in index:
            matrix[index[g], index[p]] += n
    confusions = sorted(((n, g, p) for (g, p), n in pairs.items() if g != p), reverse=True)[:20]
    supported = [m["f1"] for m in per_tag.values() if m["support"]]
    return {
        "accuracy": float(correct.mean()),
        "errors": int((~correct).sum()),
        "examples": len(flat_gold),
        "unseen_accuracy": float(correct[unseen].mean()) if unseen.any() else None,
        "unseen_tokens": int(unseen.sum()),
        "sentence_accuracy": float(np.mean([g == p for g, p in zip(gold, predicted)])),
        "macro_f1": float(np.mean(supported)) if supported else 0.0,
        "per_tag": per_tag,
        "top_confusions": [{"gold": g, "predicted": p, "count": n} for n, g, p in confusions],
        "confusion_matrix": matrix.tolist(),
    }


class TaggingEvaluation(AccuracyEvaluation):
    """A tagger's metrics (`tagging_metrics`), headed by token accuracy."""

    TASK = "pos-tagging"


def evaluate(model, data, train):
    """Tags `data` (`TaggedSentences`) from its gold tokens and scores the tags against its gold ones.

    Args:
        model: a `SequenceTagger` (anything with `tag_tokens` and `tag_names`).
        data: the sentences to tag.
        train: the sentences the model was trained on: a token whose exact
            form is not among theirs counts as unseen.

    Returns:
        A `TaggingEvaluation`.
    """
    known = {w for sentence in train.words for w in sentence}
    predicted = [[tag for _, tag in row] for row in model.tag_tokens(data.words)]
    return TaggingEvaluation(tagging_metrics(data.words, data.tags, predicted, known, model.tag_names))


def evaluate_split(model, split="test"):
    """`evaluate` on a split of the dataset the model card names (unseen words: those not in its `train`)."""
    dataset = model.card["dataset"]
    return evaluate(model, tagging_data.load_split(dataset, split), tagging_data.load_split(dataset, "train"))
