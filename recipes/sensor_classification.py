"""Trains, evaluates and exports a sensor classifier (many-to-one) on a UEA dataset.

    python recipes/sensor_classification.py --dataset JapaneseVowels --cell gru --hidden 64 --epochs 200

Writes TensorBoard logs, `history.csv`, `curves.png` and `confusion_matrix.png`
into the work directory, prints validation and TEST metrics, and exports
`saved_models/sensor_<dataset>/<version>/` with its model card. Killed and
rerun with the same flags, it resumes from the last finished epoch.
"""

import re

import keras
import numpy as np

from zoo import distribute, plots, training
from zoo.datasets import uea
from zoo.sensor import SensorClassifier
from zoo.sensor.metrics import classification_metrics
from zoo.sensor.model import ENCODERS, READOUTS

RUN_LOCATION_FLAGS = training.RUN_LOCATION_FLAGS


def model_name(dataset):
    return "sensor_" + re.sub(r"(?<!^)(?=[A-Z])", "_", dataset).lower()


def channel_statistics(series):
    """Per-channel mean and std over every time step of every training series."""
    steps = np.concatenate(series, axis=0)
    return steps.mean(axis=0), np.maximum(steps.std(axis=0), 1e-6)


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], cells=ENCODERS)
    parser.add_argument("--dataset", default="JapaneseVowels", help="UEA multivariate dataset name")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout before the output layer W_hy")
    parser.add_argument("--noise", type=float, default=0.1, help="Gaussian input noise while training (std)")
    parser.add_argument("--input-dropout", type=float, default=0.0,
                        help="fraction of input channels dropped per series while training")
    parser.add_argument("--readout", choices=READOUTS, default="last",
                        help="classify from the last hidden state or from mean+max over all states")
    parser.add_argument("--max-length", type=int, default=1000, help="longest series the model accepts")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    strategy = distribute.strategy_for(args.distribute)
    name = model_name(args.dataset)
    workdir = args.workdir or training.REPO / "runs" / name
    training.seed_everything(args.seed)

    train, validation, test = (uea.load(args.dataset, s) for s in ("train", "validation", "test"))
    if args.smoke:
        train.series, train.labels = train.series[:24], train.labels[:24]
        args.epochs, args.hidden, args.patience, args.lr_patience = 2, 8, 2, 1
    mean, std = channel_statistics(train.series)
    print(f"{args.dataset}: {len(train)} train / {len(validation)} validation / {len(test)} test series, "
          f"input size {train.num_channels}, output size {len(train.class_names)}")

    with strategy.scope():
        model = SensorClassifier(
            num_channels=train.num_channels,
            class_names=train.class_names,
            channel_mean=mean,
            channel_std=std,
            cell=args.cell,
            hidden=args.hidden,
            bidirectional=args.bidirectional,
            num_layers=args.layers,
            dropout=args.dropout,
            noise=args.noise,
            input_dropout=args.input_dropout,
            recurrent_initializer=args.initializer,
            readout=args.readout,
            max_length=args.max_length,
        )
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    flags = training.run_flags(args, RUN_LOCATION_FLAGS)
    fit_seconds = training.fit(
        model, workdir, flags,
        uea.as_dataset(train, distribute.global_batch_size(args.batch_size, strategy), shuffle=True, seed=args.seed),
        uea.as_dataset(validation, args.batch_size),
        args.epochs, args.patience, args.lr_patience,
    )
    if not distribute.is_chief(strategy):
        return None  # the chief evaluates and exports

    results = {}
    for split in (validation, test):
        predicted = np.argmax(model.classify(split.series).scores, axis=1)
        results[split.split] = classification_metrics(split.labels, predicted, split.class_names)
        print(f"{split.split}: accuracy {results[split.split]['accuracy']:.4f} "
              f"({results[split.split]['errors']} errors of {len(split)})")
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    plots.plot_confusion_matrix(results["test"]["confusion_matrix"], test.class_names,
                                workdir / "confusion_matrix.png", title=f"{name} TEST")

    card = {
        "description": f"{args.cell} sensor classifier for UEA {args.dataset} (many-to-one)",
        "dataset": {**uea.describe(args.dataset), "examples": {
            "train": len(train), "validation": len(validation), "test": len(test)}},
        "input": f"raw series float32 (batch, time, {train.num_channels}), time 1..{args.max_length}",
        "classes": train.class_names,
        "test_metrics": results["test"],
        "validation_metrics": results["validation"],
        "hyperparameters": flags,
        "training_seconds": round(fit_seconds, 1),
        "recipe_command": training.recipe_command(),
        "license": "Apache-2.0 (weights); data: " + uea.LICENSE,
    }
    path = model.export(args.out / name, version=args.version, card=card)
    print(f"exported {path}")
    return path


if __name__ == "__main__":
    main()
