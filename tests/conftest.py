"""Shared fixtures: one smoke run of the sensor recipe and one tiny exported classifier per session.

Everything the tests write goes to temporary directories: `$ZOO_DATA`, Keras',
Matplotlib's and TFDS' directories are pointed at a session temp dir here,
before any test module imports `zoo`, so nothing lands in the user's home.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipes" / "sensor_classification.py"

# Set at import time (conftest is imported before the test modules), so that no
# import or fetch can run with the default ~/.cache/zoo.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="zoo-tests-"))
os.environ["ZOO_DATA"] = str(_SESSION_TMP / "zoo_data")
os.environ["KERAS_HOME"] = str(_SESSION_TMP / "keras_home")
os.environ["MPLCONFIGDIR"] = str(_SESSION_TMP / "matplotlib")
os.environ["TFDS_DATA_DIR"] = str(_SESSION_TMP / "tensorflow_datasets")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session", autouse=True)
def zoo_data_dir():
    """`$ZOO_DATA` for the whole session (set above, via os.environ, so subprocesses inherit it)."""
    path = Path(os.environ["ZOO_DATA"])
    assert path.is_relative_to(_SESSION_TMP)
    yield path
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)


def subprocess_env(**extra):
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_recipe(args, timeout=600, cwd=REPO):
    """Runs the sensor recipe in a fresh interpreter; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(RECIPE.relative_to(REPO)), *map(str, args)],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def failure_output(proc):
    return f"rc={proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


class Smoke:
    """The result of one `recipes/sensor_classification.py --smoke` run."""

    def __init__(self, root, proc):
        self.root = root
        self.models = root / "models"  # what $ZOO_MODELS points at
        self.base = self.models / "sensor_basic_motions"
        self.version_dir = self.base / "1"
        self.workdir = root / "work"
        self.proc = proc


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """One smoke run of the recipe (BasicMotions), shared read-only by many tests."""
    root = tmp_path_factory.mktemp("smoke")
    proc = run_recipe(
        ["--dataset", "BasicMotions", "--smoke", "--out", root / "models", "--workdir", root / "work"],
        timeout=300,
    )
    assert proc.returncode == 0, failure_output(proc)
    result = Smoke(root, proc)
    assert (result.version_dir / "saved_model.pb").is_file(), failure_output(proc)
    return result


@pytest.fixture(scope="session")
def smoke_model(smoke):
    """`zoo.load` of the smoke export. Read-only: tests that train load their own copy."""
    import zoo

    return zoo.load(smoke.version_dir)


@pytest.fixture(scope="session")
def smoke_savedmodel(smoke):
    """The smoke export loaded by plain TensorFlow, in this process."""
    import tensorflow as tf

    return tf.saved_model.load(str(smoke.version_dir))


@pytest.fixture(scope="session")
def basic_motions_test():
    from zoo.datasets import uea

    return uea.load("BasicMotions", "test")


TINY_CLASSES = ["alpha", "beta", "gamma"]
TINY_CARD = {
    "description": "tiny test classifier",
    "dataset": {"name": "synthetic", "source": "tests/conftest.py", "files_sha256": {}},
    "test_metrics": {"accuracy": 0.5, "examples": 2},
    "recipe_command": "pytest tests",
    "license": "Apache-2.0",
}


def make_tiny(cell="gru", **kwargs):
    """A tiny untrained SensorClassifier over 3 channels with non-trivial normalisation."""
    from zoo.sensor import SensorClassifier

    kwargs.setdefault("hidden", 4)
    return SensorClassifier(
        num_channels=3,
        class_names=TINY_CLASSES,
        channel_mean=[1.0, -2.0, 0.5],
        channel_std=[2.0, 0.5, 1.5],
        cell=cell,
        **kwargs,
    )


class Tiny:
    def __init__(self, model, base):
        self.model = model
        self.base = base
        self.version_dir = base / "1"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """One tiny GRU classifier exported once to `<tmp>/models/sensor_tiny/1`."""
    import keras

    keras.utils.set_random_seed(1)
    model = make_tiny("gru")
    base = tmp_path_factory.mktemp("tiny") / "models" / "sensor_tiny"
    path = model.export(base, card=dict(TINY_CARD))
    assert path == base / "1"
    return Tiny(model, base)


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


@pytest.fixture(scope="session")
def tiny_factory():
    """`make_tiny(cell="gru", **kwargs)`: a fresh tiny classifier."""
    return make_tiny


@pytest.fixture(scope="session")
def recipe():
    """Helpers to run the recipe in a subprocess: `.run(args)`, `.argv(args)`, `.env()`, `.explain(proc)`,
    `.kill_when(proc, ready, timeout, what)`."""

    class Recipe:
        path = RECIPE
        repo = REPO
        run = staticmethod(run_recipe)
        env = staticmethod(subprocess_env)
        kill_when = staticmethod(kill_when)
        explain = staticmethod(failure_output)

        @staticmethod
        def argv(args):
            return [sys.executable, str(RECIPE.relative_to(REPO)), *map(str, args)]

    return Recipe


def kill_when(proc, ready, timeout, what):
    """SIGKILLs `proc` as soon as `ready()` holds; fails if it exits first or `timeout` passes.

    Returns the process's exit code (the caller asserts it is -SIGKILL).
    """
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"{what}: the process exited (rc={proc.returncode}) before it was killed"
            assert time.monotonic() < deadline, f"{what}: not reached within {timeout} s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
