"""zoo.datasets.sensor_files and `zoo train sensor --data`: your own series from a CSV or `.ts` file, each careless
or hostile file refused in one line, and the recipe end to end on BasicMotions written as a CSV and as a `.ts`."""

import csv
import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from fixtures.forks import run_python
from fixtures.recipes import REPO, failure_output, run_smoke, subprocess_env
from fixtures.sensor import RECIPE
from zoo.datasets import sensor_files, uea
from zoo.recipes import sensor_classification
from zoo.sensor import data as sensor_data

HEADER = "series,label,x,y\n"
CHANNELS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]  # BasicMotions' six, as the CSV names them
TS_HEADER = ("@problemName probe\n@timeStamps false\n@univariate false\n@dimensions 2\n@equalLength false\n"
             "@classLabel true a b\n@data\n")
MAX_LENGTH = 5  # what the probes read with: --max-length 5


def _rows(count=10, classes="ab", steps=3):
    """CSV rows of `count` series of `steps` steps, labelled by turns with `classes`: a file that loads."""
    return "".join(f"s{i},{classes[i % len(classes)]},{t},{-t}\n" for i in range(count) for t in range(steps))


def _ts_rows(count=10):
    return "".join(f"1,2,3:4,5,6:{'ab'[i % 2]}\n" for i in range(count))


def _sktime_file(name, split):
    import sktime.datasets

    return Path(sktime.datasets.__file__).parent / "data" / name / f"{name}_{split}.ts"


def write_uea_csv(path, name, split):
    """UEA `name`'s `split` written in the CSV layout: one row per step, the series numbered in order."""
    data = uea.load(name, split)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["series", "label", *CHANNELS[:data.num_channels]])
        for i, (series, label) in enumerate(zip(data.series, data.labels)):
            writer.writerows([f"{split}-{i}", data.class_names[label], *map(repr, step.tolist())] for step in series)
    return path


def _same(a, b):
    assert (a.class_names, a.labels.tolist(), len(a)) == (b.class_names, b.labels.tolist(), len(b))
    for x, y in zip(a.series, b.series):
        assert x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(x, y)


# --- reading ---------------------------------------------------------------------------------------


def test_csv_rows_are_grouped_by_series_in_file_order(tmp_path):
    path = tmp_path / "mixed.csv"
    text = ("\ufeff label , series ,x,y\r\n"  # a byte-order mark, spaces and CRLF: a spreadsheet's export
            "up,a,1,10\r\ndown,b,5,50\r\n\r\nup,a,2,20\r\n" + "".join(
                f"{'up' if i % 2 else 'down'},\"c,{i}\",{i},0\r\n" for i in range(8)) + "down,b,6,60\r\nup,a,3,30\r\n")
    path.write_text(text, newline="")
    splits = sensor_files.load(path)
    full = splits["full_train"]
    assert (full.name, full.split, full.class_names, full.channel_names) == ("mixed", "full_train", ["down", "up"],
                                                                              ["x", "y"])
    np.testing.assert_array_equal(full.series[0], [[1, 10], [2, 20], [3, 30]])  # a: three steps, rows apart
    np.testing.assert_array_equal(full.series[1], [[5, 50], [6, 60]])
    assert full.labels.tolist()[:3] == [1, 0, 0] and len(full) == 10  # a up, b down, "c,0" down (quoted)
    assert (len(splits["train"]), len(splits["validation"])) == (8, 2) and "test" not in splits


def test_a_csv_of_basic_motions_is_the_uea_dataset_split_the_same_way(tmp_path):
    splits = sensor_files.load(write_uea_csv(tmp_path / "motions.csv", "BasicMotions", "full_train"),
                               write_uea_csv(tmp_path / "motions_test.csv", "BasicMotions", "test"))
    for split in ("full_train", "train", "validation", "test"):
        _same(splits[split], uea.load("BasicMotions", split))
        assert splits[split].channel_names == CHANNELS and splits[split].name == "motions"


@pytest.mark.parametrize("name, channels, lengths", [
    ("BasicMotions", 6, {100}),  # multivariate, equal length
    ("JapaneseVowels", 12, set(range(7, 30))),  # multivariate, unequal length
    ("GunPoint", 1, {150}),  # univariate
])
def test_ts_files_read_as_the_uea_datasets(name, channels, lengths, tmp_path):
    files = [shutil.copy(_sktime_file(name, split), tmp_path) for split in ("TRAIN", "TEST")]
    splits = sensor_files.load(*files, name=name)
    for split in ("full_train", "validation", "test"):
        _same(splits[split], uea.load(name, split))
    assert splits["test"].channel_names == [f"dim_{c}" for c in range(channels)]
    assert {len(s) for s in splits["full_train"].series} <= lengths


def test_a_test_file_needs_the_training_files_channels_and_classes(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text(HEADER + _rows())
    (tmp_path / "swapped.csv").write_text("series,label,y,x\n" + _rows())
    (tmp_path / "other.csv").write_text(HEADER + _rows(classes="ac"))
    with pytest.raises(ValueError, match=r"swapped.csv: channels y, x; expected the training file's, x, y \(the same"):
        sensor_files.load(train, tmp_path / "swapped.csv")
    with pytest.raises(ValueError, match="other.csv: class 'c' is not in the training file; expected classes among "
                                         "a, b"):
        sensor_files.load(train, tmp_path / "other.csv")
    (tmp_path / "fewer.csv").write_text(HEADER + _rows(count=3, classes="b"))  # one class, one series: a fine test
    assert sensor_files.load(train, tmp_path / "fewer.csv")["test"].labels.tolist() == [1, 1, 1]


# --- hostile and careless files ----------------------------------------------------------------------


def _write(name, content):
    """A probe: writes `content` (text, or bytes) as `name` in the test's directory and gives its path."""
    def make(folder):
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
        return path

    return make


def _huge(folder):
    path = folder / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(sensor_files.MAX_FILE_BYTES + 1)  # sparse: no disk spent
    return path


def _directory(folder):
    (folder / "folder.csv").mkdir()
    return folder / "folder.csv"


PROBES = {
    "missing file": (lambda folder: folder / "absent.csv", "absent.csv: no such file; expected a .csv or .ts file"),
    "a directory": (_directory, "folder.csv: a directory; expected a .csv or .ts file"),
    "unknown extension": (_write("data.xlsx", HEADER + _rows()), "unknown extension '.xlsx'; expected a .csv or .ts"),
    "empty file": (_write("empty.csv", "\n \n"), "empty.csv: empty; expected a .csv or .ts file of labelled series"),
    "header only": (_write("header.csv", HEADER), "no rows after the header; expected one row per time step"),
    "no series and label columns": (_write("plain.csv", "id,class,x\n1,a,2\n"),
                                    "no series or label column in the header 'id,class,x'; expected a header row"),
    "no channel column": (_write("bare.csv", "series,label\n1,a\n"), "no channel columns; expected one numeric"),
    "a number missing": (_write("gap.csv", HEADER + _rows() + "s0,a,,1\n"),
                         "gap.csv:32: '' in column 'x' is not a number; expected numbers in every channel column"),
    "not a number": (_write("word.csv", HEADER + "s0,a,1,one\n" + _rows()),
                     "word.csv:2: 'one' in column 'y' is not a number"),
    "NaN": (_write("nan.csv", HEADER + _rows() + "s3,b,nan,1\n"),
            "series 's3', step 4, channel 'x': nan; expected finite numbers"),
    "inf": (_write("inf.csv", HEADER + "s1,b,1,-inf\n" + _rows()), "series 's1', step 1, channel 'y': -inf; expected"),
    "beyond float32": (_write("big.csv", HEADER + "s1,b,1e39,1\n" + _rows()), "within float32's range"),
    "a row of another width": (_write("ragged.csv", HEADER + _rows() + "s1,b,1\n"),
                               "ragged.csv:32: 3 columns; expected 4"),
    "two labels for a series": (_write("relabel.csv", HEADER + _rows() + "s1,a,1,1\n"),
                                "series 's1' labelled 'a', and 'b' before; expected one label per series"),
    "a row without id": (_write("anonymous.csv", HEADER + _rows() + ",a,1,1\n"), "no series; expected a series id"),
    "one class only": (_write("same.csv", HEADER + _rows(classes="a")), "every series is labelled 'a'; expected at "
                                                                         "least 2 classes"),
    "a class of one series": (_write("lonely.csv", HEADER + _rows() + "z,c,1,1\n"),
                              "class 'c' has 1 series; expected at least 2 of each class"),
    "too few series for a stratified split": (_write("few.csv", HEADER + _rows(count=9, classes="abc")),
                                              "9 series are too few for 3 classes"),
    "not UTF-8": (_write("latin1.csv", (HEADER + "s0,caf\xe9,1,1\n").encode("latin-1")),
                  "latin1.csv: byte 0xe9 at offset 23 is not UTF-8; expected a .csv or .ts file of UTF-8 text"),
    "a huge file": (_huge, f"huge.csv: {sensor_files.MAX_FILE_BYTES + 1} bytes; expected at most "),
    "a series too long": (_write("long.csv", HEADER + _rows() + _rows(count=1, steps=3)),
                          "series 's0' has 6 steps; expected at most 5, the model's max_length"),
    ".ts sktime cannot parse": (_write("garbage.ts", "hello, world\n"), "garbage.ts: sktime cannot read it ("),
    ".ts without labels": (_write("unlabelled.ts", TS_HEADER.replace("true a b", "false") + "1,2:3,4\n"),
                           "expected the UEA & UCR archives' .ts format with class labels"),
    ".ts series of other channel counts": (_write("dims.ts", TS_HEADER + _ts_rows() + "1,2,3:b\n"),
                                           "inconsistent number of dimensions"),
    ".ts channels of other lengths": (_write("uneven.ts", TS_HEADER + _ts_rows() + "1,2,3:4,5:a\n"),
                                      "its channels have 2 and 3 steps; expected the same number of steps"),
    ".ts missing value": (_write("missing.ts", TS_HEADER + "1,?,3:4,5,6:a\n" + _ts_rows()),
                          "series #1, step 2, channel 'dim_0': nan; expected finite numbers"),
    ".ts series of no steps": (_write("void.ts", TS_HEADER + _ts_rows() + "::a\n"),
                               "series #11 has no steps; expected at least one"),
}


@pytest.fixture(params=PROBES, ids=list(PROBES))
def probe(request, tmp_path):
    make, expected = PROBES[request.param]
    return make(tmp_path), expected


def test_each_careless_file_is_one_value_error_saying_what_was_expected(probe):
    path, expected = probe
    with pytest.raises(ValueError) as refused:
        sensor_files.load(path, max_length=MAX_LENGTH)
    message = str(refused.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_the_recipe_refuses_each_in_one_line_exit_2_before_writing_anything(probe, tmp_path, capsys):
    path, expected = probe
    with pytest.raises(SystemExit) as refused:
        sensor_classification.main(["--data", str(path), "--max-length", str(MAX_LENGTH), "--smoke",
                                     "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert refused.value.code == 2 and error.count("\n") == 1 and expected in error and "Traceback" not in error
    assert not (tmp_path / "work").exists() and not (tmp_path / "out").exists()


def test_a_bad_test_file_is_refused_by_the_recipe_too(tmp_path, capsys):
    (tmp_path / "train.csv").write_text(HEADER + _rows())
    with pytest.raises(SystemExit) as refused:
        sensor_classification.main(["--data", str(tmp_path / "train.csv"), "--test-data", str(tmp_path / "t.csv"),
                                    "--smoke", "--workdir", str(tmp_path / "work")])
    assert refused.value.code == 2 and "t.csv: no such file; expected a .csv or .ts file" in capsys.readouterr().err


# --- the recipe's flags ----------------------------------------------------------------------------


@pytest.mark.parametrize("flags, expected", [
    (["--data", "a.csv", "--dataset", "BasicMotions"], "argument --dataset: not allowed with argument --data"),
    (["--test-data", "b.csv"], "argument --test-data: goes with --data"),
    (["--data", "a.csv", "--name", "../elsewhere"], "argument --name: expected lowercase letters, digits and _"),
])
def test_flag_mistakes_are_one_line_usage_errors(flags, expected, capsys):
    with pytest.raises(SystemExit) as refused:
        sensor_classification.parse_args(flags)
    error = capsys.readouterr().err
    assert refused.value.code == 2 and error.count("\n") == 1 and expected in error


@pytest.mark.parametrize("flags, name", [
    (["--data", "runs/My Gestures-2024.v2.csv"], "sensor_my_gestures_2024_v2"),
    (["--data", "BasicMotions_TRAIN.ts"], "sensor_basicmotions_train"),
    (["--data", "x.csv", "--name", "gestures"], "gestures"),
    (["--dataset", "BasicMotions"], "sensor_basic_motions"),
])
def test_export_names(flags, name):
    args = sensor_classification.parse_args(flags)
    assert sensor_classification.export_name(args) == name
    assert args.dataset is None if "--data" in flags else args.dataset == "BasicMotions"


def test_an_edited_data_file_trains_afresh(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(HEADER + _rows())
    args = sensor_classification.parse_args(["--data", str(path)])
    before = sensor_classification.data_checksum(args)
    path.write_text(HEADER + _rows(steps=4))
    assert before != sensor_classification.data_checksum(args)  # other run flags: `training.fit` starts afresh
    assert sensor_classification.data_checksum(sensor_classification.parse_args([])) == {}


# --- the card's dataset section and zoo evaluate -----------------------------------------------------


def test_describe_and_load_split_of_a_card(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.ts"
    train.write_text("series,label,dim_0,dim_1\n" + _rows())
    test.write_text(TS_HEADER + _ts_rows(4))
    splits = sensor_files.load(train, test, name="mine")
    card = sensor_files.describe(splits["train"], train, test)
    assert card["files"] == {
        "train": {"path": str(train), "format": "csv", "sha256": hashlib.sha256(train.read_bytes()).hexdigest()},
        "test": {"path": str(test), "format": "ts", "sha256": hashlib.sha256(test.read_bytes()).hexdigest()}}
    assert (card["name"], card["classes"], card["channels"]) == ("mine", ["a", "b"], ["dim_0", "dim_1"])
    assert card["split"].startswith("TRAIN = train.csv, TEST = test.ts; validation = stratified 20% of TRAIN")
    for split in ("train", "validation", "test"):
        _same(sensor_data.load_split(card, split), splits[split])

    train.write_text("series,label,dim_0,dim_1\n" + _rows(steps=2))
    with pytest.raises(ValueError, match="train.csv: sha256 .*; expected .*, the file the model card records"):
        sensor_data.load_split(card, "test")
    untested = sensor_files.describe(splits["train"], train)
    assert "no TEST split (no test file given: the model card has no test_metrics)" in untested["split"]
    with pytest.raises(ValueError, match="mine: no test split .*; expected one of full_train, train, validation"):
        sensor_data.load_split(untested, "test")


# --- end to end ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def csv_smoke(tmp_path_factory):
    """`recipes/sensor_classification.py --data motions.csv --test-data motions_test.csv --smoke`: BasicMotions
    as CSV files."""
    folder = tmp_path_factory.mktemp("csv")
    files = [write_uea_csv(folder / f"motions{suffix}.csv", "BasicMotions", split)
             for suffix, split in (("", "full_train"), ("_test", "test"))]
    return run_smoke(tmp_path_factory, RECIPE, "sensor_motions", ["--data", files[0], "--test-data", files[1]]), files


@pytest.mark.slow
def test_a_csv_trains_exports_and_classifies(csv_smoke):
    smoke, (train_file, test_file) = csv_smoke
    assert "motions: 24 train / 8 validation / 40 test series, input size 6, output size 4" in smoke.proc.stdout
    model = zoo.load(smoke.version_dir)
    card = model.card
    assert card["description"] == "gru sensor classifier for motions (many-to-one)"
    assert card["dataset"]["files"]["train"] == {
        "path": str(train_file), "format": "csv", "sha256": hashlib.sha256(train_file.read_bytes()).hexdigest()}
    assert card["dataset"]["examples"] == {"train": 24, "validation": 8, "test": 40}
    assert card["dataset"]["channels"] == CHANNELS and card["classes"] == card["dataset"]["classes"]
    assert card["hyperparameters"]["data"] == str(train_file) and card["hyperparameters"]["dataset"] is None
    assert card["test_metrics"]["examples"] == 40
    assert set(card["robustness"]["test"]) == set(card["robustness"]["validation"])

    test = uea.load("BasicMotions", "test")
    result = model.classify(test.series)
    assert result.scores.shape == (40, 4) and set(result.labels) <= set(test.class_names)
    predicted = [test.class_names.index(label) for label in result.labels]
    assert np.mean(np.array(predicted) == test.labels) == pytest.approx(card["test_metrics"]["accuracy"])
    assert model.evaluate_split("test") == card["test_metrics"]  # zoo evaluate reads the CSV the card names
    assert [line.split("#")[0] for line in model.demo().splitlines()] == ["  test "] * 5


@pytest.mark.slow
def test_a_ts_file_without_test_data_trains_with_zoo_train_and_says_there_is_no_test(tmp_path):
    data = shutil.copy(_sktime_file("BasicMotions", "TRAIN"), tmp_path)
    proc = run_python([sys.executable, "-m", "zoo", "train", "sensor", "--data", str(data), "--smoke",
                       "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "models")],
                      cwd=REPO, env=subprocess_env(), timeout=400)
    assert proc.returncode == 0, failure_output(proc)
    assert "BasicMotions_TRAIN: 24 train / 8 validation / no test series" in proc.stdout
    model = zoo.load(tmp_path / "models" / "sensor_basicmotions_train")
    card = model.card
    assert card["test_metrics"] is None and card["robustness"]["test"] is None
    assert card["dataset"]["examples"]["test"] == 0 and "no TEST split" in card["dataset"]["split"]
    assert card["dataset"]["files"]["train"]["format"] == "ts" and card["recipe_command"].startswith("zoo train sensor")
    assert card["validation_metrics"]["examples"] == 8
    assert model.classify(uea.load("BasicMotions", "test").series[:3]).scores.shape == (3, 4)
    with pytest.raises(ValueError, match="no test split"):
        model.evaluate_split("test")
    assert model.evaluate_split("validation") == card["validation_metrics"]
    assert [line.split("#")[0] for line in model.demo().splitlines()] == ["  validation "] * 5
