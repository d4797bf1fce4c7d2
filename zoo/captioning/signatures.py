"""The captioner's serving signatures and the Python API built on them.

- `serving_default`: `image_bytes` string `[B]` (each the bytes of a JPEG or
  PNG file) → `captions` string `[B]`, `scores` float32 `[B]`.
- `caption`: `image_bytes`, `beam_width` int32 (1 = greedy) and `max_length`
  int32 (0 = the model's), each option a scalar or `[B]` holding one value
  (REST row format) → the same outputs and `tokens` string `[B, T]`,
  `attention` float32 `[B, T, grid_h * grid_w]`.

Images are checked and decoded in the graph (`zoo.captioning.images`).

`serving_default` decodes with the model's beam width and `max_length`.
Scores are the mean log-probability per token, end token included. `tokens`
are the words of each caption, `""` padded (the end token is written `""`);
`attention` rows are the weights of each token over the grid positions, row
by row (reshape to `[T, grid_h, grid_w]`); 0 past the end token, and 0
throughout with `decoder="init-state"`, which attends to nothing.
"""

import numpy as np
import tensorflow as tf

from zoo.captioning.images import decode_images, image_bytes_list
from zoo.datasets import scenes
from zoo.batches import bounded_slices
from zoo.decoding import check_options, checked_options, search
from zoo.images import image_pixels
from zoo.validation import check_message, graph_error_message, one_value

_IMAGE_BYTES = tf.TensorSpec(None, tf.string, name="image_bytes")
_BEAM_WIDTH = tf.TensorSpec(None, tf.int32, name="beam_width")
_MAX_LENGTH = tf.TensorSpec(None, tf.int32, name="max_length")
BATCH_SIZE = 64  # images per signature call in the Python API
PIXELS_PER_CALL = 16 << 20  # decoded image pixels per call (one image of the largest accepted size)


# -- signatures --------------------------------------------------------------------------------------


def signatures(model):
    written = tf.constant(model.written)

    def run(image_bytes, beam_width, max_length):
        images = decode_images(image_bytes, model.image_size)
        beam_width, max_length = checked_options(beam_width, max_length)
        limit = tf.where(max_length > 0, tf.minimum(max_length, model.max_length), model.max_length)
        count = tf.shape(images)[0]
        # oneDNN's convolution refuses an empty batch on some CPUs: an empty request captions one blank
        # image, and none of it is returned
        images = tf.cond(count > 0, lambda: images, lambda: tf.zeros([1, *images.shape[1:]]))
        encoded = model.encode(images)
        ids, attention, scores = search(model, encoded, tf.fill(tf.shape(images)[:1], limit), beam_width)
        tokens = tf.gather(written, ids)
        captions = tf.strings.strip(tf.strings.regex_replace(
            tf.strings.reduce_join(tokens, axis=-1, separator=" "), " +", " "))
        return {"captions": captions[:count], "scores": scores[:count], "tokens": tokens[:count],
                "attention": attention[:count]}

    @tf.function(input_signature=[_IMAGE_BYTES], autograph=False)
    def serving_default(image_bytes):
        outputs = run(image_bytes, tf.constant(model.beam_width), tf.constant(0))
        return {"captions": outputs["captions"], "scores": outputs["scores"]}

    @tf.function(input_signature=[_IMAGE_BYTES, _BEAM_WIDTH, _MAX_LENGTH], autograph=False)
    def caption(image_bytes, beam_width, max_length):
        return run(image_bytes, one_value("beam_width", beam_width, per="image"),
                   one_value("max_length", max_length, per="image"))

    return {"serving_default": serving_default, "caption": caption}


def preprocess_function(model):
    """`image_bytes → images` as a `tf.function` (the signatures' first step, for `Captioner.preprocess`)."""
    return tf.function(lambda image_bytes: decode_images(image_bytes, model.image_size),
                       input_signature=[_IMAGE_BYTES], autograph=False)


def example_png(split="test", index=0):
    """The PNG bytes of one generated scene."""
    return tf.io.encode_png(scenes.generate(split, index)[0]).numpy()


def example_requests(model):
    image_bytes = np.array([example_png()], dtype=object)
    return {
        "serving_default": {"image_bytes": image_bytes},
        "caption": {"image_bytes": image_bytes, "beam_width": np.array(model.beam_width, np.int32),
                    "max_length": np.array(0, np.int32)},
    }


# -- the Python API ----------------------------------------------------------------------------------


def caption_images(model, images, beam_width, max_length, return_attention):
    """`Captioner.caption`: the `caption` signature over the images, `BATCH_SIZE` at a time."""
    data = image_bytes_list(images)
    beam_width, max_length = check_options(beam_width, max_length, model.beam_width)
    options = (tf.constant(beam_width), tf.constant(max_length))
    results = []
    for batch, outputs in _batches(model.signatures["caption"], data, *options):
        outputs = {k: v.numpy() for k, v in outputs.items()}
        if return_attention:
            seen = model._preprocess_function(tf.constant(batch, tf.string)).numpy()
            results += [_readable(model, outputs, row, image) for row, image in enumerate(seen)]
        else:
            results += [caption.decode() for caption in outputs["captions"]]
    return results


def preprocess_images(model, images):
    """`Captioner.preprocess`: the images as the signatures see them, float `[N, S, S, 3]`."""
    batches = [pixels.numpy() for _, pixels in _batches(model._preprocess_function, image_bytes_list(images))]
    size = model.image_size
    return np.concatenate(batches) if batches else np.zeros((0, size, size, 3), np.float32)


def _batches(function, data, *args):
    """`(batch, function(batch, *args))` for the images' bytes `data`, in order: at most `BATCH_SIZE` images
    and `PIXELS_PER_CALL` pixels (read from their headers) per call, so that memory follows one call's
    decoded images, not the request's."""
    pixels = [image_pixels(item) for item in data]
    for part in bounded_slices(len(data), BATCH_SIZE, pixels, PIXELS_PER_CALL):
        batch = data[part]
        yield batch, _call(function, batch, part.start, *args)


def _error_message(err):
    """A graph error → the check's message, or the decoder's complaint named and explained."""
    return check_message(err.message) or (f"image_bytes: could not be decoded ({graph_error_message(err.message)}); "
                                          "expected a complete JPEG or PNG file")


def _call(function, batch, start, *args):
    """Runs a signature on one batch; on a graph error, finds the image at fault and names it."""
    try:
        return function(tf.constant(batch, tf.string), *args)
    except tf.errors.InvalidArgumentError as err:
        if len(batch) == 1:
            raise ValueError(f"images[{start}]: {_error_message(err)}") from None
        for offset, one in enumerate(batch):
            _call(function, [one], start + offset, *args)
        raise ValueError(f"images[{start}:{start + len(batch)}]: {_error_message(err)}") from None


def _readable(model, outputs, row, image):
    tokens = [t.decode() for t in outputs["tokens"][row] if t]
    return {
        "caption": outputs["captions"][row].decode(),
        "tokens": tokens,
        "attention": outputs["attention"][row][:len(tokens)].reshape(len(tokens), *model.grid_shape),
        "image": image,
        "score": float(outputs["scores"][row]),
    }
