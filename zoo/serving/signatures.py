"""Calling a SavedModel signature for a request: what REST, gRPC and the batcher share.

Each front end turns its wire format into tensors (JSON in `zoo.serving.rest`,
`TensorProto` in `zoo.serving.grpc_server`); the checks of those tensors against
the signature and the call itself, with TensorFlow's errors turned into TF
Serving's status codes, happen here, once.
"""

import tensorflow as tf

from zoo.serving.repository import ServingError

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
    zoo.serving.repository.ServingError: input size does not match signature: 1!=2 len({x}) != len({k,x}). \
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


def call_signature(function, tensors):
    """`{output name: np.ndarray}` of one call; TensorFlow's errors as `ServingError`s with their status code."""
    try:
        return {k: v.numpy() for k, v in function(**tensors).items()}
    except tf.errors.OpError as err:  # a signature's own InvalidArgument keeps its code and message
        raise ServingError(err.message, err.error_code) from None
    except (TypeError, ValueError) as err:  # the concrete function rejected the tensors' dtype or shape
        raise ServingError(str(err)) from None


def run_signature(function, tensors, batcher=None, key=None):
    """Calls the signature, merged with concurrent requests of the same `key` when a `Batcher` is given."""
    if batcher is None:
        return call_signature(function, tensors)
    return batcher.call(key, function, tensors)


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
