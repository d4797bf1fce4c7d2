"""The models a server answers for: every `<root>/<name>/<version>/` under a root, and TF Serving's refusals.

Shared by the REST and gRPC front ends (`zoo.serving.rest`, `zoo.serving.grpc_server`):
which version answers a request, the model status and metadata as TF Serving's
protos, and `ServingError`, a refusal with TF Serving's message and status code.
"""

import logging
import os
import threading
from pathlib import Path

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, status_pb2

from zoo import artifacts
from zoo.serving.errors import ServingError

logger = logging.getLogger(__name__)


def _not_found(message):
    return ServingError(message, tf.errors.NOT_FOUND)


class _Version:
    """One version directory: loaded (`loaded`, `signature_defs`) or failed (`error`)."""

    def __init__(self, number, fingerprint, loaded=None, signature_defs=None, error=None):
        self.number = number
        self.fingerprint = fingerprint
        self.loaded = loaded
        self.signature_defs = signature_defs
        self.error = error


def _fingerprint(path):
    """What changes while a version directory is still being written: its files, sizes and times."""
    return tuple(sorted((p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                        for p in path.rglob("*") if p.is_file()))


def _signature_defs(path):
    """The `SignatureDef` map of the SavedModel's serving graph, as TF Serving reads it."""
    proto = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    meta_graph = next((m for m in proto.meta_graphs if "serve" in m.meta_info_def.tags), proto.meta_graphs[0])
    return meta_graph.signature_def


def _load(number, path, root):
    """Loads one version, after verifying it against its manifest; a failure is recorded in the returned
    `_Version` (with paths relative to the served root, which clients need not see), never raised."""
    fingerprint = _fingerprint(path)
    try:
        artifacts.verify(path)  # no manifest, or one that does not match yet (mid-copy): not loaded
        loaded = tf.saved_model.load(str(path))
        signature_defs = _signature_defs(path)
    except Exception as err:  # any broken version must leave the server and the other versions serving
        message = f"{type(err).__name__}: {err}".replace(f"{root}{os.sep}", "")
        logger.warning("could not load %s: %s", path, message)
        return _Version(number, fingerprint, error=message)
    logger.info("loaded %s", path)
    return _Version(number, fingerprint, loaded, signature_defs)


class ModelRepository:
    """Every model `<root>/<name>/<version>/` under a root, loaded with `tf.saved_model.load`.

    Only complete versions are considered: numeric directory names (an export's
    temporary sibling is not one) holding a `saved_model.pb`, verified against
    their manifest (`zoo.artifacts`): a version copied without one, or picked up
    while its files are still arriving, is not loaded. A loaded version is never
    reloaded (versions are immutable); a failed one is retried once its files
    change. Versions follow
    TF Serving: the newest loaded version answers by default, any loaded one by
    number; there is no label configuration, so every version label is unknown.
    Unlike TF Serving's default policy, older versions stay loaded.

    Args:
        *roots: directories each holding one base directory per model (only
            those holding numbered version directories are models).
        bases: `{name: base directory}` of single models served besides
            (an installed or downloaded model, `zoo serve NAME`).

    Example:

    ```python
    repository = ModelRepository("saved_models")
    repository.refresh()
    version, servable = repository.servable("sensor_basic_motions")
    ```
    """

    def __init__(self, *roots, bases=None):
        self.roots = [Path(root) for root in roots]
        self.bases = {name: Path(base) for name, base in (bases or {}).items()}
        for root in self.roots:
            if not root.is_dir():
                raise ValueError(f"{root}: not a directory; expected a root holding <name>/<version>/ models")
        if not self.roots and not self.bases:
            raise ValueError("nothing to serve: expected a root holding <name>/<version>/ models, or model bases")
        self._models = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._stop = threading.Event()
        self._poller = None

    def refresh(self):
        """Loads new versions and drops removed ones; returns the model names found."""
        with self._refreshing:
            bases = {p.name: p for root in reversed(self.roots) for p in sorted(root.iterdir())
                     if p.is_dir() and not p.name.startswith(".") and artifacts.version_dirs(p)}
            models = {name: self._versions(name, base) for name, base in {**bases, **self.bases}.items()}
            with self._lock:
                self._models = models
            return sorted(models)

    def _versions(self, name, base):
        with self._lock:
            known = self._models.get(name, {})
        versions = {}
        for number, path in artifacts.version_dirs(base).items():
            if not (path / "saved_model.pb").is_file():
                continue
            old = known.get(number)
            keep = old is not None and (old.loaded is not None or old.fingerprint == _fingerprint(path))
            versions[number] = old if keep else _load(number, path, base.parent)
        return versions

    def start_polling(self, seconds):
        """Calls `refresh()` every `seconds` in a daemon thread until `stop_polling()`."""
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, args=(seconds,), name="zoo-model-poll", daemon=True)
        self._poller.start()

    def stop_polling(self):
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
            self._poller = None

    def _poll(self, seconds):
        last_error = None
        while not self._stop.wait(seconds):
            try:
                self.refresh()
                last_error = None
            except Exception as err:  # whatever the root holds, keep polling and keep what is loaded
                if str(err) != last_error:  # logged once, not at every poll
                    logger.warning("polling failed, still serving what was loaded: %s", err)
                last_error = str(err)

    def _model(self, name):
        with self._lock:
            return self._models.get(name, {})

    def servable(self, name, version=None, label=None):
        """The `(version, _Version)` answering a request: `version`, `label`'s, or the newest loaded one.

        Raises:
            ServingError: NOT_FOUND, with TF Serving's message, when there is none;
                INVALID_ARGUMENT for a missing name or any label.
        """
        if not name:
            raise ServingError("ModelSpec has no name specified.")
        _refuse_label(label)
        loaded = {n: v for n, v in self._model(name).items() if v.loaded is not None}
        if version is None:
            if not loaded:
                raise _not_found(f"Servable not found for request: Latest({name})")
            version = max(loaded)
        if version not in loaded:
            raise _not_found(f"Servable not found for request: Specific({name}, {version})")
        return version, loaded[version]

    def status(self, name, version=None, label=None):
        """TF Serving's `GetModelStatusResponse` for one model (all versions) or one version."""
        _refuse_label(label)
        versions = self._model(name)
        if not versions:
            raise _not_found(f"Could not find any versions of model {name}")
        if version is not None:
            if version not in versions:
                raise _not_found(f"Could not find version {version} of model {name}")
            versions = {version: versions[version]}
        response = get_model_status_pb2.GetModelStatusResponse()
        for number in sorted(versions, reverse=True):
            response.model_version_status.append(_version_status(versions[number]))
        return response

    def metadata(self, name, version=None, label=None):
        """TF Serving's `GetModelMetadataResponse` (the signature defs) for a servable version."""
        number, servable = self.servable(name, version, label)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = name
        response.model_spec.version.value = number
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in servable.signature_defs.items():
            signature_map.signature_def[key].CopyFrom(signature)
        response.metadata["signature_def"].Pack(signature_map)
        return response


def _refuse_label(label):
    # TF Serving's answer for a label its model config does not define (ServerCore::GetModelVersionForLabel).
    if label is not None:
        raise ServingError(f"Unrecognized servable version label: {label}")


def _version_status(version):
    State = get_model_status_pb2.ModelVersionStatus.State
    status = get_model_status_pb2.ModelVersionStatus(version=version.number)
    if version.loaded is not None:
        status.state = State.AVAILABLE
        status.status.CopyFrom(status_pb2.StatusProto(error_code=tf.errors.OK))
    else:
        status.state = State.END
        status.status.CopyFrom(status_pb2.StatusProto(error_code=tf.errors.UNKNOWN, error_message=version.error))
    return status
