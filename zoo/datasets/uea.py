"""Multivariate sensor series from the UEA archive, read with sktime's `.ts` loader.

BasicMotions (4 activities, 6 channels: 3-axis accelerometer + gyroscope,
100 steps) and JapaneseVowels (9 speakers, 12 LPC cepstrum channels, 7–29
steps) ship inside the sktime wheel from PyPI and load offline; their files
are checked against the sha256 digests below. Any other UEA name is
downloaded by sktime into `$ZOO_DATA/uea` where the network allows it.

Splits: the archive's official TRAIN and TEST. `validation` is a stratified
20 % of TRAIN drawn with a fixed seed (0), and `train` is the remaining 80 %;
`full_train` is all of TRAIN.
"""

import dataclasses
import functools
import hashlib
from pathlib import Path

import numpy as np

from zoo.datasets import data_dir

SPLITS = ("train", "validation", "test", "full_train")
VALIDATION_FRACTION = 0.2
SPLIT_SEED = 0
SPLIT_RULE = (
    "official UEA TRAIN/TEST; validation = stratified 20% of TRAIN "
    "(sklearn train_test_split, random_state=0), train = the other 80%"
)
LICENSE = "UEA & UCR Time Series Classification Repository: free for research use, cite the archive"

# sha256 of the files inside the sktime 1.2 wheel.
KNOWN_SHA256 = {
    "BasicMotions_TRAIN.ts": "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6",
    "BasicMotions_TEST.ts": "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc",
    "JapaneseVowels_TRAIN.ts": "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
    "JapaneseVowels_TEST.ts": "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462",
}


@dataclasses.dataclass
class SensorSplit:
    """One split: `series[i]` is a float32 `[T_i, C]` array, `labels[i]` its class index."""

    name: str
    split: str
    series: list
    labels: np.ndarray
    class_names: list

    def __len__(self):
        return len(self.series)

    @property
    def num_channels(self):
        return self.series[0].shape[1]



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


@functools.lru_cache(maxsize=None)
def _read(name, official_split):
    from sktime.datasets import load_from_tsfile

    frame, labels = load_from_tsfile(str(_ts_file(name, official_split)), return_data_type="nested_univ")
    series = []
    for i in range(len(frame)):
        item = np.stack([frame.iat[i, c].to_numpy(dtype=np.float32) for c in range(frame.shape[1])], axis=1)
        item.setflags(write=False)  # shared by every load() through the cache
        series.append(item)
    labels = np.asarray(labels).astype(str)
    labels.setflags(write=False)
    return tuple(series), labels


def load(name, split="train"):
    """Loads one split of a UEA multivariate dataset.

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
    class_names = sorted(str(c) for c in set(train_labels))
    if split == "test":
        series, labels = _read(name, "test")
    elif split == "full_train":
        series, labels = train_series, train_labels
    else:
        from sklearn.model_selection import train_test_split

        train_idx, val_idx = train_test_split(
            np.arange(len(train_labels)),
            test_size=VALIDATION_FRACTION,
            stratify=train_labels,
            random_state=SPLIT_SEED,
        )
        idx = train_idx if split == "train" else val_idx
        series, labels = [train_series[i] for i in idx], train_labels[idx]
    index = {c: i for i, c in enumerate(class_names)}
    return SensorSplit(name, split, list(series), np.array([index[c] for c in labels], np.int32), class_names)


def describe(name):
    """The dataset section of a model card."""
    return {
        "name": name,
        "source": "UEA multivariate archive, .ts files read with sktime's loader (PyPI wheel sktime)",
        "files_sha256": file_checksums(name),
        "split": SPLIT_RULE,
        "license": LICENSE,
    }
