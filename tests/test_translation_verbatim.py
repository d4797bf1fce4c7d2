"""zoo.translation.verbatim: spans found, masked as slots, restored after decoding; the same in the graph and in
Python; a verbatim translator never writes a slot character."""

import re

import pytest
import tensorflow as tf

from zoo.translation import verbatim

SLOT_CHARACTER = re.compile("[\ue000-\ue009]")

# (sentence, its spans in order), written by hand
SENTENCES = [
    ("la opción --strip no se puede usar con %s", ["--strip", "%s"]),
    ("copia 2 ficheros a ~/copia con -r (véase %1$s)", ["2", "~/copia", "-r", "%1$s"]),
    ("Cabecera extendida errónea en /etc/fstab: línea 3.", ["/etc/fstab", "3"]),
    ("Visite <b>https://gnu.org/tar</b> o escriba a bug-tar@gnu.org", ["<b>", "https://gnu.org/tar", "</b>",
                                                                      "bug-tar@gnu.org"]),
    ("{0} de {1} elementos; $HOME y %(name)s", ["{0}", "{1}", "$HOME", "%(name)s"]),
    ("versión 1.35, 10:30 h, 3,5 MB, 100%", ["1.35", "10:30", "3,5", "100"]),
    ("Y dijo Dios: Sea la luz; y fué la luz.", []),
    ("el e-mail y/o la dirección", []),  # a hyphen or slash inside a word is no option or path
    ("usa --verbose con %s y %s", ["--verbose", "%s", "%s"]),
    ("", []),
]


def _text(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


@pytest.mark.parametrize("sentence,spans", SENTENCES)
def test_spans_of_finds_the_spans_written_by_hand(sentence, spans):
    assert verbatim.spans_of(sentence) == spans


def test_the_graph_masks_every_span_python_finds():
    """`protect` (RE2, in the graph) and `spans_of` (Python's re) agree on the same pattern."""
    masked, spans = verbatim.protect(tf.constant([s for s, _ in SENTENCES]))
    for (sentence, expected), text, row in zip(SENTENCES, _text(masked), spans.numpy()):
        distinct = list(dict.fromkeys(expected))
        assert [s.decode() for s in row if s] == distinct
        assert SLOT_CHARACTER.findall(text) == [verbatim.SLOT_PIECES[distinct.index(s)] for s in expected]
        for span in distinct:
            assert span not in text.split()


def test_the_same_span_twice_is_one_slot_and_spans_past_the_last_slot_stay_text():
    options = [f"--opcion{i}" for i in range(verbatim.SLOTS + 3)]
    masked, spans = verbatim.protect(tf.constant([" ".join(options), "%s y %s"]))
    long, repeated = _text(masked)
    assert long.split() == [*verbatim.SLOT_PIECES, *options[verbatim.SLOTS:]]
    assert [s.decode() for s in spans.numpy()[0]] == options[:verbatim.SLOTS]
    assert repeated == "\ue000 y \ue000"


def test_translations_are_masked_with_the_source_slots_and_other_spans_stay():
    _, spans = verbatim.protect(tf.constant(["usa --verbose con %s en /tmp"]))
    masked = _text(verbatim.protect_like(tf.constant(["use %s with --verbose and --quiet in /tmp"]), spans))[0]
    assert masked == "use \ue001 with \ue000 and --quiet in \ue002"


def test_restore_writes_each_slot_back_and_an_unused_slot_as_nothing():
    _, spans = verbatim.protect(tf.constant(["usa --verbose con %s", "nada"]))
    pieces = tf.constant([["use</w>", "\ue001</w>", "with</w>", "\ue000</w>"],
                          ["\ue003</w>", "nothing</w>", "", ""]])
    restored = verbatim.restore(pieces, spans).numpy().tolist()
    assert restored == [[b"use</w>", b"%s</w>", b"with</w>", b"--verbose</w>"], [b"</w>", b"nothing</w>", b"", b""]]


def test_masking_a_batch_without_spans_or_sentences():
    masked, spans = verbatim.protect(tf.constant(["sin nada", ""]))
    assert _text(masked) == ["sin nada", ""] and spans.shape == (2, verbatim.SLOTS)
    masked, spans = verbatim.protect(tf.constant([], tf.string))
    assert masked.shape == (0,) and spans.shape == (0, verbatim.SLOTS)


def test_kept_counts_sentences_whose_translation_keeps_every_span_the_reference_keeps():
    sources = ["usa --all con %s", "versión 2", "sin nada", "el fichero ARCHIVO --file=ARCHIVO"]
    references = ["use --all with %s", "version two", "nothing", "the file --file=ARCHIVE"]
    hypotheses = ["use --all with", "version two", "nothing", "the file --file"]
    # the first loses %s; the second's reference spells the number out; the third has no span; the fourth keeps it
    assert verbatim.kept(sources, references, hypotheses) == {"kept": 1, "of": 2, "share": 0.5}


@pytest.mark.slow
def test_a_verbatim_translator_reads_spans_as_slots_and_never_writes_a_slot_character(tiny_translator_factory):
    model = tiny_translator_factory(verbatim=True)
    sentences = ["Juan ve --verbose y %s en /tmp", "el perro come 3 panes", "nada"]
    for beam_width in (1, 3):
        outputs = model.translate(sentences, beam_width=beam_width, return_attention=True)
        for output in outputs:
            assert not SLOT_CHARACTER.search(output["translation"])
        assert {"--verbose", "%s", "/tmp"} <= set(outputs[0]["source_tokens"])
        assert "3" in outputs[1]["source_tokens"]
    assert model.get_config()["verbatim"] is True
    assert tiny_translator_factory(verbatim=False).get_config()["verbatim"] is False


@pytest.mark.parametrize("source,capital", [
    ("no se puede abrir %s", False), ("%s: no se puede abrir", False), ("\ue000 : no se puede", False),
    ("¿Dónde está?", True), ("El perro", True), ("123", True), ("", True),
])
def test_a_translation_starts_with_a_capital_unless_its_source_starts_with_a_small_letter(source, capital):
    from zoo.translation.text import capitalized, detokenize

    assert bool(capitalized(tf.constant([source])).numpy()[0]) is capital
    written = detokenize(tf.constant(["cannot open it"]), capitalized(tf.constant([source]))).numpy()[0].decode()
    assert written == ("Cannot open it" if capital else "cannot open it")


@pytest.mark.parametrize("sentence,error", [
    ("%s" * 5000, "more than max_source_tokens"),  # thousands of spans in one word: refused, not a huge table
    (" ".join(f"--o{i}" for i in range(2000)), "more than max_source_tokens"),
    (b"--verbose \xff", "not valid UTF-8"),
])
@pytest.mark.slow
def test_a_verbatim_translator_refuses_hostile_sentences_clearly(tiny_translator_factory, sentence, error):
    model = tiny_translator_factory(verbatim=True)
    with pytest.raises(ValueError, match=error):
        model.translate([sentence])
    assert model.translate([]) == [] and model.translate(["", "  "]) == ["", ""]
