"""The gRPC front end of `zoo serve`: TF Serving's `PredictionService` and `ModelService` over a `ModelRepository`.

Implemented with the stubs of `tensorflow-serving-api`, so TF Serving's own
clients work unchanged:

| service | method | answer |
|---|---|---|
| `tensorflow.serving.PredictionService` | `Predict` | the signature's outputs as `TensorProto`s (`output_filter` honoured) |
| | `GetModelMetadata` | the signature defs (`metadata_field: "signature_def"`) |
| | `Classify`, `Regress` | TF Serving's refusal of a Predict signature (the zoo has no other kind) |
| `tensorflow.serving.ModelService` | `GetModelStatus` | the state of one version or of all |

The version is `model_spec.version`, or the newest loaded one; a
`model_spec.version_label` is refused as TF Serving refuses a label its
config does not define. Errors are gRPC status codes with TF Serving's messages.
"""

from concurrent import futures

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

from zoo.serving.calls import (DEFAULT_SIGNATURE, Deadline, check_input_names, checked_input, input_specs,
                               refuse_classify_or_regress, run_signature)
from zoo.serving.limits import Limits
from zoo.serving.errors import ServingError

MAX_MESSAGE_BYTES = 64 << 20
WORKER_THREADS = 32  # concurrent RPCs; the batcher needs at least as many as there are concurrent clients
MAX_CONCURRENT_RPCS = 128  # more are refused by gRPC with RESOURCE_EXHAUSTED

_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _version_choice(model_spec):
    """`(version, label)` of a `ModelSpec`, each `None` when not set."""
    choice = model_spec.WhichOneof("version_choice")
    return (model_spec.version.value if choice == "version" else None,
            model_spec.version_label if choice == "version_label" else None)


def _answering(method):
    """Wraps a servicer method so a `ServingError` becomes its gRPC status code and message."""

    def answer(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as err:
            context.abort(_STATUS_CODES.get(err.code, grpc.StatusCode.UNKNOWN), str(err))

    answer.__name__, answer.__doc__ = method.__name__, method.__doc__
    return answer


def _input_tensor(name, proto, limits):
    """A request's `TensorProto` as a tensor, once its declared shape and size are within `limits`
    (`tf.make_ndarray` would first fill the whole declared shape from a single value)."""
    try:
        dtype = tf.as_dtype(proto.dtype)
    except TypeError:
        raise ServingError(f"tensor parsing error: {name}: unknown dtype {proto.dtype}") from None
    if proto.tensor_shape.unknown_rank:
        raise ServingError(f"tensor parsing error: {name}: a tensor of unknown rank; expected a shape")
    limits.check_declared(name, dtype, [d.size for d in proto.tensor_shape.dim],
                          sum(len(s) for s in proto.string_val))
    try:
        return tf.constant(tf.make_ndarray(proto), dtype=dtype)
    except (TypeError, ValueError):
        raise ServingError(f"tensor parsing error: {name}") from None


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """`tensorflow.serving.PredictionService` over a `ModelRepository`, batching through `batcher` if given."""

    def __init__(self, repository, batcher=None, limits=Limits(), gate=None):
        self.repository = repository
        self.batcher = batcher
        self.limits = limits
        self.gate = gate

    @_answering
    def Predict(self, request, context):
        spec = request.model_spec
        number, servable = self.repository.servable(spec.name, *_version_choice(spec))
        signature_name = spec.signature_name or DEFAULT_SIGNATURE
        function = servable.loaded.signatures.get(signature_name)
        if function is None:
            raise ServingError(f'Serving signature key "{signature_name}" not found.', tf.errors.FAILED_PRECONDITION)
        specs = input_specs(function)
        check_input_names(request.inputs, specs)
        tensors = {name: checked_input(name, _input_tensor(name, proto, self.limits), specs)
                   for name, proto in request.inputs.items()}
        remaining = context.time_remaining()  # the client's own deadline, if it set one
        deadline = Deadline(min(self.limits.request_timeout, remaining if remaining is not None else float("inf")),
                            lambda: not context.is_active())
        outputs = run_signature(function, tensors, self.batcher, (spec.name, number, signature_name), self.limits,
                                deadline, self.gate)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = spec.name
        response.model_spec.version.value = number
        response.model_spec.signature_name = signature_name
        for name in _filtered(request.output_filter, outputs):
            response.outputs[name].CopyFrom(tf.make_tensor_proto(outputs[name]))
        return response

    @_answering
    def GetModelMetadata(self, request, context):
        if not request.HasField("model_spec"):
            raise ServingError("Missing ModelSpec")
        if not request.metadata_field:
            raise ServingError("GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != "signature_def":
                raise ServingError(f"Metadata field {field} is not supported")
        return self.repository.metadata(request.model_spec.name, *_version_choice(request.model_spec))

    @_answering
    def Classify(self, request, context):
        self._refuse(request, "classify")

    @_answering
    def Regress(self, request, context):
        self._refuse(request, "regress")

    def _refuse(self, request, method):
        _, servable = self.repository.servable(request.model_spec.name, *_version_choice(request.model_spec))
        refuse_classify_or_regress(servable, request.model_spec.signature_name or DEFAULT_SIGNATURE, method)


def _filtered(output_filter, outputs):
    """The output names a Predict request asked for (all when `output_filter` is empty), in TF Serving's words."""
    if not output_filter:
        return list(outputs)
    seen = set()
    for name in output_filter:
        if name not in outputs:
            raise ServingError(f"output tensor alias not found in signature: {name} Outputs expected to be in the "
                               f"set {{{','.join(sorted(outputs))}}}.")
        if name in seen:
            raise ServingError(f"duplicate output tensor alias: {name}")
        seen.add(name)
    return list(output_filter)


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """`tensorflow.serving.ModelService` (`GetModelStatus`) over a `ModelRepository`."""

    def __init__(self, repository):
        self.repository = repository

    @_answering
    def GetModelStatus(self, request, context):
        if not request.HasField("model_spec"):
            raise ServingError("Missing ModelSpec")
        return self.repository.status(request.model_spec.name, *_version_choice(request.model_spec))


def grpc_server(repository, host="127.0.0.1", port=8500, batcher=None, max_message_bytes=MAX_MESSAGE_BYTES,
                limits=Limits(), gate=None):
    """A gRPC server answering both services, bound but not started; returns `(server, bound port)`.

    Args:
        repository: the `ModelRepository` to serve.
        host: the address to listen on.
        port: the port; 0 picks a free one.
        batcher: a `zoo.serving.batching.Batcher` merging concurrent predictions, or `None`.
        max_message_bytes: larger requests are refused by gRPC with RESOURCE_EXHAUSTED.
        limits: the caps of one request and its deadline (`zoo.serving.limits.Limits`).
        gate: the `zoo.serving.calls.ComputeGate` signature calls take turns at, or `None`.
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="zoo-grpc"),
                         maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
                         options=[("grpc.max_receive_message_length", max_message_bytes),
                                  ("grpc.max_send_message_length", -1),
                                  ("grpc.so_reuseport", 0)])  # a port in use is an error, not shared
    servicer = PredictionServicer(repository, batcher, limits, gate)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(repository), server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as err:  # what grpcio raises for a port in use
        raise OSError(f"gRPC: cannot listen on {host}:{port}: {err}") from None
    return server, bound
