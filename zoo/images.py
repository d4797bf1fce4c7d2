"""Image preparation that the captioner's serving graph and the datasets' image pipelines share."""

import tensorflow as tf


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
