"""Translation bench: the RNN with each attention, and a Transformer peer, on one training budget, both domains.

    python bench/translation.py --catalogue-row            # the published model + every peer at its minutes
    python bench/translation.py --catalogue-row --rows dot # the published model alone (no training)
    python bench/translation.py --rows general transformer --budget-minutes 30 --jobs 2   # a shorter check

Every row is trained by `recipes/translation.py` itself on the catalogue
model's corpora (Bible verses split by chapter, software messages split by
package), with the same BPE vocabulary (learned the same
way on the same training split) and the flags of the catalogue model
`translate_es_en`: the RNN rows swap `--attention` (`none` is the plain
seq2seq context vector), the `transformer` row swaps the network for
`zoo.translation.transformer` (KerasHub layers). Each row trains for the same
minutes (`--budget-minutes`, default the catalogue model's own budget or training
time). Reported per row and per domain: sacreBLEU BLEU and chrF of beam search and greedy
BLEU on the test split, the share of names and of verbatim spans kept; the
messages of GNU bash, coreutils, tar and gettext (never trained on, the
independent check); parameters, export size, training minutes and the
latency of one 20-word test verse through the exported SavedModel's
`translate` signature, greedy and beam 4. Writes
`bench/results/translation.md` and `.json`. Runs live in `--workdir`: rerun
the same command after an interruption and finished rows are reused, killed
ones resume.
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
from zoo.datasets import bible, gettext_es
from zoo.translation.evaluation import evaluate

ROWS = ("none", "dot", "general", "additive", "transformer")
CATALOGUE_MODEL = "translate_es_en"
LATENCY_WORDS = 20
LATENCY_CALLS = 50
WARMUP_CALLS = 3
# the peer's own flags: the Transformer base recipe scaled to the RNN's width (Vaswani et al., 2017)
TRANSFORMER_FLAGS = {"architecture": "transformer", "stack": 3, "heads": 4, "feedforward": 1024,
                     "learning_rate": 1e-3, "warmup_steps": 1000, "dropout": 0.2}
GOALS = {"bible_bleu": 39.0, "names": 0.90, "software_bleu": 35.0, "software_chrf": 60.0, "verbatim": 0.98,
         "greedy_ms": 40.0, "export_mb": 30.0}
DOMAINS = {"bible": bible.NAME, "software": gettext_es.NAME}
PROTOCOL = (
    "Every row is trained by `recipes/translation.py` with the catalogue model's flags, seed and split (chapters "
    "with crc32(book chapter) % 20 == 0 are test, == 1 validation, the rest train), one joint BPE vocabulary "
    "learned on the training split, and the same training minutes: with `--budget-minutes` the recipe trains "
    "until the minutes are spent, its learning rate warming up and then following a cosine to the last minute. "
    "RNN rows swap only `--attention`; the Transformer row swaps the network "
    f"(`{shlex.join(recipe_argv(TRANSFORMER_FLAGS))}`, set before any run, not tuned). Each row's checkpoint "
    "average and beam length penalty are chosen by the recipe on validation BLEU. BLEU and chrF: sacreBLEU "
    "(13a tokenisation, mixed case) of the detokenised output against the raw KJV verses and English messages "
    "(software test: a fixed sample of 3 000 pairs of the test packages). Names kept: of the capitalised words of "
    "each Bible test reference other than its first, the share the translation holds. Verbatim kept: of the test "
    "messages whose source has placeholders, options, paths, numbers or markup that the reference keeps, the share "
    "whose translation keeps them all. Independent: every message of GNU bash, coreutils, tar and gettext, "
    "packages no row trained on or was chosen by. Latency: "
    f"the first {LATENCY_WORDS}-word test verse through the `translate` signature of the exported SavedModel "
    f"(`tf.saved_model.load`, no Keras), median and p90 of {LATENCY_CALLS} calls after {WARMUP_CALLS} untimed "
    "ones. With `--catalogue-row`, the row of the catalogue model's attention is the published model itself."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument("--budget-minutes", type=float,
                        help="training minutes of every trained row (default: the catalogue model's own)")
    parser.add_argument("--catalogue-row", action="store_true",
                        help="the catalogue model itself is the row of its attention instead of a retrained copy")
    parser.add_argument("--jobs", type=int, default=1,
                        help="rows trained at once (each in its own process; they share the CPUs, so each row's "
                             "minutes buy less)")
    parser.add_argument("--workdir", type=Path, default=REPO / "runs" / "bench_translation",
                        help="the rows' runs; a rerun reuses finished ones and resumes killed ones")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results", help="where the report goes")
    return parser.parse_args(argv)


def latency_sentence():
    return next(s for s in bible.load("test").sources if len(s.split()) == LATENCY_WORDS)


def signature_latency(translate, sentence, beam_width):
    return latency_ms(lambda: translate(sentences=tf.constant([sentence]), beam_width=tf.constant(beam_width),
                                        max_length=tf.constant(0))["translations"].numpy(),
                      LATENCY_CALLS, WARMUP_CALLS)


def export_megabytes(version_dir):
    return sum(f.stat().st_size for f in Path(version_dir).rglob("*") if f.is_file()) / 2**20


def by_domain(card, key):
    """The metrics of each domain (`DOMAINS`) in a card's evaluation `key`; `None` for a domain it lacks."""
    parts = card[key].get("by_part") or {card["dataset"]["name"]: card[key]}
    return {domain: parts.get(name) for domain, name in DOMAINS.items()}


def score_row(version_dir, sentence, independent):
    card = zoo.info(version_dir)
    translate = tf.saved_model.load(str(version_dir)).signatures["translate"]
    return {
        "description": card["description"],
        "test": by_domain(card, "test_metrics"),
        "test_greedy": by_domain(card, "test_metrics_greedy"),
        "independent": dict(evaluate(zoo.load(version_dir), independent)),
        "parameters": card["parameters"],
        "export_mb": export_megabytes(version_dir),
        "train_minutes": card["training_seconds"] / 60,
        "epochs_run": card["epochs_trained"],
        "latency_ms": {"greedy": signature_latency(translate, sentence, 1),
                       "beam4": signature_latency(translate, sentence, 4)},
    }


def row_flags(row, hyperparameters, budget_minutes):
    flags = {**hyperparameters, "budget_minutes": budget_minutes}
    if row == "transformer":  # --attention is the RNN's: the peer's run must not change with the catalogue's choice
        return {**{k: v for k, v in flags.items() if k != "attention"}, **TRANSFORMER_FLAGS}
    return {**flags, "attention": row}


def goals(results, catalogue_attention):
    """Each goal with what was measured and whether it is met."""
    checks = []
    if catalogue_attention in results:
        r = results[catalogue_attention]
        bible_test, software_test = r["test"]["bible"] or {}, r["test"]["software"] or {}
        checks += [
            (f"{catalogue_attention}: Bible BLEU >= {GOALS['bible_bleu']:g}", _number(bible_test, "bleu"),
             bible_test.get("bleu", 0) >= GOALS["bible_bleu"]),
            (f"{catalogue_attention}: Bible names kept >= {GOALS['names']:.0%}", _share(bible_test, "names_kept"),
             (bible_test.get("names_kept") or {}).get("share", 0) >= GOALS["names"]),
            (f"{catalogue_attention}: software BLEU >= {GOALS['software_bleu']:g}", _number(software_test, "bleu"),
             software_test.get("bleu", 0) >= GOALS["software_bleu"]),
            (f"{catalogue_attention}: software chrF >= {GOALS['software_chrf']:g}", _number(software_test, "chrf"),
             software_test.get("chrf", 0) >= GOALS["software_chrf"]),
            (f"{catalogue_attention}: software verbatim spans kept >= {GOALS['verbatim']:.0%}",
             _share(software_test, "verbatim_kept"),
             ((software_test.get("verbatim_kept") or {}).get("share") or 0) >= GOALS["verbatim"]),
            (f"{catalogue_attention}: greedy median <= {GOALS['greedy_ms']:g} ms",
             f"{r['latency_ms']['greedy']['median']:.1f} ms",
             r["latency_ms"]["greedy"]["median"] <= GOALS["greedy_ms"]),
            (f"{catalogue_attention}: export <= {GOALS['export_mb']:g} MB", f"{r['export_mb']:.1f} MB",
             r["export_mb"] <= GOALS["export_mb"]),
        ]
    rnn = {row: r for row, r in results.items() if row not in ("transformer", "none")}
    if rnn and "transformer" in results:
        peer = results["transformer"]["test"]
        for domain in DOMAINS:
            scores = {row: (r["test"][domain] or {}).get("bleu", 0) for row, r in rnn.items()}
            best = max(scores, key=scores.get)
            peer_bleu = (peer[domain] or {}).get("bleu", 0)
            checks.append((f"RNN with attention beats the same-budget Transformer ({domain} test BLEU)",
                           f"{best} {scores[best]:.2f} vs Transformer {peer_bleu:.2f} "
                           f"({scores[best] - peer_bleu:+.2f})",
                           scores[best] > peer_bleu))
    return [{"goal": goal, "measured": measured, "met": met} for goal, measured, met in checks]


def _number(metrics, key):
    return f"{metrics[key]:.2f}" if key in metrics else "not evaluated"


def _share(metrics, key):
    counts = metrics.get(key)
    if not counts or counts["share"] is None:
        return "not evaluated"
    return f"{counts['kept']} of {counts['of']} ({counts['share']:.1%})"


def _cells(metrics, greedy):
    if metrics is None:
        return "– | – | – | –"
    verbatim = (metrics.get("verbatim_kept") or {}).get("share")
    return (f"{metrics['bleu']:.2f} | {metrics['chrf']:.2f} | {greedy['bleu']:.2f} | "
            + (f"{verbatim:.1%}" if verbatim is not None else "–"))


def markdown(report):
    lines = header("Translation bench: Spanish→English Bible verses and software messages", report["environment"],
                   PROTOCOL)
    lines += [f"Flags: {report['hyperparameters_from']}: `{shlex.join(report['recipe_flags'])}`; training budget "
              f"{report['budget_minutes']:.1f} minutes per row.", "",
              f"Latency sentence ({LATENCY_WORDS} words): \"{report['latency_sentence']}\"", "",
              "| row | network | Bible BLEU | chrF | greedy BLEU | verbatim kept | software BLEU | chrF | greedy BLEU "
              "| verbatim kept | independent BLEU | chrF | names kept | parameters | MB | train min "
              "| greedy ms (p90) | beam 4 ms (p90) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row, r in report["results"].items():
        greedy, beam = r["latency_ms"]["greedy"], r["latency_ms"]["beam4"]
        bible_test = r["test"]["bible"]
        names = (bible_test or {}).get("names_kept", {}).get("share")
        lines.append(f"| {row} | {r['description']} | {_cells(bible_test, r['test_greedy']['bible'])} | "
                     f"{_cells(r['test']['software'], r['test_greedy']['software'])} | "
                     f"{r['independent']['bleu']:.2f} | {r['independent']['chrf']:.2f} | "
                     + (f"{names:.1%}" if names is not None else "–")
                     + f" | {r['parameters']:,} | {r['export_mb']:.1f} | {r['train_minutes']:.1f} | "
                     f"{greedy['median']:.1f} ({greedy['p90']:.1f}) | {beam['median']:.1f} ({beam['p90']:.1f}) |")
    lines += ["", f"BLEU signature: `{next(iter(report['results'].values()))['independent']['bleu_signature']}`", "",
              "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {g['measured']} | {'yes' if g['met'] else 'no'} |" for g in report["goals"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    hyperparameters, source = catalogue_hyperparameters(load_recipe("recipes/translation.py"), CATALOGUE_MODEL)
    published_budget = hyperparameters.pop("budget_minutes", None)
    catalogue_attention = hyperparameters["attention"]
    # the catalogue model's own budget, or its training time where it trained by epochs
    budget = args.budget_minutes or published_budget or zoo.info(CATALOGUE_MODEL)["training_seconds"] / 60
    # the peer first: beating it is the goal, and a long run may end over several sessions
    trained_rows = sorted((r for r in args.rows if not (args.catalogue_row and r == catalogue_attention)),
                          key=lambda r: r != "transformer")
    sentence = latency_sentence()
    independent = gettext_es.load("independent")
    with ThreadPoolExecutor(args.jobs) as pool:
        # every row trained before any is timed: a latency measured beside a training run measures the contention
        trained = list(pool.map(lambda row: train_variant(
            "recipes/translation.py", row_flags(row, hyperparameters, budget), row, f"translate_{row}", args.workdir),
            trained_rows))
    results = {row: score_row(version_dir, sentence, independent) for row, version_dir in zip(trained_rows, trained)}
    if args.catalogue_row and catalogue_attention in args.rows:
        _, version_dir = catalogue_version(CATALOGUE_MODEL, hyperparameters, "attention")
        results[catalogue_attention] = score_row(version_dir, sentence, independent)
    results = {row: results[row] for row in ROWS if row in results}
    report = {
        "environment": environment(shlex.join(["python", "bench/translation.py", *sys.argv[1:]]),
                                   threads={"recipe_processes_at_once": args.jobs}),
        "hyperparameters_from": source,
        "recipe_flags": recipe_argv({k: v for k, v in hyperparameters.items() if k != "attention"}),
        "budget_minutes": budget,
        "latency_sentence": sentence,
        "results": results,
        "goals": goals(results, catalogue_attention),
    }
    write_report(args.output, "translation", markdown(report), report)


if __name__ == "__main__":
    main()
