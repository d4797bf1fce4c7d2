"""Brown corpus tags → the zoo's two tag sets, `fine` and `universal`.

Brown tags (Francis & Kučera) are written lower-case in the corpus files and
decorated: the suffixes `-tl` (word in a title), `-hl` (in a headline) and
`-nc` (cited word) mark where a word occurs, not what it is; the prefix `fw-`
marks a foreign word; `+` joins the tags of a contraction (`it's` →
`pps+bez`); a trailing `*` marks negation (`don't` → `do*`), and a lone `*`
is the negator itself (`not`, `n't`).

`fine`: the Brown tag upper-cased with the position suffixes stripped, so
`NN-TL` → `NN`, `FW-IN+AT-TL` → `FW-IN+AT`, `PPS+BEZ` stays `PPS+BEZ`.

`universal`: the 12 tags of Petrov, Das & McDonald (2012), "A Universal
Part-of-Speech Tagset", following their Brown mapping (`en-brown.map`, also
used by NLTK's `tagset="universal"`). That file is not reachable offline, so
the table below was rebuilt from the Brown tag manual and checked against the
per-tag totals NLTK prints for its Brown copy with that file: over the whole
corpus (NOUN 275 558, VERB 182 750, `.` 147 565, ADP 144 766, DET 137 019,
ADJ 83 721, ADV 56 239, PRON 49 334, CONJ 38 151, PRT 29 829, NUM 14 874,
X 1 386) every tag is within 7 tokens, `.`, DET, PRON and CONJ exactly; on
the news files `ca01`–`ca44` (NOUN 30 640, VERB 14 399, ADP 12 355, `.` 11 928,
DET 11 389, ADJ 6 706, ADV 3 349, CONJ 2 717, PRON 2 535, PRT 2 264,
NUM 2 166, X 92) within 14. The totals decided the choices that the tag
names leave open:

- `AP` (post-determiner: many, other, next, last) → ADJ, `OD` (first) → ADJ;
- `PP$` (my, his) and `WP$` (whose) → DET, like the articles they replace;
- `ABN` (all, half), `ABL` (quite, rather), `EX` (existential there) → PRT;
  `ABX` (both), `DTX` (either) → DET;
- `PN` (nobody, anyone, one) → NOUN;
- `AP$` (other's) → PRT and `AP+AP` (many-much) → ADJ: these two lines of
  `en-brown.map` are quoted in public write-ups, and followed here;
- `UH` (interjections) → PRT;
- `*` (not, n't) and the qualifiers `QL`, `QLP`, `WQL` → ADV;
- `CS` (subordinating conjunctions: that, if, because) → ADP, as the
  Penn-treebank mapping treats `IN`;
- a contraction (a tag with `+`) whose first word is a verb (`VB+PPO`
  "let's", `MD+HV` "could've") → VERB; every other contraction (`PPS+BEZ`
  "it's", `DT+BEZ` "that's", `PPSS+MD` "I'll") → PRT: one token carries two
  words, and the totals match with this choice only.

Two choices the totals cannot decide (neither tag occurs in the news files):
`NIL` (157 tokens the annotators left untagged) → X, and negated verb forms
(`DO*`, `MD*`, `BEZ*`) take their verb's tag, VERB. Foreign words (`FW-…`)
→ X. Tags in the corpus with typos in the suffix (`-t`, `-n`) are handled
like their intended suffix.
"""

import functools
import re

UNIVERSAL_TAGS = ("ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRON", "PRT", "VERB", "X", ".")

_POSITION_SUFFIX = re.compile(r"(-(tl|hl|nc|t|n))+$")

_UNIVERSAL = {
    **dict.fromkeys(["nn", "nns", "np", "nps", "nr", "nrs", "pn"], "NOUN"),
    **dict.fromkeys(
        ["be", "bed", "bedz", "beg", "bem", "ben", "ber", "bez", "do", "dod", "doz",
         "hv", "hvd", "hvg", "hvn", "hvz", "md", "vb", "vbd", "vbg", "vbn", "vbz"],
        "VERB",
    ),
    **dict.fromkeys(["jj", "jjr", "jjs", "jjt", "ap", "od"], "ADJ"),
    **dict.fromkeys(["rb", "rbr", "rbt", "rn", "ql", "qlp", "wql", "wrb", "*"], "ADV"),
    **dict.fromkeys(["in", "cs"], "ADP"),
    **dict.fromkeys(["at", "dt", "dti", "dts", "dtx", "abx", "wdt", "pp$", "wp$"], "DET"),
    **dict.fromkeys(["pp$$", "ppl", "ppls", "ppo", "pps", "ppss", "wpo", "wps"], "PRON"),
    **dict.fromkeys(["rp", "to", "abn", "abl", "ex", "uh"], "PRT"),
    "cc": "CONJ",
    "cd": "NUM",
    "nil": "X",
    **dict.fromkeys([".", ",", ":", "(", ")", "--", "``", "''", "'"], "."),
}


@functools.cache  # a few hundred distinct tags, a million tokens
def fine(tag):
    """Brown's tag, upper-cased, without the `-TL`/`-HL`/`-NC` position suffixes.

    >>> fine("nn-tl"), fine("fw-in+at-tl"), fine("pps+bez"), fine("---hl")
    ('NN', 'FW-IN+AT', 'PPS+BEZ', '--')
    """
    return _POSITION_SUFFIX.sub("", tag.lower()).upper() or tag.upper()


_UNIVERSAL_EXCEPTIONS = {"ap$": "PRT", "ap+ap": "ADJ"}  # as en-brown.map has them


@functools.cache
def universal(tag):
    """The universal tag (Petrov et al. 2012) of a Brown tag, decorated or not.

    >>> [universal(t) for t in ["nn-tl", "pps+bez", "vb+ppo", "fw-jj", "do*", "*", "cs", "---hl"]]
    ['NOUN', 'PRT', 'VERB', 'X', 'VERB', 'ADV', 'ADP', '.']
    """
    base = fine(tag).lower()
    if base in _UNIVERSAL_EXCEPTIONS:
        return _UNIVERSAL_EXCEPTIONS[base]
    if base.startswith("fw-"):
        return "X"
    if "+" in base:
        return "VERB" if universal(base.split("+")[0]) == "VERB" else "PRT"
    if base.endswith("$") and base not in _UNIVERSAL:  # possessive of a noun, numeral or adverb
        base = base[:-1]
    if base.endswith("*") and base != "*":
        base = base[:-1]
    try:
        return _UNIVERSAL[base]
    except KeyError:
        raise ValueError(f"unknown Brown tag {tag!r}") from None


TAGSETS = {"fine": fine, "universal": universal}
