"""Unlabelled English tagged by a pretrained tagger: what the recipes learn beside their gold data.

The part-of-speech recipe distils a tagger into a smaller one with it
(`--teacher`); the agreement recipe finds more subjects and verbs in it
(`--tagger`). The text is the language models' train sentences, Brown's
left out (its test sentences are the taggers' and the agreement model's).
"""

import json
import re
import zlib
from pathlib import Path

from zoo import training
from zoo.language_model.data import CORPORA, tokenized

CHUNK = 2_000  # sentences tagged between two writes of the tags
MAX_TOKENS = 60  # longer sentences of the unlabelled text are left out
TEXT = ("train sentences of the language models' corpora (zoo.language_model.data.CORPORA) but Brown's: the "
        f"--unlabelled first by the CRC-32 of their text, then those of more than {MAX_TOKENS} tokens left out")


def english(count):
    """`count` sentences of the language models' train text (not Brown's), tokenised as Brown is, chosen by a
    hash of each (the same sample on every machine)."""
    sentences = [s for corpus in CORPORA.values()
                 for s in corpus.load("train", sources=[x for x in corpus.SOURCES if x != "brown_train"])]
    chosen = sorted(sentences, key=lambda s: zlib.crc32(s.encode("utf-8")))[:count]
    return tokenized(chosen, MAX_TOKENS)


def tagged_by(reference, count, workdir, refuse=lambda tagger: None):
    """`(words, tags)` of `count` sentences of `english`, tagged by the pretrained tagger `reference` names.

    `refuse(tagger)` says why a tagger will not do (its tag set), or `None`. The tags are kept in `workdir`
    under a name made of `reference` and `count`, so a rerun with the same ones reads them and loads no
    tagger, and one with others tags afresh; they are written `CHUNK` sentences at a time, and a run killed
    while tagging resumes after the last whole line.
    """
    path = Path(workdir) / f"tags-{re.sub(r'[^A-Za-z0-9_.=-]+', '_', reference)}-{count}.jsonl"
    if not path.exists():
        tagger = training.pretrained(reference)
        if problem := refuse(tagger):
            raise SystemExit(problem)
        path.parent.mkdir(parents=True, exist_ok=True)
        sentences = english(count)
        partial = path.with_name(path.name + ".partial")
        done = lines_written(partial)
        print(f"tagging {len(sentences) - done} of {len(sentences)} unlabelled sentences with {reference} ...",
              flush=True)
        with partial.open("a", encoding="utf-8") as out:
            for start in range(done, len(sentences), CHUNK):
                chunk = sentences[start:start + CHUNK]
                out.writelines(json.dumps([words, [tag for _, tag in row]]) + "\n"
                               for words, row in zip(chunk, tagger.tag_tokens(chunk)))
                out.flush()
                print(f"  {start + len(chunk)} tagged", flush=True)
        partial.replace(path)
    return [tuple(json.loads(line)) for line in path.read_text("utf-8").splitlines()]


def lines_written(path):
    """The whole lines of `path` (0 when it does not exist), the file cut after the last one (a kill may have
    left half a line)."""
    if not path.exists():
        return 0
    with path.open("r+b") as file:
        data = file.read()
        file.truncate(data.rfind(b"\n") + 1)
    return data.count(b"\n")
