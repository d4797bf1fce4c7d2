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
import select
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

from zoo.artifacts import version_number
from zoo.serving.calls import (DEFAULT_SIGNATURE, Deadline, check_input_names, checked_input, input_specs,
                               refuse_classify_or_regress, run_signature)
from zoo.serving.limits import MAX_RANK, Limits
from zoo.serving.errors import ServingError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 << 20
MAX_CONNECTIONS = 64  # open connections, each with its thread; one more is answered 503 and closed
DISCARD_BYTES = 64 << 20  # of an oversized body, read at most this much before answering 413 and closing

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


def _describe(value):
    """A JSON value for an error message: short, and never a crash on bytes."""
    text = json.dumps(value) if not isinstance(value, (bytes, bytearray)) else "binary data (b64)"
    return text[:80]


def _depth(value):
    """How deeply lists nest in a JSON value, counted without recursion (a request may nest thousands deep)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, list):
            if depth + 1 > MAX_RANK:
                return depth + 1
            deepest = max(deepest, depth + 1)
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, dict) and not _is_b64(value):
            stack.extend((v, depth) for v in value.values())
    return deepest


def _shape(value, name, types, expected):
    """The shape of a nested JSON list whose leaves are all of `types`."""
    if isinstance(value, list):
        shapes = {_shape(v, name, types, expected) for v in value}
        if len(shapes) > 1:
            raise ServingError(f"{name}: lists of different lengths; expected a rectangular array of {expected}")
        return (len(value), *(shapes.pop() if shapes else ()))
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ServingError(f"{name}: expected {expected}, got {_describe(value)}")
    return ()


def _leaves(value):
    if isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _utf8(value, name):
    if isinstance(value, list):
        return [_utf8(v, name) for v in value]
    if not isinstance(value, str):
        return value
    try:
        return value.encode()
    except UnicodeEncodeError:  # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 text holds
        raise ServingError(f"{name}: holds an unpaired surrogate escape, not text; expected UTF-8 text") from None


def _tensor(name, value, spec, limits):
    """A JSON value as a tensor of the signature input's dtype, once its shape and size are within `limits`."""
    types, expected = _leaf_types(spec.dtype)
    expected = f"{expected} ({spec.dtype.name})"
    if _depth(value) > MAX_RANK:
        raise ServingError(f"{name}: lists nested more than {MAX_RANK} deep; expected an array of {expected}")
    if spec.dtype != tf.string and any(_is_b64(v) for v in _leaves(value)):
        raise ServingError(f'{name}: {{"b64": ...}} holds binary strings; expected {expected}')
    value = _decode_b64(value, name)
    if spec.dtype == tf.string:
        value = _utf8(value, name)
    shape = _shape(value, name, types, expected)
    limits.check_declared(name, spec.dtype, list(shape),
                          sum(len(v) for v in _leaves(value)) if spec.dtype == tf.string else 0)
    if spec.dtype == tf.string:
        return tf.constant(np.array(value, dtype=object).reshape(shape), tf.string)
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
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ServingError(f"JSON Parse error: {err}") from None
    if not isinstance(request, dict):
        raise ServingError("JSON Value: the request must be a JSON object")
    return request


def predict(function, request, batcher=None, key=None, limits=Limits(), deadline=None, gate=None):
    """Answers a `:predict` request (the parsed JSON body) for a signature with TF Serving's JSON response.

    `batcher` and `key` (model, version, signature name) merge the call with
    concurrent ones (see `zoo.serving.batching.Batcher`); `limits` bound the
    request and `deadline` its work (see `zoo.serving.limits`); its calls take
    their turns at `gate` (`zoo.serving.calls.ComputeGate`).
    """
    if ("instances" in request) == ("inputs" in request):
        raise ServingError("Missing 'inputs' or 'instances' key" if "inputs" not in request
                           else "Request can have either 'instances' or 'inputs' but not both")
    specs = input_specs(function)
    rows = "instances" in request
    values = _columns(request["instances"], specs) if rows else _named_inputs(request["inputs"], specs)
    tensors = {name: checked_input(name, _tensor(name, value, specs[name], limits), specs)
               for name, value in values.items()}
    outputs = run_signature(function, tensors, batcher, key, limits, deadline, gate)
    if rows:
        return {"predictions": _predictions(outputs)}
    columns = {name: _json_value(name, array) for name, array in outputs.items()}
    return {"outputs": next(iter(columns.values())) if len(columns) == 1 else columns}


# --- HTTP ----------------------------------------------------------------------------------------------

_ROUTE = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
                    r"(?P<verb>/metadata|:predict|:classify|:regress)?")


class _BodyTooLarge(ServingError):
    """TF Serving's HTTP server (libevent) refuses an oversized body with 413 Payload Too Large."""


def _escaped(text):
    """A request line or path as it may go into one log line: control characters and quotes escaped."""
    return text.encode("unicode_escape", errors="backslashreplace").decode("ascii").replace('"', '\\"')


def _json_payload(body):
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "zoo-rest"
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle's algorithm the body waits for the client's delayed
    # ACK of the headers, 40 ms on Linux, on every keep-alive request
    disable_nagle_algorithm = True

    def setup(self):
        self.timeout = self.server.limits.socket_timeout  # an idle keep-alive or a stalled body is closed
        super().setup()

    def handle_one_request(self):
        """One request, its line and headers within `limits.header_timeout`: past it the connection is shut,
        which ends the read that waits for them."""
        self._header_deadline = threading.Timer(self.server.limits.header_timeout, self._headers_too_late)
        self._header_deadline.daemon = True
        self._header_deadline.start()
        try:
            super().handle_one_request()
        finally:
            self._header_deadline.cancel()

    def _headers_too_late(self):
        logger.info("%s: headers did not arrive within %ss; connection closed", self.address_string(),
                    self.server.limits.header_timeout)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _not_allowed(self):
        self._header_deadline.cancel()
        self._body_or_none()
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"Method {_escaped(self.command)} not allowed: "
                                                   "TF Serving's REST API takes GET and POST"},
                   extra_headers={"Allow": "GET, POST"})

    do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_TRACE = do_CONNECT = _not_allowed

    def send_error(self, code, message=None, explain=None):
        """BaseHTTPRequestHandler's own refusals (a malformed request line, ...) as JSON, not HTML."""
        self.close_connection = True
        self._send(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})

    def log_request(self, code="-", size="-"):
        """One log line per refused or failed request (a line per answered one would cost every request)."""
        if isinstance(code, HTTPStatus):
            code = code.value
        if not str(code).startswith(("1", "2", "3")):
            super().log_request(code, size)

    def log_message(self, format, *args):
        logger.info("%s %s", self.address_string(), _escaped(format % args))

    def _answer(self, method):
        self._header_deadline.cancel()  # the headers are in: the body has socket_timeout, the work its deadline
        try:
            status, body = HTTPStatus.OK, self._route(method)
        except _BodyTooLarge as err:
            status, body = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": str(err)}
        except ServingError as err:
            status, body = http_status(err.code), {"error": str(err)}
        except TimeoutError:
            self.close_connection = True
            status, body = HTTPStatus.REQUEST_TIMEOUT, {"error": "the request body did not arrive in time"}
        except Exception as err:  # a bug costs one request a 500, never the server
            logger.exception("request %s %s failed", method, _escaped(self.path))
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"Internal error ({type(err).__name__})"}
        self._send(status, body)

    def _send(self, status, body, extra_headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        payload = _json_payload(body)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _route(self, method):
        body = self._body()  # read for GET too, or a GET's body would be taken for the next request
        if not self.path.startswith("/v1/"):
            raise ServingError(f"Not found: {method} {_escaped(self.path)}", tf.errors.NOT_FOUND)
        match = _ROUTE.fullmatch(self.path.split("?")[0])
        verb = match and match["verb"]
        if match is None or (method == "GET") != (verb in (None, "/metadata")):
            raise ServingError(f"Malformed request: {method} {_escaped(self.path)}")
        repository = self.server.repository
        name, label = match["name"], match["label"]
        version = match["version"] and version_number(match["version"])
        if match["version"] and version is None:
            raise ServingError(f"Servable not found for request: Specific({name}, {match['version']})",
                               tf.errors.NOT_FOUND)
        if verb is None:
            return proto_to_json(repository.status(name, version, label))
        if verb == "/metadata":
            return proto_to_json(repository.metadata(name, version, label))
        return self._predict(name, version, label, verb, body)

    def _predict(self, name, version, label, verb, body):
        number, servable = self.server.repository.servable(name, version, label)
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
        limits = self.server.limits
        deadline = Deadline(limits.request_timeout, self._client_gone)
        return predict(function, request, self.server.batcher, (name, number, signature_name), limits, deadline,
                       self.server.gate)

    def _client_gone(self):
        """Whether the client closed its connection while its request was being answered."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _body_or_none(self):
        try:
            return self._body()
        except ServingError:
            self.close_connection = True
            return None

    def _body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ServingError(f"Content-Length: expected a byte count, got "
                               f"{_escaped(self.headers['Content-Length'])!r}")
        if length > self.server.max_body_bytes:
            self.close_connection = True
            self._discard(min(length, DISCARD_BYTES))
            raise _BodyTooLarge(f"request body of {length} bytes exceeds the limit of {self.server.max_body_bytes}",
                                tf.errors.RESOURCE_EXHAUSTED)
        return self.rfile.read(length)

    def _discard(self, length):
        # Read what the client sends before answering: closing a socket with unread data resets the
        # connection, and the client would never see the 413. A body that stalls is not waited for.
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    return
                length -= len(chunk)
        except TimeoutError:
            return


class RestServer(ThreadingHTTPServer):
    """An HTTP server answering TF Serving's REST API from a `ModelRepository`.

    Each connection has a thread, up to `max_connections`; one more is
    answered 503 and closed at once. A connection idle (or a body stalled) for
    `limits.socket_timeout` seconds is closed.

    Args:
        repository: the `ModelRepository` to serve.
        host: the address to listen on.
        port: the port; 0 picks a free one (see `server_address`).
        max_body_bytes: larger request bodies are refused with 413.
        batcher: a `zoo.serving.batching.Batcher` merging concurrent predictions, or `None`.
        limits: the caps of one request and its deadline (`zoo.serving.limits.Limits`).
        max_connections: open connections served at once.
        gate: the `zoo.serving.calls.ComputeGate` signature calls take turns at, or `None`.
    """

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, repository, host="127.0.0.1", port=8501, max_body_bytes=MAX_BODY_BYTES, batcher=None,
                 limits=Limits(), max_connections=MAX_CONNECTIONS, gate=None):
        super().__init__((host, port), _Handler)
        self.repository = repository
        self.max_body_bytes = max_body_bytes
        self.batcher = batcher
        self.limits = limits
        self.gate = gate
        self._connections = threading.BoundedSemaphore(max_connections)

    def handle_error(self, request, client_address):
        """A client that left mid-answer is one log line, not socketserver's traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            logger.info("%s: connection ended early (%s)", client_address[0], error.strerror or error)
        else:
            logger.exception("%s: connection failed", client_address[0])

    def process_request(self, request, client_address):
        if not self._connections.acquire(blocking=False):
            self._refuse(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def _refuse(self, request):
        status = HTTPStatus.SERVICE_UNAVAILABLE
        payload = _json_payload({"error": "the server is answering as many connections as it may; retry"})
        head = (f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + payload)
        except OSError:
            pass
        self.shutdown_request(request)
