"""Captioning bench: the attention decoder vs the init-state decoder, trained the same way in one run.

    python bench/captioning.py                                  # both decoders, the catalogue model's flags
    python bench/captioning.py --catalogue-row                  # the published model is the attention row
    python bench/captioning.py --epochs 1 --workdir /tmp/check  # a shorter check

Each decoder is trained by `recipes/image_captioning.py` itself with the
hyperparameters of the catalogue model `caption_scenes` (the recipe's
defaults while none is published), only `--decoder` swapped, on the fixed
splits of `zoo.datasets.scenes`. Reported per decoder: BLEU-4 and attribute
accuracy on test and on `compositional` (colour-shape pairs never seen in
training), beam search and greedy, from the recipe's own evaluation;
training minutes; and the latency of one test image (PNG bytes) through the
exported SavedModel's `caption` signature, greedy and beam 3. The goals
(BLEU-4 >= 90 on test and >= 70 on compositional, attribute accuracy >= 98 %
on test, attention beating init-state on compositional, greedy <= 20 ms,
training <= 30 minutes) are checked and said met or not. Writes
`bench/results/captioning.md` and `.json`.
Runs live in `--workdir`: rerun the same command after an interruption and
finished decoders are reused, killed ones resume.
"""

import argparse
import shlex
import sys
from pathlib import Path

import tensorflow as tf
from run_info import environment, header, latency_ms, write_report
from variants import REPO, catalogue_hyperparameters, catalogue_version, load_recipe, recipe_argv, train_variant

import zoo
from zoo.captioning.config import DECODERS
from zoo.captioning.signatures import example_png

RECIPE = "recipes/image_captioning.py"
CATALOGUE_MODEL = "caption_scenes"
LATENCY_CALLS = 100
WARMUP_CALLS = 5
GOALS = {"bleu_test": 90.0, "bleu_compositional": 70.0, "attribute_accuracy_test": 0.98, "greedy_ms": 20.0,
         "train_minutes": 30.0}
PROTOCOL = (
    "Both decoders are trained by `recipes/image_captioning.py` with the same flags (those of the catalogue "
    "model's card, only `--decoder` swapped) and seed, on the generated scenes' fixed splits (train 20 000, "
    "test and compositional 1 000 images; compositional images all hold a colour-shape pair that no training "
    "image has). BLEU-4: sacreBLEU (13a) against every reference caption of an image; attribute accuracy: the "
    "mean of the shape, colour, size and relation scores of `zoo.datasets.scenes.attribute_scores` (each "
    "caption parsed and checked against the scene's description); both as computed by the recipe after "
    "training. Training minutes: the recipe's epochs' wall clock (model card `training_seconds`). Latency: the "
    "first test image as PNG bytes through the `caption` signature of the exported SavedModel "
    f"(`tf.saved_model.load`, no Keras), median and p90 of {LATENCY_CALLS} calls after {WARMUP_CALLS} untimed "
    "ones. With `--catalogue-row`, the row of the catalogue model's own decoder is that model (trained by the "
    "same recipe with the same flags and seed), not a retrained copy."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--decoders", nargs="+", choices=DECODERS, default=list(DECODERS))
    parser.add_argument("--epochs", type=int, help="override the catalogue model's epochs (a shorter check)")
    parser.add_argument("--catalogue-row", action="store_true",
                        help="use the catalogue model itself as the row of its decoder instead of retraining it "
                             "(allowed only when its card has exactly the bench's flags)")
    parser.add_argument("--workdir", type=Path, default=REPO / "runs" / "bench_captioning",
                        help="the decoders' runs; a rerun reuses finished ones and resumes killed ones")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results", help="where the report goes")
    return parser.parse_args(argv)


def signature_latency(caption, image_bytes, beam_width):
    return latency_ms(lambda: caption(image_bytes=tf.constant([image_bytes]), beam_width=tf.constant(beam_width),
                                      max_length=tf.constant(0))["captions"].numpy(),
                      LATENCY_CALLS, WARMUP_CALLS)


def score_variant(version_dir):
    card = zoo.info(version_dir)
    caption = tf.saved_model.load(str(version_dir)).signatures["caption"]
    image = example_png()
    return {
        **{key: card[f"{key}_metrics"] for key in ("test", "compositional")},
        **{f"{key}_greedy": card[f"{key}_metrics_greedy"] for key in ("test", "compositional")},
        "train_minutes": card["training_seconds"] / 60,
        "epochs_run": card["epochs_trained"],
        "parameters": card["parameters"],
        "latency_ms": {"greedy": signature_latency(caption, image, 1), "beam3": signature_latency(caption, image, 3)},
    }


def goals(results):
    """Each goal with what was measured and whether it is met."""
    checks = []
    for decoder, r in results.items():
        test, compositional = r["test"], r["compositional"]
        checks += [
            (f"{decoder}: BLEU-4 test >= {GOALS['bleu_test']:g}", f"{test['bleu']:.2f}",
             test["bleu"] >= GOALS["bleu_test"]),
            (f"{decoder}: BLEU-4 compositional >= {GOALS['bleu_compositional']:g}", f"{compositional['bleu']:.2f}",
             compositional["bleu"] >= GOALS["bleu_compositional"]),
            (f"{decoder}: attribute accuracy test >= {GOALS['attribute_accuracy_test']:.0%}",
             f"{test['attribute_accuracy']:.2%}", test["attribute_accuracy"] >= GOALS["attribute_accuracy_test"]),
            (f"{decoder}: greedy median <= {GOALS['greedy_ms']:g} ms", f"{r['latency_ms']['greedy']['median']:.1f} ms",
             r["latency_ms"]["greedy"]["median"] <= GOALS["greedy_ms"]),
            (f"{decoder}: trains in <= {GOALS['train_minutes']:g} min", f"{r['train_minutes']:.1f} min",
             r["train_minutes"] <= GOALS["train_minutes"]),
        ]
    if {"attention", "init-state"} <= set(results):
        attention, init = results["attention"]["compositional"], results["init-state"]["compositional"]
        for key, shown in (("bleu", "BLEU-4"), ("attribute_accuracy", "attribute accuracy")):
            checks.append((f"attention beats init-state on compositional ({shown})",
                           f"{attention[key]:.4g} vs {init[key]:.4g}", attention[key] > init[key]))
    return [{"goal": goal, "measured": measured, "met": met} for goal, measured, met in checks]


def markdown(report):
    lines = header("Captioning bench: generated scenes", report["environment"], PROTOCOL)
    lines += [f"Hyperparameters: {report['hyperparameters_from']}: `{shlex.join(report['recipe_flags'])}`", "",
              "| decoder | split | BLEU-4 | attribute accuracy | exactly true | BLEU-4 greedy | attribute acc. greedy |",
              "|---|---|---|---|---|---|---|"]
    for decoder, r in report["results"].items():
        for split in ("test", "compositional"):
            beam, greedy = r[split], r[f"{split}_greedy"]
            lines.append(f"| {decoder} | {split} | {beam['bleu']:.2f} | {beam['attribute_accuracy']:.2%} | "
                         f"{beam['exact']:.2%} | {greedy['bleu']:.2f} | {greedy['attribute_accuracy']:.2%} |")
    lines += ["", "| decoder | parameters | epochs | train min | greedy ms (p90) | beam 3 ms (p90) |",
              "|---|---|---|---|---|---|"]
    for decoder, r in report["results"].items():
        greedy, beam = r["latency_ms"]["greedy"], r["latency_ms"]["beam3"]
        lines.append(f"| {decoder} | {r['parameters']:,} | {r['epochs_run']} | {r['train_minutes']:.1f} | "
                     f"{greedy['median']:.1f} ({greedy['p90']:.1f}) | {beam['median']:.1f} ({beam['p90']:.1f}) |")
    lines += ["", f"BLEU signature: `{next(iter(report['results'].values()))['test']['bleu_signature']}`", "",
              "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {g['measured']} | {'yes' if g['met'] else 'no'} |" for g in report["goals"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    hyperparameters, source = catalogue_hyperparameters(load_recipe(RECIPE), CATALOGUE_MODEL)
    if args.epochs:
        hyperparameters["epochs"] = args.epochs
    decoders = list(args.decoders)
    results = {}
    if args.catalogue_row:
        decoder, version_dir = catalogue_version(CATALOGUE_MODEL, hyperparameters, "decoder")
        results[decoder] = score_variant(version_dir)
        decoders = [d for d in decoders if d != decoder]
    for decoder in decoders:
        version_dir = train_variant(RECIPE, {**hyperparameters, "decoder": decoder}, decoder,
                                    f"caption_{decoder.replace('-', '_')}", args.workdir)
        results[decoder] = score_variant(version_dir)
    results = {d: results[d] for d in DECODERS if d in results}
    report = {
        "environment": environment(shlex.join(["python", "bench/captioning.py", *sys.argv[1:]])),
        "hyperparameters_from": source,
        "recipe_flags": recipe_argv({k: v for k, v in hyperparameters.items() if k != "decoder"}),
        "results": results,
        "goals": goals(results),
    }
    write_report(args.output, "captioning", markdown(report), report)


if __name__ == "__main__":
    main()
