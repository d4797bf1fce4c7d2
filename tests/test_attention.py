"""zoo.layers.attention.Attention: the three scores written out in NumPy, masking, config round trip."""

import keras
import numpy as np
import pytest

from zoo.layers.attention import SCORES, Attention


BATCH, TARGET, SOURCE, DIM, UNITS = 3, 4, 6, 5, 7
LENGTHS = np.array([SOURCE, 3, 1])


def _mask():
    return np.arange(SOURCE)[None, :] < LENGTHS[:, None]


def _inputs(rng, query_dim=DIM):
    query = rng.normal(size=(BATCH, TARGET, query_dim)).astype("float32")
    keys = rng.normal(size=(BATCH, SOURCE, DIM)).astype("float32")
    return query, keys


def _softmax(scores, mask):
    scores = np.where(mask[:, None, :], scores, -np.inf)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _numpy_scores(layer, query, keys):
    """score(q, k) as the module docstring writes it, in float64."""
    q, k = query.astype("float64"), keys.astype("float64")
    if layer.score == "dot":
        return np.einsum("btd,bsd->bts", q, k)
    if layer.score == "general":
        W = np.asarray(layer.W, "float64")  # (Dk, Dq): W k is k @ W
        return np.einsum("btd,bsd->bts", q, k @ W)
    W_q, W_k, v = (np.asarray(w, "float64") for w in (layer.W_q, layer.W_k, layer.v))
    hidden = np.tanh((q @ W_q)[:, :, None, :] + (k @ W_k)[:, None, :, :])
    return hidden @ v


@pytest.mark.parametrize("score", SCORES)
def test_weights_are_a_masked_softmax(rng, score):
    layer = Attention(score, units=UNITS)
    query, keys = _inputs(rng)
    mask = _mask()
    context, weights = (np.asarray(x) for x in layer(query, keys, key_mask=mask))
    assert context.shape == (BATCH, TARGET, DIM) and weights.shape == (BATCH, TARGET, SOURCE)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
    padding = np.broadcast_to(~mask[:, None, :], weights.shape)
    assert np.all(weights[padding] == 0.0)
    assert np.all(weights[~padding] > 0.0)
    np.testing.assert_allclose(weights[2, :, 0], 1.0, atol=1e-6)  # one real position takes all the weight
    np.testing.assert_allclose(context, np.einsum("bts,bsd->btd", weights, keys), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights, _softmax(_numpy_scores(layer, query, keys), mask), rtol=1e-4, atol=1e-6)


def test_dot_weights_are_the_softmax_of_inner_products(rng):
    query, keys = _inputs(rng)
    mask = _mask()
    _, weights = Attention("dot")(query, keys, key_mask=mask)
    for b in range(BATCH):
        for t in range(TARGET):
            n = LENGTHS[b]
            scores = np.array([float(np.dot(query[b, t], keys[b, s])) for s in range(n)])
            expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
            np.testing.assert_allclose(np.asarray(weights)[b, t, :n], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("score", SCORES)
def test_padded_keys_change_nothing(rng, score):
    layer = Attention(score, units=UNITS)
    query, keys = _inputs(rng)
    mask = _mask()
    changed = keys.copy()
    changed[~mask] = rng.normal(scale=100.0, size=changed[~mask].shape)
    assert not np.allclose(changed, keys)
    context, weights = layer(query, keys, key_mask=mask)
    context2, weights2 = layer(query, changed, key_mask=mask)
    np.testing.assert_allclose(np.asarray(weights2), np.asarray(weights), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(context2), np.asarray(context), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("score", SCORES)
def test_mask_given_as_numbers_or_bools(rng, score):
    layer = Attention(score, units=UNITS)
    query, keys = _inputs(rng)
    _, weights = layer(query, keys, key_mask=_mask())
    _, weights_int = layer(query, keys, key_mask=_mask().astype("int32"))
    np.testing.assert_array_equal(np.asarray(weights_int), np.asarray(weights))


@pytest.mark.parametrize("score", ["general", "additive"])
def test_queries_and_keys_may_differ_in_size(rng, score):
    layer = Attention(score, units=UNITS)
    query, keys = _inputs(rng, query_dim=DIM + 3)
    context, weights = layer(query, keys, key_mask=_mask())
    assert context.shape == (BATCH, TARGET, DIM) and weights.shape == (BATCH, TARGET, SOURCE)
    np.testing.assert_allclose(np.asarray(weights), _softmax(_numpy_scores(layer, query, keys), _mask()),
                               rtol=1e-4, atol=1e-6)


def test_dot_needs_queries_and_keys_of_one_size(rng):
    query, keys = _inputs(rng, query_dim=DIM + 1)
    with pytest.raises(ValueError, match="dot"):
        Attention("dot")(query, keys, key_mask=_mask())


@pytest.mark.parametrize("score", ["cosine", "", "Dot", None])
def test_unknown_score(score):
    with pytest.raises(ValueError, match="score"):
        Attention(score)


@pytest.mark.parametrize("score", SCORES)
def test_config_round_trip(rng, score):
    layer = Attention(score, units=UNITS, name="attend")
    query, keys = _inputs(rng)
    context, weights = layer(query, keys, key_mask=_mask())
    config = layer.get_config()
    assert config["score"] == score and config["units"] == UNITS and config["name"] == "attend"
    for clone in (Attention.from_config(config),
                  keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))):
        assert isinstance(clone, Attention)
        assert (clone.score, clone.units, clone.name) == (score, UNITS, "attend")
        if not clone.built:  # deserialize_keras_object builds from the saved build config, from_config does not
            clone.build(query.shape, keys.shape)
        assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in layer.weights]
        clone.set_weights(layer.get_weights())
        context2, weights2 = clone(query, keys, key_mask=_mask())
        np.testing.assert_allclose(np.asarray(context2), np.asarray(context), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.asarray(weights2), np.asarray(weights), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("score", SCORES)
def test_project_keys_then_attend_equals_call(rng, score):
    layer = Attention(score, units=UNITS)
    query, keys = _inputs(rng)
    mask = _mask()
    context, weights = layer(query, keys, key_mask=mask)
    projected = layer.project_keys(keys)
    expected_width = UNITS if score == "additive" else DIM
    assert tuple(projected.shape) == (BATCH, SOURCE, expected_width)
    for t in range(TARGET):  # one decoding step at a time, reusing the projection
        step_context, step_weights = layer.attend(query[:, t : t + 1], keys, projected, mask)
        np.testing.assert_allclose(np.asarray(step_context)[:, 0], np.asarray(context)[:, t], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(step_weights)[:, 0], np.asarray(weights)[:, t], rtol=1e-5, atol=1e-6)
