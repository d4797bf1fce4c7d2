"""zoo.datasets.tagged: the user-corpus readers (CoNLL-U and word/TAG) and the sentences they give."""

import pytest

from zoo.datasets import tagged

CONLLU = """\
# newdoc id = toy
# sent_id = 1
# text = Don't stop.
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\tVBP\t_\t2\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = 2
# text = Sue likes tea, and Bob coffee.
1\tSue\tSue\tPROPN\tNNP\t_\t2\tnsubj\t_\t_
2\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t_\t_
3\ttea\ttea\tNOUN\tNN\t_\t2\tobj\t_\tSpaceAfter=No
4\t,\t,\tPUNCT\t,\t_\t7\tpunct\t_\t_
5\tand\tand\tCCONJ\tCC\t_\t7\tcc\t_\t_
6\tBob\tBob\tPROPN\tNNP\t_\t2\tconj\t_\t_
6.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t2:conj\t_
7\tcoffee\tcoffee\tNOUN\tNN\t_\t6\tobj\t_\tSpaceAfter=No
8\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_
"""
CONLLU_SENTENCES = [
    (["Do", "n't", "stop", "."], ["AUX", "PART", "VERB", "PUNCT"]),
    (["Sue", "likes", "tea", ",", "and", "Bob", "coffee", "."],
     ["PROPN", "VERB", "NOUN", "PUNCT", "CCONJ", "PROPN", "NOUN", "PUNCT"]),
]

SLASH = """\
The/DET dog/NOUN barks/VERB ./.

1/2/NUM of/ADP the/DET café's/NOUN  menu/NOUN ./.
  Über/ADP Straße/NOUN   ,/. 中文/X
"""
SLASH_SENTENCES = [
    (["The", "dog", "barks", "."], ["DET", "NOUN", "VERB", "."]),
    (["1/2", "of", "the", "café's", "menu", "."], ["NUM", "ADP", "DET", "NOUN", "NOUN", "."]),
    (["Über", "Straße", ",", "中文"], ["ADP", "NOUN", ".", "X"]),
]


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- readers ----------------------------------------------------------------------------------------


def test_read_conllu(tmp_path):
    """Comments, the multi-word token range 1-2 and the empty node 6.1 are skipped; FORM and UPOS are read."""
    assert tagged.read_tagged_file(_write(tmp_path, "toy.conllu", CONLLU)) == CONLLU_SENTENCES


def test_read_conllu_without_a_final_blank_line_and_with_crlf(tmp_path):
    text = CONLLU.rstrip("\n").replace("\n", "\r\n")
    assert tagged.read_tagged_file(_write(tmp_path, "crlf.conllu", text)) == CONLLU_SENTENCES


def test_read_slash_format(tmp_path):
    """Blank lines are skipped, whitespace runs separate tokens, the tag follows the token's last slash."""
    assert tagged.read_tagged_file(_write(tmp_path, "toy.txt", SLASH)) == SLASH_SENTENCES


def test_read_brown_style_lines(tmp_path):
    text = "\tThe/at Fulton/np-tl County/nn-tl said/vbd ./.\n\n\n\t``/`` Only/rb ''/'' ./.\n"
    assert tagged.read_tagged_file(_write(tmp_path, "ca00", text)) == [
        (["The", "Fulton", "County", "said", "."], ["at", "np-tl", "nn-tl", "vbd", "."]),
        (["``", "Only", "''", "."], ["``", "rb", "''", "."]),
    ]


BAD_FILES = {
    "non-UTF-8": (b"The/DET caf\xe9/NOUN ./.\n", r"not UTF-8"),
    "token without a slash": ("The/DET dog/NOUN ./.\nThe/DET cat ./.\n", r":2: token 'cat' is not `word/TAG`"),
    "token with an empty tag": ("The/DET dog/ ./.\n", r":1: token 'dog/' is not `word/TAG`"),
    "token with an empty word": ("/DET dog/NOUN\n", r":1: token '/DET' is not `word/TAG`"),
    "9-column CoNLL-U line": (CONLLU.replace("3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No",
                                             "3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_"),
                              r":7: expected 10 tab-separated CoNLL-U columns, got 9"),
    "empty file": ("", r"no tagged sentences"),
    "blank lines only": ("\n  \n\t\n", r"no tagged sentences"),
    "CoNLL-U with no 10-column line": ("# sent_id = 1\n1\ta\ta\tDET\t_\t_\t_\t_\t_\n", r":1: token '#'"),
}


@pytest.mark.parametrize("content,pattern", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_files_name_the_file(tmp_path, content, pattern):
    path = _write(tmp_path, "bad file.txt", content)
    with pytest.raises(ValueError, match=pattern) as err:
        tagged.read_tagged_file(path)
    assert str(err.value).startswith(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(OSError):
        tagged.read_tagged_file(tmp_path / "absent.conllu")


def test_tagged_sentences():
    data = tagged.TaggedSentences("toy", "train", [["a", "b"], ["c"], ["d", "e", "f"]],
                                  [["X", "Y"], ["Y"], ["Z", "X", "X"]])
    assert len(data) == 3 and data.num_tokens == 6
    assert data.tag_names() == ["X", "Y", "Z"]
    first = data.take(2)
    assert (first.words, first.tags, first.name, first.split) == ([["a", "b"], ["c"]], [["X", "Y"], ["Y"]],
                                                                   "toy", "train")
