"""Translation bench: attention `none` vs `dot` vs `additive`, trained the same way in one run.

    python bench/translation.py                       # the three variants, the catalogue model's flags
    python bench/translation.py --attentions none additive --catalogue-row --jobs 2
    python bench/translation.py --attentions none dot --epochs 1 --workdir /tmp/check   # a shorter check

Each variant is trained by `recipes/translation.py` itself with the
hyperparameters of the catalogue model `translate_es_en` (the recipe's
defaults while none is published), only `--attention` swapped, on the fixed
chapter split of `zoo.datasets.bible`. Reported per variant: sacreBLEU BLEU
and chrF on the whole test split and on test sources of at most 40 words
(beam search and greedy, from the recipe's own evaluation), training
minutes, and the latency of one 20-word test sentence through the exported
SavedModel's `translate` signature, greedy and beam 4. The goals (attention
BLEU >= 2x `none` and >= 30; greedy <= 50 ms, beam 4 <= 150 ms; training
<= 45 minutes) are checked and said met or not. Writes
`bench/results/translation.md` and `.json`.
Runs live in `--workdir`: rerun the same command after an interruption and
finished variants are reused, killed ones resume.
"""

import argparse
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tensorflow as tf
from run_info import environment, header, latency_ms, write_report
from variants import (REPO, catalogue_hyperparameters, catalogue_version, load_recipe, recipe_argv,
                      train_variant)

import zoo
from zoo.datasets import bible

ATTENTIONS = ("none", "dot", "additive")
CATALOGUE_MODEL = "translate_es_en"
LATENCY_WORDS = 20
LATENCY_CALLS = 50
WARMUP_CALLS = 3
GOALS = {"bleu_ratio": 2.0, "bleu": 30.0, "greedy_ms": 50.0, "beam4_ms": 150.0, "train_minutes": 45.0}
PROTOCOL = (
    "Every variant is trained by `recipes/translation.py` with the same flags (those of the catalogue "
    "model's card, only `--attention` swapped), seed and split: chapters with crc32(book chapter) % 20 == 0 "
    "are test, == 1 validation, the rest train. Each variant's beam search length penalty is chosen by the "
    "recipe on validation BLEU. BLEU and chrF: sacreBLEU (13a tokenisation, mixed case) "
    "of the detokenised output against the raw KJV verses, as computed by the recipe after training. "
    "Training minutes: the recipe's `fit` wall clock (model card `training_seconds`). Latency: the first "
    f"{LATENCY_WORDS}-word test verse through the `translate` signature of the exported SavedModel "
    "(`tf.saved_model.load`, no Keras), median and p90 of "
    f"{LATENCY_CALLS} calls after {WARMUP_CALLS} untimed ones, input tensors built inside the timing. "
    "With `--catalogue-row`, the row of the catalogue model's own attention is that model (trained by the "
    "same recipe with the same flags and seed), not a retrained copy."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--attentions", nargs="+", choices=("none", "dot", "general", "additive"),
                        default=list(ATTENTIONS))
    parser.add_argument("--epochs", type=int, help="override the catalogue model's epochs (a shorter check)")
    parser.add_argument("--catalogue-row", action="store_true",
                        help="add the catalogue model itself as the row of its attention variant instead of "
                             "retraining it (allowed only when its card has exactly the bench's flags)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="variants trained at once (each in its own process; they share the CPUs)")
    parser.add_argument("--workdir", type=Path, default=REPO / "runs" / "bench_translation",
                        help="the variants' runs; a rerun reuses finished ones and resumes killed ones")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results", help="where the report goes")
    return parser.parse_args(argv)


def latency_sentence():
    return next(s for s in bible.load("test").sources if len(s.split()) == LATENCY_WORDS)


def signature_latency(translate, sentence, beam_width):
    return latency_ms(lambda: translate(sentences=tf.constant([sentence]), beam_width=tf.constant(beam_width),
                                        max_length=tf.constant(0))["translations"].numpy(),
                      LATENCY_CALLS, WARMUP_CALLS)


def score_variant(version_dir, sentence):
    card = zoo.info(version_dir)
    translate = tf.saved_model.load(str(version_dir)).signatures["translate"]
    return {
        "test": card["test_metrics"],
        "test_greedy": card["test_metrics_greedy"],
        "train_minutes": card["training_seconds"] / 60,
        "epochs_run": card["epochs_trained"],
        "length_penalty": card["length_penalty"],
        "latency_ms": {"greedy": signature_latency(translate, sentence, 1),
                       "beam4": signature_latency(translate, sentence, 4)},
    }


def goals(results):
    """Each goal with what was measured and whether it is met."""
    checks = []
    if "none" in results:
        none = results["none"]["test"]["bleu"]
        for attention, result in results.items():
            if attention != "none":
                bleu = result["test"]["bleu"]
                checks.append((f"BLEU {attention} >= {GOALS['bleu_ratio']:g} x none", f"{bleu:.2f} vs {none:.2f}",
                               bleu >= GOALS["bleu_ratio"] * none))
    for attention, result in results.items():
        if attention != "none":
            bleu = result["test"]["bleu"]
            checks.append((f"BLEU {attention} >= {GOALS['bleu']:g}", f"{bleu:.2f}", bleu >= GOALS["bleu"]))
    for attention, result in results.items():
        minutes = result["train_minutes"]
        checks.append((f"{attention}: trains in <= {GOALS['train_minutes']:g} min", f"{minutes:.1f} min",
                       minutes <= GOALS["train_minutes"]))
        latency = result["latency_ms"]
        checks.append((f"{attention}: greedy median <= {GOALS['greedy_ms']:g} ms",
                       f"{latency['greedy']['median']:.1f} ms", latency["greedy"]["median"] <= GOALS["greedy_ms"]))
        checks.append((f"{attention}: beam 4 median <= {GOALS['beam4_ms']:g} ms",
                       f"{latency['beam4']['median']:.1f} ms", latency["beam4"]["median"] <= GOALS["beam4_ms"]))
    return [{"goal": goal, "measured": measured, "met": met} for goal, measured, met in checks]


def markdown(report):
    lines = header("Translation bench: Spanish→English Bible verses", report["environment"], PROTOCOL)
    lines += [f"Hyperparameters: {report['hyperparameters_from']}: `{shlex.join(report['recipe_flags'])}`", "",
              f"Latency sentence ({LATENCY_WORDS} words): \"{report['latency_sentence']}\"", "",
              "| attention | BLEU test | chrF test | BLEU test ≤ 40 words | BLEU greedy | length penalty | epochs "
              "| train min | greedy ms (p90) | beam 4 ms (p90) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for attention, r in report["results"].items():
        greedy, beam = r["latency_ms"]["greedy"], r["latency_ms"]["beam4"]
        lines.append(f"| {attention} | {r['test']['bleu']:.2f} | {r['test']['chrf']:.2f} | "
                     f"{r['test']['up_to_40_words']['bleu']:.2f} | {r['test_greedy']['bleu']:.2f} | "
                     f"{r['length_penalty']:g} | {r['epochs_run']} | {r['train_minutes']:.1f} | {greedy['median']:.1f} ({greedy['p90']:.1f}) | "
                     f"{beam['median']:.1f} ({beam['p90']:.1f}) |")
    lines += ["", f"BLEU signature: `{next(iter(report['results'].values()))['test']['bleu_signature']}`", "",
              "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {g['measured']} | {'yes' if g['met'] else 'no'} |" for g in report["goals"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    hyperparameters, source = catalogue_hyperparameters(load_recipe("recipes/translation.py"), CATALOGUE_MODEL)
    if args.epochs:
        hyperparameters["epochs"] = args.epochs
    sentence = latency_sentence()
    with ThreadPoolExecutor(args.jobs) as pool:
        trained = pool.map(lambda attention: train_variant(
            "recipes/translation.py", {**hyperparameters, "attention": attention}, attention, f"translate_{attention}",
            args.workdir), args.attentions)
        results = {a: score_variant(version_dir, sentence) for a, version_dir in zip(args.attentions, trained)}
    if args.catalogue_row:
        attention, version_dir = catalogue_version(CATALOGUE_MODEL, hyperparameters, "attention")
        results[attention] = score_variant(version_dir, sentence)
        results = {a: results[a] for a in ATTENTIONS + ("general",) if a in results}
    report = {
        "environment": environment(shlex.join(["python", "bench/translation.py", *sys.argv[1:]]),
                                   threads={"recipe_processes_at_once": args.jobs}),
        "hyperparameters_from": source,
        "recipe_flags": recipe_argv({k: v for k, v in hyperparameters.items() if k != "attention"}),
        "latency_sentence": sentence,
        "results": results,
        "goals": goals(results),
    }
    write_report(args.output, "translation", markdown(report), report)


if __name__ == "__main__":
    main()
