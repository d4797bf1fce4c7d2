"""The translator: what it learns, how it decodes (greedy, beam, limits) and what it does with bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.decoding import EOS_ID, OOV_ID, PAD_ID, beam_search, best_beam, greedy_search
from zoo.translation import Translator


def test_learns_the_toy_translations_with_reordering(trained_translator):
    sources = [s for s, _ in trained_translator.pairs]
    targets = [t for _, t in trained_translator.pairs]
    for beam_width in (1, 4):
        out = trained_translator.model.translate(sources, beam_width=beam_width)
        correct = sum(o == t for o, t in zip(out, targets))
        assert correct >= 0.9 * len(targets), [(o, t) for o, t in zip(out, targets) if o != t]


@pytest.mark.slow
def test_an_unseen_word_is_read_as_pieces_and_never_dropped(tiny_translator_factory):
    model = tiny_translator_factory("dot")
    out = model.translate(["Pablo bebe agua."], beam_width=1, return_attention=True)[0]
    # "Pablo" and "bebe" never occur in the toy pairs: their letters do
    assert "".join(out["source_tokens"]).replace("@@", "") == "Pablobebeagua."
    assert len(out["source_tokens"]) > 4  # split into pieces, not one unknown token each
    ids = model.piece_ids(tf.ragged.constant([["Pablo", "bebe"]])).flat_values.numpy()
    assert OOV_ID not in ids


def test_a_character_never_seen_in_training_is_the_unknown_piece_and_never_written(tiny_translator_factory):
    model = tiny_translator_factory("dot")
    ids = model.piece_ids(tf.ragged.constant([["漢"]])).flat_values.numpy().tolist()
    assert ids == [OOV_ID]
    log_probs, _, _ = model.decode_step(tf.constant([2]), model.encode(tf.constant([[OOV_ID]]))["states"],
                                        model.encode(tf.constant([[OOV_ID]])))
    assert np.all(log_probs.numpy()[:, [PAD_ID, OOV_ID, 2]] < -1e8)  # padding, unknown and start: never emitted


def _encoded(model, sentences):
    from zoo.translation.signatures import _source_ids

    source, *_ = _source_ids(model, tf.constant(sentences))
    return model.encode(source), tf.reduce_sum(tf.cast(source != PAD_ID, tf.int32), axis=1)


def _piece_count(model, sentence):
    from zoo.translation.text import tokenize

    return int(model.piece_ids(tokenize(tf.constant([sentence]))).row_lengths()[0])


@pytest.mark.parametrize("attention", ["none", "dot", "general", "additive"])
def test_beam_width_one_equals_greedy(tiny_translator_factory, attention):
    keras.utils.set_random_seed(1)
    model = tiny_translator_factory(attention)
    encoded, lengths = _encoded(model, ["El perro grande come pan.", "Juan ve agua.", "el gato"])
    limits = 2 * tf.cast(lengths, tf.int32) + 10
    greedy = greedy_search(model, encoded, limits)
    beam = beam_search(model, encoded, limits, tf.constant(1), model.length_penalty)
    np.testing.assert_array_equal(greedy[0], beam[0])
    np.testing.assert_allclose(greedy[1], beam[1], atol=1e-6)
    np.testing.assert_allclose(greedy[2], beam[2], atol=1e-5)


def test_one_search_ranked_by_each_length_penalty_translates_as_a_model_with_that_penalty(trained_translator):
    from zoo.translation.signatures import translations_by_length_penalty

    model = trained_translator.model.reconfigured(beam_width=4)
    sentences = [s for s, _ in trained_translator.pairs[:8]] + ["", "Juan ve agua y el gato pequeño come pan."]
    penalties = (0.0, 1.0, 3.0)
    ranked = translations_by_length_penalty(model, sentences, penalties)
    assert list(ranked) == list(penalties)
    for penalty in penalties:
        assert ranked[penalty] == model.reconfigured(length_penalty=penalty).translate(sentences), penalty
    assert ranked[0.0][8] == ""


def test_the_length_penalty_ranks_the_final_beams_by_log_probability_per_length_to_its_power():
    ids = tf.constant([[[4, 3, 0, 0, 0], [5, 6, 7, 8, 3]]])  # a short and a long hypothesis of one sentence
    attention = tf.reshape(tf.range(10, dtype=tf.float32), [1, 2, 5, 1])
    beams = ids, attention, tf.constant([[-2.0, -3.5]]), tf.constant([[2.0, 5.0]])
    for penalty, chosen in ((0.0, 0), (0.5, 0), (1.0, 1), (2.0, 1)):  # -2/2**p against -3.5/5**p
        best_ids, best_attention, score = best_beam(beams, penalty)
        np.testing.assert_array_equal(best_ids, ids[:, chosen])
        np.testing.assert_array_equal(best_attention, attention[:, chosen])
        np.testing.assert_allclose(score, [(-2.0, -3.5)[chosen] / (2.0, 5.0)[chosen]])  # mean per token


def test_decoder_stops_at_end_of_sentence(trained_translator):
    model = trained_translator.model
    encoded, lengths = _encoded(model, ["El perro come pan.", "El gato pequeño ve agua."])
    limits = 2 * tf.cast(lengths, tf.int32) + 10
    for ids, *_ in (greedy_search(model, encoded, limits),
                    beam_search(model, encoded, limits, tf.constant(3), 1.0)):
        ids = ids.numpy()
        for row, reference in zip(ids, ("The dog eats bread.", "The small cat sees water.")):
            ends = np.flatnonzero(row == EOS_ID)
            assert ends.size == 1 and ends[0] == _piece_count(model, reference), row
            assert np.all(row[ends[0] + 1:] == PAD_ID)
        assert ids.shape[1] < int(tf.reduce_max(limits)), "the loop ran on after every sentence ended"


def test_decoder_stops_at_the_maximum_length(tiny_translator_factory, trained_translator):
    keras.utils.set_random_seed(2)
    untrained = tiny_translator_factory("dot")  # rarely emits the end token: runs to its limit
    for model in (untrained, trained_translator.model):
        for beam_width in (1, 3):
            out = model.translate(["El perro grande come pan."], beam_width=beam_width, max_length=3,
                                  return_attention=True)[0]
            assert 1 <= len(out["target_tokens"]) <= 3
    source_pieces = _piece_count(untrained, "El perro grande come pan.")
    out = untrained.translate(["El perro grande come pan."], beam_width=1, return_attention=True)[0]
    limit = int(np.ceil(untrained.max_length_ratio * source_pieces)) + untrained.max_length_offset
    assert len(out["target_tokens"]) <= limit


def test_attention_of_each_output_word_is_a_distribution_over_the_source(trained_translator):
    out = trained_translator.model.translate(["El perro grande come pan.", "Juan ve agua."], return_attention=True)
    for result in out:
        weights = result["attention"]
        assert weights.shape == (len(result["target_tokens"]), len(result["source_tokens"]))
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
        assert np.all(weights >= 0)


@pytest.mark.slow
def test_attention_none_returns_zero_attention_and_still_translates(tiny_translator_factory):
    model = tiny_translator_factory("none")
    out = model.translate(["El perro come pan."], return_attention=True)[0]
    assert isinstance(out["translation"], str)
    assert not np.any(out["attention"])


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_input_translates_to_empty_output(trained_translator, text):
    out = trained_translator.model.translate([text, "El perro come pan."], return_attention=True)
    assert out[0]["translation"] == "" and out[0]["target_tokens"] == [] and out[0]["score"] == 0.0
    assert out[1]["translation"] == "The dog eats bread."


def test_all_unknown_words_give_a_defined_translation(trained_translator):
    out = trained_translator.model.translate(["Zzz qqq xxyy wwv."], beam_width=2)
    assert isinstance(out[0], str) and out[0]


def test_a_source_longer_than_max_source_tokens_is_refused(trained_translator):
    model = trained_translator.model
    with pytest.raises(ValueError, match=f"max_source_tokens {model.max_source_tokens}"):
        model.translate([" ".join(["perro"] * 2000)])


def test_non_utf8_and_non_text_inputs_are_refused(trained_translator):
    model = trained_translator.model
    with pytest.raises(ValueError, match=r"sentences\[1\]: not valid UTF-8"):
        model.translate([b"el perro", b"\xff\xfe perro"])
    with pytest.raises(ValueError, match="expected a string"):
        model.translate([3])


def test_bad_decoding_options_are_refused(trained_translator):
    model = trained_translator.model
    with pytest.raises(ValueError, match="beam_width: expected 1 to"):
        model.translate(["El perro."], beam_width=0)
    with pytest.raises(ValueError, match="max_length"):
        model.translate(["El perro."], max_length=-1)


def test_a_single_string_is_one_sentence(trained_translator):
    assert trained_translator.model.translate("El perro come pan.") == ["The dog eats bread."]


def test_translations_keep_the_input_order(trained_translator):
    sources = ["El gato grande ve agua.", "Juan come pan.", "El perro come pan."]
    together = trained_translator.model.translate(sources)
    assert together == [trained_translator.model.translate([s])[0] for s in sources]


def test_config_round_trip_and_keras_save_load(trained_translator, tmp_path):
    model = trained_translator.model
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Translator)
    assert loaded.get_config() == model.get_config()
    sources = [s for s, _ in trained_translator.pairs[:6]]
    assert loaded.translate(sources) == model.translate(sources)


def test_reconfigured_keeps_the_weights_and_changes_the_decoding(trained_translator):
    model = trained_translator.model
    twin = model.reconfigured(beam_width=2, length_penalty=0.3)
    assert (twin.beam_width, twin.length_penalty) == (2, 0.3)
    assert model.beam_width != 2 and model.length_penalty != 0.3
    assert twin.weights_digest() == model.weights_digest() and not twin.compiled
    sources = [s for s, _ in trained_translator.pairs[:6]]
    assert twin.translate(sources, beam_width=1) == model.translate(sources, beam_width=1)


@pytest.mark.slow
def test_the_length_penalty_is_the_one_with_the_best_validation_bleu(trained_translator):
    from zoo.datasets.parallel import ParallelText
    from zoo.translation.evaluation import choose_length_penalty, evaluate

    sources, targets = zip(*trained_translator.pairs[:12])
    # references that favour short translations: the first two words of each target
    short = ParallelText("toy", "validation", list(sources), [" ".join(t.split()[:2]) for t in targets],
                         list(range(12)))
    best, bleus = choose_length_penalty(trained_translator.model, short, candidates=(0.0, 1.0))
    assert set(bleus) == {0.0, 1.0} and bleus[best] == max(bleus.values())
    for penalty in (0.0, 1.0):
        assert bleus[penalty] == evaluate(trained_translator.model.reconfigured(length_penalty=penalty), short)["bleu"]


def test_evaluate_returns_a_translation_evaluation(trained_translator):
    from zoo.datasets.parallel import ParallelText
    from zoo.evaluation import Evaluation
    from zoo.translation.evaluation import TranslationEvaluation, evaluate

    sources, targets = zip(*trained_translator.pairs[:12])
    result = evaluate(trained_translator.model, ParallelText("toy", "test", list(sources), list(targets),
                                                             list(range(12))))
    assert isinstance(result, TranslationEvaluation) and result.headline == result["bleu"]
    assert str(result) == f"bleu {result['bleu']:.4f} (chrF {result['chrf']:.2f}, 12 sentences)"
    assert result["up_to_40_words"]["sentences"] == 12 and result["beam_width"] == trained_translator.model.beam_width
    card = {"task": "translation", "test_metrics": dict(result)}  # as a model card holds it
    assert Evaluation.of_card(card).matches(result)


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="TranslatorConfig attention: expected one of"):
        Translator(["a</w>"], [], attention="cosine")
    with pytest.raises(ValueError, match="TranslatorConfig cell: expected one of"):
        Translator(["a</w>"], [], cell="transformer")


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_every_cell_translates_and_fits(tiny_translator_factory, trained_translator, cell):
    from zoo.datasets.parallel import ParallelText
    from zoo.translation.data import as_dataset

    model = tiny_translator_factory("additive", cell=cell, bidirectional=cell == "lstm")
    pairs = trained_translator.pairs[:8]
    data = ParallelText("toy", "train", [s for s, _ in pairs], [t for _, t in pairs], list(range(8)))
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(as_dataset(data, model, 4), epochs=3, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(model.translate(["El perro come pan."], beam_width=2)) == 1


@pytest.mark.slow
def test_the_demo_verses_are_test_split_verses_with_their_king_james_text(bible_pairs):
    from zoo.datasets import bible
    from zoo.translation.demo import DEMO_VERSES

    test = bible.load("test")
    by_reference = dict(zip(test.references, zip(test.sources, test.targets)))
    for reference, spanish, king_james in DEMO_VERSES:
        assert by_reference[reference] == (spanish, king_james), reference


def test_names_kept_counts_the_capitalised_words_after_the_first():
    from zoo.translation.evaluation import names_kept

    references = ["And the LORD spake unto Moses, saying,", "Abram went to Haran; Abram stayed."]
    hypotheses = ["And the LORD said to Moses:", "Abram went to Harran."]
    # wanted: LORD, Moses | Haran, Abram (the verse's first word is not counted); kept: LORD, Moses | Abram
    assert names_kept(hypotheses, references) == {"kept": 3, "of": 4, "share": 0.75}
    assert names_kept([], []) == {"kept": 0, "of": 0, "share": None}


def test_the_demo_messages_come_from_packages_of_the_software_test_split():
    from zoo.datasets import gettext_es
    from zoo.translation.demo import DEMO_MESSAGES

    sources = {source for _, source in gettext_es.packages()}
    for source, spanish, english in DEMO_MESSAGES:
        assert source in sources and gettext_es.split_of(source) == "test"
        assert gettext_es.message_pairs(english, spanish) == [(spanish, english)]
