"""zoo.tasks: each `Task` record names what is there (the model class and its `TASK`, `INPUT_KIND`, the
`Evaluation` and its headline, the recipe, the fixtures), and no two records share a name."""

import importlib
from pathlib import Path

import pytest

import zoo
from zoo import evaluation
from zoo.tasks import TASKS

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.package)
def test_the_record_names_the_task_packages_classes(task):
    model = getattr(importlib.import_module(task.package), task.model)
    assert getattr(zoo, task.model) is model
    assert (model.TASK, model.INPUT_KIND) == (task.task, task.input_kind)
    importlib.import_module(f"{task.package}.evaluation")
    assert evaluation.TASKS[task.task].HEADLINE == task.headline


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.package)
def test_the_record_names_the_recipe_and_fixtures(task):
    assert (REPO / "zoo" / "recipes" / f"{task.recipe}.py").is_file()
    assert (REPO / "recipes" / f"{task.recipe}.py").is_file()
    assert task.fixtures is None or (REPO / "tests" / f"{task.fixtures.replace('.', '/')}.py").is_file()


@pytest.mark.parametrize("field", ["package", "model", "task", "train", "recipe", "fixtures"])
def test_no_two_tasks_share_a_name(field):
    names = [getattr(task, field) for task in TASKS if getattr(task, field) is not None]
    assert len(set(names)) == len(names)

