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


def test_the_tags_are_kept_and_a_rerun_loads_no_tagger(english, monkeypatch, tmp_path):
    tagger = CountingTagger()
    monkeypatch.setattr(unlabelled.training, "pretrained", lambda reference: tagger)
    workdir = tmp_path / "fresh"  # not made yet
    rows = unlabelled.tagged_by("pos_toy", 3, workdir)
    assert rows == [(words, ["X"] * len(words)) for words in SENTENCES]
    monkeypatch.setattr(unlabelled.training, "pretrained",
                        lambda reference: pytest.fail("the kept tags are read, no tagger loaded"))
    assert unlabelled.tagged_by("pos_toy", 3, workdir) == rows
    assert not list(workdir.glob("*.partial"))


def test_another_tagger_or_count_tags_afresh(english, monkeypatch, tmp_path):
    taggers = []
    monkeypatch.setattr(unlabelled.training, "pretrained", lambda reference: taggers.append(reference) or
                        CountingTagger())
    assert len(unlabelled.tagged_by("pos_toy", 3, tmp_path)) == 3
    assert len(unlabelled.tagged_by("pos_toy", 2, tmp_path)) == 2
    assert len(unlabelled.tagged_by("runs/out/pos_toy/1", 2, tmp_path)) == 2  # a directory: a file name of it
    assert taggers == ["pos_toy", "pos_toy", "runs/out/pos_toy/1"] and len(list(tmp_path.iterdir())) == 3


def test_a_refused_tagger_tags_nothing(english, monkeypatch, tmp_path):
    monkeypatch.setattr(unlabelled.training, "pretrained", lambda reference: CountingTagger())
    with pytest.raises(SystemExit, match="^no tags$"):
        unlabelled.tagged_by("pos_toy", 3, tmp_path / "run", refuse=lambda tagger: "no tags")
    assert not (tmp_path / "run").exists()


def test_a_run_killed_while_tagging_resumes_after_the_last_whole_line(english, monkeypatch, tmp_path):
    tagger = CountingTagger()
    monkeypatch.setattr(unlabelled.training, "pretrained", lambda reference: tagger)
    monkeypatch.setattr(unlabelled, "CHUNK", 1)
    first = json.dumps([SENTENCES[0], ["X"] * 4]) + "\n"
    (tmp_path / "tags-pos_toy-3.jsonl.partial").write_text(first + first[:9], "utf-8")  # the kill cut line 2
    rows = unlabelled.tagged_by("pos_toy", 3, tmp_path)
    assert tagger.chunks == [SENTENCES[1:2], SENTENCES[2:3]]
    assert [words for words, _ in rows] == SENTENCES


@pytest.mark.parametrize("content, lines, kept", [(b"", 0, b""), (b"a\n", 1, b"a\n"), (b"a\nb\nc", 2, b"a\nb\n"),
                                                  (b"half", 0, b"")])
def test_lines_written_cuts_a_half_written_line(tmp_path, content, lines, kept):
    path = tmp_path / "partial"
    path.write_bytes(content)
    assert unlabelled.lines_written(path) == lines and path.read_bytes() == kept
    assert unlabelled.lines_written(tmp_path / "missing") == 0
