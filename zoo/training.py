"""What every recipe shares: flags for the seed's hyperparameters, seeding, callbacks, provenance."""

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from zoo import distribute
from zoo.layers import CELLS

REPO = Path(__file__).resolve().parent.parent


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


def recipe_parser(description, cells=CELLS):
    """An argparse parser with the flags every recipe has."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--cell", choices=cells, default="gru", help="recurrent cell")
    parser.add_argument("--hidden", type=int, default=64, help="hidden state size (per direction)")
    parser.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=False,
                        help="read sequences both ways")
    parser.add_argument("--layers", type=int, default=1, help="stacked recurrent layers")
    parser.add_argument("--initializer", default="orthogonal", help="initialiser of the recurrent weights W_hh")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--epochs", type=int, default=100, help="maximum epochs")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="training examples per step on each replica (device or worker); a step trains on "
                             "this x the replicas")
    parser.add_argument("--patience", type=int, default=30, help="early-stopping patience (epochs)")
    parser.add_argument("--lr-patience", type=int, default=20,
                        help="halve the learning rate after this many epochs without validation progress")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling and noise")
    parser.add_argument("--workdir", type=Path, help="checkpoints, TensorBoard logs and plots (default runs/NAME)")
    parser.add_argument("--out", type=Path, default=REPO / "saved_models", help="where model versions are exported")
    parser.add_argument("--version", type=int, help="version to export (default: next free)")
    parser.add_argument("--smoke", action="store_true", help="a seconds-long end-to-end run on a slice of the data")
    parser.add_argument("--distribute", choices=distribute.STRATEGIES, default="none",
                        help="none: one device; mirrored: every local GPU; multi_worker: the cluster in $TF_CONFIG, "
                             "one process per worker running this same command (the chief, worker 0, writes)")
    return parser


def recipe_command():
    """The exact command that ran this recipe, for the model card."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(REPO) if script.is_relative_to(REPO) else script.name
    return shlex.join(["python", str(shown), *sys.argv[1:]])


def seed_everything(seed):
    """Same seed, same weights and the same result on the same machine."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def standard_callbacks(workdir, patience, lr_patience, monitor="val_loss"):
    """Resume after a kill, halve the learning rate on plateaus, stop early on
    validation, log to TensorBoard and CSV."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "backup").exists():  # a fresh run, not a resumed one: start a new log
        (workdir / "history.csv").unlink(missing_ok=True)
    return [
        # a kill while the backup is written leaves it unreadable: keep the one before to resume from
        keras.callbacks.BackupAndRestore(str(workdir / "backup"), double_checkpoint=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=lr_patience, min_lr=1e-5),
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(str(workdir / "logs")),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
    ]


def compile_word_generator(model, learning_rate):
    """Compiles a model that writes words (translator, captioner): Adam with gradients clipped to norm 5
    (backpropagation through time can explode them), cross-entropy on its logits, and accuracy weighted by the
    batches' padding weights."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=["accuracy"])


def run_flags(args, run_location_flags):
    """The flags that decide what a run trains (not where it writes), JSON-ready for the model card."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in run_location_flags}


def fit(model, workdir, flags, train, validation, epochs, patience, lr_patience):
    """Trains `model` in `workdir` and returns the training time in seconds
    (the epochs' wall clock, summed over resumptions).

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
    flags = {**flags, "replicas": strategy.num_replicas_in_sync}
    workdir = Path(workdir)
    record, weights = workdir / "run.json", workdir / "trained.weights.h5"
    if distribute.is_chief(strategy):
        workdir.mkdir(parents=True, exist_ok=True)
        run = json.loads(record.read_text()) if record.exists() else {}
        if run.get("flags") != flags:
            for stale in (workdir / "backup", weights):
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
            record.write_text(json.dumps({"flags": flags, "epoch_seconds": {}}, indent=2))
    distribute.barrier(strategy, "run-record")  # the other workers read it once the chief has it ready
    if not record.exists():
        raise FileNotFoundError(f"{record}: the chief's run record is not here; the workers of a cluster need "
                                "one --workdir they all share")
    run = json.loads(record.read_text())
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
                      epochs=epochs, shuffle=False,  # the datasets reshuffle themselves each epoch
                      callbacks=[*standard_callbacks(own, patience, lr_patience),
                                 _EpochClock(own / record.name, run)],
                      verbose=2)
            partial = own / "partial-trained.weights.h5"
            model.save_weights(partial)
            partial.replace(own / weights.name)
            run["trained"] = True
            (own / record.name).write_text(json.dumps(run, indent=2))
    distribute.leave_together(strategy)
    return sum(run["epoch_seconds"].values())


class _EpochClock(keras.callbacks.Callback):
    """Writes each finished epoch's wall clock into the run record, so training time survives resumption."""

    def __init__(self, record, run):
        super().__init__()
        self.record, self.run = record, run

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.run["epoch_seconds"][str(epoch)] = time.perf_counter() - self.started
        self.record.write_text(json.dumps(self.run, indent=2))
