"""POS tagging bench: the zoo's Brown taggers vs NLTK's averaged perceptron, trained on the same split.

    python bench/pos.py                                        # both tag sets, every published version
    python bench/pos.py --tagsets universal --versions 2       # one tag set, one version
    python bench/pos.py --models runs/models          # models exported elsewhere (e.g. a --smoke recipe run)

One run per tag set (`universal`, `fine`) on the fixed Brown split of
`zoo.datasets.brown`: token accuracy on `test` and on the test tokens unseen
in `train`, training seconds, tagging throughput over the whole test split and
the latency of one 25-token sentence, for NLTK's `PerceptronTagger` (trained
here on `train`) and each version of the zoo's pretrained tagger (through its
SavedModel signatures and its Python API), plus the zoo's accuracy on raw
text through its in-graph tokeniser. With the universal tags, every tagger
is also scored on news of another genre and era that none trained on
(`zoo.datasets.wsj`). Prints a Markdown report and writes it to
`bench/results/pos.md` and `bench/results/pos.json`.
"""

import argparse
import random
import shlex
import sys
import time
from pathlib import Path

import nltk
import numpy as np
import tensorflow as tf
from nltk.tag.perceptron import PerceptronTagger

import zoo
from run_info import environment, header, latency_ms, write_report
from zoo import artifacts, registry
from zoo.datasets import brown, wsj
from zoo.hyperparameters import choice_list
from zoo.tagging import evaluation
from zoo.tagging.signatures import BATCH_SIZE as API_BATCH

REPO = Path(__file__).resolve().parent.parent
TAGSETS = ("universal", "fine")
MODELS = {"universal": "pos_brown", "fine": "pos_brown_fine"}
DEFAULT_ITERATIONS = 5
PERCEPTRON_SEED = 0  # `PerceptronTagger.train` shuffles the sentences with `random` between iterations
SIGNATURE_BATCH = 256
LATENCY_TOKENS = 25
LATENCY_CALLS = 200
WARMUP_CALLS = 5
GOALS = {"accuracy": 0.986, "unseen_accuracy": 0.92, "another_genre_margin": 0.02, "speed_kept": 2 / 3,
         "distilled_accuracy": 0.985}
PROTOCOL = (
    "Both taggers are trained on the Brown `train` split (sentences i % 10 not in {8, 9}) and scored on "
    "`test` (i % 10 == 9) with gold tokenisation; the zoo model early-stops on `validation`. An unseen "
    "token is a test token whose exact surface form never occurs among the train tokens. Training seconds: "
    "NLTK's `.train` timed here; the zoo's from the model card (`training_seconds`, measured where the "
    "model was trained). Throughput = test tokens / wall clock of a pass over the whole test split "
    "(signatures: input tensors built beforehand, outputs left as tensors; Python APIs: lists in, lists "
    "out), the second of two identical passes (the first is a warm-up: tracing, per-shape kernel caches); "
    "the perceptron is pure Python on one core, TensorFlow uses all cores. Latency: "
    f"one {LATENCY_TOKENS}-token test sentence, median and p90 of {LATENCY_CALLS} calls after "
    f"{WARMUP_CALLS} untimed ones, converting the input to a tensor inside the timing. Another genre "
    "(universal tags only): WSJ news of 1989 with gold Penn Treebank tags mapped to the universal ones, in "
    "the Treebank's tokens (`zoo.datasets.wsj`), scored on all tokens and on those Brown's scheme has "
    "(`wsj.comparable`: not the clitics, currency signs or `to` that Brown splits or tags otherwise); an "
    "unseen token is again one absent from Brown `train`."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--tagsets", type=choice_list(TAGSETS), default=",".join(TAGSETS),
                        help="comma-separated tag sets, from " + ", ".join(TAGSETS))
    parser.add_argument("--models", type=Path,
                        help="directory holding pos_brown/<version>/ and pos_brown_fine/<version>/; "
                             "None: the catalogue (zoo.registry)")
    parser.add_argument("--versions", type=int, nargs="+",
                        help="versions of each tag set's model to bench (default: every version found)")
    parser.add_argument("--perceptron-iterations", type=int, default=DEFAULT_ITERATIONS,
                        help="nr_iter of PerceptronTagger.train")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results",
                        help="directory for pos.md and pos.json")
    return parser.parse_args(argv)


# --- measuring ---------------------------------------------------------------------------------------


def timed(call):
    """`(result, seconds)` of one call."""
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def latency(call):
    """Median and p90 milliseconds of `LATENCY_CALLS` calls, after `WARMUP_CALLS` untimed ones."""
    timing = latency_ms(call, LATENCY_CALLS, WARMUP_CALLS)
    return {"median_ms": timing["median"], "p90_ms": timing["p90"]}


def throughput(call, test):
    """`(result, test tokens per second)` of the second of two calls over the whole test split."""
    call()
    result, seconds = timed(call)
    return result, test.num_tokens / seconds


def score(metrics):
    """The bench's accuracy fields of a `tagging_metrics` result: overall and on unseen tokens."""
    return {"tokens": metrics["examples"], "accuracy": metrics["accuracy"],
            "unseen_tokens": metrics["unseen_tokens"], "unseen_accuracy": metrics["unseen_accuracy"]}


def other_genre_score(predicted, other, known, tag_names):
    """`score` on the other genre, plus the accuracy on the tokens Brown's scheme has (`wsj.comparable`)."""
    hits = [p == g for ps, gs, keep in zip(predicted, other.tags, wsj.comparable_tokens())
            for p, g, kept in zip(ps, gs, keep) if kept]
    return {**score(evaluation.tagging_metrics(other.words, other.tags, predicted, known, tag_names)),
            "comparable_tokens": len(hits), "comparable_accuracy": float(np.mean(hits))}


def latency_sentence(test):
    """`(index, words)` of the first test sentence with exactly `LATENCY_TOKENS` tokens."""
    return next((i, words) for i, words in enumerate(test.words) if len(words) == LATENCY_TOKENS)


# --- NLTK's averaged perceptron ----------------------------------------------------------------------


def bench_perceptron(train, test, sentence, iterations, other=None):
    """Accuracy (on `test`, and on `other` when given), training seconds, throughput and latency of a
    `PerceptronTagger` trained on `train`."""
    random.seed(PERCEPTRON_SEED)
    tagger = PerceptronTagger(load=False)
    sentences = [list(zip(words, tags)) for words, tags in zip(train.words, train.tags)]
    _, training_seconds = timed(lambda: tagger.train(sentences, nr_iter=iterations))
    tagged, rate = throughput(lambda: [tagger.tag(words) for words in test.words], test)
    predicted = [[tag for _, tag in pairs] for pairs in tagged]
    known = {word for words in train.words for word in words}
    metrics = evaluation.tagging_metrics(test.words, test.tags, predicted, known, train.tag_names())
    if other is not None:
        other_score = other_genre_score([[tag for _, tag in tagger.tag(words)] for words in other.words], other,
                                        known, train.tag_names())
    return {
        "tagger": "perceptron",
        "implementation": f"nltk PerceptronTagger(load=False).train(nr_iter={iterations}), "
                          f"random.seed({PERCEPTRON_SEED})",
        "trained_on": f"train ({len(train)} sentences)",
        **score(metrics),
        "training_seconds": training_seconds,
        "training_seconds_source": "measured",
        "throughput": [{"path": "`tagger.tag(words)`", "batching": "one sentence per call",
                        "tokens_per_second": rate}],
        "latency": [{"path": "`tagger.tag(words)`", "input": f"{LATENCY_TOKENS} gold tokens",
                     **latency(lambda: tagger.tag(sentence))}],
        **({"another_genre": other_score} if other is not None else {}),
    }


# --- the zoo's tagger --------------------------------------------------------------------------------


def version_dirs(tagset, models, versions=None):
    """The SavedModel directories of the tag set's model, oldest first: those in `models`, else the
    catalogue's; only `versions` when given."""
    name = MODELS[tagset]
    found = artifacts.version_dirs(models / name if models else registry.resolve(name).parent)
    missing = set(versions or ()) - set(found)
    if missing:
        raise SystemExit(f"{name} has no version {sorted(missing)}; found {sorted(found)}")
    return [found[v] for v in sorted(found) if versions is None or v in versions]


def padded(sentences):
    """A `[B, N]` string tensor of token lists, padded with ""."""
    longest = max(len(words) for words in sentences)
    return tf.constant([list(words) + [""] * (longest - len(words)) for words in sentences], tf.string)


def chunks(items, size):
    return [items[start:start + size] for start in range(0, len(items), size)]


def decoded(outputs):
    """`(tokens, tags)` per sentence of a signature's outputs, "" padding dropped."""
    rows = zip(outputs["tokens"].numpy().tolist(), outputs["tags"].numpy().tolist())
    sentences = []
    for tokens, tags in rows:
        kept = [(token.decode(), tag.decode()) for token, tag in zip(tokens, tags) if token]
        sentences.append(([token for token, _ in kept], [tag for _, tag in kept]))
    return sentences


def raw_text_score(tagged, test):
    """The zoo's tags on raw text, scored on the sentences its tokeniser splits as the gold tokens."""
    same = [(tags, gold) for (tokens, tags), words, gold in zip(tagged, test.words, test.tags) if tokens == words]
    hits = [p == g for tags, gold in same for p, g in zip(tags, gold)]
    return {"sentences": len(test), "tokenised_as_gold": len(same) / len(test),
            "tokens_scored": len(hits), "accuracy_on_those": float(np.mean(hits))}


def zoo_throughput(model, signatures, test):
    """`(tags per sentence, raw-text (tokens, tags) per sentence, API pairs per sentence, throughput rows)`.

    The signatures get batches of `SIGNATURE_BATCH` sentences of similar length (test sentences sorted by
    length, as a batch job would send them) and, for comparison, consecutive test sentences.
    """
    by_length = sorted(range(len(test)), key=lambda i: len(test.words[i]))
    sorted_batches = [padded([test.words[i] for i in batch]) for batch in chunks(by_length, SIGNATURE_BATCH)]
    token_batches = [padded(words) for words in chunks(test.words, SIGNATURE_BATCH)]
    raw_batches = [tf.constant([" ".join(words) for words in batch]) for batch in chunks(test.words, SIGNATURE_BATCH)]
    _, sorted_rate = throughput(lambda: [signatures["tag_tokens"](tokens=b) for b in sorted_batches], test)
    token_outputs, token_rate = throughput(lambda: [signatures["tag_tokens"](tokens=b) for b in token_batches], test)
    raw_outputs, raw_rate = throughput(lambda: [signatures["serving_default"](sentences=b) for b in raw_batches], test)
    api_tagged, api_rate = throughput(lambda: model.tag_tokens(test.words), test)
    rows = [
        {"path": "SavedModel `tag_tokens`", "batching": f"{SIGNATURE_BATCH} test sentences of similar length per "
         "call (sorted by length), [B, N] padded with \"\" to the batch's longest", "tokens_per_second": sorted_rate},
        {"path": "SavedModel `tag_tokens`", "batching": f"{SIGNATURE_BATCH} consecutive test sentences per call "
         "(test order), [B, N] padded with \"\" to the batch's longest", "tokens_per_second": token_rate},
        {"path": "SavedModel `serving_default` (raw text)", "batching": f"{SIGNATURE_BATCH} consecutive sentences "
         "per call (test order), each the gold tokens joined with spaces", "tokens_per_second": raw_rate},
        {"path": "`model.tag_tokens(token_lists)`", "batching": f"one call with all {len(test)} test sentences "
         f"(the API calls `tag_tokens` on {API_BATCH} sentences of similar length at a time)",
         "tokens_per_second": api_rate},
    ]
    predicted = [tags for outputs in token_outputs for _, tags in decoded(outputs)]
    raw_tagged = [row for outputs in raw_outputs for row in decoded(outputs)]
    return predicted, raw_tagged, api_tagged, rows


def zoo_latency(model, signatures, sentence):
    """Latency rows of the two signatures and `model.tag` on one sentence."""
    text = " ".join(sentence)
    return [
        {"path": "SavedModel `tag_tokens`", "input": f"[1, {LATENCY_TOKENS}] gold tokens",
         **latency(lambda: signatures["tag_tokens"](tokens=tf.constant([sentence])))},
        {"path": "SavedModel `serving_default`", "input": "[1] sentence string",
         **latency(lambda: signatures["serving_default"](sentences=tf.constant([text])))},
        {"path": "`model.tag([sentence])`", "input": "one sentence string", **latency(lambda: model.tag([text]))},
    ]


def bench_zoo(path, train, test, sentence, other=None):
    """Accuracy (on `test`, and on `other` when given), card training seconds, throughput, latency and
    raw-text accuracy of one zoo tagger."""
    model = zoo.load(path)
    signatures = tf.saved_model.load(str(path)).signatures
    predicted, raw_tagged, api_tagged, throughput_rows = zoo_throughput(model, signatures, test)
    api_differing = sum(p != a for ps, pairs in zip(predicted, api_tagged) for p, (_, a) in zip(ps, pairs))
    card = model.card
    examples = {split: counts["sentences"] for split, counts in card["dataset"]["examples"].items()}
    return {
        "tagger": "zoo",
        "implementation": f"{card['name']} v{card['version']}",
        "trained_on": f"train ({examples['train']} sentences), early stop on validation ({examples['validation']})",
        **score(evaluation.evaluate(model, test, train)),
        "training_seconds": card["training_seconds"],
        "training_seconds_source": "model card",
        "teacher": card["hyperparameters"].get("teacher"),
        "card_test_metrics": {k: card["test_metrics"][k] for k in ("examples", "accuracy", "unseen_accuracy")},
        "api_tokens_differing_from_signature": api_differing,
        "throughput": throughput_rows,
        "latency": zoo_latency(model, signatures, sentence),
        "raw_text": raw_text_score(raw_tagged, test),
        **({"another_genre": other_genre_score([[tag for _, tag in row] for row in model.tag_tokens(other.words)],
                                               other, {w for words in train.words for w in words},
                                               model.tag_names)} if other is not None else {}),
    }


# --- one tag set, both taggers -----------------------------------------------------------------------


def bench_tagset(tagset, args):
    """The perceptron's and the zoo's rows for one tag set, and the latency sentence."""
    train, test = brown.load("train", tagset), brown.load("test", tagset)
    other = wsj.load() if tagset == "universal" else None
    index, sentence = latency_sentence(test)
    rows = [bench_perceptron(train, test, sentence, args.perceptron_iterations, other)]
    rows += [bench_zoo(path, train, test, sentence, other) for path in version_dirs(tagset, args.models, args.versions)]
    return {"tagset": tagset, "tags": len(train.tag_names()), "test_sentences": len(test),
            "latency_sentence": {"test_index": index, "text": " ".join(sentence)}, "rows": rows,
            **({"another_genre": {**wsj.describe(), "sentences": len(other), "tokens": other.num_tokens}}
               if other is not None else {}),
            "goals": goals(rows, tagset)}


def _tokens_per_second(row):
    return row["throughput"][0]["tokens_per_second"]  # the signature on batches of similar length


def goals(rows, tagset):
    """The goals of the newest zoo version: accuracy (universal tags only) against the perceptron of the same
    run, speed against the oldest version benched."""
    perceptron, oldest, newest = rows[0], rows[1], rows[-1]
    checks = []
    if tagset == "universal":
        ours, theirs = newest["another_genre"]["comparable_accuracy"], perceptron["another_genre"]["comparable_accuracy"]
        checks += [
            (f"Brown test accuracy >= {GOALS['accuracy']:.1%}", f"{newest['accuracy']:.2%}",
             newest["accuracy"] >= GOALS["accuracy"]),
            (f"unseen-word accuracy >= {GOALS['unseen_accuracy']:.0%}", f"{newest['unseen_accuracy']:.2%}",
             newest["unseen_accuracy"] >= GOALS["unseen_accuracy"]),
            (f"another genre (tokens Brown's scheme has) >= the perceptron + {GOALS['another_genre_margin']:.0%}",
             f"{ours:.2%} vs {theirs:.2%} ({(ours - theirs) * 100:+.2f} points)",
             ours - theirs >= GOALS["another_genre_margin"]),
        ]
    if newest is not oldest:
        kept = _tokens_per_second(newest) / _tokens_per_second(oldest)
        checks.append((f"keeps >= 2/3 of {oldest['implementation']}'s tokens/s",
                       f"{_tokens_per_second(newest):,.0f} vs {_tokens_per_second(oldest):,.0f} ({kept:.0%})",
                       kept >= GOALS["speed_kept"]))
    found = [{"model": newest["implementation"], "goal": goal, "measured": measured, "met": met}
             for goal, measured, met in checks]
    return found + [goal for row in rows[1:] if row.get("teacher") for goal in distilled_goals(row, oldest)]


def distilled_goals(student, oldest):
    """A tagger distilled from a `teacher` is the fast version: the oldest (Brown alone) version's tokens/s
    or more, and Brown test accuracy >= `GOALS["distilled_accuracy"]`."""
    speed = _tokens_per_second(student) / _tokens_per_second(oldest)
    return [{"model": student["implementation"], "goal": f"distilled from {student['teacher']}: "
                                                         f">= {oldest['implementation']}'s tokens/s",
             "measured": f"{_tokens_per_second(student):,.0f} vs {_tokens_per_second(oldest):,.0f} ({speed:.0%})",
             "met": speed >= 1.0},
            {"model": student["implementation"], "goal": f"distilled: Brown test accuracy >= "
                                                         f"{GOALS['distilled_accuracy']:.1%}",
             "measured": f"{student['accuracy']:.2%}", "met": student["accuracy"] >= GOALS["distilled_accuracy"]}]


# --- report ------------------------------------------------------------------------------------------


def _training_cell(row):
    suffix = " (model card)" if row["training_seconds_source"] == "model card" else ""
    return f"{row['training_seconds']:.1f}{suffix}"


def _tables(results):
    """The accuracy, throughput, latency and raw-text tables."""
    lines = ["| tag set | tagger | implementation | trained on | test accuracy | unseen-token accuracy | training s |",
             "|---|---|---|---|---:|---:|---:|"]
    for result in results:
        for row in result["rows"]:
            lines.append(f"| {result['tagset']} | {row['tagger']} | {row['implementation']} | {row['trained_on']} | "
                         f"{row['accuracy']:.4f} ({row['tokens']} tokens) | "
                         f"{row['unseen_accuracy']:.4f} ({row['unseen_tokens']} tokens) | {_training_cell(row)} |")
    lines += ["", "Throughput over the whole test split (gold tokens counted):", "",
              "| tag set | tagger | path | batching | tokens/s |", "|---|---|---|---|---:|"]
    for result in results:
        for row in result["rows"]:
            lines += [f"| {result['tagset']} | {row['tagger']} | {t['path']} | {t['batching']} | "
                      f"{t['tokens_per_second']:,.0f} |" for t in row["throughput"]]
    lines += ["", f"One {LATENCY_TOKENS}-token test sentence, {LATENCY_CALLS} calls:", "",
              "| tag set | tagger | path | input | median ms | p90 ms |", "|---|---|---|---|---:|---:|"]
    for result in results:
        for row in result["rows"]:
            lines += [f"| {result['tagset']} | {row['tagger']} | {lat['path']} | {lat['input']} | "
                      f"{lat['median_ms']:.2f} | {lat['p90_ms']:.2f} |" for lat in row["latency"]]
    lines += ["", "The zoo on raw text (SavedModel `serving_default` on each test sentence's gold tokens joined "
                  "with spaces, tokenised in-graph); accuracy counted only on the sentences tokenised exactly as "
                  "the gold tokens:", "",
              "| tag set | model | sentences tokenised as gold | token accuracy on those sentences |",
              "|---|---|---:|---:|"]
    for result in results:
        for row in result["rows"][1:]:
            raw = row["raw_text"]
            lines.append(f"| {result['tagset']} | {row['implementation']} | {raw['tokenised_as_gold']:.4f} of "
                         f"{raw['sentences']} | {raw['accuracy_on_those']:.4f} ({raw['tokens_scored']} tokens) |")
    return lines + _another_genre_table(results) + _goals_table(results)


def _another_genre_table(results):
    lines = []
    for result in results:
        if "another_genre" not in result:
            continue
        data = result["another_genre"]
        lines += ["", f"Another genre, trained on by none ({data['name']}: {data['sentences']} sentences, "
                      f"{data['tokens']} tokens; {data['source']}):", "",
                  "| tagger | implementation | accuracy, all tokens | on the tokens Brown's scheme has | "
                  "unseen-token accuracy |", "|---|---|---:|---:|---:|"]
        for row in result["rows"]:
            scored = row["another_genre"]
            lines.append(f"| {row['tagger']} | {row['implementation']} | {scored['accuracy']:.4f} | "
                         f"{scored['comparable_accuracy']:.4f} ({scored['comparable_tokens']} tokens) | "
                         f"{scored['unseen_accuracy']:.4f} ({scored['unseen_tokens']} tokens) |")
    return lines


def _goals_table(results):
    lines = ["", "| tag set | model | goal | measured | met |", "|---|---|---|---|---|"]
    lines += [f"| {result['tagset']} | {g['model']} | {g['goal']} | {g['measured']} | {'yes' if g['met'] else 'no'} |"
              for result in results for g in result["goals"]]
    return lines


def markdown(report):
    """The report as Markdown."""
    lines = header("POS tagging bench", report["environment"], report["protocol"])
    for result in report["results"]:
        lines.append(f"- {result['tagset']} ({result['tags']} tags in train): latency sentence = test sentence "
                     f"#{result['latency_sentence']['test_index']}, \"{result['latency_sentence']['text']}\"")
        for zoo_row in result["rows"][1:]:
            card = zoo_row["card_test_metrics"]
            lines.append(f"  - {zoo_row['implementation']}'s card: test accuracy {card['accuracy']:.4f}, unseen "
                         f"{card['unseen_accuracy']:.4f} ({card['examples']} tokens); `model.tag_tokens` tags "
                         f"differing from the `tag_tokens` signature's: "
                         f"{zoo_row['api_tokens_differing_from_signature']} tokens")
    return "\n".join(lines + [""] + _tables(report["results"])) + "\n"


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "bench/pos.py", *(sys.argv[1:] if argv is None else argv)])
    results = [bench_tagset(tagset, args) for tagset in args.tagsets]
    env = environment(command, versions={"nltk": nltk.__version__})
    report = {"environment": env, "protocol": PROTOCOL, "results": results}
    write_report(args.output, "pos", markdown(report), report)
    return report


if __name__ == "__main__":
    main()
