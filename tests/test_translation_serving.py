"""zoo.translation.signatures at the SavedModel level: what plain TensorFlow, saved_model_cli and TF Serving see."""


import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import op_def_registry

import zoo
from zoo import artifacts
from zoo.serving import read_warmup_requests

SENTENCES = ["El perro grande come pan.", "", "Juan ve agua.", "El gato pequeño ve pan."]


@pytest.fixture(scope="module")
def loaded(trained_translator):
    return tf.saved_model.load(str(trained_translator.version_dir))


def test_export_card(trained_translator):
    card = zoo.info(trained_translator.version_dir)
    assert card["task"] == "translation" and card["name"] == "translate_toy"
    assert set(card["signatures"]) == {"serving_default", "translate"}
    default = card["signatures"]["serving_default"]
    assert default["inputs"] == {"sentences": {"dtype": "string", "shape": None}}
    assert default["outputs"] == {"translations": {"dtype": "string", "shape": [-1]},
                                  "scores": {"dtype": "float32", "shape": [-1]}}
    translate = card["signatures"]["translate"]
    assert set(translate["inputs"]) == {"sentences", "beam_width", "max_length"}
    assert set(translate["outputs"]) == {"translations", "scores", "source_tokens", "target_tokens", "attention"}
    assert translate["outputs"]["attention"] == {"dtype": "float32", "shape": [-1, -1, -1]}


def test_serving_default_matches_the_api(loaded, trained_translator):
    out = loaded.signatures["serving_default"](sentences=tf.constant(SENTENCES))
    got = [t.decode() for t in out["translations"].numpy()]
    assert got == trained_translator.model.translate(SENTENCES)
    assert got[1] == "" and out["scores"].numpy()[1] == 0.0
    assert np.all(out["scores"].numpy()[[0, 2, 3]] < 0)  # mean log-probabilities


def test_zoo_load_matches_the_model(trained_translator):
    reloaded = zoo.load(trained_translator.version_dir)
    for beam_width in (1, 4):
        assert (reloaded.translate(SENTENCES, beam_width=beam_width)
                == trained_translator.model.translate(SENTENCES, beam_width=beam_width))


def test_translate_signature_returns_tokens_and_attention(loaded, trained_translator):
    out = loaded.signatures["translate"](sentences=tf.constant(SENTENCES), beam_width=tf.constant(1),
                                         max_length=tf.constant(0))
    api = trained_translator.model.translate(SENTENCES, beam_width=1, return_attention=True)
    attention = out["attention"].numpy()
    assert attention.shape == (len(SENTENCES), out["target_tokens"].shape[1], out["source_tokens"].shape[1])
    for row, expected in enumerate(api):
        source = [t.decode() for t in out["source_tokens"].numpy()[row] if t]
        target = [t.decode() for t in out["target_tokens"].numpy()[row] if t]
        assert source == expected["source_tokens"] and target == expected["target_tokens"]
        np.testing.assert_allclose(attention[row, :len(target), :len(source)], expected["attention"], atol=1e-6)
        assert not attention[row, :, len(source):].any(), "attention on source padding"
        assert not attention[row, len(target) + 1:].any(), "attention after the end of the translation"


def test_rest_row_format_gives_one_option_value_per_sentence(loaded):
    rows = loaded.signatures["translate"](sentences=tf.constant(SENTENCES[:2]), beam_width=tf.constant([2, 2]),
                                          max_length=tf.constant([0, 0]))
    scalar = loaded.signatures["translate"](sentences=tf.constant(SENTENCES[:2]), beam_width=tf.constant(2),
                                            max_length=tf.constant(0))
    np.testing.assert_array_equal(rows["translations"].numpy(), scalar["translations"].numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="beam_width: expected one integer"):
        loaded.signatures["translate"](sentences=tf.constant(SENTENCES[:2]), beam_width=tf.constant([1, 3]),
                                       max_length=tf.constant(0))


@pytest.mark.parametrize("beam_width,max_length,pattern", [
    (0, 0, "beam_width: expected 1 to 64"),
    (65, 0, "beam_width: expected 1 to 64"),
    (1, -1, "max_length: expected 0"),  # as the Python API refuses it
])
def test_translate_signature_refuses_bad_options(loaded, beam_width, max_length, pattern):
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        loaded.signatures["translate"](sentences=tf.constant(SENTENCES[:1]), beam_width=tf.constant(beam_width),
                                       max_length=tf.constant(max_length))


def test_all_empty_and_zero_sentence_batches(loaded):
    out = loaded.signatures["serving_default"](sentences=tf.constant(["", "  "]))
    assert out["translations"].numpy().tolist() == [b"", b""] and out["scores"].numpy().tolist() == [0.0, 0.0]
    empty = loaded.signatures["serving_default"](sentences=tf.constant([], tf.string))
    assert empty["translations"].shape == (0,)


BAD = {
    "rank-2 sentences": ({"sentences": tf.constant([["a", "b"]])}, r"sentences: expected string \(batch,\)"),
    "invalid UTF-8": ({"sentences": tf.constant([b"caf\xe9 ok"])}, r"sentences: not valid UTF-8"),
    "2 000 words": ({"sentences": tf.constant([" ".join(["perro"] * 2000)])}, "max_source_tokens"),
}


@pytest.mark.parametrize("inputs,pattern", list(BAD.values()), ids=list(BAD))
def test_savedmodel_rejects_bad_input_and_keeps_serving(loaded, inputs, pattern):
    good = loaded.signatures["serving_default"](sentences=tf.constant(SENTENCES))
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        loaded.signatures["serving_default"](**inputs)
    again = loaded.signatures["serving_default"](sentences=tf.constant(SENTENCES))
    np.testing.assert_array_equal(again["translations"].numpy(), good["translations"].numpy())


def test_warmup_requests_feed_the_signatures(trained_translator, loaded):
    requests = read_warmup_requests(trained_translator.version_dir / artifacts.WARMUP)
    assert sorted(r.model_spec.signature_name for r in requests) == ["serving_default", "translate"]
    for request in requests:
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert out["translations"].shape == (1,)


def test_graph_decodes_in_while_loops_with_core_ops_only(trained_translator, saved_model_ops):
    ops = saved_model_ops(trained_translator.version_dir)
    assert {"While", "TopKV2", "StringSplitV2", "LookupTableFindV2", "StringUpper"} <= ops
    assert [op for op in ops if op.endswith("RegexReplace")]  # tokenising and detokenising
    assert [op for op in ops if "cudnn" in op.lower()] == []
    assert [op for op in ops if op_def_registry.get(op) is None] == []  # no tensorflow-text
