"""Input checks that run inside the serving graph, and their Python face.

Checks are graph ops so that every caller — `zoo.load(...)` in Python,
`saved_model_cli`, TF Serving over REST or gRPC — gets the same clear message:
an `InvalidArgument` status from a signature, a `ValueError` from the API.
"""

import contextlib
import re

import tensorflow as tf

_ASSERT_MESSAGE = re.compile(r"assertion failed: \[([^\]]*)\]")


def check(condition, message):
    """Fails the graph with `message` unless `condition` (a scalar bool) holds.

    Messages name the input and what was expected; they contain no square
    brackets, which TensorFlow uses to delimit them.
    """
    return tf.debugging.Assert(condition, [message])


@contextlib.contextmanager
def as_value_error():
    """Re-raises a graph check's `InvalidArgumentError` as a `ValueError` with its message."""
    try:
        yield
    except tf.errors.InvalidArgumentError as err:
        found = _ASSERT_MESSAGE.search(err.message)
        raise ValueError(found.group(1) if found else err.message.splitlines()[0]) from None
