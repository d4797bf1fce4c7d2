"""The captioner's data: the split a model card names, and teacher-forcing batches from images and their
reference captions."""

import numpy as np
import tensorflow as tf

from zoo.datasets import coco, scenes
from zoo.decoding import BOS_ID, EOS_ID
from zoo.images import fit_image, to_float

REFERENCES = ("random", "first", "all")


def load_split(dataset, split, image_size):
    """A split of the dataset a model card's `dataset` section names, as many images as the card says were
    scored: `scenes.Scenes` of the generated scenes, or `coco.Captions` (read from TFDS, never downloaded)
    cropped and resized to `image_size` as the model was trained.
    """
    if dataset.get("name") == scenes.NAME:
        return scenes.load(split).take(dataset["examples"][split])
    if dataset.get("name") == coco.NAME:
        return coco.load(split, max_images=dataset["examples"][split], image_size=image_size, download=False)
    raise ValueError(f"evaluate_split knows the {scenes.NAME!r} and {coco.NAME!r} datasets; this model was trained "
                     f"on {dataset.get('name')!r}: call zoo.captioning.evaluation.evaluate with your own data")


def as_dataset(data, model, batch_size, shuffle=False, seed=0, references="random"):
    """Batches `({"images": float [B, S, S, 3], "caption_in": int [B, T]}, caption_out int [B, T], weights [B, T])`.

    `caption_in` is `<s>` + the caption's ids, `caption_out` the ids + `</s>`,
    weight 0 on padding. Images (uint8, any size) are scaled and resized as
    the serving graph does.

    Args:
        data: `zoo.datasets.scenes.Scenes`, or anything with `images` (uint8
            `[N, H, W, 3]`) and `captions` (a list of reference captions per
            image).
        model: the `Captioner` (its vocabulary and image size).
        batch_size: images per batch.
        shuffle: reshuffle the images every epoch.
        seed: of the shuffle and of the reference choice.
        references: which reference of each image to train on: `"random"`
            (a fresh choice every epoch), `"first"`, or `"all"` (one example
            per reference: an epoch sees each image once per reference).
    """
    if references not in REFERENCES:
        raise ValueError(f"references must be one of {REFERENCES}, got {references!r}")
    counts = [len(refs) for refs in data.captions]
    if min(counts, default=1) < 1:
        raise ValueError("data.captions: every image needs at least one reference caption")
    flat = tf.constant([caption for refs in data.captions for caption in refs], tf.string)
    ids = tf.RaggedTensor.from_row_lengths(model.caption_ids(flat), counts)  # [N, references, words]
    dataset = tf.data.Dataset.from_tensor_slices((np.asarray(data.images, np.uint8), ids))
    if shuffle:
        dataset = dataset.shuffle(len(data.images), seed=seed, reshuffle_each_iteration=True)
    if references == "all":
        dataset = dataset.flat_map(lambda image, refs: tf.data.Dataset.from_tensor_slices(refs).map(
            lambda caption: (image, caption)))
    elif references == "first":
        dataset = dataset.map(lambda image, refs: (image, refs[0]))
    else:
        choices = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, choices).map(
            lambda pair, r: (pair[0], pair[1][r % tf.cast(pair[1].nrows(), tf.int64)]))

    def teacher_forcing(image, caption):
        caption = tf.cast(caption, tf.int32)
        caption_out = tf.concat([caption, [EOS_ID]], axis=0)
        return ({"images": fit_image(to_float(image), model.image_size),
                 "caption_in": tf.concat([[BOS_ID], caption], axis=0)},
                caption_out, tf.ones_like(caption_out, tf.float32))

    examples = sum(counts) if references == "all" else len(counts)
    dataset = dataset.map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE).padded_batch(batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-examples // batch_size)))
    return dataset.prefetch(tf.data.AUTOTUNE)
