"""zoo.serving.batching: concurrent requests merged into one call, each answered exactly as it would be alone."""

import threading
from concurrent import futures

import numpy as np
import pytest
import tensorflow as tf
from serving_toys import running

from zoo.serving import Batcher, Client, ModelRepository, ServingError


class Counted:
    """A signature that counts its calls and the rows of each (what the batcher merged).

    `gate`: an event each call waits for; `skewed`: merged calls (rows > 1) add one ulp to float outputs, as
    kernels chosen by batch size may.
    """

    def __init__(self, function, gate=None, skewed=False):
        self.function = function
        self.structured_outputs = function.structured_outputs
        self.calls = []
        self.gate = gate
        self.skewed = skewed

    def __call__(self, **tensors):
        rows = next(t.shape[0] for t in tensors.values() if t.shape.rank)
        self.calls.append(rows)
        if self.gate is not None:
            self.gate.wait(60)
        outputs = self.function(**tensors)
        if self.skewed and rows > 1:
            return {k: tf.experimental.numpy.nextafter(v, np.inf) if v.dtype.is_floating else v
                    for k, v in outputs.items()}
        return outputs


@pytest.fixture(scope="module")
def signatures(serving_root):
    repository = ModelRepository(serving_root)
    repository.refresh()
    return lambda name, signature="serving_default": repository.servable(name)[1].loaded.signatures[signature]


def _together(batcher, function, requests, key=("m", 1, "s")):
    """Sends `requests` (`{input: tensor}` each) at once from one thread each; their answers or errors, in order."""
    start = threading.Barrier(len(requests))

    def send(tensors):
        start.wait()
        try:
            return batcher.call(key, function, tensors)
        except ServingError as err:
            return err

    with futures.ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def _alone(function, tensors):
    return {name: tensor.numpy() for name, tensor in function(**tensors).items()}


def _assert_exact(got, expected):
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name].shape == expected[name].shape, name
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


@pytest.fixture
def batcher_of():
    """`batcher_of(max_batch_size)`: a batcher whose batches close when full, or after 2 s (a loaded machine may
    start the requests' threads far apart)."""
    batchers = []

    def make(max_batch_size):
        batchers.append(Batcher(max_batch_size=max_batch_size, batch_timeout_micros=2_000_000))
        return batchers[-1]

    yield make
    for batcher in batchers:
        batcher.close()


def test_sensor_requests_merge_and_each_gets_its_own_rows(batcher_of, signatures, rng):
    batcher = batcher_of(9)
    function = Counted(signatures("sensor_tiny"))
    requests = [{"series": tf.constant(rng.normal(size=(rows, 6, 3)).astype(np.float32))} for rows in (1, 2, 3, 1, 2)]
    answers = _together(batcher, function, requests)
    for tensors, answer in zip(requests, answers):
        _assert_exact(answer, _alone(function.function, tensors))
    assert sorted(function.calls) == [1, 1, 2, 2, 3, 9]  # merged, then checked one by one
    function.calls.clear()
    answers = _together(batcher, function, requests)
    for tensors, answer in zip(requests, answers):
        _assert_exact(answer, _alone(function.function, tensors))
    if batcher.unbatched():  # this tiny GRU's kernels round a merged row differently (one ulp): it went unbatched
        assert batcher.unbatched() == [("m", 1, "s")] and sorted(function.calls) == [1, 1, 2, 2, 3]
    else:
        assert function.calls == [9]


def test_merged_calls_of_a_checked_shape_are_trusted_and_a_difference_unbatches(batcher_of, signatures):
    batcher = batcher_of(4)
    requests = [{"x": tf.constant([float(i)])} for i in range(4)]
    exact = Counted(signatures("toy"))
    _together(batcher, exact, requests, key="exact")
    assert sorted(exact.calls) == [1, 1, 1, 1, 4]  # merged, then checked one by one
    exact.calls.clear()
    answers = _together(batcher, exact, requests, key="exact")
    assert exact.calls == [4] and [a["y"].tolist() for a in answers] == [[0.0], [2.0], [4.0], [6.0]]

    skewed = Counted(signatures("toy"), skewed=True)
    for _ in range(2):
        answers = _together(batcher, skewed, requests, key="skewed")
        assert [a["y"].tolist() for a in answers] == [[0.0], [2.0], [4.0], [6.0]]  # never the skewed ones
    assert skewed.calls.count(4) == 1 and batcher.unbatched() == ["skewed"]


def test_tagger_outputs_are_cut_back_to_each_requests_own_width(batcher_of, signatures):
    batcher = batcher_of(6)
    function = Counted(signatures("pos_tiny"))
    texts = [["The dog sees a cat ."], ["A small bird runs quickly today . The farmer eats ."], [""], ["Dog", ""],
             ["Every old horse sleeps slowly ."]]
    requests = [{"sentences": tf.constant(sentences)} for sentences in texts]
    answers = _together(batcher, function, requests)
    for tensors, answer in zip(requests, answers):
        _assert_exact(answer, _alone(function.function, tensors))
    assert 6 in function.calls

    function = Counted(signatures("pos_tiny", "tag_tokens"))
    rows = [[["the", "dog", ""]], [["a", "", ""], ["cat", "sees", "."]], [["dog", "", ""]]]
    requests = [{"tokens": tf.constant(tokens)} for tokens in rows]
    batcher = batcher_of(4)
    answers = _together(batcher, function, requests)
    for tensors, answer in zip(requests, answers):
        _assert_exact(answer, _alone(function.function, tensors))
    assert 4 in function.calls


def test_a_refused_request_gets_its_error_and_the_others_their_answers(batcher_of, signatures, rng):
    batcher = batcher_of(4)
    function = Counted(signatures("sensor_tiny"))
    series = rng.normal(size=(4, 5, 3)).astype(np.float32)
    series[2, 1, 0] = np.nan
    requests = [{"series": tf.constant(series[i:i + 1])} for i in range(4)]
    answers = _together(batcher, function, requests)
    assert isinstance(answers[2], ServingError) and "NaN" in str(answers[2])
    assert answers[2].code == tf.errors.INVALID_ARGUMENT
    for i in (0, 1, 3):
        _assert_exact(answers[i], _alone(function.function, requests[i]))
    assert function.calls[0] == 4 and sorted(function.calls[1:]) == [1, 1, 1, 1] and not batcher.unbatched()


@pytest.mark.slow
def test_scalar_inputs_and_shapes_merge_only_when_equal(batcher_of, signatures):
    batcher = batcher_of(6)
    function = Counted(signatures("toy", "scale"))
    requests = [{"x": tf.constant([float(i), 1.0]), "k": tf.constant(k)} for i, k in enumerate([2, 2, 3, 2])]
    answers = _together(batcher, function, requests)
    for tensors, answer in zip(requests, answers):
        _assert_exact(answer, _alone(function.function, tensors))
    assert sorted(function.calls) == [2, 2, 2, 2, 6]  # k=2 merged (then checked one by one), k=3 alone
    function = Counted(signatures("sensor_tiny"))
    requests = [{"series": tf.ones((1, length, 3))} for length in (4, 4, 5)]
    for tensors, answer in zip(requests, _together(batcher_of(2), function, requests)):
        _assert_exact(answer, _alone(function.function, tensors))
    assert sorted(function.calls) == [1, 1, 1, 2]  # the two of length 4 merged (then checked), length 5 alone


def test_text_in_and_one_value_per_text_out_runs_alone(batcher_of, signatures):
    function = Counted(signatures("toy", "echo"))  # like a translation: a [B] output computed from text
    requests = [{"text": tf.constant(["a", "bc"])}, {"text": tf.constant(["def"])}]
    for tensors, answer in zip(requests, _together(batcher_of(3), function, requests)):
        _assert_exact(answer, _alone(function.function, tensors))
    assert sorted(function.calls) == [1, 2]


def test_a_full_queue_refuses_with_unavailable(signatures):
    gate = threading.Event()
    function = Counted(signatures("toy"), gate)
    batcher = Batcher(max_batch_size=1, batch_timeout_micros=0, max_enqueued_batches=1)
    try:
        with futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(batcher.call, "k", function, {"x": tf.constant([1.0])})
            while not function.calls:  # the first is running (held at the gate)
                threading.Event().wait(0.01)
            second = pool.submit(batcher.call, "k", function, {"x": tf.constant([2.0])})
            while batcher._queue("k")._rows == 0:
                threading.Event().wait(0.01)
            with pytest.raises(ServingError, match="queue to which this task was submitted is full") as raised:
                batcher.call("k", function, {"x": tf.constant([3.0])})
            assert raised.value.code == tf.errors.UNAVAILABLE
            gate.set()
            assert first.result()["y"].tolist() == [2.0] and second.result()["y"].tolist() == [4.0]
    finally:
        gate.set()
        batcher.close()


@pytest.mark.slow
def test_batching_server_answers_rest_and_grpc_as_unbatched(serving_root, rng):
    sentences = ["The dog sees a cat .", "A small bird runs quickly today .", "", "Dog"]
    series = [rng.normal(size=(1, 6, 3)).astype(np.float32) for _ in range(4)]
    with running(serving_root) as plain:
        expected = [Client(f"127.0.0.1:{plain.port}").predict("pos_tiny", sentences=[s]) for s in sentences]
        expected += [Client(f"127.0.0.1:{plain.port}").predict("sensor_tiny", series=s) for s in series]
    with running(serving_root, batcher=Batcher(max_batch_size=8, batch_timeout_micros=100_000)) as batched:
        clients = [Client(f"127.0.0.1:{batched.port}"), Client(grpc=f"127.0.0.1:{batched.grpc_port}")]
        jobs = [("pos_tiny", {"sentences": [s]}) for s in sentences] + [("sensor_tiny", {"series": s}) for s in series]
        start = threading.Barrier(2 * len(jobs))

        def send(i):
            model, inputs = jobs[i % len(jobs)]
            start.wait()
            return clients[i // len(jobs)].predict(model, **inputs)

        with futures.ThreadPoolExecutor(2 * len(jobs)) as pool:
            answers = list(pool.map(send, range(2 * len(jobs))))
    for i, answer in enumerate(answers):
        _assert_exact(answer, expected[i % len(jobs)])
