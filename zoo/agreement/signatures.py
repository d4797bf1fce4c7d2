"""The agreement classifier's serving signatures and the Python API built on them.

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `sentences` string `[B]`, raw UTF-8 text | `label` string `[B]`, `scores` float32 `[B, 2]` |
| `classify_tokens` | `tokens` string `[B, N]`, pre-tokenised, `""` padded | same |

Each input is the words before a verb; `label` is `singular` or `plural`, `scores` their probabilities in
that order. An input with no words is refused: there is no subject to agree with.
"""

import numpy as np
import tensorflow as tf

from zoo.base import Classification
from zoo.batches import by_length, padded_tokens
from zoo.text import tokenize
from zoo.validation import as_token_lists, as_utf8_list, as_value_error, check, checked_rank, is_utf8

_SENTENCES = tf.TensorSpec(None, tf.string, name="sentences")
_TOKENS = tf.TensorSpec(None, tf.string, name="tokens")
BATCH_SIZE = 256  # inputs per signature call in the Python API


def signatures(model):
    label_names = tf.constant(model.label_names)
    too_long = f"more than max_tokens {model.max_tokens} tokens in one input; send the words before one verb"

    @tf.function(input_signature=[_TOKENS], autograph=False)
    def classify_tokens(tokens):
        tokens = checked_rank(tokens, 2, "tokens: expected string (batch, tokens), one row of tokens per input")
        with tf.control_dependencies([
            check(is_utf8(tokens), "tokens: not valid UTF-8; expected UTF-8 strings"),
            check(tf.shape(tokens)[-1] <= model.max_tokens, f"tokens: {too_long}"),
            check(tf.reduce_all(tf.reduce_any(tokens != "", axis=-1)),
                  "tokens: a row with no tokens; expected the words before a verb, at least one"),
        ]):
            scores = model({"tokens": tf.reshape(tokens, [tf.shape(tokens)[0], -1])}, training=False)
        return {"label": tf.gather(label_names, tf.argmax(scores, axis=-1)), "scores": scores}

    @tf.function(input_signature=[_SENTENCES], autograph=False)
    def serving_default(sentences):
        with tf.control_dependencies([
            check(tf.rank(sentences) == 1, "sentences: expected string (batch,), the words before a verb, "
                                           "one text per element"),
            check(is_utf8(sentences), "sentences: not valid UTF-8; expected UTF-8 text"),
        ]):
            tokens = tokenize(tf.reshape(sentences, [-1]))
        lengths = tokens.row_lengths()
        with tf.control_dependencies([
            check(tf.reduce_all(lengths <= model.max_tokens), f"sentences: {too_long}"),
            check(tf.reduce_all(lengths > 0), "sentences: an empty text; expected the words before a verb"),
        ]):
            return classify_tokens(tokens.to_tensor(""))

    return {"serving_default": serving_default, "classify_tokens": classify_tokens}


def example_requests(model):
    return {
        "serving_default": {"sentences": np.array([b"The book that I got yesterday",
                                                   b"The books read by the second-grade children"])},
        "classify_tokens": {"tokens": np.array([[b"The", b"key", b"to", b"the", b"cabinets"],
                                                [b"The", b"books", b"", b"", b""]])},
    }


def _classify_by_length(model, signature, rows, as_tensor):
    """Runs `signature` over `rows` in batches of similar size (less padding), in input order."""

    def classify_batch(batch):
        with as_value_error():
            outputs = model.signatures[signature](as_tensor(batch))
        return zip([label.decode("utf-8") for label in outputs["label"].numpy()], outputs["scores"].numpy())

    results = by_length(classify_batch, rows, BATCH_SIZE)
    scores = np.array([row_scores for _, row_scores in results], np.float32).reshape(len(rows), len(model.label_names))
    return Classification([label for label, _ in results], scores)


def predict_sentences(model, sentences):
    rows = as_utf8_list(sentences)
    for i, row in enumerate(rows):
        if not row.strip():
            raise ValueError(f"sentences[{i}]: empty; expected the words before a verb")
    return _classify_by_length(model, "serving_default", rows, lambda texts: tf.constant(texts, tf.string))


def predict_token_lists(model, prefixes):
    rows = as_token_lists(prefixes, "prefixes", empty_rows=False)
    return _classify_by_length(model, "classify_tokens", rows, padded_tokens)
