"""Serving bench: `zoo serve` under concurrent REST and gRPC clients, with and without `--batching`.

    python bench/serving.py                                   # 10 000 mixed requests from 16 clients, both servers
    python bench/serving.py --requests 200 --clients 4 --tagger-requests 100   # a quick end-to-end check
    python bench/serving.py --models runs/models --max-seconds 120             # another model root, shorter phases

Starts `zoo serve` on loopback in a subprocess over the model root (default
`saved_models/`), once plain and once with `--batching`. In each, `--clients`
threads send `--requests` mixed requests, across every model and signature and
alternately over REST and gRPC (`zoo.serving.Client`), and every answer is
compared with the answer the same SavedModel gives in this process (computed
once per distinct request), so wrong answers are counted, not assumed away.
Reported: throughput, median and p99 latency, errors and wrong answers; the
throughput of one-sentence tagger requests from the same clients; and the
same mixed requests through in-process signature calls for comparison. The
goals (the mixed requests: 0 errors, 0 wrong answers, p99 <= 3x p50; with
batching, tagger throughput >= 3x one-by-one) are checked and said met or not.
Each timed phase stops after `--max-seconds`. Writes `bench/results/serving.md`
and `.json`.
"""

import argparse
import itertools
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from hostile_requests import Hostile, hostile_requests
from run_info import environment, header, write_report

from zoo import artifacts
from zoo.serving import Client, batching, config, read_warmup_requests

REPO = Path(__file__).resolve().parent.parent
PROTOCOLS = ("rest", "grpc")
GOALS = {"p99_over_p50": 3.0, "tagger_speedup": 3.0, "wrk_speedup": 2.0, "wrk_max_ms": 1000.0}
WRK_SENTENCE = "The book that I got yesterday is on the table."
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"instances": ["%s"]}'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("ZOO %%d %%d %%d %%f %%f %%f %%f\\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), latency.max,
    summary.duration))
end
""" % WRK_SENTENCE
# One-sentence requests added to each text model's warm-up request, by the model card's task.
SENTENCES = {
    "pos-tagging": ["The book that I got yesterday is on the table.", "Don't stop.",
                    "He said it was 9:30 p.m. when Mr. Jones arrived in Atlanta.", "Dogs bark.",
                    "The jury further said in term-end presentments that the City Executive Committee deserves praise."],
    "translation": ["Jehová es mi pastor; nada me faltará.", "En el principio creó Dios los cielos y la tierra.",
                    "Y dijo Dios: Sea la luz: y fué la luz.", "Bienaventurados los pobres en espíritu."],
}
SERVER_START_SECONDS = 600
PROTOCOL = (
    "`zoo serve MODELS --port 0 --grpc-port 0` (and `--batching`, with the flags below) runs in a subprocess on "
    "loopback; the bench's client threads share one REST `Client` (a connection per request, as `urllib` "
    "does) and one gRPC `Client` (one HTTP/2 channel). The distinct requests are each model's warm-up "
    "records (one per signature) plus one-sentence `serving_default` requests for the text models and "
    "shorter and rescaled series for the sensor models; every one is sent once over each protocol before "
    "timing. The mixed schedule draws a model uniformly, then one of its requests, seeded; request i goes "
    "over REST when i is even, gRPC when odd. An answer is wrong unless every output equals the in-process "
    "answer of `tf.saved_model.load` of the same version: strings equal, numbers bitwise. Latency: the "
    "client's wall clock around `predict`, every request counted (errors too). The tagger phase sends "
    "one-sentence `serving_default` requests to the first `pos_` model the same way. In-process: the same "
    "schedule's signature calls one after another in one thread of the bench process, input tensors built "
    "inside the timing."
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--models", type=Path, default=REPO / "saved_models", help="the model root to serve")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=10_000, help="mixed requests per server")
    parser.add_argument("--tagger-requests", type=int, default=3_000, help="tagger requests per server")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="each timed phase stops after this")
    parser.add_argument("--max-batch-size", type=int, default=batching.DEFAULT_MAX_BATCH_SIZE)
    parser.add_argument("--batch-timeout-micros", type=int, default=batching.DEFAULT_BATCH_TIMEOUT_MICROS)
    parser.add_argument("--hostile-fraction", type=float, default=0.05,
                        help="share of the mixed requests that are hostile (bench/hostile_requests.py)")
    parser.add_argument("--wrk-seconds", type=int, default=20,
                        help="wrk -t2 -c16 posting one sentence to the tagger for this long (0: no wrk phase)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results",
                        help="directory for serving.md and serving.json")
    return parser.parse_args(argv)


# --- the requests and their expected answers ----------------------------------------------------------


class Request:
    """One distinct request: model, signature, inputs, and the answer the SavedModel gives in this process."""

    def __init__(self, model, signature, inputs, function):
        self.model = model
        self.signature = signature
        self.inputs = inputs
        self.function = function
        self.expected = {name: _as_client_output(name, tensor.numpy())
                         for name, tensor in self.call_in_process().items()}

    def call_in_process(self):
        return self.function(**{name: tf.constant(value) for name, value in self.inputs.items()})

    def describe(self):
        return f"{self.model}/{self.signature}"


def _as_client_output(name, array):
    """An array as `zoo.serving.Client` returns it: strings decoded, except outputs named `*_bytes`."""
    if array.dtype != object or name.endswith("_bytes") or not array.size:
        return array
    return np.vectorize(lambda v: v.decode("utf-8", errors="replace"), otypes=[object])(array)


def _variants(task, signature, inputs):
    """Further inputs for a model's `serving_default`: other sentences, or shorter and rescaled series."""
    if signature != "serving_default":
        return []
    if "sentences" in inputs and task in SENTENCES:
        return [{"sentences": np.array([s.encode()], dtype=object)} for s in SENTENCES[task]]
    if "series" in inputs:
        series = inputs["series"]
        return [{"series": series[:, : max(1, series.shape[1] // 2)]}, {"series": (series * 0.5).astype(np.float32)}]
    return []


def distinct_requests(root):
    """`{model: [Request, ...]}` for the newest version of every model under `root`."""
    requests = {}
    for base in config.model_bases(root):
        number, version_dir = max((n, p) for n, p in artifacts.version_dirs(base).items()
                                  if (p / "saved_model.pb").is_file())
        loaded = tf.saved_model.load(str(version_dir))
        task = artifacts.read_card(version_dir).get("task") if (version_dir / artifacts.CARD).is_file() else None
        model_requests = []
        for warmup in read_warmup_requests(version_dir / artifacts.WARMUP):
            signature = warmup.model_spec.signature_name or "serving_default"
            inputs = {name: tf.make_ndarray(proto) for name, proto in warmup.inputs.items()}
            for variant in [inputs, *_variants(task, signature, inputs)]:
                model_requests.append(Request(base.name, signature, variant, loaded.signatures[signature]))
        requests[base.name] = model_requests
    return requests


def mixed_schedule(requests, count, rng, hostile=(), hostile_fraction=0.0):
    """`count` requests: a model drawn uniformly, then one of its requests; a `hostile_fraction` of them
    drawn from `hostile` instead."""
    models = sorted(requests)
    schedule = [requests[models[m]][rng.integers(len(requests[models[m]]))] for m in rng.integers(len(models), size=count)]
    if hostile:
        for i in np.flatnonzero(rng.random(count) < hostile_fraction):
            schedule[i] = hostile[rng.integers(len(hostile))]
    return schedule


# --- the server and the load --------------------------------------------------------------------------


class Server:
    """`zoo serve` in a subprocess on free loopback ports; its log (stderr) goes to a temporary file."""

    READY = re.compile(r"REST at http://[\d.]+:(?P<rest>\d+)/v1/models/<name>, gRPC at [\d.]+:(?P<grpc>\d+)")

    def __init__(self, root, batching_flags):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="zoo-serve-", suffix=".log")
        command = [sys.executable, "-m", "zoo.cli", "serve", str(root), "--port", "0", "--grpc-port", "0",
                   *batching_flags]
        self.process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready = self._ready_line()
        self.rest, self.grpc = f"127.0.0.1:{ready['rest']}", f"127.0.0.1:{ready['grpc']}"

    def _ready_line(self):
        deadline = time.monotonic() + SERVER_START_SECONDS
        timer = threading.Timer(SERVER_START_SECONDS, self.process.kill)  # a hung start ends the readline
        timer.start()
        try:
            for line in self.process.stdout:
                match = self.READY.search(line)
                if match:
                    return match
                if time.monotonic() > deadline:
                    break
        finally:
            timer.cancel()
        self.stop()
        raise RuntimeError(f"zoo serve did not start; its log:\n{self.log_text()[-4000:]}")

    def log_text(self):
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _bitwise_equal(got, expected):
    if sorted(got) != sorted(expected):
        return False
    for name, want in expected.items():
        value = got[name]
        if value.shape != want.shape or value.dtype != want.dtype:
            return False
        if not (np.array_equal(value, want) if want.dtype == object else value.tobytes() == want.tobytes()):
            return False
    return True


def _send(senders, server, request, protocol):
    """`(latency, error, wrong)` of one request: a hostile one must be refused as owed, anything else answered
    as in this process."""
    started = time.perf_counter()
    if isinstance(request, Hostile):
        refused, got = request.send(server.rest, server.grpc)
        server_error = got.startswith("HTTP 5") or got in ("INTERNAL", "UNKNOWN", "UNAVAILABLE")
        return None, server_error and f"{request.describe()}: {got}", not refused and not server_error and (
            f"{request.describe()}: {got}")
    try:
        answer = senders[protocol].predict(request.model, request.signature, **request.inputs)
    except Exception as err:  # whatever fails (a refusal, a dropped connection) is an error of the server
        return time.perf_counter() - started, f"{request.describe()} over {protocol}: {err}", None
    wrong = not _bitwise_equal(answer, request.expected) and f"{request.describe()} over {protocol}"
    return time.perf_counter() - started, None, wrong


def load(server, schedule, clients, max_seconds):
    """Sends `schedule` from `clients` threads (request i over REST when i is even); what happened."""
    senders = {"rest": Client(server.rest), "grpc": Client(grpc=server.grpc)}
    latencies, errors, wrong = [None] * len(schedule), [], []
    next_index, lock = itertools.count(), threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client():
        while time.monotonic() < deadline:
            with lock:
                i = next(next_index)
            if i >= len(schedule):
                return
            latencies[i], error, bad = _send(senders, server, schedule[i], PROTOCOLS[i % 2])
            errors.extend([error] if error else [])
            wrong.extend([bad] if bad else [])

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    senders["grpc"].close()
    stats = _stats([t for t in latencies if t is not None], seconds, len(schedule), errors, wrong)
    stats["hostile"] = sum(isinstance(r, Hostile) for r in schedule[:next(next_index)])
    return stats


def wrk_tagger(server, model, seconds):
    """wrk (a C client, so the cores stay with the server) posting one sentence to `model` from 16 connections."""
    if not seconds or shutil.which("wrk") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        done = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script.name,
                               f"http://{server.rest}/v1/models/{model}:predict"],
                              capture_output=True, text=True, timeout=seconds + 120)
    fields = re.search(r"^ZOO (.*)$", done.stdout, re.M).group(1).split()
    requests, status_errors, socket_errors = map(int, fields[:3])
    p50, p99, slowest, duration = (float(f) / 1000 for f in fields[3:])  # microseconds -> ms
    return {"requests": requests, "throughput": requests / (duration / 1000), "p50_ms": p50, "p99_ms": p99,
            "max_ms": slowest, "p99_over_p50": p99 / p50 if p50 else float("nan"),
            "non_2xx": status_errors, "socket_errors": socket_errors}


def _stats(latencies, seconds, scheduled, errors=(), wrong=()):
    milliseconds = 1000 * np.array(latencies or [np.nan])
    p50, p99 = float(np.percentile(milliseconds, 50)), float(np.percentile(milliseconds, 99))
    return {"scheduled": scheduled, "completed": len(latencies), "seconds": seconds,
            "throughput": len(latencies) / seconds if seconds else 0.0, "p50_ms": p50, "p99_ms": p99,
            "p99_over_p50": p99 / p50 if p50 else float("nan"), "errors": len(errors), "error_examples": errors[:5],
            "wrong": len(wrong), "wrong_examples": wrong[:5]}


def in_process(schedule, max_seconds):
    """The schedule's signature calls one after another in this process."""
    latencies, deadline = [], time.monotonic() + max_seconds
    started = time.perf_counter()
    for request in schedule:
        if time.monotonic() > deadline:
            break
        call_started = time.perf_counter()
        request.call_in_process()
        latencies.append(time.perf_counter() - call_started)
    return _stats(latencies, time.perf_counter() - started, len(schedule))


def warm_up(server, requests):
    """Every distinct request once over each protocol, untimed (the server traces its graphs)."""
    for client in (Client(server.rest), Client(grpc=server.grpc)):
        for request in (r for model_requests in requests.values() for r in model_requests):
            client.predict(request.model, request.signature, **request.inputs)
        client.close()


def bench_server(args, requests, mixed, tagger, batching_flags, tagger_model):
    server = Server(args.models, batching_flags)
    try:
        warm_up(server, requests)
        result = {"mixed": load(server, mixed, args.clients, args.max_seconds),
                  "tagger": load(server, tagger, args.clients, args.max_seconds) if tagger else None,
                  "wrk": wrk_tagger(server, tagger_model, args.wrk_seconds) if tagger_model else None}
    finally:
        server.stop()
    result["unbatched"] = re.findall(r"(\S+): a merged call's answers differ", server.log_text())
    return result


# --- the report ---------------------------------------------------------------------------------------


def goals(report):
    checks = []
    for mode, result in report["servers"].items():
        mixed = result["mixed"]
        checks.append((f"{mode}: {mixed['scheduled']} mixed requests ({mixed['hostile']} hostile) from "
                       f"{report['clients']} clients, 0 errors (5xx, dropped)",
                       f"{mixed['completed']} answered, {mixed['errors']} errors",
                       mixed["errors"] == 0 and mixed["completed"] + mixed["hostile"] == mixed["scheduled"]))
        checks.append((f"{mode}: 0 wrong answers (a hostile request not refused as owed is one)", str(mixed["wrong"]),
                       mixed["wrong"] == 0))
        checks.append((f"{mode}: p99 <= {GOALS['p99_over_p50']:g}x p50",
                       f"{mixed['p99_ms']:.1f} / {mixed['p50_ms']:.1f} ms = {mixed['p99_over_p50']:.2f}x",
                       mixed["p99_over_p50"] <= GOALS["p99_over_p50"]))
        checks += _wrk_goals(mode, result["wrk"])
    plain, batched = (report["servers"][mode] for mode in ("zoo serve", "zoo serve --batching"))
    if plain["tagger"] and batched["tagger"]:
        speedup = batched["tagger"]["throughput"] / plain["tagger"]["throughput"]
        checks.append((f"tagger, {report['clients']} Python clients: --batching >= {GOALS['tagger_speedup']:g}x "
                       "one by one", f"{batched['tagger']['throughput']:.0f} vs {plain['tagger']['throughput']:.0f} "
                       f"requests/s = {speedup:.2f}x", speedup >= GOALS["tagger_speedup"]))
    if plain["wrk"] and batched["wrk"]:
        speedup = batched["wrk"]["throughput"] / plain["wrk"]["throughput"]
        checks.append((f"tagger, wrk -c16: --batching >= {GOALS['wrk_speedup']:g}x plain",
                       f"{batched['wrk']['throughput']:.0f} vs {plain['wrk']['throughput']:.0f} requests/s = "
                       f"{speedup:.2f}x", speedup >= GOALS["wrk_speedup"]))
    return [{"goal": goal, "measured": measured, "met": bool(met)} for goal, measured, met in checks]


def _wrk_goals(mode, wrk):
    if wrk is None:
        return []
    return [(f"{mode}, wrk -c16 tagger: 0 requests over 1 s, all 2xx",
             f"slowest {wrk['max_ms']:.0f} ms, {wrk['non_2xx']} non-2xx, {wrk['socket_errors']} socket errors",
             wrk["max_ms"] <= GOALS["wrk_max_ms"] and not wrk["non_2xx"] and not wrk["socket_errors"]),
            (f"{mode}, wrk -c16 tagger: p99 <= {GOALS['p99_over_p50']:g}x p50",
             f"{wrk['p99_ms']:.1f} / {wrk['p50_ms']:.1f} ms = {wrk['p99_over_p50']:.2f}x",
             wrk["p99_over_p50"] <= GOALS["p99_over_p50"])]


def _row(name, stats, counted=True):
    return (f"| {name} | {stats['completed']} of {stats['scheduled']} | {stats['seconds']:.1f} | "
            f"{stats['throughput']:.1f} | {stats['p50_ms']:.1f} | {stats['p99_ms']:.1f} | {stats['p99_over_p50']:.2f} | "
            + (f"{stats['errors']} | {stats['wrong']} |" if counted else "- | - |"))


def markdown(report):
    lines = header("Serving bench: zoo serve under concurrent REST and gRPC clients", report["environment"], PROTOCOL)
    lines += [f"Models: {', '.join(f'{m} ({n} distinct requests)' for m, n in report['distinct_requests'].items())}. "
              f"Batching: `{shlex.join(report['batching_flags'])}`.", "",
              f"Mixed requests, {report['clients']} clients:", "",
              "| server | requests | seconds | requests/s | p50 ms | p99 ms | p99/p50 | errors | wrong answers |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [_row(mode, result["mixed"]) for mode, result in report["servers"].items()]
    lines += [_row("in-process signature calls, one thread", report["in_process"]["mixed"], counted=False), "",
              f"Tagger (`{report['tagger_model']}` `serving_default`, one sentence a request), "
              f"{report['clients']} clients:", "",
              "| server | requests | seconds | requests/s | p50 ms | p99 ms | p99/p50 | errors | wrong answers |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [_row(mode, result["tagger"]) for mode, result in report["servers"].items() if result["tagger"]]
    if report["in_process"]["tagger"]:
        lines.append(_row("in-process signature calls, one thread", report["in_process"]["tagger"], counted=False))
    wrk_rows = [f"| {mode} | {r['wrk']['requests']} | {r['wrk']['throughput']:.1f} | {r['wrk']['p50_ms']:.1f} | "
                f"{r['wrk']['p99_ms']:.1f} | {r['wrk']['p99_over_p50']:.2f} | {r['wrk']['max_ms']:.0f} | "
                f"{r['wrk']['non_2xx'] + r['wrk']['socket_errors']} |" for mode, r in report["servers"].items() if r["wrk"]]
    if wrk_rows:
        lines += ["", f"Tagger under `wrk -t2 -c16` (a C client) posting \"{WRK_SENTENCE}\":", "",
                  "| server | requests | requests/s | p50 ms | p99 ms | p99/p50 | slowest ms | errors |",
                  "|---|---|---|---|---|---|---|---|", *wrk_rows]
    unbatched = report["servers"]["zoo serve --batching"]["unbatched"]
    lines += ["", "Signatures `--batching` ran unbatched (a merged call's answers differed from single calls): "
              + (", ".join(f"`{s}`" for s in unbatched) if unbatched else "none") + "."]
    for mode, result in report["servers"].items():
        for kind in ("error_examples", "wrong_examples"):
            for phase in ("mixed", "tagger"):
                if result[phase] and result[phase][kind]:
                    lines += ["", f"{mode}, {phase}, {kind.replace('_', ' ')}: " + "; ".join(result[phase][kind])]
    lines += ["", "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {g['measured']} | {'yes' if g['met'] else 'no'} |" for g in report["goals"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    requests = distinct_requests(args.models)
    mixed = mixed_schedule(requests, args.requests, rng, hostile_requests(requests), args.hostile_fraction)
    tagger_model = next((m for m in sorted(requests) if m.startswith("pos_")), None)
    tagger_requests = [r for r in requests.get(tagger_model, []) if r.signature == "serving_default"]
    tagger = [tagger_requests[i % len(tagger_requests)] for i in range(args.tagger_requests)] if tagger_model else []
    batching_flags = ["--batching", "--max-batch-size", str(args.max_batch_size),
                      "--batch-timeout-micros", str(args.batch_timeout_micros)]
    servers = {"zoo serve": bench_server(args, requests, mixed, tagger, [], tagger_model),
               "zoo serve --batching": bench_server(args, requests, mixed, tagger, batching_flags, tagger_model)}
    report = {
        "environment": environment(shlex.join(["python", "bench/serving.py", *sys.argv[1:]])),
        "clients": args.clients,
        "distinct_requests": {model: len(r) for model, r in requests.items()},
        "batching_flags": batching_flags,
        "tagger_model": tagger_model,
        "servers": servers,
        "in_process": {"mixed": in_process([r for r in mixed if not isinstance(r, Hostile)], args.max_seconds),
                       "tagger": in_process(tagger, args.max_seconds) if tagger else None},
    }
    report["goals"] = goals(report)
    write_report(args.output, "serving", markdown(report), report)


if __name__ == "__main__":
    main()
