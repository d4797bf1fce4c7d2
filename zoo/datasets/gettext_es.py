"""Spanish–English pairs from the gettext catalogues of Debian's packages: the text of today's software.

Every Debian binary package that ships a Spanish message catalogue
(`usr/share/locale/es/LC_MESSAGES/*.mo`, LibreOffice's under
`usr/lib/libreoffice/program/resource/es/`) and whose `.deb` is at most
10 MB is pinned by version, machine type and sha256 in
`gettext_es_packages.json` (1 475 packages of Debian 12 "bookworm": GNU
tools, GNOME, KDE, Xfce and LibreOffice's interface, games, compilers...;
the list was made with `apt-file search` on that pattern and `apt-cache
show`'s sizes). The zoo fetches them with apt's own client (`apt-get
download`), reads only the catalogues out of each package
(`dpkg-deb --fsys-tarfile`, streamed) and the standard `gettext` module
reads each catalogue: the `msgid` is English, the `msgstr` Spanish.

Cleaning, message by message (`message_pairs`):

- the context (`ctx\\x04msgid`, or `Context|text` where the Spanish side has none) is dropped; of a plural
  entry, the singular;
- a help block is paired line by line, and a line column by column (runs
  of two or more spaces separate an option from its description), only
  where both sides have as many lines (columns);
- accelerator marks (`_Open`, `&Open`, `~Open`, `Gu_ardar`) are removed,
  unless the marked word is written as-is on the other side (an identifier
  such as `file_name`);
- dropped: pairs with equal sides, sides without two letters outside
  placeholders (format-only strings such as `%s: %s`), single tokens that
  look like identifiers (`gtk-ok`, `org.gnome.x`), pairs whose printf/brace
  placeholders differ (`%s` against `%d`, positions such as `%2$s` aside),
  sides over `MAX_WORDS` words, and sides more than 3 times as long as the
  other;
- duplicates (the same pair in several packages) are kept once, the first in
  package order.

Split (fixed, by whole *source* package, so that no test message comes from
a package seen in training): the source packages of GNU bash, coreutils, tar
and gettext are `independent` (never trained on, kept for an independent
check); otherwise `zlib.crc32(source package) % 20` is 0 → `test`, 1 →
`validation`, else `train`. A validation or test pair whose Spanish side is
also a training pair's (`Cancelar`, in every program) is dropped, so the
held-out splits measure translation rather than recall.

>>> split_of("bash"), split_of("gimp")
('independent', 'train')
"""

import collections
import csv
import functools
import gettext
import hashlib
import io
import json
import re
import subprocess
import tarfile
import zlib
from pathlib import Path

import keras

from zoo.datasets import DataUnavailable, built_once, data_dir, registries
from zoo.datasets.parallel import ParallelText

NAME = "gettext_es_en"
PACKAGES_FILE = Path(__file__).with_name("gettext_es_packages.json")
INDEPENDENT = ("bash", "coreutils", "tar", "gettext")  # source packages never trained on
SPLITS = ("train", "validation", "test", "independent")
SPLIT_RULE = ("by source package: bash, coreutils, tar and gettext -> independent (never trained on); otherwise "
              "zlib.crc32(source package) % 20 == 0 -> test, == 1 -> validation, else train; validation and test "
              "pairs whose Spanish side is a train pair's are dropped")
TSV = "es-en.tsv"
TSV_SHA256 = "597b21684495cad6c6dfe99e655c672319a4fad1ce98ae99359829d654fd95dd"
MAX_WORDS = 60
LICENSE = ("the licences of the packages' translations (GPL, LGPL, MPL and other free licences; each package's "
           "copyright file in Debian)")
_CATALOGUE = re.compile(r"\./usr/(?:share/locale|lib/libreoffice/program/resource)/es/LC_MESSAGES/[^/]+\.mo")
_PLACEHOLDER = re.compile(r"%(?:\d+\$)?[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|L|q|j|z|t)?"
                          r"[diouxXeEfFgGcspaA]|%\(\w+\)[a-z]|\{\w*\}|%[A-Z][A-Z_]+|\$\(\w+\)|%\d+")
_POSITION = re.compile(r"(?<=%)\d+\$")
_IDENTIFIER = re.compile(r"\S*[_./:@]\S*|[a-z0-9]+(?:-[a-z0-9]+)+")
_COLUMNS = re.compile(r"\s{2,}|\t")
_OLD_CONTEXT = re.compile(r"[A-Za-z]+\|(?=\S)")  # "FileOperation|Copy": a context written into the msgid
_MARKED_WORD = {marker: re.compile(rf"\S*{re.escape(marker)}(?!amp;|lt;|gt;|quot;|nbsp;)[^\W_]\S*")
                for marker in "_&~"}


def packages():
    """The pinned packages, `[(registries.Package, source package)]`, in name order."""
    rows = json.loads(PACKAGES_FILE.read_text("utf-8"))
    return [(registries.Package("apt", name, version, sha256, architecture), source)
            for name, version, architecture, sha256, source in rows]


def split_of(source_package):
    """The split of every message of a Debian source package (see `SPLIT_RULE`)."""
    if source_package in INDEPENDENT:
        return "independent"
    return {0: "test", 1: "validation"}.get(zlib.crc32(source_package.encode("utf-8")) % 20, "train")


def catalogues_in(deb):
    """`(domain, catalogue bytes)` of every Spanish catalogue in a `.deb`, read from its data stream."""
    unpack = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    try:
        with tarfile.open(fileobj=unpack.stdout, mode="r|") as members:
            for member in members:
                if member.isfile() and _CATALOGUE.fullmatch(member.name):
                    yield Path(member.name).stem, members.extractfile(member).read()
    finally:
        unpack.stdout.close()
        unpack.wait()


def messages(catalogue):
    """`(msgid, msgstr)` of a compiled catalogue, without contexts, plurals' other forms and the header;
    nothing for a catalogue `gettext` cannot decode (a few old ones are Latin-1, or name no charset)."""
    try:
        entries = gettext.GNUTranslations(io.BytesIO(catalogue))._catalog
    except (UnicodeDecodeError, LookupError, OSError):
        return []
    pairs = []
    for key, text in entries.items():
        if isinstance(key, tuple):
            if key[1] != 0:
                continue
            key = key[0]
        key = key.split("\x04")[-1]
        if _OLD_CONTEXT.match(key) and not _OLD_CONTEXT.match(text):
            key = _OLD_CONTEXT.sub("", key, count=1)
        if key and text:
            pairs.append((key, text))
    return pairs


def without_accelerators(text, other):
    """`text` without its accelerator marks (`_`, `&`, `~` before a letter, one of a kind), unless the
    marked word appears as-is in `other` (an identifier, not an accelerator).

    >>> without_accelerators("Gu_ardar como", "Save _As"), without_accelerators("file_name", "use file_name")
    ('Guardar como', 'file_name')
    """
    for marker, word in _MARKED_WORD.items():
        marked = word.findall(text)
        if len(marked) == 1 and marked[0] not in other.split():
            text = text.replace(marked[0], marked[0].replace(marker, "", 1), 1)
    return text


def _placeholders(text):
    return sorted(_POSITION.sub("", p) for p in _PLACEHOLDER.findall(text))


def _usable(english, spanish):
    """Whether a cleaned pair is a translation worth learning (the module's docstring lists what is dropped)."""
    format_only = not re.search(r"[A-Za-z]{2}", _PLACEHOLDER.sub(" ", english))
    identifier = " " not in english and _IDENTIFIER.fullmatch(english)
    too_long = max(len(english.split()), len(spanish.split())) > MAX_WORDS
    lopsided = len(english) > 3 * len(spanish) + 10 or len(spanish) > 3 * len(english) + 10
    return (english != spanish and bool(spanish) and not (format_only or identifier or too_long or lopsided)
            and _placeholders(english) == _placeholders(spanish))


def message_pairs(msgid, msgstr):
    """The cleaned `(spanish, english)` pairs of one catalogue entry (see the module's docstring).

    >>> message_pairs("  -v, --verbose   explain what is being done\\n", "  -v, --verbose   explica lo que se hace\\n")
    [('explica lo que se hace', 'explain what is being done')]
    >>> message_pairs("_Open %s", "_Abrir %d")
    []
    """
    english_lines = [line for line in msgid.split("\n") if line.strip()]
    spanish_lines = [line for line in msgstr.split("\n") if line.strip()]
    if len(english_lines) != len(spanish_lines):
        return []
    pairs = []
    for english_line, spanish_line in zip(english_lines, spanish_lines):
        english_columns = _COLUMNS.split(english_line.strip())
        spanish_columns = _COLUMNS.split(spanish_line.strip())
        if len(english_columns) != len(spanish_columns):
            continue
        for english, spanish in zip(english_columns, spanish_columns):
            english = without_accelerators(" ".join(english.split()), spanish)
            spanish = without_accelerators(" ".join(spanish.split()), english)
            if _usable(english, spanish):
                pairs.append((spanish, english))
    return pairs


def package_pairs(deb):
    """`(domain, spanish, english)` of every cleaned message in one `.deb`, in catalogue order."""
    for domain, catalogue in catalogues_in(deb):
        for msgid, msgstr in messages(catalogue):
            for spanish, english in message_pairs(msgid, msgstr):
                yield domain, spanish, english


def _rows():
    """`(source package, package, domain, split, spanish, english)` of every package, deduplicated."""
    root = data_dir() / "gettext_es"
    pinned = packages()
    debs = registries.fetch_all([package for package, _ in pinned], root / "debs",
                                hint="the catalogues come from Debian's packages")
    print(f"reading the Spanish catalogues of {len(pinned)} packages (once):", flush=True)
    progress = keras.utils.Progbar(len(pinned), unit_name="package")
    seen, rows = set(), []
    for (package, source), deb in zip(pinned, debs):
        split = split_of(source)
        for domain, spanish, english in package_pairs(deb):
            if (spanish, english) not in seen:
                seen.add((spanish, english))
                rows.append((source, package.name, domain, split, spanish, english))
        progress.add(1)
    trained = {spanish for *_, split, spanish, _ in rows if split == "train"}
    return [row for row in rows if row[3] not in ("validation", "test") or row[4] not in trained]


def _convert(scratch):
    with scratch.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writerows(_rows())


@functools.lru_cache(maxsize=1)
def pairs():
    """Every cleaned pair as `(source package, package, domain, split, spanish, english)`, converted once."""
    target = built_once(data_dir() / "gettext_es" / TSV, _convert)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != TSV_SHA256:
        raise DataUnavailable(f"{target}: sha256 {digest} differs from the expected {TSV_SHA256}; delete it to "
                              "convert the packages again")
    with target.open(encoding="utf-8", newline="") as f:
        return tuple(tuple(row) for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))


def load(split, limit=None):
    """The pairs of a split (`SPLITS`, or `"all"`), Spanish → English, in package order.

    `limit`: at most this many, chosen by a hash of each pair (a fixed sample, the same on every machine).
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {SPLITS} or all, got {split!r}")
    chosen = [row for row in pairs() if split == "all" or row[3] == split]
    if limit is not None and len(chosen) > limit:
        ranked = sorted(range(len(chosen)), key=lambda i: zlib.crc32("\t".join(chosen[i][4:]).encode("utf-8")))
        chosen = [chosen[i] for i in sorted(ranked[:limit])]
    return ParallelText(name=NAME, split=split, sources=[row[4] for row in chosen],
                        targets=[row[5] for row in chosen],
                        references=[f"{package}:{domain}" for _, package, domain, *_ in chosen])


def describe():
    """The dataset section of a model card: packages, split rule and pairs per split."""
    counts = collections.Counter(row[3] for row in pairs())
    return {
        "name": NAME,
        "source": f"Spanish gettext catalogues of {len(packages())} Debian 12 packages ({PACKAGES_FILE.name})",
        "sha256": {PACKAGES_FILE.name: hashlib.sha256(PACKAGES_FILE.read_bytes()).hexdigest(), TSV: TSV_SHA256},
        "split": SPLIT_RULE,
        "pairs": {split: counts[split] for split in SPLITS},
        "license": LICENSE,
    }
