"""Tagged sentences, from any corpus: the fixed split rule and the file readers.

Users bring their own corpus in one of two formats, detected from the content:

- CoNLL-U: tab-separated lines of 10 columns, sentences separated by blank
  lines; FORM (column 2) is the word and UPOS (column 4) the tag. Comment
  lines, multi-word token ranges (`1-2`) and empty nodes (`1.1`) are skipped.
- `word/TAG`: one sentence per line, tokens separated by whitespace, the tag
  after the token's last `/` (the Brown corpus's own format).

A tagger trains on them through `zoo.tagging.data.as_dataset`.
"""

import dataclasses
from pathlib import Path

SPLIT_RULE = ("sentences in file order over the sorted file names, numbered i = 0, 1, ... over the whole "
              "corpus: i % 10 == 9 -> test, i % 10 == 8 -> validation (dev), otherwise train")


def split_of(index):
    """The split of the `index`-th sentence of a corpus (see `SPLIT_RULE`).

    >>> [split_of(i) for i in (0, 7, 8, 9, 10, 19)]
    ['train', 'train', 'validation', 'test', 'train', 'test']
    """
    return {9: "test", 8: "validation"}.get(index % 10, "train")


@dataclasses.dataclass
class TaggedSentences:
    """Sentences as lists of words with one tag per word."""

    name: str
    split: str
    words: list
    tags: list

    @classmethod
    def from_pairs(cls, name, split, sentences):
        """From `(words, tags)` pairs, as `read_tagged_file` returns them."""
        return cls(name, split, [list(words) for words, _ in sentences], [list(tags) for _, tags in sentences])

    def __len__(self):
        return len(self.words)

    @property
    def num_tokens(self):
        return sum(len(w) for w in self.words)

    def tag_names(self):
        """The sorted tags that occur in these sentences."""
        return sorted({t for tags in self.tags for t in tags})

    def take(self, count):
        return TaggedSentences(self.name, self.split, self.words[:count], self.tags[:count])

    def __add__(self, other):
        """These sentences, then `other`'s, under these ones' name and split."""
        return TaggedSentences(self.name, self.split, self.words + other.words, self.tags + other.tags)


def read_tagged_file(path):
    """All `(words, tags)` sentences of a CoNLL-U or `word/TAG` file, in file order."""
    path = Path(path)
    try:
        text = path.read_text("utf-8-sig")  # tolerates a byte-order mark
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None
    lines = text.splitlines()
    if any(len(line.split("\t")) == 10 for line in lines):
        sentences = _read_conllu(lines, path)
    else:
        sentences = [_read_slash_line(line, path, n) for n, line in enumerate(lines, 1) if line.strip()]
    if not sentences:
        raise ValueError(f"{path}: no tagged sentences; expected CoNLL-U or one `word/TAG ...` sentence per line")
    return sentences


def _read_conllu(lines, path):
    sentences, words, tags = [], [], []
    for n, line in enumerate(lines + [""], 1):
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
        elif not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) != 10:
                raise ValueError(f"{path}:{n}: expected 10 tab-separated CoNLL-U columns, got {len(fields)}")
            if fields[0].isdigit():
                words.append(fields[1])
                tags.append(fields[3])
    return sentences


def _read_slash_line(line, path, n):
    words, tags = [], []
    for token in line.split():
        word, slash, tag = token.rpartition("/")
        if not slash or not word or not tag:
            raise ValueError(f"{path}:{n}: token {token!r} is not `word/TAG`")
        words.append(word)
        tags.append(tag)
    return words, tags


def split_sentences(sentences, split):
    """The sentences of one split, by `split_of` over their order."""
    return [s for i, s in enumerate(sentences) if split_of(i) == split]
