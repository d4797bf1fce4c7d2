"""Today's English for language models: package descriptions, documentation and software messages.

`zoo.datasets.english` is mostly old books; this is the text users send
today, from the package registries, pinned and checksummed:

| source | where | text |
|---|---|---|
| `descriptions` | Debian 12 package lists (`apt-get update` with `Acquire::Languages=en`) | the long descriptions of ~64 000 packages |
| `python_doc` | apt `python3.11-doc` | the Python 3.11 documentation: tutorial, library reference, how-tos |
| `messages` | `zoo.datasets.gettext_es` | the English side of the software catalogues (`msgid`s) |

Paragraphs are cut into sentences and filtered as `zoo.datasets.english`
does, deduplicated (the first kept, in the order above), and no sentence of
Brown's validation or test split, or of `english`'s, is kept.

Split (fixed, by whole source package where there is one, so held-out text
never comes from a package seen in training): `descriptions` by the
package's source package and `messages` by `gettext_es.split_of` (its
`independent` GNU packages are left out, as the translator leaves them out);
`python_doc` by blocks of `english.BLOCK` paragraphs of a page. Each with
`zlib.crc32(...) % 50`: 0 → `test`, 1 → `validation`, otherwise `train`.
"""

import collections
import functools
import hashlib
import html.parser
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

from zoo.datasets import DataUnavailable, data_dir, english, gettext_es, once, registries

NAME = "modern_english"
SPLITS = english.SPLITS
SPLIT_RULE = ('descriptions: zlib.crc32(source package) % 50, messages: gettext_es.split_of(source package), '
              'python_doc: zlib.crc32(f"{page}/{block of 5 paragraphs}") % 50; == 0 -> test, == 1 -> validation, '
              "otherwise train")
SUITE = "bookworm"  # Debian 12: its package lists change only at point releases
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
LISTS = {  # sha256 of the decompressed index, whatever compression apt stored it in
    "Translation-en": "62f59c3cdca9786e4f7adf9002f9f5729a684adcb4667e58e448dec9b5a46c7f",
    "Packages": "515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f",
}
PYTHON_DOC = registries.Package("apt", "python3.11-doc", "3.11.2-6+deb12u9",
                                "5b3594189d6ef9a6963ce0347fd307a1cc67620ad697e144db366070e2e146be")
LICENSES = {
    "descriptions": "each package's own licence (Debian main: DFSG-free)",
    "python_doc": "PSF-2.0 (Python documentation)",
    "messages": gettext_es.LICENSE,
}


def _bucket_split(key):
    return {0: "test", 1: "validation"}.get(zlib.crc32(key.encode("utf-8")) % 50, "train")


# -- Debian's package descriptions ---------------------------------------------------------------------------


def _index(kind):
    """The text of `kind` (`Translation-en` or `Packages`) of Debian main, fetched once with `apt-get update`
    into the zoo's own list directory and checked against its pinned sha256."""
    target = data_dir() / NAME / f"{SUITE}-{kind}.txt"
    once(target.parent / SUITE, target.exists, lambda: _fetch_lists(target.parent))  # one update, both indices
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != LISTS[kind]:
        raise DataUnavailable(f"{target}: sha256 {digest} differs from the expected {LISTS[kind]} (Debian has "
                              f"published a newer {SUITE} point release); delete the file to fetch it again")
    return target.read_text("utf-8")


def _fetch_lists(directory):
    if shutil.which("apt-get") is None:
        raise DataUnavailable("Debian's package descriptions are fetched with apt-get, which is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    print("fetching Debian's English package descriptions with apt-get update ...", flush=True)
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        lists = Path(scratch)
        (lists / "partial").mkdir()
        sources = lists / "sources.list"
        sources.write_text(f"deb [signed-by={KEYRING}] http://deb.debian.org/debian {SUITE} main\n")
        done = subprocess.run(["apt-get", f"-o=Dir::State::Lists={lists}", f"-o=Dir::Etc::SourceList={sources}",
                               "-o=Dir::Etc::SourceParts=-", "-o=Acquire::Languages=en",
                               "-o=APT::Architecture=amd64", "update"], capture_output=True, text=True)
        if done.returncode != 0:
            raise DataUnavailable(f"apt-get update failed: {' '.join(done.stderr.split())[-500:]}")
        for kind, pattern in (("Translation-en", "*_main_i18n_Translation-en*"),
                              ("Packages", "*_main_binary-amd64_Packages*")):
            found = sorted(lists.glob(pattern))
            if not found:
                raise DataUnavailable(f"apt-get update left no {kind} index in {lists}")
            text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", str(found[0])], check=True,
                                  capture_output=True).stdout
            (lists / kind).write_bytes(text)
            (lists / kind).replace(directory / f"{SUITE}-{kind}.txt")


def _stanzas(text):
    for block in text.split("\n\n"):
        fields, name = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and name:
                fields[name] += "\n" + line
            elif ":" in line:
                name, value = line.split(":", 1)
                fields[name] = value.strip()
        if fields:
            yield fields


def description_paragraphs(long_description):
    """The prose paragraphs of a Debian long description: ` .` lines separate paragraphs, lines indented by
    more than one space are verbatim (lists, commands) and dropped, `*`/`-` bullets become paragraphs.

    >>> description_paragraphs(" GNU tar saves files.\\n It restores them.\\n .\\n  $ tar cf x\\n * fast\\n")
    ['GNU tar saves files. It restores them.', 'fast']
    """
    paragraphs, lines = [], []
    for line in long_description.splitlines():
        if line.startswith("  ") or line.strip() == ".":
            paragraphs.append(lines)
            lines = []
        elif line.lstrip().startswith(("* ", "- ", "o ")):
            paragraphs.append(lines)
            lines = [line.lstrip()[2:]]
        else:
            lines.append(line.strip())
    paragraphs.append(lines)
    return [" ".join(" ".join(p).split()) for p in paragraphs if p and " ".join(p).strip()]


def _descriptions():
    source_of = {f["Package"]: f.get("Source", f["Package"]).split()[0] for f in _stanzas(_index("Packages"))
                 if "Package" in f}
    for fields in _stanzas(_index("Translation-en")):
        package, text = fields.get("Package"), fields.get("Description-en", "")
        if package and "\n" in text:
            source = source_of.get(package, package)
            split = _bucket_split(source)
            for paragraph in description_paragraphs(text.split("\n", 1)[1]):
                yield split, paragraph


# -- the Python documentation --------------------------------------------------------------------------------


class _ProseOfPage(html.parser.HTMLParser):
    """The text of every `<p>` of a Sphinx page outside code blocks, one paragraph each."""

    def __init__(self):
        super().__init__()
        self.paragraphs, self._depth, self._text = [], 0, None

    def handle_starttag(self, tag, attrs):
        if tag == "p" and self._depth == 0:
            self._text = []
        if tag in ("pre", "script", "style"):
            self._depth += 1

    def handle_endtag(self, tag):
        if tag in ("pre", "script", "style"):
            self._depth = max(0, self._depth - 1)
        if tag == "p" and self._text is not None:
            self.paragraphs.append(" ".join("".join(self._text).split()))
            self._text = None

    def handle_data(self, data):
        if self._text is not None and self._depth == 0:
            self._text.append(data)


def page_paragraphs(page):
    """The prose paragraphs of an HTML page of the Python documentation (code blocks left out).

    >>> page_paragraphs("<p>Use <code>len()</code> here.</p><pre>x = 1</pre><p>Done now.</p>")
    ['Use len() here.', 'Done now.']
    """
    parser = _ProseOfPage()
    parser.feed(page)
    return [p for p in parser.paragraphs if p]


def _python_doc():
    root = data_dir() / NAME / "python_doc"
    html_root = registries.unpacked(PYTHON_DOC, registries.fetch(PYTHON_DOC, data_dir() / NAME), root) \
        / "usr" / "share" / "doc" / "python3.11" / "html"
    for path in sorted(html_root.rglob("*.html")):
        page = path.relative_to(html_root).as_posix()
        if page.startswith(("genindex", "py-modindex", "_")):
            continue
        for number, paragraph in enumerate(page_paragraphs(path.read_text("utf-8", errors="replace"))):
            yield english.split_of("python_doc", page, number // english.BLOCK), paragraph


# -- the software catalogues' English ------------------------------------------------------------------------


def _messages():
    for split in SPLITS:
        for message in dict.fromkeys(gettext_es.load(split).targets):
            yield split, message


SOURCES = {"descriptions": _descriptions, "python_doc": _python_doc, "messages": _messages}


def _sentences():
    """`(source, split, sentence)`, deduplicated, in the fixed order, none of the held-out old text."""
    seen = {english.sentence_key(s) for split in ("validation", "test") for s in english.load(split)}
    seen |= english.brown_held_out_keys()
    for source, paragraphs in SOURCES.items():
        for split, paragraph in paragraphs():
            for sentence in english.sentences_of(paragraph):
                key = english.sentence_key(sentence)
                if key not in seen:
                    seen.add(key)
                    yield source, split, sentence


@functools.lru_cache(maxsize=1)
def _table():
    """Every sentence, converted once into `modern_english.tsv` (source, split, sentence)."""
    return english.table(data_dir() / NAME / f"{NAME}.tsv", _sentences)


def load(split, sources=None):
    """The sentences (raw strings) of a split, from `sources` (default: all), in the fixed order."""
    return english.select(_table, split, sources, SOURCES)


def describe():
    """The dataset section of a model card: sources with packages, licences and words per split."""
    table = data_dir() / NAME / f"{NAME}.tsv"
    words = collections.Counter()
    for source, split, sentence in _table():
        words[source, split] += len(sentence.split())
    return {
        "name": NAME,
        "source": (f"descriptions: Debian {SUITE} main Translation-en (with Packages for source packages); "
                   f"python_doc: {PYTHON_DOC}; messages: {gettext_es.NAME} (English side)"),
        "license": LICENSES,
        "sha256": {f"{SUITE}-{kind}.txt": digest for kind, digest in LISTS.items()}
        | {PYTHON_DOC.file_name: PYTHON_DOC.sha256, table.name: hashlib.sha256(table.read_bytes()).hexdigest()},
        "split": SPLIT_RULE,
        "words": {source: {split: words[source, split] for split in SPLITS} for source in SOURCES},
    }
