"""Requests a careless or hostile client sends, each with the refusal `zoo serve` owes it (bench/serving.py mixes
them into its load; tests/test_hostile.py replays them one by one with tighter checks)."""

import http.client
import json

import grpc
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


class Hostile:
    """One bad request: `send(rest, grpc)` returns `(refused as owed, what came back)`."""

    def __init__(self, name, send):
        self.name = name
        self.send = send

    def describe(self):
        return f"hostile {self.name}"


def _rest(method, path, body, owed):
    def send(rest, _grpc):
        host, port = rest.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            return response.status == owed, f"HTTP {response.status}"
        finally:
            connection.close()

    return send


def declared_tensor(dtype, shape, **values):
    """A `TensorProto` declaring `shape` whatever values it holds (a client may send one value for millions)."""
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape]))
    for field, items in values.items():
        getattr(proto, field).extend(items)
    return proto


def _grpc(model, inputs):
    def send(_rest, target):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        for name, proto in inputs.items():
            request.inputs[name].CopyFrom(proto)
        with grpc.insecure_channel(target) as channel:
            try:
                prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
            except grpc.RpcError as err:
                return err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.code().name
        return False, "OK"

    return send


def hostile_requests(models):
    """The probes that apply to the models served (by name)."""
    probes = []
    if "sensor_basic_motions" in models:
        probes += [
            Hostile("gRPC float [20000, 1000, 6] declared, one value", _grpc("sensor_basic_motions", {
                "series": declared_tensor(types_pb2.DT_FLOAT, [20000, 1000, 6], float_val=[0.0])})),
            Hostile("gRPC 10 M strings declared, one value", _grpc("sensor_basic_motions", {
                "series": declared_tensor(types_pb2.DT_STRING, [10_000_000], string_val=[b"x"])})),
            Hostile("b64 for a float input", _rest("POST", "/v1/models/sensor_basic_motions:predict",
                                                   json.dumps({"instances": [{"b64": "AAAA"}]}), 400)),
            Hostile("wrong channel count", _rest("POST", "/v1/models/sensor_basic_motions:predict",
                                                 json.dumps({"instances": [[[1.0] * 5]]}), 400)),
        ]
    if "pos_brown" in models:
        probes += [
            Hostile("5 000 rows", _rest("POST", "/v1/models/pos_brown:predict",
                                        json.dumps({"instances": ["Go."] * 5000}), 400)),
            Hostile("lists nested 900 deep", _rest("POST", "/v1/models/pos_brown:predict",
                                                   '{"inputs": ' + "[" * 900 + "]" * 900 + "}", 400)),
            Hostile("version 99999999999999999999", _rest(
                "POST", "/v1/models/pos_brown/versions/99999999999999999999:predict", '{"instances": ["a"]}', 404)),
            Hostile("PUT", _rest("PUT", "/v1/models/pos_brown", "", 405)),
            Hostile("malformed JSON", _rest("POST", "/v1/models/pos_brown:predict", '{"instances": [', 400)),
        ]
    if "translate_es_en" in models:
        probes.append(Hostile("beam width 99", _rest("POST", "/v1/models/translate_es_en:predict", json.dumps(
            {"signature_name": "translate", "inputs": {"sentences": ["Dios."], "beam_width": 99, "max_length": 0}}),
            400)))
    return probes
