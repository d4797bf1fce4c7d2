"""zoo.recipes.unlabelled: the language models' English, tagged once by a pretrained tagger and kept."""

import json

import pytest

from zoo.recipes import unlabelled


class CountingTagger:
    """Tags every word `X` and records the chunks it was given."""

    def __init__(self):
        self.chunks = []

    def tag_tokens(self, chunk):
        self.chunks.append(chunk)
        return [[(word, "X") for word in words] for words in chunk]


SENTENCES = [["The", "dog", "sleeps", "."], ["A", "cat", "runs", "."], ["The", "cat", "sleeps", "."]]


@pytest.fixture
def english(monkeypatch):
    monkeypatch.setattr(unlabelled, "english", lambda count: SENTENCES[:count])


def test_the_tags_are_kept_and_a_rerun_loads_no_tagger(english, tmp_path):
    tagger = CountingTagger()
    path = tmp_path / "fresh" / "tags.jsonl"  # its directory is not made yet
    rows = unlabelled.tagged_by(lambda: tagger, 3, path)
    assert rows == [(words, ["X"] * len(words)) for words in SENTENCES]
    assert unlabelled.tagged_by(lambda: pytest.fail("the kept tags are read, no tagger loaded"), 3, path) == rows
    assert not list(path.parent.glob("*.partial"))


def test_a_run_killed_while_tagging_resumes_after_the_last_whole_line(english, monkeypatch, tmp_path):
    tagger = CountingTagger()
    monkeypatch.setattr(unlabelled, "CHUNK", 1)
    path = tmp_path / "tags.jsonl"
    first = json.dumps([SENTENCES[0], ["X"] * 4]) + "\n"
    (tmp_path / "tags.jsonl.partial").write_text(first + first[:9], "utf-8")  # the kill cut line 2
    rows = unlabelled.tagged_by(lambda: tagger, 3, path)
    assert tagger.chunks == [SENTENCES[1:2], SENTENCES[2:3]]
    assert [words for words, _ in rows] == SENTENCES


@pytest.mark.parametrize("content, lines, kept", [(b"", 0, b""), (b"a\n", 1, b"a\n"), (b"a\nb\nc", 2, b"a\nb\n"),
                                                  (b"half", 0, b"")])
def test_lines_written_cuts_a_half_written_line(tmp_path, content, lines, kept):
    path = tmp_path / "partial"
    path.write_bytes(content)
    assert unlabelled.lines_written(path) == lines and path.read_bytes() == kept
    assert unlabelled.lines_written(tmp_path / "missing") == 0
