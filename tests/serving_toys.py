"""The model root the serving tests serve, and a server over it on free ports (not a test module)."""

import contextlib
import shutil

import tensorflow as tf

from zoo import artifacts
from zoo.serving import ModelRepository, ModelServer

CARD = {"description": "toy", "dataset": {"name": "toy", "source": "tests"}, "test_metrics": None,
        "recipe_command": "pytest tests", "license": "Apache-2.0"}
NAMES = ["pos_tiny", "sensor_tiny", "toy"]


class Toy(tf.Module):
    """A plain-TensorFlow model: single-output signatures, a scalar input, `_bytes` input and output."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def double(self, x):
        return {"y": 2.0 * x}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x"),
                                  tf.TensorSpec([], tf.int32, name="k")])
    def scale(self, x, k):
        return {"y": x * tf.cast(k, tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def echo(self, text):
        return {"text": text, "text_bytes": text}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="blob_bytes")])
    def measure(self, blob_bytes):
        return {"length": tf.strings.length(blob_bytes)}


def export_toy(path):
    """A plain-TensorFlow SavedModel version, with the manifest `zoo serve` verifies versions against."""
    toy = Toy()
    tf.saved_model.save(toy, str(path), signatures={"serving_default": toy.double, "scale": toy.scale,
                                                    "echo": toy.echo, "measure": toy.measure})
    artifacts.write_manifest(path)


def build_root(root, sensor_version_dir, tagger):
    """`root/` with the tiny sensor classifier (a copy of `sensor_version_dir`), `tagger` exported, and the toy."""
    shutil.copytree(sensor_version_dir, root / "sensor_tiny" / "1")
    tagger.export_serving(root / "pos_tiny", card=dict(CARD))
    export_toy(root / "toy" / "1")
    return root


@contextlib.contextmanager
def running(root_or_repository, grpc=True, **kwargs):
    """A `ModelServer` (REST, and gRPC unless `grpc=False`) on free loopback ports, started; yields it."""
    repository = root_or_repository
    if not isinstance(repository, ModelRepository):
        repository = ModelRepository(root_or_repository)
        repository.refresh()
    with ModelServer(repository, "127.0.0.1", 0, 0 if grpc else None, **kwargs) as server:
        yield server
