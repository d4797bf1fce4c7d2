"""zoo.layers: the Elman cell, the projected LSTM, the RNN factory, masked pooling and the output logits."""

import keras
import numpy as np
import pytest

from zoo.layers import CELLS, ElmanCell, MaskedMeanMaxPooling, make_rnn

BATCH, TIME, FEATURES, UNITS = 3, 7, 4, 5


def _inputs(rng):
    return rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32")


def _mask():
    lengths = np.array([TIME, 4, 1])
    return np.arange(TIME)[None, :] < lengths[:, None], lengths


def _elman_and_simple(return_sequences):
    """An Elman RNN and a SimpleRNN with identical weights (copied across by meaning)."""
    elman = keras.layers.RNN(ElmanCell(UNITS), return_sequences=return_sequences)
    simple = keras.layers.SimpleRNN(UNITS, return_sequences=return_sequences)
    zeros = np.zeros((1, TIME, FEATURES), "float32")
    elman(zeros), simple(zeros)
    rng = np.random.default_rng(7)
    kernel = rng.normal(size=(FEATURES, UNITS)).astype("float32")
    recurrent = rng.normal(scale=0.5, size=(UNITS, UNITS)).astype("float32")
    bias = rng.normal(size=(UNITS,)).astype("float32")
    elman.cell.kernel.assign(kernel)
    elman.cell.recurrent_kernel.assign(recurrent)
    elman.cell.bias.assign(bias)
    simple.cell.kernel.assign(kernel)
    simple.cell.recurrent_kernel.assign(recurrent)
    simple.cell.bias.assign(bias)
    return elman, simple, (kernel, recurrent, bias)


def _numpy_elman(x, kernel, recurrent, bias):
    """h_t = tanh(x_t W_xh + h_{t-1} W_hh + b), written out for one series."""
    h = np.zeros(recurrent.shape[0], "float64")
    states = []
    for x_t in x:
        h = np.tanh(x_t @ kernel + h @ recurrent + bias)
        states.append(h)
    return np.array(states)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_elman_equals_simple_rnn_with_same_weights(rng, return_sequences):
    elman, simple, _ = _elman_and_simple(return_sequences)
    x = _inputs(rng)
    got, want = np.asarray(elman(x)), np.asarray(simple(x))
    expected_shape = (BATCH, TIME, UNITS) if return_sequences else (BATCH, UNITS)
    assert got.shape == expected_shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_elman_equals_simple_rnn_with_mask(rng, return_sequences):
    elman, simple, _ = _elman_and_simple(return_sequences)
    x = _inputs(rng)
    mask, _ = _mask()
    got, want = np.asarray(elman(x, mask=mask)), np.asarray(simple(x, mask=mask))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if not return_sequences:
        # The mask matters: with it the short series do not end in the same state.
        assert not np.allclose(got, np.asarray(elman(x)), atol=1e-4)


def test_elman_is_the_written_out_recurrence(rng):
    elman, _, (kernel, recurrent, bias) = _elman_and_simple(return_sequences=True)
    x = _inputs(rng)
    got = np.asarray(elman(x))
    for i in range(BATCH):
        np.testing.assert_allclose(got[i], _numpy_elman(x[i], kernel, recurrent, bias), rtol=1e-5, atol=1e-5)


def test_masked_elman_returns_the_state_after_the_last_real_step(rng):
    elman, _, (kernel, recurrent, bias) = _elman_and_simple(return_sequences=False)
    x = _inputs(rng)
    mask, lengths = _mask()
    got = np.asarray(elman(x, mask=mask))
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(got[i], _numpy_elman(x[i, :n], kernel, recurrent, bias)[-1], rtol=1e-5, atol=1e-5)


def test_elman_cell_config_round_trip():
    cell = ElmanCell(6, activation="relu", recurrent_initializer="identity")
    clone = ElmanCell.from_config(cell.get_config())
    assert clone.units == 6
    assert clone.state_size == 6 and clone.output_size == 6
    assert keras.activations.serialize(clone.activation) == keras.activations.serialize(cell.activation)
    assert clone.get_config() == cell.get_config()
    rnn = keras.layers.RNN(clone)
    rnn(np.zeros((1, 2, 3), "float32"))
    np.testing.assert_array_equal(np.asarray(clone.recurrent_kernel), np.eye(6, dtype="float32"))
    assert [tuple(w.shape) for w in clone.weights] == [(3, 6), (6, 6), (6,)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_make_rnn_shapes(rng, cell, bidirectional, return_sequences):
    layer = make_rnn(cell, UNITS, bidirectional=bidirectional, return_sequences=return_sequences, name="enc")
    assert layer.name == "enc"
    out = np.asarray(layer(_inputs(rng)))
    width = 2 * UNITS if bidirectional else UNITS
    assert out.shape == ((BATCH, TIME, width) if return_sequences else (BATCH, width))
    assert np.all(np.isfinite(out))


def test_make_rnn_builds_the_named_cell():
    assert isinstance(make_rnn("elman", 3).cell, ElmanCell)
    assert isinstance(make_rnn("gru", 3), keras.layers.GRU)
    assert isinstance(make_rnn("lstm", 3), keras.layers.LSTM)
    bidi = make_rnn("lstm", 3, bidirectional=True)
    assert isinstance(bidi, keras.layers.Bidirectional)
    assert isinstance(bidi.forward_layer, keras.layers.LSTM)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_make_rnn_never_uses_cudnn(cell):
    layer = make_rnn(cell, 3)
    assert layer.use_cudnn is False


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_make_rnn_honours_masks(rng, cell, bidirectional):
    """The masked result of a padded series equals the unpadded series' result."""
    layer = make_rnn(cell, UNITS, bidirectional=bidirectional)
    x = _inputs(rng)
    mask, lengths = _mask()
    masked = np.asarray(layer(x, mask=mask))
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(masked[i], np.asarray(layer(x[i : i + 1, :n]))[0], rtol=1e-5, atol=1e-6)


def test_make_rnn_passes_the_recurrent_initializer():
    layer = make_rnn("elman", 4, recurrent_initializer="identity")
    layer(np.zeros((1, 2, 3), "float32"))
    np.testing.assert_array_equal(np.asarray(layer.cell.recurrent_kernel), np.eye(4, dtype="float32"))


@pytest.mark.parametrize("cell", ["rnn", "Elman", "transformer", ""])
def test_make_rnn_unknown_cell(cell):
    with pytest.raises(ValueError, match="cell must be one of"):
        make_rnn(cell, 4)


def test_masked_mean_max_pooling_ignores_padding(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    x[1, 2:] = 1000.0  # padding that must not leak into the mean or the max
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    got = np.asarray(MaskedMeanMaxPooling()(x, mask=mask))
    want = np.stack(
        [
            np.concatenate([x[0].mean(0), x[0].max(0)]),
            np.concatenate([x[1, :2].mean(0), x[1, :2].max(0)]),
        ]
    )
    assert got.shape == (2, 6)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_masked_mean_max_pooling_without_mask(rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    got = np.asarray(MaskedMeanMaxPooling()(x))
    np.testing.assert_allclose(got, np.concatenate([x.mean(1), x.max(1)], axis=-1), rtol=1e-6)


def test_projected_lstm_with_an_identity_projection_is_keras_lstm(rng):
    from zoo.layers import ProjectedLSTMCell

    x = _inputs(rng)
    projected = keras.layers.RNN(ProjectedLSTMCell(UNITS, projection=UNITS), return_sequences=True)
    projected.build(x.shape)
    cell = projected.cell
    cell.projection_kernel.assign(np.eye(UNITS, dtype="float32"))
    lstm = keras.layers.LSTM(UNITS, return_sequences=True, use_cudnn=False)
    lstm.build(x.shape)
    lstm.set_weights([w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias)])
    mask, _ = _mask()
    np.testing.assert_allclose(np.asarray(projected(x, mask=mask)), np.asarray(lstm(x, mask=mask)), atol=1e-5)
    forget = cell.bias.numpy()[UNITS:2 * UNITS]
    assert np.all(forget == 1) and not np.any(np.delete(cell.bias.numpy(), np.s_[UNITS:2 * UNITS]))


def test_projected_lstm_outputs_and_reads_back_the_projection(rng):
    from zoo.layers import ProjectedLSTMCell

    cell = ProjectedLSTMCell(6, projection=2)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, output, memory = rnn(_inputs(rng))
    assert outputs.shape == (BATCH, TIME, 2) and output.shape == (BATCH, 2) and memory.shape == (BATCH, 6)
    assert cell.recurrent_kernel.shape == (2, 24)
    assert keras.layers.RNN.from_config(rnn.get_config()).cell.get_config()["projection"] == 2


@pytest.mark.parametrize("shape", [(FEATURES,), (BATCH, FEATURES), (BATCH, TIME, FEATURES)])
def test_similarity_logits_are_every_feature_vector_times_every_words_column_plus_its_bias(rng, shape):
    from zoo.layers.output import similarity_logits

    vocabulary = 9
    features = rng.normal(size=shape).astype("float32")
    weights = rng.normal(size=(FEATURES, vocabulary)).astype("float32")
    bias = rng.normal(size=vocabulary).astype("float32")
    logits = np.asarray(similarity_logits(features, weights, bias))
    assert logits.shape == (*shape[:-1], vocabulary)
    np.testing.assert_allclose(logits, np.einsum("...d,dv->...v", features, weights) + bias, rtol=1e-5, atol=1e-5)
