"""`ZooModel`: the Keras model every zoo task subclasses, with its serving and export."""

from __future__ import annotations

import base64
import collections
import datetime
import functools
import hashlib
import importlib
import json
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from zoo import artifacts
from zoo.validation import read_input_file
from zoo.version import __version__

if TYPE_CHECKING:
    from zoo.evaluation import Evaluation

INPUT_KINDS = ("text", "image", "series")
WEIGHTS_COLLECTION = "keras_weights"  # the SavedModel attribute listing the Keras model's weights, in order

Classification = collections.namedtuple("Classification", ["labels", "scores"])
Classification.__doc__ = """A classifier's answer: `labels` (one string per input) and `scores` `[B, K]`."""


class ZooModel(keras.Model):
    """A `keras.Model` that carries its pre- and post-processing and exports itself.

    Subclasses define `TASK`, `INPUT_KIND` (what `zoo predict` hands them:
    `"text"`, `"image"` paths or `"series"` files), `CONFIG` (their
    hyperparameters, a `zoo.hyperparameters.Hyperparameters` dataclass: the
    constructor keeps them as `self.config`), `serving_signatures()`
    (the `tf.function`s that become SavedModel signatures, with named
    `input_signature`s, dict outputs and `autograph=False`: their loops and
    branches are written as `tf.while_loop` and `tf.cond`, so AutoGraph's
    rewriting of their Python source would only add seconds to every trace),
    `example_requests()` (one real request per signature, for the model card
    and TF Serving warm-up), `evaluate_split()` and `demo()`. Their Python
    API calls the same signature functions, so a prediction through
    `zoo.load(...)` is computed by the graph TF Serving runs.
    `evaluate_split()` and `demo()` import their task's data and metrics when
    called: inference needs TensorFlow, Keras and NumPy only.
    """

    TASK = None
    INPUT_KIND = "text"
    CONFIG = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.card = None
        self._loaded_weights_digest = None

    def serving_signatures(self):
        raise NotImplementedError

    def example_requests(self):
        raise NotImplementedError

    def predict_file(self, path: str | PathLike) -> str:
        """Readable predictions for the raw input stored in a file (`zoo predict --input`).

        Text models read a UTF-8 file, one sentence per line; other models override this.
        """
        return self.predict_text(read_text_file(path))

    def predict_records(self, inputs: Sequence[str] | str | PathLike) -> list[dict]:
        """One JSON-able dict per input (`zoo predict --json`): text models take a list of sentences, image
        models a list of file paths, series models the path of a file of series."""
        raise NotImplementedError

    def predict_files(self, paths):
        """Readable predictions for several input files at once (`zoo predict --image A B ...`), one per file."""
        return [self.predict_file(path) for path in paths]

    def predict_text(self, text: str) -> str:
        """Readable predictions for raw text (`zoo predict --text`); for text models."""
        raise ValueError(f"{self.TASK} models take no text; use --input FILE")

    def evaluate_split(self, split: str = "test") -> Evaluation:
        """Recomputes the model card's metrics on a split of the card's dataset: the task's `Evaluation`."""
        raise NotImplementedError

    def demo(self) -> str:
        """Readable predictions on a few real samples."""
        raise NotImplementedError

    def build_for_inference(self):
        """Creates all weights by running the network once on a placeholder input."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        """The model of a stored config; a hyperparameter the config predates takes the value it had then
        (`CONFIG.ABSENT_MEANS`), not today's default."""
        if cls.CONFIG is not None:
            config = {**cls.CONFIG.ABSENT_MEANS, **config}
        return super().from_config(config)

    def get_build_config(self):
        return {"built": True}

    def build_from_config(self, config):
        self.build_for_inference()

    def attach_card(self, card):
        """Records the model card of the version these weights were loaded from."""
        self.card = card
        self._loaded_weights_digest = self.weights_digest()

    @functools.cached_property
    def signatures(self):
        """The serving functions, traced once per model instance."""
        return self.serving_signatures()

    def weights_digest(self):
        digest = hashlib.sha256()
        for weight in self.weights:
            digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
        return digest.hexdigest()

    def export(self, filepath: str | PathLike, format: str = "tf_saved_model", verbose: bool | None = None,
               input_signature=None, **kwargs):
        """Keras' `Model.export` (`"tf_saved_model"`, `"litert"`, `"onnx"`...), plus `format="tf_serving"`:
        `export_serving(filepath, **kwargs)`, a versioned model directory with its card.

        Keras' formats export `call()`, whose inputs `keras_input_signature()`
        describes; only `"tf_serving"` carries the raw-input signatures.
        `"litert"` is limited to LiteRT's built-in ops, so the stock runtime
        (on a phone: without the Flex delegate) runs the file.
        """
        if format == "tf_serving":
            return self.export_serving(filepath, **kwargs)
        input_signature = input_signature or self.keras_input_signature()
        if input_signature is None:
            raise ValueError(f"format {format!r}: Keras' formats export call() on numeric tensors, which a "
                             f"{self.TASK} model does not take ({self.INPUT_KIND} comes in through its signatures); "
                             "export it with format='tf_serving', a SavedModel any TensorFlow loads")
        if format == "litert":
            kwargs.setdefault("target_spec", {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    def keras_input_signature(self):
        """The inputs of `call()` as `tf.TensorSpec`s, for Keras' export formats; `None`: a model whose `call()`
        takes no numeric input, which only `"tf_serving"` exports."""
        return None

    def export_serving(self, base_dir: str | PathLike, version: int | None = None, card: dict | None = None) -> Path:
        """Writes a TF Serving model version `<base_dir>/<version>/`, atomically.

        Args:
            base_dir: the model's base path; its last component is the model
                name TF Serving will serve it under.
            version: a positive integer; the next free one when `None`.
            card: the model card (dataset, metrics, hyperparameters, recipe
                command). When `None`, the card this model was loaded with is
                carried over; if the weights changed since (fine-tuning), its
                metrics and recipe command are dropped as no longer true.

        Returns:
            The path of the new version directory.
        """
        from zoo.serving import warmup  # TF Serving's protos: the [serve] extra, not needed for inference

        base_dir = Path(base_dir)
        version = int(version) if version is not None else artifacts.next_version(base_dir)
        if version < 1:
            raise ValueError(f"version must be a positive integer, got {version}")
        examples = self.example_requests()
        card = self._complete_card(card, name=base_dir.name, version=version, examples=examples)
        with artifacts.atomic_version(base_dir, version) as scratch:
            archive = keras.export.ExportArchive()  # saves the variables its endpoints use, once each
            for layer in self._flatten_layers(include_self=False):
                if hasattr(layer, "lookup_table"):  # lookup tables are not variables: tracked by hand
                    archive.track(layer)
            for name, function in self.signatures.items():  # traced once: the signature and the object graph
                archive.add_endpoint(name, function.get_concrete_function(), input_signature=function.input_signature)
            stored = self._weights_the_signatures_read()
            if stored is not None:  # the Keras model's weights are the SavedModel's, listed in its order
                archive.add_variable_collection(WEIGHTS_COLLECTION, [w.value for w, read in zip(self.variables, stored)
                                                                     if read])
            archive.write_out(str(scratch), verbose=False)
            (scratch / artifacts.KERAS_CONFIG).parent.mkdir(parents=True)
            if stored is None:  # a trained weight no signature reads: a full Keras copy keeps it
                self.reconfigured().save(scratch / artifacts.KERAS_MODEL)
            else:
                architecture = {"model": keras.saving.serialize_keras_object(self.reconfigured()),
                                "weights": WEIGHTS_COLLECTION, "stored": stored}
                (scratch / artifacts.KERAS_CONFIG).write_text(json.dumps(architecture, ensure_ascii=False))
            warmup.write_warmup_requests(scratch / artifacts.WARMUP, card["name"], examples)
            (scratch / artifacts.CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False))
        return base_dir / str(version)

    def _weights_the_signatures_read(self):
        """For each of the model's variables, whether a signature reads it (state such as dropout's random seeds
        is not saved), so the weights are stored once; `None` when a trainable weight would be lost."""
        read = {v.ref() for function in self.signatures.values()
                for v in function.get_concrete_function().variables}
        stored = [w.value.ref() in read for w in self.variables]
        lost = any(w.trainable and not kept for w, kept in zip(self.variables, stored))
        return None if lost else stored

    @staticmethod
    def load_version(version_dir):
        """The Keras model of a verified version directory: rebuilt from its architecture with the
        SavedModel's own variables (or, for versions written before, from its `.keras` file)."""
        if not (version_dir / artifacts.KERAS_CONFIG).exists():
            return keras.saving.load_model(version_dir / artifacts.KERAS_MODEL)
        stored = json.loads((version_dir / artifacts.KERAS_CONFIG).read_text())
        module = stored["model"].get("module", "")
        if module.startswith("zoo."):  # registers its class: one `zoo.load` does not import (a Transformer's)
            importlib.import_module(module)
        model = keras.saving.deserialize_keras_object(stored["model"])
        loaded = tf.saved_model.load(str(version_dir))  # held: its functions reference its variables weakly
        if "weights" in stored:
            kept = [weight for weight, read in zip(model.variables, stored["stored"]) if read]
            saved = list(getattr(loaded, stored["weights"], []))
            if len(stored["stored"]) != len(model.variables) or len(saved) != len(kept):
                raise artifacts.CorruptModelError(f"{version_dir}: the SavedModel holds {len(saved)} of the Keras "
                                                  f"model's weights, its architecture needs {len(kept)}")
            pairs = list(zip(kept, saved))
        else:  # versions written before the collection: the SavedModel's variables by their (unique) names
            by_name = {v.name: v for function in loaded.signatures.values() for v in function.variables}
            pairs = [(weight, by_name.get(name)) for weight, name in zip(model.variables, stored["variables"])
                     if name is not None]
        for weight, value in pairs:
            if value is None or tuple(value.shape) != tuple(weight.shape):
                raise artifacts.CorruptModelError(f"{version_dir}: the SavedModel has no variable of shape "
                                                  f"{tuple(weight.shape)} for {weight.path}")
            weight.assign(value)
        return model

    def reconfigured(self, **changes):
        """An uncompiled copy with the same weights and some constructor arguments changed: those that
        leave the weights as they are (a translator's `beam_width`, `length_penalty`, `dropout`...).

        With no changes, it is the model without its optimizer state (no Adam slots saved with the
        weights); fine-tuning compiles afresh.
        """
        copy = self.__class__.from_config({**self.get_config(), **changes})
        copy.set_weights(self.get_weights())
        return copy

    def _complete_card(self, card, name, version, examples):
        if card is None:
            card = dict(self.card or {})
            if self.card and self.weights_digest() != self._loaded_weights_digest:
                card["fine_tuned_from"] = f"{self.card['name']}/{self.card['version']}"
                card["test_metrics"] = None
                card["recipe_command"] = None
            elif self.card:  # the same weights in this code's graph: the recipe's numbers still hold
                card["exported_from"] = f"{self.card['name']}/{self.card['version']}"
        return {
            **card,
            "name": name,
            "version": version,
            "task": self.TASK,
            "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "parameters": int(self.count_params()),
            "versions": {"zoo": __version__, "tensorflow": tf.__version__, "keras": keras.__version__},
            "signatures": self._describe_signatures(examples),
        }

    def _describe_signatures(self, examples):
        described = {}
        for name, function in self.signatures.items():
            concrete = function.get_concrete_function()
            inputs = concrete.structured_input_signature[1] or {
                spec.name: spec for spec in concrete.structured_input_signature[0]
            }
            described[name] = {
                "inputs": {k: _spec(s) for k, s in inputs.items()},
                "outputs": {k: _spec(s) for k, s in concrete.structured_outputs.items()},
                "example_request": {
                    "signature_name": name,
                    "inputs": {k: _jsonable(v) for k, v in examples[name].items()},
                },
            }
        return described


def read_text_file(path):
    """The text of a UTF-8 file, refused with what was expected when it is anything else."""
    expected = "UTF-8 text, one sentence per line"
    try:
        return read_input_file(path, expected).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err}); expected {expected}") from None


def _spec(spec):
    shape = None if spec.shape.rank is None else [d if d is not None else -1 for d in spec.shape]
    return {"dtype": spec.dtype.name, "shape": shape}


def _jsonable(value):
    """An example input as TF Serving's REST API takes it: text as strings, binary data (JPEG, PNG) as
    `{"b64": base64}`."""
    value = np.asarray(value)
    if value.dtype.kind in "SO":
        return np.vectorize(_json_string, otypes=[object])(value).tolist()
    return value.tolist()


def _json_string(item):
    if not isinstance(item, bytes):
        return item
    try:
        return item.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(item).decode("ascii")}
