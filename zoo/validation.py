"""Input checks that run inside the serving graph, and their Python face.

Checks are graph ops so that every caller — `zoo.load(...)` in Python,
`saved_model_cli`, TF Serving over REST or gRPC — gets the same clear message:
an `InvalidArgument` status from a signature, a `ValueError` from the API.
"""

import contextlib
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

MAX_INPUT_FILE_BYTES = 64 << 20  # what `zoo predict --input` reads at most (a device like /dev/zero never ends)
_ASSERT_MESSAGE = re.compile(r"assertion failed: \[([^\]]*)\]")
_TF_DECORATION = re.compile(r"\{\{[^}]*\}\}|\[\[[^\]]*\]\]|\[Op:[^\]]*\]")


def check(condition, message):
    """Fails the graph with `message` unless `condition` (a scalar bool) holds.

    Messages name the input and what was expected; they contain no square
    brackets, which TensorFlow uses to delimit them.
    """
    return tf.debugging.Assert(condition, [message])


def checked_rank(tensor, rank, message):
    """`tensor`, once its rank is checked to be `rank`.

    The checks of one `control_dependencies` list run in any order: a check
    that indexes the shape (`tf.shape(x)[-1]`) could fail on a tensor of
    another rank before the rank check says what is wrong. Whatever is
    computed from the returned tensor waits for the rank check.
    """
    with tf.control_dependencies([check(tf.rank(tensor) == rank, message)]):
        return tf.identity(tensor)


def one_value(name, value, per="sentence"):
    """A decoding option given as a scalar, or as a `[B]` vector (REST row format) holding one value."""
    flat = tf.reshape(value, [-1])
    # no `flat[0]` in the condition: it would fail on an empty value before the check could say why
    with tf.control_dependencies([check(
            (tf.size(flat) > 0) & (tf.reduce_min(flat) == tf.reduce_max(flat)) & (tf.rank(value) <= 1),
            f"{name}: expected one integer, a scalar or the same value for every {per}")]):
        return tf.identity(flat[0])


def check_message(message):
    """The message of the graph `check` that failed, in a TensorFlow error message; `None` if none did."""
    found = _ASSERT_MESSAGE.search(message)
    return found.group(1) if found else None


def graph_error_message(message):
    """What a graph error says to the person who sent the input: a check's own message, or the kernel's last
    words without TensorFlow's decoration (node names, op names, "Graph execution error").

    >>> graph_error_message("Graph execution error:\\n\\nDetected at node Assert_4 defined at (most recent "
    ...                     "call last):\\nassertion failed: [x: expected floats]\\n\\t [[{{node Assert_4}}]] "
    ...                     "[Op:__inference_signature_wrapper_123]")
    'x: expected floats'
    >>> graph_error_message("Graph execution error:\\nDetected at node DecodePng\\nInvalid PNG data, size 9\\n\\t "
    ...                     "[[{{node DecodePng}}]] [Op:__inference_f_1]")
    'Invalid PNG data, size 9'
    """
    checked = check_message(message)
    if checked:
        return checked
    lines = [line.strip() for line in _TF_DECORATION.sub("", message).splitlines()]
    lines = [line for line in lines
             if line and not line.startswith(("File ", "Detected at", "Graph execution", "defined at"))]
    return lines[-1].rstrip(". ") if lines else "the signature refused the input"


@contextlib.contextmanager
def as_value_error():
    """Re-raises a graph check's `InvalidArgumentError` as a `ValueError` with its message."""
    try:
        yield
    except tf.errors.InvalidArgumentError as err:
        raise ValueError(graph_error_message(err.message)) from None


def whole_number(name, value, low, high, expected):
    """An option the Python API was given (`k`, `beam_width`, `max_length`) as an `int`, or a ValueError that
    says what was `expected`: a bool, a float, a string or a list is refused rather than coerced.

    >>> whole_number("k", np.int64(3), 1, 100, "1 to 100 words")
    3
    >>> whole_number("k", 2.0, 1, 100, "1 to 100 words")
    Traceback (most recent call last):
    ...
    ValueError: k: expected 1 to 100 words, got 2.0 (float)
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name}: expected {expected}, got {value!r} ({type(value).__name__})")
    return int(value)


def is_utf8(strings):
    """Whether every string of a tensor is valid UTF-8 (a scalar bool, for `check`)."""
    return tf.reduce_all(tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace") == strings)


def as_list(items, name, expected):
    """A list or tuple (or 1-D array) the user passed as `name`, or a ValueError saying what was `expected`.

    A dict, a set, `None` or a number is refused rather than iterated (a dict's keys are not its values, a
    set has no order).

    >>> as_list(("a", "b"), "sentences", "a list of strings")
    ['a', 'b']
    >>> as_list({"a": 1}, "sentences", "a list of strings")
    Traceback (most recent call last):
    ...
    ValueError: sentences: got dict; expected a list of strings
    """
    if isinstance(items, (list, tuple)):
        return list(items)
    if isinstance(items, np.ndarray) and items.ndim == 1:
        return items.tolist()
    raise ValueError(f"{name}: got {type(items).__name__}; expected {expected}")


def as_token_lists(rows, name, empty_rows=True):
    """Pre-tokenised input → a list of lists of non-empty token strings, or a ValueError naming the bad row.

    >>> as_token_lists([["The", "book"], []], "sentences")
    [['The', 'book'], []]
    >>> as_token_lists([None], "sentences")
    Traceback (most recent call last):
    ...
    ValueError: sentences[0]: expected a list of non-empty token strings, got NoneType
    """
    expected = f"a {'' if empty_rows else 'non-empty '}list of non-empty token strings"
    checked = []
    for i, tokens in enumerate(as_list(rows, name, f"a list of rows, each {expected}")):
        if not isinstance(tokens, (list, tuple)):
            raise ValueError(f"{name}[{i}]: expected {expected}, got {type(tokens).__name__}")
        if (not tokens and not empty_rows) or not all(isinstance(t, str) and t for t in tokens):
            raise ValueError(f"{name}[{i}]: expected {expected}")
        checked.append(list(tokens))
    return checked


def as_utf8_list(sentences, name="sentences"):
    """Raw input → a list of UTF-8 `bytes`, or a ValueError naming the bad sentence.

    >>> as_utf8_list("Dios.")
    [b'Dios.']
    >>> as_utf8_list(5)
    Traceback (most recent call last):
    ...
    ValueError: sentences: got int; expected a string or a list of strings (raw sentences)
    """
    if isinstance(sentences, (str, bytes)):
        sentences = [sentences]
    encoded = []
    for i, sentence in enumerate(as_list(sentences, name, "a string or a list of strings (raw sentences)")):
        if isinstance(sentence, str):
            if not is_utf8_text(sentence):
                raise ValueError(f"{name}[{i}]: holds unpaired surrogates, not text; expected UTF-8 text")
            encoded.append(sentence.encode("utf-8"))
        elif isinstance(sentence, bytes):
            try:
                sentence.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{name}[{i}]: not valid UTF-8 ({err.reason} at byte {err.start}); "
                                 "expected UTF-8 text") from None
            encoded.append(sentence)
        else:
            raise ValueError(f"{name}[{i}]: got {type(sentence).__name__}; expected a string, one raw sentence")
    return encoded


def is_utf8_text(text):
    """Whether a Python string can be written as UTF-8 (no unpaired surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_input_file(path, expected):
    """The bytes of an input file, or a ValueError saying what is wrong with it and what was `expected`.

    Reads at most `MAX_INPUT_FILE_BYTES` (and one more byte to tell a larger file), so a device or a huge
    file cannot fill the memory; refuses a missing file, a directory and an empty file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_INPUT_FILE_BYTES + 1)
    except IsADirectoryError:
        raise ValueError(f"{path}: a directory; expected a file of {expected}") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read it ({err.strerror or err}); expected a file of {expected}") from None
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise ValueError(f"{path}: more than {MAX_INPUT_FILE_BYTES} bytes; expected a file of {expected}, split it")
    if not data.strip():
        raise ValueError(f"{path}: empty; expected a file of {expected}")
    return data
