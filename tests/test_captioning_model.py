"""The captioner: encoder and decoder shapes, what each decoder reads, decoding limits, learning, metrics, plots."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from captioning_toys import (
    VOCABULARY,
    make_tiny_captioner,
    toy_scenes,
    trained_toy_captioner,
)

import zoo
from zoo.captioning import Captioner
from zoo.captioning.data import as_dataset
from zoo.captioning.evaluation import CaptioningEvaluation, bleu, caption_metrics, evaluate
from zoo.datasets import coco, scenes
from zoo.decoding import BOS_ID, EOS_ID, PAD_ID, beam_search, greedy_search
from zoo.evaluation import Evaluation


@pytest.fixture(scope="module")
def trained_captioner():
    """A tiny attention captioner fitted on eight scenes (about ten seconds, once per session). Read-only."""
    model, data = trained_toy_captioner()
    return model, data


def _images(count=3, size=32):
    return tf.constant(np.random.default_rng(0).random((count, size, size, 3)), tf.float32)


# --- shapes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("decoder", ["attention", "init-state"])
def test_encoder_grid_and_teacher_forced_logits(decoder):
    model = Captioner(VOCABULARY, decoder=decoder, cell="lstm", hidden=12, embedding_dim=6, filters=(4, 4, 5),
                      dropout=0.0)
    assert model.grid_shape == (8, 8) and model.grid_size == 64 and model.target_size == len(VOCABULARY) + 4
    encoded = model.encode(_images(2, 64))
    assert encoded["grid"].shape == (2, 64, 5) and encoded["mask"].shape == (2, 64)
    fed_back = [(2, 6)] if decoder == "attention" else []  # the attentional output of input feeding
    assert [s.shape for s in encoded["states"]] == [(2, 12), (2, 12), *fed_back]  # LSTM: h and c
    if decoder == "attention":
        assert encoded["keys"].shape == (2, 64, 14)  # hidden features, then the cell's x and y
        np.testing.assert_allclose(encoded["keys"][0, 8 * 2 + 1, -2:], [-0.625, -0.375])  # row 2, column 1 of 8
    logits = model({"images": _images(2, 64), "caption_in": tf.constant([[BOS_ID, 5, 6], [BOS_ID, 7, 0]])})
    assert logits.shape == (2, 3, model.target_size)


@pytest.mark.slow
def test_mobilenet_backbone_builds_without_downloading():
    keras_home = Path(os.environ["KERAS_HOME"])
    model = Captioner(VOCABULARY, backbone="mobilenet_v3_small", hidden=8, embedding_dim=8, image_size=64)
    assert model.grid_shape == (2, 2)  # stride 32
    assert model({"images": _images(1, 64), "caption_in": tf.constant([[BOS_ID]])}).shape == (1, 1, model.target_size)
    assert Captioner.from_config(model.get_config()).get_config()["backbone_weights"] is None
    assert not list(keras_home.rglob("*.h5")), "a backbone weight file was downloaded"


# --- what each decoder reads ---------------------------------------------------------------------------


def test_attention_rows_are_distributions_over_the_grid():
    keras.utils.set_random_seed(3)
    model = make_tiny_captioner("attention")
    encoded = model.encode(_images())
    _, _, weights = model.decode_step(tf.fill([3], BOS_ID), encoded["states"], encoded)
    assert weights.shape == (3, model.grid_size)
    np.testing.assert_allclose(weights.numpy().sum(axis=1), 1.0, atol=1e-5)
    assert np.all(weights.numpy() > 0)


@pytest.mark.slow
@pytest.mark.parametrize("decoder", ["attention", "init-state"])
def test_teacher_forcing_computes_what_decoding_steps_compute(decoder):
    keras.utils.set_random_seed(7)
    model = make_tiny_captioner(decoder)
    images, tokens = _images(2), tf.constant([[BOS_ID, 5, 6, 7], [BOS_ID, 8, 5, EOS_ID]])
    forced = tf.nn.log_softmax(model({"images": images, "caption_in": tokens}))
    encoded = model.encode(images)
    states = encoded["states"]
    for t in range(tokens.shape[1]):
        log_probs, states, _ = model.decode_step(tokens[:, t], states, encoded)
        log_probs = log_probs.numpy()
        allowed = log_probs[0] > -1e8  # decoding also rules out padding, OOV and the start token
        renormalised = tf.nn.log_softmax(tf.boolean_mask(forced[:, t], allowed, axis=1)).numpy()
        np.testing.assert_allclose(log_probs[:, allowed], renormalised, atol=1e-5)


def test_attention_decoder_feeds_its_attentional_output_back():
    keras.utils.set_random_seed(8)
    model = make_tiny_captioner("attention")
    encoded = model.encode(_images(2))
    *cell_states, fed_back = encoded["states"]
    assert not np.any(fed_back.numpy())  # nothing attended before the first word
    _, states, _ = model.decode_step(tf.constant([BOS_ID, BOS_ID]), encoded["states"], encoded)
    assert states[-1].shape == fed_back.shape and np.any(states[-1].numpy())
    changed = [*states[:-1], states[-1] + 1.0]
    same_log_probs, _, _ = model.decode_step(tf.constant([5, 5]), states, encoded)
    other_log_probs, _, _ = model.decode_step(tf.constant([5, 5]), changed, encoded)
    assert not np.allclose(same_log_probs, other_log_probs), "the previous attentional output is not read"


def _swap_image(encoded, other):
    """`encoded` with every image-derived tensor but the decoder states taken from `other`."""
    return {**other, "states": encoded["states"]}


def test_init_state_sees_the_image_only_through_its_first_state():
    keras.utils.set_random_seed(4)
    images = _images(2)
    swapped = tf.reverse(images, axis=[0])
    tokens = tf.constant([BOS_ID, 5])
    for decoder in ("init-state", "attention"):
        model = make_tiny_captioner(decoder)
        encoded, other = model.encode(images), model.encode(swapped)
        assert not np.allclose(encoded["states"][0], other["states"][0]), "the first state ignores the image"
        log_probs, _, weights = model.decode_step(tokens, encoded["states"], encoded)
        swapped_log_probs, _, _ = model.decode_step(tokens, encoded["states"], _swap_image(encoded, other))
        if decoder == "init-state":
            np.testing.assert_array_equal(log_probs, swapped_log_probs)  # nothing but the state carries the image
            assert not np.any(weights.numpy())  # and its attention is all zeros
        else:
            assert not np.allclose(log_probs, swapped_log_probs)  # attention keeps reading the image


# --- decoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("decoder,cell", [("attention", "gru"), ("init-state", "lstm"), ("attention", "elman")])
def test_beam_width_one_equals_greedy(decoder, cell):
    keras.utils.set_random_seed(5)
    model = make_tiny_captioner(decoder, cell=cell, max_length=8)
    encoded = model.encode(_images())
    limits = tf.fill([3], 8)
    greedy = greedy_search(model, encoded, limits)
    beam = beam_search(model, encoded, limits, tf.constant(1), model.length_penalty)
    np.testing.assert_array_equal(greedy[0], beam[0])
    np.testing.assert_allclose(greedy[1], beam[1], atol=1e-6)
    np.testing.assert_allclose(greedy[2], beam[2], atol=1e-5)


@pytest.mark.slow  # trains a toy model first
def test_decoder_stops_at_the_end_token(trained_captioner):
    model, data = trained_captioner
    encoded = model.encode(model.preprocess(data.images[:4]))
    limits = tf.fill([4], model.max_length)
    words = [len(refs[0].split()) for refs in data.captions[:4]]
    for ids, *_ in (greedy_search(model, encoded, limits), beam_search(model, encoded, limits, tf.constant(3), 1.0)):
        ids = ids.numpy()
        for row, expected in zip(ids, words):
            ends = np.flatnonzero(row == EOS_ID)
            assert ends.size == 1 and ends[0] == expected, row
            assert np.all(row[ends[0] + 1:] == PAD_ID)
        assert ids.shape[1] == max(words) + 1 < model.max_length, "the loop ran on after every caption ended"


@pytest.mark.slow
def test_decoder_stops_at_the_maximum_length():
    keras.utils.set_random_seed(6)
    model = make_tiny_captioner("attention", max_length=5)  # untrained: rarely emits the end token
    image = np.zeros((32, 32, 3), np.uint8)
    for beam_width in (1, 3):
        out = model.caption([image], beam_width=beam_width, return_attention=True)[0]
        assert 1 <= len(out["tokens"]) <= 5 and out["attention"].shape == (len(out["tokens"]), 8, 8)
        out = model.caption([image], beam_width=beam_width, max_length=2, return_attention=True)[0]
        assert len(out["tokens"]) <= 2
        assert len(out["caption"].split()) == len(out["tokens"])


# --- learning ---------------------------------------------------------------------------------------


@pytest.mark.slow  # trains a toy model first
def test_a_tiny_model_learns_a_handful_of_scenes_exactly(trained_captioner):
    model, data = trained_captioner
    for beam_width in (1, 3):
        captions = model.caption(data.images, beam_width=beam_width)
        assert captions == [refs[0] for refs in data.captions]
        assert all(scenes.caption_is_true(c, s) for c, s in zip(captions, data.scenes))
    results = model.caption(data.images[:2], return_attention=True)
    for result, refs in zip(results, data.captions):
        assert result["tokens"] == refs[0].split() and result["score"] < 0
        np.testing.assert_allclose(result["attention"].sum(axis=(1, 2)), 1.0, atol=1e-5)
        assert result["image"].shape == (32, 32, 3)
    assert evaluate(model, data)["exact"] == 1.0


@pytest.mark.slow  # trains a toy model first
def test_teacher_forcing_batches(trained_captioner):
    model, data = trained_captioner
    x, caption_out, weights = next(iter(as_dataset(data, model, 3, references="first")))
    assert x["images"].shape == (3, 32, 32, 3) and x["images"].dtype == tf.float32
    assert np.all(x["caption_in"][:, 0] == BOS_ID)
    for row, refs in enumerate(data.captions[:3]):
        ids = model.caption_ids(tf.constant([refs[0]])).numpy()[0]
        n = len(ids)
        np.testing.assert_array_equal(x["caption_in"][row, 1:n + 1], ids)
        np.testing.assert_array_equal(caption_out[row, :n + 1], [*ids, EOS_ID])
        assert weights[row].numpy().sum() == n + 1
    every = as_dataset(data, model, 4, references="all")  # one example per reference
    examples = sum(len(refs) for refs in data.captions)
    assert sum(int(b[1].shape[0]) for b in every) == examples and int(every.cardinality()) == -(-examples // 4)


# --- config, options ---------------------------------------------------------------------------------


@pytest.mark.slow  # trains a toy model first
def test_config_round_trip_and_keras_save_load(trained_captioner, tmp_path):
    model, data = trained_captioner
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Captioner)
    assert loaded.get_config() == model.get_config()
    assert loaded.caption(data.images[:4]) == model.caption(data.images[:4])
    assert Captioner.from_config(model.get_config()).get_config() == model.get_config()


def test_unknown_options_are_refused():
    for kwargs, pattern in [({"decoder": "transformer"}, "CaptionerConfig decoder: expected one of"),
                            ({"cell": "rnn"}, "CaptionerConfig cell: expected one of"),
                            ({"attention_score": "cosine"}, "CaptionerConfig attention_score: expected one of"),
                            ({"backbone": "resnet"}, "CaptionerConfig backbone: expected one of"),
                            ({"image_size": 60}, "multiple of"),
                            ({"beam_width": 0}, "beam_width"),
                            ({"max_length": 0}, "max_length")]:
        with pytest.raises(ValueError, match=pattern):
            Captioner(["a"], **kwargs)
    with pytest.raises(ValueError, match="vocabulary"):
        Captioner(["a", "two words"])


# --- metrics, demo, plots ----------------------------------------------------------------------------


def test_metrics_are_perfect_for_references_and_lower_for_a_wrong_colour():
    data = toy_scenes()
    right = caption_metrics([refs[-1] for refs in data.captions], data.captions, data.scenes)
    assert right["bleu"] == 100.0 and right["attribute_accuracy"] == 1.0 and right["exact"] == 1.0
    assert right["attributes"] == dict.fromkeys(scenes.SCORES, 1.0) and right["images"] == len(data)

    def recolour(caption, scene):
        colour = scene["objects"][0]["colour"]
        return caption.replace(colour, "orange" if colour != "orange" else "blue", 1)

    wrong = caption_metrics([recolour(refs[0], s) for refs, s in zip(data.captions, data.scenes)],
                            data.captions, data.scenes)
    assert wrong["bleu"] < 100.0 and wrong["exact"] == 0.0
    assert wrong["attributes"]["colour"] < 1.0 and wrong["attribute_accuracy"] < 1.0
    assert wrong["attributes"]["shape"] == 1.0
    # variable numbers of references (2 for one object, 4 for two): padded streams, not truncated
    assert bleu(["a small red circle", "a big blue square"],
                [["a little red circle", "a small red circle"], ["a big blue square"]])["bleu"] == 100.0


@pytest.mark.slow  # trains a toy model first
def test_evaluation_is_headed_by_bleu_and_says_what_was_scored(trained_captioner):
    model, data = trained_captioner
    result = evaluate(model, data)
    assert isinstance(result, CaptioningEvaluation) and result.headline == result["bleu"]
    assert str(result).endswith(f"(attribute accuracy {result['attribute_accuracy']:.4f}, {len(data)} images)")
    photographs = coco.Captions(coco.NAME, "test", data.images, data.captions)  # no scenes: BLEU-4 only
    assert str(evaluate(model, photographs)).endswith(f"({len(data)} images)")
    recorded = Evaluation.of_card({"task": Captioner.TASK, "test_metrics": dict(result)})
    assert isinstance(recorded, CaptioningEvaluation) and recorded.matches(result)


def test_evaluate_split_knows_the_scenes_and_coco_only():
    model = make_tiny_captioner()
    model.card = {"dataset": {"name": "my photos"}}
    with pytest.raises(ValueError, match="knows the 'scenes' and 'coco_captions' datasets"):
        model.evaluate_split("test")


@pytest.mark.slow  # trains a toy model first
def test_demo_and_predict_file(trained_captioner, tmp_path):
    model, data = trained_captioner
    lines = model.demo().splitlines()
    assert len(lines) == 6 and all(("true" in line) or ("WRONG" in line) for line in lines)
    path = tmp_path / "scene.png"
    path.write_bytes(tf.io.encode_png(data.images[4]).numpy())
    assert model.predict_file(path) == data.captions[4][0]


@pytest.mark.slow  # trains a toy model first
def test_plot_caption_attention_writes_a_png(trained_captioner, tmp_path):
    model, data = trained_captioner
    result = model.caption(data.images[:1], return_attention=True)[0]
    path = zoo.plot_caption_attention(result, tmp_path / "attention.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    with pytest.raises(ValueError, match="attention: expected shape"):
        zoo.plot_caption_attention({**result, "tokens": result["tokens"][:-1]}, tmp_path / "bad.png")
