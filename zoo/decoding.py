"""Greedy and beam search as `tf.while_loop`s, so they run inside the SavedModel, with the ids, limits and
option checks every decoder of the zoo shares.

Shared by every encoder-decoder of the zoo (`Translator`, `Captioner`). Their
output vocabularies start with the same four ids (`PAD_ID`, `OOV_ID`,
`BOS_ID`, `EOS_ID`: padding, out of vocabulary, the start token fed at the
first step and the end token that stops a sequence), then their words. The
model supplies:

- `target_size`: the number of output ids;
- `length_penalty`: how beam search ranks hypotheses of different lengths;
- `decode_step(token_ids [N], states, encoded)` → `(log-probabilities [N, V],
  states, attention [N, S])`.

`encoded` is the encoder's output (`Translator.encode`, `Captioner.encode`): a
dict of `[B, ...]` tensors (or lists of them) holding at least `mask` `[B, S]`
(the positions attention may look at) and `states` (the decoder's start), and
`output_weights` `[D, V]`, the output layer's weights transposed once per
search (`zoo.layers.output.similarity_logits`), the same for every sequence.

Both searches take it and per-sequence length limits, and return target ids
`[B, T]` (0 after the end), the attention of every emitted token `[B, T, S]`
and a score `[B]` (the output's mean log-probability per token, end token
included). A sequence stops at its end token or at its limit, the loop when
every sequence has stopped.
"""

import keras
import tensorflow as tf

from zoo.validation import check, whole_number

BOS, EOS = "<s>", "</s>"  # the start and end tokens, written nowhere
PAD_ID, OOV_ID, BOS_ID, EOS_ID = 0, 1, 2, 3  # "" padding, out of vocabulary, then BOS, EOS, the words
MAX_BEAM_WIDTH = 64
SHARED = "output_weights"  # the entry of `encoded` that is the same for every sequence: beam search keeps one
BEAM_WIDTH_EXPECTED = f"expected 1 to {MAX_BEAM_WIDTH} (1 is greedy search)"
MAX_LENGTH = 10_000  # the longest output a caller may ask for (the model's own limits are far shorter)
MAX_LENGTH_EXPECTED = f"expected 0 (no cap beyond the model's) or a number of tokens up to {MAX_LENGTH}"
_IMPOSSIBLE = -1e9


def output_embedding_initializer():
    """The initialiser of a decoder's word embeddings, which are also its output layer (tied weights).

    With Keras' default (uniform ±0.05) the logits start so flat that
    training sits on the unigram distribution for epochs.
    """
    return keras.initializers.RandomNormal(stddev=0.3)


def check_options(beam_width, max_length, default_beam_width):
    """The Python API's decoding options as `(beam_width, max_length)` ints, or a ValueError naming the bad one.

    `None` means the model's beam width and no length cap (0).

    >>> check_options(None, None, 4)
    (4, 0)
    >>> check_options(0, None, 4)
    Traceback (most recent call last):
    ...
    ValueError: beam_width: expected 1 to 64 (1 is greedy search), got 0 (int)
    """
    beam_width = default_beam_width if beam_width is None else beam_width
    return (whole_number("beam_width", beam_width, 1, MAX_BEAM_WIDTH, BEAM_WIDTH_EXPECTED.removeprefix("expected ")),
            whole_number("max_length", 0 if max_length is None else max_length, 0, MAX_LENGTH,
                         MAX_LENGTH_EXPECTED.removeprefix("expected ")))


def checked_options(beam_width, max_length):
    """A signature's `beam_width` and `max_length` scalars, failing the graph with the API's messages when out
    of range (`max_length` 0: no cap beyond the model's own)."""
    with tf.control_dependencies([
        check((beam_width >= 1) & (beam_width <= MAX_BEAM_WIDTH), f"beam_width: {BEAM_WIDTH_EXPECTED}"),
        check((max_length >= 0) & (max_length <= MAX_LENGTH), f"max_length: {MAX_LENGTH_EXPECTED}"),
    ]):
        return tf.identity(beam_width), tf.identity(max_length)


def search(model, encoded, max_lengths, beam_width):
    """Greedy search when `beam_width` (an int32 scalar tensor) is 1, else beam search with the model's
    `length_penalty`: the choice a serving signature makes per call."""
    return tf.cond(beam_width == 1,
                   lambda: greedy_search(model, encoded, max_lengths),
                   lambda: beam_search(model, encoded, max_lengths, beam_width, model.length_penalty))


def greedy_search(model, encoded, max_lengths):
    """Emits the most probable next token at every step."""
    batch = tf.shape(encoded["mask"])[0]
    source_length = tf.shape(encoded["mask"])[1]

    def step(t, tokens, states, finished, ids, attention, log_prob, lengths):
        log_probs, states, weights = model.decode_step(tokens, states, encoded)
        tokens = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        emitted = ~finished
        ids = tf.concat([ids, tf.where(emitted, tokens, PAD_ID)[:, None]], axis=1)
        attention = tf.concat([attention, tf.where(emitted[:, None], weights, 0.0)[:, None]], axis=1)
        log_prob += tf.where(emitted, tf.reduce_max(log_probs, axis=-1), 0.0)
        lengths += tf.cast(emitted, tf.int32)
        finished |= (tokens == EOS_ID) | (t + 1 >= max_lengths)
        return t + 1, tokens, states, finished, ids, attention, log_prob, lengths

    initial = (tf.constant(0), tf.fill([batch], BOS_ID), encoded["states"], tf.zeros([batch], tf.bool),
               tf.zeros([batch, 0], tf.int32), tf.zeros([batch, 0, source_length]),
               tf.zeros([batch]), tf.zeros([batch], tf.int32))
    _, _, _, _, ids, attention, log_prob, lengths = tf.while_loop(
        lambda t, tokens, states, finished, *_: ~tf.reduce_all(finished),
        step, initial,
        shape_invariants=_invariants(initial),
        maximum_iterations=tf.maximum(tf.reduce_max(max_lengths), 0))  # 0 for an empty batch
    return ids, attention, log_prob / tf.cast(tf.maximum(lengths, 1), tf.float32)


def beam_search(model, encoded, max_lengths, beam_width, length_penalty):
    """Keeps the `beam_width` most probable partial outputs at every step; at the end the best of them is
    the one with the highest log-probability / length ** `length_penalty` (`final_beams`, `best_beam`)."""
    return best_beam(final_beams(model, encoded, max_lengths, beam_width), length_penalty)


def final_beams(model, encoded, max_lengths, beam_width):
    """The `beam_width` hypotheses beam search ends with for each sequence: ids `[B, K, T]`, attention
    `[B, K, T, S]`, summed log-probabilities `[B, K]` and lengths `[B, K]` (float, at least 1).

    Hypotheses that ended stay in the beam with their score. The length
    penalty plays no part until they are ranked (`best_beam`), so one search
    serves every penalty a caller wants to compare.
    """
    batch = tf.shape(encoded["mask"])[0]
    source_length = tf.shape(encoded["mask"])[1]
    vocabulary = model.target_size
    tiled = {key: value if key == SHARED else _tile(value, beam_width) for key, value in encoded.items()}
    limits = max_lengths[:, None]

    def step(t, tokens, states, finished, ids, attention, scores, lengths):
        log_probs, states, weights = model.decode_step(tokens, states, tiled)
        log_probs = tf.reshape(log_probs, [batch, beam_width, vocabulary])
        only_end = tf.one_hot(EOS_ID, vocabulary, on_value=0.0, off_value=_IMPOSSIBLE)
        log_probs = tf.where(finished[..., None], only_end, log_probs)  # an ended hypothesis stays as it is
        candidates = tf.reshape(scores[..., None] + log_probs, [batch, beam_width * vocabulary])
        scores, best = tf.math.top_k(candidates, k=beam_width)
        parent, tokens = best // vocabulary, best % vocabulary

        def follow(x):  # each surviving hypothesis takes its parent's history
            return tf.gather(x, parent, batch_dims=1)

        ended = follow(finished)
        ids = tf.concat([follow(ids), tf.where(ended, PAD_ID, tokens)[..., None]], axis=2)
        weights = follow(tf.reshape(weights, [batch, beam_width, -1]))
        attention = tf.concat([follow(attention), tf.where(ended[..., None], 0.0, weights)[:, :, None]], axis=2)
        lengths = follow(lengths) + tf.cast(~ended, tf.int32)
        finished = ended | (tokens == EOS_ID) | (t + 1 >= limits)
        states = [tf.reshape(follow(tf.reshape(s, [batch, beam_width, -1])), [batch * beam_width, -1])
                  for s in states]
        return t + 1, tf.reshape(tokens, [-1]), states, finished, ids, attention, scores, lengths

    first_only = tf.concat([[0.0], tf.fill([beam_width - 1], _IMPOSSIBLE)], axis=0)  # all beams start equal
    initial = (tf.constant(0), tf.fill([batch * beam_width], BOS_ID), tiled["states"],
               tf.zeros([batch, beam_width], tf.bool),
               tf.zeros([batch, beam_width, 0], tf.int32), tf.zeros([batch, beam_width, 0, source_length]),
               tf.tile(first_only[None], [batch, 1]), tf.zeros([batch, beam_width], tf.int32))
    _, _, _, _, ids, attention, scores, lengths = tf.while_loop(
        lambda t, tokens, states, finished, *_: ~tf.reduce_all(finished),
        step, initial,
        shape_invariants=_invariants(initial),
        maximum_iterations=tf.maximum(tf.reduce_max(max_lengths), 0))  # 0 for an empty batch
    return ids, attention, scores, tf.cast(tf.maximum(lengths, 1), tf.float32)


def best_beam(beams, length_penalty):
    """Of each sequence's `final_beams`, the one with the highest log-probability / length **
    `length_penalty` (0 favours short outputs, 1 is neutral per token): its ids `[B, T]`, attention
    `[B, T, S]` and mean log-probability per token `[B]`."""
    ids, attention, scores, lengths = beams
    best = tf.argmax(scores / lengths ** length_penalty, axis=1, output_type=tf.int32)
    return tuple(tf.gather(x, best, batch_dims=1) for x in (ids, attention, scores / lengths))


def _tile(value, times):
    """Repeats each sequence's entry `times` times along the batch (a beam per sequence)."""
    if isinstance(value, list):
        return [_tile(v, times) for v in value]
    return tf.repeat(value, times, axis=0)


def _invariants(loop_vars):
    """Shapes the loop variables keep: their rank (the histories grow along time, batches vary)."""
    return tf.nest.map_structure(lambda x: tf.TensorShape([None] * x.shape.rank), loop_vars)
