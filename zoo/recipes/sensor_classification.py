"""Trains, evaluates and exports a sensor classifier (many-to-one) on a UEA dataset or your own series.

    python recipes/sensor_classification.py --dataset JapaneseVowels --cell gru --hidden 64 --epochs 200
    python recipes/sensor_classification.py --data my_train.csv --test-data my_test.csv --name sensor_mine

`--data` trains on your own labelled series, a `.csv` or `.ts` file
(`zoo.datasets.sensor_files` documents both): validation is a stratified
20 % of it, as of a UEA dataset's TRAIN, and `--test-data` is the TEST split;
without it the model has no TEST figures (its card's `test_metrics` is null).

Writes TensorBoard logs, `history.csv`, `curves.png` and `confusion_matrix.png`
into the work directory, prints validation and TEST metrics, and exports
`saved_models/<name>/<version>/` with its model card (`sensor_<dataset>`, or
`sensor_<file stem>` with `--data`, unless `--name`). Killed and rerun with
the same flags, it resumes from the last finished epoch.
"""

import argparse
import re
import sys
from pathlib import Path

import keras
import numpy as np

from zoo import cards, distribute, plots, training
from zoo.datasets import sensor_files, uea
from zoo.hyperparameters import at_least
from zoo.sensor import SensorClassifier, data, evaluation, perturbations
from zoo.sensor.config import CENTRINGS, SensorConfig

RUN_LOCATION_FLAGS = (*training.RUN_LOCATION_FLAGS, "name")


def model_name(dataset):
    return "sensor_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", dataset).lower()


def channel_statistics(series):
    """Per-channel mean and std over every time step of every training series."""
    steps = np.concatenate(series, axis=0)
    return steps.mean(axis=0), np.maximum(steps.std(axis=0), 1e-6)


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], SensorConfig)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path,
                        help="your own labelled series instead of --dataset: a .csv file (a header naming the columns "
                             "series, label and the channels; one row per time step) or a .ts file; validation is "
                             "a stratified 20%% of it")
    parser.add_argument("--test-data", type=Path,
                        help="with --data: the TEST series, a .csv or .ts file with the same channels (without it: "
                             "no TEST split, the card's test_metrics null)")
    parser.add_argument("--name", type=model_name_argument,
                        help="the exported model's name (default sensor_<dataset>, or sensor_<--data's file stem>)")
    source.add_argument("--dataset", default="JapaneseVowels",
                        help="UEA/UCR dataset name (BasicMotions, JapaneseVowels, GunPoint, PLAID, ACSF1, "
                             "ItalyPowerDemand, ArrowHead and OSULeaf ship with sktime; the others are downloaded "
                             "where the network allows)")
    parser.add_argument("--centring", choices=(*CENTRINGS, "auto"), default="none",
                        help="series: each channel minus its mean over the series, in the graph (blind to offsets); "
                             "standardise: also divided by its spread over the series, the log of which is fed "
                             "beside it (amplitudes spanning decades); auto: a run with each, the best on "
                             "validation (clean and perturbed) exported")
    parser.add_argument("--resample", type=at_least(0.0, float), default=0.0,
                        help="while training: each series resampled by a factor between 1/(1+this) and 1+this")
    args = parser.parse_args(argv)
    if args.test_data is not None and args.data is None:
        parser.error("argument --test-data: goes with --data (a UEA/UCR dataset has its own TEST split)")
    if args.dataset not in known_datasets():
        parser.error(f"argument --dataset: unknown UEA/UCR dataset {args.dataset!r}; "
                     f"expected one of {', '.join(known_datasets())}")
    if args.data is not None:
        args.dataset = None  # the model is trained on --data, whatever --dataset's default
    return args


def known_datasets():
    """The UEA (multivariate) and UCR (univariate) archives' datasets, as sktime names them."""
    from sktime.datasets.tsc_dataset_names import multivariate, univariate

    return sorted({*multivariate, *univariate}, key=str.lower)


def model_name_argument(text):
    """An argparse type: a model name, of lowercase letters, digits and `_` (a directory name anywhere)."""
    if not re.fullmatch(r"[a-z0-9_]+", text):
        raise argparse.ArgumentTypeError(f"expected lowercase letters, digits and _, got {text!r}")
    return text


def export_name(args):
    """The exported model's name: `--name`, else `sensor_<dataset>`, or `sensor_<--data's file stem>` in [a-z0-9_]."""
    if args.name:
        return args.name
    if args.data is None:
        return model_name(args.dataset)
    return "sensor_" + ("_".join(re.findall(r"[a-z0-9]+", args.data.stem.lower())) or "series")


def load_data(args):
    """The train, validation and test splits (test None for `--data` without `--test-data`; a few training series
    with `--smoke`, which also shrinks the run)."""
    train, validation, test = user_splits(args) if args.data else archive_splits(args)
    if args.smoke:
        train.series, train.labels = train.series[:24], train.labels[:24]
        args.epochs, args.hidden, args.patience, args.lr_patience = 2, 8, 2, 1
    check_max_length(args, [validation, test])
    print(f"{train.name}: {len(train)} train / {len(validation)} validation / "
          f"{len(test) if test is not None else 'no'} test series, "
          f"input size {train.num_channels}, output size {len(train.class_names)}")
    return train, validation, test


def check_max_length(args, splits):
    """Refuses, before any training, a `--max-length` the robustness report would exceed: it resamples every
    validation and test series up to `perturbations.MAX_RESAMPLING` times longer."""
    longest = max(len(series) for split in splits if split is not None for series in split.series)
    needed = round(longest * perturbations.MAX_RESAMPLING)
    if needed > args.max_length:
        usage_error(f"argument --max-length: {args.max_length}; the longest validation or test series has {longest} "
                    f"steps and the robustness report resamples it to {needed}: expected at least {needed}")


def usage_error(message):
    """Ends the run as argparse ends a usage mistake: one line on stderr, exit 2."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def archive_splits(args):
    """`--dataset`'s train, validation and test splits."""
    try:
        return tuple(uea.load(args.dataset, s) for s in ("train", "validation", "test"))
    except (OSError, RuntimeError) as error:  # sktime's download failed: no network, or no such file there
        first_line = str(error).partition("\n")[0]
        raise SystemExit(f"--dataset {args.dataset}: not on this machine, and downloading it failed "
                         f"({type(error).__name__}: {first_line})") from None


def user_splits(args):
    """`--data`'s train and validation splits and `--test-data`'s test split (None without it). A file that
    cannot be used ends the run as a usage mistake does: one line saying what was expected, exit 2."""
    try:
        splits = sensor_files.load(args.data, args.test_data, args.max_length, args.name)
    except ValueError as error:
        usage_error(str(error))
    return splits["train"], splits["validation"], splits.get("test")


def data_checksum(args):
    """What a run record adds to the flags with `--data`: the file's sha256, so that a run on an edited file
    trains afresh instead of resuming (or reusing weights trained) on the old one."""
    return {"data_sha256": sensor_files.file_sha256(args.data)} if args.data else {}


def build_model(args, train, strategy):
    """A compiled `SensorClassifier` in `strategy`'s scope, normalising with the training data's statistics."""
    mean, std = channel_statistics(train.series)
    if args.centring == "series":  # the model sees each series minus its own mean: so are the statistics
        mean, std = channel_statistics([s - s.mean(axis=0) for s in train.series])
    with strategy.scope():
        model = SensorClassifier(train.num_channels, train.class_names, mean, std,
                                 **SensorConfig.from_flags(args, centring=args.centring).as_dict())
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    return model


def evaluate(model, splits, workdir, name):
    """`{split: SensorEvaluation}` of the validation and test splits, printed; the curves and the confusion matrix
    of the last split (test, where there is one) plotted into `workdir`."""
    results = {}
    for split in splits:
        results[split.split] = evaluation.evaluate(model, split)
        results[f"{split.split}_robustness"] = perturbations.robustness(model, split)
        print(f"{split.split}: {results[split.split]}; under perturbations: "
              + ", ".join(f"{k} {v:.4f}" for k, v in results[f"{split.split}_robustness"].items()))
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    shown = splits[-1].split
    plots.plot_confusion_matrix(results[shown]["confusion_matrix"], model.class_names,
                                workdir / "confusion_matrix.png", title=f"{name} {shown.upper()}")
    return results


def model_card(args, splits, results, flags, fit_seconds):
    """The exported model card."""
    train, validation, test = splits
    if args.data is None:
        dataset, trained_on = uea.describe(args.dataset), f"UEA {args.dataset}"
    else:
        dataset = sensor_files.describe(train, args.data, args.test_data)
        trained_on = dataset["name"]
    return cards.RecipeCard(
        description=f"{args.cell} sensor classifier for {trained_on} (many-to-one)",
        dataset={**dataset, "examples": {
            "train": len(train), "validation": len(validation), "test": len(test) if test is not None else 0}},
        input=f"raw series float32 (batch, time, {train.num_channels}), time 1..{args.max_length}",
        test_metrics=results.get("test"),
        validation_metrics=results["validation"],
        hyperparameters=flags,
        training_seconds=fit_seconds,
        data_license=dataset["license"],
        extra={"classes": train.class_names, "robustness": {
            "test": results.get("test_robustness"), "validation": results["validation_robustness"],
            "perturbations": "zoo.sensor.perturbations.STANDARD (std: each channel's over the training data)"}},
    ).to_dict()


def train_one(args, train, validation, workdir, strategy):
    """`(model, flags, fit seconds)` of one training run in `workdir`."""
    training.seed_everything(args.seed)
    model = build_model(args, train, strategy)
    flags = training.run_flags(args, RUN_LOCATION_FLAGS)
    fit_seconds = training.fit(
        model, workdir, {**flags, **data_checksum(args)},
        data.as_dataset(train, distribute.global_batch_size(args.batch_size, strategy), shuffle=True, seed=args.seed,
                        resample=args.resample),
        data.as_dataset(validation, args.batch_size),
        args.epochs, args.patience, args.lr_patience,
    )
    return model, flags, fit_seconds


def choose_centring(args, train, validation, workdir, strategy):
    """`--centring auto`: a run with each centring (in `workdir/centring-<c>/`); the one whose mean validation
    accuracy, clean and under every perturbation, is highest. Returns its run, `{centring: that mean}` and its
    work directory."""
    runs, search = {}, {}
    for centring in CENTRINGS:
        runs[centring] = train_one(argparse.Namespace(**{**vars(args), "centring": centring}), train, validation,
                                   workdir / f"centring-{centring}", strategy)
        search[centring] = float(np.mean(list(perturbations.robustness(runs[centring][0], validation).values())))
        print(f"centring {centring}: mean validation accuracy, clean and perturbed, {search[centring]:.4f}")
    args.centring = max(search, key=search.get)  # ties: the first, no centring
    return runs[args.centring], search, workdir / f"centring-{args.centring}"


def main(argv=None):
    args = parse_args(argv)
    strategy = distribute.strategy_for(args.distribute)
    name = export_name(args)
    workdir = training.workdir_for(args, name)
    train, validation, test = load_data(args)
    search = None
    if args.centring == "auto":
        (model, flags, fit_seconds), search, workdir = choose_centring(args, train, validation, workdir, strategy)
    else:
        model, flags, fit_seconds = train_one(args, train, validation, workdir, strategy)
    if not distribute.is_chief(strategy):
        return None  # the chief evaluates and exports

    results = evaluate(model, [s for s in (validation, test) if s is not None], workdir, name)
    card = model_card(args, (train, validation, test), results, flags, fit_seconds)
    if search:
        card["centring_search"] = {"chosen": args.centring, "mean_validation_accuracy": search}
    path = model.export_serving(args.out / name, version=args.version, card=card)
    print(f"exported {path}")
    return path


if __name__ == "__main__":
    main()
