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


def one_value(name, value, per="sentence"):
    """A decoding option given as a scalar, or as a `[B]` vector (REST row format) holding one value."""
    flat = tf.reshape(value, [-1])
    with tf.control_dependencies([check(
            (tf.size(flat) > 0) & tf.reduce_all(flat == flat[0]) & (tf.rank(value) <= 1),
            f"{name}: expected one integer, a scalar or the same value for every {per}")]):
        return tf.identity(flat[0])


@contextlib.contextmanager
def as_value_error():
    """Re-raises a graph check's `InvalidArgumentError` as a `ValueError` with its message."""
    try:
        yield
    except tf.errors.InvalidArgumentError as err:
        found = _ASSERT_MESSAGE.search(err.message)
        raise ValueError(found.group(1) if found else err.message.splitlines()[0]) from None


def is_utf8(strings):
    """Whether every string of a tensor is valid UTF-8 (a scalar bool, for `check`)."""
    return tf.reduce_all(tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace") == strings)


def as_utf8_list(sentences):
    """Raw input → a list of UTF-8 `bytes`, or a ValueError naming the bad sentence."""
    if isinstance(sentences, (str, bytes)):
        sentences = [sentences]
    encoded = []
    for i, sentence in enumerate(sentences):
        if isinstance(sentence, str):
            encoded.append(sentence.encode("utf-8", errors="strict"))
        elif isinstance(sentence, bytes):
            try:
                sentence.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"sentences[{i}]: not valid UTF-8 ({err.reason} at byte {err.start}); "
                                 "expected UTF-8 text") from None
            encoded.append(sentence)
        else:
            raise ValueError(f"sentences[{i}]: got {type(sentence).__name__}; expected a string, one raw sentence")
    return encoded
