"""Trains, evaluates and exports an English language model that reads both ways (lm_english).

    # the published lm_english v3: v2 trained on, a warm restart at half the rate (2 CPU cores, ~1 h 45)
    python recipes/language_model.py --init-from lm_english==2 --version 3 --learning-rate 1e-3 --budget-minutes 95
    python recipes/language_model.py --corpora english    # v1: the old books alone, from scratch
    python recipes/language_model.py --smoke               # seconds, on a slice

Data: `--corpora` of `zoo.datasets.english` (raw English from the package
registries, Brown's train split among them) and `zoo.datasets.modern_english`
(package descriptions, the Python documentation, software messages),
tokenised as Brown is. The output vocabulary is the most frequent normalised
words of the training split. `--init-from` starts from a pretrained
language model's weights (continued pre-training on the new text, ULMFiT's
recipe): its reader, and the rows of the words and characters both know.
Training runs for `--budget-minutes`, the learning rate warming up and then
following a cosine to the last minute, in epochs of `--steps-per-epoch`
batches (a checkpoint and a validation each); killed and rerun with the same
flags, it resumes from the last finished epoch. Reported and written into
the card: perplexity of both readers on the test split, beside an
interpolated Kneser-Ney n-gram model counted on the same training sentences
and scored on the same tokens, for all the corpora and each; agreement on the constructed sentences
(`zoo.datasets.constructed_agreement`) by comparing P(singular verb) with
P(plural verb). Exports `saved_models/lm_english/<version>/`.
"""

import keras

from zoo import cards, training
from zoo.datasets import constructed_agreement, english
from zoo.hyperparameters import at_least
from zoo.language_model.config import LanguageModelConfig
from zoo.language_model.data import CORPORA, as_dataset, describe, tokenized, vocabularies
from zoo.language_model.evaluation import agreement_by_probability, evaluate, ngram_perplexity, pooled
from zoo.language_model.model import LanguageModel

NAME = "lm_english"
VALIDATION_SENTENCES = 3000  # validated after every epoch: the first sentences of each corpus's validation split


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], LanguageModelConfig)
    parser.set_defaults(learning_rate=2e-3, batch_size=64, patience=1000, epochs=10_000)
    parser.add_argument("--vocabulary-size", type=at_least(1), default=30_000, help="normalised words it predicts")
    parser.add_argument("--max-tokens", type=at_least(1), default=60, help="longest training sentence (tokens)")
    parser.add_argument("--budget-minutes", type=at_least(0.0, float), default=110.0, help="training minutes")
    parser.add_argument("--warmup-steps", type=at_least(0), default=1000, help="steps of linear learning-rate warm-up")
    parser.add_argument("--steps-per-epoch", type=at_least(1), default=800, help="batches between checkpoints")
    parser.add_argument("--ngram-order", type=at_least(1), default=3, help="order of the Kneser-Ney baseline")
    parser.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=list(CORPORA),
                        help="the text it learns from (each split of each)")
    parser.add_argument("--init-from", help="start from this pretrained language model (name, name==version "
                        "or directory); --hidden and --projection must be its own")
    return parser.parse_args(argv)


def load(args):
    """`{corpus: {split: token rows}}` (the smoke run: a slice of each)."""
    limit = 1000 if args.smoke else None
    return {name: {split: tokenized(CORPORA[name].load(split)[:limit], args.max_tokens) for split in english.SPLITS}
            for name in args.corpora}


def validation_sample(by_corpus):
    """What every epoch is validated on: the first `VALIDATION_SENTENCES` of the validation splits, shared
    equally between the corpora (their validation splits end to end would be the first corpus's alone)."""
    share = VALIDATION_SENTENCES // len(by_corpus)
    return [row for rows in by_corpus.values() for row in rows["validation"][:share]]


def joined(by_corpus, split):
    return [row for rows in by_corpus.values() for row in rows[split]]


def build(args, words, characters):
    if not args.init_from:
        return LanguageModel(words, characters, **LanguageModelConfig.from_flags(args).as_dict())
    start = training.pretrained(args.init_from)
    if (start.hidden, start.projection_dim) != (args.hidden, args.projection):
        raise SystemExit(f"--init-from {args.init_from} has --hidden {start.hidden} --projection "
                         f"{start.projection_dim}; pass those")
    characters = start.char_vocabulary + [c for c in characters if c not in set(start.char_vocabulary)]
    model = LanguageModel(words, characters, **LanguageModelConfig.from_flags(args).as_dict())
    model.take_weights(start)
    return model


def main(argv=None):
    args = parse_args(argv)
    if args.smoke:
        args.hidden, args.projection, args.vocabulary_size, args.sampled = 32, 16, 500, 50
        args.budget_minutes, args.steps_per_epoch, args.warmup_steps = 0.3, 10, 5
    training.seed_everything(args.seed)
    by_corpus = load(args)
    rows = {split: joined(by_corpus, split) for split in english.SPLITS}
    words, characters = vocabularies(rows["train"], args.vocabulary_size)
    model = build(args, words, characters)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0))  # its own train_step
    tokens = sum(len(r) for r in rows["train"])
    print(f"{NAME}: {len(rows['train'])} train sentences ({tokens:,} tokens), {len(words)} words, "
          f"{len(characters)} characters; {model.count_params():,} parameters")
    workdir = training.workdir_for(args, NAME)
    fit_seconds = training.fit(
        model, workdir, training.run_flags(args, training.RUN_LOCATION_FLAGS),
        as_dataset(rows["train"], args.batch_size, shuffle=True, seed=args.seed).repeat(),
        as_dataset(validation_sample(by_corpus), args.batch_size), args.epochs, args.patience,
        lr_patience=None, budget=training.TimeBudget(args.budget_minutes, args.learning_rate, args.warmup_steps),
        steps_per_epoch=args.steps_per_epoch)
    results = report(args, model, by_corpus, words)
    card = cards.RecipeCard(
        description=f"forward and backward LSTM {args.hidden} language model over character-CNN word vectors",
        dataset={**describe(args.corpora), "examples": {s: len(r) for s, r in rows.items()}},
        input=f"raw English sentences, tokenised as Brown is; at most {model.max_tokens} tokens",
        test_metrics=results["test"], validation_metrics=results["validation"],
        hyperparameters=training.run_flags(args, training.RUN_LOCATION_FLAGS), training_seconds=fit_seconds,
        data_license="; ".join(f"{k}: {v}" for name in args.corpora for k, v in CORPORA[name].LICENSES.items()),
        extra={"ngram_baseline": results["ngram"], "constructed_agreement": results["agreement"],
               "trained_on": training.machine()},
    ).to_dict()
    path = model.export_serving(args.out / NAME, version=args.version, card=card)
    print(f"exported {path}")
    return path


def report(args, model, by_corpus, words):
    """Perplexities (all corpora, and each), the n-gram baseline on the same test tokens, and constructed
    agreement, each printed."""
    results = {"validation": dict(evaluate(model, joined(by_corpus, "validation")))}
    tests = {name: dict(evaluate(model, rows["test"])) for name, rows in by_corpus.items()}
    results["test"] = dict(pooled(list(tests.values())))
    if len(by_corpus) > 1:
        results["test"]["by_corpus"] = tests
    baseline = ngram_perplexity(joined(by_corpus, "train"), {"all": joined(by_corpus, "test")}
                                | {name: rows["test"] for name, rows in by_corpus.items()}, words, order=args.ngram_order)
    results["ngram"] = {"order": args.ngram_order, "perplexity": baseline.pop("all"),
                        "smoothing": "interpolated Kneser-Ney"}
    if len(by_corpus) > 1:
        results["ngram"]["by_corpus"] = baseline
    results["agreement"] = agreement_by_probability(model, constructed_agreement.examples())
    for split in ("validation", "test"):
        print(f"{split}: {results[split]}")
    for name, ours in [("all", results["test"])] + list(results["test"].get("by_corpus", {}).items()):
        ngram = results["ngram"]["perplexity"] if name == "all" else baseline[name]
        print(f"{name}: {args.ngram_order}-gram Kneser-Ney test perplexity {ngram:.1f}; the LM's "
              f"{ours['perplexity']:.1f} is {1 - ours['perplexity'] / ngram:.1%} lower")
    print("constructed agreement by P(singular) vs P(plural): " + ", ".join(
        f"{c} {m['accuracy']:.3f}" for c, m in results["agreement"]["by_construction"].items()))
    return results


if __name__ == "__main__":
    main()
