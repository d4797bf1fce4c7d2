"""Calling a SavedModel signature for a request: what REST, gRPC and the batcher share.

Each front end turns its wire format into tensors (JSON in `zoo.serving.rest`,
`TensorProto` in `zoo.serving.grpc_server`); the checks of those tensors against
the signature and the call itself, with TensorFlow's errors turned into TF
Serving's status codes, happen here, once.
"""

import collections
import contextlib
import os
import threading
import time

import tensorflow as tf
from tensorflow.python.eager import cancellation

from zoo.batches import bounded_slices
from zoo.serving.limits import Limits, batch_rows, padded_concat, row_pixels
from zoo.serving.errors import ServingError
from zoo.validation import graph_error_message

DEFAULT_SIGNATURE = "serving_default"


def input_specs(function):
    """`{input name: tf.TensorSpec}` of a signature (a concrete function of a loaded SavedModel)."""
    return function.structured_input_signature[1]


def check_input_names(names, specs):
    """Refuses a request whose input names are not the signature's, in TF Serving's words.

    Example:

    >>> import tensorflow as tf
    >>> specs = {"x": tf.TensorSpec([None], tf.float32), "k": tf.TensorSpec([], tf.int32)}
    >>> check_input_names(["x"], specs)
    Traceback (most recent call last):
    ...
    zoo.serving.errors.ServingError: input size does not match signature: 1!=2 len({x}) != len({k,x}). \
Sent extra: {}. Missing but required: {k}.
    """
    sent, wanted = set(names), set(specs)
    if len(sent) != len(wanted):
        raise ServingError(
            f"input size does not match signature: {len(sent)}!={len(wanted)} len({{{','.join(sorted(sent))}}}) "
            f"!= len({{{','.join(sorted(wanted))}}}). Sent extra: {{{','.join(sorted(sent - wanted))}}}. "
            f"Missing but required: {{{','.join(sorted(wanted - sent))}}}.")
    unknown = sorted(sent - wanted)
    if unknown:
        raise ServingError(f"input tensor alias not found in signature: {unknown[0]}. "
                           f"Inputs expected to be in the set {{{','.join(sorted(wanted))}}}.")


def checked_input(name, tensor, specs):
    """`tensor`, once its dtype and shape are those the signature declares for input `name`."""
    spec = specs[name]
    if tensor.dtype != spec.dtype:
        position = sorted(specs).index(name)
        raise ServingError(f"{name}: Expects arg[{position}] to be {spec.dtype.name} but {tensor.dtype.name} "
                           "is provided")
    if not spec.shape.is_compatible_with(tensor.shape):
        raise ServingError(f"{name}: shape {tensor.shape.as_list()} does not match the signature's {spec.shape}")
    return tensor


def call_signature(function, tensors, gate=None, deadline=None):
    """`{output name: np.ndarray}` of one call, taking a turn at `gate` (a `ComputeGate`) when given and
    cancelled once `deadline` (a `Deadline`) passes or its client leaves; TensorFlow's errors as
    `ServingError`s with their status code and the signature's own words (no graph node names)."""
    with gate.turn() if gate is not None else contextlib.nullcontext():
        with _WATCHDOG.watching(deadline) if deadline is not None else contextlib.nullcontext():
            try:
                return {k: v.numpy() for k, v in function(**tensors).items()}
            except tf.errors.CancelledError:
                deadline.check()  # raises why it was cancelled
                raise ServingError("the call was cancelled", tf.errors.CANCELLED) from None
            except tf.errors.OpError as err:  # a signature's own InvalidArgument keeps its code and message
                raise ServingError(graph_error_message(err.message), err.error_code) from None
            except (TypeError, ValueError) as err:  # the concrete function rejected the tensors' dtype or shape
                raise ServingError(str(err)) from None


class _Watchdog:
    """Cancels running signature calls whose request is past its deadline or whose client left.

    TensorFlow stops a cancelled call between ops, a decoding loop between
    two steps. It takes a call's cancellation manager from one process-wide
    variable (`tensorflow.python.eager.cancellation.context()`); a server runs
    calls on many threads, so `enable_cancellation` makes that lookup per
    thread. Where TensorFlow's internals are not what this expects, calls are
    not cancelled and deadlines are checked between calls only.
    """

    POLL_SECONDS = 0.1

    def __init__(self):
        self._local = threading.local()
        self._active = {}
        self._lock = threading.Lock()
        self._thread = None
        self.enabled = False

    def enable(self):
        if not self.enabled and callable(getattr(cancellation, "context", None)) and hasattr(
                cancellation, "CancellationManager"):
            cancellation.context = lambda: getattr(self._local, "manager", None)
            self.enabled = True
        return self.enabled

    @contextlib.contextmanager
    def watching(self, deadline):
        if not self.enabled:
            yield
            return
        manager, token = cancellation.CancellationManager(), object()
        with self._lock:
            self._active[token] = (deadline, manager)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="zoo-deadlines", daemon=True)
                self._thread.start()
        self._local.manager = manager
        try:
            yield
        finally:
            self._local.manager = None
            with self._lock:
                del self._active[token]

    def _watch(self):
        while True:
            time.sleep(self.POLL_SECONDS)
            with self._lock:
                watched = list(self._active.values())
            for deadline, manager in watched:
                if deadline.remaining() <= 0 or deadline.client_gone():
                    manager.start_cancel()


_WATCHDOG = _Watchdog()


def enable_cancellation():
    """Lets a request's deadline stop a signature call that is running (see `_Watchdog`); `False` where
    this TensorFlow does not allow it."""
    return _WATCHDOG.enable()


class ComputeGate:
    """Signature calls run `workers` at a time, in the order they arrive; up to `max_waiting` wait their
    turn, one more is refused UNAVAILABLE (503).

    Without it every connection's thread computes at once: on 2 cores, 16
    clients' calls share the cores and each takes 16 times as long, and the
    unluckiest wait for seconds. In turn, each waits for the calls ahead of it.
    """

    def __init__(self, workers=None, max_waiting=256):
        self.workers = workers or os.cpu_count() or 1
        self.max_waiting = max_waiting
        self._free = self.workers
        self._waiting = collections.deque()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self):
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                mine = None
            elif len(self._waiting) >= self.max_waiting:
                raise ServingError(f"{len(self._waiting)} requests are waiting for the model already; retry later",
                                   tf.errors.UNAVAILABLE)
            else:
                mine = threading.Event()
                self._waiting.append(mine)
        if mine is not None:
            mine.wait()  # handed the turn by the call before it
        try:
            yield
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting.popleft().set()
                else:
                    self._free += 1


class Deadline:
    """When a request must be answered by, and how to tell that its client has gone.

    Args:
        seconds: from now.
        client_gone: a callable telling whether the client closed its connection (or cancelled).
    """

    def __init__(self, seconds, client_gone=lambda: False):
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.client_gone = client_gone

    def remaining(self):
        return self.expires - time.monotonic()

    def check(self, next_call_seconds=0.0):
        """Refuses to start a call that cannot finish in time, or whose answer nobody waits for."""
        if self.client_gone():
            raise ServingError("the client closed the request; its work stopped", tf.errors.CANCELLED)
        if self.remaining() < next_call_seconds or self.remaining() <= 0:
            raise ServingError(f"the request did not finish within its deadline of {self.seconds:g} s (zoo serve "
                               "--request-timeout); send fewer rows or shorter inputs", tf.errors.DEADLINE_EXCEEDED)


def run_signature(function, tensors, batcher=None, key=None, limits=Limits(), deadline=None, gate=None):
    """Calls the signature in calls of at most `limits.rows_per_call` rows, each taking its turn at `gate`
    (or merged with concurrent requests of the same `key` by a `Batcher`), checking `deadline` before each."""
    deadline = deadline or Deadline(limits.request_timeout)
    rows = batch_rows(tensors)
    pixels = row_pixels(tensors) if rows else None
    if pixels is not None:
        limits.check_pixels(int(pixels.sum()))
    parts = [slice(None)] if not rows else list(
        bounded_slices(rows, limits.rows_per_call, pixels, limits.pixels_per_call))
    pieces, started = [], time.monotonic()
    for part in parts:
        deadline.check((time.monotonic() - started) / len(pieces) if pieces else 0.0)  # the calls so far: the cost
        chunk = tensors if len(parts) == 1 else {name: (t[part] if t.shape.rank else t) for name, t in tensors.items()}
        pieces.append(call_signature(function, chunk, gate, deadline) if batcher is None
                      else batcher.call(key, function, chunk))
    return pieces[0] if len(pieces) == 1 else padded_concat(pieces)


def refuse_classify_or_regress(servable, signature_name, method):
    """Answers a Classify or Regress request (`method` "classify" or "regress") as TF Serving does.

    The zoo's signatures are all Predict signatures, which TF Serving refuses to
    classify or regress with INVALID_ARGUMENT; a true classify or regress
    signature (`tf.Example` input) is not implemented by this server.
    """
    signature = servable.signature_defs.get(signature_name)
    if signature is None:
        raise ServingError(f"No signature was found with the name: {signature_name}")
    expected = f"tensorflow/serving/{method}"
    if signature.method_name != expected:
        kind = {"classify": "classification", "regress": "regression"}[method]
        raise ServingError(f"Expected {kind} signature method_name to be {expected}. Was: {signature.method_name}")
    raise ServingError(f"{method.capitalize()} over tf.Example inputs is not implemented by zoo serve; use Predict",
                       tf.errors.UNIMPLEMENTED)
