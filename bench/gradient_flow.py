"""Measures how far back in time gradients reach in Elman, GRU and LSTM cells, and what that does to memory.

    python bench/gradient_flow.py --cells elman,gru,lstm --length 100
    python bench/gradient_flow.py --initializer glorot_uniform      # W_hh drawn like W_xh, not orthogonal

Backpropagation through time carries the loss at the last step T back to
every earlier state: dL/ds_t is dL/ds_T times the Jacobians ds_{k+1}/ds_k of
the steps in between. This bench computes the norm of dL/ds_t as a function
of the distance T - t (s_t is the cell's whole state: h_t, and c_t too for
the LSTM; each example's gradient is taken per unit of its error at the
output, see `state_gradient_norms`), with `tf.GradientTape`, at
initialisation and after training:

(a) on delayed recall, a long-memory task with a known answer: each of T
    steps shows one of `--symbols` symbols, the first with a marker; the
    network must name the marked symbol at step T (chance: 1 / symbols).
    Each cell is trained from scratch at every length of `--lengths` (by
    default T/10, T/4, T/2 and T = `--length`), with the same budget, and
    its test accuracy at each length shows where it stops remembering;
(b) on real sentences: the agreement task of `zoo.datasets.agreement` (the
    words before a Brown verb → its number), gradients of the loss at the
    verb back to the words before it, for the test prefixes of at least
    `--brown-length` words, before and after a short training.

Writes into the work directory (default runs/gradient_flow): one subdirectory
per trained network (TensorBoard logs, history.csv, curves.png; resumable,
as the recipes' runs are), `gradient_norms.png` (log scale), `recall_accuracy.png`,
`gradient_flow.md` (the tables, also printed) and `gradient_flow.json`.
No model is exported: a measurement, not a recipe. It takes the recipes'
training flags (`--hidden`, `--initializer`, `--learning-rate`, ...).
"""

import argparse
import json

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from zoo import plots, training
from zoo.agreement import AgreementClassifier
from zoo.agreement import data as agreement_data
from zoo.agreement.config import AgreementConfig
from zoo.agreement.model import build_vocabularies
from zoo.datasets import agreement
from zoo.hyperparameters import choice_list
from zoo.layers import CELLS, make_rnn

TRAINING_FLAGS = ("hidden", "initializer", "learning_rate", "batch_size", "patience", "lr_patience", "seed")
RECALL_FLAGS = (*TRAINING_FLAGS, "epochs", "symbols", "train_sequences", "test_sequences")
BROWN_FLAGS = (*TRAINING_FLAGS, "brown_epochs", "brown_train_examples")
REPORTED_DISTANCES = (0, 1, 10, 25, 50)
DECAY_SPAN = 50  # the distance over which the tables report how far the norm fell


def parse_args(argv=None):
    # the agreement recipe's flags; `--cells` takes a list: it replaces their `--cell`, which becomes its alias
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], conflict_handler="resolve",
                                     parents=[training.recipe_parser(__doc__.splitlines()[0], AgreementConfig)],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--cells", "--cell", type=choice_list(CELLS), default=list(CELLS),
                        help="cells to compare, comma-separated")
    parser.set_defaults(hidden=32, learning_rate=3e-3, epochs=12, batch_size=64, patience=12, lr_patience=4)
    parser.add_argument("--length", type=int, default=100,
                        help="the delayed-recall length at which gradient norms are measured")
    parser.add_argument("--lengths", type=length_list,
                        help="delayed-recall lengths for the accuracy table, comma-separated (default: length/10, "
                             "length/4, length/2 and length); length is always among them")
    parser.add_argument("--symbols", type=int, default=4, help="symbols to recall (chance accuracy 1/symbols)")
    parser.add_argument("--train-sequences", type=int, default=2000, help="delayed-recall training sequences")
    parser.add_argument("--test-sequences", type=int, default=500,
                        help="delayed-recall sequences for validation, test and the gradient measurement, each")
    parser.add_argument("--brown-length", type=int, default=30,
                        help="Brown prefixes of at least this many words carry the sentence measurement")
    parser.add_argument("--brown-train-examples", type=int, default=4000, help="agreement examples to train on")
    parser.add_argument("--brown-epochs", type=int, default=3, help="epochs on the agreement examples")
    parser.add_argument("--out", "--version", dest="export", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bidirectional or args.layers != 1:
        parser.error("gradient flow is measured through one unidirectional layer: no --bidirectional or --layers")
    if args.export is not None:
        parser.error("this bench exports no model: no --out or --version")
    if args.distribute != "none":
        parser.error("the gradients are measured in one process: no --distribute")
    return args


def length_list(text):
    try:
        lengths = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        lengths = []
    if not lengths or min(lengths) < 2:
        raise argparse.ArgumentTypeError(f"expected comma-separated sequence lengths of 2 or more; got {text!r}")
    return lengths


def recall_lengths(args):
    lengths = args.lengths or [max(2, round(args.length * f)) for f in (0.1, 0.25, 0.5)]
    return sorted({*lengths, args.length})


# --- the long-memory task ------------------------------------------------------------------------------------


def delayed_recall(count, length, symbols, seed):
    """`count` sequences `[count, length, symbols + 1]` float32 and their answers `[count]`: each step shows one
    of `symbols` symbols (one-hot), step 0 also raises the last channel, the marker of the symbol to recall.

    The later steps draw from the same symbols, so the network must keep what it read at the marker and
    let nothing after it in: a gate's job (`x * sigmoid(...)`), which an Elman cell can only approximate.

    >>> x, y = delayed_recall(2, 5, symbols=3, seed=0)
    >>> x.shape, bool((x[np.arange(2), 0, y] == 1).all()), x[:, :, 3].tolist()
    ((2, 5, 4), True, [[1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    """
    rng = np.random.default_rng(seed)
    steps = rng.integers(0, symbols, (count, length))
    inputs = np.eye(symbols + 1, dtype=np.float32)[steps]
    inputs[:, 0, symbols] = 1.0
    return inputs, steps[:, 0].astype(np.int32)


class RecallNetwork(keras.Model):
    """One recurrent layer and a softmax over the symbols, read from the last state."""

    def __init__(self, cell, hidden, num_inputs, num_symbols, recurrent_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        self.num_inputs = num_inputs
        self.rnn = make_rnn(cell, hidden, recurrent_initializer=recurrent_initializer, name="rnn")
        self.head = keras.layers.Dense(num_symbols, activation="softmax", name="W_hy")
        self.build_for_inference()

    def call(self, inputs, training=False):
        return self.head(self.rnn(inputs, training=training))

    def build_for_inference(self):
        self(np.zeros((1, 2, self.num_inputs), np.float32))


# --- the measurement -----------------------------------------------------------------------------------------


def state_gradient_norms(cell, readout, inputs, labels):
    """`norms[t]`: the mean over the batch of ||dL_i/ds_t|| / ||dL_i/dz_T||, for the states s_1 … s_T.

    Args:
        cell: a recurrent cell (`ElmanCell`, `keras.layers.GRUCell`, `keras.layers.LSTMCell`).
        readout: maps the cell's last output `[B, H]` to class probabilities `[B, K]` (a softmax layer).
        inputs: `[B, T, C]`, what the cell reads at each step.
        labels: `[B]` int, the class at step T.

    L_i is example i's cross-entropy at the last step only; s_t is the cell's
    whole state after step t (`h_t`; `h_t` and `c_t` together for an LSTM),
    so the norm measures everything through which step t still reaches the
    loss. Each example's gradient is divided by its size at the softmax's
    input z_T (||p - y||): a network that already answers right has a flat
    loss, and would otherwise be measured by how confident it is rather than
    by how far back its gradient reaches. The division is the same at every
    t, so how fast the norm falls with distance is untouched.

    Example:

    >>> from zoo.layers import ElmanCell
    >>> cell, readout = ElmanCell(3), keras.layers.Dense(2, activation="softmax")
    >>> norms = state_gradient_norms(cell, readout, np.ones((4, 6, 2), "float32"), np.zeros(4, "int32"))
    >>> norms.shape, bool(norms[-1] > 0)
    ((6,), True)
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    batch, steps = inputs.shape[:2]
    sizes = tf.nest.flatten(cell.state_size)
    # dL/ds_t is the gradient with respect to a zero added to the state passed on from step t: it counts the
    # paths through later steps only (an LSTM's h_t is computed from c_t, and no path may be counted twice)
    nudges = [[tf.zeros([batch, size]) for size in sizes] for _ in range(steps)]
    with tf.GradientTape() as tape:
        tape.watch(nudges)
        states = [tf.zeros([batch, size]) for size in sizes]
        for t in range(steps):
            _, states = cell(inputs[:, t], states, training=False)
            states = [state + nudge for state, nudge in zip(tf.nest.flatten(states), nudges[t])]
        probabilities = readout(states[0])  # the output: h_T, the state's first part in all three cells
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
    gradients = tape.gradient(loss, nudges, unconnected_gradients=tf.UnconnectedGradients.ZERO)  # c_T: unread
    # a sum of the examples' losses: row i of each gradient is example i's own
    per_step = tf.stack([tf.norm(tf.concat(g, axis=-1), axis=-1) for g in gradients], axis=1)  # [B, T]
    output_error = tf.norm(probabilities - tf.one_hot(labels, tf.shape(probabilities)[-1]), axis=-1)
    return tf.reduce_mean(per_step / tf.maximum(output_error, 1e-30)[:, None], axis=0).numpy()


def by_distance(norms):
    """Step-indexed norms (s_1 … s_T) → distance-indexed (T - t = 0, 1, …)."""
    return np.asarray(norms)[::-1]


def brown_gradient_norms(model, data, min_length):
    """Distance-indexed norms of the agreement loss at the verb, over the prefixes of at least `min_length` words.

    Each prefix is read whole from its first word, as the model reads it; prefixes of equal length share a
    batch, and the first `min_length` distances are averaged over all of them.
    """
    cell = model.encoder[0].cell
    totals, count = np.zeros(min_length), 0
    lengths = np.array([len(p) for p in data.prefixes])
    for length in np.unique(lengths[lengths >= min_length]):
        chosen = np.flatnonzero(lengths == length)
        tokens = tf.constant([data.prefixes[i] for i in chosen])
        norms = state_gradient_norms(cell, model.head, model.embed(tokens), data.labels[chosen])
        totals += by_distance(norms)[:min_length] * len(chosen)
        count += len(chosen)
    return totals / max(count, 1)


# --- training -------------------------------------------------------------------------------------------------


def train_recall(args, cell, length, workdir):
    """A delayed-recall network trained at `length` from scratch, its norms (distance-indexed) at initialisation
    and after training, and its test accuracy."""
    width = args.symbols + 1
    data = {split: delayed_recall(count, length, args.symbols, seed=[args.seed, length, k])
            for k, (split, count) in enumerate((("train", args.train_sequences), ("validation", args.test_sequences),
                                                ("test", args.test_sequences)))}
    training.seed_everything(args.seed)
    model = RecallNetwork(cell, args.hidden, width, args.symbols, recurrent_initializer=args.initializer)
    x_test, y_test = data["test"]
    before = by_distance(state_gradient_norms(model.rnn.cell, model.head, x_test, y_test))
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    flags = {"cell": cell, "length": length, **{k: getattr(args, k) for k in RECALL_FLAGS}}
    training.fit(model, workdir, flags, _batches(*data["train"], args.batch_size, shuffle=True, seed=args.seed),
                 _batches(*data["validation"], args.batch_size), args.epochs, args.patience, args.lr_patience)
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    after = by_distance(state_gradient_norms(model.rnn.cell, model.head, x_test, y_test))
    accuracy = float(np.mean(np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=1) == y_test))
    return before, after, accuracy


def _batches(x, y, batch_size, shuffle=False, seed=0):
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train_brown(args, cell, train, validation, test, workdir):
    """An agreement classifier with `cell`, its norms over the test prefixes before and after, its accuracy."""
    training.seed_everything(args.seed)
    model = AgreementClassifier(*build_vocabularies(train.prefixes), cell=cell, hidden=args.hidden,
                                word_dim=args.hidden, recurrent_initializer=args.initializer, seed=args.seed)
    before = brown_gradient_norms(model, test, args.brown_length)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    flags = {"cell": cell, **{k: getattr(args, k) for k in BROWN_FLAGS}}
    training.fit(model, workdir, flags,
                 agreement_data.as_dataset(train, args.batch_size, shuffle=True, seed=args.seed),
                 agreement_data.as_dataset(validation, 256), args.brown_epochs, args.patience, args.lr_patience)
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    after = brown_gradient_norms(model, test, args.brown_length)
    predicted = np.argmax(model.predict_tokens(test.prefixes).scores, axis=1)
    return before, after, float(np.mean(predicted == test.labels))


# --- report ---------------------------------------------------------------------------------------------------


def decay(norms, span=DECAY_SPAN):
    """`(factor, steps)`: how many times smaller the norm is `steps` back than at the loss, over `span` steps
    or as many as `norms` has.

    >>> decay([1.0, 0.5, 0.01], span=50)
    (100.0, 2)
    """
    steps = min(span, len(norms) - 1)
    return float(norms[0] / max(norms[steps], 1e-30)), steps


def tables(results, args):
    lengths = recall_lengths(args)
    distances = " | ".join(f"d={d}" for d in REPORTED_DISTANCES)
    lines = [f"## Gradient norm ||dL/ds_t|| / ||dL/dz_T|| by distance T - t (hidden {args.hidden}, "
             f"W_hh {args.initializer})", "",
             f"| task | cell | weights | {distances} | change over {DECAY_SPAN} steps (or fewer) |",
             "|---|---|---|" + "---|" * (len(REPORTED_DISTANCES) + 1)]
    for task, label in (("recall", f"delayed recall, T={args.length}"),
                        ("brown", f"Brown prefixes >= {args.brown_length} words")):
        for cell, result in results[task].items():
            for when in ("initial", "trained"):
                norms = result[when]
                cells = [f"{norms[d]:.2e}" if d < len(norms) else "-" for d in REPORTED_DISTANCES]
                factor, steps = decay(norms)
                change = f"fell {factor:.1e}x" if factor >= 1 else f"rose {1 / factor:.1e}x"
                lines.append(f"| {label} | {cell} | {when} | " + " | ".join(cells) + f" | {change} over {steps} |")
    lines += ["", f"## Delayed-recall test accuracy by length (chance {1 / args.symbols:.2f})", "",
              "| cell | " + " | ".join(f"T={n}" for n in lengths) + " |", "|---|" + "---|" * len(lengths)]
    for cell, result in results["recall_accuracy"].items():
        lines.append(f"| {cell} | " + " | ".join(f"{result[str(n)]:.3f}" for n in lengths) + " |")
    lines += ["", "## Agreement test accuracy after the short training", "", "| cell | accuracy |", "|---|---|"]
    lines += [f"| {cell} | {result['accuracy']:.3f} |" for cell, result in results["brown"].items()]
    return "\n".join(lines)


def plot_norms(results, args, path):
    fig = Figure(figsize=(13, 4.5))
    axes = fig.subplots(1, 2)
    for ax, task, title in ((axes[0], "recall", f"(a) delayed recall, T = {args.length}"),
                            (axes[1], "brown", f"(b) Brown prefixes of >= {args.brown_length} words")):
        for i, (cell, result) in enumerate(results[task].items()):
            colour = f"C{i}"
            for when, style in (("initial", "--"), ("trained", "-")):
                norms = np.asarray(result[when])
                ax.semilogy(np.arange(len(norms)), np.maximum(norms, 1e-30), style, color=colour,
                            label=f"{cell}, {when}")
        ax.set_xlabel("distance T - t (steps back from the loss)")
        ax.set_ylabel("||dL/ds_t|| / ||dL/dz_T||, mean over examples")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(f"backpropagation through time: hidden {args.hidden}, W_hh {args.initializer}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_accuracy(results, args, path):
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    lengths = recall_lengths(args)
    for cell, result in results["recall_accuracy"].items():
        ax.plot(lengths, [result[str(n)] for n in lengths], "o-", label=cell)
    ax.axhline(1 / args.symbols, color="grey", linestyle=":", label="chance")
    ax.set_xlabel("sequence length T (steps to remember across)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_title("delayed recall")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    args = parse_args(argv)
    workdir = args.workdir or training.default_workdir("gradient_flow")
    if args.smoke:
        args.length, args.lengths, args.hidden, args.epochs, args.brown_epochs = 12, [6], 8, 2, 1
        args.train_sequences, args.test_sequences, args.brown_train_examples, args.brown_length = 128, 64, 300, 20
    lengths = recall_lengths(args)
    results = {"recall": {}, "recall_accuracy": {}, "brown": {}}
    for cell in args.cells:
        results["recall_accuracy"][cell] = {}
        for length in lengths:
            before, after, accuracy = train_recall(args, cell, length, workdir / f"recall_{cell}_T{length}")
            results["recall_accuracy"][cell][str(length)] = accuracy
            print(f"delayed recall, {cell}, T={length}: test accuracy {accuracy:.3f}")
            if length == args.length:
                results["recall"][cell] = {"initial": before.tolist(), "trained": after.tolist()}

    train = agreement.load("train").sample(args.brown_train_examples, seed=args.seed)
    validation, test = agreement.load("validation"), agreement.load("test")
    if args.smoke:
        validation, test = validation.take(100), test.take(300)
    for cell in args.cells:
        before, after, accuracy = train_brown(args, cell, train, validation, test, workdir / f"brown_{cell}")
        results["brown"][cell] = {"initial": before.tolist(), "trained": after.tolist(), "accuracy": accuracy}
        print(f"agreement, {cell}: test accuracy {accuracy:.3f}")

    report = tables(results, args)
    print(report)
    (workdir / "gradient_flow.md").write_text(f"`{training.recipe_command()}`\n\n{report}\n")
    (workdir / "gradient_flow.json").write_text(json.dumps(
        {"command": training.recipe_command(), "flags": training.run_flags(args, ("workdir", "export")), **results},
        indent=1))
    plot_norms(results, args, workdir / "gradient_norms.png")
    plot_accuracy(results, args, workdir / "recall_accuracy.png")
    print(f"wrote gradient_norms.png, recall_accuracy.png and gradient_flow.md into {workdir}")
    return workdir


if __name__ == "__main__":
    main()
