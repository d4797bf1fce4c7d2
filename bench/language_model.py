"""Language-model bench: each published `lm_english` version on the old books and on today's text, beside the
Kneser-Ney baseline, in one run.

    python bench/language_model.py                     # every version in saved_models/
    python bench/language_model.py --models lm_english==2 old/lm_english/1   # versions, or version directories

Every version is scored by `zoo.language_model.evaluation.evaluate` on the
test split of each corpus (`english`: the old books; `modern_english`:
package descriptions, the Python documentation, software messages), the
sentences of at most the version's own `--max-tokens`. Perplexity is per
predicted token (each word and the sentence's end) over the version's own
vocabulary, the rest `<unk>`: a version whose vocabulary misses more of a
text has an easier `<unk>`, so each row also gives the share of the test
tokens that are `<unk>` to it. The Kneser-Ney rows are the baselines each
version's recipe counted on its own training sentences and scored on the
same tokens (its card). Writes `bench/results/language_model.md` and `.json`.
"""

import argparse
import sys
from pathlib import Path

import tensorflow as tf
from run_info import environment, header, write_report

from zoo import artifacts, registry, training
from zoo.language_model.data import CORPORA, tokenized
from zoo.language_model.evaluation import evaluate

NAME = "lm_english"
GOALS = {"below_ngram": 0.30, "below_v1_modern": 0.25}
PROTOCOL = __doc__.split("\n\n")[2].replace("\n", " ")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="lm_english==VERSION or version directories (a retired "
                        "version from git history); default: every version of lm_english here")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results")
    return parser.parse_args(argv)


def unknown_share(model, rows):
    """The share of the tokens of `rows` outside the model's vocabulary."""
    ids = model.word_ids(tf.constant([token for row in rows for token in row])).numpy()
    return float((ids == 1).mean())  # id 1: <unk>


def score(reference):
    model = training.pretrained(reference)
    max_tokens = model.card["hyperparameters"].get("max_tokens", model.max_tokens)
    baseline = model.card["ngram_baseline"]
    rows = {}
    for corpus in CORPORA.values():
        test = tokenized(corpus.load("test"), max_tokens)
        ngram = (baseline.get("by_corpus") or {}).get(corpus.NAME)
        if ngram is None and model.card["dataset"]["name"] == corpus.NAME:  # trained on this corpus alone
            ngram = baseline["perplexity"]
        rows[corpus.NAME] = {**dict(evaluate(model, test)), "unknown": unknown_share(model, test), "ngram": ngram}
    return model.card["version"], {"trained_on": model.card["dataset"]["name"],
                                   "recipe_command": model.card["recipe_command"],
                                   "ngram_order": baseline["order"], "corpora": rows}


def goal_lines(results):
    newest, first = max(results), min(results)
    lines = []
    for corpus, row in results[newest]["corpora"].items():
        if row["ngram"]:
            below = 1 - row["perplexity"] / row["ngram"]
            lines.append(f"- v{newest} {corpus}: {below:.1%} below Kneser-Ney (goal {GOALS['below_ngram']:.0%}): "
                         f"{'met' if below >= GOALS['below_ngram'] else 'NOT met'}")
    if newest != first:
        below = 1 - (results[newest]["corpora"]["modern_english"]["perplexity"]
                     / results[first]["corpora"]["modern_english"]["perplexity"])
        lines.append(f"- v{newest} modern_english: {below:.1%} below v{first} (goal {GOALS['below_v1_modern']:.0%}): "
                     f"{'met' if below >= GOALS['below_v1_modern'] else 'NOT met'}")
    return lines


def report_text(env, results):
    lines = header("Language-model bench", env, PROTOCOL)
    lines += ["| version | trained on | test corpus | tokens | perplexity | backward | `<unk>` share | "
              "Kneser-Ney (its card) |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for version, result in sorted(results.items()):
        for corpus, row in result["corpora"].items():
            ngram = f"{row['ngram']:.1f}" if row["ngram"] else "–"
            lines.append(f"| v{version} | {result['trained_on']} | {corpus} | {row['tokens']:,} | "
                         f"{row['perplexity']:.1f} | {row['backward_perplexity']:.1f} | {row['unknown']:.2%} | "
                         f"{ngram} |")
    lines += ["", "Goals (issue 29):", *goal_lines(results), ""]
    lines += [f"- v{v}: `{r['recipe_command']}`" for v, r in sorted(results.items())]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    references = args.models or [f"{NAME}=={v}" for v in sorted(artifacts.version_dirs(registry.resolve(NAME).parent))]
    results = dict(map(score, references))
    env = environment(" ".join(["python bench/language_model.py", *sys.argv[1:]]))
    write_report(args.output, "language_model", report_text(env, results), {"environment": env, "results": results})


if __name__ == "__main__":
    main()
