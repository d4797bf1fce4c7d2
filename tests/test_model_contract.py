"""The contract every model of the zoo keeps, checked on a tiny model of each architecture a recipe builds
(in the spirit of KerasHub's `run_model_saving_test` and torchvision's test_models.py).

For each model, on its own `example_requests()`:

1. `from_config(get_config())` gives the same config and, with the weights set, the same outputs;
2. its export (`export_serving`), loaded by plain TensorFlow in a fresh process that cannot import zoo, answers
   as the in-process signatures do, every signature, the example requests and the empty ones (one job per model
   in one such process, `fixtures.recipes.PlainTensorflow`; outputs back as .npz): through `tf.saved_model.load`,
   and through the graph-mode loader TF Serving and `saved_model_cli run` use (a TF1 session running each
   signature's tensors by name);
3. `zoo.load` of the export answers the same;
4. an empty batch (batch dimension 0 of every batched input, scalars kept) answers empty outputs of the dtypes
   the card declares;
5. the card names the model, its version and its task (a record of `zoo.tasks.TASKS`), and lists the
   SavedModel's signatures;
6. `zoo.serving`'s REST API answers the example request as the signature does, in the row (`instances`) and
   the columnar (`inputs`) forms.

The committed models' graphs, cards and REST answers are checked as published, without re-exporting 10 to 25 MB
each (tests/test_pretrained*.py, tests/test_serving_pretrained.py).
"""

import importlib
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from captioning_toys import make_tiny_captioner
from fixtures.agreement import make_tiny_agreement
from fixtures.language_model import make_tiny_language_model
from fixtures.sensor import make_tiny
from fixtures.serving import assert_outputs_equal, rest_call
from fixtures.tagging import make_tiny_tagger
from fixtures.translation import make_tiny_transformer, make_tiny_translator
from serving_toys import CARD, running
from tensorflow.core.protobuf import saved_model_pb2

import zoo
from zoo import artifacts
from zoo.serving import ModelRepository
from zoo.tasks import TASKS


def _transformer():
    pytest.importorskip("keras_hub")
    return make_tiny_transformer()


# one tiny model per architecture a recipe builds, from the tasks' fixtures: `id -> builder`
TINY = {
    "sensor-elman": lambda: make_tiny("elman"),
    "sensor-gru": lambda: make_tiny("gru"),
    "sensor-lstm": lambda: make_tiny("lstm"),
    "sensor-dense": lambda: make_tiny("dense"),
    "sensor-frame": lambda: make_tiny("gru", frame=3),
    "sensor-standardise": lambda: make_tiny("gru", centring="standardise"),
    "tagging": make_tiny_tagger,
    "translation-rnn": make_tiny_translator,
    "translation-transformer": _transformer,
    "captioning": make_tiny_captioner,
    "agreement": make_tiny_agreement,
    "language-model": make_tiny_language_model,
}


# tiny models whose checks take over 10 s together (tracing a decoder's search three times: the model's, the
# config round trip's and zoo.load's; exporting it); the others take a few seconds each
SLOW_TINY = {"translation-rnn", "translation-transformer", "captioning", "language-model"}
SUBJECTS = [pytest.param(key, id=key, marks=[pytest.mark.slow] if key in SLOW_TINY else []) for key in TINY]


class Subject:
    """A model under contract: the model, its example requests and what its in-process signatures answer."""

    def __init__(self, name, model):
        self.name = name  # its export's base name
        self.model = model
        self.examples = model.example_requests()
        self.expected = {signature: _call(model.signatures[signature], request)
                         for signature, request in self.examples.items()}


class Exported:
    def __init__(self, version_dir):
        self.version_dir = version_dir
        self.card = artifacts.read_card(version_dir)


def _call(function, request):
    """A signature's outputs on a request of NumPy arrays, as NumPy arrays."""
    return {key: value.numpy() for key, value in function(**{k: tf.constant(v) for k, v in request.items()}).items()}


def _empty(request):
    """The request with batch dimension 0 in every batched input; scalar inputs kept."""
    return {name: value[:0] if np.ndim(value) else value for name, value in request.items()}


def _assert_same(got, expected):
    """The same outputs of the same dtypes (floats to rtol 1e-5, atol 1e-6; strings and integers exactly)."""
    assert {k: np.asarray(v).dtype for k, v in got.items()} == {k: v.dtype for k, v in expected.items()}
    assert_outputs_equal(got, expected)


def _savedmodel_signatures(version_dir):
    """The signature keys written into a SavedModel's `saved_model.pb` (read without loading it)."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(version_dir) / "saved_model.pb").read_bytes())
    (meta_graph,) = proto.meta_graphs
    return {key for key in meta_graph.signature_def if key != "__saved_model_init_op"}  # TF's own, not served


@pytest.fixture(scope="module", params=SUBJECTS)
def subject(request):
    keras.utils.set_random_seed(0)
    return Subject(request.param, TINY[request.param]())


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    """Where each subject is exported, `<root>/<name>/1`: the root the REST server serves."""
    root = tmp_path_factory.mktemp("contract") / "models"
    root.mkdir()
    return root


@pytest.fixture(scope="module")
def exported(subject, models_root, plain_tensorflow):
    plain_tensorflow.start()  # imports TensorFlow while the model exports
    version_dir = subject.model.export_serving(models_root / subject.name, card=dict(CARD))
    assert version_dir == models_root / subject.name / "1"
    return Exported(version_dir)


# the fresh process: every request of `inputs` ("<request>.<input name>" -> array; a request is "<signature>" or
# "<signature>@empty") through the loaded SavedModel, its outputs saved as "<request>.<output name>", and through
# the graph-mode loader, saved as "graph:<request>.<output name>"
_PLAIN_TF_CALLS = """
    requests = {}
    for key in inputs.files:
        request, name = key.rsplit(".", 1)
        requests.setdefault(request, {})[name] = inputs[key]
    outputs, errors = {}, {}
    for request, arrays in sorted(requests.items()):
        try:
            answer = loaded.signatures[request.split("@")[0]](**{k: tf.constant(v) for k, v in arrays.items()})
        except Exception as err:  # reported with the request it failed on
            errors[request] = f"{type(err).__name__}: {err}"[-2000:]
            continue
        outputs.update({f"{request}.{name}": value.numpy() for name, value in answer.items()})
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], version_dir)
        for request, arrays in sorted(requests.items()):
            signature = graph.signature_def[request.split("@")[0]]
            try:
                answer = session.run({name: info.name for name, info in signature.outputs.items()},
                                     {signature.inputs[name].name: value for name, value in arrays.items()})
            except Exception as err:
                errors[f"graph:{request}"] = f"{type(err).__name__}: {err}"[-2000:]
                continue
            outputs.update({f"graph:{request}.{name}": value for name, value in answer.items()})
    np.savez("outputs.npz", **outputs)
    result["signatures"] = sorted(loaded.signatures.keys())
    result["errors"] = errors
"""


def _storable(array):
    """An input array np.load reads without pickles: strings as fixed-width bytes, checked to mean the same."""
    array = np.asarray(array)
    if array.dtype != object:
        return array
    stored = np.array(array.tolist(), dtype=bytes).reshape(array.shape)
    assert np.array_equal(tf.constant(stored).numpy(), tf.constant(array).numpy())  # no trailing NUL lost
    return stored


@pytest.fixture(scope="module")
def fresh(subject, exported, plain_tensorflow, tmp_path_factory):
    """`(result, outputs)` of the export run by plain TensorFlow in a fresh process that cannot import zoo (one
    for all the models: importing TensorFlow is most of its time), every request of the model at once."""
    requests = {**subject.examples, **{f"{s}@empty": _empty(r) for s, r in subject.examples.items()}}
    inputs = {f"{request}.{name}": _storable(value) for request, values in requests.items()
              for name, value in values.items()}
    workdir = tmp_path_factory.mktemp("fresh")
    result = plain_tensorflow.run(exported.version_dir, _PLAIN_TF_CALLS, inputs, workdir)
    with np.load(workdir / "outputs.npz", allow_pickle=True) as stored:  # our own file: strings pickled
        outputs = {}
        for key in stored.files:
            request, name = key.rsplit(".", 1)
            outputs.setdefault(request, {})[name] = stored[key]
    return result, outputs


@pytest.fixture(scope="module")
def rest(models_root):
    """`(repository, base URL)`: a REST server over the models root (refresh it once a model is exported)."""
    repository = ModelRepository(models_root)
    repository.refresh()
    with running(repository, grpc=False) as server:
        yield repository, f"http://127.0.0.1:{server.port}"


# --- 1. the config ------------------------------------------------------------------------------------------


def test_config_round_trip_gives_the_same_model(subject):
    model = subject.model
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    for signature, request in subject.examples.items():
        _assert_same(_call(clone.signatures[signature], request), subject.expected[signature])


# --- 2. plain TensorFlow in a fresh process -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("loader", ["", "graph:"], ids=["tf.saved_model.load", "graph-mode loader"])
def test_a_fresh_plain_tensorflow_process_answers_as_the_model(subject, fresh, loader):
    result, outputs = fresh
    assert result["errors"] == {}
    assert set(result["signatures"]) == set(subject.examples)
    for signature, request in subject.examples.items():
        _assert_same(outputs[loader + signature], subject.expected[signature])
        empty = _call(subject.model.signatures[signature], _empty(request))
        _assert_same(outputs[f"{loader}{signature}@empty"], empty)


# --- 3. zoo.load ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_zoo_load_of_the_export_answers_as_the_model(subject, exported):
    reloaded = zoo.load(exported.version_dir)
    assert type(reloaded) is type(subject.model)
    assert reloaded.get_config() == subject.model.get_config()
    for signature, request in subject.examples.items():
        _assert_same(_call(reloaded.signatures[signature], request), subject.expected[signature])


# --- 4. an empty batch ----------------------------------------------------------------------------------------


def test_an_empty_batch_answers_empty_outputs_of_the_declared_dtypes(subject, exported):
    for signature, request in subject.examples.items():
        declared = exported.card["signatures"][signature]["outputs"]
        outputs = _call(subject.model.signatures[signature], _empty(request))
        assert set(outputs) == set(declared), signature
        for name, value in outputs.items():
            spec = declared[name]
            assert tf.as_dtype(value.dtype).name == spec["dtype"], f"{signature}.{name}"
            assert value.shape[:1] == (0,), f"{signature}.{name}: {value.shape}"
            assert spec["shape"] is None or len(spec["shape"]) == value.ndim, f"{signature}.{name}: {value.shape}"


# --- 5. the card ----------------------------------------------------------------------------------------------


def _assert_card_describes(card, version_dir, model):
    assert (card["name"], card["version"]) == (version_dir.parent.name, int(version_dir.name))
    records = [task for task in TASKS if task.task == card["task"]]
    assert len(records) == 1 and card["task"] == model.TASK, (card["task"], model.TASK)
    (record,) = records
    assert isinstance(model, getattr(importlib.import_module(record.package), record.model))
    assert set(card["signatures"]) == _savedmodel_signatures(version_dir)
    for signature, described in card["signatures"].items():
        assert described["example_request"]["signature_name"] == signature
        assert set(described["example_request"]["inputs"]) == set(described["inputs"]), signature


def test_the_card_names_the_model_its_task_and_its_signatures(subject, exported):
    _assert_card_describes(exported.card, exported.version_dir, subject.model)
    assert set(exported.card["signatures"]) == set(subject.examples) == set(subject.model.signatures)


# --- 6. REST ----------------------------------------------------------------------------------------------------


def _rows(inputs):
    """The row form (`instances`) of a columnar request: one value, or one object, per batch element; each
    scalar input repeated in every object."""
    batched = {name: value for name, value in inputs.items() if isinstance(value, list)}
    (size,) = {len(value) for value in batched.values()}
    if len(inputs) == 1:
        return list(batched.values())[0]
    return [{name: value[i] if name in batched else value for name, value in inputs.items()} for i in range(size)]


def test_rest_answers_the_example_requests_as_the_signatures(subject, exported, rest):
    repository, url = rest
    assert subject.name in repository.refresh()
    for signature, expected in subject.expected.items():
        inputs = exported.card["signatures"][signature]["example_request"]["inputs"]  # JSON, b64 for binary
        status, answer = rest_call(url, f"/v1/models/{subject.name}:predict",
                                   {"signature_name": signature, "instances": _rows(inputs)})
        assert status == 200, answer
        rows = answer["predictions"]
        assert_outputs_equal({key: [row[key] for row in rows] for key in expected} if len(expected) > 1
                             else {next(iter(expected)): rows}, expected)
        status, answer = rest_call(url, f"/v1/models/{subject.name}:predict",
                                   {"signature_name": signature, "inputs": inputs})
        assert status == 200, answer
        columns = answer["outputs"]
        assert_outputs_equal(columns if len(expected) > 1 else {next(iter(expected)): columns}, expected)
