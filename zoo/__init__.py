"""rnn-zoo: pretrained recurrent sequence models that serve unchanged from TF Serving.

Example:

>>> import zoo
>>> model = zoo.load("sensor_basic_motions")
>>> model.card["task"]
'sensor-classification'
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from zoo import artifacts, registry  # noqa: E402
from zoo.agreement import AgreementClassifier  # noqa: E402,F401
from zoo.artifacts import CorruptModelError  # noqa: E402
from zoo.base import ZooModel  # noqa: E402
from zoo.captioning import Captioner  # noqa: E402,F401
from zoo.language_model import LanguageModel  # noqa: E402,F401
from zoo.plots import plot_attention, plot_caption_attention  # noqa: E402
from zoo.registry import info, list_models  # noqa: E402
from zoo.sensor import SensorClassifier  # noqa: E402,F401  (registers the classes with Keras)
from zoo.tagging import SequenceTagger  # noqa: E402,F401
from zoo.translation import Translator  # noqa: E402,F401
from zoo.version import __version__  # noqa: E402


def load(name_or_path, version=None):
    """Loads a model version as a fine-tunable Keras model, after verifying its files.

    Args:
        name_or_path: a name from `list_models()`, a model base directory, or
            a version directory.
        version: version number; the newest when `None`.

    Returns:
        The task's `ZooModel` subclass, with its model card as `.card`.

    Raises:
        ValueError: unknown name or version (with close matches).
        CorruptModelError: a file does not match the version's manifest.
    """
    version_dir = registry.resolve(name_or_path, version)
    artifacts.verify(version_dir)
    model = ZooModel.load_version(version_dir)
    model.attach_card(artifacts.read_card(version_dir))
    return model


__all__ = ["CorruptModelError", "__version__", "info", "list_models", "load", "plot_attention",
           "plot_caption_attention"]
