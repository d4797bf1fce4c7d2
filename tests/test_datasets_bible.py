"""zoo.datasets.bible and the file side of zoo.datasets.parallel: the verse pairs, their split, users' TSV files.

Expected verses are written by hand from the printed King James Version and Reina-Valera 1909;
the checksums of the two Debian packages were computed with `sha256sum` on the downloaded files.
"""

import collections
import hashlib
import itertools
import random
import re
import shutil
import zlib

import pytest

from zoo.datasets import bible, registries
from zoo.datasets.parallel import FILE_SPLIT_RULE, ParallelText, read_pairs_file

SPARV_DEB = ("sword-text-sparv_2.60-1_all.deb", "5c87f9b2bc97457e8a872f5bae7ea7ce59cb3de1dcee73e4d4740451863694cf")
KJV_DEB = ("sword-text-kjv_14.3-1_all.deb", "9f463f28ce665f6f528fc723179722bced880a4c5485f7a41bf742838315de57")
SPLITS = ("train", "validation", "test")


def _rule(book, chapter):
    """The documented split rule, written out again."""
    return {0: "test", 1: "validation"}.get(zlib.crc32(f"{book} {chapter}".encode()) % 20, "train")


def _letters(word):
    return "".join(c for c in word if c.isalpha())


@pytest.fixture(scope="module")
def verses(bible_pairs):
    """`(book, chapter, verse)` → `(spanish, english)`."""
    return {(b, c, v): (es, en) for b, c, v, es, en in bible_pairs}


@pytest.fixture
def fresh_cache():
    """`bible.pairs()` reads its file again inside the test, and again after it (the session's copy)."""
    bible.pairs.cache_clear()
    yield
    bible.pairs.cache_clear()


# --- clean_verse and restore_small_caps on hand-written text ---------------------------------------


@pytest.mark.parametrize("raw,clean", [
    ("¶ And the \\nd LORD\\nd*  said ", "And the LORD said"),
    ("In\tthe\nbeginning  God", "In the beginning God"),
    ("¶ Y dijo Dios: Sea la luz", "Y dijo Dios: Sea la luz"),
    ("the \\add words\\add* added", "the words added"),
    ("Jesus wept.", "Jesus wept."),
    ("  ¶  ", ""),
    ("", ""),
])
def test_clean_verse(raw, clean):
    assert bible.clean_verse(raw) == clean


def test_restore_small_caps_writes_the_usual_casing():
    verses = ["EN el principio crió Dios", "en el mundo", "y en la tierra", "Y FUERON acabados", "y fueron",
              "fueron hechos", "Y JEHOVÁ dijo", "dijo Jehová", "oh Jehová"]
    assert bible.restore_small_caps(verses) == [
        "En el principio crió Dios", "en el mundo", "y en la tierra", "Y fueron acabados", "y fueron",
        "fueron hechos", "Y Jehová dijo", "dijo Jehová", "oh Jehová"]


def test_restore_small_caps_keeps_words_usually_in_capitals():
    verses = ["Y JAH reinará", "alabad á JAH", "cantad á JAH", "el LORD said", "LORD, hear", "the LORD is"]
    assert bible.restore_small_caps(verses) == verses


def test_restore_small_caps_leaves_the_rest_of_the_verse_alone():
    verses = ["dijo el SEÑOR: ESCUCHAD", "el señor", "escuchad"]
    assert bible.restore_small_caps(verses) == verses


def test_restore_small_caps_keeps_a_capital_after_opening_punctuation():
    """"¿Y" and "(Y" open a sentence: their capital is a capital, not small capitals."""
    verses = ["¿Y quién subirá?", "(Y dijo él)", "dijo: ¿y quién?", "pues (y dijo) no", "oyó ¿y quién?"]
    assert bible.restore_small_caps(verses) == verses


def test_restore_small_caps_sees_the_word_behind_punctuation():
    """"CONVIÉRTETE," is the word "conviértete" followed by a comma."""
    verses = ["CONVIÉRTETE, oh Israel", "conviértete á mí", "¿OSA alguno?", "no osa"]
    assert bible.restore_small_caps(verses) == ["Conviértete, oh Israel", "conviértete á mí", "¿Osa alguno?",
                                                "no osa"]


# --- the split rule ------------------------------------------------------------------------------


def test_split_of_chapters():
    assert bible.split_of("Genesis", 1) == "validation"
    assert bible.split_of("Genesis", 2) == "train"
    for book in ("Genesis", "Psalms", "John", "Revelation of John"):
        for chapter in range(1, 40):
            assert bible.split_of(book, chapter) == _rule(book, chapter), (book, chapter)


def test_load_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="bogus"):
        bible.load("bogus")


def test_describe():
    card = bible.describe()
    assert card["name"] == "bible_es_en"
    assert card["sha256"] == {SPARV_DEB[0]: SPARV_DEB[1], KJV_DEB[0]: KJV_DEB[1], "es-en.tsv": bible.TSV_SHA256}
    assert re.fullmatch(r"[0-9a-f]{64}", bible.TSV_SHA256)
    assert card["split"] == bible.SPLIT_RULE
    assert 'zlib.crc32(f"{book} {chapter}".encode()) % 20 == 0 -> test' in card["split"]
    assert "== 1 -> validation" in card["split"] and "otherwise train" in card["split"]
    assert "sword-text-sparv=2.60-1" in card["source"] and "sword-text-kjv=14.3-1" in card["source"]
    assert "public domain" in card["license"]


# --- the real verses -------------------------------------------------------------------------------


@pytest.mark.slow
def test_pair_count_and_order(bible_pairs):
    assert len(bible_pairs) == bible.PAIRS == 31_084
    keys = [(b, c, v) for b, c, v, _, _ in bible_pairs]
    assert len(set(keys)) == len(keys)
    assert keys[0] == ("Genesis", 1, 1) and keys[-1] == ("Revelation of John", 22, 21)
    books = list(dict.fromkeys(b for b, _, _ in keys))
    assert len(books) == 66 and books[38:40] == ["Malachi", "Matthew"]
    for previous, key in itertools.pairwise(keys):
        if previous[0] == key[0]:
            assert previous[1:] < key[1:], (previous, key)


@pytest.mark.slow
def test_files_are_fetched_and_verified(bible_pairs, zoo_data_dir):
    root = zoo_data_dir / "bible"
    for name, digest in (SPARV_DEB, KJV_DEB):
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest
    assert hashlib.sha256((root / "es-en.tsv").read_bytes()).hexdigest() == bible.TSV_SHA256
    assert bible.pairs() is bible.pairs() and bible.pairs() == bible_pairs  # cached: read once


KNOWN_VERSES = {
    ("Genesis", 1, 1): ("En el principio crió Dios los cielos y la tierra.",
                        "In the beginning God created the heaven and the earth."),
    ("Genesis", 1, 3): ("Y dijo Dios: Sea la luz: y fué la luz.",
                        "And God said, Let there be light: and there was light."),
    ("Genesis", 2, 1): ("Y fueron acabados los cielos y la tierra, y todo su ornamento.",
                        "Thus the heavens and the earth were finished, and all the host of them."),
    ("Exodus", 20, 13): ("No matarás.", "Thou shalt not kill."),
    ("John", 1, 1): ("En el principio era el Verbo, y el Verbo era con Dios, y el Verbo era Dios.",
                     "In the beginning was the Word, and the Word was with God, and the Word was God."),
    ("John", 3, 16): (("Porque de tal manera amó Dios al mundo, que ha dado á su Hijo unigénito, para que todo "
                       "aquel que en él cree, no se pierda, mas tenga vida eterna."),
                      ("For God so loved the world, that he gave his only begotten Son, that whosoever believeth "
                       "in him should not perish, but have everlasting life.")),
    ("John", 11, 35): ("Y lloró Jesús.", "Jesus wept."),
    ("Revelation of John", 22, 21): ("La gracia de nuestro Señor Jesucristo sea con todos vosotros. Amén.",
                                     "The grace of our Lord Jesus Christ be with you all. Amen."),
}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(KNOWN_VERSES), ids=[f"{b} {c}:{v}" for b, c, v in KNOWN_VERSES])
def test_well_known_verses(verses, key):
    assert verses[key] == KNOWN_VERSES[key]


@pytest.mark.slow
def test_well_known_english_verses(verses):
    assert verses[("Psalms", 23, 1)][1] == "The LORD is my shepherd; I shall not want."
    assert verses[("Psalms", 140, 7)][1] == ("O GOD the Lord, the strength of my salvation, thou hast covered my "
                                             "head in the day of battle.")


@pytest.mark.slow
def test_words_added_by_the_translators_are_separate_words(verses):
    """RV1909 marks words it supplies (printed in italics, `<transChange>`); they are words like the others."""
    expected = {
        ("Genesis", 2, 12): "hay allí también bdelio y piedra cornerina.",
        ("Genesis", 5, 3): "y engendró un hijo á su semejanza",
        ("Genesis", 7, 4): "Porque pasados aún siete días",
        ("Psalms", 132, 1): "de David, y de toda su aflicción",
    }
    wrong = {key: verses[key][0] for key, text in expected.items() if text not in verses[key][0]}
    assert not wrong, wrong


@pytest.mark.slow
def test_verses_are_plain_text(bible_pairs):
    for book, chapter, verse, es, en in bible_pairs:
        for text in (es, en):
            assert text and text == text.strip(), (book, chapter, verse, text)
            assert "¶" not in text and "\\" not in text and "  " not in text, (book, chapter, verse, text)
            assert not re.search(r"[\t\n\r<>]", text), (book, chapter, verse, text)


@pytest.mark.slow
def test_every_verse_starts_with_a_capital(bible_pairs):
    """Both Bibles capitalise the first letter of every verse, after any "¿" or "("."""
    lower = [(b, c, v, text[:30]) for b, c, v, es, en in bible_pairs for text in (es, en)
             if not re.match(r"\W*[^\W\d_]", text) or re.match(r"\W*([^\W\d_])", text).group(1).islower()]
    assert not lower, f"{len(lower)} verses, e.g. {lower[:5]}"


@pytest.mark.slow
def test_capitals_of_the_text_itself_are_kept(verses):
    """Psalm 119's Hebrew letter headings (ALEPH. ... TAU.) are capitals in RV1909, and stay so, as does the
    capital of the word after them."""
    headings = {v: verses[("Psalms", 119, v)][0] for v in range(1, 177, 8)}
    assert len(headings) == 22
    wrong = {v: text[:20] for v, text in headings.items() if not re.match(r"[A-ZÁÉÍÓÚÑ]{2,}\.? [A-ZÁÉÍÓÚÑ¿¡]", text)}
    assert not wrong, wrong


@pytest.mark.slow
def test_spanish_chapter_openings_are_not_in_small_capitals(verses):
    assert verses[("Genesis", 1, 1)][0].startswith("En el principio crió")
    assert verses[("Genesis", 2, 1)][0].startswith("Y fueron acabados")
    assert verses[("John", 1, 1)][0].startswith("En el principio era")
    # Every capitalised word opening a chapter whose ordinary spelling the text uses elsewhere is written so.
    ordinary = {_letters(w).lower() for es, _ in verses.values() for w in es.split() if not w.isupper()}
    in_capitals = []
    for (book, chapter, verse), (es, _) in verses.items():
        if verse != 1:
            continue
        for word in es.split()[:3]:
            if not word.isupper():
                break
            if len(_letters(word)) > 1 and _letters(word).lower() in ordinary:
                in_capitals.append((book, chapter, es[:30]))
    assert not in_capitals, in_capitals


# --- the split of the real verses ----------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(bible_pairs):
    return {split: bible.load(split) for split in (*SPLITS, "all")}


def _chapter(reference):
    book, chapter_verse = reference.rsplit(" ", 1)
    return book, int(chapter_verse.split(":")[0])


@pytest.mark.slow
def test_split_sizes(loaded):
    sizes = {split: len(loaded[split]) for split in SPLITS}
    assert sizes == {"train": 28_025, "validation": 1_576, "test": 1_483}
    assert len(loaded["all"]) == sum(sizes.values()) == 31_084
    for split in ("validation", "test"):
        assert 0.04 < sizes[split] / 31_084 < 0.06
    for split, data in loaded.items():
        assert data.name == "bible_es_en" and data.split == split
        assert len(data.sources) == len(data.targets) == len(data.references) == len(data)


@pytest.mark.slow
def test_every_chapter_is_in_one_split_by_the_rule(loaded):
    split_of_chapter = collections.defaultdict(set)
    for split in SPLITS:
        for reference in loaded[split].references:
            split_of_chapter[_chapter(reference)].add(split)
    assert len(split_of_chapter) == 1_189
    assert all(len(s) == 1 for s in split_of_chapter.values())
    assert {chapter: s.pop() for chapter, s in split_of_chapter.items()} == {
        chapter: _rule(*chapter) for chapter in split_of_chapter}


@pytest.mark.slow
def test_splits_are_disjoint_and_cover_the_verses(loaded, bible_pairs):
    references = [ref for split in SPLITS for ref in loaded[split].references]
    assert len(references) == len(set(references))
    assert set(references) == set(loaded["all"].references) == {f"{b} {c}:{v}" for b, c, v, _, _ in bible_pairs}
    everything = dict(zip(loaded["all"].references, zip(loaded["all"].sources, loaded["all"].targets)))
    assert everything["John 11:35"] == ("Y lloró Jesús.", "Jesus wept.")
    for split in SPLITS:
        data = loaded[split]
        assert all(everything[r] == (s, t) for r, s, t in zip(data.references, data.sources, data.targets))
    assert loaded["validation"].references[0] == "Genesis 1:1"  # Genesis 1 is a validation chapter
    assert loaded["train"].references[0] == "Genesis 2:1"


# --- the checksums on disk ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_corrupted_tsv_is_refused(bible_pairs, zoo_data_dir, tmp_path, monkeypatch, fresh_cache):
    copy = tmp_path / "bible" / "es-en.tsv"
    copy.parent.mkdir()
    data = (zoo_data_dir / "bible" / "es-en.tsv").read_bytes()
    assert data.count(b"\tJesus wept.\n") == 1
    corrupted = data.replace(b"\tJesus wept.\n", b"\tJesus wept!\n")
    copy.write_bytes(corrupted)
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    monkeypatch.setattr(bible, "fetch", lambda: pytest.fail("a present TSV must not be fetched again"))
    with pytest.raises(RuntimeError, match="sha256") as err:
        bible.pairs()
    assert str(copy) in str(err.value)
    assert copy.read_bytes() == corrupted  # not silently replaced


@pytest.mark.slow
def test_an_intact_tsv_copy_is_read_without_fetching(bible_pairs, zoo_data_dir, tmp_path, monkeypatch,
                                                     fresh_cache):
    (tmp_path / "bible").mkdir()
    shutil.copy(zoo_data_dir / "bible" / "es-en.tsv", tmp_path / "bible" / "es-en.tsv")
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    monkeypatch.setattr(bible, "fetch", lambda: pytest.fail("a present TSV must not be fetched again"))
    assert bible.pairs() == bible_pairs


@pytest.mark.slow
def test_a_corrupted_deb_is_refused(bible_pairs, zoo_data_dir, tmp_path, monkeypatch):
    root = tmp_path / "bible"
    root.mkdir()
    for name, _ in (SPARV_DEB, KJV_DEB):
        shutil.copy(zoo_data_dir / "bible" / name, root / name)
    data = bytearray((root / SPARV_DEB[0]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / SPARV_DEB[0]).write_bytes(bytes(data))
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    monkeypatch.setattr(registries, "_download", lambda *args: pytest.fail("a present .deb must not be downloaded"))
    with pytest.raises(RuntimeError, match="sha256") as err:
        bible.fetch()
    assert str(root / SPARV_DEB[0]) in str(err.value)
    assert not (root / "sword").exists()  # nothing unpacked from it


# --- users' TSV files ------------------------------------------------------------------------------


def _write(tmp_path, text, name="pairs.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_pairs_file(tmp_path):
    path = _write(tmp_path, "Dios es luz.\tGod is light.\n\n   \t  \n  En   el principio \t In the  beginning \n"
                            "Y lloró Jesús.\tJesus wept.\n")
    data = read_pairs_file(path)
    assert isinstance(data, ParallelText)
    assert data.name == "pairs" and data.split == "all" and len(data) == 3
    assert data.sources == ["Dios es luz.", "En el principio", "Y lloró Jesús."]
    assert data.targets == ["God is light.", "In the beginning", "Jesus wept."]
    assert data.references == ["pairs.tsv:1", "pairs.tsv:4", "pairs.tsv:5"]


def test_read_pairs_file_with_bom_and_crlf(tmp_path):
    path = tmp_path / "windows.tsv"
    path.write_bytes("\ufeffluz\tlight\r\nDios\tGod\r\n".encode())
    data = read_pairs_file(path)
    assert data.sources == ["luz", "Dios"] and data.targets == ["light", "God"]
    assert data.references == ["windows.tsv:1", "windows.tsv:2"]


@pytest.mark.parametrize("bad_line", [
    "solo una columna",
    "una\ttwo\tdrei",
    "fuente\t",
    "\ttarget",
    "fuente\t   ",
    "   \ttarget",
])
def test_read_pairs_file_rejects_a_bad_line(tmp_path, bad_line):
    path = _write(tmp_path, f"luz\tlight\n\n{bad_line}\nDios\tGod\n")
    with pytest.raises(ValueError) as err:
        read_pairs_file(path)
    assert f"{path}:3" in str(err.value)


def test_read_pairs_file_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("luz\tlight\ncafé\tcoffee\n".encode("latin-1"))
    with pytest.raises(ValueError, match="UTF-8") as err:
        read_pairs_file(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text", ["", "\n\n", "  \n\t\n"])
def test_read_pairs_file_rejects_a_file_without_pairs(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError) as err:
        read_pairs_file(path)
    assert str(path) in str(err.value)


def _numbered_lines(count):
    return [f"frase número {i}\tsentence number {i}" for i in range(count)]


def _pairs_of(data):
    return set(zip(data.sources, data.targets))


def test_file_splits_are_disjoint_cover_the_file_and_follow_the_rule(tmp_path):
    lines = _numbered_lines(400)
    path = _write(tmp_path, "\n".join(lines) + "\n")
    everything = read_pairs_file(path)
    splits = {split: read_pairs_file(path, split) for split in SPLITS}
    assert sum(len(d) for d in splits.values()) == len(everything) == 400
    assert all(len(d) > 0 for d in splits.values())
    assert set.union(*map(_pairs_of, splits.values())) == _pairs_of(everything)
    assert not (_pairs_of(splits["train"]) & _pairs_of(splits["test"])
                or _pairs_of(splits["train"]) & _pairs_of(splits["validation"])
                or _pairs_of(splits["validation"]) & _pairs_of(splits["test"]))
    for split, data in splits.items():
        assert data.split == split
        for source, reference in zip(data.sources, data.references):
            assert {0: "test", 1: "validation"}.get(zlib.crc32(source.encode()) % 20, "train") == split
            assert lines[int(reference.split(":")[1]) - 1].startswith(source + "\t")
    assert "zlib.crc32(source line) % 20 == 0 -> test" in FILE_SPLIT_RULE


def test_a_pair_keeps_its_split_when_lines_are_shuffled(tmp_path):
    lines = _numbered_lines(300)
    shuffled = list(lines)
    random.Random(3).shuffle(shuffled)
    assert shuffled != lines
    path, moved = _write(tmp_path, "\n".join(lines)), _write(tmp_path, "\n\n".join(shuffled), "moved.tsv")
    for split in SPLITS:
        assert _pairs_of(read_pairs_file(path, split)) == _pairs_of(read_pairs_file(moved, split))


def test_a_pair_keeps_its_split_whatever_its_spacing(tmp_path):
    """The pair is read with its whitespace collapsed: its split cannot depend on that whitespace."""
    lines = _numbered_lines(60)
    spaced = [line.replace(" ", "  ").replace("\t", " \t") for line in lines]
    path, respaced = _write(tmp_path, "\n".join(lines)), _write(tmp_path, "\n".join(spaced), "spaced.tsv")
    for split in SPLITS:
        assert read_pairs_file(path, split).sources == read_pairs_file(respaced, split).sources


def test_a_split_without_pairs_is_an_error(tmp_path):
    source = next(s for s in (f"frase {i}" for i in range(100)) if zlib.crc32(s.encode()) % 20 > 1)
    path = _write(tmp_path, f"{source}\ttarget\n")
    assert len(read_pairs_file(path, "train")) == 1
    with pytest.raises(ValueError, match="test"):
        read_pairs_file(path, "test")


# --- ParallelText -----------------------------------------------------------------------------------


def _parallel():
    return ParallelText("toy", "train", ["a", "a b", "a b c", "  a   b ", "a b c d"], ["A", "AB", "ABC", "AB2", "ABCD"],
                        ["toy:1", "toy:2", "toy:3", "toy:4", "toy:5"])


def test_shorter_than():
    data = _parallel()
    short = data.shorter_than(2)
    assert (short.name, short.split) == ("toy", "train")
    assert short.sources == ["a", "a b", "  a   b "]
    assert short.targets == ["A", "AB", "AB2"]
    assert short.references == ["toy:1", "toy:2", "toy:4"]
    assert len(data.shorter_than(0)) == 0
    assert data.shorter_than(4).sources == data.sources
    assert len(data) == 5  # the original is untouched


def test_take():
    data = _parallel()
    first = data.take(2)
    assert (first.name, first.split, len(first)) == ("toy", "train", 2)
    assert (first.sources, first.targets, first.references) == (["a", "a b"], ["A", "AB"], ["toy:1", "toy:2"])
    assert len(data.take(0)) == 0 and data.take(10).sources == data.sources
    assert len(data) == 5
