"""A local server that speaks TF Serving's REST API (v1) over `saved_models/`-style directories.

For development where the `tensorflow/serving` image cannot run: the same
`<root>/<name>/<version>/` directories, loaded with plain `tf.saved_model.load`
(no zoo or Keras code at serving time), answered with TF Serving's URLs, JSON
shapes, error messages and HTTP codes, so a client written for TF Serving works
unchanged.

```
GET  /v1/models/NAME[/versions/N]              model status
GET  /v1/models/NAME[/versions/N]/metadata     signature defs
POST /v1/models/NAME[/versions/N]:predict      row ("instances") or columnar ("inputs") format
```

Versions follow TF Serving: the newest loaded version answers by default, any
loaded one by number; a poll picks up new version directories and drops removed
ones; a version that fails to load is reported in the status and the others keep
serving. Unlike TF Serving's default policy, older versions stay loaded.
"""

import base64
import binascii
import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, status_pb2

from zoo import artifacts

logger = logging.getLogger(__name__)

DEFAULT_SIGNATURE = "serving_default"
MAX_BODY_BYTES = 64 << 20

# TF Serving's mapping of a status code to an HTTP code (model_servers/http_server.cc, ToHTTPStatusCode).
_HTTP_STATUS = {
    tf.errors.INVALID_ARGUMENT: HTTPStatus.BAD_REQUEST,
    tf.errors.OUT_OF_RANGE: HTTPStatus.BAD_REQUEST,
    tf.errors.NOT_FOUND: HTTPStatus.NOT_FOUND,
    tf.errors.FAILED_PRECONDITION: HTTPStatus.PRECONDITION_FAILED,
    tf.errors.RESOURCE_EXHAUSTED: HTTPStatus.TOO_MANY_REQUESTS,
    tf.errors.UNIMPLEMENTED: HTTPStatus.NOT_IMPLEMENTED,
    tf.errors.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    tf.errors.DEADLINE_EXCEEDED: HTTPStatus.GATEWAY_TIMEOUT,
}


class ServingError(Exception):
    """A request TF Serving would refuse: `str(error)` is its message, `http_status` its HTTP code."""

    def __init__(self, message, http_status=HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.http_status = http_status


def _not_found(message):
    return ServingError(message, HTTPStatus.NOT_FOUND)


# --- the model repository ----------------------------------------------------------------------------


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


def _load(number, path):
    """Loads one version; a failure is recorded in the returned `_Version`, never raised."""
    fingerprint = _fingerprint(path)
    try:
        if (path / artifacts.MANIFEST).is_file():
            artifacts.verify(path)
        loaded = tf.saved_model.load(str(path))
        signature_defs = _signature_defs(path)
    except Exception as err:  # any broken version must leave the server and the other versions serving
        logger.warning("could not load %s: %s", path, err)
        return _Version(number, fingerprint, error=f"{type(err).__name__}: {err}")
    logger.info("loaded %s", path)
    return _Version(number, fingerprint, loaded, signature_defs)


class ModelRepository:
    """Every model `<root>/<name>/<version>/` under a root, loaded with `tf.saved_model.load`.

    Only complete versions are considered: numeric directory names (an export's
    temporary sibling is not one) holding a `saved_model.pb`; a version with a
    manifest is verified against it. A loaded version is never reloaded (versions
    are immutable); a failed one is retried once its files change.

    Args:
        root: the directory holding one base directory per model.

    Example:

    ```python
    repository = ModelRepository("saved_models")
    repository.refresh()
    version, loaded = repository.servable("sensor_basic_motions")
    ```
    """

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"{self.root}: not a directory; expected a root holding <name>/<version>/ models")
        self._models = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._stop = threading.Event()
        self._poller = None

    def refresh(self):
        """Loads new versions and drops removed ones; returns the model names found."""
        with self._refreshing:
            bases = [p for p in sorted(self.root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
            models = {base.name: self._versions(base) for base in bases}
            with self._lock:
                self._models = models
            return sorted(models)

    def _versions(self, base):
        with self._lock:
            known = self._models.get(base.name, {})
        versions = {}
        for number, path in artifacts.version_dirs(base).items():
            if not (path / "saved_model.pb").is_file():
                continue
            old = known.get(number)
            keep = old is not None and (old.loaded is not None or old.fingerprint == _fingerprint(path))
            versions[number] = old if keep else _load(number, path)
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
        while not self._stop.wait(seconds):
            try:
                self.refresh()
            except OSError as err:  # the root vanished or is unreadable for a moment: keep what is loaded
                logger.warning("polling %s failed: %s", self.root, err)

    def _model(self, name):
        with self._lock:
            return self._models.get(name, {})

    def servable(self, name, version=None):
        """The `(version, _Version)` answering a request: `version`, or the newest loaded one.

        Raises:
            ServingError: 404, with TF Serving's message, when there is none.
        """
        loaded = {n: v for n, v in self._model(name).items() if v.loaded is not None}
        if version is None:
            if not loaded:
                raise _not_found(f"Servable not found for request: Latest({name})")
            version = max(loaded)
        if version not in loaded:
            raise _not_found(f"Servable not found for request: Specific({name}, {version})")
        return version, loaded[version]

    def status(self, name, version=None):
        """TF Serving's `GetModelStatusResponse` for one model (all versions) or one version, as JSON."""
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
        return _to_json(response)

    def metadata(self, name, version=None):
        """TF Serving's `GetModelMetadataResponse` (the signature defs) for a servable version, as JSON."""
        number, servable = self.servable(name, version)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = name
        response.model_spec.version.value = number
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in servable.signature_defs.items():
            signature_map.signature_def[key].CopyFrom(signature)
        response.metadata["signature_def"].Pack(signature_map)
        return _to_json(response)


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


def _to_json(message):
    """A proto as TF Serving prints it: field names as in the .proto, defaults included."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True,
                                     preserving_proto_field_name=True)


# --- predict: JSON request → tensors → JSON response ------------------------------------------------


def _is_b64(value):
    return isinstance(value, dict) and set(value) == {"b64"}


def _decode_b64(value, name):
    """Replaces every `{"b64": "..."}` in a JSON value with the bytes it encodes."""
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, TypeError):
            raise ServingError(f"{name}: 'b64' holds no valid base64 string") from None
    if isinstance(value, list):
        return [_decode_b64(v, name) for v in value]
    return value


def _leaf_types(dtype):
    if dtype == tf.string:
        return (str, bytes), "strings"
    if dtype == tf.bool:
        return (bool,), "booleans"
    if dtype.is_integer:
        return (int,), "integers"
    if dtype.is_floating:
        return (int, float), "numbers"
    raise ServingError(f"inputs of type {dtype.name} are not supported by this server")


def _shape(value, name, types, expected):
    """The shape of a nested JSON list whose leaves are all of `types`."""
    if isinstance(value, list):
        shapes = {_shape(v, name, types, expected) for v in value}
        if len(shapes) > 1:
            raise ServingError(f"{name}: lists of different lengths; expected a rectangular array of {expected}")
        return (len(value), *(shapes.pop() if shapes else ()))
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ServingError(f"{name}: expected {expected}, got {json.dumps(value)[:80]}")
    return ()


def _utf8(value):
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    return value.encode() if isinstance(value, str) else value


def _tensor(name, value, spec):
    """A JSON value as a tensor of the signature input's dtype."""
    value = _decode_b64(value, name)
    types, expected = _leaf_types(spec.dtype)
    shape = _shape(value, name, types, f"{expected} ({spec.dtype.name})")
    if not spec.shape.is_compatible_with(shape):
        raise ServingError(f"{name}: shape {list(shape)} does not match the signature's {spec.shape}")
    if spec.dtype == tf.string:
        return tf.constant(np.array(_utf8(value), dtype=object).reshape(shape), tf.string)
    try:
        return tf.constant(np.asarray(value, dtype=spec.dtype.as_numpy_dtype))
    except (OverflowError, ValueError) as err:
        raise ServingError(f"{name}: {err}; expected {spec.dtype.name}") from None


def _named_inputs(value, specs):
    """`{input name: JSON value}`, checked against the signature's input names."""
    if not isinstance(value, dict) or _is_b64(value):
        if len(specs) != 1:
            raise ServingError(f"the signature has {len(specs)} inputs {sorted(specs)}: "
                               "send an object with one entry per input")
        value = {next(iter(specs)): value}
    unknown = sorted(set(value) - set(specs))
    if unknown:
        raise ServingError(f"input tensor alias not found in signature: {unknown[0]}. "
                           f"Inputs expected to be in the set {{{','.join(sorted(specs))}}}.")
    missing = sorted(set(specs) - set(value))
    if missing:
        raise ServingError(f"input size does not match signature: {len(value)}!={len(specs)}. "
                           f"Missing but required: {{{','.join(missing)}}}.")
    return value


def _columns(instances, specs):
    """Row format → columnar: `{input name: [one value per instance]}`.

    An input the signature declares as a scalar (rank 0) takes one value per
    instance in the row format; the values must agree and the scalar is passed.
    """
    if not isinstance(instances, list):
        raise ServingError("'instances' must be a JSON list, one element per instance")
    named = [isinstance(i, dict) and not _is_b64(i) for i in instances]
    if any(named):
        if not all(named) or len({frozenset(i) for i in instances}) > 1:
            raise ServingError("every element of 'instances' must be an object with the same input names")
        columns = _named_inputs({k: [i[k] for i in instances] for k in instances[0]}, specs)
    else:
        columns = _named_inputs(instances, specs)
    for name, values in columns.items():
        if specs[name].shape.rank == 0:
            if not values or any(v != values[0] for v in values):
                raise ServingError(f"{name}: a scalar input; every instance must hold the same value")
            columns[name] = values[0]
    return columns


def _call(function, tensors):
    try:
        return {k: v.numpy() for k, v in function(**tensors).items()}
    except tf.errors.OpError as err:
        raise ServingError(err.message, _HTTP_STATUS.get(err.error_code, HTTPStatus.INTERNAL_SERVER_ERROR)) from None
    except (TypeError, ValueError) as err:  # the concrete function rejected the tensors' dtype or shape
        raise ServingError(str(err)) from None


def _json_value(name, array):
    """An output array as JSON: strings decoded as UTF-8, or base64 when the name ends in `_bytes`."""
    if array.dtype != object:
        return array.tolist()

    def convert(value):
        if isinstance(value, list):
            return [convert(v) for v in value]
        if name.endswith("_bytes"):
            return {"b64": base64.b64encode(value).decode("ascii")}
        return value.decode("utf-8", errors="replace")

    return convert(array.tolist())


def _predictions(outputs):
    """Row format: one value per instance, or one object per instance when there are several outputs."""
    sizes = {name: (array.shape[0] if array.ndim else None) for name, array in outputs.items()}
    if None in sizes.values() or len(set(sizes.values())) > 1:
        raise ServingError(f"the outputs' batch sizes differ or are missing ({sizes}): use the columnar format")
    columns = {name: _json_value(name, array) for name, array in outputs.items()}
    if len(columns) == 1:
        return next(iter(columns.values()))
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


def _parse_json(body):
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise ServingError(f"JSON Parse error: {err}") from None
    if not isinstance(request, dict):
        raise ServingError("JSON Value: the request must be a JSON object")
    return request


def predict(servable, body):
    """Answers a `:predict` request body (bytes) with TF Serving's JSON response."""
    request = _parse_json(body)
    signature_name = request.get("signature_name", DEFAULT_SIGNATURE)
    function = servable.loaded.signatures.get(signature_name) if isinstance(signature_name, str) else None
    if function is None:
        # TF Serving's REST handler answers InvalidArgument (400) here, not NotFound
        # (http_rest_api_handler.cc, GetInfoMap).
        raise ServingError(f'Serving signature name: "{signature_name}" not found in signature def')
    specs = function.structured_input_signature[1]
    if ("instances" in request) == ("inputs" in request):
        raise ServingError("Missing 'inputs' or 'instances' key" if "inputs" not in request
                           else "Request can have either 'instances' or 'inputs' but not both")
    rows = "instances" in request
    values = _columns(request["instances"], specs) if rows else _named_inputs(request["inputs"], specs)
    outputs = _call(function, {name: _tensor(name, value, specs[name]) for name, value in values.items()})
    if rows:
        return {"predictions": _predictions(outputs)}
    columns = {name: _json_value(name, array) for name, array in outputs.items()}
    return {"outputs": next(iter(columns.values())) if len(columns) == 1 else columns}


# --- HTTP ----------------------------------------------------------------------------------------------

_ROUTE = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"
                    r"(?P<verb>/metadata|:predict|:classify|:regress)?")


class _Handler(BaseHTTPRequestHandler):
    server_version = "zoo-rest"
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def log_message(self, format, *args):
        logger.info("%s %s", self.address_string(), format % args)

    def _answer(self, method):
        try:
            status, body = HTTPStatus.OK, self._route(method)
        except ServingError as err:
            status, body = err.http_status, {"error": str(err)}
        except Exception as err:  # a bug costs one request a 500, never the server
            logger.exception("request %s %s failed", method, self.path)
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(err).__name__}: {err}"}
        payload = json.dumps(body, ensure_ascii=False, indent=1).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _route(self, method):
        body = self._body()  # read for GET too, or a GET's body would be taken for the next request
        if not self.path.startswith("/v1/"):
            raise _not_found(f"Not found: {method} {self.path}")
        match = _ROUTE.fullmatch(self.path.split("?")[0])
        verb = match and match["verb"]
        if match is None or (method == "GET") != (verb in (None, "/metadata")):
            raise ServingError(f"Malformed request: {method} {self.path}")
        repository = self.server.repository
        name, version = match["name"], match["version"] and int(match["version"])
        if verb is None:
            return repository.status(name, version)
        if verb == "/metadata":
            return repository.metadata(name, version)
        _, servable = repository.servable(name, version)
        if verb != ":predict":
            kind = {":classify": "classification", ":regress": "regression"}[verb]
            raise ServingError(f"Expected {kind} signature method_name to be tensorflow/serving/{verb[1:]}. "
                               "Was: tensorflow/serving/predict")
        return predict(servable, body)

    def _body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ServingError(f"Content-Length: expected a byte count, got {self.headers['Content-Length']!r}")
        # TF Serving's HTTP server (libevent) refuses an oversized body with 413 Payload Too Large.
        if length > self.server.max_body_bytes:
            self._discard(length)
            raise ServingError(f"request body of {length} bytes exceeds the limit of "
                               f"{self.server.max_body_bytes}", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return self.rfile.read(length)

    def _discard(self, length):
        # Read what the client sends before answering: closing a socket with unread
        # data resets the connection, and the client would never see the 413.
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)


class RestServer(ThreadingHTTPServer):
    """An HTTP server answering TF Serving's REST API from a `ModelRepository`.

    Args:
        repository: the `ModelRepository` to serve.
        host: the address to listen on.
        port: the port; 0 picks a free one (see `server_address`).
        max_body_bytes: larger request bodies are refused with 413.
    """

    daemon_threads = True

    def __init__(self, repository, host="127.0.0.1", port=8501, max_body_bytes=MAX_BODY_BYTES):
        super().__init__((host, port), _Handler)
        self.repository = repository
        self.max_body_bytes = max_body_bytes


def serve(root, host="127.0.0.1", port=8501, poll_seconds=5.0):
    """Loads every model under `root` and serves it over TF Serving's REST API until interrupted."""
    repository = ModelRepository(root)
    names = repository.refresh()
    repository.start_polling(poll_seconds)
    with RestServer(repository, host, port) as server:
        print(f"serving {', '.join(names) or 'no models yet'} from {root} at "
              f"http://{host}:{server.server_address[1]}/v1/models/<name>", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            repository.stop_polling()
