"""Server-side batching for `zoo serve --batching`: concurrent predictions merged into one signature call.

Requests for the same model, version and signature wait in one bounded queue,
served by one thread: it takes the oldest request, adds every queued request
that can be merged with it until `max_batch_size` rows or until the oldest has
waited `batch_timeout_micros`, makes one call with the inputs concatenated along
dimension 0, and splits the outputs back, so each request gets exactly what it
would get alone. Requests merge when their batch inputs have the same dtypes and
the same shape beyond dimension 0, and their scalar (rank 0) inputs are equal.

Which signatures are merged, so that the answers stay exact:

- numeric inputs (the sensor models' `series [B, T, C]`): merged requests have
  the same shape, no padding is added, and each row is computed alone; every
  output must have a fixed shape beyond the batch (`label [B]`, `scores [B, K]`).
- text inputs (the taggers' `sentences [B]`, `tokens [B, N]`): the graph pads
  them to the batch's longest, so only per-token outputs come back exactly:
  every output must be `[B, N]`, padded the zoo's way (`""` strings, 0 numbers,
  at least one column, never fewer columns than the input). Each request's rows
  are cut back to its own width: its last non-empty string column, or its
  input's width, or 1.
- anything else runs alone: outputs that summarise a whole text (a translation
  or caption and its score `[B]`) are reductions over the in-graph padding,
  which changes their last bits (measured on `translate_es_en`), and outputs of
  rank 3 (attention) have more than one padded axis.

Float kernels may round a row differently in a call of another size (oneDNN
and Eigen pick their kernels by shape: a tiny GRU's scores move by one ulp
between batch 1 and batch 2). So the first merged call of each shape (merged
rows, input and output shapes) is checked: its requests are also run one by
one and answered with those results; if every row (cut back to its width) is
bitwise equal, later
merged calls of that shape are trusted, otherwise the signature runs unbatched
from then on (logged, and listed by `Batcher.unbatched()`). This rests on a
kernel's rounding depending on the shapes of a call, not on its values.

If a merged call fails (one request's input is refused by the signature) or its
outputs cannot be split, the requests are run one by one, so each gets its own
answer or error. A request larger than `max_batch_size` runs alone.
"""

import collections
import logging
import threading
import time

import numpy as np
import tensorflow as tf

from zoo.serving.errors import ServingError
from zoo.serving.calls import call_signature
from zoo.serving.limits import batch_rows

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SIZE = 32
DEFAULT_BATCH_TIMEOUT_MICROS = 2000
DEFAULT_MAX_ENQUEUED_BATCHES = 100

_Layout = collections.namedtuple("_Layout", ["rows", "group", "padded", "width"])


def _layout(function, tensors):
    """How a request merges with others (`_Layout`), or `None` when it must run alone."""
    batched = {name: t for name, t in tensors.items() if t.shape.rank != 0}
    rows = batch_rows(tensors)
    if not rows:
        return None
    outputs = function.structured_outputs
    if not isinstance(outputs, dict) or any(
            not isinstance(s, tf.TensorSpec) or not s.shape.rank for s in outputs.values()):
        return None
    padded = any(t.dtype == tf.string for t in batched.values())
    if padded:
        if any(s.shape.rank != 2 for s in outputs.values()) or all(s.dtype != tf.string for s in outputs.values()):
            return None
    elif not all(s.shape[1:].is_fully_defined() for s in outputs.values()):
        return None
    group = (tuple(sorted((name, t.dtype.name, tuple(t.shape[1:])) for name, t in batched.items())),
             tuple(sorted((name, t.dtype.name, t.numpy().item()) for name, t in tensors.items() if name not in batched)))
    width = max((t.shape[1] for t in batched.values() if t.shape.rank >= 2), default=0)
    return _Layout(rows, group, padded, width)


class _Task:
    """One request waiting in a queue: its tensors in, its outputs or error out."""

    def __init__(self, function, tensors, layout, gate=None):
        self.function = function
        self.gate = gate
        self.tensors = tensors
        self.layout = layout
        self.enqueued = time.monotonic()
        self.outputs = None
        self.error = None
        self.done = threading.Event()

    def merges_with(self, other):
        return self.function is other.function and self.layout.group == other.layout.group

    def run_alone(self):
        try:
            self.outputs = call_signature(self.function, self.tensors, self.gate)
        except ServingError as err:
            self.error = err
        except Exception as err:  # a bug costs this request an INTERNAL error, never the queue's thread
            logger.exception("a batched request failed")
            self.error = ServingError(f"{type(err).__name__}: {err}", tf.errors.INTERNAL)
        self.done.set()


def _width(piece, layout):
    """The columns a request's `[rows, N]` outputs have when it runs alone (see the module docstring)."""
    used = 0
    for array in piece.values():
        if array.dtype == object:
            columns = np.flatnonzero((array != b"").any(axis=0))
            used = max(used, columns[-1] + 1 if columns.size else 0)
    return max(1, layout.width, used)


def _bitwise_equal(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return np.array_equal(a, b) if a.dtype == object else a.tobytes() == b.tobytes()


def _split(outputs, tasks):
    """Each task's share of the merged outputs, or `None` when they do not have the batch's rows."""
    total = sum(task.layout.rows for task in tasks)
    if any(array.ndim == 0 or array.shape[0] != total for array in outputs.values()):
        return None
    pieces, start = [], 0
    for task in tasks:
        piece = {name: array[start:start + task.layout.rows] for name, array in outputs.items()}
        if task.layout.padded:
            width = _width(piece, task.layout)
            piece = {name: array[:, :width] for name, array in piece.items()}
        pieces.append(piece)
        start += task.layout.rows
    return pieces


class _BatchQueue:
    """The queue of one model version's signature and the thread that runs its batches."""

    def __init__(self, name, max_batch_size, timeout_seconds, max_rows):
        self.name = name
        self.refused = False  # a merged call differed from the single calls: the signature runs unbatched
        self._checked_shapes = set()
        self.max_batch_size = max_batch_size
        self.timeout_seconds = timeout_seconds
        self.max_rows = max_rows
        self._pending = collections.deque()
        self._rows = 0
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name=f"zoo-batch-{name}", daemon=True)
        self._thread.start()

    def submit(self, task):
        with self._changed:
            if self._rows + task.layout.rows > self.max_rows:
                # TF Serving's answer when a batch queue is full (shared_batch_scheduler.h).
                raise ServingError("The batch scheduling queue to which this task was submitted is full",
                                   tf.errors.UNAVAILABLE)
            self._pending.append(task)
            self._rows += task.layout.rows
            self._changed.notify()

    def close(self):
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()

    def _serve(self):
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run(batch)
            except Exception:  # never leave a waiting request without an answer
                logger.exception("a batch failed")
                for task in batch:
                    if not task.done.is_set():
                        task.run_alone()

    def _next_batch(self):
        """The oldest task and those merged with it; `None` once closed and drained."""
        with self._changed:
            while not self._pending:
                if self._closed:
                    return None
                self._changed.wait()
            first = self._pending.popleft()
            batch, rows = [first], first.layout.rows
            deadline = first.enqueued + self.timeout_seconds
            while rows < self.max_batch_size:
                for task in list(self._pending):
                    if task.merges_with(first) and rows + task.layout.rows <= self.max_batch_size:
                        self._pending.remove(task)
                        batch.append(task)
                        rows += task.layout.rows
                remaining = deadline - time.monotonic()
                if rows >= self.max_batch_size or remaining <= 0 or self._closed:
                    break
                self._changed.wait(remaining)
            self._rows -= rows
            return batch

    def _run(self, batch):
        if len(batch) == 1 or self.refused:
            for task in batch:
                task.run_alone()
            return
        first = batch[0]
        merged = {name: (tf.concat([task.tensors[name] for task in batch], 0) if tensor.shape.rank else tensor)
                  for name, tensor in first.tensors.items()}
        try:
            outputs = call_signature(first.function, merged, first.gate)
        except ServingError as err:
            logger.info("a merged call of %d requests failed (%s): running them one by one", len(batch), err)
            outputs = None
        pieces = None if outputs is None else _split(outputs, batch)
        if pieces is None:
            for task in batch:
                task.run_alone()
            return
        shape = (first.layout.group, sum(task.layout.rows for task in batch),
                 tuple(sorted((name, array.shape) for name, array in outputs.items())))
        if shape not in self._checked_shapes:
            self._check(batch, pieces, shape)
            return
        for task, piece in zip(batch, pieces):
            task.outputs = piece
            task.done.set()

    def _check(self, batch, pieces, shape):
        """Answers each request with its single call; trusts merged calls of this shape if they agree."""
        for task in batch:
            task.run_alone()
        if all(task.error is None and piece.keys() == task.outputs.keys()
               and all(_bitwise_equal(piece[name], task.outputs[name]) for name in piece)
               for task, piece in zip(batch, pieces)):
            self._checked_shapes.add(shape)
        else:
            self.refused = True
            logger.warning("%s: a merged call's answers differ from the single calls' (kernels round differently "
                           "by batch size); it runs unbatched from now on", self.name)


class Batcher:
    """Merges concurrent calls of the same signature into one (see the module docstring for which ones).

    Args:
        max_batch_size: the most rows (dimension 0) in one merged call.
        batch_timeout_micros: how long the oldest request waits for others.
        max_enqueued_batches: the queue holds at most this many full batches of
            rows; a request beyond is refused with UNAVAILABLE.
        gate: the `zoo.serving.calls.ComputeGate` every call takes its turn at, or `None`.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> double = tf.function(lambda x: {"y": 2.0 * x}, input_signature=[tf.TensorSpec([None], tf.float32)])
    >>> batcher = Batcher(max_batch_size=8, batch_timeout_micros=1000)
    >>> batcher.call(("toy", 1, "serving_default"), double.get_concrete_function(), {"x": tf.constant([1.5])})
    {'y': array([3.], dtype=float32)}
    >>> batcher.close()
    """

    def __init__(self, max_batch_size=DEFAULT_MAX_BATCH_SIZE, batch_timeout_micros=DEFAULT_BATCH_TIMEOUT_MICROS,
                 max_enqueued_batches=DEFAULT_MAX_ENQUEUED_BATCHES, gate=None):
        if max_batch_size < 1 or batch_timeout_micros < 0 or max_enqueued_batches < 1:
            raise ValueError("batching: expected max_batch_size >= 1, batch_timeout_micros >= 0 and "
                             f"max_enqueued_batches >= 1, got {max_batch_size}, {batch_timeout_micros} and "
                             f"{max_enqueued_batches}")
        self.max_batch_size = max_batch_size
        self.batch_timeout_micros = batch_timeout_micros
        self.max_enqueued_batches = max_enqueued_batches
        self.gate = gate
        self._queues = {}
        self._lock = threading.Lock()

    def call(self, key, function, tensors):
        """`{output name: np.ndarray}` of `function(**tensors)`, computed in a merged call when possible.

        Args:
            key: what identifies the signature: `(model name, version, signature name)`.
            function: the signature (a concrete function).
            tensors: `{input name: tf.Tensor}`, already checked against the signature.
        """
        layout = _layout(function, tensors)
        queue = self._queue(key) if layout is not None and layout.rows <= self.max_batch_size else None
        if queue is None or queue.refused:
            return call_signature(function, tensors, self.gate)
        task = _Task(function, tensors, layout, self.gate)
        queue.submit(task)
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.outputs

    def _queue(self, key):
        with self._lock:
            if key not in self._queues:
                self._queues[key] = _BatchQueue("-".join(map(str, key)), self.max_batch_size,
                                                self.batch_timeout_micros / 1e6,
                                                self.max_enqueued_batches * self.max_batch_size)
            return self._queues[key]

    def unbatched(self):
        """The keys of the signatures found to answer differently when merged, which now run unbatched."""
        with self._lock:
            return sorted(key for key, queue in self._queues.items() if queue.refused)

    def close(self):
        """Answers what is queued, then stops the queues' threads."""
        with self._lock:
            queues, self._queues = list(self._queues.values()), {}
        for queue in queues:
            queue.close()
