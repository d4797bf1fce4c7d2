"""Kill-and-resume bench: the sensor recipe killed by SIGINT or SIGKILL at a random moment, then rerun with the
same flags until it exports.

    python bench/kill_resume.py                       # 20 tries
    python bench/kill_resume.py --tries 5 --seed 1    # a quicker check

Reports, per try, the signal and when it was sent, what the killed run had reached, how the rerun went and
whether it resumed cleanly (`PROTOCOL`). Writes `bench/results/kill_resume.md` and `.json`.
"""

import argparse
import csv
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_info import environment, header, write_report

REPO = Path(__file__).resolve().parent.parent
RECIPE = "recipes/sensor_classification.py"
EPOCHS = 20
FLAGS = ["--dataset", "BasicMotions", "--epochs", str(EPOCHS), "--hidden", "16", "--patience", "100"]
EXIT_TIMEOUT = 60  # seconds a signalled run has to end
REFERENCE_RUNS = 2  # T is the quickest: the first run also fills the caches (bytecode, files)
RUN_TIMEOUT = 600
PROTOCOL = (
    f"{REFERENCE_RUNS} uninterrupted runs of the recipe give the reference wall clock T (the quickest). Each try "
    "then starts the same command on a fresh work directory and `--out`, sends it SIGINT (Ctrl-C) or SIGKILL "
    f"(a seeded coin) at a moment drawn uniformly from [0, T] (seeded), waits for it to end (a process still alive "
    f"{EXIT_TIMEOUT} s after the signal has hung), and reruns the command, never killed, until it exits 0 (a run "
    "that ends before its signal is listed but not counted: tries go on until `--tries` runs were killed). A try "
    "resumed cleanly when the first rerun exported the model with no traceback, `history.csv` logs every epoch "
    "exactly once, and the rerun trained no epoch the killed run had backed up. Epochs are numbered from 0 "
    "(backups) and from 1 (the rerun's first epoch as Keras prints it). The killed run's exit: -9 SIGKILL; 130 "
    "Ctrl-C during training (one line on stderr); -2 a Ctrl-C outside training (Python's KeyboardInterrupt "
    "traceback, then its exit by SIGINT)."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--tries", type=int, default=20, help="killed runs (runs that end before their signal "
                                                              "do not count; at most twice as many tries)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the signals and the moments they are sent")
    parser.add_argument("--reruns", type=int, default=3, help="reruns of a killed run at most")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results", help="where the report goes")
    return parser.parse_args(argv)


def command(root):
    return [sys.executable, RECIPE, *FLAGS, "--workdir", str(root / "work"), "--out", str(root / "models")]


def run(root):
    """Runs the recipe to its end in `root`; returns its CompletedProcess and wall clock."""
    started = time.perf_counter()
    proc = subprocess.run(command(root), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return proc, time.perf_counter() - started


def killed_run(root, signum, after):
    """Starts the recipe in `root` and sends it `signum` `after` seconds later; returns what it had reached."""
    root.mkdir(parents=True)
    with open(root / "killed.log", "w") as log:
        proc = subprocess.Popen(command(root), cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_default_sigint)
        try:
            proc.wait(timeout=after)
            signalled = False  # it finished first
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signum)
            signalled = True
        try:
            proc.wait(timeout=EXIT_TIMEOUT)
            hung = False
        except subprocess.TimeoutExpired:
            hung = True
            proc.kill()
            proc.wait()
    output = (root / "killed.log").read_text()
    return {"signalled": signalled, "hung": hung, "exit": proc.returncode, "traceback": "Traceback" in output,
            "epochs_logged": len(logged_epochs(root / "work")), "backups": _backups(root / "work"),
            "trained": _trained(root / "work")}


def one_try(root, signum, after, reruns):
    """One killed run and its reruns: the row of the report."""
    killed = killed_run(root, signum, after)
    row = {"signal": signal.Signals(signum).name, "after_s": round(after, 1), "killed": killed, "reruns": 0}
    for _ in range(reruns):
        proc, seconds = run(root)
        row["reruns"] += 1
        if proc.returncode == 0:
            break
    first_epoch = next((int(line.split()[1].split("/")[0]) for line in proc.stdout.splitlines()
                        if line.startswith("Epoch ")), None)
    row.update(rerun_exit=proc.returncode, rerun_s=round(seconds, 1), rerun_traceback="Traceback" in proc.stderr,
               warnings=[line for line in proc.stderr.splitlines() if line.startswith("warning:")],
               first_epoch=first_epoch, reused="reusing the weights" in proc.stdout,
               exported=any((root / "models").glob("*/*/saved_model.pb")), epochs=logged_epochs(root / "work"))
    row["clean"] = (row["reruns"] == 1 and proc.returncode == 0 and row["exported"] and not row["rerun_traceback"]
                    and row["epochs"] == list(range(EPOCHS)) and not killed["hung"]
                    and (first_epoch is None or first_epoch > max(killed["backups"], default=-1) + 1))
    return row


def logged_epochs(workdir):
    """The epochs `history.csv` logs, in order."""
    try:
        with open(workdir / "history.csv", newline="") as f:
            return [int(row["epoch"]) for row in csv.DictReader(f)]
    except OSError:
        return []


def _backups(workdir):
    return [int(path.name[:4]) for path in sorted((workdir / "backup").glob("[0-9]*.weights.h5"))]


def _trained(workdir):
    try:
        return bool(json.loads((workdir / "run.json").read_text()).get("trained"))
    except OSError:
        return False


def _default_sigint():
    """Ctrl-C's default in the recipe's process: a shell starts background jobs with SIGINT ignored, and Python
    then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def markdown(report):
    rows = report["tries"]
    killed = [row for row in rows if row["killed"]["signalled"]]
    clean = sum(row["clean"] for row in killed)
    lines = header("Kill-and-resume bench: the sensor recipe killed at random moments", report["environment"],
                   PROTOCOL)
    lines += [f"Load average when the bench started (1, 5, 15 min): {report['load_average']}.", "",
              f"Recipe: `{shlex.join([RECIPE, *FLAGS])}`; T = {report['reference_s']:.1f} s.", "",
              f"**{clean} of {len(killed)} killed runs resumed cleanly** ({len(rows) - len(killed)} more tries ended "
              f"before their signal: listed, not counted); reruns took {_span(r['rerun_s'] for r in rows)} s "
              f"(bench wall clock {report['wall_s'] / 60:.1f} min).", "",
              "| try | signal | sent at s | killed run: exit, epochs logged, backups, trained | rerun: exit, s, "
              "first epoch | warnings | clean |", "|---|---|---|---|---|---|---|"]
    for index, row in enumerate(rows, 1):
        killed = row["killed"]
        ended = {0: "0 (the signal was lost: it ran to the end)", 130: "130 (one line)"}.get(killed["exit"],
                                                                                       str(killed["exit"]))
        reached = ("finished before the signal" if not killed["signalled"] else
                   f"{ended}{' (hung)' if killed['hung'] else ''}{', traceback' if killed['traceback'] else ''}"
                   f", {killed['epochs_logged']}, {killed['backups'] or '-'}, {killed['trained']}")
        first = "reused trained weights" if row["reused"] else row["first_epoch"] or "-"
        lines.append(f"| {index} | {row['signal']} | {row['after_s']} | {reached} | {row['rerun_exit']}, "
                     f"{row['rerun_s']}, {first} | {len(row['warnings'])} | {'yes' if row['clean'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def _span(values):
    values = sorted(values)
    return f"{values[0]:.0f}–{values[-1]:.0f} (median {values[len(values) // 2]:.0f})"


def main(argv=None):
    args = parse_args(argv)
    load_average = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    draw = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="zoo-kill-resume-") as scratch:
        references = [run(Path(scratch) / f"reference{index}") for index in range(REFERENCE_RUNS)]
        failed = [proc for proc, _ in references if proc.returncode != 0]
        if failed:
            raise SystemExit(f"the uninterrupted run failed:\n{failed[0].stderr[-3000:]}")
        reference_s = min(seconds for _, seconds in references)
        tries = []  # a run that ends before its signal does not count: tries go on until `args.tries` were killed
        while sum(row["killed"]["signalled"] for row in tries) < args.tries and len(tries) < 2 * args.tries:
            signum = draw.choice((signal.SIGINT, signal.SIGKILL))
            tries.append(one_try(Path(scratch) / f"try{len(tries)}", signum, draw.uniform(0, reference_s),
                                 args.reruns))
            print(json.dumps(tries[-1]), flush=True)
    report = {"environment": environment(shlex.join(["python", "bench/kill_resume.py", *(argv or sys.argv[1:])])),
              "load_average": load_average, "reference_s": reference_s, "wall_s": time.perf_counter() - started,
              "tries": tries}
    write_report(args.output, "kill_resume", markdown(report), report)


if __name__ == "__main__":
    main()
