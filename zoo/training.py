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
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import distribute, registry
from zoo.hyperparameters import at_least, plain_number

EPOCHS_DIR = "epochs"
BACKUP_DIR = "backup"  # the state of the last finished epochs, to resume from: `NNNN.weights.h5`, the newest two
DEFAULT_OUT = Path("saved_models")
HISTORY = "history.csv"
RUN_RECORD = "run.json"
TRAINED = "trained.weights.h5"  # a finished run's weights, which a rerun with the same flags reuses

# the flags `recipe_parser` adds that say where a run writes and what it runs on, not what it trains
RUN_LOCATION_FLAGS = ("workdir", "out", "version", "smoke", "distribute")


class _OneLineErrors(argparse.ArgumentParser):
    """An argparse parser whose usage mistakes are one line on stderr, exit 2, instead of the whole usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


def recipe_parser(description, hyperparameters):
    """An argparse parser with the flags every recipe has and one per field of the model's `hyperparameters`
    (a `zoo.hyperparameters.Hyperparameters` class: its defaults are the flags'); a usage mistake is one line
    on stderr, exit 2."""
    parser = _OneLineErrors(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    hyperparameters.add_flags(parser)
    parser.add_argument("--learning-rate", type=at_least(0.0, float), default=3e-3, help="Adam learning rate")
    parser.add_argument("--epochs", type=at_least(1), default=100, help="maximum epochs")
    parser.add_argument("--batch-size", type=at_least(1), default=32,
                        help="training examples per step on each replica (device or worker); a step trains on "
                             "this x the replicas")
    parser.add_argument("--patience", type=at_least(1), default=30, help="early-stopping patience (epochs)")
    parser.add_argument("--lr-patience", type=at_least(1), default=20,
                        help="halve the learning rate after this many epochs without validation progress")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling and noise")
    parser.add_argument("--workdir", type=Path, help="checkpoints, TensorBoard logs and plots "
                                                     "(default runs/NAME; runs/NAME_smoke with --smoke)")
    parser.add_argument("--out", type=Path,
                        help=f"where model versions are exported (default {DEFAULT_OUT}; with --smoke, "
                             f"{DEFAULT_OUT} inside the work directory)")
    parser.add_argument("--version", type=at_least(1), help="version to export (default: next free)")
    parser.add_argument("--smoke", action="store_true",
                        help="a seconds-long end-to-end run on a slice of the data, kept apart from real runs so "
                             f"that it shadows no published model: into runs/NAME_smoke and {DEFAULT_OUT}/ inside "
                             f"it (--out {DEFAULT_OUT} is refused)")
    parser.add_argument("--distribute", choices=distribute.STRATEGIES, default="none",
                        help="none: one device; mirrored: every local GPU; multi_worker: the cluster in $TF_CONFIG, "
                             "one process per worker running this same command (the chief, worker 0, writes)")
    return parser


def workdir_for(args, name):
    """The run's work directory (`--workdir`, else `default_workdir(name)`, `name_smoke` for a `--smoke` run), after
    settling where the run exports (`args.out`, by default `saved_models`; a smoke run's in its work directory) and
    refusing, before any training, what would overwrite or shadow a published model: a `--version` of `name` that
    `--out` already holds (versions are immutable, and finding out after hours of training is late), or a smoke
    run into `saved_models/`."""
    workdir = args.workdir or default_workdir(f"{name}_smoke" if args.smoke else name)
    if args.out is None:
        args.out = workdir / DEFAULT_OUT if args.smoke else DEFAULT_OUT
    elif args.smoke and _published(args.out):
        raise SystemExit(f"--smoke --out {args.out}: a smoke model would shadow the published {name}; "
                         "leave --out out (it goes into the work directory) or name another directory")
    if args.version is not None and (Path(args.out) / name / str(args.version)).exists():
        raise SystemExit(f"{Path(args.out) / name / str(args.version)} already exists: versions are immutable; "
                         "pick another --version, or leave it out for the next free one")
    return workdir


def _published(out):
    """Whether `out` is where published models live: `saved_models/` here, or the checkout's."""
    return Path(out).resolve() in {DEFAULT_OUT.resolve(), *([registry.CHECKOUT.resolve()] if registry.CHECKOUT else [])}


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


def standard_callbacks(workdir, patience, lr_patience, monitor="val_loss", before_backup=()):
    """Halve the learning rate on plateaus (unless `lr_patience` is None: a schedule sets it), stop early on
    validation, log to TensorBoard and `history.csv`, then, once `before_backup` (callbacks whose record of the
    epoch a resumed run needs) have done their part, back the epoch up (`resume` trains on from it)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    plateau = [] if lr_patience is None else [
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=lr_patience, min_lr=1e-5)]
    stopping = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)
    return [
        *plateau,
        stopping,
        keras.callbacks.TensorBoard(str(workdir / "logs")),
        keras.callbacks.CSVLogger(str(workdir / HISTORY), append=True),
        *before_backup,
        # last: killed before it, the rerun trains the epoch and logs it again
        _Backup(workdir / BACKUP_DIR, counting=[*plateau, stopping]),
    ]


def resume(model, workdir):
    """The epoch a run in `workdir` trains on from (`model.fit(initial_epoch=...)`): the one after its newest
    readable backup, loaded into `model` with its optimizer state, or 0 (a fresh run). `history.csv` is cut back
    to the epochs before it, so that a resumed run logs each epoch once.

    A backup that cannot be read (a disk that lost it, or a kill while an
    older zoo wrote it in place) is set aside as `*.unreadable` with a
    warning on stderr, and the one before is taken; with none left, the
    model keeps its initial weights and training starts over.
    """
    epoch = _load_newest_backup(model, Path(workdir) / BACKUP_DIR)
    _keep_history_before(Path(workdir) / HISTORY, epoch)
    return epoch


def _load_newest_backup(model, directory):
    """Loads the newest readable backup in `directory` into `model`; returns the epoch after it, or 0."""
    _adopt_keras_backups(directory)
    backups = _numbered(directory)
    if not backups:
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
    state = [*model.variables, *(model.optimizer.variables if model.optimizer is not None else [])]
    initial = [variable.numpy() for variable in state]
    for path in reversed(backups):
        try:
            model.load_weights(path)
            return int(path.name.split(".")[0]) + 1
        except Exception as error:  # h5py and Keras raise OSError, KeyError, ValueError... for a damaged file
            aside = path.replace(path.with_name(path.name + ".unreadable"))
            print(f"warning: the backup {path} is unreadable ({type(error).__name__}); set aside as {aside.name}",
                  file=sys.stderr)
    for variable, value in zip(state, initial):  # a failed load may have set some of them
        variable.assign(value)
    print(f"warning: no readable backup in {directory}: training starts over", file=sys.stderr)
    return 0


def _numbered(directory):
    """The weight files of epochs in `directory` (`NNNN.weights.h5`, NNNN the epoch they end), oldest first."""
    return sorted(Path(directory).glob("[0-9][0-9][0-9][0-9].weights.h5"))


def _adopt_keras_backups(directory):
    """Renames the backups of Keras' `BackupAndRestore` (which runs started by older zoos wrote: weights
    `latest.weights.h5` and the next epoch in `training_metadata.json`, the ones before as `*.bkp`) into
    `_Backup`'s names, so that those runs resume too."""
    for suffix in (".bkp", ""):
        weights, metadata = directory / f"latest.weights.h5{suffix}", directory / f"training_metadata.json{suffix}"
        try:
            epoch = int(json.loads(metadata.read_text())["epoch"]) - 1
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if weights.exists() and epoch >= 0:
            weights.replace(directory / f"{epoch:04d}.weights.h5")
        metadata.unlink()


def _keep_history_before(path, epoch):
    """Keeps the rows of the epochs before `epoch` in the CSV log `path`, Keras' `CSVLogger`'s (epoch first);
    with none, removes it (the logger starts it afresh)."""
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # a row a kill cut short
    kept = [line for line in lines[1:] if int(line.split(",", 1)[0]) < epoch]
    if not kept:
        path.unlink(missing_ok=True)
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join([lines[0], *kept]))
    partial.replace(path)


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

    Killed at any moment of training (SIGKILL; Ctrl-C ends it with one
    line), a rerun with the same `flags` resumes from the last finished
    epoch (`resume`). Training over, the weights are kept in `workdir`:
    a rerun with the same flags after a failure or kill in evaluation or
    export goes straight back to them instead of training again. A run with
    other flags (or another number of replicas) starts afresh.

    A loss that becomes NaN or infinite stops training, and weights that are
    not finite stop the run: `SystemExit` with one line, before anything is
    evaluated or exported.

    A model built in a `tf.distribute` strategy's scope trains on its
    replicas, the datasets split between them by their batches. On a
    multi-worker cluster the chief keeps `workdir` as above; the other
    workers train from the chief's run record, trained weights and backup
    (shared storage across machines) and write their own into a temporary
    directory, so a killed worker is resumed from the chief's last epoch.
    """
    strategy = model.distribute_strategy
    workdir = Path(workdir)
    run = _run_record(workdir, {**flags, "replicas": strategy.num_replicas_in_sync}, strategy)
    if not (run.get("trained") and _reuse_trained(model, workdir / TRAINED)):
        with distribute.write_dir(workdir, strategy) as own:
            if own != workdir and (workdir / BACKUP_DIR).exists():
                shutil.copytree(workdir / BACKUP_DIR, own / BACKUP_DIR)
            _train(model, own, run, patience, lr_patience, keep_epochs, budget,
                   x=distribute.shard_by_data(train, strategy),
                   validation_data=distribute.shard_by_data(validation, strategy),
                   epochs=epochs, steps_per_epoch=steps_per_epoch)
    _refuse_non_finite(model)
    distribute.leave_together(strategy)
    return sum(run["epoch_seconds"].values())


def _reuse_trained(model, weights):
    """Loads the weights a finished run left; False (with a warning) where they are missing or unreadable."""
    if not weights.exists():
        return False
    model.build_for_inference()
    try:
        with warnings.catch_warnings():  # the file holds the optimizer's state too, which a finished run leaves unused
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(weights)
    except Exception as error:  # as for a backup: whatever h5py or Keras raise for a damaged file
        print(f"warning: {weights} is unreadable ({type(error).__name__}): training again", file=sys.stderr)
        weights.unlink()
        return False
    print(f"reusing the weights trained with the same flags in {weights.parent}")
    return True


def _train(model, workdir, run, patience, lr_patience, keep_epochs, budget, **fit_args):
    """`model.fit(**fit_args)` in `workdir`, resumed from its last backup; then the trained weights are saved,
    `run` is marked trained and the backup goes. A loss that becomes NaN or infinite stops training and the run
    (the backup of the last finite epoch stays), and so does Ctrl-C: one line on stderr, never a traceback."""
    divergence = _Divergence()
    before_backup = [_EpochClock(workdir / RUN_RECORD, run),
                     *([_EpochWeights(workdir / EPOCHS_DIR, keep_epochs)] if keep_epochs else []),
                     *([budget] if budget else [])]
    try:
        model.fit(**fit_args, verbose=2, shuffle=False,  # the datasets reshuffle themselves each epoch
                  callbacks=[_Resume(workdir, run, budget), divergence,
                             *standard_callbacks(workdir, patience, lr_patience, before_backup=before_backup)])
    except KeyboardInterrupt:
        print(f"interrupted: the same command resumes from the last finished epoch (backups in {workdir / BACKUP_DIR})",
              file=sys.stderr)
        raise SystemExit(130) from None
    if divergence.where:
        raise SystemExit(f"training diverged: the loss became {divergence.loss} in {divergence.where}; nothing is "
                         "exported (a lower --learning-rate may help)")
    save_atomically(model, workdir / TRAINED)
    run["trained"] = True
    write_record(workdir / RUN_RECORD, run)
    shutil.rmtree(workdir / BACKUP_DIR, ignore_errors=True)


def _refuse_non_finite(model):
    """Stops the run, before anything is evaluated or exported, if any weight of `model` is NaN or infinite."""
    values = ((v.path, np.asarray(v.numpy())) for v in model.weights)
    broken = [path for path, value in values if value.dtype.kind == "f" and not np.isfinite(value).all()]
    if broken:
        raise SystemExit(f"the trained weights are not finite ({len(broken)} of them, {broken[0]} first): "
                         "nothing is exported")


def save_atomically(model, path):
    """Saves `model`'s weights to `path` whole or not at all: written under a temporary name beside it, then
    renamed, so that a kill at any moment leaves the file before or the file after, never half of one."""
    partial = path.with_name("partial.weights.h5")  # Keras wants the suffix; `_numbered` lists no such name
    model.save_weights(partial)
    partial.replace(path)


def write_record(path, record):
    """Writes a JSON record whole or not at all: a run killed while writing it must still resume."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2))
    partial.replace(path)


def _run_record(workdir, flags, strategy):
    """The run record of `workdir` (`run.json`): the chief starts it afresh, removing the stale backup,
    weights and kept epochs, unless it was written for the same flags; every worker then reads it."""
    record = workdir / RUN_RECORD
    if distribute.is_chief(strategy):
        workdir.mkdir(parents=True, exist_ok=True)
        run = json.loads(record.read_text()) if record.exists() else {}
        if run.get("flags") != flags:
            for stale in (workdir / BACKUP_DIR, workdir / TRAINED, workdir / EPOCHS_DIR):
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
            write_record(record, {"flags": flags, "epoch_seconds": {}})
    distribute.barrier(strategy, "run-record")  # the other workers read it once the chief has it ready
    if not record.exists():
        raise FileNotFoundError(f"{record}: the chief's run record is not here; the workers of a cluster need "
                                "one --workdir they all share")
    return json.loads(record.read_text())


def epoch_weights(workdir):
    """The kept epochs' weight files of a run (`fit(keep_epochs=...)`), oldest first."""
    return _numbered(Path(workdir) / EPOCHS_DIR)


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
        save_atomically(self.model, self.directory / f"{epoch:04d}.weights.h5")
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


class _Resume(keras.callbacks.Callback):
    """Trains on from the last backup (`resume`) once `fit` has built the model, as Keras' `BackupAndRestore`
    does; the run record forgets the times of the epochs to train again, and a `budget` counts those before."""

    def __init__(self, workdir, run, budget=None):
        super().__init__()
        self.workdir, self.run, self.budget = workdir, run, budget

    def on_train_begin(self, logs=None):
        epoch = resume(self.model, self.workdir)
        self.model._initial_epoch = epoch  # where `fit` starts: Keras' own BackupAndRestore sets it so
        self.run["epoch_seconds"] = {e: s for e, s in self.run["epoch_seconds"].items() if int(e) < epoch}
        if self.budget:
            self.budget.started(sum(self.run["epoch_seconds"].values()))


class _Backup(keras.callbacks.Callback):
    """Backs up each finished epoch for `resume`: the weights and optimizer state as `NNNN.weights.h5`
    (`save_atomically`), the one before kept, beside what the `counting` callbacks (early stopping, the
    learning-rate plateau) have counted so far as `NNNN.counters.json`, and early stopping's best weights as
    `best-NNNN.npz`. A resumed run takes the counters back at its first epoch (after Keras has reset them at the
    start of `fit`), so it stops, lowers the learning rate and restores the best weights when an unbroken run
    would. An epoch whose loss is not finite is not backed up."""

    COUNTERS = ("wait", "best", "best_epoch", "stopped_epoch", "cooldown_counter")

    def __init__(self, directory, counting=()):
        super().__init__()
        self.directory, self.counting, self.resumed = Path(directory), list(counting), False

    def on_epoch_begin(self, epoch, logs=None):
        if not self.resumed:
            self.resumed = True
            self._take_counters_back(self.directory / f"{epoch - 1:04d}.counters.json")

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for callback in self.counting:
            if getattr(callback, "best_weights", None) is not None and callback.best_epoch == epoch:
                partial = self.directory / "best.partial.npz"
                np.savez(partial, *callback.best_weights)
                partial.replace(self.directory / f"best-{epoch:04d}.npz")
                for old in sorted(self.directory.glob("best-*.npz"))[:-2]:  # the kept backups' best epochs stay
                    old.unlink()
        write_record(self.directory / f"{epoch:04d}.counters.json", [
            {name: plain_number(getattr(c, name)) for name in self.COUNTERS if hasattr(c, name)}
            for c in self.counting])
        save_atomically(self.model, self.directory / f"{epoch:04d}.weights.h5")
        for old in _numbered(self.directory)[:-2]:
            old.unlink()
            old.with_name(old.name.replace(".weights.h5", ".counters.json")).unlink(missing_ok=True)

    def _take_counters_back(self, record):
        if not record.exists():
            return  # a fresh run, or a backup an older zoo wrote: counting starts over
        for callback, counters in zip(self.counting, json.loads(record.read_text())):
            for name, value in counters.items():
                setattr(callback, name, value)
            best = self.directory / f"best-{counters.get('best_epoch', -1):04d}.npz"
            if getattr(callback, "restore_best_weights", False) and best.exists():
                with np.load(best) as arrays:
                    callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


class _Divergence(keras.callbacks.Callback):
    """Stops training at the first step whose loss is NaN or infinite (what `keras.callbacks.TerminateOnNaN`
    does), remembering the loss and where (`where`: None while training is sound)."""

    where = loss = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.loss, self.where = float(loss), f"epoch {self.epoch + 1}, step {batch + 1}"
            self.model.stop_training = True
