"""The tagger's serving signatures and the Python API built on them.

| signature | inputs | outputs |
|---|---|---|
| `serving_default` | `sentences` string `[B]`, raw UTF-8 text | `tokens` string `[B, N]`, `tags` string `[B, N]`, `scores` float32 `[B, N]` |
| `tag_tokens` | `tokens` string `[B, N]`, pre-tokenised, `""` padded | same |

Outputs are padded to the longest sentence of the batch: `""` tokens and
tags, score 0. A batch of empty sentences gives N = 1, all padding. Scores
are the probability of the chosen tag.
"""

import numpy as np
import tensorflow as tf

from zoo.batches import by_length, padded_tokens
from zoo.text import tokenize
from zoo.validation import as_token_lists, as_utf8_list, as_value_error, check, checked_rank, is_utf8

_SENTENCES = tf.TensorSpec(None, tf.string, name="sentences")
_TOKENS = tf.TensorSpec(None, tf.string, name="tokens")
BATCH_SIZE = 128  # sentences per signature call in the Python API


def _check_tokens(model, tokens):
    tokens = checked_rank(tokens, 2, "tokens: expected string (batch, tokens), one row of tokens per sentence")
    return [
        check(is_utf8(tokens), "tokens: not valid UTF-8; expected UTF-8 strings"),
        check(tf.shape(tokens)[-1] <= model.max_tokens,
              f"tokens: more than max_tokens {model.max_tokens} per sentence; split the text into sentences"),
    ]


def _check_sentences(model, sentences):
    return [
        check(tf.rank(sentences) == 1, "sentences: expected string (batch,), one raw sentence per element"),
        check(is_utf8(sentences), "sentences: not valid UTF-8; expected UTF-8 text"),
    ]


def signatures(model):
    tag_names = tf.constant(model.tag_names)

    @tf.function(input_signature=[_TOKENS], autograph=False)
    def tag_tokens(tokens):
        with tf.control_dependencies(_check_tokens(model, tokens)):
            tokens = tf.reshape(tokens, [tf.shape(tokens)[0], -1])
            width = tf.maximum(tf.shape(tokens)[1], 1)  # an all-empty batch still has one padding column
            tokens = tf.pad(tokens, [[0, 0], [0, width - tf.shape(tokens)[1]]])
            probabilities = model({"tokens": tokens}, training=False)
        present = tokens != ""
        return {
            "tokens": tokens,
            "tags": tf.where(present, tf.gather(tag_names, tf.argmax(probabilities, axis=-1)), ""),
            "scores": tf.where(present, tf.reduce_max(probabilities, axis=-1), 0.0),
        }

    @tf.function(input_signature=[_SENTENCES], autograph=False)
    def serving_default(sentences):
        with tf.control_dependencies(_check_sentences(model, sentences)):
            tokens = tokenize(tf.reshape(sentences, [-1]))
        with tf.control_dependencies([check(
                tf.reduce_all(tokens.row_lengths() <= model.max_tokens),
                f"sentences: more than max_tokens {model.max_tokens} tokens in one sentence; "
                "split the text into sentences")]):
            return tag_tokens(tokens.to_tensor(""))

    return {"serving_default": serving_default, "tag_tokens": tag_tokens}


def example_requests(model):
    return {
        "serving_default": {"sentences": np.array([b"The book that I got yesterday is on the table."])},
        "tag_tokens": {"tokens": np.array([[b"The", b"books", b"are", b"here", b"."],
                                           [b"Don't", b"stop", b".", b"", b""]])},
    }


def _decode(outputs, with_scores):
    results = []
    for tokens, tags, scores in zip(outputs["tokens"].numpy(), outputs["tags"].numpy(), outputs["scores"].numpy()):
        row = []
        for token, tag, score in zip(tokens, tags, scores):
            if not token:
                continue
            pair = (token.decode("utf-8"), tag.decode("utf-8"))
            row.append((*pair, float(score)) if with_scores else pair)
        results.append(row)
    return results


def _tag_by_length(model, signature, rows, as_tensor, with_scores):
    """Runs `signature` over `rows` in batches of similar length (less padding), in input order."""

    def tag_batch(batch):
        with as_value_error():
            outputs = model.signatures[signature](as_tensor(batch))
        return _decode(outputs, with_scores)

    return by_length(tag_batch, rows, BATCH_SIZE)


def tag_sentences(model, sentences, with_scores=False):
    return _tag_by_length(model, "serving_default", as_utf8_list(sentences),
                          lambda text: tf.constant(text, tf.string), with_scores)


def tag_token_lists(model, sentences, with_scores=False):
    rows = as_token_lists(sentences, "sentences")
    return _tag_by_length(model, "tag_tokens", rows, padded_tokens, with_scores)
