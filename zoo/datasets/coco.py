"""COCO captions (2014 images, Karpathy splits) through TFDS, as arrays for the `Captioner`.

Photographs of everyday scenes, each with five captions (a few with more)
written by people, read with `tfds.load("coco_captions/2014:1.1.0")`:
TFDS's COCO 2014 builder with the caption splits of Karpathy and Li (2015).
The zoo's splits map onto TFDS's (`TFDS_SPLITS`):

    train       TFDS train + restval   113 287 images (82 783 + 30 504)
    validation  TFDS val                 5 000 images
    test        TFDS test                5 000 images

TFDS must have prepared the dataset once, online: `tfds build coco_captions`
(or `load(..., download=True)`, the default) downloads 37.6 GiB (COCO's
builder fetches every 2014 image archive, test2015 included) and writes 18.8 GiB of TFRecords into
TFDS's data directory (`$TFDS_DATA_DIR`, by default `~/tensorflow_datasets`).
After that nothing is downloaded; `download=False` only reads, and says how
to prepare the data when it is missing.

Images: the central square of each photograph (the longer side loses an
equal strip at each end: 1/8 of a 640×480 image's width on each side) resized
to `image_size` × `image_size` (bilinear, antialiased), as uint8: what
the serving graph does to the photographs it is sent (`square_crop`,
`zoo.images.fit_image`), so training and serving see the same
preparation. A crop, not padding: no bars that no served photograph has.
The images are held in memory: `image_size² × 3` bytes each,
27 KiB at 96 px (3.1 GB for all 113 287 training images) and 147 KiB at
224 px (17 GB); the captions add well under 1 KB per image. `max_images`
keeps the first images of a split in TFDS's order and reads no further.

Captions: the raw captions, normalised by `normalize_caption`: lower case,
every run of punctuation and white space becomes one space (so the final
period goes, and "beach," is the word "beach"), an apostrophe or hyphen
between two letters or digits stays ("man's", "t-shirt"). The `Captioner`
splits captions on spaces, so every word has one spelling; the scenes'
captions look the same. A caption left empty (only punctuation) is dropped.

>>> normalize_caption("A man riding a wave on top of a surfboard. ")
'a man riding a wave on top of a surfboard'
>>> train = load("train", max_images=1000)  # doctest: +SKIP
>>> len(train), train.images.shape, train.images.dtype  # doctest: +SKIP
(1000, (1000, 96, 96, 3), dtype('uint8'))
"""

import dataclasses
import re

import keras
import numpy as np
import tensorflow as tf

from zoo.images import fit_image, to_float

NAME = "coco_captions"
TFDS_NAME = "coco_captions/2014:1.1.0"
SPLITS = ("train", "validation", "test")
TFDS_SPLITS = {"train": "train+restval", "validation": "val", "test": "test"}
SPLIT_SIZES = {"train": 113_287, "validation": 5_000, "test": 5_000}
SPLIT_RULE = ("Karpathy and Li (2015) splits of the COCO 2014 train and val images, as TFDS coco_captions: "
              "train = TFDS train + restval, validation = val, test = test")
PREPROCESSING = ("images: central square crop, bilinear antialiased resize to image_size, uint8; captions: lower "
                 "case, punctuation and white space runs to one space, word-internal ' and - kept, empty ones dropped")
LICENSE = ("annotations (captions): COCO Consortium, CC BY 4.0; images: not owned by the COCO Consortium, "
           "their use must abide by the Flickr Terms of Use (each image under its owner's licence)")
PROGRESS_EVERY = 1000

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


@dataclasses.dataclass
class Captions:
    """Images `[N, S, S, 3]` uint8, each with its reference captions (a list of str)."""

    name: str
    split: str
    images: np.ndarray
    captions: list

    def __len__(self):
        return len(self.images)

    def take(self, count):
        return Captions(self.name, self.split, self.images[:count], self.captions[:count])


def normalize_caption(text):
    """A caption in the zoo's form: lower case, words joined by single spaces, no punctuation.

    Words are runs of letters and digits, joined by an apostrophe (straight
    or curly, written straight) or a hyphen between two of them; everything
    else separates words.

    >>> normalize_caption("Two dogs,  one black and one white, play  in the snow.\\n")
    'two dogs one black and one white play in the snow'
    >>> normalize_caption("A man’s T-shirt reads \\"STOP\\"!")
    "a man's t-shirt reads stop"
    """
    return " ".join(_WORD.findall(text.lower().replace("\u2019", "'")))


def square_crop(image, size):
    """A uint8 photograph `[H, W, 3]` as the `Captioner` sees it, in uint8: its central square resized to
    `[size, size, 3]` (`zoo.images.fit_image`, which the serving graph applies too).

    >>> image = np.zeros((4, 8, 3), np.uint8)
    >>> image[:, 2:6] = 200  # the central 4×4 square; the 2 columns at each side are cropped away
    >>> square_crop(image, 2)[..., 0].numpy()
    array([[200, 200],
           [200, 200]], dtype=uint8)
    """
    return tf.cast(tf.round(fit_image(to_float(image), size) * 255.0), tf.uint8)


def load(split, max_images=None, image_size=96, data_dir=None, download=True):
    """One split of COCO captions (see `SPLITS`) as square uint8 images and normalised captions.

    Needs TensorFlow Datasets (the `tfds` extra).

    Args:
        split: `"train"`, `"validation"` or `"test"` (see `TFDS_SPLITS`).
        max_images: keep only the first this many images (all if None); see
            the module docstring for the memory an image takes.
        image_size: side of the square images, in pixels.
        data_dir: TFDS's data directory (None: TFDS's default,
            `$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
        download: let TFDS download and prepare the dataset if it is not
            prepared yet (37.6 GiB, online); with False, a missing dataset
            raises `FileNotFoundError` saying how to prepare it.

    Returns:
        `Captions`: `images` uint8 `[N, image_size, image_size, 3]`,
        `captions` a list per image of its normalised captions.
    """
    import tensorflow_datasets as tfds

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if max_images is not None and max_images < 1:
        raise ValueError(f"max_images must be None or at least 1, got {max_images}")
    if not download:
        builder = tfds.builder(TFDS_NAME, data_dir=data_dir)
        if not builder.is_prepared():
            raise FileNotFoundError(
                f"TFDS {TFDS_NAME} is not prepared in {builder.data_dir_root}; prepare it once, online, with "
                f"`tfds build coco_captions --data_dir {builder.data_dir_root}` or "
                f"`zoo.datasets.coco.load({split!r}, download=True)` (downloads 37.6 GiB, writes 18.8 GiB)")
    dataset = tfds.load(TFDS_NAME, split=TFDS_SPLITS[split], data_dir=data_dir, download=download)
    if max_images is not None:
        dataset = dataset.take(max_images)
    dataset = dataset.map(lambda example: (square_crop(example["image"], image_size), example["captions"]["text"]),
                          num_parallel_calls=tf.data.AUTOTUNE)
    images, captions = _collect(dataset, image_size)
    return Captions(NAME, split, images, captions)


def _collect(dataset, image_size):
    """The `(image, caption bytes)` pairs of `dataset` as one uint8 array and lists of normalised captions."""
    count = int(dataset.cardinality())
    images = np.empty((count, image_size, image_size, 3), np.uint8)
    captions = []
    progress = keras.utils.Progbar(count, unit_name="image")
    for index, (image, texts) in enumerate(dataset.as_numpy_iterator()):
        images[index] = image
        captions.append([c for c in (normalize_caption(t.decode("utf-8")) for t in texts) if c])
        if (index + 1) % PROGRESS_EVERY == 0 or index + 1 == count:
            progress.update(index + 1)
    return images, captions


def describe():
    """The dataset section of a model card."""
    return {
        "name": NAME,
        "source": "TFDS coco_captions (Karpathy splits)",
        "tfds_name": TFDS_NAME,
        "splits": dict(TFDS_SPLITS),
        "split": SPLIT_RULE,
        "examples": dict(SPLIT_SIZES),
        "preprocessing": PREPROCESSING,
        "license": LICENSE,
    }
