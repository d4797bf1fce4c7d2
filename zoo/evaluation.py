"""What every task's `evaluate(model, data)` returns: metrics that know their headline figure and how to
print themselves.

Each task's `evaluation.py` subclasses `Evaluation` once, naming its `TASK`
(whose headline metric `HEADLINES` holds) and the figures that go with it. The recipe writes the
result into the model card (it is the card's JSON-able dict), `zoo evaluate`
recomputes it and compares headlines, `zoo list` reads the headline of a
card, and the benches print it: none of them needs to know the task.

>>> class Accuracy(Evaluation):
...     HEADLINE = "accuracy"
...     def details(self):
...         return f"{self['errors']} errors of {self['examples']}"
>>> result = Accuracy({"accuracy": 0.75, "errors": 1, "examples": 4})
>>> result.headline, result.short(), str(result)
(0.75, '75.0% acc', 'accuracy 0.7500 (1 errors of 4)')
"""

from zoo import tasks

# every task of the zoo and the metric that heads its results, readable without importing the task
HEADLINES = {task.task: task.headline for task in tasks.TASKS}
TASKS = {}  # task name -> its Evaluation subclass


def short_headline(card, key="test_metrics"):
    """A model card's headline figure as `zoo list` prints it (`96.7% acc`, `BLEU 32.1`), `-` without one.

    >>> short_headline({"task": "translation", "test_metrics": {"bleu": 38.69, "chrf": 58.1}})
    'BLEU 38.7'
    """
    metric, metrics = HEADLINES.get(card.get("task")), card.get(key) or {}
    return _short(metric, metrics[metric]) if metric in metrics else "-"


def accuracy(correct):
    """The accuracy and number of a NumPy array of answers, each right (`True`) or wrong; `None` if empty.

    >>> import numpy as np
    >>> accuracy(np.array([True, False, True, True])), accuracy(np.array([], bool))
    ({'accuracy': 0.75, 'examples': 4}, {'accuracy': None, 'examples': 0})
    """
    return {"accuracy": float(correct.mean()) if correct.size else None, "examples": int(correct.size)}


def _short(metric, value):
    return f"{value * 100:.1f}% acc" if metric == "accuracy" else f"{metric.upper()} {value:.1f}"


class Evaluation(dict):
    """One evaluation's metrics: a JSON-able dict (as model cards record it) with a headline figure.

    Subclasses set `TASK` (the model card's task, so a card's metrics find
    their class; its `HEADLINE`, the key of the one figure that sums the
    result up, comes from `HEADLINES`) and override `details()`.
    """

    TASK = None
    HEADLINE = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.TASK is not None:
            cls.HEADLINE = HEADLINES[cls.TASK]
            TASKS[cls.TASK] = cls

    @classmethod
    def of_card(cls, card, key="test_metrics"):
        """The metrics a model card records under `key`, as its task's `Evaluation`; `None` if it has none."""
        metrics = card.get(key)
        result_class = TASKS.get(card.get("task"))
        return result_class(metrics) if metrics and result_class else None

    @property
    def headline(self):
        return self[self.HEADLINE]

    def short(self):
        """The headline as `zoo list` prints it: `96.7% acc`, `BLEU 32.1`."""
        return _short(self.HEADLINE, self.headline)

    def details(self):
        """What goes with the headline figure (error counts, other scores, sizes)."""
        return ""

    def matches(self, other):
        """Whether another evaluation of the same model reproduces this headline figure exactly (to 1e-9)."""
        return abs(self.headline - other.headline) < 1e-9

    def __str__(self):
        details = self.details()
        return f"{self.HEADLINE} {self.headline:.4f}" + (f" ({details})" if details else "")


class AccuracyEvaluation(Evaluation):
    """A classifier's or tagger's metrics, headed by `accuracy` over `examples` with `errors` wrong."""

    HEADLINE = "accuracy"

    def details(self):
        return f"{self['errors']} errors of {self['examples']}"
