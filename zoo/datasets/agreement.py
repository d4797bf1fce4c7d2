"""Subject–verb number agreement examples from the Brown corpus, after Linzen, Dupoux & Goldberg (2016).

Linzen et al. ("Assessing the ability of LSTMs to learn syntax-sensitive
dependencies", TACL 2016) turn every present-tense verb whose subject a parser
finds into one example: the words before the verb are the input, the verb's
number (singular or plural) the label. Brown has part-of-speech tags but no
parses, so the subject is found by the heuristic below, from Brown's tags
alone. The label is the verb's own number, read off its tag, so it is right
whenever the example is one: what the heuristic can get wrong is which noun
is the subject, and so the recorded distance and attractor count.

Verbs (Brown tags, negated forms such as `BEZ*` "isn't" included):
singular `VBZ` (takes), `BEZ` (is), `HVZ` (has), `DOZ` (does), `BEDZ` (was);
plural `BER` (are), `BED` (were), `HV` (have), `DO` (do), `VB` (take). `was`
and `were` agree in number too and are kept; `am` (`BEM`) is left out. `VB`,
`HV` and `DO` are also base forms (after `to`, modals and `do`, as the verbs
of objects, "made the children go", and as subjunctives, "recommended that
the legislators act"), so they count only right after a noun that is no
verb's object (adverbs skipped), in a clause that starts neither just after
another verb nor after `that` or `lest`. Questions (a final `?`) are left
out: their subject may follow the verb.

The subject (`find_agreements`): the head of a noun phrase that starts the
verb's clause. Candidate starts are the sentence's start and the token after
every boundary before the verb: punctuation, a conjunction (`CS`, or `CC`
unless it follows a noun: "the frame and moving parts"), a wh-word (`WPS`,
`WDT`, `WPO`, `WP$`, `WRB`, `WQL`) or a finite verb. From the earliest
candidate on, a noun phrase must start right at the candidate (determiners,
adjectives, possessives, numbers, then nouns; its head is its last noun:
`NN`, `NP`, `NR` singular, `NNS`, `NPS`, `NRS` plural), and the words from
its head to the verb must be modifiers only: prepositional phrases,
participles, parentheses, quotes, commas in pairs (an apposition) and
embedded clauses. An embedded clause opens at a wh-word, at a `CS` (Brown's
tag for `that` in both "the fact that" and "the book that I got"), at a
personal pronoun or at a noun phrase right after a noun ("the books the
children read"); a finite verb closes the innermost open clause. A finite
verb with no clause open, a sentence break (`.` `;` `:`), an odd number of
commas or the verb itself inside an open clause mean the candidate is not
the verb's subject, and the next one is tried ("The man said the books are":
books). An example is dropped when no candidate fits, when a coordinating
conjunction comes between subject and verb outside an embedded clause ("the
boy and the girls are": the subject is the coordination), or when the
subject's number is not the verb's (collective nouns, coordinations the rules
miss, heuristic errors). Subjects are nouns only; pronouns, whose number is
in their form, are left out.

Recorded for each example: `distance`, the verb's position minus the subject
head's (1 when adjacent), and `attractors`, the nouns between the two whose
number is the other one, as Linzen et al. count them; of a compound ("the
developers of waterfront land") only the last noun counts, and adverbial
nouns (`NR`: "the books I got yesterday") do not.

Precision, checked by hand on 100 examples (every 128th of the 12 805 of
`train`, printed with subject and verb marked, each judged against a reading
of the sentence; right means a finite verb whose number agrees with the noun
found, that noun the head of its subject or a name in apposition to it, "the
random variable X takes", and the distance and attractor count right): 99 of
100. The error is Brown's: "her eyes calm" tags the adjective `calm` as a
verb. Earlier samples, read while the rules were written, showed the kinds of
error that remain: a subject after a quoted speaker ("Packard, states a
Messenger editorial, was": editorial), comparatives ("more men than women
are": women), nouns in apposition read as the head ("the term idea refers":
idea) and mandative subjunctives (now dropped after `that`: "recommended that
the legislators act"). The label is the verb's own tag, so even these
examples ask for the right number.

Examples (extractor 1.0.0): 12 805 train, 1 598 validation, 1 579 test;
27 % plural; 9 % of train with an attractor, 16 % with the subject 5 words
or more away.

Split: the sentence's, by the Brown rule the zoo uses everywhere
(`zoo.datasets.tagged.SPLIT_RULE`: sentence i % 10 == 9 test, == 8
validation), so no test sentence is trained on. The extracted examples of
each split are checked against the sha256 below: a changed heuristic must
bump `EXTRACTOR_VERSION` and the digests.

A classifier trains on the examples through `zoo.agreement.data.as_dataset`.
"""

import dataclasses
import functools
import hashlib
import json

import numpy as np

from zoo.datasets import DataUnavailable, brown
from zoo.datasets.brown_tags import fine
from zoo.datasets.tagged import SPLIT_RULE, split_of

NAME = "agreement_brown"
EXTRACTOR_VERSION = "1.0.0"
LABELS = ("singular", "plural")
SPLITS = ("train", "validation", "test")
SHA256 = {  # of `content_sha256(load(split))`: a changed heuristic must update these
    "train": "8f2b57f995b3883eb243bc5cb9509f3b1d8566105ea9d5414d35b54c057e7b41",
    "validation": "0eb4c0ff49ea27f0c0fb4214142af461b31219a74435f86271bb839ae69abd7a",
    "test": "1c1002e2a21c7b36dd5555cf4bd9ae422a59ae3437a7dbaf00e2356216e69a1a",
}
LICENSE = brown.LICENSE

SINGULAR_VERBS = {"VBZ", "BEZ", "HVZ", "DOZ", "BEDZ"}
PLURAL_VERBS = {"BER", "BED", "HV", "DO", "VB"}
BASE_FORMS = {"VB", "HV", "DO"}  # also infinitives: finite only after a subject noun
SINGULAR_NOUNS = {"NN", "NP", "NR"}
PLURAL_NOUNS = {"NNS", "NPS", "NRS"}
NUMBER_TAGS = SINGULAR_VERBS | PLURAL_VERBS | SINGULAR_NOUNS | PLURAL_NOUNS  # what a tagger must tag with
_PAST_AND_MODAL = {"VBD", "BEM", "HVD", "DOD", "MD"}  # finite verbs without number
_PRENOMINAL = {"AT", "AP", "ABN", "ABX", "CD", "OD", "DT", "DTI", "DTS", "DTX", "JJ", "JJR", "JJS", "JJT", "PP$",
               "QL"}
_PARTICIPLES = {"VBN", "VBG"}  # adjectives when a noun or adjective follows: "the broken window"
_RELATIVES = {"WPS", "WDT", "WPO", "WP$", "WRB", "WQL"}  # who, which, whom, whose, where, how
_PRONOUN_SUBJECTS = {"PPS", "PPSS"}
_SENTENCE_BREAKS = {".", ";", ":", "!", "?"}  # a subject never reaches across these
_PUNCTUATION = {"--", "(", ")", "``", "''", "'", ","}  # parentheticals and quotes: a subject may reach across
_ADVERBS = {"RB", "RBR", "RBT", "*", "QL"}
_VERB_TAGS = ("VB", "BE", "HV", "DO", "MD")  # prefixes of every verb tag


@dataclasses.dataclass(frozen=True)
class Agreement:
    """One verb of a sentence and its subject: token positions, the verb's number, the attractors."""

    subject: int
    verb: int
    number: str
    attractors: int

    @property
    def distance(self):
        return self.verb - self.subject


def _base(tag):
    """Brown's tag without position suffixes and negation: `BEZ*` → `BEZ`, `nns-tl` → `NNS`."""
    tag = fine(tag)
    return tag[:-1] if tag.endswith("*") and tag != "*" else tag


def _noun_number(tag):
    """`"singular"`, `"plural"` or `None` for a noun tag, possessives (`NNS$`) included."""
    tag = tag.removesuffix("$")
    return "singular" if tag in SINGULAR_NOUNS else "plural" if tag in PLURAL_NOUNS else None


def _is_attractor(tags, k, number):
    """A noun of the other number, the last of its compound, and no adverbial noun (`NR`: yesterday, home)."""
    return (_noun_number(tags[k]) not in (None, number) and not _noun_number(tags[k + 1])
            and not tags[k].startswith("NR"))


def _is_head_noun(tag):
    return tag in SINGULAR_NOUNS or tag in PLURAL_NOUNS


def _is_prenominal(tags, k):
    tag = tags[k]
    if tag in _PRENOMINAL or (tag.endswith("$") and _noun_number(tag)):
        return True
    return tag in _PARTICIPLES and k + 1 < len(tags) and (_is_head_noun(tags[k + 1]) or tags[k + 1].startswith("JJ"))


def _is_verb(tag):
    return tag.startswith(_VERB_TAGS)


def _after_a_subject_noun(tags, k):
    """Whether a base form at `k` follows a noun that is no verb's object ("the men go", not "made the men go")."""
    before = k - 1
    while before >= 0 and tags[before] in _ADVERBS:
        before -= 1
    if before < 0 or not _is_head_noun(tags[before]):
        return False
    while before >= 0 and (_is_head_noun(tags[before]) or _is_prenominal(tags, before)):
        before -= 1
    return before < 0 or not (_is_verb(tags[before]) or tags[before] == "TO")


def _is_finite(tags, k):
    tag = tags[k]
    if tag in BASE_FORMS:
        return _after_a_subject_noun(tags, k)
    return tag in SINGULAR_VERBS or tag in PLURAL_VERBS or tag in _PAST_AND_MODAL


def _verb_number(tags, k):
    tag = tags[k]
    if tag in BASE_FORMS and not _after_a_subject_noun(tags, k):
        return None
    return "singular" if tag in SINGULAR_VERBS else "plural" if tag in PLURAL_VERBS else None


def _noun_phrase_head(tags, start, end):
    """The head (last noun) of a noun phrase starting at `start` and ending before `end`, or None."""
    k = start
    while k < end and _is_prenominal(tags, k):
        k += 1
    if k == end or not _is_head_noun(tags[k]):
        return None
    while k + 1 < end and _is_head_noun(tags[k + 1]):
        k += 1
    return k


def _read_modifiers(tags, head, verb):
    """`"ok"` when the words between the subject head and the verb are modifiers only, `"not subject"`
    when the head cannot be the verb's subject, `"coordinated"` when a conjunction joins it to more."""
    depth = 0  # embedded clauses open and waiting for their finite verb
    commas = 0
    for k in range(head + 1, verb):
        tag = tags[k]
        if tag in _RELATIVES or tag == "CS":
            depth += 1
        elif depth == 0 and (tag in _PRONOUN_SUBJECTS or (_is_head_noun(tags[k - 1]) and _is_prenominal(tags, k))):
            depth += 1  # a clause without a relative pronoun: "the book I got", "the books the children read"
        elif _is_finite(tags, k):
            if depth == 0:
                return "not subject"
            depth -= 1
        elif tag == "CC" and depth == 0:
            return "coordinated"
        elif tag in _SENTENCE_BREAKS:
            return "not subject"
        elif tag == "," and depth == 0:
            commas += 1
    # Commas around an apposition come in pairs: in "claims start payment after $250, a saving is" or
    # "my husband enters the office, signs up", the lone comma shows the head is not the subject.
    return "ok" if depth == 0 and commas % 2 == 0 else "not subject"


def _clause_starts(tags, verb):
    """Where the verb's clause may start: the sentence's start and after every boundary before the verb."""
    base_form = tags[verb] in BASE_FORMS
    starts = [0]
    for k in range(verb - 1):
        tag = tags[k]
        joins_nouns = tag == "CC" and k > 0 and _is_head_noun(tags[k - 1])  # "the frame and moving parts"
        if (tag in _SENTENCE_BREAKS or tag in _PUNCTUATION or tag == "CS" or tag in _RELATIVES
                or (tag == "CC" and not joins_nouns)
                or (not base_form and _is_finite(tags, k))):
            starts.append(k + 1)
    return starts


def find_agreements(words, tags):
    """The verbs of one Brown sentence whose subject the heuristic finds, with their subjects.

    Args:
        words: the sentence's tokens.
        tags: their Brown tags, as in the corpus files (`nns`, `bez`, `np-tl`).

    Returns:
        A list of `Agreement`s, in the verbs' order.

    Example:

    >>> words = "The books read by the second-grade children are shelved".split()
    >>> find_agreements(words, "at nns vbn in at jj nns ber vbn".split())
    [Agreement(subject=1, verb=7, number='plural', attractors=0)]
    >>> find_agreements("The key to the cabinets is here".split(), "at nn in at nns bez rb".split())
    [Agreement(subject=1, verb=5, number='singular', attractors=1)]
    """
    if words and words[-1] == "?":  # questions put the subject after the verb: "what manner of man does Milton"
        return []
    tags = [_base(t) for t in tags]
    agreements = []
    for verb in range(1, len(tags)):
        number = _verb_number(tags, verb)
        if number is None:
            continue
        agreement = _find_subject(words, tags, verb, number)
        if agreement is not None:
            agreements.append(agreement)
    return agreements


def _find_subject(words, tags, verb, number):
    for start in _clause_starts(tags, verb):
        head = _noun_phrase_head(tags, start, verb)
        if head is None:
            continue
        if tags[verb] in BASE_FORMS and start > 0 and words[start - 1].lower() in ("that", "lest"):
            return None  # perhaps a subjunctive, which has no number: "recommended that the legislators act"
        reading = _read_modifiers(tags, head, verb)
        if reading == "not subject":
            continue
        subject_number = _noun_number(tags[head])
        if reading == "coordinated" or subject_number != number:
            return None
        attractors = sum(1 for k in range(head + 1, verb) if _is_attractor(tags, k, number))
        return Agreement(head, verb, number, attractors)
    return None


@dataclasses.dataclass
class AgreementExamples:
    """Examples of one split: `prefixes[i]`, the tokens before a verb; `labels[i]`, its number (an index
    into `LABELS`); the subject's `distances` and `attractors`; the `subjects` and `verbs` as words; the
    corpus `sentences` they come from."""

    name: str
    split: str
    prefixes: list
    labels: np.ndarray
    distances: np.ndarray
    attractors: np.ndarray
    subjects: list
    verbs: list
    sentences: np.ndarray

    def __len__(self):
        return len(self.prefixes)

    def select(self, indices):
        """The examples at `indices`, in that order."""
        indices = np.asarray(indices, np.int64)
        return AgreementExamples(self.name, self.split, [self.prefixes[i] for i in indices], self.labels[indices],
                                 self.distances[indices], self.attractors[indices],
                                 [self.subjects[i] for i in indices], [self.verbs[i] for i in indices],
                                 self.sentences[indices])

    def take(self, count):
        return self.select(np.arange(min(count, len(self))))

    def __add__(self, other):
        """These examples, then `other`'s, under these ones' name and split."""
        return AgreementExamples(self.name, self.split, self.prefixes + other.prefixes,
                                 *(np.concatenate([getattr(self, f), getattr(other, f)])
                                   for f in ("labels", "distances", "attractors")),
                                 self.subjects + other.subjects, self.verbs + other.verbs,
                                 np.concatenate([self.sentences, other.sentences]))

    def sample(self, count, seed=0):
        """`count` examples drawn without replacement, kept in corpus order."""
        if count >= len(self):
            return self
        return self.select(np.sort(np.random.default_rng(seed).choice(len(self), count, replace=False)))


def extract(sentences, split="all"):
    """The agreement examples of `(file, words, tags)` sentences numbered as the corpus numbers them.

    Args:
        sentences: `brown.corpus()` or any sentences in the same form, in corpus order.
        split: keep the sentences of this split only (by `SPLIT_RULE`), or `"all"`.
    """
    rows = []
    for index, (_, words, tags) in enumerate(sentences):
        if split != "all" and split_of(index) != split:
            continue
        for agreement in find_agreements(words, tags):
            rows.append((list(words[:agreement.verb]), LABELS.index(agreement.number), agreement.distance,
                         agreement.attractors, words[agreement.subject], words[agreement.verb], index))
    columns = list(zip(*rows)) if rows else [[]] * 7
    return AgreementExamples(NAME, split, list(columns[0]), np.array(columns[1], np.int32),
                             np.array(columns[2], np.int32), np.array(columns[3], np.int32), list(columns[4]),
                             list(columns[5]), np.array(columns[6], np.int64))


def content_sha256(data):
    """sha256 of the examples: for each, its sentence, verb, subject and label (canonical JSON)."""
    rows = [[int(s), len(p), int(d), int(y), int(a)] for s, p, d, y, a in
            zip(data.sentences, data.prefixes, data.distances, data.labels, data.attractors)]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _load(split):
    data = extract(brown.corpus(), split)
    digest = content_sha256(data)
    if digest != SHA256[split]:
        raise DataUnavailable(f"the {split} agreement examples have sha256 {digest}, not the expected {SHA256[split]}: "
                           "a changed extractor needs a new EXTRACTOR_VERSION and SHA256")
    return data


def load(split):
    """One split (`"train"`, `"validation"` or `"test"`), extracted from the verified Brown corpus.

    Example:

    >>> test = load("test")  # doctest: +SKIP
    >>> test.prefixes[0], LABELS[test.labels[0]]  # doctest: +SKIP
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return _load(split)


def describe():
    """The dataset section of a model card."""
    return {
        "name": NAME,
        "source": f"{brown.describe('fine')['source']}; examples extracted by zoo.datasets.agreement "
                  f"{EXTRACTOR_VERSION} (Linzen, Dupoux & Goldberg 2016, subject found from Brown's tags)",
        "sha256": {brown.TARBALL: brown.TARBALL_SHA256, **{f"examples/{s}": d for s, d in SHA256.items()}},
        "split": "the Brown sentence's: " + SPLIT_RULE,
        "labels": list(LABELS),
        "license": LICENSE,
    }
