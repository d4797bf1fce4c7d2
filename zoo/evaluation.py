"""What every task's `evaluate(model, data)` returns: metrics that know their headline figure and how to
print themselves.

Each task's `evaluation.py` subclasses `Evaluation` once, naming its `TASK`,
its `HEADLINE` metric and the figures that go with it. The recipe writes the
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

TASKS = {}  # task name -> its Evaluation subclass


class Evaluation(dict):
    """One evaluation's metrics: a JSON-able dict (as model cards record it) with a headline figure.

    Subclasses set `TASK` (the model card's task, so a card's metrics find
    their class) and `HEADLINE` (the key of the one figure that sums the
    result up; an accuracy in [0, 1] or a BLEU score in [0, 100]), and
    override `details()`.
    """

    TASK = None
    HEADLINE = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.TASK is not None:
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
        if self.HEADLINE == "accuracy":
            return f"{self.headline * 100:.1f}% acc"
        return f"{self.HEADLINE.upper()} {self.headline:.1f}"

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
