"""zoo.datasets.modern_english: today's English from the registries, split by source package, never the old
held-out text."""

import collections

import pytest

from zoo.datasets import DataUnavailable, english, gettext_es, modern_english
from zoo.datasets.parallel import ParallelText

PACKAGES = """Package: tar
Version: 1.34

Package: tar-scripts
Source: tar (1.34+dfsg-1)

Package: zsh
"""

TRANSLATIONS = """Package: tar
Description-md5: 1
Description-en: GNU version of the tar archiving utility
 Tar is a program for packaging a set of files as a single archive in tar
 format.
 .
 Common examples:
   $ tar cf files.tar files/
 * It can also compress archives with gzip.

Package: tar-scripts
Description-md5: 2
Description-en: optional scripts for GNU tar
 This package provides the backup scripts of the tar archiver.

Package: zsh
Description-md5: 3
Description-en: shell with lots of features
"""


def test_description_paragraphs_drop_verbatim_lines_and_split_bullets():
    long_description = TRANSLATIONS.split("utility\n", 1)[1].split("\n\n")[0]
    assert modern_english.description_paragraphs(long_description) == [
        "Tar is a program for packaging a set of files as a single archive in tar format.",
        "Common examples:", "It can also compress archives with gzip."]
    assert modern_english.description_paragraphs("") == []


def test_page_paragraphs_keep_inline_code_and_leave_out_code_blocks_and_scripts():
    page = ("<html><script>var p = '<p>no</p>';</script><p>Call <code><span>len()</span></code>\n on it.</p>"
            "<div><pre><p>&gt;&gt;&gt; x</p></pre></div><p></p><p>A &amp; B.</p></html>")
    assert modern_english.page_paragraphs(page) == ["Call len() on it.", "A & B."]


@pytest.fixture
def indexes(monkeypatch):
    texts = {"Packages": PACKAGES, "Translation-en": TRANSLATIONS}
    monkeypatch.setattr(modern_english, "_index", texts.__getitem__)


def test_descriptions_are_split_by_source_package_and_the_summary_line_is_left_out(indexes):
    rows = list(modern_english._descriptions())
    texts = [text for _, text in rows]
    assert "GNU version of the tar archiving utility" not in " ".join(texts)
    assert texts[-1] == "This package provides the backup scripts of the tar archiver."
    assert len({split for split, _ in rows}) == 1  # tar and tar-scripts: one source package, one split
    assert {split for split, _ in rows} == {modern_english._bucket_split("tar")}


def test_the_bucket_split_is_fixed_and_about_two_percent_each():
    splits = collections.Counter(modern_english._bucket_split(f"package{i}") for i in range(5000))
    assert modern_english._bucket_split("tar") == modern_english._bucket_split("tar")
    assert 0.01 < splits["test"] / 5000 < 0.03 and 0.01 < splits["validation"] / 5000 < 0.03


def test_a_changed_index_is_refused_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))  # not the run's cache, which the other worker reads
    target = tmp_path / modern_english.NAME / f"{modern_english.SUITE}-Packages.txt"
    target.parent.mkdir(parents=True)
    target.write_text("Package: changed\n")
    with pytest.raises(DataUnavailable, match="point release.*delete the file"):
        modern_english._index("Packages")


def test_sentences_are_deduplicated_and_never_old_held_out_text(monkeypatch):
    held_out = "The old test sentence is here."
    monkeypatch.setattr(english, "load", lambda split: [held_out] if split == "test" else [])
    monkeypatch.setattr(english, "brown_held_out_keys", set)
    monkeypatch.setattr(modern_english, "SOURCES", {
        "descriptions": lambda: [("train", f"Install this package now. {held_out}"), ("test", "Install this "
                                                                                       "package now.")],
        "messages": lambda: [("validation", "Could not open the file.")]})
    assert list(modern_english._sentences()) == [("descriptions", "train", "Install this package now."),
                                                 ("messages", "validation", "Could not open the file.")]


def test_messages_follow_the_translator_split_and_leave_the_gnu_tools_out(monkeypatch):
    by_split = {"train": ["Open the file.", "Open the file."], "validation": ["Save it now."], "test": []}
    monkeypatch.setattr(gettext_es, "load", lambda split: ParallelText(
        name="gettext_es", split=split, sources=by_split[split], targets=by_split[split],
        references=[""] * len(by_split[split])))
    assert list(modern_english._messages()) == [("train", "Open the file."), ("validation", "Save it now.")]


def test_load_refuses_unknown_splits_and_sources(monkeypatch):
    monkeypatch.setattr(modern_english, "_table", lambda: [["descriptions", "train", "A b c."]])
    assert modern_english.load("train") == ["A b c."] and modern_english.load("test") == []
    with pytest.raises(ValueError, match="split must be one of"):
        modern_english.load("dev")
    with pytest.raises(ValueError, match="unknown sources"):
        modern_english.load("train", sources=["news"])
