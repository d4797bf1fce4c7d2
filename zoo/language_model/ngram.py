"""Interpolated Kneser-Ney n-gram language model: the baseline an RNN language model has to beat.

Counts, discounts and continuation counts after Chen & Goodman (1998). For
the highest order, with one absolute discount `D` per order estimated from
the counts of counts (`D = n1 / (n1 + 2 n2)`):

    P(w | h) = max(c(h w) - D, 0) / c(h) + D N1+(h •) / c(h) · P(w | h')

where `h'` drops the oldest word of `h` and `N1+(h •)` is the number of
distinct words seen after `h`. Lower orders use continuation counts (in how
many distinct contexts `h' w` was seen, not how often), so a word that
follows only one context ("Francisco") gets little of the mass left for new
contexts. The unigram level is interpolated with a uniform distribution over
the vocabulary, so no word has probability 0. A context never seen backs
off entirely. Sentences are padded with `<s>` and end with `</s>`, which is
predicted and counted like a word; words outside the vocabulary are `<unk>`.

NLTK's `nltk.lm.KneserNeyInterpolated` computes the same kind of model but
scores a few thousand words a second, too slow for millions of held-out
words; these counts are plain dictionaries over word ids.

>>> lm = KneserNey(order=2).fit([["a", "b"], ["a", "c"], ["a", "b"]])
>>> round(lm.probability("b", ("a",)), 3) > round(lm.probability("c", ("a",)), 3)
True
>>> abs(sum(lm.probability(w, ("a",)) for w in lm.vocabulary) - 1.0) < 1e-9
True
"""

import collections
import math

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


class KneserNey:
    """An interpolated Kneser-Ney model of `order` words (`fit`, then `probability` / `perplexity`).

    Args:
        order: n of the n-grams (3: a word given the two before it).
        vocabulary: the words it knows; others are `<unk>`. By default every
            word of the training sentences.
    """

    def __init__(self, order=3, vocabulary=None):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        self.order = order
        self.given_vocabulary = vocabulary

    def fit(self, sentences):
        """Counts the n-grams of `sentences` (lists of words) and sets the discounts; returns the model."""
        sentences = [list(s) for s in sentences]
        words = self.given_vocabulary or sorted({w for s in sentences for w in s})
        self.vocabulary = sorted({*words, EOS, UNK} - {BOS})
        known = set(self.vocabulary)
        counts = collections.Counter()  # the highest order's counts
        for sentence in sentences:
            padded = self._padded(sentence, known)
            for i in range(self.order - 1, len(padded)):
                counts[tuple(padded[i - self.order + 1:i + 1])] += 1
        self.levels = self._levels(counts)
        return self

    def _padded(self, sentence, known):
        return [BOS] * (self.order - 1) + [w if w in known else UNK for w in sentence] + [EOS]

    def _levels(self, top):
        """Per order (index n-1): n-gram counts, context totals, distinct followers per context, discount."""
        levels = [None] * self.order
        counts = top
        for n in range(self.order, 0, -1):
            totals, followers = collections.Counter(), collections.Counter()
            for gram, count in counts.items():
                totals[gram[:-1]] += count
                followers[gram[:-1]] += 1
            of_counts = collections.Counter(c for c in counts.values() if c <= 2)
            n1, n2 = of_counts[1], of_counts[2]
            discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
            levels[n - 1] = (counts, totals, followers, discount)
            if n > 1:
                counts = self._continuation_counts(counts)
        return levels

    @staticmethod
    def _continuation_counts(counts):
        """The next lower order's counts: in how many distinct contexts each shorter n-gram was seen, except
        for n-grams that start a sentence (`<s> ...`), which nothing can precede: those keep their counts."""
        lower = collections.Counter()
        for gram, count in counts.items():
            lower[gram[1:]] += count if gram[1] == BOS else 1
        return lower

    def probability(self, word, context=()):
        """P(`word` | the last `order - 1` words of `context`), `<s>`-padded on the left."""
        known = set(self.vocabulary)
        word = word if word in known else UNK
        context = tuple(w if w in known or w == BOS else UNK for w in context)
        context = ((BOS,) * (self.order - 1) + context)[len(context):] if self.order > 1 else ()
        return self._probability(word, context)

    def _probability(self, word, context):
        counts, totals, followers, discount = self.levels[len(context)]
        lower = self._probability(word, context[1:]) if context else 1.0 / len(self.vocabulary)
        total = totals[context]
        if total == 0:
            return lower
        return max(counts[(*context, word)] - discount, 0.0) / total + discount * followers[context] / total * lower

    def log_probabilities(self, sentence):
        """Natural-log probability of each word of `sentence` and of its end `</s>`."""
        known = set(self.vocabulary)
        padded = self._padded(list(sentence), known)
        return [math.log(self._probability(padded[i], tuple(padded[i - self.order + 1:i])))
                for i in range(self.order - 1, len(padded))]

    def perplexity(self, sentences):
        """`exp` of the mean negative log-probability per predicted token (words and `</s>`)."""
        total, tokens = 0.0, 0
        for sentence in sentences:
            log_probs = self.log_probabilities(sentence)
            total -= sum(log_probs)
            tokens += len(log_probs)
        return math.exp(total / tokens)
