"""Trains, evaluates and exports a subject-verb number agreement classifier (many-to-one) on Brown.

    python recipes/agreement.py --cell lstm --hidden 128 --epochs 5
    python recipes/agreement.py --cell dense --out runs/baselines          # the no-recurrence baseline
    python recipes/agreement.py --cell lstm --hidden 128 --epochs 5 --baseline runs/baselines/agreement_brown_dense

Data: `zoo.datasets.agreement`, the words before every verb of the Brown
corpus whose subject its heuristic finds (Linzen, Dupoux & Goldberg 2016),
labelled with the verb's number, split by the Brown sentence's rule.
`--tagger pos_brown_fine` finds more: the same heuristic reads that
tagger's Brown tags of `--unlabelled` sentences of the language models'
English (`zoo.recipes.unlabelled`, Brown left out), and their examples are
trained on beside Brown's (silver labels: a tagging error can mislabel one).

Prints validation and test accuracy overall, by subject-verb distance and by
the number of attractors (nouns of the other number in between), next to the
majority baseline and to every `--baseline` model (evaluated here, on the
same test examples), then accuracy on the constructed sentences of
`zoo.datasets.constructed_agreement` (evaluation only: never trained on). Writes TensorBoard logs, `history.csv`, `curves.png`,
`confusion_matrix.png` and `accuracy_by_bucket.png` into the work directory
and exports `saved_models/<name>/<version>/` with its model card. Killed and
rerun with the same flags, it resumes from the last finished epoch; a rerun
that changes only `--baseline` reuses the trained weights. `--init-from
lm_english` builds the classifier on a pretrained language model (its
readers' states join each word's vector), frozen unless `--fine-tune-lm`.
"""

import keras
import numpy as np

from zoo import cards, distribute, plots, training
from zoo.agreement import AgreementClassifier, evaluation
from zoo.agreement import data as agreement_data
from zoo.agreement.config import AgreementConfig
from zoo.agreement.model import build_vocabularies
from zoo.agreement.plots import plot_accuracy_by_bucket
from zoo.datasets import agreement, constructed_agreement
from zoo.hyperparameters import at_least
from zoo.language_model.evaluation import agreement_by_probability
from zoo.recipes import unlabelled

RUN_LOCATION_FLAGS = (*training.RUN_LOCATION_FLAGS, "name", "baseline")


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], AgreementConfig)
    # defaults (and AgreementConfig's): the published agreement_brown configuration
    parser.set_defaults(learning_rate=2e-3, epochs=5, batch_size=32, patience=2,
                        lr_patience=1)
    parser.add_argument("--name", help="exported model name (default agreement_brown; "
                                       "agreement_brown_dense with --cell dense)")
    parser.add_argument("--min-count", type=at_least(1), default=2, help="train count a word needs for its own embedding")
    parser.add_argument("--min-ending-count", type=at_least(1), default=3,
                        help="train count a word ending (its last 3 letters) needs for its own embedding")
    parser.add_argument("--train-examples", type=at_least(1), help="train on this many examples drawn from train (default all)")
    parser.add_argument("--init-from", help="build on this pretrained language model (name or directory)")
    parser.add_argument("--fine-tune-lm", action="store_true", help="with --init-from: train its weights too")
    parser.add_argument("--tagger", help="a tagger of Brown's fine tags (name, name==version or directory): the "
                                         "agreements its tags of --unlabelled sentences show are trained on too")
    parser.add_argument("--unlabelled", type=at_least(1), default=300_000,
                        help="with --tagger: sentences of unlabelled English it tags")
    parser.add_argument("--baseline", action="append", default=[],
                        help="an exported agreement model (name or directory) to score on the same test examples; "
                             "repeatable")
    return parser.parse_args(argv)


def report(results):
    """A text table, one row per model: accuracy (%) overall, at distance 5 or more, with one attractor or more,
    then per distance bucket (d=) and per attractor count (a=); the last row counts the examples."""
    first = next(iter(results.values()))
    columns = [("all", lambda m: m), ("dist>=5", lambda m: m["distance_5_plus"]),
               ("attr>=1", lambda m: m["with_attractors"])]
    columns += [(f"{prefix}{bucket}", lambda m, group=group, bucket=bucket: m[group][bucket])
                for group, prefix in (("by_distance", "d="), ("by_attractors", "a=")) for bucket in first[group]]
    lines = [f"{'':<24}" + "".join(f"{title:>8}" for title, _ in columns)]
    for name, metrics in results.items():
        lines.append(f"{name:<24}" + "".join(f"{_percent(cell(metrics)['accuracy']):>8}" for _, cell in columns))
    lines.append(f"{'examples':<24}" + "".join(f"{cell(first)['examples']:>8}" for _, cell in columns))
    return "\n".join(lines)


def constructed_report(results):
    """A text table, one row per model: accuracy (%) on the constructed sentences, overall and per construction
    without (-) and with (+) an attractor of the other number."""
    columns = [("all", lambda m: m)]
    for construction in constructed_agreement.CONSTRUCTIONS:
        short = "".join(word[0] for word in construction.split("_"))
        columns += [(f"{short}{sign}", lambda m, c=construction, k=key: m["by_construction"][c][k])
                    for sign, key in (("-", "without_attractor"), ("+", "with_attractor"))]
    lines = [f"{'constructed':<32}" + "".join(f"{title:>7}" for title, _ in columns)]
    lines += [f"{name:<32}" + "".join(f"{_percent(cell(metrics)['accuracy']):>7}" for _, cell in columns)
              for name, metrics in results.items()]
    return "\n".join(lines)


def compare_constructed(args, name, model):
    """Accuracy on the constructed sentences (never trained on) of this model and, when it is built on a
    language model, of that language model alone, answering by P(singular verb) vs P(plural verb)."""
    results = {name: evaluation.evaluate_constructed(model)}
    if args.init_from:
        results[f"{args.init_from} alone, by P(verb)"] = agreement_by_probability(training.pretrained(args.init_from))
    print(constructed_report(results))
    return results


def _percent(value):
    return "-" if value is None else f"{100 * value:.1f}"


def silver_examples(args, workdir):
    """`(examples, card section)`: the agreement examples in `--tagger`'s tags of `--unlabelled` sentences
    (kept in the work directory: `unlabelled.tagged_by`), and what the card says of them."""
    def refuse(tagger):
        missing = sorted(agreement.NUMBER_TAGS - set(tagger.tag_names))
        return (f"--tagger {args.tagger} does not tag with Brown's fine tags (it has no {', '.join(missing)}): "
                "try pos_brown_fine") if missing else None

    rows = unlabelled.tagged_by(args.tagger, args.unlabelled, workdir, refuse)
    examples = agreement.extract((None, words, tags) for words, tags in rows)
    return examples, {"tagger": args.tagger, "sentences": len(rows), "examples": len(examples),
                      "text": unlabelled.TEXT}


def smoke_sized(args, train, validation, test):
    """A slice of the data and tiny sizes (changed in `args`, so the card records them), for `--smoke`."""
    args.epochs, args.hidden, args.word_dim, args.patience, args.lr_patience = 2, 8, 8, 2, 1
    args.min_count, args.min_ending_count = 1, 1
    return train.sample(400, seed=args.seed), validation.take(100), test.take(100)


def build_model(args, words, endings):
    config = dict(word_vocabulary=words, ending_vocabulary=endings,
                  **AgreementConfig.from_flags(args, seed=args.seed).as_dict())
    if args.init_from:
        model = AgreementClassifier.with_language_model(training.pretrained(args.init_from), fine_tune=args.fine_tune_lm,
                                                        **config)
    else:
        model = AgreementClassifier(**config)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def compare(args, name, train, test_metrics, test):
    """`(compared, baselines)`: the test metrics of this model, the majority rule and every `--baseline` model
    side by side, and the baselines as the card records them."""
    compared = {name: test_metrics, "majority": evaluation.majority_metrics(train.labels, test)}
    baselines = {"majority": {**compared["majority"], "rule": "always the most frequent number of train"}}
    for reference in args.baseline:
        other = training.pretrained(reference)
        key = other.card["name"] if other.card["name"] != name else f"{name} v{other.card['version']}"
        compared[key] = metrics = evaluation.evaluate(other, test)
        baselines[key] = {**metrics, "cell": other.cell, "recipe_command": other.card["recipe_command"]}
    return compared, baselines


def print_and_plot(workdir, name, model, results, compared):
    """The accuracies, the table of `report` and the run's plots, into the work directory."""
    print(f"validation: accuracy {results['validation']['accuracy']:.4f}")
    print(f"test: accuracy {results['test']['accuracy']:.4f} ({results['test']['errors']} errors of "
          f"{results['test']['examples']})")
    print(report(compared))
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    plots.plot_confusion_matrix(results["test"]["confusion_matrix"], model.label_names,
                                workdir / "confusion_matrix.png", title=f"{name} test")
    plot_accuracy_by_bucket(compared, workdir / "accuracy_by_bucket.png", title=f"{name}, Brown test split")


def recipe_card(args, dataset, splits, model, results, baselines, flags, fit_seconds, constructed, silver=None):
    """The model card; `splits` are Brown's `(train, validation, test)`, `silver` the card section of the
    examples found in `--tagger`'s tags (`silver_examples`; their count also in the description)."""
    encoder = "no recurrence (per-word MLP, mean and max over words)" if args.cell == "dense" else (
        f"{'bidirectional ' * args.bidirectional}{args.cell} {args.hidden}")
    return cards.RecipeCard(
        description=f"subject-verb number agreement, {encoder}: the words before a verb -> singular or plural "
                    "(many-to-one)" + cards.language_model_note(args.init_from, args.fine_tune_lm)
                    + (f", trained also on {silver['examples']} examples found in {silver['tagger']}'s tags of "
                       f"{silver['sentences']} unlabelled English sentences" if silver else ""),
        dataset={**dataset, "examples": {s.split: len(s) for s in splits}},
        input="raw UTF-8 text, the words before a verb, tokenised in the graph (Brown conventions); at least one "
              f"and at most {args.max_tokens} tokens",
        test_metrics=results["test"],
        validation_metrics=results["validation"],
        hyperparameters=flags,
        training_seconds=fit_seconds,
        data_license=agreement.LICENSE,
        extra={"labels": model.label_names, "baselines": baselines, "constructed_agreement": constructed,
               **({"silver": silver} if silver else {})},
    )


def main(argv=None):
    args = parse_args(argv)
    strategy = distribute.strategy_for(args.distribute)
    name = args.name or ("agreement_brown_dense" if args.cell == "dense" else "agreement_brown")
    workdir = training.workdir_for(args, name)
    training.seed_everything(args.seed)
    dataset = agreement.describe()
    with distribute.data_lock():
        train, validation, test = (agreement_data.load_split(dataset, s) for s in agreement.SPLITS)
    if args.train_examples:
        train = train.sample(args.train_examples, seed=args.seed)
    if args.smoke:
        train, validation, test = smoke_sized(args, train, validation, test)
    gold, silver = train, None
    if args.tagger:
        examples, silver = silver_examples(args, workdir)
        train = gold + examples
    words, endings = build_vocabularies(train.prefixes, args.min_count, args.min_ending_count)
    print(f"{agreement.NAME}: {len(gold)} / {len(validation)} / {len(test)} examples"
          + (f", and {silver['examples']} found in {args.tagger}'s tags" if silver else "")
          + f", {np.mean(train.labels == 1):.1%} plural in train, {len(words)} words and {len(endings)} endings "
          "in the vocabularies")

    with strategy.scope():
        model = build_model(args, words, endings)
    flags = training.run_flags(args, RUN_LOCATION_FLAGS)
    fit_seconds = training.fit(
        model, workdir, flags,
        agreement_data.as_dataset(train, distribute.global_batch_size(args.batch_size, strategy), shuffle=True,
                                  seed=args.seed),
        agreement_data.as_dataset(validation, 256),
        args.epochs, args.patience, args.lr_patience,
    )
    if not distribute.is_chief(strategy):
        return None  # the chief evaluates and exports

    results = {split.split: evaluation.evaluate(model, split) for split in (validation, test)}
    compared, baselines = compare(args, name, gold, results["test"], test)
    print_and_plot(workdir, name, model, results, compared)
    constructed = compare_constructed(args, name, model)
    card = recipe_card(args, dataset, (gold, validation, test), model, results, baselines, flags, fit_seconds,
                       constructed, silver)
    path = model.export_serving(args.out / name, version=args.version, card=card.to_dict())
    print(f"exported {path}")
    return path


if __name__ == "__main__":
    main()
