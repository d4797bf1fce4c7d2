"""The captioner's images: what the Python API accepts, turned into JPEG or PNG bytes, and those bytes checked
and decoded in the serving graph.

Images are decoded in the graph (`tf.io.decode_image`): PNG or JPEG,
grayscale or RGBA (alpha dropped) made RGB, resized to the model's
`image_size` (bilinear, antialiased; an image already that size is used as
it is), scaled to [0, 1]. Before anything is decoded each image is checked:
not empty, a PNG or JPEG signature, a size in its header, at most
`MAX_PIXELS` pixels. A file that passes these checks but is damaged further
in fails in the decoder with TensorFlow's own `InvalidArgument` ("Invalid
PNG data", "Invalid JPEG data"); the Python API names the image either way.
"""

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.images import JPEG_FRAME_MARKERS, JPEG_SIGNATURE, PNG_SIGNATURE, fit_image, to_float
from zoo.validation import as_list, check

MAX_PIXELS = 4096 * 4096  # larger images are refused before decoding (a decoded 16.8 MP image is 50 MB)
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
        frame = valid & tf.reduce_any(marker == tf.constant(sorted(JPEG_FRAME_MARKERS), tf.int64))
        length = at(pos + 2) * 256 + at(pos + 3)
        size = tf.where(frame, tf.stack([at(pos + 5) * 256 + at(pos + 6), at(pos + 7) * 256 + at(pos + 8)]), size)
        done = ~valid | frame | (marker == 0xDA) | (marker == 0xD9) | (~fill & (length < 2))  # 0xDA: scan data
        return tf.where(fill, pos + 1, pos + 2 + length), size, done

    _, size, _ = tf.while_loop(lambda pos, size, done: ~done & (pos + 9 < n), step,
                               (tf.constant(2, tf.int64), tf.zeros([2], tf.int64), tf.constant(False)),
                               maximum_iterations=_JPEG_MAX_SEGMENTS)
    return size


def decode_images(image_bytes, size):
    """JPEG or PNG bytes `string [B]` → float32 `[B, size, size, 3]` in [0, 1], after checking every image."""
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
        return tf.map_fn(lambda x: _decode(x, size), data,
                         fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))


def _decode(data, size):
    return fit_image(to_float(tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)), size)


# -- the Python API's images -------------------------------------------------------------------------


def image_bytes_list(images):
    """The Python API's `images` (a list of paths, bytes or arrays; one of them alone is one image) → a list of
    JPEG or PNG bytes, or a ValueError naming the image at fault."""
    return [image_bytes_of(i, image) for i, image in enumerate(_as_list(images))]


def _as_list(images):
    if isinstance(images, (str, bytes, bytearray, os.PathLike)):
        return [images]
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    return as_list(images, "images", "a list of images (paths, JPEG or PNG bytes, or arrays)")


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
