"""zoo.tagging.signatures at the SavedModel level: what plain TensorFlow, saved_model_cli and TF Serving see."""


import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import op_def_registry

import zoo
from zoo import artifacts
from zoo.serving import read_warmup_requests

SENTENCES = [
    "The old horse sleeps slowly.",
    "A cat sees the farmer today, and every dog runs.",
    "",
    "Zorblax glimphs \u201cthe\u201d caf\u00e9's 1,000 birds.",
    "Mr. Smith's child eats.",
]


def _api_rows(model, sentences):
    return model.tag(sentences, scores=True)


def _rows_from_outputs(tokens, tags, scores):
    """Signature outputs → the API's rows of (token, tag, score), padding dropped."""
    rows = []
    for row_tokens, row_tags, row_scores in zip(tokens, tags, scores):
        rows.append([(t.decode("utf-8"), g.decode("utf-8"), float(s))
                     for t, g, s in zip(row_tokens, row_tags, row_scores) if t])
    return rows


def _assert_same_rows(got, expected):
    assert [[(t, g) for t, g, _ in row] for row in got] == [[(t, g) for t, g, _ in row] for row in expected]
    np.testing.assert_allclose([s for row in got for *_, s in row], [s for row in expected for *_, s in row],
                               rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def loaded(trained_tagger):
    return tf.saved_model.load(str(trained_tagger.version_dir))


# --- the export ---------------------------------------------------------------------------------------


def test_export_card(trained_tagger):
    card = zoo.info(trained_tagger.version_dir)
    assert card["task"] == "pos-tagging" and card["name"] == "pos_toy" and card["version"] == 1
    assert set(card["signatures"]) == {"serving_default", "tag_tokens"}
    default = card["signatures"]["serving_default"]
    assert default["inputs"] == {"sentences": {"dtype": "string", "shape": None}}
    assert set(default["outputs"]) == {"tokens", "tags", "scores"}
    assert default["outputs"]["scores"]["dtype"] == "float32"
    assert card["signatures"]["tag_tokens"]["inputs"] == {"tokens": {"dtype": "string", "shape": None}}
    assert card["signatures"]["serving_default"]["example_request"]["inputs"]["sentences"] == [
        "The book that I got yesterday is on the table."]


def test_zoo_load_matches_the_model(trained_tagger):
    reloaded = zoo.load(trained_tagger.version_dir)
    assert reloaded.card["name"] == "pos_toy"
    _assert_same_rows(reloaded.tag(SENTENCES, scores=True), _api_rows(trained_tagger.model, SENTENCES))


def test_in_process_savedmodel_matches_the_api(loaded, trained_tagger):
    out = loaded.signatures["serving_default"](sentences=tf.constant(SENTENCES))
    tokens, tags, scores = out["tokens"].numpy(), out["tags"].numpy(), out["scores"].numpy()
    assert tokens.shape == tags.shape == scores.shape and tokens.shape[0] == len(SENTENCES)
    _assert_same_rows(_rows_from_outputs(tokens, tags, scores), _api_rows(trained_tagger.model, SENTENCES))
    # padding: "" token, "" tag, score 0, after the real tokens
    for row_tokens, row_tags, row_scores in zip(tokens, tags, scores):
        real = row_tokens != b""
        n = int(real.sum())
        assert real[:n].all() and (row_tags[n:] == b"").all() and (row_scores[n:] == 0).all()
        assert (row_tags[:n] != b"").all() and (row_scores[:n] > 0).all()
    assert tokens.shape[1] == max(len(row) for row in _api_rows(trained_tagger.model, SENTENCES))


def test_tag_tokens_signature_matches_the_api(loaded, trained_tagger):
    rows = [["The", "dog", "runs", "slowly", "."], ["A", "small", "cat", "", ""]]
    out = loaded.signatures["tag_tokens"](tokens=tf.constant(rows))
    got = _rows_from_outputs(out["tokens"].numpy(), out["tags"].numpy(), out["scores"].numpy())
    _assert_same_rows(got, trained_tagger.model.tag_tokens([rows[0], ["A", "small", "cat"]], scores=True))
    assert out["tags"].numpy()[1, 3:].tolist() == [b"", b""]


def test_all_empty_batch_gives_one_padding_column(loaded):
    out = loaded.signatures["serving_default"](sentences=tf.constant(["", "  "]))
    assert out["tokens"].shape == (2, 1)
    assert out["tokens"].numpy().tolist() == [[b""], [b""]] and out["tags"].numpy().tolist() == [[b""], [b""]]
    assert out["scores"].numpy().tolist() == [[0.0], [0.0]]
    empty = loaded.signatures["serving_default"](sentences=tf.constant([], tf.string))
    assert empty["tokens"].shape[0] == 0


def test_warmup_requests_feed_the_signatures(trained_tagger, loaded):
    requests = read_warmup_requests(trained_tagger.version_dir / artifacts.WARMUP)
    assert sorted(r.model_spec.signature_name for r in requests) == ["serving_default", "tag_tokens"]
    for request in requests:
        assert request.model_spec.name == "pos_toy"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](**{k: tf.constant(v) for k, v in inputs.items()})
        assert set(out) == {"tokens", "tags", "scores"}
        assert out["tags"].shape[0] == next(iter(inputs.values())).shape[0]
        assert {t.decode() for t in out["tags"].numpy().ravel()} <= set(trained_tagger.model.tag_names) | {""}


BAD = {
    "rank-2 sentences": ("serving_default", "sentences", tf.constant([["a", "b"]]),
                         r"sentences: expected string \(batch,\)"),
    "invalid UTF-8 sentence": ("serving_default", "sentences", tf.constant([b"caf\xe9 ok"]), r"sentences: not valid UTF-8"),
    "rank-1 tokens": ("tag_tokens", "tokens", tf.constant(["a", "b"]), r"tokens: expected string \(batch, tokens\)"),
    "invalid UTF-8 token": ("tag_tokens", "tokens", tf.constant([[b"ok", b"\xff"]]), r"tokens: not valid UTF-8"),
}


@pytest.mark.parametrize("signature,name,tensor,pattern", list(BAD.values()), ids=list(BAD))
def test_savedmodel_rejects_bad_input(loaded, signature, name, tensor, pattern):
    good = loaded.signatures["serving_default"](sentences=tf.constant(["The dog runs."]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        loaded.signatures[signature](**{name: tensor})
    again = loaded.signatures["serving_default"](sentences=tf.constant(["The dog runs."]))
    np.testing.assert_array_equal(again["scores"].numpy(), good["scores"].numpy())


# --- the graph ------------------------------------------------------------------------------------------


def test_graph_has_no_cudnn_op_and_only_core_ops(trained_tagger, saved_model_ops):
    ops = saved_model_ops(trained_tagger.version_dir)
    assert {"While", "Assert", "StringSplitV2", "LookupTableFindV2"} <= ops
    # the tokenizer and the character encoder are in the graph
    assert [op for op in ops if op.endswith("RegexReplace")] and [op for op in ops if op.startswith("Unicode")]
    assert [op for op in ops if "cudnn" in op.lower()] == []
    # every op is a kernel of core TensorFlow (no tensorflow-text), so the stock TF Serving image runs it
    assert [op for op in ops if op_def_registry.get(op) is None] == []


@pytest.mark.slow
def test_gru_export_has_no_cudnn_op(tiny_tagger_factory, tmp_path, saved_model_ops):
    path = tiny_tagger_factory(cell="gru").export_serving(tmp_path / "pos_gru")
    ops = saved_model_ops(path)
    assert "While" in ops and [op for op in ops if "cudnn" in op.lower()] == []
