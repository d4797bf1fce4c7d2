"""zoo.datasets.coco, offline: split mapping, square crop, caption normalisation, limits, errors, training.

TFDS is mocked with `tfds.testing.mock_data(policy=MockPolicy.USE_CODE)`: the coco_captions builder's own
code gives the features, no metadata file is read and nothing is downloaded. Either TFDS generates random
examples from those features (random sizes, 5 to 49 captions of random letters and spaces), or the
builder's `_as_dataset` is replaced by `hand_examples`, written by hand, which also records the TFDS
split it was asked for.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds  # the `test` extra installs it

from zoo.captioning import Captioner
from zoo.captioning.data import as_dataset
from zoo.datasets import coco
from zoo.decoding import OOV_ID

# coco_captions' splits (TFDS catalog): train 82 783, restval 30 504, val 5 000, test 5 000 images
TFDS_SPLITS = {"train", "restval", "val", "test"}
EXPECTED_SPLITS = {"train": "train+restval", "validation": "val", "test": "test"}
WIDE_CENTRE, TALL_CENTRE = (10, 20, 30), (50, 50, 50)


def hand_examples(split):
    """Two examples: a wide 6×12 image, red | `WIDE_CENTRE` | blue in column bands 3, 6, 3 wide, and
    a tall 10×4 one, white | `TALL_CENTRE` | white in row bands 3, 4, 3 high; the second's caption
    names `split`."""
    wide = np.zeros((6, 12, 3), np.uint8)
    wide[:, :3] = (255, 0, 0)
    wide[:, 3:9] = WIDE_CENTRE
    wide[:, 9:] = (0, 0, 255)
    tall = np.full((10, 4, 3), 255, np.uint8)
    tall[3:7] = TALL_CENTRE
    first = tf.data.Dataset.from_tensors({"image": wide, "captions": {"text": ["A Dog  runs.", " ", "..."]}})
    second = tf.data.Dataset.from_tensors({"image": tall, "captions": {"text": [f"From the {split} split."]}})
    return first.concatenate(second)


@pytest.fixture
def hand_tfds():
    """TFDS mocked to serve `hand_examples`; yields the list of TFDS splits asked for."""
    asked = []

    def as_dataset(builder, split, **kwargs):
        asked.append(split)
        return hand_examples(split)

    with tfds.testing.mock_data(policy=tfds.testing.MockPolicy.USE_CODE, as_dataset_fn=as_dataset):
        yield asked


@pytest.fixture
def random_tfds():
    """TFDS mocked to serve 5 random examples (the same for every split)."""
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        yield


@pytest.mark.parametrize(("raw", "expected"), [
    ("A man riding a wave on top of a surfboard. ", "a man riding a wave on top of a surfboard"),
    ("Two dogs,  one black and one white,\nplay in the SNOW.", "two dogs one black and one white play in the snow"),
    ("A man's T-shirt reads \"STOP\"!", "a man's t-shirt reads stop"),
    ("A café\u2019s sign", "a café's sign"),
    ("three 3-year-olds -- and a dog's ball.", "three 3-year-olds and a dog's ball"),
    ("a cat on a mat...", "a cat on a mat"),
    ("\t'quoted' (words) & co_op", "quoted words co op"),
    (" . ", ""),
])
def test_normalize_caption(raw, expected):
    assert coco.normalize_caption(raw) == expected


def test_square_crop_keeps_the_central_square():
    image = np.tile(np.arange(0, 60, 10, dtype=np.uint8)[None, :, None], (2, 1, 3))  # 2×6, columns 0 .. 50
    assert coco.square_crop(image, 2).numpy()[..., 0].tolist() == [[20, 30], [20, 30]]
    assert coco.square_crop(np.transpose(image, (1, 0, 2)), 2).numpy()[..., 0].tolist() == [[20, 20], [30, 30]]
    odd = image[:, :5]  # 2×5: one column from the left, two from the right
    assert coco.square_crop(odd, 2).numpy()[..., 0].tolist() == [[10, 20], [10, 20]]
    assert coco.square_crop(np.transpose(odd, (1, 0, 2)), 2).numpy()[..., 0].tolist() == [[10, 10], [20, 20]]


def test_splits_map_to_the_karpathy_splits(hand_tfds):
    for split, expected in EXPECTED_SPLITS.items():
        data = coco.load(split, image_size=4)
        assert hand_tfds[-1] == expected
        assert (data.name, data.split) == ("coco_captions", split)
        assert data.captions[1] == [f"from the {expected.replace('+', ' ')} split"]
    parts = [part for tfds_split in EXPECTED_SPLITS.values() for part in tfds_split.split("+")]
    assert sorted(parts) == sorted(TFDS_SPLITS)  # every TFDS split used, none twice
    assert coco.TFDS_SPLITS == EXPECTED_SPLITS


def test_images_are_centre_crops_and_captions_normalised(hand_tfds):
    data = coco.load("test", image_size=4)
    assert data.images.shape == (2, 4, 4, 3) and data.images.dtype == np.uint8
    assert (data.images[0] == WIDE_CENTRE).all()  # padding would show black, squashing red and blue
    assert (data.images[1] == TALL_CENTRE).all()
    assert data.captions[0] == ["a dog runs"]  # the two captions with no word are dropped


def test_random_examples_match_tfds(random_tfds):
    data = coco.load("validation", image_size=12)
    raw = list(tfds.as_numpy(tfds.load(coco.TFDS_NAME, split="val")))
    assert data.images.shape == (5, 12, 12, 3) and data.images.dtype == np.uint8
    assert any(ex["image"].shape[0] != ex["image"].shape[1] for ex in raw)
    for image, captions, ex in zip(data.images, data.captions, raw):
        np.testing.assert_array_equal(image, coco.square_crop(ex["image"], 12).numpy())
        assert captions == [coco.normalize_caption(t.decode()) for t in ex["captions"]["text"]]
        assert all(c and c == coco.normalize_caption(c) for c in captions)


def test_max_images_and_take(random_tfds):
    assert len(coco.load("train", image_size=4)) == 5
    assert len(coco.load("train", max_images=9, image_size=4)) == 5
    first_two = coco.load("train", max_images=2, image_size=4)
    assert first_two.images.shape == (2, 4, 4, 3) and len(first_two.captions) == 2
    one = first_two.take(1)
    assert isinstance(one, coco.Captions) and len(one) == 1 and one.split == "train"
    np.testing.assert_array_equal(one.images, first_two.images[:1])
    assert one.captions == first_two.captions[:1]


@pytest.mark.parametrize("split", ["val", "restval", "TRAIN", "train+restval"])
def test_unknown_split_names_the_valid_ones(split):
    with pytest.raises(ValueError, match=r"'train', 'validation', 'test'"):
        coco.load(split)


def test_max_images_must_be_positive():
    with pytest.raises(ValueError, match="max_images"):
        coco.load("test", max_images=0)


def test_missing_data_without_download_says_how_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfds build coco_captions") as error:
        coco.load("validation", data_dir=str(tmp_path), download=False)
    assert str(tmp_path) in str(error.value) and "download=True" in str(error.value)


def test_describe():
    card = coco.describe()
    assert card["source"] == "TFDS coco_captions (Karpathy splits)"
    assert card["splits"] == EXPECTED_SPLITS
    assert card["examples"] == {"train": 82_783 + 30_504, "validation": 5_000, "test": 5_000}
    assert "CC BY 4.0" in card["license"] and "Flickr Terms of Use" in card["license"]


@pytest.mark.slow
def test_a_captioner_trains_on_loaded_batches(random_tfds):
    data = coco.load("train", max_images=8, image_size=16)
    vocabulary = sorted({word for captions in data.captions for caption in captions for word in caption.split()})
    keras.utils.set_random_seed(0)
    model = Captioner(vocabulary, image_size=16, filters=(4, 8), hidden=8, embedding_dim=8)
    batches = as_dataset(data, model, batch_size=4)
    inputs, caption_out, weights = next(iter(batches))
    assert inputs["images"].shape == (4, 16, 16, 3) and inputs["caption_in"].shape[0] == 4
    assert caption_out.shape == weights.shape == inputs["caption_in"].shape
    assert not (caption_out.numpy() == OOV_ID).any()
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(batches.take(1), epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
