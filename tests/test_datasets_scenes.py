"""zoo.datasets.scenes: scene descriptions checked against the pixels, captions against the descriptions, splits.

The pixel checks segment each image on its own (saturated pixels, connected components) and read
colour, size, shape and position off the components, without the generator's masks; the hand-written
scenes and captions below are written out by hand, not generated.
"""

import itertools
import json

import numpy as np
import pytest
from scipy import ndimage

from zoo.datasets import scenes

SPLITS = ("train", "validation", "test", "compositional")
SAMPLE = 200  # images per split checked pixel by pixel
SATURATED = 78  # max - min channel: backgrounds stay below it, objects above (measured: 45 and 111)
PALETTE = {"red": (215, 35, 35), "orange": (240, 135, 20), "yellow": (235, 215, 30),
           "green": (30, 180, 50), "blue": (40, 80, 225), "purple": (150, 40, 200)}
SHAPES = {"circle", "square", "triangle", "diamond", "cross"}
HELD_OUT = {("red", "square"), ("green", "triangle"), ("blue", "diamond"), ("yellow", "cross"),
            ("purple", "circle")}
OPPOSITE = {"to the left of": "to the right of", "to the right of": "to the left of", "left of": "right of",
            "right of": "left of", "above": "below", "below": "above", "over": "under", "under": "over"}

# Written by hand: a big red circle at the top left; a small blue square 38 px to its right and 20 px lower;
# a small green cross 10 px to the circle's right and 30 px lower, 28 px to the square's left and 10 px lower.
HAND_SCENE = {
    "objects": [
        {"shape": "circle", "colour": "red", "size": "large", "radius": 10, "x": 14, "y": 20},
        {"shape": "square", "colour": "blue", "size": "small", "radius": 5, "x": 52, "y": 40},
        {"shape": "cross", "colour": "green", "size": "small", "radius": 6, "x": 24, "y": 50},
    ],
    "relations": [
        {"subject": 0, "relation": "left", "object": 1}, {"subject": 1, "relation": "right", "object": 0},
        {"subject": 0, "relation": "above", "object": 2}, {"subject": 2, "relation": "below", "object": 0},
        {"subject": 1, "relation": "right", "object": 2}, {"subject": 2, "relation": "left", "object": 1},
    ],
}
TWO = {"objects": HAND_SCENE["objects"][:2], "relations": HAND_SCENE["relations"][:2]}


@pytest.fixture(scope="module")
def samples():
    """`split` → the first `SAMPLE` `(image, scene, captions)` of the split."""
    return {split: [scenes.generate(split, i) for i in range(SAMPLE)] for split in SPLITS}


def _components(image):
    """`(mask, centroid_y, centroid_x)` of every connected region of saturated pixels."""
    chroma = image.max(axis=-1).astype(int) - image.min(axis=-1)
    labels, count = ndimage.label(chroma > SATURATED)
    return [(labels == k, *np.argwhere(labels == k).mean(axis=0)) for k in range(1, count + 1)]


def _shape_of(mask):
    """The shape of a region, from its pixels: fill of its bounding box, top-heaviness, a diagonal point."""
    rows, cols = np.nonzero(mask)
    box = mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    height, width = box.shape
    if box.all():
        return "square"
    if box[: height // 2].sum() < 0.6 * box[(height + 1) // 2:].sum():
        return "triangle"
    if box.mean() > 0.7:
        return "circle"
    offset = round(0.4 * (width // 2))  # inside a diamond, between a cross's arms
    return "diamond" if box[height // 2 + offset, width // 2 + offset] else "cross"


def _nearest_colour(rgb):
    return min(PALETTE, key=lambda name: np.sum((np.subtract(PALETTE[name], rgb)) ** 2))


def _dominant_direction(dx, dy):
    """Where a point lies from another, `(dx, dy)` from it, y downward: the larger offset decides."""
    if abs(dx) > abs(dy):
        return "right" if dx > 0 else "left"
    return "below" if dy > 0 else "above"


# --- determinism -------------------------------------------------------------------------------------


def test_an_image_is_the_same_every_time():
    for split in SPLITS:
        image, scene, captions = scenes.generate(split, 17)
        again = scenes.generate(split, 17)
        assert np.array_equal(image, again[0]) and scene == again[1] and captions == again[2]


def test_splits_and_indices_differ():
    images = {(split, i): scenes.generate(split, i)[0] for split in SPLITS for i in range(3)}
    for (a, image_a), (b, image_b) in itertools.combinations(images.items(), 2):
        assert not np.array_equal(image_a, image_b), (a, b)


def test_a_slice_is_regenerated_image_by_image():
    data = scenes.generate_split("test", 5)
    assert (data.name, data.split, len(data), data.images.shape, data.images.dtype) == (
        "scenes", "test", 5, (5, 64, 64, 3), np.uint8)
    for i in range(5):
        image, scene, captions = scenes.generate("test", i)
        assert np.array_equal(data.images[i], image) and data.scenes[i] == scene and data.captions[i] == captions
    first = data.take(2)
    assert len(first) == 2 and np.array_equal(first.images, data.images[:2]) and first.scenes == data.scenes[:2]


# --- the descriptions, against the pixels ------------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_descriptions_agree_with_the_pixels(samples, split):
    counts = set()
    for index, (image, scene, _) in enumerate(samples[split]):
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        objects = scene["objects"]
        counts.add(len(objects))
        regions = _components(image)
        assert len(regions) == len(objects), (split, index)
        centroids = []
        for obj in objects:
            near = [r for r in regions if abs(r[1] - obj["y"]) <= 1 and abs(r[2] - obj["x"]) <= 1]
            assert len(near) == 1, (split, index, obj)
            mask, y, x = near[0]
            centroids.append((x, y))
            rows, cols = np.nonzero(mask)
            extent = max(np.ptp(rows), np.ptp(cols)) + 1
            assert extent <= 13 if obj["size"] == "small" else extent >= 16, (split, index, obj, extent)
            assert _nearest_colour(image[mask].mean(axis=0)) == obj["colour"], (split, index, obj)
            assert _nearest_colour(image[obj["y"], obj["x"]]) == obj["colour"], (split, index, obj)
            assert _shape_of(mask) == obj["shape"], (split, index, obj)
        for r in scene["relations"]:
            (xs, ys), (xo, yo) = centroids[r["subject"]], centroids[r["object"]]
            assert _dominant_direction(xs - xo, ys - yo) == r["relation"], (split, index, r)
    assert counts == {1, 2, 3}


@pytest.mark.parametrize("split", SPLITS)
def test_objects_are_inside_apart_and_distinct(samples, split):
    for index, (image, scene, _) in enumerate(samples[split]):
        objects = scene["objects"]
        for obj in objects:
            assert obj["radius"] in ((5, 6) if obj["size"] == "small" else (10, 11))
            assert 2 <= obj["x"] - obj["radius"] and obj["x"] + obj["radius"] <= 61, (split, index, obj)
            assert 2 <= obj["y"] - obj["radius"] and obj["y"] + obj["radius"] <= 61, (split, index, obj)
        for a, b in itertools.combinations(objects, 2):
            near, far = sorted((abs(a["x"] - b["x"]), abs(a["y"] - b["y"])))
            assert far - near >= 8, (split, index, a, b)  # one axis clearly dominates
            assert far - a["radius"] - b["radius"] - 1 >= 3, (split, index, a, b)  # background between the boxes
        assert len({(o["shape"], o["colour"], o["size"]) for o in objects}) == len(objects)
        assert len(scene["relations"]) == len(objects) * (len(objects) - 1)
        # the saturated regions are apart too: 3 px or more between any two
        regions = [np.argwhere(mask) for mask, _, _ in _components(image)]
        for a, b in itertools.combinations(regions, 2):
            gap = np.abs(a[:, None, :] - b[None, :, :]).max(axis=-1).min()
            assert gap >= 4, (split, index)


# --- the captions, against the descriptions ----------------------------------------------------------


@pytest.mark.parametrize("split", SPLITS)
def test_every_reference_is_true(samples, split):
    vocabulary = set()
    for image, scene, captions in samples[split]:
        assert len(captions) == {1: 2, 2: 4, 3: 12}[len(scene["objects"])]
        assert len(set(captions)) == len(captions)
        for caption in captions:
            assert caption == caption.lower() == " ".join(caption.split()) and not caption.endswith(".")
            assert scenes.caption_is_true(caption, scene), (caption, scene)
            parsed = scenes.parse_caption(caption)
            assert len(parsed["objects"]) == len(scene["objects"])
            vocabulary.update(caption.split())
    assert vocabulary <= {"a", "and", "to", "the", "of", "left", "right", "above", "below", "over", "under",
                          "large", "big", "small", "little", *PALETTE, *SHAPES}


def _falsified(caption, scene):
    """Captions that differ from a true one in one thing: a colour, a shape, a size, a relation, the count."""
    words = caption.split()
    colour = next(c for c in PALETTE if c != words[2])
    shape = next(s for s in SHAPES if s != words[3])
    size = {"large": "small", "big": "little", "small": "large", "little": "big"}[words[1]]
    yield " ".join([*words[:2], colour, *words[3:]])
    yield " ".join([*words[:3], shape, *words[4:]])
    yield " ".join([words[0], size, *words[2:]])
    if len(scene["objects"]) == 1:
        yield caption + " to the left of a big red circle"
        return
    yield " ".join(words[:4])  # an object left out
    relation = next(r for r in sorted(OPPOSITE, key=len, reverse=True) if f" {r} a " in caption)
    yield caption.replace(f" {relation} a ", f" {OPPOSITE[relation]} a ", 1)


@pytest.mark.parametrize("split", SPLITS)
def test_a_caption_wrong_in_one_thing_is_false(samples, split):
    for _, scene, captions in samples[split][:50]:
        for caption in captions:
            for wrong in _falsified(caption, scene):
                assert scenes.parse_caption(wrong) is not None, wrong
                assert not scenes.caption_is_true(wrong, scene), (wrong, scene)


@pytest.mark.parametrize("caption,true", [
    ("a big red circle left of a little blue square and above a little green cross", True),
    ("a large red circle to the left of a small blue square and above a small green cross", True),
    ("a big red circle above a small green cross and to the left of a little blue square", True),
    ("a small blue square to the right of a small green cross and right of a large red circle", True),
    ("a little green cross below a big red circle and to the left of a small blue square", True),
    ("A big red circle left of a little blue square and above a little green cross.", True),
    ("a big red circle right of a little blue square and above a little green cross", False),
    ("a big red circle left of a little blue square and below a little green cross", False),
    ("a big red circle left of a little blue square and above a big green cross", False),
    ("a big red circle left of a little purple square and above a little green cross", False),
    ("a big red circle left of a little blue square and above a little green circle", False),
    ("a big red circle left of a little blue square", False),
    ("a big red circle", False),
    ("a big red circle left of a little blue square and above a little blue square", False),
    ("a big red circle left of a little blue square and above", False),
    ("a big red circle left of a little blue square above a little green cross", False),
])
def test_captions_of_a_hand_written_scene(caption, true):
    assert scenes.caption_is_true(caption, HAND_SCENE) is true


def test_parse_caption():
    assert scenes.parse_caption("a little blue square under a big red circle") == {
        "objects": [{"size": "small", "colour": "blue", "shape": "square"},
                    {"size": "large", "colour": "red", "shape": "circle"}],
        "relations": [{"subject": 0, "relation": "below", "object": 1}]}
    three = scenes.parse_caption("a big red circle to the right of a small blue square and over a big green cross")
    assert three["relations"] == [{"subject": 0, "relation": "right", "object": 1},
                                  {"subject": 0, "relation": "above", "object": 2}]
    assert [o["colour"] for o in three["objects"]] == ["red", "blue", "green"]


@pytest.mark.parametrize("text", [
    "", "a", "red circle", "a red circle", "a big circle", "a big red", "the big red circle", "a huge red circle",
    "a big grey circle", "a big red star", "a big red circle left a small blue square",
    "a big red circle and left of a small blue square", "a big red circle left of",
    "a big red circle left of a small blue square left of a big green cross",
    "a big red circle left of a small blue square and left of a big green cross and above a small red cross",
    "a big red circle left of a small blue square and", "a big red circle beside a small blue square",
    "a big red circle.. ", "a big red circle , left of a small blue square",
])
def test_text_outside_the_grammar_is_not_parsed(text):
    assert scenes.parse_caption(text) is None
    assert scenes.attribute_scores(text, HAND_SCENE) == dict.fromkeys(scenes.SCORES, 0.0)
    assert not scenes.caption_is_true(text, HAND_SCENE)


@pytest.mark.parametrize("caption,scene,scores", [
    ("a big red circle left of a little blue square", TWO,
     {"parsed": 1.0, "count": 1.0, "shape": 1.0, "colour": 1.0, "size": 1.0, "relation": 1.0}),
    ("a big red circle right of a little blue square", TWO,
     {"parsed": 1.0, "count": 1.0, "shape": 1.0, "colour": 1.0, "size": 1.0, "relation": 0.0}),
    ("a big green circle left of a little blue cross", TWO,
     {"parsed": 1.0, "count": 1.0, "shape": 0.5, "colour": 0.5, "size": 1.0, "relation": 1.0}),
    # the caption names the square first: it is matched to the scene's square, wrong size and all
    ("a big blue square left of a little red circle", TWO,
     {"parsed": 1.0, "count": 1.0, "shape": 1.0, "colour": 1.0, "size": 0.0, "relation": 0.0}),
    ("a big red circle", TWO,
     {"parsed": 1.0, "count": 0.0, "shape": 0.5, "colour": 0.5, "size": 0.5, "relation": 0.0}),
    ("a big red circle left of a little blue square", HAND_SCENE,
     {"parsed": 1.0, "count": 0.0, "shape": 2 / 3, "colour": 2 / 3, "size": 2 / 3, "relation": 0.5}),
    ("a big red circle left of a little blue square and above a little green cross", TWO,
     {"parsed": 1.0, "count": 0.0, "shape": 2 / 3, "colour": 2 / 3, "size": 2 / 3, "relation": 0.5}),
    ("a big red circle", {"objects": HAND_SCENE["objects"][:1], "relations": []},
     {"parsed": 1.0, "count": 1.0, "shape": 1.0, "colour": 1.0, "size": 1.0, "relation": 1.0}),
    ("a little red circle", {"objects": HAND_SCENE["objects"][:1], "relations": []},
     {"parsed": 1.0, "count": 1.0, "shape": 1.0, "colour": 1.0, "size": 0.0, "relation": 1.0}),
    ("a big red circle left of a big red circle", TWO,
     {"parsed": 1.0, "count": 1.0, "shape": 0.5, "colour": 0.5, "size": 0.5, "relation": 1.0}),
])
def test_attribute_scores(caption, scene, scores):
    assert scenes.attribute_scores(caption, scene) == pytest.approx(scores)
    assert scenes.caption_is_true(caption, scene) is all(v == 1.0 for v in scores.values())


# --- the splits ----------------------------------------------------------------------------------------


def _pairs(scene):
    return {(o["colour"], o["shape"]) for o in scene["objects"]}


def test_held_out_pairs_leave_every_colour_and_shape_to_training(samples):
    assert set(scenes.HELD_OUT) == HELD_OUT
    assert set(scenes.COLOURS) == set(PALETTE) and set(scenes.SHAPES) == SHAPES
    seen = set().union(*(_pairs(scene) for _, scene, _ in samples["train"]))
    assert not seen & HELD_OUT
    assert {c for c, _ in seen} == set(PALETTE) and {s for _, s in seen} == SHAPES
    assert len(seen) == len(PALETTE) * len(SHAPES) - len(HELD_OUT)  # every other pair occurs


def test_compositional_images_and_only_they_hold_a_held_out_pair(samples):
    for split in SPLITS:
        held = [bool(_pairs(scene) & HELD_OUT) for _, scene, _ in samples[split]]
        assert all(held) if split == "compositional" else not any(held), split
    seen = set().union(*(_pairs(scene) & HELD_OUT for _, scene, _ in samples["compositional"]))
    assert seen == HELD_OUT


@pytest.fixture(scope="module")
def loaded():
    """The three small splits, generated into the session's `$ZOO_DATA` (read back: `test_a_changed_cache_file_...`)."""
    return {split: scenes.load(split) for split in ("validation", "test", "compositional")}


def test_split_sizes_and_loaded_splits(loaded, samples):
    assert scenes.SPLIT_SIZES == {"train": 20_000, "validation": 1_000, "test": 1_000, "compositional": 1_000}
    assert all(len(digest) == 64 for digest in scenes.SHA256.values()) and set(scenes.SHA256) == set(SPLITS)
    for split, data in loaded.items():
        assert (data.name, data.split, len(data)) == ("scenes", split, 1_000)
        assert data.images.shape == (1_000, 64, 64, 3) and data.images.dtype == np.uint8
        assert len(data.captions) == len(data.scenes) == 1_000
        assert np.array_equal(data.images[:SAMPLE], np.stack([image for image, _, _ in samples[split]]))
        assert data.scenes[:SAMPLE] == [scene for _, scene, _ in samples[split]]
        assert data.captions[:SAMPLE] == [captions for _, _, captions in samples[split]]
        held = [bool(_pairs(scene) & HELD_OUT) for scene in data.scenes]
        assert all(held) if split == "compositional" else not any(held)
        assert scenes.content_sha256(data) == scenes.SHA256[split]


def test_load_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="bogus"):
        scenes.load("bogus")
    with pytest.raises(ValueError, match="bogus"):
        scenes.generate("bogus", 0)


@pytest.fixture
def tiny_splits(tmp_path, monkeypatch):
    """Splits of 6 images, generated into `tmp_path/zoo` (with their own expected sha256)."""
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "zoo"))
    for split in SPLITS:
        monkeypatch.setitem(scenes.SPLIT_SIZES, split, 6)
        monkeypatch.setitem(scenes.SHA256, split, scenes.content_sha256(scenes.generate_split(split, 6)))
    return tmp_path / "zoo" / "scenes" / scenes.GENERATOR_VERSION


def test_a_changed_cache_file_is_refused(tiny_splits):
    original = scenes.load("validation")
    images_path, text_path = tiny_splits / "validation.npz", tiny_splits / "validation.json"
    assert images_path.is_file() and text_path.is_file()
    again = scenes.load("validation")  # read from the files
    assert np.array_equal(again.images, original.images) and again.captions == original.captions

    changed = original.images.copy()
    changed[3, 10, 10, 0] ^= 1
    with images_path.open("wb") as f:
        np.savez_compressed(f, images=changed)
    with pytest.raises(RuntimeError, match="sha256") as err:
        scenes.load("validation")
    assert str(images_path) in str(err.value) and "delete" in str(err.value)

    with images_path.open("wb") as f:
        np.savez_compressed(f, images=original.images)
    assert np.array_equal(scenes.load("validation").images, original.images)
    text = json.loads(text_path.read_text())
    text["captions"][0][0] = text["captions"][0][0].replace("a ", "a big ", 1)
    text_path.write_text(json.dumps(text))
    with pytest.raises(RuntimeError, match="sha256"):
        scenes.load("validation")


def test_a_changed_generator_is_noticed_before_anything_is_written(tiny_splits, monkeypatch):
    monkeypatch.setitem(scenes.SHA256, "test", "0" * 64)
    with pytest.raises(RuntimeError, match="generator"):
        scenes.load("test")
    assert not (tiny_splits / "test.npz").exists() and not (tiny_splits / "test.json").exists()


def test_tfds_builder_reads_the_splits_back(tiny_splits, tmp_path):
    import tensorflow_datasets as tfds  # the `test` extra installs it

    import zoo.datasets.tfds  # noqa: F401  (registers the builders)

    builder = tfds.builder("scenes", data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare()
    assert {name: split.num_examples for name, split in builder.info.splits.items()} == dict.fromkeys(SPLITS, 6)
    objects = builder.info.features["objects"]
    for split in ("train", "compositional"):
        expected = scenes.load(split)
        got = list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))
        assert len(got) == 6
        got.sort(key=lambda ex: [c.decode() for c in ex["captions"]])
        order = sorted(range(6), key=lambda i: expected.captions[i])
        for ex, i in zip(got, order):
            assert ex["image"].shape == (64, 64, 3) and ex["image"].dtype == np.uint8
            assert np.array_equal(ex["image"], expected.images[i])
            assert [c.decode() for c in ex["captions"]] == expected.captions[i]
            names = [{key: objects[key].int2str(int(ex["objects"][key][k])) for key in ("shape", "colour", "size")}
                     for k in range(len(ex["objects"]["shape"]))]
            assert names == [{key: obj[key] for key in ("shape", "colour", "size")}
                             for obj in expected.scenes[i]["objects"]]


def test_describe():
    card = scenes.describe()
    assert card["name"] == "scenes" and card["source"] == "generated by zoo.datasets.scenes"
    assert card["generator_version"] == scenes.GENERATOR_VERSION and card["license"] == "generated; CC0"
    assert card["examples"] == scenes.SPLIT_SIZES and card["sha256"] == scenes.SHA256
    assert card["seeds"] == scenes.SEEDS and len(set(card["seeds"].values())) == 4
    assert sorted(card["held_out_pairs"]) == sorted(f"{c} {s}" for c, s in HELD_OUT)
    assert "held-out" in card["split"]
    json.dumps(card)


@pytest.mark.parametrize("split", ["train", "compositional"])
def test_the_canonical_caption_is_a_reference_naming_objects_left_to_right(split):
    data = scenes.generate_split(split, 40)
    reordered = data.canonical_first()
    assert len(reordered) == len(data) and reordered.images is data.images
    for refs, moved, scene in zip(data.captions, reordered.captions, data.scenes):
        canonical = scenes.canonical_caption(scene)
        assert moved[0] == canonical and sorted(moved) == sorted(refs)
        named = scenes.parse_caption(canonical)["objects"]
        xs = [next(o["x"] for o in scene["objects"] if (o["shape"], o["colour"], o["size"]) ==
                   (n["shape"], n["colour"], n["size"])) for n in named]
        assert xs == sorted(xs), canonical
