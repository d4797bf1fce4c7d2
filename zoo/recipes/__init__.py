"""The recipes: each trains one task's model on real data, evaluates it and exports it (`zoo train TASK`).

Each module has `parse_args(argv)` and `main(argv)`. Outputs go under the
current directory (`saved_models/`, `runs/`) unless `--out` and
`--workdir` say otherwise; the scripts in a checkout's `recipes/` are thin
entry points to the same modules.
"""

import importlib

from zoo.tasks import TASKS

# `zoo train TASK` -> the recipe module
RECIPES = {task.train: task.recipe for task in TASKS}


def recipe(task):
    """The recipe module of a `zoo train` task."""
    if task not in RECIPES:
        raise ValueError(f"unknown task {task!r}: expected one of {', '.join(RECIPES)}")
    return importlib.import_module(f"zoo.recipes.{RECIPES[task]}")
