"""The translator's serving signatures and the Python API built on them.

- `serving_default`: `sentences` string `[B]` (raw UTF-8 text) → `translations`
  string `[B]`, `scores` float32 `[B]`.
- `translate`: `sentences`, `beam_width` int32 (1 = greedy) and `max_length`
  int32 (0 = no cap), each option a scalar or `[B]` holding one value (REST
  row format) → the same outputs and `source_tokens` string `[B, S]`,
  `target_tokens` string `[B, T]`, `attention` float32 `[B, T, S]`.

`serving_default` decodes with the model's own beam width. Every sentence
stops at `max_length_ratio * source tokens + max_length_offset` target
tokens, or at `max_length` when that is smaller. Scores are the mean
log-probability per target token. An empty (or whitespace-only) sentence
translates to `""` with score 0. Token outputs are `""` padded; attention
rows of `target_tokens` padding are 0 (and all of them with `attention="none"`).
A target word outside the vocabulary that is not a copied name is `<unk>` in
`target_tokens` and left out of `translations`.
"""

import numpy as np
import tensorflow as tf

from zoo.decoding import search
from zoo.translation.model import OOV_ID
from zoo.translation.text import detokenize, tokenize
from zoo.validation import as_utf8_list, as_value_error, check, is_utf8, one_value

_SENTENCES = tf.TensorSpec(None, tf.string, name="sentences")
_BEAM_WIDTH = tf.TensorSpec(None, tf.int32, name="beam_width")
_MAX_LENGTH = tf.TensorSpec(None, tf.int32, name="max_length")
BATCH_SIZE = 64  # sentences per signature call in the Python API
UNKNOWN = "<unk>"  # in target_tokens: a word the model knows it cannot write; left out of the translation
MAX_BEAM_WIDTH = 64


def _source_tokens(model, sentences):
    with tf.control_dependencies([
        check(tf.rank(sentences) == 1, "sentences: expected string (batch,), one raw sentence per element"),
        check(is_utf8(sentences), "sentences: not valid UTF-8; expected UTF-8 text"),
    ]):
        tokens = tokenize(tf.reshape(sentences, [-1]))
    with tf.control_dependencies([check(
            tf.reduce_all(tokens.row_lengths() <= model.max_source_tokens),
            f"sentences: more than max_source_tokens {model.max_source_tokens} tokens in one sentence; "
            "split the text into sentences")]):
        source = tokens.to_tensor("")
    width = tf.maximum(tf.shape(source)[1], 1)  # a batch of empty sentences still has one padding column
    return tf.pad(source, [[0, 0], [0, width - tf.shape(source)[1]]]), tokens.row_lengths()


def _written(model, ids, attention, source):
    """Target ids → tokens as written.

    An out-of-vocabulary word becomes the source word it attends to most when
    that word is capitalised (a name: "Abram", "Haran"); otherwise it stays
    `UNKNOWN`, which the translation leaves out (copying a Spanish word such
    as "bendecirte" is never English).
    """
    written = tf.gather(tf.constant(model.target_written), ids)
    unknown = ids == OOV_ID
    if model.attend is None:
        return tf.where(unknown, UNKNOWN, written)
    attended = tf.gather(source, tf.argmax(attention, axis=-1, output_type=tf.int32), batch_dims=1)
    first = tf.strings.substr(attended, 0, 1, unit="UTF8_CHAR")
    is_name = (tf.strings.upper(first, encoding="utf-8") == first) & (tf.strings.lower(first, encoding="utf-8") != first)
    return tf.where(unknown, tf.where(is_name, attended, UNKNOWN), written)


def signatures(model):
    def run(sentences, beam_width, max_length):
        source, lengths = _source_tokens(model, sentences)
        limits = tf.cast(tf.math.ceil(model.max_length_ratio * tf.cast(lengths, tf.float32)),
                         tf.int32) + model.max_length_offset
        limits = tf.where(max_length > 0, tf.minimum(limits, max_length), limits)
        with tf.control_dependencies([check((beam_width >= 1) & (beam_width <= MAX_BEAM_WIDTH),
                                            f"beam_width: expected 1 to {MAX_BEAM_WIDTH} (1 is greedy search)")]):
            beam_width = tf.identity(beam_width)
        encoded = model.encode(source)
        ids, attention, scores = search(model, encoded, limits, beam_width)
        target = _written(model, ids, attention, source)
        empty = lengths == 0
        return {
            "translations": tf.where(empty, "", detokenize(tf.where(target == UNKNOWN, "", target))),
            "scores": tf.where(empty, 0.0, scores),
            "source_tokens": source,
            "target_tokens": tf.where(empty[:, None], "", target),
            "attention": tf.where(empty[:, None, None], 0.0, attention),
        }

    @tf.function(input_signature=[_SENTENCES])
    def serving_default(sentences):
        outputs = run(sentences, tf.constant(model.beam_width), tf.constant(0))
        return {"translations": outputs["translations"], "scores": outputs["scores"]}

    @tf.function(input_signature=[_SENTENCES, _BEAM_WIDTH, _MAX_LENGTH])
    def translate(sentences, beam_width, max_length):
        return run(sentences, one_value("beam_width", beam_width), one_value("max_length", max_length))

    return {"serving_default": serving_default, "translate": translate}


def example_requests(model):
    sentences = np.array(["Y dijo Dios: Sea la luz; y fué la luz.".encode()])
    return {
        "serving_default": {"sentences": sentences},
        "translate": {"sentences": sentences, "beam_width": np.array(model.beam_width, np.int32),
                      "max_length": np.array(0, np.int32)},
    }


def translate_sentences(model, sentences, beam_width, max_length, return_attention):
    texts = as_utf8_list(sentences)
    beam_width = model.beam_width if beam_width is None else int(beam_width)
    max_length = 0 if max_length is None else int(max_length)
    if max_length < 0:
        raise ValueError(f"max_length: expected a positive number of tokens, got {max_length}")
    if not 1 <= beam_width <= MAX_BEAM_WIDTH:
        raise ValueError(f"beam_width: expected 1 to {MAX_BEAM_WIDTH} (1 is greedy search), got {beam_width}")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch with less padding
    results = [None] * len(texts)
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start:start + BATCH_SIZE]
        with as_value_error():
            outputs = model.signatures["translate"](tf.constant([texts[i] for i in batch]),
                                                    tf.constant(beam_width), tf.constant(max_length))
        outputs = {k: v.numpy() for k, v in outputs.items()}
        for row, i in enumerate(batch):
            results[i] = _readable(outputs, row) if return_attention else outputs["translations"][row].decode()
    return results


def _readable(outputs, row):
    source = [t.decode() for t in outputs["source_tokens"][row] if t]
    target = [t.decode() for t in outputs["target_tokens"][row] if t]
    return {
        "translation": outputs["translations"][row].decode(),
        "score": float(outputs["scores"][row]),
        "source_tokens": source,
        "target_tokens": target,
        "attention": outputs["attention"][row][:len(target), :len(source)],
    }
