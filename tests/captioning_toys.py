"""Tiny captioners and a handful of generated scenes, shared by the captioning tests (not a test module)."""

import functools

import numpy as np

from zoo.datasets import scenes

VOCABULARY = sorted({"a", "and", *scenes.SHAPES, *scenes.COLOURS,
                     *(w for words in scenes.WORDINGS for phrase in words.values() for w in phrase.split())})
TOY_INDICES = (1, 3, 4, 6, 8, 9, 10, 11)  # train scenes with one or two objects


def toy_scenes(indices=TOY_INDICES):
    """`scenes.Scenes` of some train images (`generate` is deterministic: no split is written to disk)."""
    picked = [scenes.generate("train", i) for i in indices]
    return scenes.Scenes(scenes.NAME, "train", np.stack([image for image, _, _ in picked]),
                         [refs for _, _, refs in picked], [scene for _, scene, _ in picked])


def make_tiny_captioner(decoder="attention", **kwargs):
    """A tiny untrained captioner: 32×32 input, two CNN blocks (an 8×8 grid), GRU of 32, no dropout or batch norm."""
    from zoo.captioning import Captioner

    for key, value in {"cell": "gru", "hidden": 32, "embedding_dim": 16, "filters": (8, 16), "image_size": 32,
                       "dropout": 0.0, "batch_norm": False, "max_length": 16}.items():
        kwargs.setdefault(key, value)
    return Captioner(VOCABULARY, decoder=decoder, **kwargs)


def train_toy_captioner(data=None, steps=150, seed=0):
    """A tiny attention captioner fitted (teacher forcing, each image's first reference) until it knows them."""
    import keras

    from zoo.captioning.data import as_dataset

    data = data or toy_scenes()
    keras.utils.set_random_seed(seed)
    model = make_tiny_captioner()
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = as_dataset(data, model, 16, references="first").cache().repeat(steps)
    model.fit(batches, epochs=1, shuffle=False, verbose=0)
    return model, data


def export_toy_captioner(model, base):
    """Exports to `<base>/1` with a minimal card, as the conftest's `export_toy` does for the other toys."""
    return model.export_serving(base, card={
        "description": "toy captioner", "dataset": {"name": "toy", "source": "tests/captioning_toys.py"},
        "test_metrics": None, "recipe_command": "pytest tests", "license": "Apache-2.0"})


@functools.cache
def trained_toy_captioner():
    """`train_toy_captioner()` once per test session: the model and the scenes it learned, read-only."""
    return train_toy_captioner()
