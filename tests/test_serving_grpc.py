"""zoo.serving.grpc_server: TF Serving's PredictionService and ModelService, answered as the signatures answer."""

import json
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from serving_toys import running
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc,
                                     regression_pb2)

import zoo
from zoo.serving.rest import proto_to_json

MAX_BYTES = 100_000


@pytest.fixture(scope="module")
def server(serving_root):
    with running(serving_root, max_body_bytes=MAX_BYTES) as server:
        yield server


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield channel


@pytest.fixture(scope="module")
def predictions(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def models(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)


@pytest.fixture(scope="module")
def loaded(serving_root):
    """`loaded(name)`: the model's version 1 through `zoo.load`, once per module."""
    cache = {}

    def load(name):
        if name not in cache:
            cache[name] = zoo.load(serving_root / name / "1")
        return cache[name]

    return load


def _request(name, signature="", version=None, label=None, **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def _outputs(response):
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def _assert_same(got, expected):
    assert sorted(got) == sorted(expected)
    for name, tensor in expected.items():
        np.testing.assert_array_equal(got[name], tensor.numpy(), err_msg=name)
        assert got[name].shape == tuple(tensor.shape), name


def test_sensor_predict_equals_the_signature(predictions, loaded, rng):
    series = rng.normal(size=(2, 7, 3)).astype(np.float32)
    response = predictions.Predict(_request("sensor_tiny", series=series), timeout=60)
    assert (response.model_spec.name, response.model_spec.version.value, response.model_spec.signature_name) \
        == ("sensor_tiny", 1, "serving_default")
    _assert_same(_outputs(response), loaded("sensor_tiny").signatures["serving_default"](tf.constant(series)))
    lengths = np.array([7, 3], np.int32)
    response = predictions.Predict(_request("sensor_tiny", "classify_padded", version=1, series=series,
                                            lengths=lengths), timeout=60)
    _assert_same(_outputs(response), loaded("sensor_tiny").signatures["classify_padded"](
        tf.constant(series), tf.constant(lengths)))


@pytest.mark.slow
def test_tagger_predict_equals_the_signature(predictions, loaded):
    sentences = np.array([b"The dog sees a cat .", b"A small bird runs quickly today .", b""], dtype=object)
    response = predictions.Predict(_request("pos_tiny", sentences=sentences), timeout=60)
    _assert_same(_outputs(response), loaded("pos_tiny").signatures["serving_default"](tf.constant(sentences)))


def test_scalar_input_bytes_output_and_output_filter(predictions):
    response = predictions.Predict(_request("toy", "scale", x=np.array([1.0, 2.0], np.float32),
                                            k=np.array(3, np.int32)), timeout=60)
    np.testing.assert_array_equal(_outputs(response)["y"], [3.0, 6.0])
    request = _request("toy", "echo", text=np.array(["día".encode(), b"\xff"], dtype=object))
    request.output_filter.append("text_bytes")
    assert {k: list(v) for k, v in _outputs(predictions.Predict(request, timeout=60)).items()} \
        == {"text_bytes": ["día".encode(), b"\xff"]}


def test_metadata_and_status_are_the_rest_answers(server, predictions, models):
    def rest(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/v1/models/{path}", timeout=60) as response:
            return json.loads(response.read())

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "sensor_tiny"
    assert proto_to_json(predictions.GetModelMetadata(request, timeout=60)) == rest("sensor_tiny/metadata")
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "toy"
    request.model_spec.version.value = 1
    status = models.GetModelStatus(request, timeout=60)
    assert proto_to_json(status) == rest("toy/versions/1")
    assert status.model_version_status[0].state == get_model_status_pb2.ModelVersionStatus.State.AVAILABLE


def _metadata(name="toy", fields=("signature_def",)):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=list(fields))
    request.model_spec.name = name
    return request


def _status(name, version=None):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    if version is not None:
        request.model_spec.version.value = version
    return request


def _classify(name, signature=""):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name, request.model_spec.signature_name = name, signature
    return request


def _regress(name):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = name
    return request


X = np.array([1.0], np.float32)
_bad_tensor = _request("toy", x=X)
_bad_tensor.inputs["x"].tensor_content = b"\x00"  # 1 byte for one float32

BAD_REQUESTS = [
    ("Predict", _request("nope", x=X), "NOT_FOUND", "Servable not found for request: Latest(nope)"),
    ("Predict", _request("toy", version=7, x=X), "NOT_FOUND", "Servable not found for request: Specific(toy, 7)"),
    ("Predict", _request("toy", label="stable", x=X), "INVALID_ARGUMENT", "Unrecognized servable version label: stable"),
    ("Predict", _request("", x=X), "INVALID_ARGUMENT", "ModelSpec has no name specified."),
    ("Predict", _request("toy", "nope", x=X), "FAILED_PRECONDITION", 'Serving signature key "nope" not found.'),
    ("Predict", _request("toy", z=X), "INVALID_ARGUMENT",
     "input tensor alias not found in signature: z. Inputs expected to be in the set {x}."),
    ("Predict", _request("toy", "scale", x=X), "INVALID_ARGUMENT", "Missing but required: {k}."),
    ("Predict", _request("toy", x=X.astype(np.float64)), "INVALID_ARGUMENT",
     "x: Expects arg[0] to be float32 but float64 is provided"),
    ("Predict", _request("toy", x=np.array(["one"], dtype=object)), "INVALID_ARGUMENT", "but string is provided"),
    ("Predict", _request("toy", x=np.ones((1, 1), np.float32)), "INVALID_ARGUMENT",
     "x: shape [1, 1] does not match the signature's (None,)"),
    ("Predict", _bad_tensor, "INVALID_ARGUMENT", "tensor parsing error: x"),
    ("Predict", _request("sensor_tiny", series=np.ones((1, 4, 2), np.float32)), "INVALID_ARGUMENT",
     "series: wrong channel count"),
    ("GetModelMetadata", _metadata(fields=()), "INVALID_ARGUMENT", "must specify at least one metadata_field"),
    ("GetModelMetadata", _metadata(fields=("signature_def", "x")), "INVALID_ARGUMENT",
     "Metadata field x is not supported"),
    ("GetModelMetadata", _metadata("nope"), "NOT_FOUND", "Servable not found for request: Latest(nope)"),
    ("GetModelStatus", _status("nope"), "NOT_FOUND", "Could not find any versions of model nope"),
    ("GetModelStatus", _status("toy", 7), "NOT_FOUND", "Could not find version 7 of model toy"),
    ("Classify", _classify("toy"), "INVALID_ARGUMENT",
     "Expected classification signature method_name to be tensorflow/serving/classify. "
     "Was: tensorflow/serving/predict"),
    ("Classify", _classify("toy", "nope"), "INVALID_ARGUMENT", "No signature was found with the name: nope"),
    ("Classify", _classify("nope"), "NOT_FOUND", "Latest(nope)"),
    ("Regress", _regress("toy"), "INVALID_ARGUMENT", "Expected regression signature method_name"),
]


@pytest.mark.parametrize("method, request_, code, words", BAD_REQUESTS,
                         ids=[f"{m}-{c}-{i}" for i, (m, _, c, _) in enumerate(BAD_REQUESTS)])
def test_bad_requests_get_tf_serving_codes_and_the_server_keeps_answering(predictions, models, method, request_,
                                                                          code, words):
    stub = models if method == "GetModelStatus" else predictions
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stub, method)(request_, timeout=60)
    assert raised.value.code().name == code
    assert words in raised.value.details()
    np.testing.assert_array_equal(_outputs(predictions.Predict(_request("toy", x=X), timeout=60))["y"], [2.0])


def test_output_filter_errors(predictions):
    for names, words in ((["nope"], "output tensor alias not found in signature: nope"),
                         (["y", "y"], "duplicate output tensor alias: y")):
        request = _request("toy", x=X)
        request.output_filter.extend(names)
        with pytest.raises(grpc.RpcError) as raised:
            predictions.Predict(request, timeout=60)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in raised.value.details()


def test_oversized_message_is_refused(predictions):
    with pytest.raises(grpc.RpcError) as raised:
        predictions.Predict(_request("toy", x=np.ones(MAX_BYTES, np.float32)), timeout=60)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    np.testing.assert_array_equal(_outputs(predictions.Predict(_request("toy", x=X), timeout=60))["y"], [2.0])


def test_cli_serve_grpc_and_batching_flags(tmp_path):
    from zoo import cli

    args = cli.build_parser().parse_args(["serve", str(tmp_path)])
    assert (args.port, args.grpc_port, args.no_grpc, args.batching) == (8501, 8500, False, False)
    args = cli.build_parser().parse_args(["serve", str(tmp_path), "--grpc-port", "0", "--batching",
                                          "--max-batch-size", "8", "--batch-timeout-micros", "500"])
    assert (args.grpc_port, args.batching, args.max_batch_size, args.batch_timeout_micros) == (0, True, 8, 500)
    assert cli.build_parser().parse_args(["serve", str(tmp_path), "--no-grpc"]).no_grpc
