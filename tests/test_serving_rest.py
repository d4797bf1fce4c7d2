"""zoo.serving.rest: TF Serving's REST API over a model root, answered as the Python API answers."""

import base64
import contextlib
import http.client
import json
import shutil
import time

import numpy as np
import pytest
import tensorflow as tf
from captioning_toys import export_toy_captioner, make_tiny_captioner, toy_scenes
from fixtures.serving import rest_call
from serving_toys import CARD, NAMES, running

import zoo
from zoo.serving import ModelRepository

AVAILABLE = {"state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}


@contextlib.contextmanager
def _serving(repository, **kwargs):
    """A REST server on a free loopback port in a thread; yields its base URL."""
    with running(repository, grpc=False, **kwargs) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def root(serving_root):
    return serving_root


@pytest.fixture(scope="module")
def url(root):
    repository = ModelRepository(root)
    assert repository.refresh() == NAMES
    with _serving(repository, max_body_bytes=100_000) as url:
        yield url


@pytest.fixture(scope="module")
def sensor(root):
    return zoo.load(root / "sensor_tiny" / "1")


def test_status_lists_the_loaded_version(url):
    expected = {"model_version_status": [{"version": "1", **AVAILABLE}]}
    assert rest_call(url, "/v1/models/sensor_tiny") == (200, expected)
    assert rest_call(url, "/v1/models/sensor_tiny/versions/1") == (200, expected)


def test_metadata_has_tf_serving_signature_defs(url):
    status, answer = rest_call(url, "/v1/models/sensor_tiny/metadata")
    assert status == 200
    assert answer["model_spec"] == {"name": "sensor_tiny", "version": "1", "signature_name": ""}
    assert answer["metadata"]["signature_def"]["@type"] == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    signatures = answer["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "classify_padded"} <= set(signatures)
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["series"]["dtype"] == "DT_FLOAT"
    assert {k: v["dtype"] for k, v in default["outputs"].items()} == {"label": "DT_STRING", "scores": "DT_FLOAT"}
    toy = rest_call(url, "/v1/models/toy/versions/1/metadata")[1]["metadata"]["signature_def"]["signature_def"]
    assert toy["scale"]["inputs"]["x"]["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}
    assert toy["scale"]["inputs"]["k"]["tensor_shape"] == {"dim": [], "unknown_rank": False}


def test_sensor_row_and_columnar_formats_match_classify(url, sensor, rng):
    series = rng.normal(size=(2, 7, 3)).astype(np.float32)
    expected = sensor.classify(series)

    status, rows = rest_call(url, "/v1/models/sensor_tiny:predict", {"instances": series.tolist()})
    assert status == 200
    assert [p["label"] for p in rows["predictions"]] == expected.labels
    np.testing.assert_allclose([p["scores"] for p in rows["predictions"]], expected.scores, rtol=1e-6)

    status, columns = rest_call(url, "/v1/models/sensor_tiny/versions/1:predict",
                            {"signature_name": "serving_default", "inputs": {"series": series.tolist()}})
    assert status == 200
    assert columns["outputs"]["label"] == expected.labels
    np.testing.assert_allclose(columns["outputs"]["scores"], expected.scores, rtol=1e-6)


@pytest.mark.slow
def test_tagger_named_instances_match_tag(url, root):
    sentences = ["The dog sees a cat .", "A small bird runs quickly ."]
    expected = zoo.load(root / "pos_tiny" / "1").tag(sentences)
    status, answer = rest_call(url, "/v1/models/pos_tiny:predict", {"instances": [{"sentences": s} for s in sentences]})
    assert status == 200
    got = [[(token, tag) for token, tag in zip(p["tokens"], p["tags"]) if token] for p in answer["predictions"]]
    assert got == [[tuple(pair) for pair in sentence] for sentence in expected]


def test_single_output_and_bytes_outputs(url):
    assert rest_call(url, "/v1/models/toy:predict", {"instances": [1.0, 2.5]}) == (200, {"predictions": [2.0, 5.0]})
    assert rest_call(url, "/v1/models/toy:predict", {"inputs": [1.0, 2.5]}) == (200, {"outputs": [2.0, 5.0]})
    text = "día"
    status, answer = rest_call(url, "/v1/models/toy:predict", {"signature_name": "echo", "instances": [text]})
    assert status == 200
    assert answer["predictions"] == [{"text": text, "text_bytes": {"b64": base64.b64encode(text.encode()).decode()}}]
    encoded = {"b64": base64.b64encode(text.encode()).decode()}
    status, answer = rest_call(url, "/v1/models/toy:predict", {"signature_name": "echo", "inputs": [encoded]})
    assert answer["outputs"]["text"] == [text]


def test_scalar_input_columnar_and_one_value_per_instance(url):
    assert rest_call(url, "/v1/models/toy:predict", {"signature_name": "scale", "inputs": {"x": [1.0, 2.0], "k": 3}}) \
        == (200, {"outputs": [3.0, 6.0]})
    rows = {"signature_name": "scale", "instances": [{"x": 1.0, "k": 3}, {"x": 2.0, "k": 3}]}
    assert rest_call(url, "/v1/models/toy:predict", rows) == (200, {"predictions": [3.0, 6.0]})
    rows["instances"][1]["k"] = 4
    status, answer = rest_call(url, "/v1/models/toy:predict", rows)
    assert status == 400 and "k" in answer["error"]


@pytest.mark.parametrize("path, body, code, words", [
    ("/v1/models/nope", None, 404, "Could not find any versions of model nope"),
    ("/v1/models/sensor_tiny/versions/7", None, 404, "Could not find version 7"),
    ("/v1/models/nope:predict", {"instances": [1.0]}, 404, "Servable not found for request: Latest(nope)"),
    ("/v1/models/toy/versions/7:predict", {"instances": [1.0]}, 404, "Specific(toy, 7)"),
    ("/v1/models/toy/versions/7/metadata", None, 404, "Specific(toy, 7)"),
    ("/v1/models/toy:predict", b"{not json", 400, "JSON Parse error"),
    ("/v1/models/toy:predict", {"instances": [1.0], "inputs": [1.0]}, 400, "not both"),
    ("/v1/models/toy:predict", {"signature": "x"}, 400, "Missing 'inputs' or 'instances'"),
    ("/v1/models/toy:predict", {"inputs": {"z": [1.0]}}, 400, "input tensor alias not found in signature: z"),
    ("/v1/models/toy:predict", {"signature_name": "scale", "inputs": {"x": [1.0]}}, 400,
     "input size does not match signature: 1!=2 len({x}) != len({k,x}). Sent extra: {}. Missing but required: {k}."),
    ("/v1/models/toy:predict", {"instances": ["one"]}, 400, "x: expected numbers (float32)"),
    ("/v1/models/toy:predict", {"signature_name": "scale", "inputs": {"x": [1.0], "k": 1.5}}, 400, "integers"),
    ("/v1/models/toy:predict", {"inputs": [[1.0], [2.0, 3.0]]}, 400, "rectangular"),
    ("/v1/models/toy:predict", {"signature_name": "nope", "instances": [1.0]}, 400,
     'Serving signature name: "nope" not found in signature def'),
    ("/v1/models/sensor_tiny:predict", {"instances": [[[1.0, 2.0]]]}, 400, "series"),
    ("/v1/models/toy:classify", {"examples": []}, 400, "Expected classification signature method_name"),
    ("/v1/models/toy/labels/stable", None, 400, "Unrecognized servable version label: stable"),
    ("/v1/models/toy/labels/stable:predict", {"instances": [1.0]}, 400, "Unrecognized servable version label"),
    ("/v1/models/toy/versions/one", None, 400, "Malformed request"),
    ("/v1/models/toy:predict", {"signature_name": 7, "instances": [1.0]}, 400, "must be a string value"),
    ("/v1/models/toy:predict", {"signature_name": "measure", "instances": [{"b64": "AP8="}, 2]}, 400,
     "blob_bytes: expected strings"),
    ("/v2/anything", None, 404, "Not found"),
])
def test_bad_requests_get_tf_serving_errors_and_the_server_keeps_answering(url, path, body, code, words):
    data = body if isinstance(body, bytes) else None
    status, answer = rest_call(url, path, None if data else body, data)
    assert status == code
    assert list(answer) == ["error"] and words in answer["error"]
    assert rest_call(url, "/v1/models/toy:predict", {"instances": [1.0]}) == (200, {"predictions": [2.0]})


def test_a_get_with_a_body_and_a_bad_content_length_are_answered(url):
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    connection.request("GET", "/v1/models/toy", body=b'{"instances": [1.0]}')
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["model_version_status"][0]["version"] == "1"
    connection.request("GET", "/v1/models/toy")  # the same connection: the body was not taken for a request
    assert connection.getresponse().status == 200
    connection.close()
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    connection.putrequest("POST", "/v1/models/toy:predict")
    connection.putheader("Content-Length", "lots")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 400 and "Content-Length" in json.loads(response.read())["error"]
    connection.close()


def test_oversized_body_is_refused_with_413(url):
    status, answer = rest_call(url, "/v1/models/toy:predict", {"instances": [1.0] * 50_000})
    assert status == 413 and "exceeds the limit of 100000" in answer["error"]
    assert rest_call(url, "/v1/models/toy:predict", {"instances": [1.0]}) == (200, {"predictions": [2.0]})


def _versions(url, name):
    return {s["version"]: s for s in rest_call(url, f"/v1/models/{name}")[1]["model_version_status"]}


def _served_version(url, name):
    return rest_call(url, f"/v1/models/{name}/metadata")[1]["model_spec"]["version"]


def _copy_in_atomically(source, base, version):
    scratch = base / f".{version}.partial-test"
    shutil.copytree(source, scratch)
    scratch.rename(base / str(version))


def test_versions_appear_atomically_and_a_broken_one_leaves_the_old_serving(tiny, tmp_path):
    base = tmp_path / "sensor"
    shutil.copytree(tiny.version_dir, base / "1")
    shutil.copytree(tiny.version_dir, base / ".2.partial-abcd")  # an export still being written
    shutil.copytree(tiny.version_dir, base / "3", ignore=shutil.ignore_patterns("saved_model.pb"))
    repository = ModelRepository(tmp_path)
    repository.refresh()
    series = {"instances": np.ones((1, 4, 3)).tolist()}
    with _serving(repository) as url:
        assert _versions(url, "sensor") == {"1": {"version": "1", **AVAILABLE}}

        _copy_in_atomically(tiny.version_dir, base, 4)
        repository.refresh()
        assert set(_versions(url, "sensor")) == {"1", "4"} and _served_version(url, "sensor") == "4"
        assert rest_call(url, "/v1/models/sensor/versions/1:predict", series)[0] == 200

        broken = tmp_path / "broken"
        shutil.copytree(tiny.version_dir, broken)
        (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
        _copy_in_atomically(broken, base, 5)
        repository.refresh()
        five = _versions(url, "sensor")["5"]
        assert five["state"] == "END" and five["status"]["error_code"] == "UNKNOWN"
        assert "saved_model.pb" in five["status"]["error_message"]
        assert _served_version(url, "sensor") == "4"
        assert rest_call(url, "/v1/models/sensor:predict", series)[0] == 200
        assert rest_call(url, "/v1/models/sensor/versions/5:predict", series)[0] == 404

        shutil.rmtree(base / "4")
        repository.refresh()
        assert set(_versions(url, "sensor")) == {"1", "5"} and _served_version(url, "sensor") == "1"


def test_polling_picks_up_a_new_version(tiny, tmp_path):
    base = tmp_path / "sensor"
    shutil.copytree(tiny.version_dir, base / "1")
    repository = ModelRepository(tmp_path)
    repository.refresh()
    repository.start_polling(0.1)
    try:
        _copy_in_atomically(tiny.version_dir, base, 2)
        deadline = time.monotonic() + 60
        while repository.servable("sensor")[0] != 2:
            assert time.monotonic() < deadline, "version 2 was not picked up"
            time.sleep(0.1)
    finally:
        repository.stop_polling()


@pytest.fixture(scope="module")
def slow_root(tmp_path_factory, tiny_translator_factory):
    """A model root with a tiny captioner and a tiny translator."""
    import keras

    from zoo.captioning.data import as_dataset as caption_batches
    from zoo.datasets.parallel import ParallelText
    from zoo.translation.data import as_dataset as translation_batches

    root = tmp_path_factory.mktemp("rest_slow") / "models"
    keras.utils.set_random_seed(0)
    captioner = make_tiny_captioner()
    captioner(next(iter(caption_batches(toy_scenes(), captioner, 2, references="first")))[0])  # builds it
    export_toy_captioner(captioner, root / "caption_tiny")
    translator = tiny_translator_factory()
    pairs = ParallelText("toy", "train", ["El perro come pan."], ["The dog eats bread."], [0])
    translator(next(iter(translation_batches(pairs, translator, 1)))[0])
    translator.export_serving(root / "translate_tiny", card=dict(CARD))
    return root


@pytest.fixture(scope="module")
def slow_url(slow_root):
    repository = ModelRepository(slow_root)
    repository.refresh()
    with _serving(repository) as url:
        yield url


@pytest.mark.slow
def test_captioner_takes_b64_png_bytes(slow_url, slow_root, rng):
    images = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    pngs = [tf.io.encode_png(image).numpy() for image in images]
    expected = zoo.load(slow_root / "caption_tiny" / "1").caption(pngs)
    instances = [{"b64": base64.b64encode(png).decode()} for png in pngs]
    status, answer = rest_call(slow_url, "/v1/models/caption_tiny:predict", {"instances": instances})
    assert status == 200
    assert [p["captions"] for p in answer["predictions"]] == list(expected)
    status, answer = rest_call(slow_url, "/v1/models/caption_tiny:predict",
                               {"instances": [{"b64": "bm90IGFuIGltYWdl"}]})
    assert status == 400 and "image_bytes" in answer["error"]


@pytest.mark.slow
def test_translator_scalars_in_both_formats(slow_url, slow_root):
    sentences = ["El perro come pan.", "Juan ve agua."]
    expected = zoo.load(slow_root / "translate_tiny" / "1").translate(sentences, beam_width=1, max_length=4)
    columnar = {"signature_name": "translate", "inputs": {"sentences": sentences, "beam_width": 1, "max_length": 4}}
    status, answer = rest_call(slow_url, "/v1/models/translate_tiny:predict", columnar)
    assert status == 200 and answer["outputs"]["translations"] == list(expected)
    rows = {"signature_name": "translate",
            "instances": [{"sentences": s, "beam_width": 1, "max_length": 4} for s in sentences]}
    status, answer = rest_call(slow_url, "/v1/models/translate_tiny:predict", rows)
    assert status == 200 and [p["translations"] for p in answer["predictions"]] == list(expected)
    rows["instances"][1]["beam_width"] = 2
    status, answer = rest_call(slow_url, "/v1/models/translate_tiny:predict", rows)
    assert status == 400 and "beam_width" in answer["error"]


def test_cli_serve_parses_its_flags_and_refuses_a_missing_root(tmp_path, capsys):
    from zoo import cli

    args = cli.build_parser().parse_args(["serve", str(tmp_path), "--port", "0", "--poll-seconds", "0.5"])
    assert (args.root, args.port, args.host, args.poll_seconds) == ([str(tmp_path)], 0, "127.0.0.1", 0.5)
    assert cli.main(["serve", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
