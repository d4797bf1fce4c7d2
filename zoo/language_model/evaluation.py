"""Language-model metrics: perplexity beside a Kneser-Ney baseline, and agreement by comparing P(is), P(are)."""

import math
import weakref

import numpy as np
import tensorflow as tf

from zoo.batches import padded_tokens
from zoo.datasets import constructed_agreement
from zoo.evaluation import Evaluation
from zoo.language_model.data import as_dataset, load_split, tokenized
from zoo.language_model.ngram import KneserNey
from zoo.text import normalize


class LanguageModelEvaluation(Evaluation):
    """A language model's metrics, headed by the forward reader's `perplexity` on held-out sentences.

    >>> print(LanguageModelEvaluation({"perplexity": 120.5, "backward_perplexity": 125.0, "tokens": 1000}))
    perplexity 120.5000 (backward 125.00, 1000 predicted tokens)
    """

    TASK = "language-model"

    def short(self):
        return f"ppl {self.headline:.1f}"

    def details(self):
        return f"backward {self['backward_perplexity']:.2f}, {self['tokens']} predicted tokens"


_GRAPHS = weakref.WeakKeyDictionary()  # model -> its full_loss as one graph


def full_loss_graph(model):
    """`model.full_loss` as a graph (2.5x eager's speed on CPU), traced once per model for batches of any
    shape: a recipe evaluates three sets, a user as many as they like."""
    if model not in _GRAPHS:
        owner = weakref.ref(model)  # the graph must not keep its model alive
        _GRAPHS[model] = tf.function(lambda tokens: owner().full_loss(tokens),
                                     input_signature=[tf.TensorSpec([None, None], tf.string)], autograph=False)
    return _GRAPHS[model]


def evaluate(model, token_rows, batch_size=256):
    """`LanguageModelEvaluation` of both readers on token rows: exp of the mean negative log-probability per
    predicted token (each word and the sentence's end), full softmax."""
    full_loss = full_loss_graph(model)
    totals = {"forward": 0.0, "backward": 0.0}
    count = 0
    for tokens in as_dataset(token_rows, batch_size):
        predicted = int(tf.reduce_sum(tf.cast(tokens != "", tf.int32))) + int(tf.shape(tokens)[0])
        for direction, loss in full_loss(tokens).items():
            totals[direction] += float(loss) * predicted
        count += predicted
    return LanguageModelEvaluation({"perplexity": math.exp(totals["forward"] / count),
                                    "backward_perplexity": math.exp(totals["backward"] / count), "tokens": count})


def pooled(evaluations):
    """The `LanguageModelEvaluation` of several token sets joined, from each one's: exp of the token-weighted
    mean log-perplexity, what `evaluate` gives on their rows end to end (without reading them again).

    >>> pooled([{"perplexity": 100.0, "backward_perplexity": 90.0, "tokens": 300},
    ...         {"perplexity": 200.0, "backward_perplexity": 90.0, "tokens": 100}]).short()
    'ppl 118.9'
    """
    count = sum(e["tokens"] for e in evaluations)
    return LanguageModelEvaluation({key: math.exp(sum(e["tokens"] * math.log(e[key]) for e in evaluations) / count)
                                    for key in ("perplexity", "backward_perplexity")} | {"tokens": count})


def evaluate_split(model, split="test"):
    """`evaluate` on the sentences of `split` the recipe scored: those of at most its `--max-tokens` tokens."""
    max_tokens = model.card["hyperparameters"].get("max_tokens", model.max_tokens)
    return evaluate(model, tokenized(load_split(model.card["dataset"], split), max_tokens))


def ngram_perplexity(train_rows, test_sets, vocabulary, order=3):
    """`{name: perplexity}` of an interpolated Kneser-Ney `order`-gram model (`zoo.language_model.ngram`),
    counted once on `train_rows`, on each of `test_sets` (`{name: token rows}`): the same predicted tokens as
    `evaluate`, normalised words, the same vocabulary and `<unk>`, each sentence's end."""
    def normalized(rows):
        return [[t.decode() for t in normalize(tf.constant(row)).numpy()] for row in rows]

    model = KneserNey(order, vocabulary=vocabulary).fit(normalized(train_rows))
    return {name: model.perplexity(normalized(rows)) for name, rows in test_sets.items()}


def agreement_by_probability(model, examples=None):
    """Constructed agreement (`zoo.datasets.constructed_agreement`) answered by the language model alone:
    plural when P(plural verb | prefix) > P(singular verb | prefix) (Linzen et al.'s language-model test)."""
    examples = constructed_agreement.examples() if examples is None else examples
    predicted = []
    for start in range(0, len(examples), 256):
        batch = examples[start:start + 256]
        tokens = padded_tokens([e.prefix for e in batch])
        lengths = tf.constant([len(e.prefix) for e in batch])
        log_probs = model.log_probabilities(tf.gather(model(tokens)["forward"], lengths, batch_dims=1))
        verbs = model.word_ids(tf.constant([list(e.verb) for e in batch]))
        pair = tf.gather(log_probs, verbs, batch_dims=1).numpy()
        predicted += list(np.argmax(pair, axis=1))
    return constructed_agreement.metrics(examples, predicted)
