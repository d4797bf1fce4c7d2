"""rnn-zoo: pretrained recurrent sequence models that serve unchanged from TF Serving.

`import zoo` is cheap and changes no global state: reading the catalogue
(`list_models`, `info`) needs neither TensorFlow nor Keras, which are imported
on the first `load` or model class used.

Example:

>>> import zoo
>>> model = zoo.load("sensor_basic_motions")
>>> model.card["task"]
'sensor-classification'
"""

from __future__ import annotations

import importlib
from os import PathLike
from typing import TYPE_CHECKING

from zoo import artifacts, registry
from zoo.artifacts import CorruptModelError
from zoo.registry import download, info, list_models
from zoo.tasks import TASKS
from zoo.version import __version__

if TYPE_CHECKING:
    from zoo.base import ZooModel

# public names whose modules import TensorFlow: loaded when first used (PEP 562)
_LAZY = {"ZooModel": "zoo.base", **{task.model: task.package for task in TASKS},
         "plot_attention": "zoo.plots", "plot_caption_attention": "zoo.plots"}
TASK_MODULES = [task.package for task in TASKS]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def load(name_or_path: str | PathLike, version: int | None = None, download: bool = False) -> ZooModel:
    """Loads a model version as a fine-tunable Keras model, after verifying its files.

    Args:
        name_or_path: a name from `list_models()`, a model base directory, or
            a version directory.
        version: version number; the newest when `None`.
        download: fetch the version into the cache (`$ZOO_HOME`) from
            `$ZOO_MODELS_URL` when it is nowhere on this machine.

    Returns:
        The task's `ZooModel` subclass, with its model card as `.card`.

    Raises:
        ValueError: unknown name or version (with close matches and the
            command that gets it).
        CorruptModelError: a file does not match the version's manifest.
    """
    try:
        version_dir = registry.resolve(name_or_path, version)
    except ValueError:
        if not download:
            raise
        version_dir = registry.download(str(name_or_path), version)
    artifacts.verify(version_dir)
    for module in TASK_MODULES:  # registers every task's classes with Keras' deserialisation
        importlib.import_module(module)
    from zoo.base import ZooModel

    model = ZooModel.load_version(version_dir)
    model.attach_card(artifacts.read_card(version_dir))
    return model


__all__ = sorted(["CorruptModelError", "__version__", "download", "info", "list_models", "load", *_LAZY])
