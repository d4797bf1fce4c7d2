"""Training on several devices or machines with `tf.distribute`: the strategy a recipe's `--distribute` names,
the global batch, which process writes, and the rest every recipe shares.

`none` trains on one device; `mirrored` on every local GPU (`tf.distribute.MirroredStrategy`);
`multi_worker` on the cluster that `$TF_CONFIG` describes, one process per worker
(`tf.distribute.MultiWorkerMirroredStrategy`). Every process of a cluster runs the same recipe command;
the chief (worker 0) alone writes logs, checkpoints and the export, into directories the others can read
(shared storage when the workers are on several machines).

Example:

>>> strategy = strategy_for("none")
>>> strategy.num_replicas_in_sync, is_chief(strategy), global_batch_size(32, strategy)
(1, True, 32)
"""

import atexit
import collections
import contextlib
import fcntl
import functools
import importlib
import inspect
import itertools
import json
import socket
import tempfile
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.python.eager import context

STRATEGIES = ("none", "mirrored", "multi_worker")
BARRIER_TIMEOUT = 24 * 3600  # seconds; a dead worker fails a barrier at once, a slow one may take long
_BARRIERS = collections.defaultdict(itertools.count)  # the same ids in the same order on every worker
# `_let_keras_fit_distributed` replaces private functions of Keras's TensorFlow trainer: written for, and
# tested with, these Keras versions (>= the first, < the second) only
SUPPORTED_KERAS = ((3, 15), (3, 16))
_PATCHED_TRAINER = "keras.src.backend.tensorflow.trainer"
_PATCHED_FUNCTIONS = {  # what the patch replaces or calls, with the parameters it passes
    "reduce_per_replica": ("values", "strategy", "reduction"),
    "TensorFlowTrainer._maybe_symbolic_build": ("self", "iterator", "data_batch"),
}


def strategy_for(name):
    """The `tf.distribute.Strategy` that `--distribute NAME` asks for.

    Call it first thing in a program: a multi-worker strategy sets up TensorFlow's collective
    ops, which must happen before TensorFlow runs any op. Its workers synchronise with RING
    all-reduce over gRPC (NCCL's choice where there are GPUs), so they run on CPUs too.

    Args:
        name: `"none"`, `"mirrored"` or `"multi_worker"`.

    Raises:
        RuntimeError: `"mirrored"` or `"multi_worker"` with a Keras other than `supported_keras()`, whose
            trainer this module cannot patch (`"none"` runs on any Keras).
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name not in STRATEGIES[1:]:
        raise ValueError(f"--distribute must be one of {STRATEGIES}, got {name!r}")
    check_keras_trainer(name)
    _let_keras_fit_distributed()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    implementation = (tf.distribute.experimental.CommunicationImplementation.AUTO
                      if tf.config.list_physical_devices("GPU") else
                      tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(implementation=implementation))


def supported_keras():
    """The Keras versions `--distribute mirrored` and `multi_worker` run on, as pip writes them."""
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_KERAS
    return f">={low_major}.{low_minor},<{high_major}.{high_minor}"


def check_keras_trainer(name):
    """Raises a RuntimeError naming the supported and the installed Keras unless the installed Keras is
    one whose private TensorFlow trainer `_let_keras_fit_distributed` was written for: a version in
    `SUPPORTED_KERAS`, with the functions it replaces, taking the parameters it passes.

    Args:
        name: the `--distribute` strategy that needs the patch (for the message).
    """
    problems = _trainer_problems()
    if problems or not _keras_version_supported(keras.__version__):
        found = f" ({'; '.join(problems)})" if problems else ""
        raise RuntimeError(
            f"--distribute {name} supports Keras {supported_keras()} only: it patches private functions of "
            f"{_PATCHED_TRAINER} (keras-team/keras#20585). The installed Keras is {keras.__version__}{found}. "
            f"Install 'keras{supported_keras()}' or train with --distribute none.")


def _trainer_problems():
    """What the patched trainer lacks, one line each: nothing when it has what the patch expects."""
    try:
        trainer = importlib.import_module(_PATCHED_TRAINER)
    except ImportError as err:
        return [f"{_PATCHED_TRAINER} cannot be imported: {err}"]
    problems = [_signature_problem(trainer, path, parameters) for path, parameters in _PATCHED_FUNCTIONS.items()]
    return [problem for problem in problems if problem]


def _keras_version_supported(version):
    try:
        installed = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:  # a version this check cannot read is not one it knows
        return False
    low, high = SUPPORTED_KERAS
    return low <= installed < high


def _signature_problem(module, path, parameters):
    """`None` if `module.<path>` is a function taking `parameters` first, else what is wrong with it."""
    function = module
    for attribute in path.split("."):
        function = getattr(function, attribute, None)
    if not callable(function):
        return f"{module.__name__}.{path} is missing"
    if tuple(inspect.signature(function).parameters)[:len(parameters)] != parameters:
        return f"{module.__name__}.{path} does not take {', '.join(parameters)}"
    return None


def global_batch_size(per_replica, strategy):
    """Examples per training step: `per_replica` on each replica (device or worker) of `strategy`."""
    return per_replica * strategy.num_replicas_in_sync


def is_chief(strategy):
    """Whether this process writes logs, checkpoints and exports: every process but a multi-worker
    cluster's non-chief workers."""
    return strategy.extended.should_checkpoint


def barrier(strategy, name, timeout=BARRIER_TIMEOUT):
    """Returns once every worker of a multi-worker `strategy` has reached the barrier `name`; at once
    for other strategies.

    Raises:
        tf.errors.OpError: after `timeout` seconds, or as soon as a worker is found dead.
    """
    if _multi_worker(strategy):
        context.context().wait_at_barrier(f"zoo/{name}/{next(_BARRIERS[name])}", int(timeout * 1000))


def leave_together(strategy):
    """Makes every worker wait for the others when its process ends: the chief evaluates and exports
    after training while the other workers are done, and a worker that just left would show in the
    chief's log as a crashed task. Called once training is over, so a failed training step never
    waits for a peer that will not come."""
    if _multi_worker(strategy):
        atexit.register(_wait_at_exit, strategy)


@contextlib.contextmanager
def write_dir(path, strategy):
    """Yields where this process writes what belongs in `path`: `path` itself on the chief, a fresh
    temporary directory on another worker, deleted on leaving the block (TF's multi-worker pattern:
    every worker trains with the same callbacks, only the chief's files are kept)."""
    if is_chief(strategy):
        yield Path(path)
    else:
        with tempfile.TemporaryDirectory(prefix="zoo-worker-") as scratch:
            yield Path(scratch)


def shard_by_data(dataset, strategy):
    """`dataset` (of batches) as `strategy` splits it between its replicas: every worker reads it all and
    keeps its share of each global batch (tf.data's DATA auto-sharding; the zoo's datasets are in memory,
    read from files cached already, so there are no files to share out).

    A batch too small to give every replica an example (a bucket's last batch, now and then) is filled up
    with repeats of its own examples, since an empty batch is an edge no model here is built for: on two
    replicas, a batch of one trains its example on both, the same step one process takes.
    """
    replicas = strategy.num_replicas_in_sync
    if replicas > 1:
        dataset = dataset.map(lambda *batch: _filled(batch, replicas))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


@contextlib.contextmanager
def data_lock():
    """Holds the data cache (`$ZOO_DATA`) for this process alone: the worker processes of one machine
    take turns loading their data, so the first fetches it into the cache and the others read it."""
    from zoo.datasets import data_dir

    data_dir().mkdir(parents=True, exist_ok=True)
    with open(data_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def local_tf_configs(workers):
    """`$TF_CONFIG` values (JSON) for a cluster of `workers` processes on this machine, each on a free
    port of 127.0.0.1, worker 0 the chief: to try `--distribute multi_worker` without a cluster.

    >>> import json
    >>> configs = [json.loads(c) for c in local_tf_configs(2)]
    >>> [c["task"] for c in configs], len(set(configs[0]["cluster"]["worker"]))
    ([{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}], 2)
    """
    with contextlib.ExitStack() as stack:  # every socket held until all are bound: no port twice
        sockets = [stack.enter_context(socket.socket()) for _ in range(workers)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})
            for index in range(workers)]


def _multi_worker(strategy):
    """Whether `strategy` spans a cluster (a multi-worker strategy without `$TF_CONFIG` is one local worker)."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and bool(strategy.cluster_resolver.cluster_spec().jobs))


def _filled(batch, replicas):
    """`batch` with its first examples repeated until tf.distribute's split gives every replica one."""
    size = tf.shape(tf.nest.flatten(batch)[0], out_type=tf.int64)[0]
    filled = tf.while_loop(lambda n: ~_fills_every_replica(n, replicas), lambda n: n + 1, [size])[0]
    repeated = tf.cond(filled == size, lambda: batch,
                       lambda: tf.nest.map_structure(lambda x: tf.gather(x, tf.range(filled) % size), batch))
    return repeated if len(repeated) > 1 else repeated[0]


def _fills_every_replica(size, replicas):
    share = (size + replicas - 1) // replicas  # tf.distribute hands out shares of up to this size in turn
    return (size + share - 1) // share >= replicas


def _wait_at_exit(strategy):
    try:
        barrier(strategy, "exit")
    except tf.errors.OpError:
        pass  # a worker is gone, or never came: this one is leaving anyway


@functools.cache
def _let_keras_fit_distributed():
    """Keras 3's TensorFlow trainer mis-builds and mis-reduces under `tf.distribute` strategies
    (keras-team/keras#20585, tensorflow/tensorflow#72388). To build the model before `fit`, it
    averages the first input batch over the replicas (nested inputs are refused under
    MultiWorkerMirroredStrategy, strings cannot be averaged) after drawing it from a pass over the
    dataset of its own, so a reshuffling dataset trains on another order than it would on one
    device. Under MultiWorkerMirroredStrategy, it also averages each step's metric results along an
    axis they lack (scalars).

    Building only needs the inputs' shapes and dtypes, which the dataset's element spec has
    without a pass. A step's metric results are this worker's running values: the first local
    replica's are taken, with no collective. What Keras logs and acts on (history, TensorBoard,
    early stopping, the learning-rate schedule) it reads at the end of each epoch from the metric
    variables, summed over every replica.

    `check_keras_trainer` checks first that the installed Keras is one this was written for.
    """
    from keras.src.backend.tensorflow import trainer

    reduce_per_replica = trainer.reduce_per_replica
    maybe_symbolic_build = trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_synchronised(values, strategy, reduction):
        if reduction == "auto" and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            reduction = "first"
        return reduce_per_replica(values, strategy, reduction)

    def build_from_element_spec(self, iterator=None, data_batch=None):
        if iterator is not None and self._distribute_strategy is not None:  # built in a strategy's scope
            data_batch, iterator = iterator.data_adapter.get_tf_dataset().element_spec, None
        return maybe_symbolic_build(self, iterator=iterator, data_batch=data_batch)

    trainer.reduce_per_replica = reduce_synchronised
    trainer.TensorFlowTrainer._maybe_symbolic_build = build_from_element_spec
