"""bench/gradient_flow.py: its gradient norms against direct `tf.GradientTape` computations, its task, its flags,
and one smoke run end to end."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from fixtures.recipes import REPO, RecipeRunner

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RECIPE = RecipeRunner(REPO / "bench" / "gradient_flow.py")  # runs like a recipe; exports no model


@pytest.fixture(scope="module")
def recipe():
    return RECIPE.module()


def _inputs(seed=0, batch=5, steps=7, channels=3, classes=2):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(batch, steps, channels)).astype("float32"),
            rng.integers(0, classes, batch).astype("int32"))


def _readout(hidden, classes=2):
    readout = keras.layers.Dense(classes, activation="softmax")
    readout.build((None, hidden))
    return readout


def _per_unit_of_output_error(per_example_norms, probabilities, labels):
    """[B, T] norms → the recipe's quantity: divided by ||p - y|| per example, then averaged over the batch."""
    error = np.linalg.norm(probabilities - np.eye(probabilities.shape[1])[labels], axis=1)
    return (per_example_norms / error[:, None]).mean(axis=0)


def test_elman_norms_match_the_recurrence_written_out(recipe):
    """h_t = tanh(x_t W_xh + h_{t-1} W_hh + b) by hand, differentiated by the tape with respect to every h_t."""
    from zoo.layers import ElmanCell

    keras.utils.set_random_seed(3)
    x, y = _inputs()
    cell, readout = ElmanCell(4), _readout(4)
    cell.build((None, 3))
    with tf.GradientTape() as tape:
        h, hs = tf.zeros((5, 4)), []
        for t in range(7):
            h = tf.tanh(x[:, t] @ cell.kernel + h @ cell.recurrent_kernel + cell.bias)
            hs.append(h)
        probabilities = readout(h)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    gradients = tape.gradient(loss, hs)
    direct = np.stack([np.linalg.norm(g.numpy(), axis=1) for g in gradients], axis=1)
    expected = _per_unit_of_output_error(direct, probabilities.numpy(), y)
    got = recipe.state_gradient_norms(cell, readout, x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert got[-1] > got[0]  # the freshly initialised Elman cell: the last state gets the most


def _gated_cell(cell_type, seed):
    keras.utils.set_random_seed(seed)
    cell = keras.layers.GRUCell(4) if cell_type == "gru" else keras.layers.LSTMCell(4)
    cell.build((None, 3))
    return cell, _readout(4)


def _perturbed_loss(cell, readout, x, y, perturbations):
    """The summed loss when `perturbations[t]` (one tensor per state part) is added to the state after step t."""
    states = [tf.zeros((x.shape[0], size)) for size in tf.nest.flatten(cell.state_size)]
    for t in range(x.shape[1]):
        _, states = cell(x[:, t], states)
        states = [s + e for s, e in zip(tf.nest.flatten(states), perturbations[t])]
    probabilities = readout(states[0])  # h_T, perturbed like the rest of the state
    return tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probabilities)), probabilities


@pytest.mark.parametrize("cell_type", ["gru", "lstm"])
def test_gated_cell_norms_match_perturbation_gradients(recipe, cell_type):
    """dL/ds_t as the tape's gradient with respect to variables, zero, added to the whole state after step t."""
    x, y = _inputs(seed=1)
    cell, readout = _gated_cell(cell_type, seed=4)
    sizes = tf.nest.flatten(cell.state_size)
    perturbations = [[tf.Variable(tf.zeros((5, size))) for size in sizes] for _ in range(7)]
    with tf.GradientTape() as tape:
        loss, probabilities = _perturbed_loss(cell, readout, x, y, perturbations)
    gradients = tape.gradient(loss, perturbations, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    direct = np.stack([np.linalg.norm(np.concatenate([g.numpy() for g in step], axis=1), axis=1)
                       for step in gradients], axis=1)
    expected = _per_unit_of_output_error(direct, probabilities.numpy(), y)
    np.testing.assert_allclose(recipe.state_gradient_norms(cell, readout, x, y), expected, rtol=1e-5)


@pytest.mark.parametrize("step", [0, 3, 6])
def test_lstm_norms_match_finite_differences(recipe, step):
    """Without any tape: the loss's change when the state after `step` moves a little along its gradient."""
    x, y = _inputs(seed=2, batch=1)
    cell, readout = _gated_cell("lstm", seed=5)
    norms = recipe.state_gradient_norms(cell, readout, x, y)
    zero = [[tf.zeros((1, 4)), tf.zeros((1, 4))] for _ in range(7)]
    with tf.GradientTape() as tape:
        tape.watch(zero)
        _, probabilities = _perturbed_loss(cell, readout, x, y, zero)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    direction = tf.concat(tape.gradient(loss, zero[step], unconnected_gradients="zero"), axis=1)
    direction /= tf.norm(direction)
    delta = 1e-2

    def moved(sign):
        shifted = [list(parts) for parts in zero]
        shifted[step] = [sign * delta * direction[:, :4], sign * delta * direction[:, 4:]]
        return float(_perturbed_loss(cell, readout, x, y, shifted)[0])

    slope = (moved(1) - moved(-1)) / (2 * delta)  # the directional derivative along the gradient: its norm
    error = np.linalg.norm(probabilities.numpy() - np.eye(2)[y], axis=1)[0]
    np.testing.assert_allclose(norms[step], slope / error, rtol=1e-2)


def test_lstm_norms_include_the_cell_state(recipe):
    """c_t carries an LSTM's memory from step to step: leaving it out gives a smaller norm before the last step."""
    x, y = _inputs(seed=2)
    cell, readout = _gated_cell("lstm", seed=5)
    norms = recipe.state_gradient_norms(cell, readout, x, y)
    perturbations = [[tf.zeros((5, 4)), tf.zeros((5, 4))] for _ in range(7)]
    with tf.GradientTape() as tape:
        tape.watch(perturbations)
        loss, probabilities = _perturbed_loss(cell, readout, x, y, perturbations)
    gradients = tape.gradient(loss, [h for h, _ in perturbations])
    only_h = _per_unit_of_output_error(np.stack([np.linalg.norm(g.numpy(), axis=1) for g in gradients], axis=1),
                                       probabilities.numpy(), y)
    assert np.all(norms[:-1] > only_h[:-1] * (1 + 1e-4))
    np.testing.assert_allclose(norms[-1], only_h[-1], rtol=1e-5)  # after the last step, only h_T is read


def test_by_distance_and_decay(recipe):
    assert recipe.by_distance([1.0, 2.0, 3.0]).tolist() == [3.0, 2.0, 1.0]
    assert recipe.decay([8.0, 4.0, 2.0, 1.0], span=2) == (4.0, 2)
    assert recipe.decay([8.0, 4.0], span=50) == (2.0, 1)


def test_brown_norms_average_the_prefixes_by_distance_from_the_verb(recipe):
    from zoo.agreement import AgreementClassifier
    from zoo.datasets import agreement

    keras.utils.set_random_seed(6)
    model = AgreementClassifier(["the", "dogs", "dog", "near"], ["the", "ogs", "dog"], cell="gru", hidden=4,
                                word_dim=4)
    prefixes = [["The", "dogs", "near", "the", "dog"], ["The", "dog"], ["The", "dogs", "near", "the"],
                ["The", "dog", "near", "the", "dogs"]]
    data = agreement.AgreementExamples("toy", "test", prefixes, np.array([1, 0, 1, 0], np.int32),
                                       np.ones(4, np.int32), np.zeros(4, np.int32), ["dogs"] * 4, ["are"] * 4,
                                       np.arange(4))
    got = recipe.brown_gradient_norms(model, data, min_length=4)
    cell = model.encoder[0].cell
    expected = []
    for i in (0, 2, 3):  # the prefixes of at least 4 words, each read whole
        norms = recipe.state_gradient_norms(cell, model.head, model.embed(tf.constant([prefixes[i]])),
                                            data.labels[i:i + 1])
        expected.append(recipe.by_distance(norms)[:4])
    np.testing.assert_allclose(got, np.mean(expected, axis=0), rtol=1e-5)


def test_delayed_recall_marks_the_symbol_to_recall(recipe):
    x, y = recipe.delayed_recall(50, 9, symbols=4, seed=1)
    assert x.shape == (50, 9, 5) and y.shape == (50,)
    assert (x.sum(axis=2)[:, 1:] == 1).all() and (x[:, 0].sum(axis=1) == 2).all()  # one symbol; plus the marker
    assert (x[:, :, 4].sum(axis=1) == 1).all() and (x[:, 0, 4] == 1).all()
    assert (x[np.arange(50), 0, y] == 1).all() and set(y.tolist()) == {0, 1, 2, 3}
    again, _ = recipe.delayed_recall(50, 9, symbols=4, seed=1)
    np.testing.assert_array_equal(x, again)


def test_flags(recipe, tmp_path):
    args = recipe.parse_args(["--cells", "lstm,elman", "--length", "40", "--lengths", "5,20", "--hidden", "16",
                              "--initializer", "glorot_uniform", "--symbols", "6", "--workdir", str(tmp_path)])
    assert (args.cells, args.length, recipe.recall_lengths(args), args.hidden) == (["lstm", "elman"], 40, [5, 20, 40], 16)
    assert (args.initializer, args.symbols, args.workdir) == ("glorot_uniform", 6, tmp_path)
    assert recipe.parse_args(["--cell", "gru"]).cells == ["gru"]
    defaults = recipe.parse_args([])
    assert defaults.cells == ["elman", "gru", "lstm"] and recipe.recall_lengths(defaults) == [10, 25, 50, 100]
    assert defaults.initializer == "orthogonal"
    for bad in (["--cells", "elman,transformer"], ["--cells", ""], ["--lengths", "1,5"], ["--bidirectional"],
                ["--layers", "2"], ["--out", "somewhere"], ["--version", "2"], ["--distribute", "mirrored"]):
        with pytest.raises(SystemExit):
            recipe.parse_args(bad)


# --- the smoke run ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, brown_tarball):
    workdir = tmp_path_factory.mktemp("gradient_flow")
    proc = RECIPE.run(["--smoke", "--workdir", workdir], timeout=400)
    assert proc.returncode == 0, RECIPE.explain(proc)
    return proc, workdir


@pytest.mark.slow
def test_smoke_run_writes_plots_tables_and_resumable_runs(smoke):
    proc, workdir = smoke
    for png in ("gradient_norms.png", "recall_accuracy.png"):
        assert (workdir / png).read_bytes()[:8] == PNG_MAGIC, png
    report = (workdir / "gradient_flow.md").read_text()
    assert "--smoke" in report.splitlines()[0] and "| delayed recall, T=12 | lstm | trained |" in report
    assert report.split("\n", 2)[2].strip() in proc.stdout  # the tables, as printed
    results = json.loads((workdir / "gradient_flow.json").read_text())
    assert set(results["recall_accuracy"]) == {"elman", "gru", "lstm"}
    assert set(results["recall_accuracy"]["gru"]) == {"6", "12"}
    for task, steps in (("recall", 12), ("brown", 20)):
        for cell in ("elman", "gru", "lstm"):
            for when in ("initial", "trained"):
                norms = results[task][cell][when]
                assert len(norms) == steps and all(n > 0 for n in norms), (task, cell, when)
    for run in ("recall_elman_T6", "recall_lstm_T12", "brown_gru"):
        assert RECIPE.logged_epochs(workdir / run), run
        assert (workdir / run / "curves.png").is_file() and list((workdir / run / "logs").glob("*/events.*"))


@pytest.mark.slow
def test_a_rerun_reuses_the_trained_networks(smoke, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(smoke[1], workdir)
    proc = RECIPE.run(["--smoke", "--workdir", workdir, "--cells", "elman"], timeout=400)
    assert proc.returncode == 0, RECIPE.explain(proc)
    assert proc.stdout.count("reusing the weights trained with the same flags") == 3  # T=6, T=12 and Brown
    assert "Epoch 1/" not in proc.stdout
    assert json.loads((workdir / "gradient_flow.json").read_text())["recall_accuracy"].keys() == {"elman"}
    assert Path(workdir / "gradient_norms.png").is_file()
