"""Scenes: generated 64×64 images of one to three coloured shapes, each with exactly true captions.

An image-captioning (one-to-many) dataset that this module generates itself;
nothing is downloaded. An RGB image (64×64, uint8) holds 1–3 objects, each a
shape (circle, square, triangle, diamond, cross), a colour (red, orange,
yellow, green, blue, purple: saturated hues, slightly jittered per object) and
a size (small: radius 5–6 px, large: 10–11 px). The background is a grey,
faintly tinted, flat or with a gentle linear gradient, so it is never
mistaken for an object's colour; Gaussian noise (σ = 4) covers the image.
Objects lie fully inside the image with at least 3 px of background between
their bounding boxes, and every pair is placed so that one axis clearly
dominates: the larger of |dx| and |dy| between their centres exceeds the
smaller by `AXIS_MARGIN` px or more, so "left of" or "above" is never
borderline. Shapes are rasterised on NumPy coordinate grids, so the images
are the same on every machine.

Captions are lower-case words without a final period (nothing to learn
from one; `parse_caption` forgives case and a final period), from this grammar:

    caption  := object | object relation object | object relation object "and" relation object
    object   := "a" size colour shape
    size     := "large" | "big" | "small" | "little"
    relation := "to the left of" | "left of" | "to the right of" | "right of"
              | "above" | "over" | "below" | "under"

A caption names every object of its scene once; with three objects both
relations are said of the first one. The references of an image are every
such caption in each of the two `WORDINGS` (large/small, "to the left of",
above/below; or big/little, "left of", over/under) and every order of the
objects: 2 references for one object, 4 for two, 12 for three.

Each image comes with its scene: the objects (shape, colour, size, radius,
centre x/y in pixels, y growing downward) and the relation of every ordered
pair of them. `caption_is_true` checks a caption against it, and
`attribute_scores` says how much of a caption is right.

Splits (`SPLIT_SIZES`): train 20 000 images, validation, test and
compositional 1 000 each; image i of split s is drawn from
`numpy.random.default_rng([SEEDS[s], i])`, so any slice can be regenerated.
Train, validation and test never contain a `HELD_OUT` colour–shape pair
(red square, green triangle, blue diamond, yellow cross, purple circle);
every compositional image contains at least one. Every colour and every
shape still appears in training, in its other pairs. A split is generated once
into `$ZOO_DATA/scenes/<GENERATOR_VERSION>` and its content checked against
`SHA256` on every load.

>>> image, scene, captions = generate("train", 4)
>>> image.shape, image.dtype, len(scene["objects"])
((64, 64, 3), dtype('uint8'), 2)
>>> captions  # doctest: +NORMALIZE_WHITESPACE
['a small purple triangle to the left of a small yellow triangle',
 'a small yellow triangle to the right of a small purple triangle',
 'a little purple triangle left of a little yellow triangle',
 'a little yellow triangle right of a little purple triangle']
>>> caption_is_true(captions[0], scene), caption_is_true(captions[0].replace("yellow", "green"), scene)
(True, False)
>>> parse_caption("a big red circle left of a little blue square")["relations"]
[{'subject': 0, 'relation': 'left', 'object': 1}]
"""

import dataclasses
import hashlib
import itertools
import json

import keras
import numpy as np

from zoo.datasets import DataUnavailable, data_dir, once

NAME = "scenes"
GENERATOR_VERSION = "1.0.0"
SPLITS = ("train", "validation", "test", "compositional")
SPLIT_SIZES = {"train": 20_000, "validation": 1_000, "test": 1_000, "compositional": 1_000}
SEEDS = {"train": 0, "validation": 1, "test": 2, "compositional": 3}
SHA256 = {  # of the generated content (`content_sha256`): a generator change must update these
    "train": "1a633b0f713e15441ab80031c0b0a2f949c2dc85f6bf4e5d429c3056a2b6e89a",
    "validation": "019c49e8653512b9b393fdd42e8d570f7c4445438eb584f974cbe9be55d598b3",
    "test": "625a0ec93e4da3b0bfd9cbd356028b8d7f0ea5f4000fb4e58a00229ca2d6d1c6",
    "compositional": "c9ca9ac56910895e16759d910932f7e8b6ddb8f69503b8d791649e037a0dd7f8",
}
LICENSE = "generated; CC0"

IMAGE_SIZE = 64
SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {"red": (215, 35, 35), "orange": (240, 135, 20), "yellow": (235, 215, 30),
           "green": (30, 180, 50), "blue": (40, 80, 225), "purple": (150, 40, 200)}
RADII = {"small": (5, 6), "large": (10, 11)}  # a size's radii: half the side of the shape's bounding box
HELD_OUT = (("red", "square"), ("green", "triangle"), ("blue", "diamond"), ("yellow", "cross"),
            ("purple", "circle"))
MAX_OBJECTS = 3
AXIS_MARGIN = 8
BORDER = 2  # px between an object's bounding box and the image's edge, at least
GAP = 4  # centres are at least r_a + r_b + GAP apart along the dominant axis: 3 px of background between
GREYS = (60, 200)
TINT = 10  # the most a background channel differs from its grey
GRADIENT = 25  # the most a gradient brightens or darkens the background from its centre to the edge ahead
COLOUR_JITTER = 12  # the most an object's channel differs from its colour's
NOISE_STD = 4.0
PLACEMENT_TRIES = 50

WORDINGS = (
    {"large": "large", "small": "small", "left": "to the left of", "right": "to the right of",
     "above": "above", "below": "below"},
    {"large": "big", "small": "little", "left": "left of", "right": "right of", "above": "over", "below": "under"},
)
SCORES = ("parsed", "count", "shape", "colour", "size", "relation")
SPLIT_RULE = ("generated: image i of split s from numpy.random.default_rng([SEEDS[s], i]); train, validation and "
              "test never contain a held-out colour-shape pair, every compositional image contains at least one")

_SIZE_WORDS = {words[size]: size for words in WORDINGS for size in RADII}
_RELATION_WORDS = {words[rel]: rel for words in WORDINGS for rel in ("left", "right", "above", "below")}
_ALL_PAIRS = [(colour, shape) for colour in COLOURS for shape in SHAPES]
_SEEN_PAIRS = [pair for pair in _ALL_PAIRS if pair not in HELD_OUT]
_Y, _X = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]


@dataclasses.dataclass
class Scenes:
    """Images `[N, 64, 64, 3]` uint8 with, for each, its reference captions and its scene."""

    name: str
    split: str
    images: np.ndarray
    captions: list
    scenes: list

    def __len__(self):
        return len(self.images)

    def take(self, count):
        return Scenes(self.name, self.split, self.images[:count], self.captions[:count], self.scenes[:count])

    def canonical_first(self):
        """The same images with each one's `canonical_caption` moved to the front of its references."""
        reordered = []
        for refs, scene in zip(self.captions, self.scenes):
            canonical = canonical_caption(scene)
            reordered.append([canonical, *(r for r in refs if r != canonical)])
        return Scenes(self.name, self.split, self.images, reordered, self.scenes)


def generate(split, index):
    """Image `index` of `split` as `(image, scene, reference captions)`, the same every time."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rng = np.random.default_rng([SEEDS[split], index])
    objects = _draw_scene(rng, split)
    image = _background(rng)
    for obj in objects:
        colour = np.add(COLOURS[obj["colour"]], rng.integers(-COLOUR_JITTER, COLOUR_JITTER, 3, endpoint=True))
        image[shape_mask(obj["shape"], obj["x"], obj["y"], obj["radius"])] = colour
    image += rng.normal(0.0, NOISE_STD, image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    scene = {"objects": objects, "relations": [
        {"subject": i, "relation": relation(a, b), "object": j}
        for i, a in enumerate(objects) for j, b in enumerate(objects) if i != j]}
    return image, scene, reference_captions(scene)


def _draw_scene(rng, split):
    """1–`MAX_OBJECTS` distinct objects, placed; redrawn (count kept) until they fit."""
    count = int(rng.integers(1, MAX_OBJECTS, endpoint=True))
    pairs = _ALL_PAIRS if split == "compositional" else _SEEN_PAIRS
    while True:
        chosen = [pairs[i] for i in rng.integers(len(pairs), size=count)]
        if split == "compositional":
            chosen[rng.integers(count)] = HELD_OUT[rng.integers(len(HELD_OUT))]
        objects = []
        for colour, shape in chosen:
            size = ("small", "large")[rng.integers(2)]
            objects.append({"shape": shape, "colour": colour, "size": size,
                            "radius": int(rng.choice(RADII[size]))})
        if len({(o["shape"], o["colour"], o["size"]) for o in objects}) == count:
            placed = _place(rng, objects)
            if placed:
                return placed


def _place(rng, objects):
    """`objects` with centres `x`, `y`, each clearly apart from the others; None where one found no room."""
    placed = []
    for obj in objects:
        radius = obj["radius"]
        for _ in range(PLACEMENT_TRIES):
            x, y = (int(v) for v in rng.integers(BORDER + radius, IMAGE_SIZE - 1 - BORDER - radius, 2, endpoint=True))
            if all(_clearly_apart(x, y, radius, other) for other in placed):
                placed.append({**obj, "x": x, "y": y})
                break
        else:
            return None
    return placed


def _clearly_apart(x, y, radius, other):
    near, far = sorted((abs(x - other["x"]), abs(y - other["y"])))
    return far - near >= AXIS_MARGIN and far >= radius + other["radius"] + GAP


def _background(rng):
    """A float `[64, 64, 3]` grey, faintly tinted, flat or with a linear gradient in a random direction."""
    image = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3))
    image[:] = rng.uniform(*GREYS) + rng.uniform(-TINT, TINT, 3)
    if rng.random() < 0.5:
        # a direction from uniform draws and a square root: no sin/cos, whose last bits vary by platform
        dx, dy = rng.uniform(-1.0, 1.0, 2)
        centre = (IMAGE_SIZE - 1) / 2
        ramp = ((_X - centre) * dx + (_Y - centre) * dy) / (centre * np.sqrt(dx * dx + dy * dy))
        image += (rng.uniform(-GRADIENT, GRADIENT) * ramp)[..., None]
    return image


def shape_mask(shape, x, y, radius):
    """Boolean `[64, 64]` mask of a shape centred on pixel `(x, y)`, inside the box of half-side `radius`.

    >>> shape_mask("diamond", 2, 2, 1)[:4, :4].astype(int)
    array([[0, 0, 0, 0],
           [0, 0, 1, 0],
           [0, 1, 1, 1],
           [0, 0, 1, 0]])
    """
    dx, dy = np.abs(_X - x), _Y - y
    if shape == "circle":
        return dx * dx + dy * dy <= (radius + 0.5) ** 2
    if shape == "square":
        return np.maximum(dx, np.abs(dy)) <= 0.8 * radius + 0.5
    if shape == "diamond":
        return dx + np.abs(dy) <= radius
    if shape == "triangle":  # equilateral, pointing up, its centroid on (x, y)
        return (dy <= radius / 2) & (dx * np.sqrt(3) <= dy + radius)
    if shape == "cross":
        return (np.minimum(dx, np.abs(dy)) <= 0.3 * radius) & (np.maximum(dx, np.abs(dy)) <= radius)
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def relation(a, b):
    """Where object `a` lies from object `b`: `"left"`, `"right"`, `"above"` or `"below"` (y grows downward).

    >>> relation({"x": 10, "y": 30}, {"x": 40, "y": 35}), relation({"x": 10, "y": 50}, {"x": 12, "y": 20})
    ('left', 'below')
    """
    dx, dy = a["x"] - b["x"], a["y"] - b["y"]
    if abs(dx) > abs(dy):
        return "left" if dx < 0 else "right"
    return "above" if dy < 0 else "below"


def reference_captions(scene):
    """Every caption of the grammar for `scene`, in each wording and each order of its objects."""
    objects = scene["objects"]
    relations = {(r["subject"], r["object"]): r["relation"] for r in scene["relations"]}
    return [_caption(objects, relations, first, others, words)
            for words in WORDINGS for first, *others in itertools.permutations(range(len(objects)))]


def canonical_caption(scene):
    """The reference naming the objects from left to right (by centre x, then y), in the first wording.

    One caption per image, so that every word of it follows from the image:
    among all references, which object comes next (and so which relation is
    said) is the writer's free choice.

    >>> scene = {"objects": [{"shape": "circle", "colour": "red", "size": "small", "x": 40, "y": 30},
    ...                      {"shape": "cross", "colour": "blue", "size": "large", "x": 12, "y": 28}]}
    >>> scene["relations"] = [{"subject": 0, "relation": "right", "object": 1},
    ...                       {"subject": 1, "relation": "left", "object": 0}]
    >>> canonical_caption(scene)
    'a large blue cross to the left of a small red circle'
    """
    objects = scene["objects"]
    relations = {(r["subject"], r["object"]): r["relation"] for r in scene["relations"]}
    first, *others = sorted(range(len(objects)), key=lambda i: (objects[i]["x"], objects[i]["y"]))
    return _caption(objects, relations, first, others, WORDINGS[0])


def _caption(objects, relations, first, others, words):
    """`first`, then each of `others` with its relation to `first`."""
    caption = [_phrase(objects[first], words)]
    for k, other in enumerate(others):
        caption += ["and"] * (k > 0) + [words[relations[first, other]], _phrase(objects[other], words)]
    return " ".join(caption)


def _phrase(obj, words):
    return f"a {words[obj['size']]} {obj['colour']} {obj['shape']}"


def parse_caption(text):
    """What a caption asserts: `{"objects": [{"size", "colour", "shape"}], "relations": [{"subject",
    "relation", "object"}]}`, objects numbered in the caption's order; None for text outside the grammar.

    Case, spacing and one final period are forgiven; any synonym may be used anywhere.

    >>> parse_caption("A little green cross.")
    {'objects': [{'size': 'small', 'colour': 'green', 'shape': 'cross'}], 'relations': []}
    >>> parse_caption("a green cross"), parse_caption("a big red circle and a blue square")
    (None, None)
    """
    first, rest = _read_object(text.lower().strip().removesuffix(".").split())
    if first is None:
        return None
    objects, relations = [first], []
    while rest and len(objects) < MAX_OBJECTS:
        if len(objects) > 1:
            if rest[0] != "and":
                return None
            rest = rest[1:]
        said, rest = _read_relation(rest)
        other, rest = _read_object(rest)
        if said is None or other is None:
            return None
        relations.append({"subject": 0, "relation": said, "object": len(objects)})
        objects.append(other)
    return None if rest else {"objects": objects, "relations": relations}


def _read_object(words):
    """`({"size", "colour", "shape"}, the words after it)`, or `(None, words)`."""
    if len(words) >= 4 and words[0] == "a" and words[1] in _SIZE_WORDS and words[2] in COLOURS and words[3] in SHAPES:
        return {"size": _SIZE_WORDS[words[1]], "colour": words[2], "shape": words[3]}, words[4:]
    return None, words


def _read_relation(words):
    for phrase, said in _RELATION_WORDS.items():
        length = len(phrase.split())
        if words[:length] == phrase.split():
            return said, words[length:]
    return None, words


def attribute_scores(caption, scene):
    """How right `caption` is about `scene`, attribute by attribute: a dict of fractions in [0, 1].

    The caption's objects are matched one to one with the scene's, the matching that gets the most
    attributes and relations right (the first such, in `itertools.permutations` order). Then:

    - `parsed`: 1 if the caption follows the grammar (if not, every score is 0);
    - `count`: 1 if it names as many objects as the scene holds;
    - `shape`, `colour`, `size`: the matched objects with that attribute right, over the larger of the two
      object counts (an object missing from or added to the caption counts as wrong);
    - `relation`: the relations it states that hold, over the larger of the number it states and the
      number the grammar states for the scene (objects - 1); 1 when both are 0.

    A caption is true (`caption_is_true`) exactly when every score is 1.

    >>> scene = generate("train", 0)[1]  # a green diamond below a yellow diamond, an orange triangle above both
    >>> scores = attribute_scores("a small green diamond below a large yellow diamond", scene)
    >>> scores["parsed"], scores["count"], scores["colour"], scores["size"], scores["relation"]
    (1.0, 0.0, 0.6666666666666666, 0.3333333333333333, 0.5)
    """
    said = parse_caption(caption)
    if said is None:
        return dict.fromkeys(SCORES, 0.0)
    objects, there = said["objects"], scene["objects"]
    relations = {(r["subject"], r["object"]): r["relation"] for r in scene["relations"]}
    best = max(_matchings(len(objects), len(there)),
               key=lambda match: sum(_agreement(said, there, relations, match).values()))
    right = _agreement(said, there, relations, best)
    objects_counted = max(len(objects), len(there))
    relations_counted = max(len(said["relations"]), len(there) - 1)
    return {"parsed": 1.0, "count": float(len(objects) == len(there)),
            **{attribute: right[attribute] / objects_counted for attribute in ("shape", "colour", "size")},
            "relation": right["relation"] / relations_counted if relations_counted else 1.0}


def _matchings(said, there):
    """Every one-to-one matching of `said` caption objects with `there` scene objects, as `{caption: scene}`."""
    if said <= there:
        return [dict(enumerate(chosen)) for chosen in itertools.permutations(range(there), said)]
    return [{c: s for s, c in enumerate(chosen)} for chosen in itertools.permutations(range(said), there)]


def _agreement(said, there, relations, match):
    """How many attributes of each kind, and relations, the caption gets right under `match`."""
    right = {attribute: sum(said["objects"][c][attribute] == there[s][attribute] for c, s in match.items())
             for attribute in ("shape", "colour", "size")}
    right["relation"] = sum(r["subject"] in match and r["object"] in match
                            and relations.get((match[r["subject"]], match[r["object"]])) == r["relation"]
                            for r in said["relations"])
    return right


def caption_is_true(text, scene):
    """Whether `text` follows the grammar and says only true things about every object of `scene`."""
    return all(score == 1.0 for score in attribute_scores(text, scene).values())


def generate_split(split, count=None):
    """Images `0 .. count - 1` of `split` (default: all `SPLIT_SIZES[split]`), with a progress bar."""
    count = SPLIT_SIZES[split] if count is None else count
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    captions, scenes = [], []
    progress = keras.utils.Progbar(count, unit_name="image")
    for index in range(count):
        images[index], scene, references = generate(split, index)
        scenes.append(scene)
        captions.append(references)
        if (index + 1) % 500 == 0 or index + 1 == count:
            progress.update(index + 1)
    return Scenes(NAME, split, images, captions, scenes)


def content_sha256(data):
    """sha256 of a split's images (their bytes) and of its captions and scenes (as canonical JSON)."""
    digest = hashlib.sha256(np.ascontiguousarray(data.images))
    digest.update(json.dumps([data.captions, data.scenes], sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def _paths(split):
    directory = data_dir() / "scenes" / GENERATOR_VERSION
    return directory / f"{split}.npz", directory / f"{split}.json"


def load(split):
    """One split (see `SPLITS`), generated on first use and then read from `$ZOO_DATA`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    images_path, text_path = _paths(split)
    once(images_path, lambda: images_path.exists() and text_path.exists(),  # one process generates it
         lambda: _generate(split, images_path, text_path))
    with np.load(images_path) as arrays:
        images = arrays["images"]
    text = json.loads(text_path.read_text("utf-8"))
    data = Scenes(NAME, split, images, text["captions"], text["scenes"])
    digest = content_sha256(data)
    if digest != SHA256[split]:
        raise DataUnavailable(f"{images_path} and {text_path}: content sha256 {digest} differs from the expected "
                           f"{SHA256[split]}; delete them to generate the split again")
    return data


def _generate(split, images_path, text_path):
    print(f"generating the scenes {split} split (once):", flush=True)
    data = generate_split(split)
    digest = content_sha256(data)
    if digest != SHA256[split]:
        raise DataUnavailable(f"the generator's {split} split has sha256 {digest}, not the expected "
                              f"{SHA256[split]}: a changed generator needs a new GENERATOR_VERSION and SHA256")
    _save(data, images_path, text_path)


def _save(data, images_path, text_path):
    """Writes the images (compressed .npz) and the captions and scenes (JSON), each atomically."""
    images_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = images_path.with_suffix(".partial")
    with scratch.open("wb") as f:
        np.savez_compressed(f, images=data.images)
    scratch.replace(images_path)
    scratch.write_text(json.dumps({"generator_version": GENERATOR_VERSION, "split": data.split,
                                   "captions": data.captions, "scenes": data.scenes}), "utf-8")
    scratch.replace(text_path)


def describe():
    """The dataset section of a model card."""
    return {
        "name": NAME,
        "source": "generated by zoo.datasets.scenes",
        "generator_version": GENERATOR_VERSION,
        "seeds": dict(SEEDS),
        "held_out_pairs": [f"{colour} {shape}" for colour, shape in HELD_OUT],
        "split": SPLIT_RULE,
        "examples": dict(SPLIT_SIZES),
        "sha256": dict(SHA256),
        "license": LICENSE,
    }
