"""The Kneser-Ney baseline: distributions that sum to one, a value worked by hand, continuation counts."""

import itertools
import math
import random

import pytest

from zoo.language_model.ngram import EOS, UNK, KneserNey


def test_a_bigram_probability_worked_by_hand():
    lm = KneserNey(order=2).fit([["a", "b"], ["a", "c"], ["a", "b"]])
    # bigram discount n1/(n1+2n2) = 2/6; unigram continuation counts a 1, b 1, c 1, </s> 2: discount 3/5
    unigram_b = (1 - 0.6) / 5 + 0.6 * 4 / 5 * (1 / 5)  # vocabulary: a b c </s> <unk>
    # at the sentence start only "a" was seen: b gets the discounted mass, D * 1 follower / 3, times its unigram
    assert lm.probability("b") == pytest.approx((1 / 3) * (1 / 3) * unigram_b)
    assert lm.probability("b", ("a",)) == pytest.approx((2 - 1 / 3) / 3 + (1 / 3) * (2 / 3) * unigram_b)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_is_a_distribution(order):
    rng = random.Random(order)
    words = list("abcdefg")
    sentences = [[rng.choice(words) for _ in range(rng.randint(1, 8))] for _ in range(60)]
    lm = KneserNey(order=order).fit(sentences)
    contexts = {tuple(s[max(0, i - order + 1):i]) for s in sentences for i in range(len(s))}
    contexts |= {("z",) * (order - 1), ()}  # unseen words, and the sentence start
    for context in contexts:
        assert sum(lm.probability(w, context) for w in lm.vocabulary) == pytest.approx(1.0), context


def test_a_word_seen_after_one_context_only_gets_little_mass_elsewhere():
    # "francisco" is frequent but always follows "san": in a new context it is less likely than "fish",
    # which is rarer but follows many words
    sentences = [["san", "francisco"]] * 20 + [[w, "fish"] for w in "abcdefgh"]
    lm = KneserNey(order=2).fit(sentences)
    assert lm.probability("francisco", ("q",)) < lm.probability("fish", ("q",))
    assert lm.probability("francisco", ("san",)) > 0.9


def test_unknown_words_and_perplexity():
    lm = KneserNey(order=3, vocabulary=["the", "cat", "sat"]).fit([["the", "cat", "sat"], ["the", "dog", "sat"]])
    assert UNK in lm.vocabulary and EOS in lm.vocabulary and "dog" not in lm.vocabulary
    assert lm.probability("dog", ("the",)) == lm.probability(UNK, ("the",))
    log_probs = lm.log_probabilities(["the", "cat"])
    assert len(log_probs) == 3 and all(p < 0 for p in log_probs)  # the, cat and </s>
    perplexity = lm.perplexity([["the", "cat"], ["a", "b", "c"]])
    tokens = 3 + 4
    total = -sum(itertools.chain(lm.log_probabilities(["the", "cat"]), lm.log_probabilities(["a", "b", "c"])))
    assert perplexity == pytest.approx(math.exp(total / tokens))
    with pytest.raises(ValueError, match="order"):
        KneserNey(order=0)
