"""Your own labelled sensor series, read from a `.csv` or `.ts` file into `uea.SensorSplit`s.

The file's extension says its format:

- `.csv`: a header row naming the columns, then one row per time step.
  Column `series` holds the id of the series the step belongs to and
  `label` its class (any text, the same on every row of a series); every
  other column is a channel, in the header's order, holding numbers. A
  series' rows need not be consecutive: rows are grouped by id, series in
  the order their ids first appear, steps in file order.

      series,label,acc_x,acc_y,acc_z
      walk-01,walking,0.12,-0.98,0.05
      walk-01,walking,0.15,-0.97,0.02
      run-07,running,0.44,-1.31,0.20

- `.ts`: the UEA & UCR archives' text format, with class labels
  (`@classLabel true ...`), univariate or multivariate, of equal or unequal
  length, read with sktime's `load_from_tsfile` (`uea.read_ts_file`). Its
  channels are named as sktime names them: `dim_0`, `dim_1`, ...

Splits: the training file is what a UEA dataset's TRAIN is, `full_train`,
split into `train` and `validation` by the same rule (`uea.VALIDATION_RULE`:
a stratified 20 % of each class held out, seed 0). A test file, if given, is
the `test` split: the same channels (names and order), its classes among
the training file's. Without one there is no `test` split, and a model
trained on the file has no TEST figures (its card's `test_metrics` is null).

A file is refused with a ValueError that names it and says what was
expected: a missing file, a directory, an unknown extension, more than
`MAX_FILE_BYTES`, bytes that are not UTF-8, an empty file, a CSV without
`series` and `label` columns or without rows, a row of another width, a value
that is not a finite float32 number, a series of no steps or of more than
`max_length`, one class only, a class too small to be split, a `.ts` file
sktime cannot read.
"""

import array
import csv
import hashlib
import io
from pathlib import Path

import numpy as np

from zoo.datasets import uea

FORMATS = (".csv", ".ts")
MAX_FILE_BYTES = 256 << 20  # read whole into memory, with a few times that for the parsed values
ID_COLUMN, LABEL_COLUMN = "series", "label"
LICENSE = "the user's own data, under the user's terms"


def load(path, test_path=None, max_length=None, name=None):
    """Loads the splits of your labelled series.

    Args:
        path: the training file, `.csv` or `.ts`.
        test_path: the test file (`.csv` or `.ts`), or None: no `test` split.
        max_length: the most steps a series may have (None: no limit).
        name: the splits' dataset name (default: the training file's stem).

    Returns:
        `{"full_train", "train", "validation"[, "test"]}`: `uea.SensorSplit`s.

    Example:

    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "gestures.csv"
    >>> rows = [f"g{i},{'up' if i % 2 else 'down'},{t},{t * i}" for i in range(10) for t in range(3)]
    >>> _ = path.write_text("series,label,x,y\\n" + "\\n".join(rows) + "\\n")
    >>> splits = load(path)
    >>> len(splits["train"]), len(splits["validation"]), splits["train"].class_names, splits["train"].channel_names
    (8, 2, ['down', 'up'], ['x', 'y'])
    >>> splits["full_train"].series[1]   # g1: three steps of two channels
    array([[0., 0.],
           [1., 1.],
           [2., 2.]], dtype=float32)
    >>> folder.cleanup()
    """
    name = name or Path(path).stem
    series, labels, channels = read(path, max_length)
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"{path}: every series is labelled {classes[0]!r}; expected at least 2 classes")
    full_train = uea.SensorSplit.of_labels(name, "full_train", series, labels, classes, channels)
    try:
        train, validation = full_train.validation_split()
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    splits = {"full_train": full_train, "train": train, "validation": validation}
    if test_path is not None:
        splits["test"] = _test_split(test_path, full_train, max_length)
    return splits


def _test_split(path, full_train, max_length):
    """The test file's split, refused unless its channels are the training file's and its classes among them."""
    series, labels, channels = read(path, max_length)
    if channels != full_train.channel_names:
        raise ValueError(f"{path}: channels {', '.join(channels)}; expected the training file's, "
                         f"{', '.join(full_train.channel_names)} (the same names in the same order)")
    unknown = sorted(set(labels) - set(full_train.class_names))
    if unknown:
        raise ValueError(f"{path}: class {unknown[0]!r} is not in the training file; expected classes among "
                         f"{', '.join(full_train.class_names)}")
    return uea.SensorSplit.of_labels(full_train.name, "test", series, labels, full_train.class_names, channels)


def read(path, max_length=None):
    """`(series, labels, channel_names)` of one `.csv` or `.ts` file: float32 `[T_i, C]` arrays, their class
    labels, and the channels' names; a ValueError saying what was expected where the file cannot be used."""
    path = Path(path)
    text = _text(path)
    ids, series, labels, channels = _read_csv(path, text) if path.suffix.lower() == ".csv" else _read_ts(path)
    _check_series(path, ids, series, channels, max_length)
    return series, labels, channels


def _text(path):
    """The text of a data file: an existing regular file with a known extension, at most `MAX_FILE_BYTES`
    of UTF-8 (a byte-order mark allowed), not blank."""
    expected = f"expected a {' or '.join(FORMATS)} file"
    if path.suffix.lower() not in FORMATS:
        problem = f"unknown extension {path.suffix!r}" if path.suffix else "no extension"
        raise ValueError(f"{path}: {problem}; {expected}")
    if not path.is_file():  # a device or a FIFO is no data file either, and could block or never end
        problem = "a directory" if path.is_dir() else "not a regular file" if path.exists() else "no such file"
        raise ValueError(f"{path}: {problem}; {expected}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: {size} bytes; expected at most {MAX_FILE_BYTES} (fewer or shorter series)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: byte {error.object[error.start]:#04x} at offset {error.start} is not UTF-8; "
                         f"{expected} of UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read it ({error.strerror or error}); {expected}") from None
    if not text.strip():
        raise ValueError(f"{path}: empty; {expected} of labelled series")
    return text


def _read_csv(path, text):
    """`(ids, series, labels, channels)` of a CSV file in the layout of the module's docstring."""
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        grouped = _GroupedRows(path, [name.strip() for name in next(rows)])
        for row in rows:
            if row:  # the reader gives [] for a blank line
                grouped.add(rows.line_num, row)
    except csv.Error as error:  # a NUL byte, an unclosed quote, a field over the csv module's limit
        raise ValueError(f"{path}:{rows.line_num}: {error}; expected comma-separated values") from None
    return grouped.result()


class _GroupedRows:
    """A CSV file's rows grouped by series as they are read: each series' label and every step's values."""

    def __init__(self, path, header):
        missing = [c for c in (ID_COLUMN, LABEL_COLUMN) if c not in header]
        if missing:
            raise ValueError(f"{path}: no {' or '.join(missing)} column in the header {','.join(header)!r}; expected "
                             f"a header row naming the columns {ID_COLUMN}, {LABEL_COLUMN} and the channels")
        self.path, self.width = path, len(header)
        self.id_column, self.label_column = header.index(ID_COLUMN), header.index(LABEL_COLUMN)
        self.channel_columns = [i for i in range(len(header)) if i not in (self.id_column, self.label_column)]
        self.channels = [header[i] for i in self.channel_columns]
        if not self.channels:
            raise ValueError(f"{path}: no channel columns; expected one numeric column per channel beside "
                             f"{ID_COLUMN} and {LABEL_COLUMN}")
        self.ids, self.labels = {}, []  # series id -> its number (order of appearance); the numbers' labels
        self.owners, self.values = array.array("q"), array.array("d")  # per row: its series' number; the values

    def add(self, line, row):
        if len(row) != self.width:
            raise ValueError(f"{self.path}:{line}: {len(row)} columns; expected {self.width}, as in the header")
        key, label = row[self.id_column].strip(), row[self.label_column].strip()
        if not key or not label:
            raise ValueError(f"{self.path}:{line}: no {ID_COLUMN if not key else LABEL_COLUMN}; expected a series id "
                             "and a label on every row")
        number = self.ids.setdefault(key, len(self.ids))
        if number == len(self.labels):
            self.labels.append(label)
        elif self.labels[number] != label:
            raise ValueError(f"{self.path}:{line}: series {key!r} labelled {label!r}, and {self.labels[number]!r} "
                             "before; expected one label per series")
        self.owners.append(number)
        self.values.extend(self._numbers(line, row))

    def _numbers(self, line, row):
        try:
            return [float(row[i]) for i in self.channel_columns]
        except ValueError:
            column, channel = next((i, c) for i, c in zip(self.channel_columns, self.channels)
                                   if not _is_number(row[i]))
        raise ValueError(f"{self.path}:{line}: {row[column]!r} in column {channel!r} is not a number; expected "
                         "numbers in every channel column")

    def result(self):
        """`(ids, series, labels, channels)`: the series in order of appearance, their steps in file order."""
        if not self.ids:
            raise ValueError(f"{self.path}: no rows after the header; expected one row per time step")
        with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, refused by _check_series
            steps = np.frombuffer(self.values, np.float64).reshape(-1, len(self.channels)).astype(np.float32)
        owners = np.frombuffer(self.owners, np.int64)
        series = np.split(steps[np.argsort(owners, kind="stable")], np.cumsum(np.bincount(owners))[:-1])
        return [repr(key) for key in self.ids], series, self.labels, self.channels


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_ts(path):
    """`(ids, series, labels, channels)` of a `.ts` file, read by sktime."""
    try:
        series, labels = uea.read_ts_file(path)
    except Exception as error:  # sktime's parser raises TypeError, ValueError, OSError... for a malformed file
        reason = str(error).strip().partition("\n")[0] or type(error).__name__
        raise ValueError(f"{path}: sktime cannot read it ({reason}); expected the UEA & UCR archives' .ts format "
                         "with class labels (@classLabel true ...)") from None
    channels = [f"dim_{c}" for c in range(series[0].shape[1])]
    return [f"#{i + 1}" for i in range(len(series))], series, labels.tolist(), channels


def _check_series(path, ids, series, channels, max_length):
    """Refuses a series with no steps, more than `max_length` steps, other channels or a value that is not finite."""
    for key, steps in zip(ids, series):
        if not len(steps):
            raise ValueError(f"{path}: series {key} has no steps; expected at least one")
        if max_length is not None and len(steps) > max_length:
            raise ValueError(f"{path}: series {key} has {len(steps)} steps; expected at most {max_length}, the "
                             "model's max_length")
        if steps.shape[1] != len(channels):
            raise ValueError(f"{path}: series {key} has {steps.shape[1]} channels; expected {len(channels)}, as the "
                             "first series")
        bad = np.argwhere(~np.isfinite(steps))
        if len(bad):
            step, channel = bad[0]
            raise ValueError(f"{path}: series {key}, step {step + 1}, channel {channels[channel]!r}: "
                             f"{steps[step, channel]}; expected finite numbers (no NaN or inf, within float32's range)")


def split_rule(path, test_path=None):
    """The card's `split`: which file is TRAIN and which TEST, and how validation is drawn."""
    test = f"TEST = {Path(test_path).name}" if test_path is not None else (
        "no TEST split (no test file given: the model card has no test_metrics)")
    return f"TRAIN = {Path(path).name}, {test}; {uea.VALIDATION_RULE}"


def describe(train, path, test_path=None):
    """The dataset section of a model card, for the `train` split of what `load(path, test_path)` returned."""
    files = {"train": path, **({"test": test_path} if test_path is not None else {})}
    return {
        "name": train.name,
        "source": "the user's own files, read by zoo.datasets.sensor_files",
        "files": {split: {"path": str(file), "format": Path(file).suffix.lower().lstrip("."),
                          "sha256": file_sha256(file)} for split, file in files.items()},
        "split": split_rule(path, test_path),
        "classes": train.class_names,
        "channels": train.channel_names,
        "license": LICENSE,
    }


def load_described(dataset, split):
    """The split `split` of the files a model card's dataset section (`describe`) names; a ValueError where a
    file changed since (its sha256) or the card has no such split."""
    files = dataset["files"]
    for file in files.values():
        digest = file_sha256(file["path"])
        if digest != file["sha256"]:
            raise ValueError(f"{file['path']}: sha256 {digest}; expected {file['sha256']}, the file the model card "
                             "records (it changed since)")
    splits = load(files["train"]["path"], files.get("test", {}).get("path"), name=dataset["name"])
    if split not in splits:
        raise ValueError(f"{dataset['name']}: no {split} split (trained without a test file); expected one of "
                         f"{', '.join(splits)}")
    return splits[split]


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
