"""What every recipe shares: flags for the seed's hyperparameters, seeding, callbacks, provenance."""

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from zoo import distribute
from zoo.layers import CELLS

EPOCHS_DIR = "epochs"

# the flags `recipe_parser` adds that say where a run writes and what it runs on, not what it trains
RUN_LOCATION_FLAGS = ("workdir", "out", "version", "smoke", "distribute")


def choice_list(choices):
    """An argparse `type`: comma-separated values, each one of `choices`, as a list.

    >>> choice_list(("elman", "gru", "lstm"))("gru, lstm")
    ['gru', 'lstm']
    """
    def parse(text):
        values = [v.strip() for v in text.split(",") if v.strip()]
        unknown = sorted(set(values) - set(choices))
        if not values or unknown:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(choices)}; got {text!r}")
        return values

    return parse


def at_least(minimum, kind=int):
    """An argparse type: a finite number of `kind` not below `minimum`, or a usage error that says so.

    >>> at_least(1)("3"), at_least(0.0, float)("0")
    (3, 0.0)
    >>> at_least(1)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected a whole number of at least 1, got '0'
    """
    what = "a whole number" if kind is int else "a finite number"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what} of at least {minimum:g}, got {text!r}")
        return value

    return parse


def recipe_parser(description, cells=CELLS):
    """An argparse parser with the flags every recipe has."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--cell", choices=cells, default="gru", help="recurrent cell")
    parser.add_argument("--hidden", type=at_least(1), default=64, help="hidden state size (per direction)")
    parser.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=False,
                        help="read sequences both ways")
    parser.add_argument("--layers", type=at_least(1), default=1, help="stacked recurrent layers")
    parser.add_argument("--initializer", default="orthogonal", help="initialiser of the recurrent weights W_hh")
    parser.add_argument("--learning-rate", type=at_least(0.0, float), default=3e-3, help="Adam learning rate")
    parser.add_argument("--epochs", type=at_least(1), default=100, help="maximum epochs")
    parser.add_argument("--batch-size", type=at_least(1), default=32,
                        help="training examples per step on each replica (device or worker); a step trains on "
                             "this x the replicas")
    parser.add_argument("--patience", type=at_least(1), default=30, help="early-stopping patience (epochs)")
    parser.add_argument("--lr-patience", type=at_least(1), default=20,
                        help="halve the learning rate after this many epochs without validation progress")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling and noise")
    parser.add_argument("--workdir", type=Path, help="checkpoints, TensorBoard logs and plots (default runs/NAME)")
    parser.add_argument("--out", type=Path, default=Path("saved_models"), help="where model versions are exported")
    parser.add_argument("--version", type=at_least(1), help="version to export (default: next free)")
    parser.add_argument("--smoke", action="store_true", help="a seconds-long end-to-end run on a slice of the data")
    parser.add_argument("--distribute", choices=distribute.STRATEGIES, default="none",
                        help="none: one device; mirrored: every local GPU; multi_worker: the cluster in $TF_CONFIG, "
                             "one process per worker running this same command (the chief, worker 0, writes)")
    return parser


def workdir_for(args, name):
    """The run's work directory (`--workdir`, else `default_workdir(name)`), after refusing a `--version` of
    `name` that `--out` already holds: versions are immutable, and finding out after hours of training is late."""
    if args.version is not None and (Path(args.out) / name / str(args.version)).exists():
        raise SystemExit(f"{Path(args.out) / name / str(args.version)} already exists: versions are immutable; "
                         "pick another --version, or leave it out for the next free one")
    return args.workdir or default_workdir(name)


def pretrained(reference):
    """The published model an `--init-from` or `--teacher` names: `name` (its newest version), `name==version`
    or a version directory."""
    import zoo

    name, _, version = reference.partition("==")
    if version and not version.isdigit():
        raise SystemExit(f"{reference}: expected NAME, NAME==VERSION (a whole number) or a directory")
    return zoo.load(name, version=int(version)) if version else zoo.load(name)


def default_workdir(name):
    """Where a run of model `name` keeps its checkpoints and logs unless `--workdir` says: `runs/<name>`, under
    the current directory (as `--out`'s `saved_models/`)."""
    return Path("runs") / name


def recipe_command():
    """The exact command that ran this recipe, for the model card: `zoo train TASK ...`, or `python SCRIPT ...`
    with the script's path relative to the current directory."""
    script = Path(sys.argv[0]).resolve()
    if sys.argv[1:2] == ["train"] and script.name in ("zoo", "__main__.py"):
        return shlex.join(["zoo", *sys.argv[1:]])
    shown = script.relative_to(Path.cwd()) if script.is_relative_to(Path.cwd()) else script.name
    return shlex.join(["python", str(shown), *sys.argv[1:]])


def machine():
    """Where a run trains, for the model card: CPU count (cores this process may use) and GPUs."""
    gpus = tf.config.list_physical_devices("GPU")
    return (f"{len(os.sched_getaffinity(0))} CPU cores ({platform.machine()}), "
            + (f"{len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus else "no GPU"))


def seed_everything(seed):
    """Same seed, same weights and the same result on the same machine."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def standard_callbacks(workdir, patience, lr_patience, monitor="val_loss"):
    """Resume after a kill, halve the learning rate on plateaus (unless `lr_patience` is None: a schedule sets
    it), stop early on validation, log to TensorBoard and CSV."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "backup").exists():  # a fresh run, not a resumed one: start a new log
        (workdir / "history.csv").unlink(missing_ok=True)
    plateau = [] if lr_patience is None else [
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=lr_patience, min_lr=1e-5)]
    return [
        # a kill while the backup is written leaves it unreadable: keep the one before to resume from
        keras.callbacks.BackupAndRestore(str(workdir / "backup"), double_checkpoint=True),
        *plateau,
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(str(workdir / "logs")),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
    ]


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels smoothed by `smoothing` (Szegedy et al., 2016).

    The target is `1 - smoothing` on the label and `smoothing` spread evenly
    over all classes, so the model is never pushed to infinite confidence.

    >>> import numpy as np
    >>> logits = np.log(np.array([[0.7, 0.2, 0.1]], "float32"))
    >>> round(float(SmoothedCrossentropy(0.0)(np.array([0]), logits)), 4)  # plain cross-entropy: -log 0.7
    0.3567
    """

    def __init__(self, smoothing=0.1, name="smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = float(smoothing)

    def call(self, y_true, y_pred):
        log_probs = tf.nn.log_softmax(y_pred)
        labelled = -tf.gather(log_probs, tf.cast(y_true, tf.int32), batch_dims=len(y_pred.shape) - 1)
        return (1.0 - self.smoothing) * labelled - self.smoothing * tf.reduce_mean(log_probs, axis=-1)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def warmup_cosine(learning_rate, total_steps, warmup_steps):
    """The learning rate rises linearly to `learning_rate` over `warmup_steps`, then falls along a cosine to
    a hundredth of it at `total_steps`: a schedule that ends with the training budget."""
    return keras.optimizers.schedules.CosineDecay(
        learning_rate / 100, decay_steps=max(total_steps - warmup_steps, 1), alpha=0.01,
        warmup_target=learning_rate, warmup_steps=warmup_steps)


def compile_word_generator(model, learning_rate, label_smoothing=0.0):
    """Compiles a model that writes words (translator, captioner): Adam with gradients clipped to norm 5
    (backpropagation through time can explode them), cross-entropy on its logits (smoothed when
    `label_smoothing` > 0), and accuracy weighted by the batches' padding weights. `learning_rate` may be a
    schedule (`warmup_cosine`)."""
    loss = (SmoothedCrossentropy(label_smoothing) if label_smoothing
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=loss,
                  weighted_metrics=["accuracy"])


def averaged_weights(model, files):
    """Sets `model`'s weights to the mean of the weight files `files` (checkpoint averaging: the mean of the
    last epochs' weights generalises better than any one of them)."""
    total = None
    for path in files:
        model.load_weights(path)
        weights = model.get_weights()
        total = weights if total is None else [t + w for t, w in zip(total, weights)]
    model.set_weights([t / len(files) for t in total])
    return model


def run_flags(args, run_location_flags):
    """The flags that decide what a run trains (not where it writes), JSON-ready for the model card."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in run_location_flags}


def fit(model, workdir, flags, train, validation, epochs, patience, lr_patience, keep_epochs=0, budget=None,
        steps_per_epoch=None):
    """Trains `model` in `workdir` and returns the training time in seconds
    (the epochs' wall clock, summed over resumptions).

    With a `budget` (`TimeBudget`), training stops when its minutes are
    spent, however many epochs that is, and the budget sets the learning rate.

    With `steps_per_epoch`, an epoch is that many batches of a repeated
    `train` (checkpoints and validation more often than once per pass).

    With `keep_epochs`, the weights of the last that many epochs stay in
    `workdir/epochs/` (`epoch_weights` lists them, for `averaged_weights`).

    Killed during training, a rerun with the same `flags` resumes from the
    last finished epoch. Training over, the weights are kept in `workdir`:
    a rerun with the same flags after a failure or kill in evaluation or
    export goes straight back to them instead of training again. A run with
    other flags (or another number of replicas) starts afresh.

    A model built in a `tf.distribute` strategy's scope trains on its
    replicas, the datasets split between them by their batches. On a
    multi-worker cluster the chief keeps `workdir` as above; the other
    workers train from the chief's run record, trained weights and backup
    (shared storage across machines) and write their own into a temporary
    directory, so a killed worker is resumed from the chief's last epoch.
    """
    strategy = model.distribute_strategy
    workdir = Path(workdir)
    record, weights = workdir / "run.json", workdir / "trained.weights.h5"
    run = _run_record(workdir, {**flags, "replicas": strategy.num_replicas_in_sync}, strategy)
    if run.get("trained") and weights.exists():
        model.build_for_inference()
        model.load_weights(weights)
        print(f"reusing the weights trained with the same flags in {workdir}")
    else:
        with distribute.write_dir(workdir, strategy) as own:
            if own != workdir and (workdir / "backup").exists():
                shutil.copytree(workdir / "backup", own / "backup")
            model.fit(distribute.shard_by_data(train, strategy),
                      validation_data=distribute.shard_by_data(validation, strategy),
                      epochs=epochs, steps_per_epoch=steps_per_epoch,
                      shuffle=False,  # the datasets reshuffle themselves each epoch
                      callbacks=[*standard_callbacks(own, patience, lr_patience),
                                 _EpochClock(own / record.name, run),
                                 *([_EpochWeights(own / EPOCHS_DIR, keep_epochs)] if keep_epochs else []),
                                 *([budget.started(sum(run["epoch_seconds"].values()))] if budget else [])],
                      verbose=2)
            partial = own / "partial-trained.weights.h5"
            model.save_weights(partial)
            partial.replace(own / weights.name)
            run["trained"] = True
            write_record(own / record.name, run)
    distribute.leave_together(strategy)
    return sum(run["epoch_seconds"].values())


def write_record(path, record):
    """Writes a JSON record whole or not at all: a run killed while writing it must still resume."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2))
    partial.replace(path)


def _run_record(workdir, flags, strategy):
    """The run record of `workdir` (`run.json`): the chief starts it afresh, removing the stale backup,
    weights and kept epochs, unless it was written for the same flags; every worker then reads it."""
    record = workdir / "run.json"
    if distribute.is_chief(strategy):
        workdir.mkdir(parents=True, exist_ok=True)
        run = json.loads(record.read_text()) if record.exists() else {}
        if run.get("flags") != flags:
            for stale in (workdir / "backup", workdir / "trained.weights.h5", workdir / EPOCHS_DIR):
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
            write_record(record, {"flags": flags, "epoch_seconds": {}})
    distribute.barrier(strategy, "run-record")  # the other workers read it once the chief has it ready
    if not record.exists():
        raise FileNotFoundError(f"{record}: the chief's run record is not here; the workers of a cluster need "
                                "one --workdir they all share")
    return json.loads(record.read_text())


def epoch_weights(workdir):
    """The kept epochs' weight files of a run (`fit(keep_epochs=...)`), oldest first."""
    return sorted((Path(workdir) / EPOCHS_DIR).glob("*.weights.h5"))


class TimeBudget(keras.callbacks.Callback):
    """Trains for a number of minutes, the learning rate following the clock: it rises linearly to
    `learning_rate` over `warmup_steps`, then falls along a cosine to a hundredth of it as the minutes run out.

    Two models given the same budget on the same machine get the same
    training, whatever their speed per epoch (`bench/translation.py`).
    """

    def __init__(self, minutes, learning_rate, warmup_steps):
        super().__init__()
        self.seconds, self.peak, self.warmup_steps = minutes * 60.0, learning_rate, warmup_steps
        self.spent = 0.0

    def started(self, spent):
        """This budget, `spent` seconds of it used by the epochs before a resumption."""
        self.spent = spent
        return self

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.spent += time.perf_counter() - self.epoch_started

    def on_train_batch_begin(self, batch, logs=None):
        fraction = min((self.spent + time.perf_counter() - self.epoch_started) / self.seconds, 1.0)
        warmup = min(1.0, (int(self.model.optimizer.iterations.numpy()) + 1) / max(self.warmup_steps, 1))
        cosine = 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * fraction))
        self.model.optimizer.learning_rate.assign(self.peak * warmup * cosine)
        if fraction >= 1.0:
            self.model.stop_training = True


class _EpochWeights(keras.callbacks.Callback):
    """Saves each finished epoch's weights as `NNNN.weights.h5` (atomically), keeping the last `keep`."""

    def __init__(self, directory, keep):
        super().__init__()
        self.directory, self.keep = Path(directory), keep

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / "partial.weights.h5"
        self.model.save_weights(partial)
        partial.replace(self.directory / f"{epoch:04d}.weights.h5")
        for old in epoch_weights(self.directory.parent)[:-self.keep]:
            old.unlink()


class _EpochClock(keras.callbacks.Callback):
    """Writes each finished epoch's wall clock into the run record, so training time survives resumption."""

    def __init__(self, record, run):
        super().__init__()
        self.record, self.run = record, run

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.run["epoch_seconds"][str(epoch)] = time.perf_counter() - self.started
        write_record(self.record, self.run)
