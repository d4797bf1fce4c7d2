"""Constructed agreement sentences in the manner of Marvin & Linzen (2018), for evaluation only.

Marvin & Linzen ("Targeted syntactic evaluation of language models", EMNLP
2018) test agreement on sentences built from templates, so that every
construction is measured on its own and no corpus statistic can stand in for
the subject. These are built the same way from the zoo's own vocabulary:

- `simple`: "The author ___"
- `prepositional_phrase`: "The author near the guards ___"
- `subject_relative`: "The author that likes the guards ___"
- `object_relative`: "The author that the guards like ___"

Every construction with a second noun comes in the four combinations of
subject and second-noun number, so half of its examples have an *attractor*
(a noun of the other number between subject and verb). Each example is the
words before the verb (what `AgreementClassifier` reads), its label (the
subject's number) and the verb that follows in its singular and plural
forms (what a language model compares: P("is") against P("are")).

Never train on these sentences or on sentences built from these templates:
they measure what a model learned elsewhere. `metrics` scores a model's
answers, whichever task's model gave them.

>>> e = examples()
>>> sorted({x.construction for x in e}) == sorted(CONSTRUCTIONS)
True
>>> x = next(x for x in e if x.construction == "object_relative" and x.attractor)
>>> len(x.prefix) > 4 and x.verb in VERBS
True
"""

import dataclasses
import itertools
import random

import numpy as np

from zoo.evaluation import accuracy

CONSTRUCTIONS = ("simple", "prepositional_phrase", "subject_relative", "object_relative")
LABELS = ("singular", "plural")
SUBJECTS = (("author", "authors"), ("pilot", "pilots"), ("surgeon", "surgeons"), ("farmer", "farmers"),
            ("manager", "managers"), ("customer", "customers"), ("officer", "officers"),
            ("teacher", "teachers"), ("senator", "senators"), ("minister", "ministers"))
SECOND_NOUNS = (("guard", "guards"), ("dancer", "dancers"), ("architect", "architects"), ("skater", "skaters"),
                ("parent", "parents"), ("doctor", "doctors"))
PREPOSITIONS = ("near", "behind", "beside", "next to", "in front of")
RELATIVE_VERBS = (("likes", "like"), ("admires", "admire"), ("hates", "hate"), ("loves", "love"))
VERBS = (("is", "are"), ("was", "were"), ("has", "have"), ("laughs", "laugh"), ("smiles", "smile"),
         ("swims", "swim"))
PER_COMBINATION = 150  # examples per construction and combination of numbers (all of them for `simple`)


@dataclasses.dataclass(frozen=True)
class ConstructedExample:
    """One sentence start: `prefix` (tokens before the verb), `label` (0 singular, 1 plural), whether a noun
    of the other number comes between subject and verb, and the verb (singular, plural) that follows."""

    construction: str
    prefix: tuple
    label: int
    attractor: bool
    verb: tuple


def _prefix(construction, subject, second, filler):
    words = {
        "simple": f"The {subject}",
        "prepositional_phrase": f"The {subject} {filler} the {second}",
        "subject_relative": f"The {subject} that {filler} the {second}",
        "object_relative": f"The {subject} that the {second} {filler}",
    }[construction]
    return tuple(words.split())


def _combinations(construction, subject_number, second_number):
    """Every (subject, second noun, filler, verb) of a construction, the relative clause's verb agreeing with
    its own subject."""
    subjects = [s[subject_number] for s in SUBJECTS]
    if construction == "simple":
        return [(s, None, None, v) for s, v in itertools.product(subjects, VERBS)]
    seconds = [n[second_number] for n in SECOND_NOUNS]
    if construction == "prepositional_phrase":
        fillers = PREPOSITIONS
    else:  # the relative clause's verb agrees with the subject (subject relative) or the second noun (object)
        agrees_with = subject_number if construction == "subject_relative" else second_number
        fillers = [v[agrees_with] for v in RELATIVE_VERBS]
    return list(itertools.product(subjects, seconds, fillers, VERBS))


def examples(per_combination=PER_COMBINATION, seed=0):
    """The constructed examples: for each construction and each combination of numbers, `per_combination`
    of its sentences drawn without replacement (all of them when there are fewer), in a fixed order."""
    rng = random.Random(seed)
    out = []
    for construction in CONSTRUCTIONS:
        seconds = (None,) if construction == "simple" else (0, 1)
        for subject_number, second_number in itertools.product((0, 1), seconds):
            combinations = _combinations(construction, subject_number, second_number)
            chosen = rng.sample(combinations, min(per_combination, len(combinations)))
            out += [ConstructedExample(construction, _prefix(construction, s, n, f), subject_number,
                                       second_number is not None and second_number != subject_number, verb)
                    for s, n, f, verb in chosen]
    return out


def metrics(examples, predicted):
    """Accuracy on constructed examples, overall and per construction with and without an attractor, of the
    labels `predicted` for them (an agreement classifier's answers, or a language model's by P(verb)).

    >>> e = [ConstructedExample("simple", ("The", "author"), 0, False, ("is", "are")),
    ...      ConstructedExample("prepositional_phrase", ("The", "author", "near", "the", "guards"), 0, True,
    ...                         ("is", "are"))]
    >>> m = metrics(e, [0, 1])
    >>> m["accuracy"], m["by_construction"]["prepositional_phrase"]["with_attractor"]
    (0.5, {'accuracy': 0.0, 'examples': 1})
    """
    correct = np.asarray([e.label for e in examples]) == np.asarray(predicted)
    constructions = np.asarray([e.construction for e in examples])
    attractors = np.asarray([e.attractor for e in examples], bool)
    by_construction = {}
    for construction in CONSTRUCTIONS:
        mine = constructions == construction
        by_construction[construction] = {**accuracy(correct[mine]),
                                         "with_attractor": accuracy(correct[mine & attractors]),
                                         "without_attractor": accuracy(correct[mine & ~attractors])}
    return {**accuracy(correct), "by_construction": by_construction}
