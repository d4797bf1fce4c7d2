"""The captioner's serving signatures and the Python API built on them.

- `serving_default`: `image_bytes` string `[B]` (each the bytes of a JPEG or
  PNG file) → `captions` string `[B]`, `scores` float32 `[B]`.
- `caption`: `image_bytes`, `beam_width` int32 (1 = greedy) and `max_length`
  int32 (0 = the model's), each option a scalar or `[B]` holding one value
  (REST row format) → the same outputs and `tokens` string `[B, T]`,
  `attention` float32 `[B, T, grid_h * grid_w]`.

Images are decoded in the graph (`tf.io.decode_image`): PNG or JPEG,
grayscale or RGBA (alpha dropped) made RGB, resized to the model's
`image_size` (bilinear, antialiased; an image already that size is used as
it is), scaled to [0, 1]. Before anything is decoded each image is checked:
not empty, a PNG or JPEG signature, a size in its header, at most
`MAX_PIXELS` pixels. A file that passes these checks but is damaged further
in fails in the decoder with TensorFlow's own `InvalidArgument` ("Invalid
PNG data", "Invalid JPEG data"); the Python API names the image either way.

`serving_default` decodes with the model's beam width and `max_length`.
Scores are the mean log-probability per token, end token included. `tokens`
are the words of each caption, `""` padded (the end token is written `""`);
`attention` rows are the weights of each token over the grid positions, row
by row (reshape to `[T, grid_h, grid_w]`); 0 past the end token, and 0
throughout with `decoder="init-state"`, which attends to nothing.
"""

import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.captioning.model import MAX_BEAM_WIDTH, fit_image, to_float
from zoo.decoding import search
from zoo.validation import check, one_value

_IMAGE_BYTES = tf.TensorSpec(None, tf.string, name="image_bytes")
_BEAM_WIDTH = tf.TensorSpec(None, tf.int32, name="beam_width")
_MAX_LENGTH = tf.TensorSpec(None, tf.int32, name="max_length")
BATCH_SIZE = 64  # images per signature call in the Python API
MAX_PIXELS = 4096 * 4096  # larger images are refused before decoding (a decoded 16.8 MP image is 50 MB)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
_HEADER_PADDING = b"\0" * 32  # appended before reading headers, so a short string reads zeros, not out of range
_JPEG_MAX_SEGMENTS = 4096
_EXPECTED = "expected the bytes of a JPEG or PNG file"


# -- decoding images in the graph --------------------------------------------------------------------


def _big_endian(raw):
    """int64 value of big-endian unsigned bytes `[..., n]`."""
    weights = tf.constant([256 ** k for k in range(raw.shape[-1] - 1, -1, -1)], tf.int64)
    return tf.reduce_sum(tf.cast(raw, tf.int64) * weights, axis=-1)


def _png_sizes(padded):
    """`(height, width)` `[B]` from each PNG's IHDR chunk; 0 where there is none."""
    ihdr = tf.strings.substr(padded, 12, 4) == b"IHDR"
    raw = tf.reshape(tf.io.decode_raw(tf.strings.substr(padded, 16, 8), tf.uint8), [-1, 8])  # width, height
    width, height = _big_endian(raw[:, :4]), _big_endian(raw[:, 4:])
    return tf.where(ihdr, height, 0), tf.where(ihdr, width, 0)


def _jpeg_size(padded):
    """`[height, width]` from a JPEG's frame header (SOF0–SOF15), walking the segments before it; 0s if none."""
    raw = tf.cast(tf.io.decode_raw(padded, tf.uint8), tf.int64)
    n = tf.size(raw, out_type=tf.int64)

    def at(i):
        return tf.gather(raw, tf.minimum(i, n - 1))

    def step(pos, size, done):
        marker = at(pos + 1)
        valid = at(pos) == 0xFF
        fill = valid & (marker == 0xFF)
        frame = valid & (marker >= 0xC0) & (marker <= 0xCF) & (marker != 0xC4) & (marker != 0xC8) & (marker != 0xCC)
        length = at(pos + 2) * 256 + at(pos + 3)
        size = tf.where(frame, tf.stack([at(pos + 5) * 256 + at(pos + 6), at(pos + 7) * 256 + at(pos + 8)]), size)
        done = ~valid | frame | (marker == 0xDA) | (marker == 0xD9) | (~fill & (length < 2))  # 0xDA: scan data
        return tf.where(fill, pos + 1, pos + 2 + length), size, done

    _, size, _ = tf.while_loop(lambda pos, size, done: ~done & (pos + 9 < n), step,
                               (tf.constant(2, tf.int64), tf.zeros([2], tf.int64), tf.constant(False)),
                               maximum_iterations=_JPEG_MAX_SEGMENTS)
    return size


def decode_images(model, image_bytes):
    """JPEG or PNG bytes `string [B]` → float32 `[B, S, S, 3]` in [0, 1], after checking every image."""
    with tf.control_dependencies([check(tf.rank(image_bytes) == 1,
                                        f"image_bytes: expected string (batch,), {_EXPECTED} per element")]):
        data = tf.reshape(image_bytes, [-1])
    padded = tf.strings.join([data, tf.constant(_HEADER_PADDING)])
    is_png = tf.strings.substr(padded, 0, len(PNG_SIGNATURE)) == PNG_SIGNATURE
    is_jpeg = tf.strings.substr(padded, 0, len(JPEG_SIGNATURE)) == JPEG_SIGNATURE
    with tf.control_dependencies([
        check(tf.reduce_all(tf.strings.length(data) > 0), f"image_bytes: an empty string; {_EXPECTED}"),
        check(tf.reduce_all(is_png | is_jpeg),
              f"image_bytes: not a JPEG or PNG file, its first bytes are neither signature; {_EXPECTED}"),
    ]):
        png_height, png_width = _png_sizes(padded)
        jpeg = tf.map_fn(lambda x: tf.cond(x[1], lambda: _jpeg_size(x[0]), lambda: tf.zeros([2], tf.int64)),
                         (padded, is_jpeg), fn_output_signature=tf.TensorSpec([2], tf.int64))
    height = tf.where(is_png, png_height, jpeg[:, 0])
    width = tf.where(is_png, png_width, jpeg[:, 1])
    with tf.control_dependencies([
        check(tf.reduce_all((height > 0) & (width > 0)),
              f"image_bytes: a JPEG or PNG file whose header gives no image size, a corrupt file; {_EXPECTED}"),
        check(tf.reduce_all(height * width <= MAX_PIXELS),
              f"image_bytes: an image of more than {MAX_PIXELS / 1e6:.1f} megapixels; expected a JPEG or PNG "
              f"file of at most {MAX_PIXELS} pixels, downscale it first"),
    ]):
        return tf.map_fn(lambda x: _decode(model, x), data,
                         fn_output_signature=tf.TensorSpec([model.image_size, model.image_size, 3], tf.float32))


def _decode(model, data):
    return fit_image(to_float(tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)),
                     model.image_size)


# -- signatures --------------------------------------------------------------------------------------


def signatures(model):
    written = tf.constant(model.written)

    def run(image_bytes, beam_width, max_length):
        images = decode_images(model, image_bytes)
        with tf.control_dependencies([
            check((beam_width >= 1) & (beam_width <= MAX_BEAM_WIDTH),
                  f"beam_width: expected 1 to {MAX_BEAM_WIDTH} (1 is greedy search)"),
            check(max_length >= 0, "max_length: expected 0 (the model's) or a positive number of tokens"),
        ]):
            beam_width = tf.identity(beam_width)
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

    @tf.function(input_signature=[_IMAGE_BYTES])
    def serving_default(image_bytes):
        outputs = run(image_bytes, tf.constant(model.beam_width), tf.constant(0))
        return {"captions": outputs["captions"], "scores": outputs["scores"]}

    @tf.function(input_signature=[_IMAGE_BYTES, _BEAM_WIDTH, _MAX_LENGTH])
    def caption(image_bytes, beam_width, max_length):
        return run(image_bytes, one_value("beam_width", beam_width, per="image"),
                   one_value("max_length", max_length, per="image"))

    return {"serving_default": serving_default, "caption": caption}


def preprocess_function(model):
    """`image_bytes → images` as a `tf.function` (the signatures' first step, for `Captioner.preprocess`)."""
    return tf.function(lambda image_bytes: decode_images(model, image_bytes), input_signature=[_IMAGE_BYTES])


def example_png(split="test", index=0):
    """The PNG bytes of one generated scene."""
    from zoo.datasets import scenes

    return tf.io.encode_png(scenes.generate(split, index)[0]).numpy()


def example_requests(model):
    image_bytes = np.array([example_png()], dtype=object)
    return {
        "serving_default": {"image_bytes": image_bytes},
        "caption": {"image_bytes": image_bytes, "beam_width": np.array(model.beam_width, np.int32),
                    "max_length": np.array(0, np.int32)},
    }


# -- the Python API ----------------------------------------------------------------------------------


def _as_list(images):
    if isinstance(images, (str, bytes, bytearray, os.PathLike)):
        return [images]
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    try:
        return list(images)
    except TypeError:
        raise ValueError(f"images: got {type(images).__name__}; expected a list of images (paths, JPEG or PNG "
                         "bytes, or arrays)") from None


def image_bytes_of(index, image):
    """One image of the Python API → the bytes of a JPEG or PNG file, or a ValueError naming `images[index]`."""
    name = f"images[{index}]"
    if isinstance(image, (str, os.PathLike)):
        try:
            return Path(image).read_bytes()
        except OSError as err:
            raise ValueError(f"{name}: cannot read {str(image)!r} ({err.strerror or err}); expected the path of "
                             "a JPEG or PNG file") from None
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, np.ndarray) or hasattr(image, "__array_interface__"):
        return _png_of_array(name, np.asarray(image))
    raise ValueError(f"{name}: got {type(image).__name__}; expected a path, the bytes of a JPEG or PNG file, "
                     "or an image array")


def _png_of_array(name, array):
    expected = "expected an image array (height, width), (height, width, 1), (height, width, 3) or (height, width, 4)"
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name}: an array of shape {array.shape}; {expected}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: an empty array of shape {array.shape}; {expected}")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise ValueError(f"{name}: {array.shape[0]}x{array.shape[1]} pixels; expected at most {MAX_PIXELS}, "
                         "downscale it first")
    if array.dtype == np.uint8:
        pixels = array
    elif array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name}: NaN or infinite values; expected uint8 pixels or floats in [0, 1]")
        if array.min() < 0 or array.max() > 1:
            raise ValueError(f"{name}: float values from {array.min():g} to {array.max():g}; expected floats in "
                             "[0, 1] (or uint8 pixels 0-255)")
        pixels = np.rint(array.astype(np.float64) * 255.0).astype(np.uint8)
    else:
        raise ValueError(f"{name}: an array of dtype {array.dtype}; expected uint8 pixels (0-255) or floats in [0, 1]")
    return tf.io.encode_png(pixels).numpy()


_ASSERT_MESSAGE = re.compile(r"assertion failed: \[([^\]]*)\]")
_TF_DECORATION = re.compile(r"\{\{[^}]*\}\}|\[\[[^\]]*\]\]|\[Op:[^\]]*\]")


def _error_message(err):
    """A graph error → the check's message, or the decoder's complaint named and explained."""
    found = _ASSERT_MESSAGE.search(err.message)
    if found:
        return found.group(1)
    lines = [line.strip() for line in _TF_DECORATION.sub("", err.message).splitlines()]
    lines = [line for line in lines if line and not line.startswith(("File ", "Detected at", "Graph execution"))]
    detail = lines[-1].rstrip(". ") if lines else "unknown error"  # the kernel's own words come last
    return f"image_bytes: could not be decoded ({detail}); expected a complete JPEG or PNG file"


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


def _check_options(model, beam_width, max_length):
    beam_width = model.beam_width if beam_width is None else int(beam_width)
    max_length = 0 if max_length is None else int(max_length)
    if max_length < 0:
        raise ValueError(f"max_length: expected a positive number of tokens, got {max_length}")
    if not 1 <= beam_width <= MAX_BEAM_WIDTH:
        raise ValueError(f"beam_width: expected 1 to {MAX_BEAM_WIDTH} (1 is greedy search), got {beam_width}")
    return beam_width, max_length


def caption_images(model, images, beam_width, max_length, return_attention):
    data = [image_bytes_of(i, image) for i, image in enumerate(_as_list(images))]
    beam_width, max_length = _check_options(model, beam_width, max_length)
    results = []
    for start in range(0, len(data), BATCH_SIZE):
        batch = data[start:start + BATCH_SIZE]
        outputs = _call(model.signatures["caption"], batch, start, tf.constant(beam_width), tf.constant(max_length))
        outputs = {k: v.numpy() for k, v in outputs.items()}
        seen = model._preprocess_function(tf.constant(batch, tf.string)).numpy() if return_attention else None
        for row in range(len(batch)):
            results.append(_readable(model, outputs, row, seen[row]) if return_attention
                           else outputs["captions"][row].decode())
    return results


def preprocess_images(model, images):
    data = [image_bytes_of(i, image) for i, image in enumerate(_as_list(images))]
    batches = [_call(model._preprocess_function, data[start:start + BATCH_SIZE], start).numpy()
               for start in range(0, len(data), BATCH_SIZE)]
    size = model.image_size
    return np.concatenate(batches) if batches else np.zeros((0, size, size, 3), np.float32)


def _readable(model, outputs, row, image):
    tokens = [t.decode() for t in outputs["tokens"][row] if t]
    return {
        "caption": outputs["captions"][row].decode(),
        "tokens": tokens,
        "attention": outputs["attention"][row][:len(tokens)].reshape(len(tokens), *model.grid_shape),
        "image": image,
        "score": float(outputs["scores"][row]),
    }
