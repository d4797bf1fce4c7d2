"""Distribution bench: each recipe's training samples/s on one process and on two worker processes on 127.0.0.1.

    python bench/distribute.py                                   # every configuration, 1 and 2 workers
    python bench/distribute.py --configs sensor_smoke pos_smoke  # some of them

Each configuration is trained twice by its recipe: by one process (`--distribute none`, `--batch-size B`)
and by a two-worker cluster on 127.0.0.1 (`--distribute multi_worker`, one TF_CONFIG and port per worker,
`--batch-size B/2`): the same global batch, so the same steps. Reported per run: training samples/s (the
training examples over the mean wall clock of the epochs after the first, which traces the step functions,
as the recipe records them in `run.json`; an epoch includes its validation pass), and the run's wall clock
from starting its processes to their end (imports, data, tracing, training, the chief's evaluation and
export). Writes `bench/results/distribute.md` and `.json`.
"""

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_info import environment, header, write_report

import zoo
from zoo import distribute

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 1800  # seconds
CONFIGS = {  # name: recipe, its flags, the global batch B
    "sensor_smoke": ("recipes/sensor_classification.py", ["--dataset", "BasicMotions", "--smoke"], 32),
    "sensor_japanese_vowels": ("recipes/sensor_classification.py",
                               ["--dataset", "JapaneseVowels", "--epochs", "4", "--patience", "100"], 32),
    "pos_smoke": ("recipes/pos_tagging.py", ["--smoke"], 32),
    "translation_smoke": ("recipes/translation.py", ["--smoke", "--length-penalty", "0"], 64),
    "captioning_smoke": ("recipes/image_captioning.py", ["--smoke"], 64),
}
PROTOCOL = (
    "Each configuration is trained by its recipe twice: by one process (`--distribute none`, `--batch-size B`) "
    "and by two worker processes on 127.0.0.1 (`--distribute multi_worker`, MultiWorkerMirroredStrategy with "
    "RING all-reduce over gRPC, `--batch-size B/2`): the same global batch B and the same steps. Samples/s: "
    "training examples (series, sentences, sentence pairs, images) over the mean wall clock of the epochs after "
    "the first (which traces the step functions), from the chief's `run.json`; an epoch includes its validation "
    "pass. Wall clock: from starting the run's processes to their end (imports, data, tracing, training, the "
    "chief's evaluation and export). Both workers share this machine's CPUs, so two workers can at best "
    "match the cores one process already uses: the point is that the cluster trains the same model, not speed."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--workdir", type=Path, help="where the runs go (default: a temporary directory)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results", help="where the report goes")
    return parser.parse_args(argv)


def train(script, flags, batch, workers, root):
    """Runs `script` on `workers` processes (one: `--distribute none`) with the global batch `batch`; returns
    the run's wall clock and samples/s."""
    tf_configs = distribute.local_tf_configs(workers)
    argv = [sys.executable, script, *flags, "--batch-size", str(batch // workers),
            "--distribute", "multi_worker" if workers > 1 else "none",
            "--workdir", str(root / "work"), "--out", str(root / "models")]
    print("+", shlex.join(argv[1:]), f"({workers} worker{'s' * (workers > 1)})", flush=True)
    root.mkdir(parents=True)
    procs = []
    started = time.perf_counter()
    try:
        for index in range(workers):
            env = dict(os.environ)
            if workers > 1:
                env["TF_CONFIG"] = tf_configs[index]
            with open(root / f"worker{index}.log", "w") as log:
                procs.append(subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        for proc in procs:
            proc.wait(timeout=RUN_TIMEOUT)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    wall = time.perf_counter() - started
    if any(proc.returncode for proc in procs):
        raise RuntimeError(f"{script} on {workers} workers failed:\n" + (root / "worker0.log").read_text()[-3000:])
    epochs = json.loads((root / "work" / "run.json").read_text())["epoch_seconds"]
    version_dir = next((root / "models").glob("*/1"))
    examples = train_examples(zoo.info(version_dir))
    return {"wall_seconds": wall, "samples_per_second": examples / statistics.mean(
        seconds for epoch, seconds in epochs.items() if epoch != "0"), "train_examples": examples,
        "epochs_timed": len(epochs) - 1}


def train_examples(card):
    examples = card["dataset"]["examples"]
    train = examples.get("train_used", examples["train"])
    return train["sentences"] if isinstance(train, dict) else train


def markdown(report):
    lines = header("Distribution bench: one process vs two workers on 127.0.0.1", report["environment"],
                   PROTOCOL)
    lines += [f"Load average when the bench started (1, 5, 15 min): {report['load_average']}.", "",
              "| configuration | global batch | train examples | samples/s, 1 process | samples/s, 2 workers "
              "| ratio | wall s, 1 process | wall s, 2 workers |",
              "|---|---|---|---|---|---|---|---|"]
    for name, r in report["results"].items():
        one, two = r["1"], r["2"]
        lines.append(f"| {name} | {r['global_batch']} | {one['train_examples']} | {one['samples_per_second']:.1f} | "
                     f"{two['samples_per_second']:.1f} | {two['samples_per_second'] / one['samples_per_second']:.2f} | "
                     f"{one['wall_seconds']:.0f} | {two['wall_seconds']:.0f} |")
    lines += ["", "Recipe flags: " + "; ".join(f"{name}: `{shlex.join([CONFIGS[name][0], *CONFIGS[name][1]])}`"
                                             for name in report["results"])]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    load_average = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-distribute-") as scratch:
        workdir = args.workdir or Path(scratch)
        results = {}
        for name in args.configs:
            script, flags, batch = CONFIGS[name]
            results[name] = {"global_batch": batch, **{str(workers): train(
                script, flags, batch, workers, workdir / name / f"{workers}-workers") for workers in (1, 2)}}
    report = {
        "environment": environment(shlex.join(["python", "bench/distribute.py", *sys.argv[1:]])),
        "load_average": load_average,
        "results": results,
    }
    write_report(args.output, "distribute", markdown(report), report)


if __name__ == "__main__":
    main()
