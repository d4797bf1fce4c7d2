"""Sensor classification bench: the zoo's RNNs and `dense` baseline vs sktime's MiniRocket and 1-NN DTW.

    python bench/sensor.py                  # the full run: every method on every published dataset
    python bench/sensor.py --quick          # a few epochs and one seed: checks the bench end to end
    python bench/sensor.py --datasets JapaneseVowels --methods gru dense minirocket

One run, side by side on the datasets of the published sensor models (UEA BasicMotions and
JapaneseVowels, UCR GunPoint and PLAID): TEST accuracy,
fit seconds and predict milliseconds per series of every method, the latency
of one series through the SavedModel signature, `model.predict` and
`model.classify`, the TEST accuracy under each perturbation a real sensor
brings (`zoo.sensor.perturbations.STANDARD`: noise, resampling, calibration
offset and gain) of every zoo model, of MiniRocket and of the published ones, and whether
the zoo's goals are met. Zoo models are trained
by `recipes/sensor_classification.py` itself with the catalogue model's
hyperparameters (the recipe's defaults while none is published), swapping only
`--cell`. Prints a Markdown report and writes it to `bench/results/sensor.md`
and `bench/results/sensor.json`.
"""

import argparse
import importlib
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import sktime
import tensorflow as tf
from sklearn.linear_model import RidgeClassifierCV
from sklearn.preprocessing import StandardScaler
from sktime.classification.distance_based import KNeighborsTimeSeriesClassifier
from sktime.classification.kernel_based import RocketClassifier
from sktime.dists_kernels._numba_distances import distance_factory
from sktime.pipeline import make_pipeline
from sktime.transformations.panel.rocket import MiniRocketMultivariateVariable

import zoo
from run_info import environment, header, latency_ms, write_report
from zoo.datasets import uea
from zoo.sensor import evaluation, perturbations

REPO = Path(__file__).resolve().parent.parent
DATASETS = ("BasicMotions", "JapaneseVowels", "GunPoint", "PLAID")
ZOO_METHODS = ("elman", "gru", "lstm", "dense")
SKTIME_METHODS = ("minirocket", "dtw")
QUICK_EPOCHS = 3
DEFAULT_SEEDS = 3
LATENCY_CALLS = 50
WARMUP_CALLS = 5
SPEEDUP_GOAL = 5.0
ROBUSTNESS_GOAL = {"most": 0.03, "mean": 0.01}  # accuracy a perturbation may cost: each, and on average
PROTOCOL = (
    "All methods are scored on the archive's official TEST split. sktime methods fit on the official TRAIN "
    "(`full_train`); zoo models are trained by the recipe on `train` (80 % of TRAIN) and early-stop on "
    "`validation` (the other 20 %). Fit = wall clock of `fit` (zoo: the card's `training_seconds`); "
    "predict = the whole TEST set in one call, divided by its size (zoo: `model.classify` on the list of "
    "series), after a warm-up call (numba JIT, tf.function tracing) outside the timing. Accuracy is the "
    "mean ± population std over seeds (weights, shuffling, noise; MiniRocket's kernels); 1-NN DTW is "
    "deterministic and runs once."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=ZOO_METHODS + SKTIME_METHODS,
                        default=list(ZOO_METHODS + SKTIME_METHODS))
    parser.add_argument("--seeds", type=int,
                        help=f"seeds per stochastic method (default {DEFAULT_SEEDS}; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} epochs and one seed, for trying the bench")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results",
                        help="directory for sensor.md and sensor.json")
    args = parser.parse_args(argv)
    args.seeds = args.seeds or (1 if args.quick else DEFAULT_SEEDS)
    return args


# --- zoo models, trained by the recipe --------------------------------------------------------------


def recipe_hyperparameters(recipe, dataset):
    """`(hyperparameters, source)`: the catalogue model's for `dataset`, or the recipe's defaults."""
    defaults = {k: v for k, v in vars(recipe.parse_args([])).items() if k not in recipe.RUN_LOCATION_FLAGS}
    try:
        card = zoo.info(recipe.model_name(dataset))
    except ValueError:
        return {**defaults, "dataset": dataset}, "recipe defaults (no pretrained model in the catalogue)"
    published = {k: v for k, v in card["hyperparameters"].items() if k in defaults}
    return {**defaults, **published, "dataset": dataset}, f"model card of {card['name']} v{card['version']}"


def recipe_argv(hyperparameters):
    """Recipe flags for a hyperparameter dict: `--key value`, booleans as bare flags."""
    argv = []
    for key, value in hyperparameters.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv


def train_zoo(recipe, hyperparameters, cell, seed, scratch):
    """Runs the recipe with `cell` and `seed` swapped in; returns the exported version directory."""
    run = scratch / f"{hyperparameters['dataset']}-{cell}-seed{seed}"
    argv = recipe_argv({**hyperparameters, "cell": cell, "seed": seed})
    return recipe.main([*argv, "--out", str(run / "models"), "--workdir", str(run / "work")])


def score_zoo(version_dir, test):
    """TEST accuracy, the card's fit seconds and `classify` ms per series of one exported version."""
    model = zoo.load(version_dir)
    model.classify(test.series[:2])  # traces the serving function
    started = time.perf_counter()
    model.classify(test.series)
    elapsed = time.perf_counter() - started
    return {
        "accuracy": evaluation.evaluate(model, test)["accuracy"],
        "fit_seconds": model.card["training_seconds"],
        "predict_ms_per_series": 1000 * elapsed / len(test),
        "examples": model.card["dataset"]["examples"],
        "robustness": perturbations.robustness(model, test),
    }


def published_robustness(recipe, dataset, test):
    """`{"model", "robustness"}` of the published model of `dataset`, or `None` when there is none."""
    try:
        model = zoo.load(recipe.model_name(dataset))
    except ValueError:
        return None
    return {"dataset": dataset, "model": f"{model.card['name']} v{model.card['version']}",
            "robustness": perturbations.robustness(model, test)}


def median_ms(call):
    """Median wall clock of `LATENCY_CALLS` calls, after `WARMUP_CALLS` untimed ones."""
    return latency_ms(call, LATENCY_CALLS, WARMUP_CALLS)["median"]


def one_series_latency(version_dir, series):
    """Milliseconds for one `[T, C]` series: SavedModel signature vs `model.predict` vs `model.classify`."""
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    model = zoo.load(version_dir)
    batch = series[None]
    timings = {
        "signature_ms": median_ms(lambda: signature(series=tf.constant(batch))),
        "predict_ms": median_ms(lambda: model.predict(batch, verbose=0)),
        "classify_ms": median_ms(lambda: model.classify(series)),
    }
    return {"steps": len(series), **timings, "speedup": timings["predict_ms"] / timings["signature_ms"]}


# --- sktime baselines --------------------------------------------------------------------------------


def panel(series):
    """An sktime Panel: numpy3D `[N, C, T]` when all lengths agree, else a pd-multiindex frame."""
    if len({len(s) for s in series}) == 1:
        return np.stack(series).transpose(0, 2, 1).astype(np.float64)
    return pd.concat({i: pd.DataFrame(s.astype(np.float64)) for i, s in enumerate(series)})


def _arrays(frame):
    """The `[C, T_i]` arrays of a pd-multiindex panel."""
    return [np.ascontiguousarray(x.to_numpy().T) for _, x in frame.groupby(level=0)]


def dtw_matrix(X, X2):
    """Pairwise DTW distances between two pd-multiindex panels of unequal-length series.

    The kernel behind sktime's `distance="dtw"` (squared Euclidean, no
    window), compiled once with an unconstrained bounding matrix covering the
    longest series: sktime's string distances refuse unequal lengths, and its
    unequal-length DTW distances need dtw-python, tslearn or dtaidistance.
    """
    rows, columns = _arrays(X), _arrays(X2)
    longest = max(x.shape[1] for x in rows + columns)
    dtw = distance_factory(rows[0], columns[0], metric="dtw", bounding_matrix=np.zeros((longest, longest)))
    return np.array([[dtw(x, y) for y in columns] for x in rows])


def minirocket(equal_length, seed):
    """`(estimator, description)`: RocketClassifier's MiniRocket, or its variable-length pipeline."""
    standard = RocketClassifier(rocket_transform="minirocket", n_jobs=-1, random_state=seed)
    if equal_length or standard.get_tag("capability:unequal_length"):
        return standard, "RocketClassifier(rocket_transform='minirocket')"
    variable = make_pipeline(
        MiniRocketMultivariateVariable(pad_value_short_series=0.0, n_jobs=-1, random_state=seed),
        StandardScaler(with_mean=False),
        RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),  # as RocketClassifier builds it
    )
    return variable, ("MiniRocketMultivariateVariable(pad_value_short_series=0.0) + StandardScaler + "
                      "RidgeClassifierCV (RocketClassifier refuses unequal lengths)")


def one_nn_dtw(equal_length):
    """`(estimator, description)`: 1-NN with sktime's DTW, through `dtw_matrix` for unequal lengths."""
    standard = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw", n_jobs=-1)
    if equal_length or standard.get_tag("capability:unequal_length"):
        return standard, "KNeighborsTimeSeriesClassifier(n_neighbors=1, distance='dtw')"
    variable = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance=dtw_matrix,
                                              distance_mtype="pd-multiindex", n_jobs=-1)
    return variable, ("KNeighborsTimeSeriesClassifier(n_neighbors=1, distance=sktime's numba DTW as a "
                      "callable; distance='dtw' refuses unequal lengths)")


def fit_and_score(estimator, train, test, std=None):
    """TEST accuracy, fit seconds and predict ms per series of an sktime classifier, and given the channels'
    `std` over the training data its TEST accuracy under each standard perturbation."""
    warm_up = slice(None, None, max(1, len(train) // 16))  # ~16 series spread over the classes
    estimator.clone().fit(panel(train.series[warm_up]), train.labels[warm_up]).predict(panel(test.series[:2]))
    x_train, x_test = panel(train.series), panel(test.series)
    started = time.perf_counter()
    estimator.fit(x_train, train.labels)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = np.asarray(estimator.predict(x_test))
    elapsed = time.perf_counter() - started
    scores = {
        "accuracy": float(np.mean(predicted == test.labels)),
        "fit_seconds": fit_seconds,
        "predict_ms_per_series": 1000 * elapsed / len(test),
    }
    if std is not None:
        scores["robustness"] = perturbations.accuracy_under_perturbations(
            lambda series: estimator.predict(panel(series)), test, std)
    return scores


# --- one dataset, all methods ------------------------------------------------------------------------


def summarise(dataset, method, implementation, trained_on, runs):
    """One table row from the runs (one per seed) of a method."""
    accuracies = [r["accuracy"] for r in runs]
    return {
        "dataset": dataset,
        "method": method,
        "implementation": implementation,
        "trained_on": trained_on,
        "runs": len(runs),
        "accuracy": accuracies,
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "fit_seconds": float(np.mean([r["fit_seconds"] for r in runs])),
        "predict_ms_per_series": float(np.mean([r["predict_ms_per_series"] for r in runs])),
        **({"robustness": {name: float(np.mean([r["robustness"][name] for r in runs]))
                           for name in runs[0]["robustness"]}} if "robustness" in runs[0] else {}),
    }


def bench_zoo(recipe, hyperparameters, cell, seeds, test, scratch):
    """`(row, first version directory)` of one zoo encoder trained once per seed."""
    paths = [train_zoo(recipe, hyperparameters, cell, seed, scratch) for seed in seeds]
    runs = [score_zoo(path, test) for path in paths]
    examples = runs[0]["examples"]
    trained_on = f"train ({examples['train']}), early stop on validation ({examples['validation']})"
    row = summarise(hyperparameters["dataset"], cell, f"SensorClassifier(cell='{cell}')", trained_on, runs)
    return row, paths[0]


def bench_sktime(method, seeds, train, test, std):
    """One row for an sktime baseline: MiniRocket once per seed, also under the perturbations of `std` (the
    channels' over `train`, as the zoo's models take it); 1-NN DTW once."""
    equal_length = len({len(s) for s in train.series + test.series}) == 1
    if method == "minirocket":
        built, perturbed = [minirocket(equal_length, seed) for seed in seeds], std
    else:
        built, perturbed = [one_nn_dtw(equal_length)], None
    runs = [fit_and_score(estimator, train, test, perturbed) for estimator, _ in built]
    return summarise(train.name, method, built[0][1], f"full_train ({len(train)})", runs)


def bench_dataset(dataset, args, recipe, scratch):
    """Rows, one-series latency (or None) and the zoo setup of one dataset."""
    hyperparameters, source = recipe_hyperparameters(recipe, dataset)
    if args.quick:
        hyperparameters["epochs"] = QUICK_EPOCHS
    seeds = [hyperparameters["seed"] + i for i in range(args.seeds)]
    full_train, test = uea.load(dataset, "full_train"), uea.load(dataset, "test")
    _, full_train_std = recipe.channel_statistics(full_train.series)
    rows, latency = [], None
    for method in args.methods:
        if method in SKTIME_METHODS:
            rows.append(bench_sktime(method, seeds, full_train, test, full_train_std))
            continue
        row, first_path = bench_zoo(recipe, hyperparameters, method, seeds, test, scratch)
        rows.append(row)
        if method == hyperparameters["cell"]:
            latency = {"dataset": dataset, "model": method, **one_series_latency(first_path, test.series[0])}
    setup = {"dataset": dataset, "source": source, "seeds": seeds, "hyperparameters": hyperparameters,
             "published": published_robustness(recipe, dataset, test)}
    return rows, latency, setup


# --- goals and report --------------------------------------------------------------------------------


def check_goals(rows, latencies, setups):
    """The issue's goals, each with the measured values and whether it is met."""
    accuracy = {(r["dataset"], r["method"]): r["accuracy_mean"] for r in rows}
    goals = []
    for setup in setups:
        dataset, cell = setup["dataset"], setup["hyperparameters"]["cell"]
        if (dataset, cell) not in accuracy and setup["published"]:  # not retrained: the published model stands
            cell = setup["published"]["model"]
            accuracy[(dataset, cell)] = setup["published"]["robustness"]["clean"]
        rivals = [("minirocket", ">=")] + ([("dense", ">")] if dataset == "JapaneseVowels" else [])
        for rival, relation in rivals:
            if (dataset, cell) not in accuracy or (dataset, rival) not in accuracy:
                continue
            rnn, other = accuracy[(dataset, cell)], accuracy[(dataset, rival)]
            goals.append({"goal": f"{dataset}: {cell} accuracy {relation} {rival}",
                          "measured": f"{rnn:.4f} vs {other:.4f}",
                          "met": rnn > other if relation == ">" else rnn >= other})
    for latency in latencies:
        goals.append({"goal": f"{latency['dataset']}: one series through the SavedModel signature "
                              f">= {SPEEDUP_GOAL:g}x faster than model.predict",
                      "measured": f"{latency['speedup']:.1f}x", "met": latency["speedup"] >= SPEEDUP_GOAL})
    for setup in setups:
        if setup["published"]:
            rival = next((r for r in rows if r["dataset"] == setup["dataset"] and r["method"] == "minirocket"), None)
            goals += robustness_goals(setup["published"], rival)
    return goals


def perturbation_costs(robustness):
    """`{perturbation: clean accuracy - accuracy under it}`."""
    scores = dict(robustness)
    clean = scores.pop("clean")
    return {name: clean - accuracy for name, accuracy in scores.items()}


def robustness_goals(published, rival=None):
    """Each perturbation costs the published model at most `ROBUSTNESS_GOAL["most"]` of its clean accuracy,
    and all of them `ROBUSTNESS_GOAL["mean"]` on average; beside each figure what the same costs the `rival`
    row (MiniRocket), where it ran: a perturbation that destroys the information costs every method."""
    costs = perturbation_costs(published["robustness"])
    rival_costs = perturbation_costs(rival["robustness"]) if rival else None
    worst = max(costs, key=costs.get)
    mean = float(np.mean(list(costs.values())))
    worst_rival = f" (minirocket: {rival_costs[worst]:+.2%})" if rival_costs else ""
    mean_rival = f" (minirocket: {np.mean(list(rival_costs.values())):+.2%})" if rival_costs else ""
    return [{"goal": f"{published['model']}: no perturbation costs more than {ROBUSTNESS_GOAL['most']:.0%}",
             "measured": f"worst {worst}: {costs[worst]:+.2%}{worst_rival}",
             "met": costs[worst] <= ROBUSTNESS_GOAL["most"]},
            {"goal": f"{published['model']}: perturbations cost at most {ROBUSTNESS_GOAL['mean']:.0%} on average",
             "measured": f"{mean:+.2%}{mean_rival}", "met": mean <= ROBUSTNESS_GOAL["mean"]}]


def robustness_lines(report):
    """The table of TEST accuracy under each perturbation: the zoo rows, then the published models."""
    rows = [(r["dataset"], r["method"] + (f" (mean of {r['runs']} seeds)" if r["runs"] > 1 else ""),
             r["robustness"]) for r in report["results"] if "robustness" in r]
    rows += [(s["dataset"], f"published {s['published']['model']}", s["published"]["robustness"])
             for s in report["setups"] if s["published"]]
    if not rows:
        return []
    names = ["clean", *perturbations.STANDARD]
    lines = ["", "TEST accuracy under what real sensors do (`zoo.sensor.perturbations`; std: each channel's over "
                 "the training data):", "", "| dataset | model | " + " | ".join(names) + " |",
             "|---|---|" + "---:|" * len(names)]
    for dataset, model, scores in rows:
        lines.append(f"| {dataset} | {model} | " + " | ".join(f"{scores[n]:.4f}" for n in names) + " |")
    return lines


def _accuracy_cell(row):
    if row["runs"] == 1:
        return f"{row['accuracy_mean']:.4f}"
    return f"{row['accuracy_mean']:.4f} ± {row['accuracy_std']:.4f} ({row['runs']} seeds)"


def markdown(report):
    """The report as Markdown."""
    lines = header("Sensor classification bench", report["environment"], PROTOCOL)
    for setup in report["setups"]:
        shown = {k: v for k, v in setup["hyperparameters"].items() if k not in ("cell", "dataset")}
        lines.append(f"- {setup['dataset']} zoo hyperparameters ({setup['source']}; only `--cell` swapped; "
                     f"seeds {setup['seeds']}): `{json.dumps(shown)}`")
    lines += ["", "| dataset | method | implementation | trained on | TEST accuracy | fit s | predict ms/series |",
              "|---|---|---|---|---|---:|---:|"]
    for row in report["results"]:
        lines.append(f"| {row['dataset']} | {row['method']} | {row['implementation']} | {row['trained_on']} | "
                     f"{_accuracy_cell(row)} | {row['fit_seconds']:.1f} | {row['predict_ms_per_series']:.3f} |")
    if report["latency"]:
        lines += ["", f"One TEST series, median of {LATENCY_CALLS} calls after {WARMUP_CALLS} warm-up calls "
                      "(first seed's model):", "",
                  "| dataset | model | steps | SavedModel `serving_default` ms | `model.predict` ms | "
                  "`model.classify` ms | predict / signature |", "|---|---|---:|---:|---:|---:|---:|"]
        for lat in report["latency"]:
            lines.append(f"| {lat['dataset']} | {lat['model']} | {lat['steps']} | {lat['signature_ms']:.2f} | "
                         f"{lat['predict_ms']:.2f} | {lat['classify_ms']:.2f} | {lat['speedup']:.1f}x |")
    lines += robustness_lines(report)
    lines += ["", "Goals:", ""]
    lines += [f"- {'met' if g['met'] else 'NOT met'}: {g['goal']} ({g['measured']})" for g in report["goals"]]
    lines += [] if report["goals"] else ["- none measured by this subset of datasets and methods"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "bench/sensor.py", *(sys.argv[1:] if argv is None else argv)])
    recipe = importlib.import_module("zoo.recipes.sensor_classification")
    rows, latencies, setups = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-sensor-") as scratch:
        for dataset in args.datasets:
            dataset_rows, latency, setup = bench_dataset(dataset, args, recipe, Path(scratch))
            rows += dataset_rows
            latencies += [latency] if latency else []
            setups.append(setup)
    env = environment(command, threads={"numba": numba.get_num_threads()},
                      versions={"sktime": sktime.__version__, "numba": numba.__version__})
    report = {"environment": env, "protocol": PROTOCOL, "setups": setups, "results": rows,
              "latency": latencies, "goals": check_goals(rows, latencies, setups)}
    write_report(args.output, "sensor", markdown(report), report)
    return report


if __name__ == "__main__":
    main()
