"""TF Serving's configuration files for a model root: `--model_config_file` and `--batching_parameters_file`.

```
zoo serving-config saved_models/ --batching-parameters batching.config > models.config
docker run -p 8500:8500 -p 8501:8501 -v "$PWD/saved_models:/models" -v "$PWD:/config" tensorflow/serving:2.21.0 \\
  --model_config_file=/config/models.config --enable_batching --batching_parameters_file=/config/batching.config
```

Both are text protos: a `ModelServerConfig` (from `tensorflow-serving-api`) and
a `BatchingParameters`. `tensorflow-serving-api` does not ship the latter (it is
in TF Serving's `session_bundle_config.proto`), so it is declared here with the
same package, names and field numbers.
"""

from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2
from tensorflow_serving.config import model_server_config_pb2

from zoo import artifacts
from zoo.serving.batching import DEFAULT_BATCH_TIMEOUT_MICROS, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_ENQUEUED_BATCHES

CONTAINER_MODELS = "/models"  # where the tensorflow/serving image looks for models


def model_bases(root):
    """The model base directories under `root`: those holding a complete version (a numbered directory with a
    `saved_model.pb`; an export's hidden temporary sibling is not one)."""
    if not Path(root).is_dir():
        raise ValueError(f"{root}: not a directory; expected a root holding <name>/<version>/ models")
    return [base for base in sorted(Path(root).iterdir()) if base.is_dir() and not base.name.startswith(".")
            and any((path / "saved_model.pb").is_file() for path in artifacts.version_dirs(base).values())]


def model_server_config(names, base_path=CONTAINER_MODELS):
    """A `ModelServerConfig`: one `config` per model, served from `<base_path>/<name>`, newest version only.

    Example:

    >>> from google.protobuf import text_format
    >>> print(text_format.MessageToString(model_server_config(["pos_brown"])), end="")
    model_config_list {
      config {
        name: "pos_brown"
        base_path: "/models/pos_brown"
        model_platform: "tensorflow"
        model_version_policy {
          latest {
            num_versions: 1
          }
        }
      }
    }
    """
    config = model_server_config_pb2.ModelServerConfig()
    for name in names:
        model = config.model_config_list.config.add(name=name, base_path=f"{base_path.rstrip('/')}/{name}",
                                                    model_platform="tensorflow")
        model.model_version_policy.latest.num_versions = 1
    return config


def _batching_parameters_class():
    """`tensorflow.serving.BatchingParameters` as TF Serving declares it, in a pool of its own."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(wrappers_pb2.DESCRIPTOR.serialized_pb))
    proto = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/servables/tensorflow/session_bundle_config.proto", package="tensorflow.serving",
        syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    message = proto.message_type.add(name="BatchingParameters")
    Field = descriptor_pb2.FieldDescriptorProto
    wrapped = [("max_batch_size", ".google.protobuf.Int64Value"), ("batch_timeout_micros", ".google.protobuf.Int64Value"),
               ("max_enqueued_batches", ".google.protobuf.Int64Value"),
               ("num_batch_threads", ".google.protobuf.Int64Value"),
               ("thread_pool_name", ".google.protobuf.StringValue")]
    for number, (name, type_name) in enumerate(wrapped, start=1):
        message.field.add(name=name, number=number, type=Field.TYPE_MESSAGE, type_name=type_name,
                          label=Field.LABEL_OPTIONAL)
    message.field.add(name="allowed_batch_sizes", number=6, type=Field.TYPE_INT64, label=Field.LABEL_REPEATED)
    message.field.add(name="pad_variable_length_inputs", number=7, type=Field.TYPE_BOOL, label=Field.LABEL_OPTIONAL)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


BatchingParameters = _batching_parameters_class()


def batching_parameters(max_batch_size=DEFAULT_MAX_BATCH_SIZE, batch_timeout_micros=DEFAULT_BATCH_TIMEOUT_MICROS,
                        max_enqueued_batches=DEFAULT_MAX_ENQUEUED_BATCHES, num_batch_threads=None,
                        allowed_batch_sizes=(), pad_variable_length_inputs=False):
    """TF Serving's `BatchingParameters`; `num_batch_threads=None` leaves TF Serving's default (one per core).

    TF Serving's batching merges any requests of a signature, and refuses a batch
    whose inputs differ in shape beyond dimension 0 unless `pad_variable_length_inputs`
    (zeros, `""`): for the sensor models, send `classify_padded` requests then
    (zero-padded series with their lengths), not `serving_default`.

    Raises:
        ValueError: for sizes TF Serving refuses (`allowed_batch_sizes` must increase and end at
            `max_batch_size`).

    Example:

    >>> from google.protobuf import text_format
    >>> print(text_format.MessageToString(batching_parameters(8, 1000, 50, allowed_batch_sizes=[4, 8])), end="")
    max_batch_size {
      value: 8
    }
    batch_timeout_micros {
      value: 1000
    }
    max_enqueued_batches {
      value: 50
    }
    allowed_batch_sizes: 4
    allowed_batch_sizes: 8
    """
    allowed = list(allowed_batch_sizes)
    if max_batch_size < 1 or batch_timeout_micros < 0 or max_enqueued_batches < 1 or \
            (num_batch_threads is not None and num_batch_threads < 1):
        raise ValueError("batching parameters: expected max_batch_size, max_enqueued_batches and num_batch_threads "
                         ">= 1 and batch_timeout_micros >= 0")
    if allowed and (allowed != sorted(set(allowed)) or allowed[-1] != max_batch_size or allowed[0] < 1):
        raise ValueError(f"allowed_batch_sizes {allowed}: expected increasing sizes ending at max_batch_size "
                         f"{max_batch_size}")
    parameters = BatchingParameters(allowed_batch_sizes=allowed, pad_variable_length_inputs=pad_variable_length_inputs)
    parameters.max_batch_size.value = max_batch_size
    parameters.batch_timeout_micros.value = batch_timeout_micros
    parameters.max_enqueued_batches.value = max_enqueued_batches
    if num_batch_threads is not None:
        parameters.num_batch_threads.value = num_batch_threads
    return parameters
