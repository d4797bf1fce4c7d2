"""Install bench: the zoo outside its checkout, as a new user meets it, and how fast and quiet its CLI is.

    python bench/install.py                     # builds the wheels, a fresh venv in a temporary directory

1. `pip wheel` builds the zoo's wheel from this checkout and `zoo package pos_brown` the model's wheel.
2. A fresh virtual environment in an empty directory installs the zoo wheel alone (its dependencies from
   the package index), then the model wheel with `--no-index` (offline), and runs
   `zoo.load('pos_brown').tag(['It works.'])` there; the packages it got are listed (inference needs
   TensorFlow, Keras and NumPy only).
3. The zoo wheel is installed again with its `[train]` extra (which brings `[serve]`'s export and serving
   config); every `zoo` command is run there without `--verbose` and the TensorFlow lines on its stderr
   are counted; `zoo --help`, `zoo list` and `zoo info` are timed (median of 5 runs each).
4. `zoo train sensor --dataset BasicMotions --smoke` runs in the empty directory, writing
   `runs/sensor_basic_motions_smoke/` there (its model in `saved_models/` inside it).

Writes `bench/results/install.md` and `.json`.
"""

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = "pos_brown"
TIMED_RUNS = 5
GOAL_SECONDS = 0.5
# what TensorFlow's C++ and Python loggers write: `I0000 00:00:...`, `W...`, `E...`, the absl preamble, tf warnings
TENSORFLOW_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl|.*tensorflow|.*cuda|.*oneDNN)",
                             re.I)
STDLIB_PACKAGES = {"pip", "setuptools", "wheel"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where the wheels, venv and empty directory go (default: temp)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results")
    return parser.parse_args(argv)


def run(argv, cwd, env=None, check=True):
    started = time.perf_counter()
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, env=env, timeout=1800)
    seconds = time.perf_counter() - started
    if check and done.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(map(str, argv))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done, seconds


def build_wheels(dist):
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, REPO], cwd=REPO)
    run([sys.executable, "-m", "zoo", "package", MODEL, "--out", dist], cwd=REPO)
    return next(dist.glob("rnn_zoo-*.whl")), next(dist.glob(f"rnn_zoo_model_{MODEL}-*.whl"))


def fresh_venv(work):
    venv = work / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=work)
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"], cwd=work)
    return venv / "bin"


def commands(empty):
    """Every `zoo` command, as a user in `empty` would type it, each with the exit code it should give."""
    text = empty / "sentences.txt"
    text.write_text("It works.\nThe keys to the cabinet are on the table.\n")
    return [
        (["--help"], 0), (["list"], 0), (["list", "--json"], 0), (["list", "--task", "bogus"], 2),
        (["info", MODEL], 0), (["info", MODEL, "--json"], 0), (["info", "translate_es_en"], 2),
        (["predict", MODEL, "--text", "It works."], 0), (["predict", MODEL, "--input", text, "--json"], 0),
        (["predict", MODEL, "--input", empty / "missing.txt"], 2),
        (["export", MODEL, empty / "exported" / MODEL], 0), (["package", MODEL, "--out", empty / "dist"], 0),
        (["download", MODEL], 2), (["serving-config", empty / "exported"], 0),
    ]


def tensorflow_lines(stderr):
    return [line for line in stderr.splitlines() if TENSORFLOW_LINE.match(line)]


def check_commands(empty, bin_dir):
    rows = []
    for args, expected in commands(empty):
        done, seconds = run([bin_dir / "zoo", *args], cwd=empty, check=False)
        shown = [str(a).removeprefix(f"{empty}/") for a in args]  # as typed in that directory
        rows.append({"command": shlex.join(["zoo", *shown]), "exit": done.returncode, "expected": expected,
                     "seconds": seconds, "stderr_lines": len(done.stderr.splitlines()),
                     "tensorflow_lines": tensorflow_lines(done.stderr)})
    return rows


def timings(empty, bin_dir):
    timed = {}
    for args in (["--help"], ["list"], ["info", MODEL]):
        seconds = [run([bin_dir / "zoo", *args], cwd=empty)[1] for _ in range(TIMED_RUNS)]
        timed[shlex.join(["zoo", *args])] = {"median": statistics.median(seconds), "runs": seconds}
    return timed


def main(argv=None):
    args = parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="zoo-install-"))
    empty = work / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    zoo_wheel, model_wheel = build_wheels(work / "dist")
    bin_dir = fresh_venv(work)
    _, install_seconds = run([bin_dir / "pip", "install", "--quiet", zoo_wheel], cwd=empty)
    run([bin_dir / "pip", "install", "--quiet", "--no-index", model_wheel], cwd=empty)
    packages = sorted(line.split("==")[0].lower() for line in run([bin_dir / "pip", "freeze"], cwd=empty)[0]
                      .stdout.splitlines() if "==" in line)
    tagged, _ = run([bin_dir / "python", "-c", f"import zoo; print(zoo.load('{MODEL}').tag(['It works.']))"],
                    cwd=empty)
    run([bin_dir / "pip", "install", "--quiet", f"{zoo_wheel}[train]"], cwd=empty)
    rows = check_commands(empty, bin_dir)
    timed = timings(empty, bin_dir)
    trained, train_seconds = run([bin_dir / "zoo", "train", "sensor", "--dataset", "BasicMotions", "--smoke"],
                                 cwd=empty, check=False)
    smoke_models = empty / "runs" / "sensor_basic_motions_smoke" / "saved_models"  # a smoke run's default --out
    card = json.loads(next(smoke_models.glob("sensor_basic_motions/1/assets.extra/model_card.json"))
                      .read_text()) if trained.returncode == 0 else {}
    report = {
        "wheels": [zoo_wheel.name, model_wheel.name],
        "inference_packages": packages,
        "install_seconds": install_seconds,
        "tag_output": tagged.stdout.strip(),
        "commands": rows,
        "timings": timed,
        "train": {"exit": trained.returncode, "seconds": train_seconds, "recipe_command": card.get("recipe_command"),
                  "tensorflow_lines": tensorflow_lines(trained.stderr), "last_stdout": trained.stdout[-300:],
                  "outputs": sorted(p.name for p in empty.iterdir())},
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "install.json").write_text(json.dumps(report, indent=2, default=str))
    (args.output / "install.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report):
    lines = ["# Install bench: the zoo outside its checkout", "",
             f"Command: `python bench/install.py`. Wheels: {', '.join(f'`{w}`' for w in report['wheels'])}.", "",
             f"A fresh venv in an empty directory: `pip install` of the zoo wheel ({report['install_seconds']:.0f} s, "
             f"dependencies from the index), then the model wheel with `--no-index`. "
             f"`zoo.load('{MODEL}').tag(['It works.'])` → `{report['tag_output']}`.", "",
             "Packages installed for inference (no extra): " + ", ".join(
                 p for p in report["inference_packages"] if p not in STDLIB_PACKAGES) + ".", "",
             f"| command | seconds, median of {TIMED_RUNS} | goal |", "|---|---|---|"]
    lines += [f"| `{command}` | {t['median']:.2f} | ≤ {GOAL_SECONDS} |" for command, t in report["timings"].items()]
    lines += ["", "| command (no `--verbose`) | exit (expected) | seconds | stderr lines | TensorFlow lines |",
              "|---|---|---|---|---|"]
    lines += [f"| `{r['command']}` | {r['exit']} ({r['expected']}) | {r['seconds']:.1f} | {r['stderr_lines']} | "
              f"{len(r['tensorflow_lines'])} |" for r in report["commands"]]
    train = report["train"]
    lines += ["", f"With `[train]`: `zoo train sensor --dataset BasicMotions --smoke` in the empty directory: exit "
              f"{train['exit']} in {train['seconds']:.0f} s, {len(train['tensorflow_lines'])} TensorFlow lines on "
              f"stderr; the directory then holds {', '.join(train['outputs'])}; the card's command: "
              f"`{train['recipe_command']}`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
