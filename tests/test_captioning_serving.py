"""zoo.captioning.signatures: every kind of image in, bad input refused, and the same captions from the API,
zoo.load, plain TensorFlow in a fresh process and saved_model_cli."""


import numpy as np
import pytest
import tensorflow as tf
from captioning_toys import (
    export_toy_captioner,
    make_tiny_captioner,
    trained_toy_captioner,
)
from tensorflow.python.framework import op_def_registry

import zoo
from zoo import artifacts
from zoo.captioning.images import MAX_PIXELS
from zoo.images import to_float
from zoo.serving import read_warmup_requests


class Exported:
    def __init__(self, model, data, version_dir):
        self.model = model
        self.data = data
        self.version_dir = version_dir


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The tiny captioner fitted on eight scenes, exported once to `<tmp>/models/caption_toy/1`. Read-only."""
    model, data = trained_toy_captioner()
    base = tmp_path_factory.mktemp("caption_toy") / "models" / "caption_toy"
    return Exported(model, data, export_toy_captioner(model, base))


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported.version_dir))


def _png(image):
    return tf.io.encode_png(image).numpy()


def _jpeg(image, quality=95):
    return tf.io.encode_jpeg(image, quality=quality).numpy()


# --- the signatures -----------------------------------------------------------------------------------


@pytest.mark.slow  # trains a toy captioner first
def test_export_card(exported):
    card = zoo.info(exported.version_dir)
    assert card["task"] == "image-captioning" and card["name"] == "caption_toy"
    assert set(card["signatures"]) == {"serving_default", "caption"}
    default = card["signatures"]["serving_default"]
    assert default["inputs"] == {"image_bytes": {"dtype": "string", "shape": None}}
    assert default["outputs"] == {"captions": {"dtype": "string", "shape": [-1]},
                                  "scores": {"dtype": "float32", "shape": [-1]}}
    caption = card["signatures"]["caption"]
    assert set(caption["inputs"]) == {"image_bytes", "beam_width", "max_length"}
    assert caption["outputs"]["tokens"] == {"dtype": "string", "shape": [-1, -1]}
    assert caption["outputs"]["attention"] == {"dtype": "float32", "shape": [-1, -1, -1]}
    assert card["parameters"] == exported.model.count_params()


@pytest.mark.slow  # trains a toy captioner first
def test_signatures_match_the_api_and_know_the_scenes(exported, loaded):
    images = exported.data.images
    data = tf.constant([_png(image) for image in images])
    out = loaded.signatures["serving_default"](image_bytes=data)
    captions = [c.decode() for c in out["captions"].numpy()]
    assert captions == exported.model.caption(images) == [refs[0] for refs in exported.data.captions]
    assert np.all(out["scores"].numpy() < 0)  # mean log-probabilities
    full = loaded.signatures["caption"](image_bytes=data, beam_width=tf.constant(1), max_length=tf.constant(0))
    attention, tokens = full["attention"].numpy(), full["tokens"].numpy()
    assert attention.shape == (len(images), tokens.shape[1], exported.model.grid_size)
    for row, caption in enumerate(captions):
        words = len(caption.split())
        assert [t.decode() for t in tokens[row] if t] == caption.split()
        np.testing.assert_allclose(attention[row, :words + 1].sum(axis=-1), 1.0, atol=1e-5)  # words and the end
        assert not attention[row, words + 1:].any(), "attention after the end of the caption"


@pytest.mark.slow  # trains a toy captioner first
def test_rest_row_format_gives_one_option_value_per_image(exported, loaded):
    data = tf.constant([_png(image) for image in exported.data.images[:2]])
    rows = loaded.signatures["caption"](image_bytes=data, beam_width=tf.constant([2, 2]), max_length=tf.constant([0, 0]))
    scalar = loaded.signatures["caption"](image_bytes=data, beam_width=tf.constant(2), max_length=tf.constant(0))
    np.testing.assert_array_equal(rows["captions"].numpy(), scalar["captions"].numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="beam_width: expected one integer"):
        loaded.signatures["caption"](image_bytes=data, beam_width=tf.constant([1, 3]), max_length=tf.constant(0))
    short = loaded.signatures["caption"](image_bytes=data, beam_width=tf.constant(1), max_length=tf.constant(3))
    assert short["tokens"].shape[1] <= 3


@pytest.mark.slow  # trains a toy captioner first
def test_an_empty_batch_gives_empty_outputs(loaded):
    out = loaded.signatures["serving_default"](image_bytes=tf.constant([], tf.string))
    assert out["captions"].shape == (0,) and out["scores"].shape == (0,)


# --- every kind of image -----------------------------------------------------------------------------


@pytest.mark.slow  # trains a toy captioner first
def test_every_kind_of_image_is_captioned(exported, tmp_path):
    model = exported.model
    image = exported.data.images[4]  # "a large blue square"
    expected = exported.data.captions[4][0]
    path = tmp_path / "scene.png"
    path.write_bytes(_png(image))
    rgba = np.concatenate([image, np.full((64, 64, 1), 7, np.uint8)], axis=-1)  # alpha is dropped
    same = [_png(image), image, image / 255.0, image.astype(np.float32) / 255, path, str(path), _png(rgba), rgba]
    assert model.caption(same) == [expected] * len(same)
    assert model.caption(path) == model.caption(_png(image)) == [expected]  # one image, not a list
    gray = np.dot(image, [0.3, 0.59, 0.11]).astype(np.uint8)
    others = [_jpeg(image, quality=50), tf.io.encode_jpeg(image, progressive=True).numpy(),
              tf.io.encode_jpeg(gray[..., None], format="grayscale").numpy(), _png(gray[..., None]), gray, gray[..., None],
              tf.image.resize(image, [37, 91]).numpy().astype(np.uint8)]
    captions = model.caption(others)
    assert all(isinstance(c, str) and c.startswith("a ") for c in captions)
    seen = model.preprocess([_png(gray[..., None]), _png(image), _jpeg(image)])
    assert seen.shape == (3, 32, 32, 3) and 0.0 <= seen.min() and seen.max() <= 1.0
    np.testing.assert_array_equal(seen[0, ..., 0], seen[0, ..., 2])  # grayscale → three equal channels
    assert np.abs(seen[1] - seen[2]).mean() < 0.02  # JPEG ≈ PNG


def test_an_image_of_the_model_size_is_used_as_it_is():
    model = make_tiny_captioner(filters=(4, 4, 4), image_size=64)
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(model.preprocess([image])[0], to_float(image))  # as training scales it
    np.testing.assert_allclose(model.preprocess([image])[0], image / 255.0, rtol=1e-6)
    assert model.preprocess([np.zeros((37, 91), np.uint8)]).shape == (1, 64, 64, 3)


# --- bad input -----------------------------------------------------------------------------------------


def _huge_png():
    """A PNG whose header claims 5000×5000 pixels (the check reads the header and decodes nothing)."""
    data = bytearray(_png(np.zeros((2, 2, 3), np.uint8)))
    data[16:24] = (5000).to_bytes(4, "big") * 2
    return bytes(data)


def _huge_jpeg():
    """A JPEG whose frame header (SOF0, after the JFIF and quantisation segments) claims 5000×5000 pixels."""
    data = bytearray(_jpeg(np.zeros((8, 8, 3), np.uint8)))
    frame = data.index(b"\xff\xc0")
    data[frame + 5:frame + 9] = (5000).to_bytes(2, "big") * 2
    return bytes(data)


_SCENE = np.zeros((16, 16, 3), np.uint8)
BAD_BYTES = {
    "random bytes": (bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)), "not a JPEG or PNG file"),
    "empty": (b"", "an empty string"),
    "text": (b"a small red circle", "not a JPEG or PNG file"),
    "GIF": (b"GIF89a" + bytes(40), "not a JPEG or PNG file"),
    "truncated PNG": (_png(_SCENE)[:40], "PNG"),
    "JPEG without a frame header": (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(30), "no image size"),
    "5000 x 5000 PNG": (_huge_png(), "megapixels"),
    "5000 x 5000 JPEG": (_huge_jpeg(), "megapixels"),
}


@pytest.mark.slow  # trains a toy captioner first
@pytest.mark.parametrize("data,pattern", list(BAD_BYTES.values()), ids=list(BAD_BYTES))
def test_savedmodel_rejects_bad_bytes_and_keeps_serving(exported, loaded, data, pattern):
    good_batch = tf.constant([_png(exported.data.images[0])])
    good = loaded.signatures["serving_default"](image_bytes=good_batch)["captions"].numpy()
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern) as raised:
        loaded.signatures["serving_default"](image_bytes=tf.constant([_png(exported.data.images[1]), data]))
    if pattern != "PNG":  # the checks name the input; a damaged file fails in TensorFlow's PNG decoder
        assert "image_bytes: " in raised.value.message and "JPEG or PNG" in raised.value.message
    again = loaded.signatures["serving_default"](image_bytes=good_batch)["captions"].numpy()
    np.testing.assert_array_equal(again, good)
    with pytest.raises(ValueError, match=rf"images\[1\]: image_bytes: .*{pattern}"):
        exported.model.caption([exported.data.images[0], data])


@pytest.mark.slow  # trains a toy captioner first
def test_savedmodel_rejects_a_batch_that_is_not_a_vector(loaded):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image_bytes: expected string \(batch,\)"):
        loaded.signatures["serving_default"](image_bytes=tf.constant([[b"a", b"b"]]))


BAD_ARRAYS = {
    "NaN": (np.full((8, 8, 3), np.nan, np.float32), "NaN or infinite"),
    "1-D": (np.zeros(12, np.uint8), r"shape \(12,\); expected an image array"),
    "5 channels": (np.zeros((8, 8, 5), np.uint8), "expected an image array"),
    "int64": (np.zeros((8, 8, 3), np.int64), "dtype int64; expected uint8"),
    "floats above 1": (np.full((8, 8), 2.0), r"expected floats in \[0, 1\]"),
    "empty": (np.zeros((0, 8, 3), np.uint8), "an empty array"),
    "too many pixels": (np.zeros((MAX_PIXELS + 1, 1), np.uint8), "downscale"),
}


@pytest.mark.slow  # trains a toy captioner first
@pytest.mark.parametrize("array,pattern", list(BAD_ARRAYS.values()), ids=list(BAD_ARRAYS))
def test_bad_arrays_are_refused_naming_the_image(exported, array, pattern):
    with pytest.raises(ValueError, match=rf"images\[1\]: .*{pattern}"):
        exported.model.caption([exported.data.images[0], array])


@pytest.mark.slow  # trains a toy captioner first
def test_bad_paths_objects_and_options_are_refused(exported, tmp_path):
    model = exported.model
    assert model.caption([]) == [] and model.preprocess([]).shape == (0, 32, 32, 3)
    with pytest.raises(ValueError, match=r"images\[0\]: cannot read .*expected the path of a JPEG or PNG file"):
        model.caption([tmp_path / "missing.png"])
    with pytest.raises(ValueError, match=r"images\[0\]: got int; expected a path"):
        model.caption([3])
    with pytest.raises(ValueError, match="beam_width: expected 1 to"):
        model.caption([exported.data.images[0]], beam_width=0)
    with pytest.raises(ValueError, match="max_length"):
        model.caption([exported.data.images[0]], max_length=-1)


# --- export: zoo.load, warm-up, ops, other processes ---------------------------------------------------


@pytest.mark.slow  # trains a toy captioner first
def test_zoo_load_matches_the_model(exported):
    reloaded = zoo.load(exported.version_dir)
    assert type(reloaded).__name__ == "Captioner" and reloaded.card["task"] == "image-captioning"
    images = list(exported.data.images)
    for beam_width in (1, 3):
        assert reloaded.caption(images, beam_width=beam_width) == exported.model.caption(images, beam_width=beam_width)


@pytest.mark.slow  # trains a toy captioner first
def test_a_loaded_captioner_exports_again_and_answers_an_empty_batch(exported, tmp_path):
    path = zoo.load(exported.version_dir).export_serving(tmp_path / "caption_again")
    again = tf.saved_model.load(str(path))
    assert zoo.info(path)["exported_from"] == "caption_toy/1"
    out = again.signatures["serving_default"](image_bytes=tf.constant([], tf.string))
    assert out["captions"].shape == (0,) and out["scores"].shape == (0,)


@pytest.mark.slow  # trains a toy captioner first
def test_warmup_requests_feed_the_signatures(exported, loaded):
    requests = read_warmup_requests(exported.version_dir / artifacts.WARMUP)
    assert sorted(r.model_spec.signature_name for r in requests) == ["caption", "serving_default"]
    for request in requests:
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        assert inputs["image_bytes"].numpy()[0][:8] == b"\x89PNG\r\n\x1a\n"  # a real scene
        out = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert out["captions"].shape == (1,)


@pytest.mark.slow  # trains a toy captioner first
def test_graph_decodes_images_and_captions_with_core_ops_only(exported, saved_model_ops):
    ops = saved_model_ops(exported.version_dir)
    assert {"While", "TopKV2", "DecodeImage", "DecodeRaw", "ScaleAndTranslate", "ReduceJoin"} <= ops
    assert [op for op in ops if "cudnn" in op.lower()] == []
    assert [op for op in ops if op_def_registry.get(op) is None] == []
