"""The test session's environment and the fixtures every task uses; each task's own are in `fixtures/`.

Everything the tests write goes to temporary directories: `$ZOO_DATA`, `$ZOO_HOME`, Keras',
Matplotlib's and TFDS' directories are pointed at a session temp dir here,
before any test module imports `zoo`, so nothing lands in the user's home.
`$ZOO_DATA` is one for the whole run, shared by the xdist workers (they
inherit the environment of the process that starts them): what one fetched
or converted, the other reads (`zoo.datasets.built_once` lets one build it).
"""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Set at import time (conftest is imported before the test modules), so that no
# import or fetch can run with the default ~/.cache/zoo.
_RUN_OWNER = "ZOO_TESTS_RUN_DIR" not in os.environ  # the process that starts the run (and any workers)
_RUN_TMP = Path(os.environ.setdefault("ZOO_TESTS_RUN_DIR", tempfile.mkdtemp(prefix="zoo-tests-")))
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="process-", dir=_RUN_TMP))
os.environ["ZOO_DATA"] = str(_RUN_TMP / "zoo_data")
os.environ["ZOO_HOME"] = str(_SESSION_TMP / "zoo_home")  # the model download cache
os.environ.pop("ZOO_MODELS_URL", None)
os.environ["KERAS_HOME"] = str(_SESSION_TMP / "keras_home")
os.environ["MPLCONFIGDIR"] = str(_SESSION_TMP / "matplotlib")
os.environ["TFDS_DATA_DIR"] = str(_SESSION_TMP / "tensorflow_datasets")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from zoo.tasks import TASKS  # noqa: E402  (imports of zoo come after the environment above)


# tests that wait for a training (a recipe's smoke run, or a toy model fitted until it has learned: 10 s to minutes
# on 2 cores) are `slow` whatever else they do: the fast tier checks the same modules on untrained tiny models
TRAINING_FIXTURES = {
    "smoke", "pos_smoke", "translation_smoke", "captioning_smoke", "csv_smoke",  # recipes' smoke runs
    "trained_tagger", "trained_translator", "trained_captioner", "trained_agreement", "trained_language_model",
}

pytest_plugins = ["fixtures.recipes", *(task.fixtures for task in TASKS if task.fixtures), "fixtures.serving"]



@pytest.fixture(scope="session", autouse=True)
def zoo_data_dir():
    """`$ZOO_DATA` for the whole run (set above, via os.environ, so subprocesses inherit it)."""
    path = Path(os.environ["ZOO_DATA"])
    assert path.is_relative_to(_RUN_TMP)
    yield path
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)


def pytest_unconfigure(config):
    if _RUN_OWNER:  # the workers are done: the shared data cache goes too
        shutil.rmtree(_RUN_TMP, ignore_errors=True)


@pytest.fixture
def copy_version(tmp_path):
    """Copies a version directory to `<tmp>/<name>/<version>` so a test can alter it."""

    def copy(version_dir, name="copied", version=1):
        target = tmp_path / name / str(version)
        shutil.copytree(version_dir, target)
        return target

    return copy


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(items):
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
