"""The language model's serving signatures and the Python API built on them.

| signature | inputs | outputs |
|---|---|---|
| `serving_default` (= `score`) | `sentences` string `[B]`, raw UTF-8 text | `tokens` string `[B, N]`, `log_probabilities` float32 `[B, N + 1]` (each token, then the end of the sentence), `total` float32 `[B]` |
| `next_words` | `sentences` string `[B]` (the text so far), `k` int32 | `words` string `[B, K]`, `probabilities` float32 `[B, K]` |

Scores are the forward reader's natural-log probabilities of each token's
normalised form (`<unk>` for words outside the vocabulary); padding is `""`
and 0. `next_words` never proposes `<unk>`, `<s>` or `</s>`; an empty text
asks for the first word of a sentence.
"""

import numpy as np
import tensorflow as tf

from zoo.batches import by_length
from zoo.text import tokenize
from zoo.validation import as_utf8_list, as_value_error, check, is_utf8, one_value, whole_number

_SENTENCES = tf.TensorSpec(None, tf.string, name="sentences")
_K = tf.TensorSpec(None, tf.int32, name="k")
BATCH_SIZE = 64  # sentences per signature call in the Python API
MAX_K = 100
MAX_TOKENS_PER_CALL = 1 << 16  # the Python API's batches (BATCH_SIZE sentences of max_tokens) stay under it


def _tokens(model, sentences):
    with tf.control_dependencies([
        check(tf.rank(sentences) == 1, "sentences: expected string (batch,), one raw sentence per element"),
        check(is_utf8(sentences), "sentences: not valid UTF-8; expected UTF-8 text"),
    ]):
        tokens = tokenize(tf.reshape(sentences, [-1]))
    with tf.control_dependencies([
        check(tf.reduce_all(tokens.row_lengths() <= model.max_tokens),
              f"sentences: more than max_tokens {model.max_tokens} tokens in one sentence; split the text into "
              "sentences"),
        check(tf.size(tokens.flat_values) <= MAX_TOKENS_PER_CALL,
              f"sentences: more than {MAX_TOKENS_PER_CALL} tokens in one call; send fewer sentences at a time"),
    ]):
        return tokens.to_tensor(""), tf.cast(tokens.row_lengths(), tf.int32)


def signatures(model):
    written = tf.constant(["", "<unk>", "<s>", "</s>", *model.vocabulary])

    @tf.function(input_signature=[_SENTENCES], autograph=False)
    def score(sentences):
        tokens, lengths = _tokens(model, sentences)
        states = model(tokens)["forward"]
        targets = model.targets(tokens)["forward"]
        scored = tf.sequence_mask(lengths + 1, tf.shape(targets)[1])  # each token and the sentence's end
        picked = model.target_log_probabilities(tf.boolean_mask(states, scored), tf.boolean_mask(targets, scored))
        log_probs = tf.scatter_nd(tf.where(scored), picked, tf.shape(targets, out_type=tf.int64))
        return {"tokens": tokens, "log_probabilities": log_probs, "total": tf.reduce_sum(log_probs, axis=1)}

    @tf.function(input_signature=[_SENTENCES, _K], autograph=False)
    def next_words(sentences, k):
        k = one_value("k", k)
        with tf.control_dependencies([check((k >= 1) & (k <= MAX_K), f"k: expected 1 to {MAX_K} words")]):
            tokens, lengths = _tokens(model, sentences)
        states = tf.gather(model(tokens)["forward"], lengths, batch_dims=1)  # after the last token read
        log_probs = model.log_probabilities(states)
        never = tf.reduce_sum(tf.one_hot([0, 1, 2, 3], model.size, on_value=-1e9), axis=0)
        best = tf.math.top_k(log_probs + never, k=k)
        return {"words": tf.gather(written, best.indices), "probabilities": tf.exp(best.values)}

    return {"serving_default": score, "score": score, "next_words": next_words}


def example_requests(model):
    request = {"sentences": np.array([b"The keys to the cabinet"])}
    return {"serving_default": request, "score": request,
            "next_words": {**request, "k": np.array(5, np.int32)}}


def score_sentences(model, sentences):
    """`LanguageModel.score`: per sentence, its tokens and each one's log-probability (then the end's)."""
    def score_batch(batch):
        with as_value_error():
            out = model.signatures["score"](tf.constant(batch))
        tokens, log_probs = out["tokens"].numpy(), out["log_probabilities"].numpy()
        rows = []
        for row in range(len(batch)):
            words = [t.decode() for t in tokens[row] if t]
            rows.append({"tokens": words, "log_probabilities": log_probs[row][:len(words) + 1].tolist(),
                         "total": float(out["total"][row])})
        return rows

    return by_length(score_batch, as_utf8_list(sentences), BATCH_SIZE)


def predict_next_words(model, text, k):
    """`LanguageModel.next_words`: the `k` likeliest next words after `text` with their probabilities."""
    k = whole_number("k", k, 1, MAX_K, f"1 to {MAX_K} words")
    if not isinstance(text, (str, bytes)):
        raise ValueError(f"text: expected a string, got {type(text).__name__}")
    (text,) = as_utf8_list([text])
    with as_value_error():
        out = model.signatures["next_words"](tf.constant([text]), tf.constant(int(k)))
    return [(w.decode(), float(p)) for w, p in zip(out["words"].numpy()[0], out["probabilities"].numpy()[0])]
