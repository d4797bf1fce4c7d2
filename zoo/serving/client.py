"""A small client for TF Serving's REST and gRPC APIs: `zoo serve` or a real `tensorflow/serving`.

```python
from zoo.serving import Client

client = Client("localhost:8501")                  # REST; Client(grpc="localhost:8500") for gRPC
client.predict("pos_brown", sentences=["The book is on the table."])
# {'scores': array([[0.99, ...]], dtype=float32), 'tags': array([['DET', 'NOUN', ...]], dtype=object), ...}
client.status("pos_brown")                         # {'model_version_status': [{'version': '1', 'state': 'AVAILABLE', ...}]}
client.metadata("pos_brown")["metadata"]["signature_def"]["signature_def"]["serving_default"]
```

Outputs come back as NumPy arrays of the signature's dtypes; strings as object
arrays of `str` (UTF-8 decoded), except outputs named `*_bytes`, which stay
`bytes`. So `client.predict(...)` equals the signature's outputs with their
strings decoded, over either protocol. Inputs are converted to the dtypes the
signature declares (read once per model version from its metadata); inputs named
`*_bytes` go over REST as `{"b64": ...}`. Refusals raise `RequestError` with
TF Serving's message and status code.
"""

import base64
import json
import urllib.error
import urllib.request
from http import HTTPStatus

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc,
                                     predict_pb2, prediction_service_pb2_grpc)

from zoo.serving.rest import HTTP_STATUS, proto_to_json
from zoo.serving.calls import DEFAULT_SIGNATURE

# The inverse of TF Serving's status code → HTTP status mapping, for REST errors (400: INVALID_ARGUMENT).
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}
_CODE_OF_HTTP_STATUS = {status: _CODE_NAMES[code] for code, status in reversed(HTTP_STATUS.items())}
_CODE_OF_HTTP_STATUS[HTTPStatus.REQUEST_ENTITY_TOO_LARGE] = "RESOURCE_EXHAUSTED"


class RequestError(Exception):
    """A request the server refused or could not be reached for.

    Attributes:
        message: the server's message (TF Serving's wording).
        code: the canonical status code's name: `"NOT_FOUND"`, `"INVALID_ARGUMENT"`, ...
        http_status: the HTTP status over REST; `None` over gRPC.
    """

    def __init__(self, message, code, http_status=None):
        super().__init__(f"{code}: {message}")
        self.message = message
        self.code = code
        self.http_status = http_status


def _address(address):
    return address.removeprefix("http://").removeprefix("grpc://").rstrip("/")


def _as_array(value, dtype):
    """An input as a NumPy array of the signature's dtype (strings: an object array of `str` or `bytes`); as it
    is when it does not convert, for the server to refuse in its words."""
    try:
        if dtype != tf.string:
            return np.asarray(value, dtype=dtype.as_numpy_dtype if dtype is not None else None)
        array = np.array(value, dtype=object)
        if all(isinstance(item, (str, bytes)) for item in array.flat):
            return array
    except (TypeError, ValueError):
        pass
    return np.asarray(value)


def _output_array(name, value, dtype):
    """An output (a NumPy array over gRPC, JSON over REST) as a NumPy array of its signature dtype."""
    if dtype != tf.string:
        return np.asarray(value, dtype=dtype.as_numpy_dtype if dtype is not None else None)
    array = np.array(value, dtype=object)
    if name.endswith("_bytes") or not array.size:
        return array
    return np.vectorize(lambda v: v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v,
                        otypes=[object])(array)


class _Rest:
    def __init__(self, address, timeout):
        self.base = f"http://{_address(address)}/v1/models"
        self.timeout = timeout

    def _call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="GET" if data is None else "POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read())["error"]
            except (ValueError, KeyError, TypeError):
                message = err.reason
            raise RequestError(message, _CODE_OF_HTTP_STATUS.get(err.code, "UNKNOWN"), err.code) from None
        except urllib.error.URLError as err:
            raise RequestError(str(err.reason), "UNAVAILABLE") from None

    @staticmethod
    def _path(model, version):
        return f"/{model}" + (f"/versions/{int(version)}" if version is not None else "")

    def close(self):
        pass  # every REST call opens and closes its own connection

    def status(self, model, version):
        return self._call(self._path(model, version))

    def metadata(self, model, version):
        return self._call(self._path(model, version) + "/metadata")

    def predict(self, model, version, signature_name, arrays, output_names):
        inputs = {name: self._json(name, array) for name, array in arrays.items()}
        answer = self._call(self._path(model, version) + ":predict",
                            {"signature_name": signature_name, "inputs": inputs})["outputs"]
        if len(output_names) == 1:  # TF Serving answers a single output without its name
            answer = {output_names[0]: answer}
        return {name: _from_b64(value) for name, value in answer.items()}

    @staticmethod
    def _json(name, array):
        if array.dtype != object:
            return array.tolist()

        def convert(value):
            if isinstance(value, list):
                return [convert(v) for v in value]
            data = value.encode() if isinstance(value, str) else value
            if not name.endswith("_bytes"):
                try:
                    return data.decode("utf-8")
                except UnicodeDecodeError:
                    pass  # binary in a text input: sent as base64, as TF Serving's REST API allows
            return {"b64": base64.b64encode(data).decode("ascii")}

        return convert(array.tolist())


def _from_b64(value):
    """A JSON output with every `{"b64": ...}` replaced by its bytes."""
    if isinstance(value, list):
        return [_from_b64(v) for v in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value


class _Grpc:
    def __init__(self, address, timeout):
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        self.channel = grpc.insecure_channel(_address(address), options=options)
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self.timeout = timeout

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise RequestError(err.details(), err.code().name) from None

    @staticmethod
    def _spec(spec, model, version, signature_name=None):
        spec.name = model
        if version is not None:
            spec.version.value = int(version)
        if signature_name is not None:
            spec.signature_name = signature_name

    def close(self):
        self.channel.close()

    def status(self, model, version):
        request = get_model_status_pb2.GetModelStatusRequest()
        self._spec(request.model_spec, model, version)
        return proto_to_json(self._call(self.models.GetModelStatus, request))

    def metadata(self, model, version):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(request.model_spec, model, version)
        return proto_to_json(self._call(self.predictions.GetModelMetadata, request))

    def predict(self, model, version, signature_name, arrays, output_names):
        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, model, version, signature_name)
        for name, array in arrays.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
        response = self._call(self.predictions.Predict, request)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


class Client:
    """Predictions, status and metadata from a TF Serving REST or gRPC endpoint.

    Args:
        rest: `"host:port"` of the REST API (TF Serving's `--rest_api_port`, 8501).
        grpc: `"host:port"` of the gRPC API (`--port`, 8500), instead of `rest`.
        timeout: seconds to wait for each answer.

    Example:

    ```python
    client = Client("localhost:8501")                # or Client(grpc="localhost:8500")
    client.predict("translate_es_en", "translate", sentences=["Sea la luz."], beam_width=1, max_length=0)
    ```
    """

    def __init__(self, rest=None, *, grpc=None, timeout=60.0):
        if (rest is None) == (grpc is None):
            raise ValueError("Client: give one address, Client('host:8501') for REST or Client(grpc='host:8500')")
        self._transport = _Rest(rest, timeout) if rest is not None else _Grpc(grpc, timeout)
        self._signature_defs = {}

    def predict(self, model, signature_name=DEFAULT_SIGNATURE, version=None, **inputs):
        """`{output name: np.ndarray}` of one call of `signature_name` (see the module docstring for types).

        Raises:
            RequestError: the server's refusal (unknown model or version, bad input...).
        """
        signature = self._signature(model, version, signature_name)
        arrays = {name: _as_array(value, signature["inputs"].get(name)) for name, value in inputs.items()}
        outputs = self._transport.predict(model, version, signature_name, arrays, sorted(signature["outputs"]))
        return {name: _output_array(name, value, signature["outputs"].get(name))
                for name, value in sorted(outputs.items())}

    def status(self, model, version=None):
        """TF Serving's `GetModelStatusResponse` as JSON (`{"model_version_status": [...]}`)."""
        return self._transport.status(model, version)

    def metadata(self, model, version=None):
        """TF Serving's `GetModelMetadataResponse` as JSON: the signature defs are in
        `["metadata"]["signature_def"]["signature_def"]`."""
        return self._transport.metadata(model, version)

    def close(self):
        """Closes the gRPC channel (REST holds no connection between calls)."""
        self._transport.close()

    def _signature(self, model, version, signature_name):
        """`{"inputs": {name: tf.DType}, "outputs": {...}}` of a signature, from the model's metadata."""
        key = (model, version)
        if key not in self._signature_defs:
            self._signature_defs[key] = self.metadata(model, version)["metadata"]["signature_def"]["signature_def"]
        signature = self._signature_defs[key].get(signature_name, {})
        return {part: {name: tf.as_dtype(types_pb2.DataType.Value(info["dtype"]))
                       for name, info in signature.get(part, {}).items()}
                for part in ("inputs", "outputs")}
