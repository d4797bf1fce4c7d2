"""Variants of a catalogue model for a bench: the recipe retrained with the model card's flags and one flag swapped.

Each variant runs the recipe script in its own process, in a work directory
keyed by its flags: a finished variant is reused, a killed one resumes (the
recipe's own checkpoints), so rerunning a bench after an interruption loses
little.
"""

import hashlib
import importlib
import shlex
import subprocess
import sys
from pathlib import Path

import zoo

REPO = Path(__file__).resolve().parent.parent


def load_recipe(script):
    """The module behind a recipe script (`recipes/<name>.py` runs `zoo.recipes.<name>`)."""
    return importlib.import_module(f"zoo.recipes.{Path(script).stem}")


def catalogue_hyperparameters(recipe, model_name):
    """The flags of the published model, or the recipe's defaults while none is published; and which it is."""
    defaults = {k: v for k, v in vars(recipe.parse_args([])).items() if k not in recipe.RUN_LOCATION_FLAGS}
    try:
        card = zoo.info(model_name)
    except ValueError:
        return defaults, "recipe defaults (no pretrained model in the catalogue)"
    published = {k: v for k, v in card["hyperparameters"].items() if k in defaults}
    return {**defaults, **published}, f"model card of {card['name']} v{card['version']}"


def recipe_argv(hyperparameters):
    """Recipe flags for a hyperparameter dict: `--key value`, booleans as `--flag` / `--no-flag`, lists joined by
    commas."""
    argv = []
    for key, value in hyperparameters.items():
        flag = key.replace("_", "-")
        if isinstance(value, bool):
            argv.append(f"--{flag}" if value else f"--no-{flag}")
        elif isinstance(value, list):
            argv += [f"--{flag}", ",".join(str(v) for v in value)]
        elif value is not None:
            argv += [f"--{flag}", str(value)]
    return argv


def train_variant(script, hyperparameters, label, name, workdir):
    """Runs `script` with `hyperparameters` and exports `name` version 1; returns the version directory.

    The run lives in `workdir/<label>-<hash of the flags>`; its output goes to `log.txt` there.
    """
    flags = recipe_argv(hyperparameters)
    run = Path(workdir) / f"{label}-{hashlib.sha256(shlex.join(flags).encode()).hexdigest()[:10]}"
    version_dir = run / "models" / name / "1"
    if (version_dir / "saved_model.pb").is_file():
        return version_dir
    run.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, script, *flags, "--out", str(run / "models"), "--workdir", str(run / "work"),
            "--name", name, "--version", "1"]
    print("+", shlex.join(argv[1:]), flush=True)
    with (run / "log.txt").open("a") as log:
        done = subprocess.run(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {label} run failed:\n" + (run / "log.txt").read_text()[-3000:])
    return version_dir


def catalogue_version(model_name, hyperparameters, swapped):
    """The catalogue model's `swapped` value and version directory, after checking that it was trained with
    the bench's flags otherwise: those its card records, and those the recipe gained after it was trained
    (the model's stored config holds what it was built with)."""
    card = zoo.info(model_name)
    recorded = card["hyperparameters"]
    config = zoo.load(model_name).config if set(hyperparameters) - set(recorded) else None

    def trained_with(key):
        return recorded[key] if key in recorded else getattr(config, key, None)

    differ = {k: (v, trained_with(k)) for k, v in hyperparameters.items() if k != swapped and trained_with(k) != v}
    if differ:
        raise SystemExit(f"--catalogue-row: {model_name} was trained with other flags: {differ}")
    return card["hyperparameters"][swapped], zoo.registry.resolve(model_name)
