"""The Transformer peer: same vocabulary, signatures and search as the RNN translator; it learns and exports."""

import keras
import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("keras_hub")

from fixtures.translation import make_tiny_transformer, toy_pairs  # noqa: E402

from zoo.decoding import PAD_ID, beam_search, greedy_search  # noqa: E402
from zoo.translation.transformer import TransformerTranslator  # noqa: E402


def test_cached_steps_give_the_logits_of_the_whole_prefix():
    from zoo.translation.signatures import _source_ids

    model = make_tiny_transformer()
    source, *_ = _source_ids(model, tf.constant(["El perro come pan.", "Juan ve agua."]))
    encoded = model.encode(source)
    prefix = tf.constant([[2, 7, 9, 11, 5], [2, 4, 4, 8, 6]])
    whole = tf.nn.log_softmax(model._decode(prefix, encoded)[..., 3:])  # the ids a step may emit
    states = encoded["states"]
    for t in range(prefix.shape[1]):
        step, states, _ = model.decode_step(prefix[:, t], states, encoded)
        np.testing.assert_allclose(tf.nn.log_softmax(step[:, 3:]), whole[:, t], atol=1e-4)


def test_beam_width_one_equals_greedy_and_decoding_stops():
    from zoo.translation.signatures import _source_ids

    model = make_tiny_transformer()
    source, *_ = _source_ids(model, tf.constant(["El perro come pan.", "Juan ve agua."]))
    encoded = model.encode(source)
    limits = tf.constant([7, 4])
    greedy = greedy_search(model, encoded, limits)
    beam = beam_search(model, encoded, limits, tf.constant(1), model.length_penalty)
    np.testing.assert_array_equal(greedy[0], beam[0])
    np.testing.assert_allclose(greedy[2], beam[2], atol=1e-5)
    assert np.all(np.sum(greedy[0].numpy() != PAD_ID, axis=1) <= [7, 4])


@pytest.mark.slow
def test_learns_the_toy_pairs_and_round_trips_through_keras_and_savedmodel(tmp_path):
    from zoo.datasets.parallel import ParallelText
    from zoo.training import compile_word_generator
    from zoo.translation.data import as_dataset

    pairs = toy_pairs()
    model = make_tiny_transformer(dropout=0.0)
    data = ParallelText("toy", "train", [s for s, _ in pairs], [t for _, t in pairs], list(range(len(pairs))))
    compile_word_generator(model, 0.01)
    model.fit(as_dataset(data, model, 8, shuffle=True, seed=0), epochs=40, shuffle=False, verbose=0)
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    out = model.translate(sources, beam_width=2)
    assert sum(o == t for o, t in zip(out, targets)) >= 0.8 * len(pairs), list(zip(out, targets))

    model.save(tmp_path / "t.keras")
    loaded = keras.saving.load_model(tmp_path / "t.keras")
    assert isinstance(loaded, TransformerTranslator) and loaded.translate(sources[:4]) == model.translate(sources[:4])
    path = model.export_serving(tmp_path / "models" / "translate_peer", version=1, card={"description": "toy"})
    translate = tf.saved_model.load(str(path)).signatures["translate"]
    result = translate(sentences=tf.constant(sources[:2]), beam_width=tf.constant(1), max_length=tf.constant(0))
    assert [t.decode() for t in result["translations"].numpy()] == model.translate(sources[:2], beam_width=1)


@pytest.mark.slow
def test_an_exported_transformer_loads_in_a_fresh_process(tmp_path):
    """`zoo.load` imports the module a version's class lives in: nothing imports the Transformer's otherwise."""
    import subprocess
    import sys

    from fixtures.recipes import REPO, subprocess_env

    model = make_tiny_transformer()
    version_dir = model.export_serving(tmp_path / "transformer", version=1, card={"description": "toy"})
    expected = model.translate(["El perro come pan."], beam_width=1)
    code = ("import sys, zoo; m = zoo.load(sys.argv[1]); "
            "print(type(m).__name__, m.translate(['El perro come pan.'], beam_width=1)[0])")
    proc = subprocess.run([sys.executable, "-c", code, str(version_dir)], capture_output=True, text=True,
                          cwd=REPO, env=subprocess_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == f"TransformerTranslator {expected[0]}\n"  # not stripped: an untrained one may write ""
