"""Constructed agreement sentences (Marvin & Linzen style): what each construction holds, and the metrics."""

import collections

import numpy as np

from zoo.agreement.evaluation import evaluate_constructed
from zoo.datasets import constructed_agreement as ca


def test_every_construction_holds_each_combination_of_numbers():
    examples = ca.examples()
    cells = collections.Counter((e.construction, e.label, e.attractor) for e in examples)
    assert cells[("simple", 0, False)] == cells[("simple", 1, False)] == len(ca.SUBJECTS) * len(ca.VERBS)
    for construction in ca.CONSTRUCTIONS[1:]:
        for label in (0, 1):
            for attractor in (False, True):
                assert cells[(construction, label, attractor)] == ca.PER_COMBINATION, (construction, label, attractor)
    assert len(set(examples)) == len(examples)  # drawn without replacement
    assert ca.examples() == examples  # a fixed order


def test_sentences_are_built_as_their_construction_says():
    singular = {s for s, _ in ca.SUBJECTS}
    for e in ca.examples():
        words = e.prefix
        assert words[0] == "The" and (words[1] in singular) == (e.label == 0)
        if e.construction == "prepositional_phrase":
            second = words[-1]
        elif e.construction == "subject_relative":
            assert words[2] == "that" and words[3] in {v[e.label] for v in ca.RELATIVE_VERBS}  # agrees with subject
            second = words[-1]
        elif e.construction == "object_relative":
            second, verb = words[4], words[5]
            number = 0 if second in {n for n, _ in ca.SECOND_NOUNS} else 1
            assert words[2:4] == ("that", "the") and verb == ca.RELATIVE_VERBS[
                [v[number] for v in ca.RELATIVE_VERBS].index(verb)][number]
        else:
            assert len(words) == 2
            continue
        second_number = 0 if second in {n for n, _ in ca.SECOND_NOUNS} else 1
        assert e.attractor == (second_number != e.label)


class _Nearest:
    """A classifier that answers the number of the last noun it sees: right without attractors only."""

    def predict_tokens(self, prefixes):
        plural = {p for _, p in ca.SUBJECTS + ca.SECOND_NOUNS}
        singular = {s for s, _ in ca.SUBJECTS + ca.SECOND_NOUNS}
        labels = [next(1 if w in plural else 0 for w in reversed(p) if w in plural | singular) for p in prefixes]
        return type("Scores", (), {"scores": np.eye(2)[labels]})()


def test_a_nearest_noun_heuristic_fails_exactly_where_attractors_are():
    metrics = evaluate_constructed(_Nearest())
    for construction, m in metrics["by_construction"].items():
        assert m["without_attractor"]["accuracy"] == 1.0, construction
        if construction != "simple":
            assert m["with_attractor"]["accuracy"] == 0.0 and m["accuracy"] == 0.5, construction
    assert ca.metrics(ca.examples()[:3], [0, 0, 0])["examples"] == 3
