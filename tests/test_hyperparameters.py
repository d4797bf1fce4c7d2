"""One config per task: the model's `CONFIG` is what its constructor takes, what `get_config` returns, what its
recipe's flags are made of (the same defaults) and what a wrong value is refused by."""

import dataclasses
import importlib
import sys

import pytest

from fixtures.forks import run_python
from fixtures.recipes import REPO, subprocess_env
from zoo.hyperparameters import Hyperparameters
from zoo.tasks import TASKS


def _model_class(task):
    return getattr(importlib.import_module(task.package), task.model)


def _configs(task):
    """The configs a task's recipe builds models from (the translator's: the RNN's and the Transformer's)."""
    configs = [_model_class(task).CONFIG]
    if task.package == "zoo.translation":
        configs.append(importlib.import_module("zoo.translation.config").TransformerConfig)
    return configs


def _recipe_defaults(task):
    return importlib.import_module(f"zoo.recipes.{task.recipe}").parse_args([])


def _flag_dest(field):
    return (field.metadata["flag"] or field.name).replace("-", "_")


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.recipe)
def test_every_model_has_one_config(task):
    model_class = _model_class(task)
    assert issubclass(model_class.CONFIG, Hyperparameters) and dataclasses.is_dataclass(model_class.CONFIG)
    assert model_class.CONFIG.__module__ == f"{task.package}.config"


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.recipe)
def test_the_recipe_flags_are_the_config_with_its_defaults(task):
    """The issue's "recipe defaults differ from class defaults" (tagger char_filters 64 vs 96): one place now."""
    args = _recipe_defaults(task)
    for config in _configs(task):
        for field in dataclasses.fields(config):
            if field.metadata["recipe"]:
                assert getattr(args, _flag_dest(field)) == field.default, (config.__name__, field.name)
            else:
                assert field.metadata["flag"] is None, field.name


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.recipe)
def test_the_recipe_help_says_each_fields_help(task, capsys):
    recipe = importlib.import_module(f"zoo.recipes.{task.recipe}")
    with pytest.raises(SystemExit) as exit_info:
        recipe.parse_args(["--help"])
    assert exit_info.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    for config in _configs(task):
        for field in dataclasses.fields(config):
            if field.metadata["recipe"]:
                flag = "--" + (field.metadata["flag"] or field.name).replace("_", "-")
                assert flag in shown and " ".join(field.metadata["help"].split())[:30] in shown, flag


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.recipe)
def test_the_config_refuses_what_no_model_is_made_of(task):
    for config in _configs(task):
        for field in dataclasses.fields(config):
            meta, default = field.metadata, field.default
            if meta["choices"]:
                bad = "no-such-" + field.name
            elif isinstance(default, bool):
                bad = "yes"
            elif isinstance(default, int):
                bad = -1
            elif isinstance(default, float):
                bad = float("nan")
            else:
                continue
            with pytest.raises(ValueError, match=f"^{config.__name__} {field.name}: expected"):
                config(**{field.name: bad})


@pytest.mark.parametrize("value", [True, 2.5, "many", None])
def test_a_whole_number_is_a_whole_number(value):
    from zoo.sensor.config import SensorConfig

    with pytest.raises(ValueError, match="^SensorConfig hidden: expected a whole number of at least 1"):
        SensorConfig(hidden=value)
    assert SensorConfig(hidden=8.0).hidden == 8 and SensorConfig(hidden="8").hidden == 8


def test_the_constructor_takes_the_config_and_get_config_returns_it():
    from zoo.sensor import SensorClassifier
    from zoo.sensor.config import SensorConfig

    model = SensorClassifier(num_channels=2, class_names=["a", "b"], hidden=8, frame=2, centring="standardise")
    assert model.config == SensorConfig(hidden=8, frame=2, centring="standardise")
    config = model.get_config()
    assert {k: config[k] for k in model.config.as_dict()} == model.config.as_dict()
    assert SensorClassifier.from_config(config).config == model.config
    with pytest.raises(ValueError, match="Unrecognized keyword arguments.*hiddn"):
        SensorClassifier(num_channels=2, class_names=["a", "b"], hiddn=8)


@pytest.mark.slow
def test_a_wrong_flag_value_is_one_line_that_says_what_was_expected():
    done = run_python([sys.executable, "-m", "zoo.recipes.pos_tagging", "--char-filters", "0"], cwd=REPO,
                      env=subprocess_env(), timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith(
        "argument --char-filters: expected a whole number of at least 1, got '0' (--help lists the options)")
