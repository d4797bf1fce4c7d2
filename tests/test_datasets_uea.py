"""zoo.datasets.uea: UEA series from the sktime wheel, fixed splits, checksums; zoo.sensor.data's tf.data of them."""

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from zoo.datasets import data_dir, uea
from zoo.sensor.data import as_dataset

SIZES = {"train": 216, "validation": 54, "test": 370, "full_train": 270}


@pytest.fixture(scope="module")
def vowels():
    return {split: uea.load("JapaneseVowels", split) for split in uea.SPLITS}


def _keys(split):
    return Counter(s.tobytes() + bytes([y]) for s, y in zip(split.series, split.labels))


def test_zoo_data_points_into_the_test_session(zoo_data_dir):
    assert data_dir() == zoo_data_dir == Path(os.environ["ZOO_DATA"])
    assert not data_dir().is_relative_to(Path.home() / ".cache")


def test_data_dir_defaults_to_the_user_cache(monkeypatch):
    monkeypatch.delenv("ZOO_DATA")
    assert data_dir() == Path.home() / ".cache" / "zoo"


def test_japanese_vowels_split_sizes(vowels):
    assert {split: len(data) for split, data in vowels.items()} == SIZES


def test_japanese_vowels_shape(vowels):
    lengths = [len(s) for data in vowels.values() for s in data.series]
    assert min(lengths) == 7 and max(lengths) == 29
    for data in vowels.values():
        assert data.num_channels == 12
        assert all(s.dtype == np.float32 and s.ndim == 2 and s.shape[1] == 12 for s in data.series)
        assert data.class_names == [str(k) for k in range(1, 10)]
        assert data.labels.dtype == np.int32 and set(data.labels) <= set(range(9))
        assert all(np.all(np.isfinite(s)) for s in data.series)


def test_validation_is_disjoint_from_train_and_together_they_are_train(vowels):
    train, validation = _keys(vowels["train"]), _keys(vowels["validation"])
    assert not set(train) & set(validation)
    assert train + validation == _keys(vowels["full_train"])
    assert not set(_keys(vowels["test"])) & set(_keys(vowels["full_train"]))


def test_validation_is_stratified(vowels):
    # 30 training series per speaker; 20 % of each is 6
    assert Counter(vowels["full_train"].labels.tolist()) == {k: 30 for k in range(9)}
    assert Counter(vowels["validation"].labels.tolist()) == {k: 6 for k in range(9)}


def test_same_split_twice_is_identical(vowels):
    again = uea.load("JapaneseVowels", "validation")
    assert len(again) == len(vowels["validation"])
    for a, b in zip(again.series, vowels["validation"].series):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.labels, vowels["validation"].labels)


def test_file_checksums_match_the_files_in_the_sktime_wheel():
    import sktime.datasets

    folder = Path(sktime.datasets.__file__).parent / "data" / "JapaneseVowels"
    expected = {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("JapaneseVowels_TRAIN.ts", "JapaneseVowels_TEST.ts")
    }
    assert uea.file_checksums("JapaneseVowels") == expected
    assert expected["JapaneseVowels_TRAIN.ts"] == uea.KNOWN_SHA256["JapaneseVowels_TRAIN.ts"]


def test_a_changed_file_is_refused(monkeypatch):
    monkeypatch.setitem(uea.KNOWN_SHA256, "JapaneseVowels_TEST.ts", "0" * 64)
    with pytest.raises(ValueError, match="JapaneseVowels_TEST.ts.*does not match"):
        uea.load("JapaneseVowels", "test")


def test_basic_motions(basic_motions_test):
    assert len(basic_motions_test) == 40
    assert basic_motions_test.num_channels == 6
    assert {len(s) for s in basic_motions_test.series} == {100}
    assert basic_motions_test.class_names == ["badminton", "running", "standing", "walking"]
    assert Counter(basic_motions_test.labels.tolist()) == {k: 10 for k in range(4)}


def test_as_dataset_yields_padded_batches_with_lengths(vowels):
    data = vowels["validation"]
    batches = list(as_dataset(data, batch_size=16))
    assert [len(labels) for _, labels in batches] == [16, 16, 16, 6]
    seen = 0
    for inputs, labels in batches:
        series, lengths = inputs["series"].numpy(), inputs["lengths"].numpy()
        assert set(inputs) == {"series", "lengths"}
        assert series.dtype == np.float32 and lengths.dtype == np.int32
        assert series.shape[1] == lengths.max() and series.shape[2] == 12
        for i in range(len(labels)):
            original = data.series[seen + i]
            assert lengths[i] == len(original)
            np.testing.assert_array_equal(series[i, : lengths[i]], original)
            assert np.all(series[i, lengths[i]:] == 0)
            assert labels[i] == data.labels[seen + i]
        seen += len(labels)
    assert seen == len(data)


def test_as_dataset_shuffles_reproducibly(vowels):
    data = vowels["validation"]

    def order(seed):
        return np.concatenate([y.numpy() for _, y in as_dataset(data, 64, shuffle=True, seed=seed)])

    first = order(0)
    assert sorted(first.tolist()) == sorted(data.labels.tolist())
    np.testing.assert_array_equal(first, order(0))
    assert not np.array_equal(first, data.labels)


@pytest.mark.parametrize("split", ["TRAIN", "val", "dev", ""])
def test_bad_split(split):
    with pytest.raises(ValueError, match="split must be one of"):
        uea.load("JapaneseVowels", split)


def test_describe_is_the_card_section():
    described = uea.describe("BasicMotions")
    assert described["name"] == "BasicMotions"
    assert set(described["files_sha256"]) == {"BasicMotions_TRAIN.ts", "BasicMotions_TEST.ts"}
    assert "random_state=0" in described["split"]
    assert described["license"]


def test_tfds_load_gives_the_same_split(basic_motions_test, tmp_path):
    import tensorflow_datasets as tfds  # the `test` extra installs it

    import zoo.datasets.tfds  # noqa: F401  (registers the builders)

    test, info = tfds.load("uea_sensor/basic_motions", split="test", data_dir=str(tmp_path), with_info=True)
    assert {name: split.num_examples for name, split in info.splits.items()} == {
        "train": 32, "validation": 8, "test": 40}
    assert info.features["label"].names == basic_motions_test.class_names
    got = Counter(ex["series"].tobytes() + bytes([int(ex["label"])]) for ex in tfds.as_numpy(test))
    assert got == _keys(basic_motions_test)
