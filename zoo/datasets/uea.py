"""Sensor series from the UEA (multivariate) and UCR (univariate) archives, read with sktime's `.ts` loader.

These ship inside the sktime wheel from PyPI and load offline, their files
checked against the sha256 digests below: BasicMotions (4 activities, 6
channels: 3-axis accelerometer + gyroscope, 100 steps), JapaneseVowels (9
speakers, 12 LPC cepstrum channels, 7–29 steps), GunPoint (a hand drawing a
gun or pointing, the x coordinate over 150 video frames), PLAID (11 kinds of
appliance, the current of one mains cycle, 100–1 344 steps), ACSF1 (10 kinds
of appliance, their power every 10 s for 4 hours, 1 460 steps), ItalyPowerDemand,
ArrowHead and OSULeaf. Any other archive name is downloaded by sktime into
`$ZOO_DATA/uea` where the network allows it.

Splits: the archive's official TRAIN and TEST. `validation` is a stratified
20 % of TRAIN drawn with a fixed seed (0), and `train` is the remaining 80 %;
`full_train` is all of TRAIN.
"""

import dataclasses
import functools
import hashlib
import math
from pathlib import Path

import numpy as np

from zoo.datasets import data_dir

SPLITS = ("train", "validation", "test", "full_train")
VALIDATION_FRACTION = 0.2
SPLIT_SEED = 0
VALIDATION_RULE = ("validation = stratified 20% of TRAIN (sklearn train_test_split, random_state=0), "
                   "train = the other 80%")
SPLIT_RULE = f"official UEA TRAIN/TEST; {VALIDATION_RULE}"
LICENSE = "UEA & UCR Time Series Classification Repository: free for research use, cite the archive"

# sha256 of the files inside the sktime 1.2 wheel.
KNOWN_SHA256 = {
    "BasicMotions_TRAIN.ts": "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    "BasicMotions_TEST.ts": "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
    "JapaneseVowels_TRAIN.ts": "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
    "JapaneseVowels_TEST.ts": "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462",
    "GunPoint_TRAIN.ts": "f842401779fd9800d247d8b33121a1a4643710a19b24917dbdd9a060ca8630d5",
    "GunPoint_TEST.ts": "79332750788a6227b325b96bd0d70130c8eb707b9731f8d7dec62b7a7d36017e",
    "PLAID_TRAIN.ts": "40deb3bc6bd1e1aa0e6db6e6bfd3cecc4a23bf57f6a6d6ab90fb75e4a2c72344",
    "PLAID_TEST.ts": "aa6da0dc1461e8d374e068a940ce37d1b0bb1a9844596d818920c8af696d656d",
    "ACSF1_TRAIN.ts": "0646b90dc4843e02baed6b2ba345c5601a4991b6796565489cef1b2d92a7537b",
    "ACSF1_TEST.ts": "93e8aaeb44a10af181d24a156e60da7021193cd990ca28f263fccf3b905bfebf",
    "ItalyPowerDemand_TRAIN.ts": "341269cb7e6cef96846b30e774580beec79addb93848ba360145219115a74b7c",
    "ItalyPowerDemand_TEST.ts": "26122451f87dd0387ef90b18bc8a86c041371b8a1c068004922b939971247144",
    "ArrowHead_TRAIN.ts": "a83c470aaf611a5f5284377cce27a5fc9f6292bc3d110257b0fd4905ced5ee72",
    "ArrowHead_TEST.ts": "5417dab42626d41df5e435bb22458c2df40dfad4bcd3b59559bbe72e20e84904",
    "OSULeaf_TRAIN.ts": "86b9d6e860414ffd26cebc62fff84ffb37fa588ef3e5bf79e4094a437c36ddfc",
    "OSULeaf_TEST.ts": "6c549dd354f9e42d5985fa5fab75321ca9acefc7873457e71467fc8a31f107ce",
}


@dataclasses.dataclass
class SensorSplit:
    """One split: `series[i]` is a float32 `[T_i, C]` array, `labels[i]` its class index; `channel_names` where
    the data names its channels."""

    name: str
    split: str
    series: list
    labels: np.ndarray
    class_names: list
    channel_names: list = None

    def __len__(self):
        return len(self.series)

    @property
    def num_channels(self):
        return self.series[0].shape[1]

    @classmethod
    def of_labels(cls, name, split, series, labels, class_names, channel_names=None):
        """A split of `series` whose `labels` are class names, each one of `class_names`."""
        index = {c: i for i, c in enumerate(class_names)}
        return cls(name, split, list(series), np.array([index[c] for c in labels], np.int32), list(class_names),
                   channel_names)

    def validation_split(self):
        """`(train, validation)`: a stratified `VALIDATION_FRACTION` of each class held out for validation, drawn
        with `SPLIT_SEED`, and the rest (`VALIDATION_RULE`); a ValueError where the classes are too small for it."""
        from sklearn.model_selection import train_test_split

        _check_stratifiable(self.labels, self.class_names)
        train, validation = train_test_split(np.arange(len(self)), test_size=VALIDATION_FRACTION, stratify=self.labels,
                                             random_state=SPLIT_SEED)
        return self._subset("train", train), self._subset("validation", validation)

    def _subset(self, split, indices):
        return dataclasses.replace(self, split=split, series=[self.series[i] for i in indices],
                                   labels=self.labels[indices])


def _check_stratifiable(labels, class_names):
    """Refuses (ValueError) the labels a stratified validation split cannot be drawn from, as scikit-learn would,
    but saying what was expected."""
    counts = np.bincount(labels, minlength=len(class_names))
    rarest = int(np.argmin(counts))
    if counts[rarest] < 2:
        raise ValueError(f"class {class_names[rarest]!r} has {counts[rarest]} series; expected at least 2 of each "
                         f"class (a stratified {VALIDATION_FRACTION:.0%} of each is held out for validation)")
    held_out = math.ceil(VALIDATION_FRACTION * len(labels))
    if min(held_out, len(labels) - held_out) < len(class_names):
        raise ValueError(f"{len(labels)} series are too few for {len(class_names)} classes: expected enough that the "
                         f"{VALIDATION_FRACTION:.0%} held out for validation ({held_out} series) and the rest each "
                         "hold every class")


def _ts_file(name, split):
    """Path of `<name>_<SPLIT>.ts`, fetched through sktime if it is not yet on disk."""
    import sktime.datasets

    filename = f"{name}_{split.upper()}.ts"
    for root in (Path(sktime.datasets.__file__).parent / "data", data_dir() / "uea"):
        if (root / name / filename).is_file():
            return root / name / filename
    sktime.datasets.load_UCR_UEA_dataset(name, extract_path=str(data_dir() / "uea"))
    return data_dir() / "uea" / name / filename


def file_checksums(name):
    """`{file: sha256}` of the dataset's TRAIN and TEST files, verified where known."""
    checksums = {}
    for split in ("train", "test"):
        path = _ts_file(name, split)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        expected = KNOWN_SHA256.get(path.name)
        if expected and digest != expected:
            raise ValueError(f"{path}: sha256 {digest} does not match the known {expected}")
        checksums[path.name] = digest
    return checksums


def read_ts_file(path):
    """`(series, labels)` of a `.ts` file read with sktime's loader: float32 `[T_i, C]` arrays and their class
    labels, strings. A ValueError names a series whose channels differ in length."""
    from sktime.datasets import load_from_tsfile

    frame, labels = load_from_tsfile(str(path), return_data_type="nested_univ")
    return [_steps(frame, i) for i in range(len(frame))], np.asarray(labels).astype(str)


def _steps(frame, i):
    """Series `i` of sktime's nested frame (one cell per channel) as a `[T, C]` array."""
    channels = [frame.iat[i, c].to_numpy(dtype=np.float32) for c in range(frame.shape[1])]
    lengths = sorted({len(channel) for channel in channels})
    if len(lengths) > 1:
        raise ValueError(f"series {i + 1}: its channels have {' and '.join(map(str, lengths))} steps; expected the "
                         "same number of steps in every channel of a series")
    return np.stack(channels, axis=1)


@functools.lru_cache(maxsize=None)
def _read(name, official_split):
    series, labels = read_ts_file(_ts_file(name, official_split))
    for item in (*series, labels):
        item.setflags(write=False)  # shared by every load() through the cache
    return tuple(series), labels


def load(name, split="train"):
    """Loads one split of a UEA or UCR dataset.

    Args:
        name: the archive's name, e.g. `"BasicMotions"` or `"JapaneseVowels"`.
        split: one of `"train"`, `"validation"`, `"test"`, `"full_train"`.

    Example:

    >>> test = load("BasicMotions", "test")
    >>> len(test), test.num_channels, test.class_names
    (40, 6, ['badminton', 'running', 'standing', 'walking'])
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    file_checksums(name)
    train_series, train_labels = _read(name, "train")
    class_names = sorted(map(str, set(train_labels)))
    full_train = SensorSplit.of_labels(name, "full_train", train_series, train_labels, class_names)
    if split == "test":
        return SensorSplit.of_labels(name, split, *_read(name, "test"), full_train.class_names)
    if split == "full_train":
        return full_train
    return dict(zip(("train", "validation"), full_train.validation_split()))[split]


def describe(name):
    """The dataset section of a model card."""
    return {
        "name": name,
        "source": "UEA & UCR time series classification archive, .ts files read with sktime's loader (PyPI wheel "
                  "sktime)",
        "files_sha256": file_checksums(name),
        "split": SPLIT_RULE,
        "license": LICENSE,
    }
