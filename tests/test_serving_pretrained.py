"""Every pretrained model in saved_models/ through `zoo serve`: REST (rows and columns) and gRPC answer what
`zoo.load(name)`'s signatures answer, status and metadata match the model card, warm-up records replay cleanly."""

import grpc
import numpy as np
import pytest
import tensorflow as tf
from fixtures.serving import assert_outputs_equal, rest_call
from serving_toys import running
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import zoo
from zoo import artifacts, registry
from zoo.serving import Client, RequestError, read_warmup_requests

pytestmark = pytest.mark.slow  # every committed model loaded into one server

NAMES = [name for name in zoo.list_models() if registry.resolve(name).is_relative_to(registry.CHECKOUT)]
MAX_BYTES = 1 << 20


@pytest.fixture(scope="module")
def server():
    with running(registry.CHECKOUT, max_body_bytes=MAX_BYTES) as server:
        yield server


@pytest.fixture(scope="module")
def predictions(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def clients(server):
    clients = {"rest": Client(f"127.0.0.1:{server.port}"), "grpc": Client(grpc=f"127.0.0.1:{server.grpc_port}")}
    yield clients
    clients["grpc"].close()


@pytest.fixture(scope="module")
def model():
    """`model(name)`: `zoo.load(name)`, once per module."""
    loaded = {}

    def load(name):
        if name not in loaded:
            loaded[name] = zoo.load(name)
        return loaded[name]

    return load


def _warmup(name):
    """`{signature name: PredictRequest}` of the model's warm-up file."""
    return {r.model_spec.signature_name: r for r in read_warmup_requests(registry.resolve(name) / artifacts.WARMUP)}


def _expected(model, request):
    """What `zoo.load`'s signature answers for a `PredictRequest`, as NumPy arrays."""
    tensors = {key: tf.constant(tf.make_ndarray(proto)) for key, proto in request.inputs.items()}
    return {key: value.numpy() for key, value in model.signatures[request.model_spec.signature_name](**tensors).items()}


def _rest(server, path, body):
    raw = isinstance(body, bytes)
    return rest_call(f"http://127.0.0.1:{server.port}/v1/models/", path, body=None if raw else body,
                     data=body if raw else None)


def test_every_committed_model_is_served(server, clients):
    assert {"sensor_basic_motions", "pos_brown", "translate_es_en"} <= set(NAMES)
    for name in NAMES:
        assert clients["rest"].status(name)["model_version_status"][0]["state"] == "AVAILABLE"


@pytest.mark.parametrize("name", NAMES)
def test_grpc_replays_the_warmup_records_as_zoo_load_answers(predictions, model, name):
    requests = _warmup(name)
    assert set(requests) == set(zoo.info(name)["signatures"])
    for signature, request in requests.items():
        assert request.model_spec.name == name
        response = predictions.Predict(request, timeout=120)
        assert response.model_spec.signature_name == signature
        assert_outputs_equal({k: tf.make_ndarray(v) for k, v in response.outputs.items()},
                             _expected(model(name), request))


@pytest.mark.parametrize("name", NAMES)
def test_rest_rows_and_columns_answer_as_zoo_load(server, model, name):
    example = zoo.info(name)["signatures"]["serving_default"]["example_request"]  # b64 for image bytes
    expected = _expected(model(name), _warmup(name)["serving_default"])
    status, answer = _rest(server, f"{name}:predict", example)
    assert status == 200, answer
    assert_outputs_equal(answer["outputs"], expected)
    (values,) = example["inputs"].values()  # serving_default takes one input
    status, answer = _rest(server, f"{name}:predict", {"instances": values})
    assert status == 200, answer
    assert_outputs_equal({key: [row[key] for row in answer["predictions"]] for key in expected}, expected)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_status_and_metadata_match_the_model_card(clients, name, protocol):
    card = zoo.info(name)
    client = clients[protocol]
    statuses = client.status(name)["model_version_status"]  # newest first; older published versions stay
    assert statuses[0]["version"] == str(card["version"])
    assert {status["state"] for status in statuses} == {"AVAILABLE"}
    metadata = client.metadata(name, version=card["version"])
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    for signature, described in card["signatures"].items():
        for part in ("inputs", "outputs"):
            served = signatures[signature][part]
            assert set(served) == set(described[part])
            for key, spec in described[part].items():
                assert tf.as_dtype(types_pb2.DataType.Value(served[key]["dtype"])).name == spec["dtype"]
                shape = served[key]["tensor_shape"]
                assert (None if shape["unknown_rank"] else [int(d["size"]) for d in shape["dim"]]) == spec["shape"]


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_client_predict_equals_zoo_load(clients, model, protocol):
    name = next(n for n in NAMES if n.startswith("pos_"))
    sentences = ["The book that I got yesterday is on the table.", "Don't stop."]
    got = clients[protocol].predict(name, sentences=sentences)
    assert_outputs_equal(got, {k: v.numpy() for k, v in model(name).signatures["serving_default"](
        sentences=tf.constant(sentences)).items()})


def _huge_request(name):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.inputs["sentences"].CopyFrom(tf.make_tensor_proto(np.array([b"x" * (2 * MAX_BYTES)], dtype=object)))
    return request


@pytest.mark.parametrize("path, body, status, words", [
    ("pos_brown:predict", b"{not json", 400, "JSON Parse error"),
    ("nope:predict", {"instances": ["x"]}, 404, "Servable not found for request: Latest(nope)"),
    ("pos_brown/versions/99:predict", {"instances": ["x"]}, 404, "Specific(pos_brown, 99)"),
    ("pos_brown:predict", {"inputs": {"text": ["x"]}}, 400, "input tensor alias not found in signature: text"),
    ("pos_brown:predict", {"instances": [1.5]}, 400, "sentences: expected strings"),
    ("sensor_basic_motions:predict", {"instances": [[["a"] * 6]]}, 400, "series: expected numbers"),
    ("pos_brown:predict", b'{"instances": ["' + b"x" * (2 * MAX_BYTES) + b'"]}', 413, "exceeds the limit"),
])
def test_rest_refusals_have_tf_servings_shape_and_the_server_keeps_serving(server, clients, path, body, status,
                                                                            words):
    code, answer = _rest(server, path, body)
    assert code == status and list(answer) == ["error"] and words in answer["error"]
    assert clients["rest"].predict("pos_brown", sentences=["Stop."])["tags"].shape == (1, 2)


def test_grpc_refusals_and_the_server_keeps_serving(predictions, clients):
    with pytest.raises(grpc.RpcError) as raised:
        predictions.Predict(_huge_request("pos_brown"), timeout=120)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    for call, code in ((lambda c: c.predict("pos_brown", version=99, sentences=["x"]), "NOT_FOUND"),
                       (lambda c: c.predict("pos_brown", text=["x"]), "INVALID_ARGUMENT"),
                       (lambda c: c.predict("pos_brown", sentences=[1.5]), "INVALID_ARGUMENT")):
        with pytest.raises(RequestError) as refused:
            call(clients["grpc"])
        assert refused.value.code == code
    assert clients["grpc"].predict("pos_brown", sentences=["Stop."])["tags"].shape == (1, 2)
