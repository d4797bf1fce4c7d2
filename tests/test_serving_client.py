"""zoo.serving.Client: the same answers over REST and gRPC, equal to the signatures', and TF Serving's refusals."""

import socket

import numpy as np
import pytest
import tensorflow as tf
from serving_toys import running

import zoo
from zoo.serving import Client, RequestError


@pytest.fixture(scope="module")
def server(serving_root):
    with running(serving_root) as server:
        yield server


@pytest.fixture(scope="module", params=["rest", "grpc"])
def client(request, server):
    client = Client(f"localhost:{server.port}") if request.param == "rest" else Client(grpc=f"localhost:{server.grpc_port}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def signature(serving_root):
    """`signature(model, name)`: the signature of the model's version 1 as `zoo.load` (or plain TF) gives it."""
    models = {}

    def get(model, name="serving_default"):
        if model not in models:
            path = serving_root / model / "1"
            models[model] = zoo.load(path) if model != "toy" else tf.saved_model.load(str(path))
        return models[model].signatures[name]

    return get


def _decoded(tensor):
    array = tensor.numpy()
    return np.vectorize(lambda b: b.decode(), otypes=[object])(array) if array.dtype == object else array


def _assert_equal(got, expected, decode=True):
    assert sorted(got) == sorted(expected)
    for name, tensor in expected.items():
        want = _decoded(tensor) if decode else tensor.numpy()
        assert got[name].dtype == want.dtype and got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_sensor_answers_equal_the_signature(client, signature, rng):
    series = rng.normal(size=(2, 7, 3))  # float64: the client sends the signature's float32
    got = client.predict("sensor_tiny", series=series)
    _assert_equal(got, signature("sensor_tiny")(tf.constant(series, tf.float32)))
    assert isinstance(got["label"][0], str)
    got = client.predict("sensor_tiny", "classify_padded", version=1, series=series, lengths=[7, 2])
    _assert_equal(got, signature("sensor_tiny", "classify_padded")(tf.constant(series, tf.float32),
                                                                   tf.constant([7, 2])))


@pytest.mark.slow
def test_tagger_answers_equal_the_signature(client, signature):
    sentences = ["The dog sees a cat .", "Every old horse sleeps slowly today .", ""]
    _assert_equal(client.predict("pos_tiny", sentences=sentences), signature("pos_tiny")(tf.constant(sentences)))


def test_scalars_single_outputs_and_bytes(client, signature):
    assert client.predict("toy", x=[1.0, 2.5])["y"].tolist() == [2.0, 5.0]
    assert client.predict("toy", "scale", x=[1.0, 2.0], k=3)["y"].tolist() == [3.0, 6.0]
    text = ["día", "b"]
    got = client.predict("toy", "echo", text=text)
    assert got["text"].tolist() == text and got["text_bytes"].tolist() == [t.encode() for t in text]
    blobs = [b"\x00\xff\xfe", b"PNG"]  # not UTF-8: over REST as {"b64": ...}, the input's name ends in _bytes
    _assert_equal(client.predict("toy", "measure", blob_bytes=blobs),
                  signature("toy", "measure")(tf.constant(blobs)), decode=False)


def test_status_and_metadata_are_tf_servings_json(client, server):
    assert client.status("toy") == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert client.status("toy", version=1) == client.status("toy")
    metadata = client.metadata("sensor_tiny", version=1)
    assert metadata["model_spec"]["name"] == "sensor_tiny" and metadata["model_spec"]["version"] == "1"
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert signatures["serving_default"]["inputs"]["series"]["dtype"] == "DT_FLOAT"
    rest = Client(f"127.0.0.1:{server.port}")
    assert metadata == rest.metadata("sensor_tiny", 1) and client.status("toy") == rest.status("toy")


@pytest.mark.parametrize("call, code, words", [
    (lambda c: c.predict("nope", x=[1.0]), "NOT_FOUND", "Servable not found for request: Latest(nope)"),
    (lambda c: c.predict("toy", version=7, x=[1.0]), "NOT_FOUND", "Specific(toy, 7)"),
    (lambda c: c.predict("toy", z=[1.0]), "INVALID_ARGUMENT", "input tensor alias not found in signature: z"),
    (lambda c: c.predict("toy", x=["one"]), "INVALID_ARGUMENT", "x: "),
    (lambda c: c.predict("sensor_tiny", series=np.ones((1, 4, 2))), "INVALID_ARGUMENT", "series: wrong channel count"),
    (lambda c: c.status("toy", version=7), "NOT_FOUND", "Could not find version 7 of model toy"),
    (lambda c: c.metadata("nope"), "NOT_FOUND", "Servable not found for request: Latest(nope)"),
])
def test_refusals_raise_request_error_with_tf_servings_code_and_message(client, call, code, words):
    with pytest.raises(RequestError) as raised:
        call(client)
    assert raised.value.code == code and words in raised.value.message
    assert client.predict("toy", x=[1.0])["y"].tolist() == [2.0]


def test_an_unreachable_server_and_a_bad_address_are_clear():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    for client in (Client(f"127.0.0.1:{port}"), Client(grpc=f"127.0.0.1:{port}", timeout=5)):
        with pytest.raises(RequestError) as raised:
            client.status("toy")
        assert raised.value.code == "UNAVAILABLE"
    with pytest.raises(ValueError, match="give one address"):
        Client()
    with pytest.raises(ValueError, match="give one address"):
        Client("localhost:8501", grpc="localhost:8500")
