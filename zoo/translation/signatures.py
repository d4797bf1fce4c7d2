"""The translator's serving signatures and the Python API built on them.

- `serving_default`: `sentences` string `[B]` (raw UTF-8 text) → `translations`
  string `[B]`, `scores` float32 `[B]`.
- `translate`: `sentences`, `beam_width` int32 (1 = greedy) and `max_length`
  int32 (0 = no cap; a negative one or one over 10 000 is refused), each option a scalar or
  `[B]` holding one value (REST row format) → the same outputs and the
  subword pieces of both sides as people read them (`"Abr@@ am"`,
  `zoo.translation.subwords.readable`), `source_tokens` string `[B, S]` and
  `target_tokens` string `[B, T]`, with `attention` float32 `[B, T, S]`
  between them.

`serving_default` decodes with the model's own beam width. Every sentence
stops at `max_length_ratio * source pieces + max_length_offset` target
pieces, or at `max_length` when that is smaller. Scores are the mean
log-probability per target token. An empty (or whitespace-only) sentence
translates to `""` with score 0. Token outputs are `""` padded; attention
rows of `target_tokens` padding are 0 (and all of them with `attention="none"`).
A sentence of more than `max_source_tokens` words, or with a word of more
than `MAX_WORD_CHARACTERS` characters, or of more than `PIECES_PER_WORD *
max_source_tokens` subword pieces is refused (its cost grows with each).
"""

import numpy as np
import tensorflow as tf

from zoo.batches import by_length
from zoo.decoding import PAD_ID, best_beam, check_options, checked_options, final_beams, search
from zoo.translation import verbatim
from zoo.translation.subwords import join_pieces, readable
from zoo.translation.text import capitalized, detokenize, tokenize
from zoo.validation import as_utf8_list, as_value_error, check, is_utf8, one_value

_SENTENCES = tf.TensorSpec(None, tf.string, name="sentences")
_BEAM_WIDTH = tf.TensorSpec(None, tf.int32, name="beam_width")
_MAX_LENGTH = tf.TensorSpec(None, tf.int32, name="max_length")
BATCH_SIZE = 64  # sentences per signature call in the Python API
MAX_WORD_CHARACTERS = 100  # the subword encoder's time grows with a word's length: no word is longer in text
PIECES_PER_WORD = 4  # a sentence of max_source_tokens words may have this many pieces per word on average


def _source_ids(model, sentences):
    """Piece ids `[B, S]` (0 padded, at least one column), the verbatim spans `[B, SLOTS]` of each sentence
    (`zoo.translation.verbatim`; `None` for a model that translates everything) and whether each translation
    starts with a capital (`zoo.translation.text.capitalized`)."""
    with tf.control_dependencies([
        check(tf.rank(sentences) == 1, "sentences: expected string (batch,), one raw sentence per element"),
        check(is_utf8(sentences), "sentences: not valid UTF-8; expected UTF-8 text"),
    ]):
        sentences = tf.reshape(sentences, [-1])
    spans = None
    if model.verbatim:
        sentences, spans = verbatim.protect(sentences)
    tokens = tokenize(sentences)
    with tf.control_dependencies([
        check(tf.reduce_all(tokens.row_lengths() <= model.max_source_tokens),
              f"sentences: more than max_source_tokens {model.max_source_tokens} words in one sentence; "
              "split the text into sentences"),
        check(tf.reduce_all(tf.strings.length(tokens.flat_values, unit="UTF8_CHAR") <= MAX_WORD_CHARACTERS),
              f"sentences: a word of more than {MAX_WORD_CHARACTERS} characters; expected text in words"),
    ]):
        ids = model.piece_ids(tokens)
    most = PIECES_PER_WORD * model.max_source_tokens
    with tf.control_dependencies([check(tf.reduce_all(ids.row_lengths() <= most),
                                        f"sentences: more than {most} subword pieces in one sentence; split the "
                                        "text into sentences")]):
        ids = ids.to_tensor(PAD_ID)
    width = tf.maximum(tf.shape(ids)[1], 1)  # a batch of empty sentences still has one padding column
    return tf.pad(ids, [[0, 0], [0, width - tf.shape(ids)[1]]]), spans, capitalized(sentences)


def _pieces(model, ids, spans):
    """The pieces `ids` write, the verbatim spans back in their slots."""
    pieces = model.pieces_of(ids)
    return pieces if spans is None else verbatim.restore(pieces, spans)


def _length_limits(model, source, max_length):
    """Each sentence's limit on target pieces (`max_length` 0: the model's own) and whether it is empty."""
    lengths = tf.reduce_sum(tf.cast(source != PAD_ID, tf.int32), axis=1)
    limits = model.length_limits(lengths)
    return tf.where(max_length > 0, tf.minimum(limits, max_length), limits), lengths == 0


def _translations(target, capitals, empty):
    """The text the target pieces write (`""` for an empty source)."""
    return tf.where(empty, "", detokenize(join_pieces(target), capitals))


def signatures(model):
    def run(sentences, beam_width, max_length):
        source, spans, capitals = _source_ids(model, sentences)
        beam_width, max_length = checked_options(beam_width, max_length)
        limits, empty = _length_limits(model, source, max_length)
        ids, attention, scores = search(model, model.encode(source), limits, beam_width)
        target = _pieces(model, ids, spans)
        return {
            "translations": _translations(target, capitals, empty),
            "scores": tf.where(empty, 0.0, scores),
            "source_tokens": readable(_pieces(model, source, spans)),
            "target_tokens": tf.where(empty[:, None], "", readable(target)),
            "attention": tf.where(empty[:, None, None], 0.0, attention),
        }

    @tf.function(input_signature=[_SENTENCES], autograph=False)
    def serving_default(sentences):
        outputs = run(sentences, tf.constant(model.beam_width), tf.constant(0))
        return {key: outputs[key] for key in ("translations", "scores")}

    @tf.function(input_signature=[_SENTENCES, _BEAM_WIDTH, _MAX_LENGTH], autograph=False)
    def translate(sentences, beam_width, max_length):
        return run(sentences, one_value("beam_width", beam_width), one_value("max_length", max_length))

    return {"serving_default": serving_default, "translate": translate}


def example_requests(model):
    """One request per signature (Genesis 1:3): for the model card and TF Serving's warm-up."""
    request = {"sentences": np.array(["Y dijo Dios: Sea la luz; y fué la luz.".encode()])}
    options = {"beam_width": np.array(model.beam_width, np.int32), "max_length": np.array(0, np.int32)}
    return {"serving_default": request, "translate": {**request, **options}}


def translate_sentences(model, sentences, beam_width, max_length, return_attention):
    """`Translator.translate`: the `translate` signature over batches of sentences of similar length."""
    texts = as_utf8_list(sentences)
    beam_width, max_length = check_options(beam_width, max_length, model.beam_width)

    def translate_batch(batch):
        with as_value_error():
            outputs = model.signatures["translate"](tf.constant(batch), tf.constant(beam_width),
                                                    tf.constant(max_length))
        outputs = {k: v.numpy() for k, v in outputs.items()}
        return [_readable(outputs, row) if return_attention else outputs["translations"][row].decode()
                for row in range(len(batch))]

    return by_length(translate_batch, texts, BATCH_SIZE)


def translations_by_length_penalty(model, sentences, length_penalties):
    """`{penalty: translations}` of raw `sentences` by beam search with the model's beam width, for each of
    `length_penalties`: what `model.reconfigured(length_penalty=penalty).translate(sentences)` gives, from one
    search (the penalty only ranks the hypotheses a search ends with, `zoo.decoding.best_beam`)."""
    texts = as_utf8_list(sentences)

    @tf.function(input_signature=[_SENTENCES], autograph=False)
    def ranked(batch):
        source, spans, capitals = _source_ids(model, batch)
        limits, empty = _length_limits(model, source, tf.constant(0))
        beams = final_beams(model, model.encode(source), limits, model.beam_width)
        return [_translations(_pieces(model, best_beam(beams, penalty)[0], spans), capitals, empty)
                for penalty in length_penalties]

    def translate_batch(batch):
        with as_value_error():
            outputs = [translations.numpy() for translations in ranked(tf.constant(batch))]
        return [[translations[row].decode() for translations in outputs] for row in range(len(batch))]

    rows = by_length(translate_batch, texts, BATCH_SIZE)
    return {penalty: [row[i] for row in rows] for i, penalty in enumerate(length_penalties)}


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
