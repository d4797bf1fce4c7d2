"""Trains, evaluates and exports an English language model that reads both ways (lm_english).

    python recipes/language_model.py                       # the published lm_english (2 CPU cores, ~2 h)
    python recipes/language_model.py --smoke               # seconds, on a slice

Data: `zoo.datasets.english` (raw English from the package registries,
Brown's train split among them), tokenised as Brown is. The output
vocabulary is the most frequent normalised words of the training split.
Training runs for `--budget-minutes`, the learning rate warming up and then
following a cosine to the last minute, in epochs of `--steps-per-epoch`
batches (a checkpoint and a validation each); killed and rerun with the same
flags, it resumes from the last finished epoch. Reported and written into
the card: perplexity of both readers on the test split, beside an
interpolated Kneser-Ney n-gram model counted on the same training sentences
and scored on the same tokens; agreement on the constructed sentences
(`zoo.datasets.constructed_agreement`) by comparing P(singular verb) with
P(plural verb). Exports `saved_models/lm_english/<version>/`.
"""

import keras

from zoo import cards, training
from zoo.datasets import constructed_agreement, english
from zoo.language_model.data import as_dataset, tokenized, vocabularies
from zoo.language_model.evaluation import agreement_by_probability, evaluate, ngram_perplexity
from zoo.language_model.model import LanguageModel

NAME = "lm_english"
VALIDATION_SENTENCES = 3000  # validated after every epoch: the first sentences of the validation split


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], cells=("lstm",))
    parser.set_defaults(cell="lstm", hidden=512, learning_rate=2e-3, batch_size=64, patience=1000, epochs=10_000)
    parser.add_argument("--projection", type=int, default=128,
                        help="size of the word vectors and of the projected LSTM states (the cost of a step)")
    parser.add_argument("--vocabulary-size", type=int, default=30_000, help="normalised words it predicts")
    parser.add_argument("--sampled", type=int, default=2048, help="words sampled per step by the softmax in training")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout on word vectors and states")
    parser.add_argument("--max-tokens", type=int, default=60, help="longest training sentence (tokens)")
    parser.add_argument("--budget-minutes", type=float, default=110.0, help="training minutes")
    parser.add_argument("--warmup-steps", type=int, default=1000, help="steps of linear learning-rate warm-up")
    parser.add_argument("--steps-per-epoch", type=int, default=800, help="batches between checkpoints")
    parser.add_argument("--ngram-order", type=int, default=3, help="order of the Kneser-Ney baseline")
    return parser.parse_args(argv)


def load(args):
    """Token rows of the three splits (the smoke run: a slice of each)."""
    limit = 2000 if args.smoke else None
    return {split: tokenized(english.load(split)[:limit], args.max_tokens) for split in english.SPLITS}


def main(argv=None):
    args = parse_args(argv)
    if args.smoke:
        args.hidden, args.projection, args.vocabulary_size, args.sampled = 32, 16, 500, 50
        args.budget_minutes, args.steps_per_epoch, args.warmup_steps = 0.3, 10, 5
    training.seed_everything(args.seed)
    rows = load(args)
    words, characters = vocabularies(rows["train"], args.vocabulary_size)
    model = LanguageModel(words, characters, hidden=args.hidden, projection=args.projection, dropout=args.dropout,
                          sampled=args.sampled)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0))  # its own train_step
    tokens = sum(len(r) for r in rows["train"])
    print(f"{NAME}: {len(rows['train'])} train sentences ({tokens:,} tokens), {len(words)} words, "
          f"{len(characters)} characters; {model.count_params():,} parameters")
    workdir = training.workdir_for(args, NAME)
    fit_seconds = training.fit(
        model, workdir, training.run_flags(args, training.RUN_LOCATION_FLAGS),
        as_dataset(rows["train"], args.batch_size, shuffle=True, seed=args.seed).repeat(),
        as_dataset(rows["validation"][:VALIDATION_SENTENCES], args.batch_size), args.epochs, args.patience,
        lr_patience=None, budget=training.TimeBudget(args.budget_minutes, args.learning_rate, args.warmup_steps),
        steps_per_epoch=args.steps_per_epoch)
    results = report(args, model, rows, words)
    card = cards.RecipeCard(
        description=f"forward and backward LSTM {args.hidden} language model over character-CNN word vectors",
        dataset={**english.describe(), "examples": {s: len(r) for s, r in rows.items()}},
        input=f"raw English sentences, tokenised as Brown is; at most {model.max_tokens} tokens",
        test_metrics=results["test"], validation_metrics=results["validation"],
        hyperparameters=training.run_flags(args, training.RUN_LOCATION_FLAGS), training_seconds=fit_seconds,
        data_license="; ".join(f"{k}: {v}" for k, v in english.LICENSES.items()),
        extra={"ngram_baseline": results["ngram"], "constructed_agreement": results["agreement"],
               "trained_on": training.machine()},
    ).to_dict()
    path = model.export_serving(args.out / NAME, version=args.version, card=card)
    print(f"exported {path}")
    return path


def report(args, model, rows, words):
    """Perplexities, the n-gram baseline on the same test tokens, and constructed agreement, each printed."""
    results = {split: evaluate(model, rows[split]) for split in ("validation", "test")}
    baseline = ngram_perplexity(rows["train"], rows["test"], words, order=args.ngram_order)
    results["ngram"] = {"order": args.ngram_order, "perplexity": baseline, "smoothing": "interpolated Kneser-Ney"}
    results["agreement"] = agreement_by_probability(model, constructed_agreement.examples())
    for split in ("validation", "test"):
        print(f"{split}: {results[split]}")
    print(f"{args.ngram_order}-gram Kneser-Ney test perplexity {baseline:.1f}; the LM's is "
          f"{1 - results['test']['perplexity'] / baseline:.1%} lower")
    print("constructed agreement by P(singular) vs P(plural): " + ", ".join(
        f"{c} {m['accuracy']:.3f}" for c, m in results["agreement"]["by_construction"].items()))
    return results


if __name__ == "__main__":
    main()
