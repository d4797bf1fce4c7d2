"""Image facts and preparation that the captioner's graph, the datasets' pipelines and the server share."""

import struct

import tensorflow as tf

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start of frame: SOF0-SOF15


def to_float(images):
    """uint8 pixels → float32 in [0, 1]: the one conversion that training and serving share.

    A multiplication, not a division: TensorFlow may compute `x / 255` as `x * (1 / 255)` in a graph and
    exactly eagerly, one rounding apart; a product is the same float everywhere.
    """
    return tf.cast(images, tf.float32) * (1.0 / 255.0)


def fit_image(image, size):
    """The central square of a float image `[H, W, 3]`, resized to `[size, size, 3]` (bilinear, antialiased);
    the image as it is when it already has that size.

    A crop, not a squash: a photograph keeps its proportions, as it would
    after the common "crop the central square" preparation of training sets.
    Of an odd number of rows (columns) cut away, the extra one goes at the
    bottom (right).
    """
    height, width = tf.shape(image)[0], tf.shape(image)[1]

    def crop_and_resize():
        side = tf.minimum(height, width)
        square = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)
        return tf.clip_by_value(tf.image.resize(square, [size, size], method="bilinear", antialias=True), 0.0, 1.0)

    fitted = tf.cond(tf.logical_and(tf.equal(height, size), tf.equal(width, size)), lambda: image, crop_and_resize)
    return tf.ensure_shape(fitted, [size, size, 3])


def image_pixels(data):
    """Width x height of a PNG or JPEG file from its header; 0 for anything else.

    >>> image_pixels(tf.io.encode_png(tf.zeros([3, 5, 3], tf.uint8)).numpy()), image_pixels(b"text")
    (15, 0)
    """
    if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width * height
    if data.startswith(JPEG_SIGNATURE):
        return _jpeg_pixels(data)
    return 0


def _jpeg_pixels(data):
    position = 2
    while position + 9 < len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width * height
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before them
            return 0
        position += 2 + struct.unpack(">H", data[position + 2:position + 4])[0]
    return 0
