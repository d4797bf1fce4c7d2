"""`zoo serve`: TF Serving's REST and gRPC APIs over one model root, with optional server-side batching."""

import logging
import threading

from zoo.serving.batching import Batcher
from zoo.serving.calls import ComputeGate, enable_cancellation
from zoo.serving.grpc_server import grpc_server
from zoo.serving.limits import Limits
from zoo.serving.repository import ModelRepository
from zoo.serving.rest import MAX_BODY_BYTES, MAX_CONNECTIONS, RestServer

logger = logging.getLogger(__name__)


class ModelServer:
    """The REST and gRPC front ends over one `ModelRepository`, answering from background threads.

    Args:
        repository: the `ModelRepository` to serve.
        host: the address both listen on.
        port: the REST port; 0 picks a free one (see `port` after construction).
        grpc_port: the gRPC port; 0 picks a free one; `None`: no gRPC.
        batcher: a `zoo.serving.batching.Batcher` both front ends merge predictions through, or `None`.
        max_body_bytes: the largest REST body and gRPC message accepted.
        limits: the caps of one request and its deadline (`zoo.serving.limits.Limits`).
        gate: the `ComputeGate` every signature call takes its turn at (default: one call per core, 256
            waiting); the batcher's calls take theirs there too.
        max_connections: REST connections served at once; one more is answered 503.

    Example:

    ```python
    repository = ModelRepository("saved_models")
    repository.refresh()
    with ModelServer(repository, port=0, grpc_port=0) as server:
        client = zoo.serving.Client(f"localhost:{server.port}")
    ```
    """

    def __init__(self, repository, host="127.0.0.1", port=8501, grpc_port=8500, batcher=None,
                 max_body_bytes=MAX_BODY_BYTES, limits=Limits(), gate=None, max_connections=MAX_CONNECTIONS):
        self.batcher = batcher
        self.gate = gate or ComputeGate()
        if not enable_cancellation():
            logger.warning("this TensorFlow cannot cancel a running call: deadlines are checked between calls")
        if batcher is not None:
            batcher.gate = self.gate
        try:
            self._rest = RestServer(repository, host, port, max_body_bytes, batcher, limits, max_connections, self.gate)
        except OSError as err:
            raise OSError(f"REST: cannot listen on {host}:{port}: {err.strerror or err}") from None
        self.port = self._rest.server_address[1]
        self._grpc, self.grpc_port = (None, None)
        if grpc_port is not None:
            try:
                self._grpc, self.grpc_port = grpc_server(repository, host, grpc_port, batcher, max_body_bytes,
                                                         limits, self.gate)
            except BaseException:
                self._rest.server_close()
                raise
        self._thread = threading.Thread(target=self._rest.serve_forever, name="zoo-rest", daemon=True)

    def start(self):
        self._thread.start()
        if self._grpc is not None:
            self._grpc.start()
        return self

    def stop(self):
        """Stops accepting requests, lets the batcher answer what it holds, and closes the ports."""
        if self._grpc is not None:
            self._grpc.stop(grace=None)
        if self._thread.is_alive():
            self._rest.shutdown()
            self._thread.join()
        self._rest.server_close()
        if self.batcher is not None:
            self.batcher.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def serve(*roots, bases=None, host="127.0.0.1", port=8501, grpc_port=8500, poll_seconds=5.0, batching=None,
          limits=Limits()):
    """Loads every model under `roots`, and those of `bases`, and serves them over REST and gRPC until
    interrupted (`ModelRepository` says what each holds).

    The ports are bound before any model is loaded, so a busy port fails at once.

    Args:
        batching: `Batcher` keyword arguments (`max_batch_size`, `batch_timeout_micros`,
            `max_enqueued_batches`) to merge concurrent predictions, or `None`.
        limits: the caps of one request and its deadline (`zoo.serving.limits.Limits`).
    """
    if not poll_seconds > 0:
        raise ValueError(f"--poll-seconds: expected a positive number of seconds, got {poll_seconds}")
    repository = ModelRepository(*roots, bases=bases)
    batcher = Batcher(**batching) if batching is not None else None
    server = ModelServer(repository, host, port, grpc_port, batcher, limits=limits)
    names = repository.refresh()
    repository.start_polling(poll_seconds)
    try:
        with server:
            grpc_line = f", gRPC at {host}:{server.grpc_port}" if server.grpc_port else ""
            batching_line = (f", batching up to {batcher.max_batch_size} rows within "
                             f"{batcher.batch_timeout_micros} µs" if batcher else "")
            places = ", ".join(map(str, [*roots, *(bases or {}).values()]))
            print(f"serving {', '.join(names) or 'no models yet'} from {places}: REST at "
                  f"http://{host}:{server.port}/v1/models/<name>{grpc_line}{batching_line}", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        repository.stop_polling()
