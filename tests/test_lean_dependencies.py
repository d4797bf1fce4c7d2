"""Inference needs TensorFlow, Keras and NumPy only: with every other optional dependency (the extras of
pyproject.toml but `tensorflow`) made unimportable, each published model still loads and answers its own example request."""

import subprocess
import sys

import pytest

import zoo
from zoo.cli import EXTRAS

SCRIPT = """
import sys

class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in sys.argv[1].split(","):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Uninstalled())
import tensorflow as tf
import zoo

for name in sys.argv[2:]:
    model = zoo.load(name)
    for signature, inputs in model.example_requests().items():
        model.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()})
    print(name, "ok")
"""


@pytest.mark.slow
def test_published_models_run_without_any_extra():
    names = zoo.list_models()
    blocked = ",".join(module for module, extra in EXTRAS.items() if extra != "tensorflow")
    done = subprocess.run([sys.executable, "-c", SCRIPT, blocked, *names], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [word for name in names for word in (name, "ok")]
