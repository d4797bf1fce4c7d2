"""zoo.distribute and `--distribute`: every recipe trained by two worker processes on 127.0.0.1
(MultiWorkerMirroredStrategy, one port and TF_CONFIG each), the chief's export, the same weights as
one process on the same global batch, and a killed worker resumed from the chief's backup."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import distribute

CLUSTER_TIMEOUT = 300  # seconds for a whole two-worker run
SENSOR = ["--dataset", "BasicMotions"]
NO_NOISE = ["--noise", "0", "--dropout", "0"]  # training without randomness: one process can repeat it
GREEDY = ["--beam-width", "1"]  # the chief's evaluation, shorter
RECIPES = {  # the recipe's RecipeRunner fixture, the data fixture it needs, its export name, flags for a short smoke
    "sensor": ("recipe", None, "sensor_basic_motions", [*SENSOR, *NO_NOISE, "--batch-size", "6"]),
    "pos": ("pos_recipe", "brown_tarball", "pos_brown", []),
    "translation": ("translation_recipe", "bible_pairs", "translate_es_en",
                    ["--corpus", "bible", "--length-penalty", "0", *GREEDY]),
    "captioning": ("captioning_recipe", None, "caption_scenes", ["--eval-images", "8", *GREEDY]),
}


class Cluster:
    """The worker processes of one recipe on 127.0.0.1, each with its own port, TF_CONFIG, log file and
    process group; `$TMPDIR` is `root/tmp`, so what the workers leave there can be checked."""

    def __init__(self, runner, root, workers=2):
        self.runner, self.root = runner, root
        self.tf_configs = distribute.local_tf_configs(workers)
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def running(self, args, name):
        """Yields the started workers (chief first); kills whatever still runs on leaving."""
        procs = []
        try:
            for index, tf_config in enumerate(self.tf_configs):
                procs.append(self.runner.popen([*args, "--distribute", "multi_worker"],
                                               self.runner.env(TF_CONFIG=tf_config, TMPDIR=self.tmp),
                                               self.log(name, index), start_new_session=True))
            yield procs
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)

    def run(self, args, name, timeout=CLUSTER_TIMEOUT):
        """Runs every worker to completion; returns a CompletedProcess each, the log as its stdout."""
        deadline = time.monotonic() + timeout
        with self.running(args, name) as procs:
            for proc in procs:
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0))
                except subprocess.TimeoutExpired:
                    pytest.fail(f"{name}: not done within {timeout} s\n" + self.logs(name))
        return [subprocess.CompletedProcess(proc.args, proc.returncode, self.log(name, i).read_text(), "")
                for i, proc in enumerate(procs)]

    def log(self, name, index):
        return self.root / f"{name}-worker{index}.log"

    def logs(self, name):
        return "\n".join(f"--- worker {i}\n{self.log(name, i).read_text()[-3000:]}" for i in range(len(self.tf_configs)))


def exported_weights(version_dir):
    return zoo.load(version_dir).get_weights()


@pytest.fixture(scope="module")
def two_workers(request, tmp_path_factory):
    """`two_workers(recipe)`: that recipe's smoke, trained by a two-worker cluster once per module."""
    done = {}

    def run(name):
        if name not in done:
            runner_fixture, data_fixture, model_name, flags = RECIPES[name]
            if data_fixture:
                request.getfixturevalue(data_fixture)  # fetched once, before the workers share it
            root = tmp_path_factory.mktemp(f"cluster-{name}")
            cluster = Cluster(request.getfixturevalue(runner_fixture), root)
            args = [*flags, "--smoke", "--workdir", root / "work", "--out", root / "models"]
            done[name] = types.SimpleNamespace(cluster=cluster, procs=cluster.run(args, "smoke"), root=root,
                                               work=root / "work", base=root / "models" / model_name)
        return done[name]

    return run


# --- the pieces ------------------------------------------------------------------------------------


def test_every_recipe_takes_the_distribute_flag(request):
    for runner_fixture, *_ in RECIPES.values():
        module = request.getfixturevalue(runner_fixture).module()
        assert module.parse_args([]).distribute == "none"
        assert module.parse_args(["--distribute", "multi_worker"]).distribute == "multi_worker"
        with pytest.raises(SystemExit):
            module.parse_args(["--distribute", "horovod"])
    with pytest.raises(ValueError, match="--distribute must be one of"):
        distribute.strategy_for("horovod")


@pytest.fixture
def patch_never_applied(monkeypatch):
    """Fails a test that gets as far as patching Keras's trainer."""
    monkeypatch.setattr(distribute, "_let_keras_fit_distributed",
                        lambda: pytest.fail("Keras's trainer patched, though not supported"))


@pytest.mark.parametrize("strategy", ["mirrored", "multi_worker"])
@pytest.mark.parametrize("version", ["3.16.0", "3.14.2", "4.0.0", "nightly"])
def test_another_keras_version_is_refused_by_name(monkeypatch, patch_never_applied, strategy, version):
    monkeypatch.setattr(distribute.keras, "__version__", version)
    with pytest.raises(RuntimeError) as refused:
        distribute.strategy_for(strategy)
    assert str(refused.value) == (
        f"--distribute {strategy} supports Keras >=3.15,<3.16 only: it patches private functions of "
        f"keras.src.backend.tensorflow.trainer (keras-team/keras#20585). The installed Keras is {version}. "
        "Install 'keras>=3.15,<3.16' or train with --distribute none.")


def test_a_keras_trainer_without_what_the_patch_expects_is_refused(monkeypatch, patch_never_applied):
    from keras.src.backend.tensorflow import trainer

    monkeypatch.setattr(distribute.keras, "__version__", "3.15.1")
    monkeypatch.delattr(trainer, "reduce_per_replica")
    monkeypatch.setattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build", lambda self, data_batch=None: None)
    with pytest.raises(RuntimeError, match=re.escape(
            "The installed Keras is 3.15.1 (keras.src.backend.tensorflow.trainer.reduce_per_replica is missing; "
            "keras.src.backend.tensorflow.trainer.TensorFlowTrainer._maybe_symbolic_build does not take self, "
            "iterator, data_batch). Install 'keras>=3.15,<3.16'")):
        distribute.strategy_for("multi_worker")


def test_the_supported_keras_passes_the_check_and_plain_runs_need_none(monkeypatch, patch_never_applied):
    distribute.check_keras_trainer("multi_worker")  # the Keras installed for the tests is a supported one
    monkeypatch.setattr(distribute.keras, "__version__", "4.0.0")
    assert distribute.strategy_for("none") is tf.distribute.get_strategy()  # no patch, no check


def test_a_batch_too_small_for_every_replica_is_filled_with_its_own_examples():
    batches = tf.data.Dataset.range(1, 8).map(lambda size: (tf.range(size), {"x": tf.zeros([size, 2])}))
    for replicas, sizes in ((1, [1, 2, 3, 4, 5, 6, 7]), (2, [2, 2, 3, 4, 5, 6, 7]), (3, [3, 3, 3, 5, 5, 6, 7])):
        sharded = distribute.shard_by_data(batches, types.SimpleNamespace(num_replicas_in_sync=replicas))
        assert sharded.cardinality() == 7
        assert sharded.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
        filled = list(sharded.as_numpy_iterator())
        assert [len(ids) for ids, _ in filled] == sizes
        assert [len(x["x"]) for _, x in filled] == sizes
        for size, (ids, _) in enumerate(filled, 1):
            assert ids.tolist() == [i % size for i in range(len(ids))]


def test_worker_processes_of_one_machine_take_turns_with_the_data_cache():
    order = []

    def second():
        with distribute.data_lock():
            order.append("second")

    with distribute.data_lock():
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.3)
        order.append("first")
    other.join(timeout=10)
    assert order == ["first", "second"]


# --- two workers on 127.0.0.1 ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECIPES))
def test_two_workers_train_the_smoke_and_the_chief_exports(two_workers, name):
    run = two_workers(name)
    chief, worker = run.procs
    assert chief.returncode == 0 and worker.returncode == 0, run.cluster.logs("smoke")
    assert f"exported {run.base / '1'}" in chief.stdout
    assert "exported" not in worker.stdout  # the chief evaluates and exports; the worker waited for it
    assert "Epoch 2/2" in worker.stdout
    for log in (chief.stdout, worker.stdout):
        assert "unhealthy" not in log and "Traceback" not in log  # the workers left together

    model = zoo.load(run.base)
    assert [p.name for p in run.base.iterdir()] == ["1"]
    assert "--distribute multi_worker" in model.card["recipe_command"]
    assert "distribute" not in model.card["hyperparameters"]  # how a run spreads out, not what it trains
    assert json.loads((run.work / "run.json").read_text())["flags"]["replicas"] == 2
    assert run.cluster.runner.logged_epochs(run.work) == [0, 1]
    assert not (run.work / "backup").exists()
    assert list(run.cluster.tmp.iterdir()) == []  # the worker's own checkpoints and logs are gone


@pytest.mark.slow
def test_two_workers_train_as_one_process_on_the_same_global_batch(two_workers, recipe, tmp_path):
    # 24 smoke series in global batches of 12: 2 steps an epoch, 4 in all; same seed, same shuffled order
    two = two_workers("sensor")  # 2 workers x 6 per replica
    singles = {}
    for batch, strategy in ((12, "none"), (6, "mirrored")):  # mirrored: one process, on its one CPU
        root = tmp_path / str(batch)
        proc = recipe.run([*SENSOR, *NO_NOISE, "--smoke", "--batch-size", batch, "--distribute", strategy,
                           "--workdir", root / "work", "--out", root / "models"], timeout=CLUSTER_TIMEOUT)
        assert proc.returncode == 0, recipe.explain(proc)
        singles[batch] = root / "models" / "sensor_basic_motions"
    assert "--distribute mirrored" in zoo.info(singles[6])["recipe_command"]

    weights = exported_weights(two.base)
    for mine, single in zip(weights, exported_weights(singles[12])):
        np.testing.assert_allclose(mine, single, rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(mine, other, rtol=1e-3, atol=1e-4)  # the per-replica batch alone differs
                   for mine, other in zip(weights, exported_weights(singles[6])))
    histories = [np.genfromtxt(work / "history.csv", delimiter=",", names=True)
                 for work in (two.work, tmp_path / "12" / "work")]
    for column in ("loss", "val_loss"):  # the chief's logs report the whole cluster's metrics
        np.testing.assert_allclose(histories[0][column], histories[1][column], rtol=1e-5)


@pytest.mark.slow
def test_a_killed_worker_is_restarted_with_its_cluster_and_resumes_from_the_last_backup(recipe, tmp_path):
    work, out = tmp_path / "work", tmp_path / "models"
    epochs = 8
    args = [*SENSOR, "--cell", "elman", "--hidden", "4", "--epochs", epochs, "--patience", "100",
            "--workdir", work, "--out", out]
    cluster = Cluster(recipe, tmp_path)
    with cluster.running(args, "killed") as (chief, worker):
        recipe.kill_when(worker, lambda: (work / "backup").exists() and len(recipe.logged_epochs(work)) >= 2,
                         CLUSTER_TIMEOUT, "the cluster reaching epoch 2")
        try:
            chief.wait(timeout=120)  # its peer gone, the chief fails too
        except subprocess.TimeoutExpired:
            pytest.fail("the chief outlived its peer by 120 s\n" + cluster.logs("killed"))
    assert chief.returncode != 0
    assert not (out / "sensor_basic_motions").exists()
    before = recipe.logged_epochs(work)
    assert 2 <= len(before) < epochs

    chief, worker = cluster.run(args, "restarted")
    recipe.assert_resumed(chief, work, before, epochs)
    assert worker.returncode == 0, cluster.logs("restarted")
    first_epoch = [re.search(r"^Epoch (\d+)/", proc.stdout, re.MULTILINE).group(1) for proc in (chief, worker)]
    assert first_epoch[0] == first_epoch[1] != "1"  # the worker resumed from the chief's backup too
    model = zoo.load(out / "sensor_basic_motions")
    assert (model.card["version"], model.card["hyperparameters"]["epochs"]) == (1, epochs)


MIRRORED_ON_TWO_DEVICES = """
import json
import tempfile

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from zoo import distribute, training
from zoo.datasets import tagged
from zoo.tagging import SequenceTagger
from zoo.tagging import data as tagging_data

distribute.strategy_for("mirrored")  # sets Keras up for tf.distribute; the recipes' strategy takes every GPU
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # two CPUs stand in for two GPUs
training.seed_everything(0)
words = [["the", "dog", "runs", "."], ["a", "cat", "sleeps", "."], ["the", "cat", "runs", "today", "."]] * 3
tags = [["DET", "NOUN", "VERB", "."], ["DET", "NOUN", "VERB", "."], ["DET", "NOUN", "VERB", "ADV", "."]] * 3
data = tagged.TaggedSentences("toy", "train", words, tags)
with strategy.scope():
    model = SequenceTagger(sorted({t for row in tags for t in row}), sorted({w for row in words for w in row}),
                           sorted({c for row in words for w in row for c in w}), hidden=4, word_dim=4, char_dim=4,
                           char_filters=4)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
train = tagging_data.as_dataset(data, model.tag_names, distribute.global_batch_size(2, strategy))
print("batch sizes", json.dumps(sorted(len(ids) for _, ids, _ in train.as_numpy_iterator())))
with tempfile.TemporaryDirectory() as work:
    training.fit(model, work, {}, train, train, epochs=2, patience=5, lr_patience=5)
print("trained on", strategy.num_replicas_in_sync, "replicas")
"""


@pytest.mark.slow
def test_mirrored_trains_string_inputs_and_a_batch_of_one_on_two_devices(recipe):
    # Keras 3 alone fails here: it averages the first batch of strings across the replicas to build the model
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(MIRRORED_ON_TWO_DEVICES)], cwd=recipe.repo,
                          env=recipe.env(), capture_output=True, text=True, timeout=CLUSTER_TIMEOUT)
    assert proc.returncode == 0, recipe.explain(proc)
    assert 1 in json.loads(re.search(r"^batch sizes (.*)$", proc.stdout, re.MULTILINE).group(1))
    assert "trained on 2 replicas" in proc.stdout
