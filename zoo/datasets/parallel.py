"""Sentence pairs, from any source: the user's TSV files and TFDS translation datasets.

The translator's `tf.data` pipelines are in `zoo.translation.data`.
"""

import dataclasses
import zlib
from pathlib import Path

FILE_SPLIT_RULE = "line i of the file: zlib.crc32(source line) % 20 == 0 -> test, == 1 -> validation, else train"


@dataclasses.dataclass
class ParallelText:
    """Aligned sentence pairs, with where each came from ("Genesis 1:3", "pairs.tsv:12"); pairs joined from
    several datasets know which rows each gave (`parts`: name → (start, stop))."""

    name: str
    split: str
    sources: list
    targets: list
    references: list
    parts: dict = dataclasses.field(default_factory=dict)

    def __len__(self):
        return len(self.sources)

    def take(self, count):
        parts = {name: (min(start, count), min(stop, count)) for name, (start, stop) in self.parts.items()}
        return ParallelText(self.name, self.split, self.sources[:count], self.targets[:count],
                            self.references[:count], {name: rows for name, rows in parts.items() if rows[0] < rows[1]})

    @classmethod
    def joined(cls, name, split, parts):
        """One `ParallelText` of several (`ParallelText`s of other datasets), in order."""
        rows, start = {}, 0
        for part in parts:
            rows[part.name] = (start, start + len(part))
            start += len(part)
        return cls(name, split, *([item for part in parts for item in getattr(part, column)]
                                  for column in ("sources", "targets", "references")), parts=rows)

    def shorter_than(self, max_words):
        """The pairs whose source has at most `max_words` whitespace-separated words."""
        return self._rows([i for i, s in enumerate(self.sources) if len(s.split()) <= max_words])

    def part(self, name):
        """The pairs one joined dataset gave (`parts`)."""
        start, stop = self.parts[name]
        return ParallelText(name, self.split, self.sources[start:stop], self.targets[start:stop],
                            self.references[start:stop])

    def _rows(self, keep):
        parts = {name: (sum(i < start for i in keep), sum(i < stop for i in keep))
                 for name, (start, stop) in self.parts.items()}
        return ParallelText(self.name, self.split, *([column[i] for i in keep] for column in
                                                     (self.sources, self.targets, self.references)), parts)


def read_pairs_file(path, split="all"):
    """Sentence pairs from a UTF-8 TSV file: source TAB target on every line.

    With `split` other than `"all"`, the pairs of that split by
    `FILE_SPLIT_RULE` (a hash of the source, so a pair keeps its split when
    lines are added or reordered).
    """
    path = Path(path)
    try:
        lines = path.read_text("utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from None
    sources, targets, references = [], [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{n}: expected `source<TAB>target`, two non-empty columns")
        source = " ".join(fields[0].split())
        if split == "all" or _file_split(source) == split:
            sources.append(source)
            targets.append(" ".join(fields[1].split()))
            references.append(f"{path.name}:{n}")
    if not sources:
        raise ValueError(f"{path}: no sentence pairs for split {split!r}; expected `source<TAB>target` lines")
    return ParallelText(path.stem, split, sources, targets, references)


def _file_split(source):
    return {0: "test", 1: "validation"}.get(zlib.crc32(source.encode("utf-8")) % 20, "train")


def from_tfds(name, split, **load_kwargs):
    """Sentence pairs of a TFDS translation dataset, e.g. `ted_hrlr_translate/pt_to_en`.

    The source and target are the builder's `supervised_keys` (for
    `ted_hrlr_translate/pt_to_en`: Portuguese, English). TFDS downloads and
    prepares the data on first use (online); `load_kwargs` go to `tfds.load`
    (e.g. `data_dir`).
    """
    import tensorflow_datasets as tfds

    dataset, info = tfds.load(name, split=split, as_supervised=True, with_info=True, **load_kwargs)
    if info.supervised_keys is None:
        raise ValueError(f"{name}: has no supervised (source, target) keys; expected a translation dataset")
    sources, targets = [], []
    for source, target in tfds.as_numpy(dataset):
        sources.append(" ".join(source.decode("utf-8").split()))
        targets.append(" ".join(target.decode("utf-8").split()))
    return ParallelText(name, split, sources, targets, [f"{name}/{split}:{i}" for i in range(len(sources))])
