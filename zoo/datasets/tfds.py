"""The zoo's datasets as TFDS builders, so `tfds.load` works on them.

Importing this module registers the builders (it needs the `tfds` extra):

>>> import tensorflow_datasets as tfds
>>> import zoo.datasets.tfds
>>> train = tfds.load("uea_sensor/basic_motions", split="train")  # doctest: +SKIP

Splits are the zoo's own fixed splits (`train`, `validation`, `test`), built
from the files the zoo fetched itself, so nothing is downloaded from TFDS.
"""

import numpy as np
import tensorflow_datasets as tfds

from zoo.datasets import uea


class UeaSensorConfig(tfds.core.BuilderConfig):
    def __init__(self, *, dataset, **kwargs):
        super().__init__(**kwargs)
        self.dataset = dataset


class UeaSensor(tfds.core.GeneratorBasedBuilder):
    """UEA multivariate series classification, with the zoo's validation split."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "UEA files from the sktime wheel; validation = stratified 20% of TRAIN."}
    BUILDER_CONFIGS = [
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
