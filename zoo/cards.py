"""The model card keys every recipe writes, in one typed place.

`ZooModel.export_serving` completes a card with what the model knows of itself
(name, version, task, parameters, versions, signatures); the recipe says
what only the run knows: what was trained on what, how well it did, how
long it took and the command that did it.
"""

import dataclasses

from zoo.training import recipe_command

WEIGHTS_LICENSE = "Apache-2.0"


@dataclasses.dataclass
class RecipeCard:
    """What a recipe records about its run.

    Attributes:
        description: one line: the network and what it does.
        dataset: the dataset section (`<dataset>.describe()` plus `examples` per split).
        input: what the model accepts, and what it refuses.
        test_metrics, validation_metrics: the task's `Evaluation`s.
        hyperparameters: the flags that decide what was trained (`training.run_flags`).
        training_seconds: the epochs' wall clock, summed over resumptions.
        data_license: the data's licence (the weights are Apache-2.0).
        extra: the task's own keys (class names, baselines, more metrics).
    """

    description: str
    dataset: dict
    input: str
    test_metrics: dict
    validation_metrics: dict
    hyperparameters: dict
    training_seconds: float
    data_license: str
    extra: dict = dataclasses.field(default_factory=dict)

    def to_dict(self):
        """The card as `ZooModel.export_serving` takes it, with the exact command that ran this recipe."""
        return {
            "description": self.description,
            "dataset": self.dataset,
            "input": self.input,
            "test_metrics": self.test_metrics,
            "validation_metrics": self.validation_metrics,
            **self.extra,
            "hyperparameters": self.hyperparameters,
            "training_seconds": round(self.training_seconds, 1),
            "recipe_command": recipe_command(),
            "license": f"{WEIGHTS_LICENSE} (weights); data: {self.data_license}",
        }


def language_model_note(language_model, fine_tuned):
    """What a card's description adds for a model built on a pretrained language model (`None`: nothing).

    >>> language_model_note("lm_english", fine_tuned=False)
    ', reading through the frozen lm_english language model'
    """
    if language_model is None:
        return ""
    return f", reading through the {'fine-tuned' if fine_tuned else 'frozen'} {language_model} language model"
