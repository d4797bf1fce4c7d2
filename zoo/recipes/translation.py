"""Trains, evaluates and exports a Spanish→English translator (encoder-decoder with attention).

    python recipes/translation.py --budget-minutes 100   # the published translate_es_en v6, on 2 CPU cores

Data (`--corpus`): Reina-Valera 1909 / King James Bible verse pairs
(fetched with apt-get, split by chapter) and the Spanish messages of
today's software (the gettext catalogues of 1 475 Debian packages, split by
package; `zoo.datasets.gettext_es`), one or both; or your own `source<TAB>target` file with
`--train-file` (split by a hash of each source line unless
`--validation-file` and `--test-file` are given), or a TFDS translation
dataset with `--tfds` (downloaded by TFDS, online). `--init-from
translate_es_en` fine-tunes a pretrained translator (its subword vocabulary
and sizes are kept).

Both languages share one byte-pair-encoding vocabulary learned on the
training split. The learning rate warms up and then follows a cosine to
the last epoch; the weights of the last `--average-epochs` epochs are kept
and the average of the last 1, 2, ... of them that translates the
validation split best (greedy BLEU) is the model, then beam search's
length penalty is chosen on validation BLEU too. Test is only reported.

Writes TensorBoard logs, `history.csv`, `curves.png` and an attention
heatmap into the work directory, prints sacreBLEU BLEU and chrF on the
validation and test splits (test also on sources of at most 40 words, and
greedy next to beam search), and exports `saved_models/<name>/<version>/`
with its model card. Killed and rerun with the same flags, it resumes from
the last finished epoch.
"""

import hashlib
import json
from pathlib import Path

import tensorflow as tf

from zoo import cards, distribute, plots, training
from zoo.datasets.parallel import FILE_SPLIT_RULE, ParallelText, from_tfds, read_pairs_file
from zoo.translation import Translator, subwords
from zoo.translation.config import TransformerConfig, TranslatorConfig
from zoo.translation.data import CORPORA, HELD_OUT_SAMPLE, as_dataset, corpora_of, load_corpus, masked
from zoo.translation.demo import DEMO_SENTENCES, OUT_OF_DOMAIN
from zoo.translation.evaluation import LENGTH_PENALTIES, LONG_SOURCE_WORDS, choose_length_penalty, evaluate
from zoo.translation.text import tokenize

RUN_LOCATION_FLAGS = (*training.RUN_LOCATION_FLAGS, "name")
SUBWORDS_FILE = "subwords.json"  # the run's vocabulary, beside its weights
TEST_SLICE = 200  # the model card also scores the first test pairs: a quick regression check


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], TranslatorConfig)
    TransformerConfig.add_flags(parser, beside=TranslatorConfig)
    # defaults (and the configs'): the published translate_es_en configuration
    parser.set_defaults(learning_rate=2e-3, epochs=12, batch_size=128, patience=4)
    parser.add_argument("--corpus", choices=("both", *CORPORA), default="both",
                        help="the zoo's pairs to learn from: Bible verses, software messages or both (mixed by "
                             "--bible-share; validation and test report each)")
    parser.add_argument("--bible-share", type=float, default=0.2,
                        help="with --corpus both: the share of training batches drawn from the Bible (its verses are "
                             "four times longer than messages: 0.2 is about half the words); 0: all pairs shuffled "
                             "together")
    parser.add_argument("--architecture", choices=("rnn", "transformer"), default="rnn",
                        help="rnn: the recurrent encoder-decoder; transformer: its peer (zoo.translation.transformer, "
                             "needs keras-hub), same pieces, signatures and search")
    parser.add_argument("--budget-minutes", type=float,
                        help="train this many minutes instead of --epochs, the learning-rate cosine following the "
                             "clock (two models, one budget)")
    parser.add_argument("--steps-per-epoch", type=int, default=500,
                        help="batches per epoch (checkpoint, validation, kept weights); 0: one pass over the pairs")
    parser.add_argument("--vocabulary-size", type=int, default=10000,
                        help="subword pieces of the joint byte-pair-encoding vocabulary, characters included")
    parser.add_argument("--min-pair-count", type=int, default=2, help="train count a pair of pieces needs to merge")
    parser.add_argument("--label-smoothing", type=float, default=0.1, help="share of the target spread over all pieces")
    parser.add_argument("--warmup-steps", type=int, default=500, help="steps of linear learning-rate warm-up")
    parser.add_argument("--average-epochs", type=int, default=4,
                        help="average up to this many last epochs' weights (how many: by validation BLEU)")
    parser.add_argument("--max-train-words", type=int, default=80,
                        help="train on pairs whose sides have at most this many words (evaluation uses all)")
    parser.add_argument("--length-penalty", type=float,
                        help="beam search ranks hypotheses by log-probability / length ** this (default: the best "
                             f"of {', '.join(f'{p:g}' for p in LENGTH_PENALTIES)} on validation BLEU)")
    parser.add_argument("--train-file", type=Path, help="your own `source<TAB>target` pairs instead of the Bible")
    parser.add_argument("--tfds", help="a TFDS translation dataset instead, e.g. ted_hrlr_translate/pt_to_en (online)")
    parser.add_argument("--validation-file", type=Path, help="with --train-file: separate validation pairs")
    parser.add_argument("--test-file", type=Path, help="with --train-file: separate test pairs")
    parser.add_argument("--name", help="exported model name (default translate_es_en, or translate_<file>)")
    parser.add_argument("--init-from", help="fine-tune this pretrained translator (name or directory)")
    args = parser.parse_args(argv)
    if not 0 <= args.bible_share < 1:
        parser.error(f"--bible-share: expected a share of batches from 0 up to (not including) 1, got "
                     f"{args.bible_share}")
    if args.steps_per_epoch < 0:
        parser.error(f"--steps-per-epoch: expected 0 (one pass) or a positive number of batches, got "
                     f"{args.steps_per_epoch}")
    return args


def load_data(args):
    """`(train, validation, test, dataset card section)` from the Bible or the user's files."""
    if args.tfds:
        return (*(from_tfds(args.tfds, s) for s in ("train", "validation", "test")),
                {"name": args.tfds, "source": "TensorFlow Datasets", "tfds": args.tfds, "split": "the builder's"})
    if args.train_file is None:
        return corpus_data(args.corpus)
    if (args.validation_file is None) != (args.test_file is None):
        raise SystemExit("--validation-file and --test-file go together (without them: a hash split of the file)")
    if args.validation_file:
        files = {"train": str(args.train_file), "validation": str(args.validation_file),
                 "test": str(args.test_file)}
        data = [read_pairs_file(files[s]) for s in ("train", "validation", "test")]
    else:
        files = {"all": str(args.train_file)}
        data = [read_pairs_file(args.train_file, s) for s in ("train", "validation", "test")]
    for split, part in zip(("train", "validation", "test"), data):
        part.split = split
    dataset = {"name": args.train_file.stem, "source": "user files", "files": files,
               "split": FILE_SPLIT_RULE if "all" in files else "given files"}
    return (*data, dataset)


def corpus_data(corpus):
    """`(train, validation, test, dataset card section)` of the zoo's corpora (`--corpus`)."""
    names = list(CORPORA) if corpus == "both" else [corpus]
    described = {CORPORA[n].NAME: CORPORA[n].describe() for n in names}
    name = "+".join(described)
    splits = [ParallelText.joined(name, s, [load_corpus(n, s) for n in names]) for s in ("train", "validation", "test")]
    card = described[name] if len(names) == 1 else {"name": name, "parts": described}
    if "software" in names:
        card = {**card, "held_out_sample": HELD_OUT_SAMPLE}
    return (*splits, card)


def subword_vocabulary(train, args, workdir, flags, strategy):
    """`(pieces, merges)`: one BPE vocabulary learned on both sides of the training pairs, once per run.

    The BPE trainer breaks ties between pairs of equal counts differently in
    every process, so the run keeps its vocabulary in `workdir`: a resumed
    run, a rerun that reuses the trained weights and the other workers of a
    cluster read the vocabulary the weights belong to instead of learning
    another. Runs with other `flags` learn their own.
    """
    path = Path(workdir) / SUBWORDS_FILE
    if distribute.is_chief(strategy):
        kept = json.loads(path.read_text()) if path.exists() else {}
        if kept.get("flags") != flags:
            sources, targets = masked(train.sources, train.targets) if args.verbatim else (train.sources,
                                                                                           train.targets)
            rows = tokenize(tf.constant(sources + targets)).to_list()
            pieces, merges = subwords.learn([[t.decode("utf-8") for t in row] for row in rows],
                                            args.vocabulary_size, args.min_pair_count)
            path.parent.mkdir(parents=True, exist_ok=True)
            training.write_record(path, {"flags": flags, "pieces": pieces, "merges": merges})
    distribute.barrier(strategy, "subwords")
    kept = json.loads(path.read_text())
    return kept["pieces"], kept["merges"]


def vocabulary_digest(model):
    """A short hash of `model`'s pieces and merges, for the run's flags: trained weights belong to one
    vocabulary, and a run with another starts afresh instead of reusing them."""
    vocabulary = json.dumps([model.pieces, model.merges]).encode("utf-8")
    return hashlib.sha256(vocabulary).hexdigest()[:16]


def build_model(args, train, workdir, flags, strategy):
    if args.init_from:
        return training.pretrained(args.init_from).reconfigured(dropout=args.dropout, beam_width=args.beam_width)
    pieces, merges = subword_vocabulary(train, args, workdir, flags, strategy)
    if args.architecture == "transformer":
        from zoo.translation.transformer import TransformerTranslator

        return TransformerTranslator(pieces, merges, **TransformerConfig.from_flags(args).as_dict())
    return Translator(pieces, merges, **TranslatorConfig.from_flags(args).as_dict())


def model_name(args, dataset):
    """`--name`, else translate_es_en for the Bible and translate_<file or TFDS name> otherwise."""
    if args.name:
        return args.name
    suffix = "_transformer" if args.architecture == "transformer" else ""
    if corpora_of(dataset):
        return "translate_es_en" + suffix
    return "translate_" + "".join(c if c.isalnum() else "_" for c in Path(dataset["name"]).stem) + suffix


def shrink_for_smoke(args, train, validation, test):
    """`--smoke`: a few pairs and a tiny network, two epochs."""
    args.epochs, args.hidden, args.embedding_dim, args.vocabulary_size = 2, 16, 16, 300
    args.steps_per_epoch = 0
    args.patience, args.warmup_steps, args.average_epochs = 2, 5, 2
    return train.take(400), validation.take(40), test.take(40)


def sizes(dataset_name, model, train, fitted, validation, test, max_train_words):
    """One line: the pairs of each split and the model's vocabularies and parameters."""
    return (f"{dataset_name}: {len(fitted)} train pairs (of {len(train)}; sources up to {max_train_words} "
            f"words), {len(validation)} validation, {len(test)} test; {len(model.pieces)} subword pieces; "
            f"{model.count_params():,} parameters")


def training_batches(args, fitted, model, batch_size):
    """Shuffled batches of the training pairs; with `--bible-share` and both corpora, each batch drawn from the
    Bible or the software messages with those odds (an endless stream: epochs of `--steps-per-epoch`)."""
    if not (args.bible_share and args.steps_per_epoch and len(fitted.parts) > 1):
        return as_dataset(fitted, model, batch_size, shuffle=True, seed=args.seed)
    streams = [as_dataset(fitted.part(name), model, batch_size, shuffle=True, seed=args.seed).repeat()
               for name in fitted.parts]
    weights = [args.bible_share if name == CORPORA["bible"].NAME else 1 - args.bible_share for name in fitted.parts]
    return tf.data.Dataset.sample_from_datasets(streams, weights=weights, seed=args.seed)


def compile_model(args, model, train):
    """Adam on a warm-up + cosine schedule that ends with the last epoch (or the budget's last minute),
    label-smoothed cross-entropy."""
    total_steps = args.epochs * (args.steps_per_epoch or int(train.cardinality()))
    learning_rate = (args.learning_rate if args.budget_minutes
                     else training.warmup_cosine(args.learning_rate, total_steps, args.warmup_steps))
    training.compile_word_generator(model, learning_rate, args.label_smoothing)


def fit(args, model, workdir, flags, train, validation):
    """Trains (resuming a killed run), keeping the last epochs' weights: the fit's seconds."""
    budget = (training.TimeBudget(args.budget_minutes, args.learning_rate, args.warmup_steps)
              if args.budget_minutes else None)
    return training.fit(model, workdir, flags, train.repeat() if args.steps_per_epoch else train,
                        as_dataset(validation, model, 128), args.epochs if budget is None else 10_000, args.patience,
                        lr_patience=None, keep_epochs=args.average_epochs, budget=budget,
                        steps_per_epoch=args.steps_per_epoch or None)


def with_averaged_epochs(model, workdir, validation):
    """`(model, {epochs averaged: validation greedy BLEU})`: the average of the last 1, 2, ... kept epochs
    that translates `validation` best."""
    files = training.epoch_weights(workdir)
    if not files:  # a run without kept epochs (--average-epochs 0): the trained weights as they are
        return model, {}
    bleus = {}
    for count in range(1, len(files) + 1):
        training.averaged_weights(model, files[-count:])
        bleus[count] = evaluate(model, validation, beam_width=1)["bleu"]
    best = max(bleus, key=bleus.get)
    print("epochs averaged, validation greedy BLEU: " + ", ".join(f"{n}: {b:.2f}" for n, b in bleus.items())
          + f" -> {best}")
    return training.averaged_weights(model, files[-best:]), bleus


def with_length_penalty(args, model, validation):
    """`(model, {candidate: validation BLEU})`: `--length-penalty`, else the best candidate on validation."""
    if args.length_penalty is not None:
        return model.reconfigured(length_penalty=args.length_penalty), {}
    if args.beam_width <= 1:
        return model, {}
    best, bleus = choose_length_penalty(model, validation)
    print("length penalty on validation BLEU: " + ", ".join(f"{p:g}: {b:.2f}" for p, b in bleus.items())
          + f" -> {best:g}")
    return model.reconfigured(length_penalty=best), bleus


def evaluate_splits(model, validation, test):
    """The card's evaluations (validation, test with beam and greedy, the test slice), each printed."""
    results = {"validation": evaluate(model, validation), "test": evaluate(model, test),
               "test_greedy": evaluate(model, test, beam_width=1), "test_slice": evaluate(model, test.take(TEST_SLICE))}
    for split, metrics in results.items():
        short = metrics[f"up_to_{LONG_SOURCE_WORDS}_words"]
        print(f"{split}: BLEU {metrics['bleu']:.2f}, chrF {metrics['chrf']:.2f} ({metrics['sentences']} sentences, "
              f"beam {metrics['beam_width']}); sources up to {LONG_SOURCE_WORDS} words: BLEU {short['bleu']:.2f}, "
              f"chrF {short['chrf']:.2f} ({short['sentences']})")
    return results


def show(args, model, workdir):
    """Prints the demo verses' translations; writes the learning curves and an attention heatmap."""
    print(model.demo())
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    if args.attention != "none":
        plots.plot_attention(model.translate(DEMO_SENTENCES[1:2], return_attention=True)[0],
                             workdir / "attention.png")


USES = {  # corpus: (what a model trained on it is for, what it was not trained on)
    "bible": ("Bible verses: Spanish in the style of the Reina-Valera 1909 in, English in the style of the King "
              "James Version out", "Bible verses"),
    "software": ("the text of software: interface labels, messages, option help and settings descriptions, "
                 "placeholders (%s, {0}), options, paths, numbers, addresses and markup copied as written",
                 "software messages"),
}


def intended_use(model, corpora):
    """The card's intended use and limitations, with what the model makes of everyday Spanish."""
    uses, trained_on = zip(*(USES[name] for name in corpora))
    return {
        "intended_use": "Spanish → English for " + "; and for ".join(uses) + ".",
        "limitations": {
            "note": f"Trained on {' and '.join(trained_on)} only. Everyday Spanish (conversation, news, prose) is "
                    "out of domain: it comes out in the style of what the model learned, and words it never saw are "
                    "guessed from their pieces, often wrongly. BLEU is measured against one reference.",
            "out_of_domain_examples": dict(zip(OUT_OF_DOMAIN, model.translate(OUT_OF_DOMAIN))),
        },
    }


def network_description(args):
    if args.architecture == "transformer":
        return f"Transformer encoder-decoder, {args.stack}+{args.stack} layers, {args.heads} heads"
    return (f"{'bidirectional ' * args.bidirectional}{args.cell} encoder, {args.cell} decoder, "
            f"attention {args.attention}")


def model_card(args, model, dataset, examples, results, choices, flags, fit_seconds, workdir):
    return cards.RecipeCard(
        description=network_description(args) + ", BPE pieces: "
                    + ("Spanish→English" if corpora_of(dataset) else dataset["name"]) + " translation",
        dataset={**dataset, "examples": examples},
        input=f"raw UTF-8 sentences, tokenised in the graph; at most {model.max_source_tokens} tokens, longer "
              f"ones are refused with an error; output at most {model.max_length_ratio:g} x source tokens "
              f"+ {model.max_length_offset}",
        test_metrics=results["test"],
        validation_metrics=results["validation"],
        hyperparameters=flags,
        training_seconds=fit_seconds,
        data_license=("; ".join(CORPORA[n].LICENSE for n in corpora_of(dataset)) if corpora_of(dataset)
                      else "the user's own"),
        extra={
            "test_metrics_greedy": results["test_greedy"],
            "test_slice_metrics": {**results["test_slice"], "slice": f"the first {TEST_SLICE} test pairs"},
            "length_penalty": model.length_penalty,
            "length_penalty_search": {f"{p:g}": b for p, b in choices["length_penalty"].items()} or None,
            "epochs_averaged": max(choices["epochs_averaged"], key=choices["epochs_averaged"].get, default=None),
            "epochs_averaged_search": choices["epochs_averaged"],
            "trained_on": training.machine(),
            **(intended_use(model, corpora_of(dataset)) if corpora_of(dataset) else {}),
            "epochs_trained": len((workdir / "history.csv").read_text().splitlines()) - 1,
        },
    ).to_dict()


def main(argv=None):
    args = parse_args(argv)
    strategy = distribute.strategy_for(args.distribute)
    with distribute.data_lock():
        train, validation, test, dataset = load_data(args)
    name = model_name(args, dataset)
    workdir = training.workdir_for(args, name)
    training.seed_everything(args.seed)
    if args.smoke:
        train, validation, test = shrink_for_smoke(args, train, validation, test)
    fitted = train.shorter_than(args.max_train_words)
    flags = training.run_flags(args, RUN_LOCATION_FLAGS)
    with strategy.scope():
        model = build_model(args, fitted, workdir, flags, strategy)
        batches = training_batches(args, fitted, model, distribute.global_batch_size(args.batch_size, strategy))
        compile_model(args, model, batches)
    print(sizes(dataset["name"], model, train, fitted, validation, test, args.max_train_words))
    fit_seconds = fit(args, model, workdir, {**flags, "subwords": vocabulary_digest(model)}, batches, validation)
    if not distribute.is_chief(strategy):
        return None  # the chief evaluates and exports

    model, averages = with_averaged_epochs(model, workdir, validation)
    model, length_penalties = with_length_penalty(args, model, validation)
    results = evaluate_splits(model, validation, test)
    show(args, model, workdir)
    examples = {"train": len(train), "train_used": len(fitted), "validation": len(validation), "test": len(test)}
    card = model_card(args, model, dataset, examples, results, {"epochs_averaged": averages,
                                                                "length_penalty": length_penalties},
                      flags, fit_seconds, workdir)
    path = model.export_serving(args.out / name, version=args.version, card=card)
    print(f"exported {path}")
    return path


if __name__ == "__main__":
    main()
