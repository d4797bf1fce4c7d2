"""The REST front end of `zoo serve`: TF Serving's REST API (v1) over a `ModelRepository`.

For development where the `tensorflow/serving` image cannot run: the same
`<root>/<name>/<version>/` directories, loaded with plain `tf.saved_model.load`
(no zoo or Keras code at serving time), answered with TF Serving's URLs, JSON
shapes, error messages and HTTP codes, so a client written for TF Serving works
unchanged.

```
GET  /v1/models/NAME[/versions/N | /labels/L]              model status
GET  /v1/models/NAME[/versions/N | /labels/L]/metadata     signature defs
POST /v1/models/NAME[/versions/N | /labels/L]:predict      row ("instances") or columnar ("inputs") format
```

Versions follow TF Serving (see `ModelRepository`): a poll picks up new version
directories and drops removed ones; a version that fails to load is reported in
the status and the others keep serving.
"""

import base64
import binascii
import json
import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

from zoo.serving.repository import ServingError
from zoo.serving.signatures import (DEFAULT_SIGNATURE, check_input_names, checked_input, input_specs,
                                    refuse_classify_or_regress, run_signature)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 << 20

# TF Serving's mapping of a status code to an HTTP code (model_servers/http_server.cc, ToHTTPStatusCode).
HTTP_STATUS = {
    tf.errors.INVALID_ARGUMENT: HTTPStatus.BAD_REQUEST,
    tf.errors.OUT_OF_RANGE: HTTPStatus.BAD_REQUEST,
    tf.errors.NOT_FOUND: HTTPStatus.NOT_FOUND,
    tf.errors.FAILED_PRECONDITION: HTTPStatus.PRECONDITION_FAILED,
    tf.errors.RESOURCE_EXHAUSTED: HTTPStatus.TOO_MANY_REQUESTS,
    tf.errors.UNIMPLEMENTED: HTTPStatus.NOT_IMPLEMENTED,
    tf.errors.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    tf.errors.DEADLINE_EXCEEDED: HTTPStatus.GATEWAY_TIMEOUT,
}


def http_status(code):
    """The HTTP status TF Serving answers for a canonical status code."""
    return HTTP_STATUS.get(code, HTTPStatus.INTERNAL_SERVER_ERROR)


def proto_to_json(message):
    """A proto as TF Serving's REST API prints it: field names as in the .proto, defaults included."""
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
    check_input_names(value, specs)
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


def predict(function, request, batcher=None, key=None):
    """Answers a `:predict` request (the parsed JSON body) for a signature with TF Serving's JSON response.

    `batcher` and `key` (model, version, signature name) merge the call with
    concurrent ones (see `zoo.serving.batching.Batcher`).
    """
    if ("instances" in request) == ("inputs" in request):
        raise ServingError("Missing 'inputs' or 'instances' key" if "inputs" not in request
                           else "Request can have either 'instances' or 'inputs' but not both")
    specs = input_specs(function)
    rows = "instances" in request
    values = _columns(request["instances"], specs) if rows else _named_inputs(request["inputs"], specs)
    tensors = {name: checked_input(name, _tensor(name, value, specs[name]), specs) for name, value in values.items()}
    outputs = run_signature(function, tensors, batcher, key)
    if rows:
        return {"predictions": _predictions(outputs)}
    columns = {name: _json_value(name, array) for name, array in outputs.items()}
    return {"outputs": next(iter(columns.values())) if len(columns) == 1 else columns}


# --- HTTP ----------------------------------------------------------------------------------------------

_ROUTE = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
                    r"(?P<verb>/metadata|:predict|:classify|:regress)?")


class _BodyTooLarge(ServingError):
    """TF Serving's HTTP server (libevent) refuses an oversized body with 413 Payload Too Large."""


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
        except _BodyTooLarge as err:
            status, body = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": str(err)}
        except ServingError as err:
            status, body = http_status(err.code), {"error": str(err)}
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
            raise ServingError(f"Not found: {method} {self.path}", tf.errors.NOT_FOUND)
        match = _ROUTE.fullmatch(self.path.split("?")[0])
        verb = match and match["verb"]
        if match is None or (method == "GET") != (verb in (None, "/metadata")):
            raise ServingError(f"Malformed request: {method} {self.path}")
        repository = self.server.repository
        name, label = match["name"], match["label"]
        version = match["version"] and int(match["version"])
        if verb is None:
            return proto_to_json(repository.status(name, version, label))
        if verb == "/metadata":
            return proto_to_json(repository.metadata(name, version, label))
        number, servable = repository.servable(name, version, label)
        request = _parse_json(body)
        signature_name = request.get("signature_name", DEFAULT_SIGNATURE)
        if not isinstance(signature_name, str):
            raise ServingError("'signature_name' key must be a string value.")
        if verb != ":predict":
            refuse_classify_or_regress(servable, signature_name, verb[1:])
        function = servable.loaded.signatures.get(signature_name)
        if function is None:
            # TF Serving's REST handler answers InvalidArgument (400) here, where gRPC
            # answers FailedPrecondition (http_rest_api_handler.cc, GetInfoMap).
            raise ServingError(f'Serving signature name: "{signature_name}" not found in signature def')
        return predict(function, request, self.server.batcher, (name, number, signature_name))

    def _body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ServingError(f"Content-Length: expected a byte count, got {self.headers['Content-Length']!r}")
        if length > self.server.max_body_bytes:
            self._discard(length)
            raise _BodyTooLarge(f"request body of {length} bytes exceeds the limit of {self.server.max_body_bytes}",
                                tf.errors.RESOURCE_EXHAUSTED)
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
        batcher: a `zoo.serving.batching.Batcher` merging concurrent predictions, or `None`.
    """

    daemon_threads = True

    def __init__(self, repository, host="127.0.0.1", port=8501, max_body_bytes=MAX_BODY_BYTES, batcher=None):
        super().__init__((host, port), _Handler)
        self.repository = repository
        self.max_body_bytes = max_body_bytes
        self.batcher = batcher
