"""Spanish–English Bible verses: Reina-Valera 1909 and the King James Version.

The zoo fetches Debian's packages `sword-text-sparv` (module `spaRV1909eb`)
and `sword-text-kjv` (module `engKJV2006eb`) with apt's own client
(`apt-get download`, no root needed once the package lists exist), checks
their sha256, unpacks them with `dpkg-deb -x` into `$ZOO_DATA/bible` and
reads the SWORD modules with `pysword`. Reading verse by verse takes half a
minute, so the pairs are converted once into `es-en.tsv` (book, chapter,
verse, Spanish, English), whose sha256 is checked on every load.

Both modules use KJV versification, so verse keys align one to one. Markup
(Strong's numbers, notes, milestones) is stripped by pysword's `clean=True`;
whitespace is collapsed; the all-capitals first word of a chapter ("EN el
principio") is written as a normal word; pairs with an empty side (verses
one translation omits) are dropped: 31 084 pairs remain. Paragraph signs
(¶) and USFM style markers (`\\nd`) are removed too.

Split (fixed, by chapter, since neighbouring verses repeat each other):
`zlib.crc32(f"{book} {chapter}".encode()) % 20` is 0 → `test`, 1 →
`validation` (dev), otherwise `train`.
"""

import collections
import csv
import functools
import hashlib
import re
import zlib

import keras

from zoo.datasets import DataUnavailable, built_once, data_dir, registries
from zoo.datasets.parallel import ParallelText

PACKAGES = {  # language: (Debian package, SWORD module)
    "es": (registries.Package("apt", "sword-text-sparv", "2.60-1",
                              "5c87f9b2bc97457e8a872f5bae7ea7ce59cb3de1dcee73e4d4740451863694cf"), "spaRV1909eb"),
    "en": (registries.Package("apt", "sword-text-kjv", "14.3-1",
                              "9f463f28ce665f6f528fc723179722bced880a4c5485f7a41bf742838315de57"), "engKJV2006eb"),
}
NAME = "bible_es_en"
TSV = "es-en.tsv"
TSV_SHA256 = "026364aa823fd856137b27e9f60fe854db31967e891cac378a212346cdf5fc23"
PAIRS = 31_084
SPLIT_RULE = ('by chapter: zlib.crc32(f"{book} {chapter}".encode()) % 20 == 0 -> test, == 1 -> validation (dev), '
              "otherwise train; book is the English book name (e.g. Genesis)")
LICENSE = "public domain (Reina-Valera 1909; King James Version); Debian packages sword-text-sparv, sword-text-kjv"
_MARKUP = re.compile(r"¶|\\[a-z]+\*?")  # paragraph signs; USFM character styles such as \\nd (divine name)


def split_of(book, chapter):
    """The split of a chapter (see `SPLIT_RULE`).

    >>> split_of("Genesis", 1), split_of("Genesis", 2)
    ('validation', 'train')
    """
    bucket = zlib.crc32(f"{book} {chapter}".encode("utf-8")) % 20
    return {0: "test", 1: "validation"}.get(bucket, "train")


def fetch():
    """The directory holding both SWORD modules, fetched with `apt-get download` if needed."""
    root = data_dir() / "bible"
    for package, _ in PACKAGES.values():
        registries.unpacked(package, registries.fetch(package, root), root / "sword")
    return root / "sword" / "usr" / "share" / "sword"


def clean_verse(text):
    r"""One verse as plain text: paragraph signs and USFM markers removed, whitespace collapsed.

    >>> clean_verse("¶ And the \\nd LORD  said ")
    'And the LORD said'
    """
    return " ".join(_MARKUP.sub(" ", text).split())


def restore_small_caps(verses, openings=None):
    """Rewrites the small-capitals words that open a chapter ("Y FUERON acabados") as the
    language writes them elsewhere: each word in its most frequent casing in `verses`.

    `openings`: the indices of the verses that open a chapter (default: every verse).

    >>> restore_small_caps(["Y FUERON acabados", "y fueron", "Y JEHOVÁ dijo", "dijo Jehová"])
    ['Y fueron acabados', 'y fueron', 'Y Jehová dijo', 'dijo Jehová']
    """
    openings = range(len(verses)) if openings is None else set(openings)
    casings = collections.defaultdict(collections.Counter)
    for index, verse in enumerate(verses):
        words = verse.split(" ")
        for word in words[_small_caps_opening(words) if index in openings else 0:]:
            core = _WORD.fullmatch(word).group(2)
            casings[core.lower()][core] += 1
    restored = list(verses)
    for index in openings:
        words = verses[index].split(" ")
        for i in range(_small_caps_opening(words)):
            before, core, after = _WORD.fullmatch(words[i]).groups()
            usual = casings[core.lower()].most_common(1)
            if usual and not usual[0][0].isupper():
                core = usual[0][0][:1].upper() + usual[0][0][1:] if i == 0 else usual[0][0]
                words[i] = before + core + after
        restored[index] = " ".join(words)
    return restored


_WORD = re.compile(r"(\W*)(.*?)(\W*)")  # leading punctuation, the word, trailing punctuation


def _small_caps_opening(words):
    """How many of the (at most three) first words are written in capitals, if one of them has two
    letters or more ("¿Y", a capital letter, is no small capitals)."""
    count = 0
    while count < min(3, len(words)) and words[count].isupper():
        count += 1
    return count if any(sum(c.isalpha() for c in w) > 1 for w in words[:count]) else 0


# RV1909 tags the words its translators supplied (<transChange type="added">) often without a space
# between them and the next or previous word: "allí</w><transChange ...>también</transChange><w ...>bdelio".
# Pronouns it adds to a verb ("dínos<transChange ...>lo</transChange>") are enclitics: they stay attached.
_ADDED_WORDS = re.compile(r"(?<=\w)((?:</w>)?<transChange\b[^>]*>)(?!(?:me|te|se|nos|os|lo|la|los|las|le|les)+</)"
                          r"|(</transChange>)(?=(?:<w\b[^>]*>)?\w)")


def _spaced(match):
    return " " + match.group(1) if match.group(1) else match.group(2) + " "


def sword_bible(sword, module):
    """The `pysword` Bible `module` of the SWORD modules in directory `sword`, read in order without
    inflating a compressed block again for each of its verses (what pysword does: minutes, not seconds)."""
    from pysword.modules import SwordModules

    modules = SwordModules(str(sword))
    modules.parse_modules()
    bible = modules.get_bible_from_module(module)
    bible._decompressed_text = functools.lru_cache(maxsize=4)(bible._decompressed_text)  # the last blocks read
    return bible


def _convert(sword, scratch):
    """Reads every verse of both modules and writes the aligned pairs as TSV into `scratch`."""
    from pysword.canons import canons
    from pysword.cleaner import OSISCleaner

    cleaner = OSISCleaner()
    bibles = {lang: sword_bible(sword, module) for lang, (*_, module) in PACKAGES.items()}
    print("converting the SWORD modules to TSV (once), book by book:", flush=True)
    books = [book for testament in ("ot", "nt") for book in canons["kjv"][testament]]
    progress = keras.utils.Progbar(len(books), unit_name="book")
    keys, verses = [], {"es": [], "en": []}
    for book, _, osis, verse_counts in books:
        for chapter, count in enumerate(verse_counts, start=1):
            for verse in range(1, count + 1):
                keys.append((book, chapter, verse))
                for lang, bible in bibles.items():
                    raw = bible.get(books=[osis.lower()], chapters=[chapter], verses=[verse], clean=False)
                    verses[lang].append(clean_verse(cleaner.clean(_ADDED_WORDS.sub(_spaced, raw))))
        progress.add(1)
    with scratch.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        openings = [i for i, (_, _, verse) in enumerate(keys) if verse == 1]
        for key, es, en in zip(keys, restore_small_caps(verses["es"], openings),
                               restore_small_caps(verses["en"], openings)):
            if es and en:
                writer.writerow([*key, es, en])


@functools.lru_cache(maxsize=1)
def pairs():
    """Every aligned verse as `(book, chapter, verse, spanish, english)`, in canonical order."""
    target = built_once(data_dir() / "bible" / TSV, lambda scratch: _convert(fetch(), scratch))
    if hashlib.sha256(target.read_bytes()).hexdigest() != TSV_SHA256:
        raise DataUnavailable(f"{target}: sha256 differs from the expected {TSV_SHA256}; delete it to convert again")
    with target.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return tuple((book, int(chapter), int(verse), es, en) for book, chapter, verse, es, en in rows)


def load(split):
    """One split of the Spanish→English verse pairs: `"train"`, `"validation"`, `"test"` or `"all"`."""
    if split not in ("train", "validation", "test", "all"):
        raise ValueError(f"split must be train, validation, test or all, got {split!r}")
    chosen = [p for p in pairs() if split == "all" or split_of(p[0], p[1]) == split]
    return ParallelText(name=NAME, split=split, sources=[p[3] for p in chosen],
                        targets=[p[4] for p in chosen], references=[f"{b} {c}:{v}" for b, c, v, *_ in chosen])


def describe():
    """The dataset section of a model card."""
    return {
        "name": NAME,
        "source": "Debian packages " + ", ".join(f"{p.name}={p.version} (SWORD module {m})"
                                                 for p, m in PACKAGES.values()),
        "sha256": {p.file_name: p.sha256 for p, _ in PACKAGES.values()} | {TSV: TSV_SHA256},
        "split": SPLIT_RULE,
        "license": LICENSE,
    }
