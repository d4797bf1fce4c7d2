"""zoo.datasets.gettext_es: the pinned packages, the split by source package, the cleaning of catalogue
entries, and one real package fetched and read as the zoo reads all of them.

Expected pairs are written by hand from the messages of GNU gettext's Spanish catalogue; the package's
sha256 is the one Debian's package list gives (apt-get checks it too).
"""

import collections
import re
import zlib

import pytest

from zoo.datasets import gettext_es, registries
from zoo.datasets.parallel import ParallelText


def test_the_pinned_packages_are_many_distinct_and_checksummed():
    pinned = gettext_es.packages()
    assert len(pinned) == 1475
    assert len({p.name for p, _ in pinned}) == len(pinned)
    assert all(re.fullmatch("[0-9a-f]{64}", p.sha256) and p.architecture in ("all", "amd64") for p, _ in pinned)
    sources = {source for _, source in pinned}
    assert set(gettext_es.INDEPENDENT) <= sources and "libreoffice" in sources  # libreoffice-l10n-es
    assert {p.name for p, s in pinned if s in gettext_es.INDEPENDENT} == {"bash", "coreutils", "gettext",
                                                                         "gettext-base", "tar"}


def test_the_split_is_by_source_package_and_keeps_the_gnu_tools_out():
    for source in ("bash", "coreutils", "tar", "gettext"):
        assert gettext_es.split_of(source) == "independent"
    for _, source in gettext_es.packages():
        if source not in gettext_es.INDEPENDENT:
            bucket = zlib.crc32(source.encode()) % 20
            assert gettext_es.split_of(source) == {0: "test", 1: "validation"}.get(bucket, "train")
    splits = collections.Counter(gettext_es.split_of(s) for _, s in gettext_es.packages())
    assert splits["test"] > 30 and splits["validation"] > 30 and splits["train"] > 1000


@pytest.mark.parametrize("msgid,msgstr,pairs", [
    ("_Open", "_Abrir", [("Abrir", "Open")]),
    ("Save _As", "Gu_ardar como", [("Guardar como", "Save As")]),
    ("&Quit", "&Salir", [("Salir", "Quit")]),
    ("~Insert Rows", "~Insertar filas", [("Insertar filas", "Insert Rows")]),
    ("set file_name to %s", "pon file_name a %s", [("pon file_name a %s", "set file_name to %s")]),
    ("  -v, --verbose     explain what is being done\n  -h, --help        display this help\n",
     "  -v, --verbose     explica lo que se hace\n  -h, --help        muestra esta ayuda\n",
     [("explica lo que se hace", "explain what is being done"), ("muestra esta ayuda", "display this help")]),
    ("one\ntwo\n", "uno dos\n", []),  # lines that do not pair up
    ("%s: %s", "%s: %s", []),  # format only
    ("%s: cannot open", "%d: no se puede abrir", []),  # placeholders differ
    ("%1$s of %2$s", "%2$s de %1$s", [("%2$s de %1$s", "%1$s of %2$s")]),  # reordered, still the same two
    ("GNU", "GNU", []),
    ("gtk-cancel", "cancelar", []),  # an identifier, not a message
    ("Cancel", "Cancelar", [("Cancelar", "Cancel")]),
    ("word " * 70, "palabra " * 70, []),
])
def test_message_pairs_cleans_catalogue_entries(msgid, msgstr, pairs):
    assert gettext_es.message_pairs(msgid, msgstr) == pairs


@pytest.fixture(scope="module")
def gettext_base(tmp_path_factory):
    """Debian's gettext-base (GNU gettext's runtime tools), fetched with apt-get as the zoo fetches every package."""
    package = next(p for p, _ in gettext_es.packages() if p.name == "gettext-base")
    return registries.fetch(package, tmp_path_factory.mktemp("debs"))


def test_a_real_catalogue_is_read_out_of_its_package(gettext_base):
    catalogues = dict(gettext_es.catalogues_in(gettext_base))
    assert set(catalogues) == {"gettext-runtime"}
    messages = dict(gettext_es.messages(catalogues["gettext-runtime"]))
    assert messages["  -h, --help                  display this help and exit\n"] == (
        "  -h, --help                  muestra este texto de ayuda y finaliza\n")
    pairs = {pair for msgid, msgstr in messages.items() for pair in gettext_es.message_pairs(msgid, msgstr)}
    assert ("especifica el contexto para MSGID", "specify context for MSGID") in pairs
    assert ("-c, --context=CONTEXTO", "-c, --context=CONTEXT") in pairs
    assert all(es != en and "\n" not in es + en for es, en in pairs)
    assert {(es, en) for _, es, en in gettext_es.package_pairs(gettext_base)} == pairs


def test_undecodable_catalogues_give_no_messages():
    assert gettext_es.messages(b"not a catalogue") == []


def test_load_samples_a_fixed_subset_and_refuses_unknown_splits(monkeypatch):
    rows = tuple((f"src{i % 3}", f"pkg{i}", "d", "test", f"es {i}", f"en {i}") for i in range(50))
    monkeypatch.setattr(gettext_es, "pairs", lambda: rows)
    full, sample = gettext_es.load("test"), gettext_es.load("test", limit=10)
    assert isinstance(full, ParallelText) and len(full) == 50 and len(sample) == 10
    assert set(sample.sources) <= set(full.sources) and gettext_es.load("test", limit=10).sources == sample.sources
    assert full.references[0] == "pkg0:d" and len(gettext_es.load("train")) == 0
    with pytest.raises(ValueError, match="split must be one of"):
        gettext_es.load("dev")
