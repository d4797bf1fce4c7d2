"""What every bench report records about its run, the report's opening lines, latency timing, and where the
report goes."""

import datetime
import json
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf

import zoo


def environment(command, threads=None, versions=None):
    """Date, command, machine, thread settings and library versions of this run.

    `threads` and `versions` add the bench's own libraries to TensorFlow's and the zoo's.
    """
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "nproc": len(os.sched_getaffinity(0)),
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "threads": {**(threads or {}),
                    "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, **(versions or {}), "zoo": zoo.__version__},
    }


def header(title, env, protocol):
    """The Markdown lines that open a report: title, where and how it ran, the protocol."""
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    return [
        f"# {title}",
        "",
        f"Run {env['date']} on {env['nproc']} CPUs ({env['machine']}; {env['gpus']} GPUs; threads "
        f"{json.dumps(env['threads'])}; 0 = TensorFlow's default, all cores). {versions}.",
        "",
        f"Command: `{env['command']}`",
        "",
        protocol,
        "",
    ]


def latency_ms(call, calls, warmup):
    """Median and p90 milliseconds of `calls` calls of `call()`, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return {"median": float(np.median(times)), "p90": float(np.percentile(times, 90))}


def write_report(output, name, text, report):
    """Prints the Markdown report `text` and writes it to `output/<name>.md`, the raw numbers to `<name>.json`."""
    print(text)
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{name}.md").write_text(text)
    (output / f"{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
