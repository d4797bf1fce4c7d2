"""The zoo's tasks, one `Task` record each: every list of tasks in the zoo is derived from `TASKS`.

`zoo`'s model classes, `zoo.load`'s registration of them with Keras, the
headline metric of each model card's task (`zoo.evaluation.HEADLINES`), the
`zoo train` recipes (`zoo.recipes.RECIPES`) and the tests' task packages and
fixtures all read `TASKS`. It imports neither TensorFlow nor Keras, so
`zoo list` and `zoo --help` read it without loading a model. Adding a task is
one folder `zoo/<task>/`, one `Task` in `TASKS`, its recipe and its tests
(docs/architecture.md).

Example:

>>> from zoo.tasks import TASKS
>>> [task.task for task in TASKS if task.headline == "bleu"]
['translation', 'image-captioning']
>>> tagging = next(task for task in TASKS if task.train == "pos")
>>> tagging.package, tagging.model, tagging.recipe, tagging.input_kind
('zoo.tagging', 'SequenceTagger', 'pos_tagging', 'text')
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Task:
    """One task of the zoo.

    Attributes:
        package: the task's package, which exports `model`: `zoo.tagging`.
        model: the name of its `ZooModel` subclass, also a public name of `zoo`: `SequenceTagger`.
        task: the model card's `task`, the model's and its `Evaluation`'s `TASK`: `pos-tagging`.
        headline: the metric that heads its evaluations: `accuracy`, `bleu` or `perplexity`.
        train: the name `zoo train` runs its recipe by: `pos`.
        recipe: the recipe's module in `zoo.recipes` (and its script in a checkout's `recipes/`): `pos_tagging`.
        input_kind: what its model reads, the model's `INPUT_KIND`: `text`, `image` or `series`.
        fixtures: the tests' pytest plugin holding its fixtures (`fixtures.tagging`); `None` if it has none.
    """

    package: str
    model: str
    task: str
    headline: str
    train: str
    recipe: str
    input_kind: str
    fixtures: str | None = None


TASKS = (
    Task(package="zoo.sensor", model="SensorClassifier", task="sensor-classification", headline="accuracy",
         train="sensor", recipe="sensor_classification", input_kind="series", fixtures="fixtures.sensor"),
    Task(package="zoo.tagging", model="SequenceTagger", task="pos-tagging", headline="accuracy",
         train="pos", recipe="pos_tagging", input_kind="text", fixtures="fixtures.tagging"),
    Task(package="zoo.translation", model="Translator", task="translation", headline="bleu",
         train="translation", recipe="translation", input_kind="text", fixtures="fixtures.translation"),
    Task(package="zoo.captioning", model="Captioner", task="image-captioning", headline="bleu",
         train="captioning", recipe="image_captioning", input_kind="image", fixtures="fixtures.captioning"),
    Task(package="zoo.agreement", model="AgreementClassifier", task="number-agreement", headline="accuracy",
         train="agreement", recipe="agreement", input_kind="text"),
    Task(package="zoo.language_model", model="LanguageModel", task="language-model", headline="perplexity",
         train="language-model", recipe="language_model", input_kind="text"),
)
