"""`zoo`: list, inspect, run, evaluate, export, package, download, train and serve the zoo's models.

`zoo --help`, `list` and `info` read model cards only: they import neither
TensorFlow nor Keras. No command prints TensorFlow's start-up lines unless
`--verbose`. Exit codes: 0 done, 1 failed (or `evaluate` did not reproduce
the card), 2 a usage mistake (unknown name, bad file or flag); a mistake is
one line on stderr, never a traceback.
"""

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

import zoo
from zoo import artifacts, packaging, registry
from zoo.datasets import DataUnavailable
from zoo.evaluation import HEADLINES, short_headline

# commands whose work needs TensorFlow: imported first, with its start-up lines silenced
TENSORFLOW_COMMANDS = ("predict", "evaluate", "export", "train", "serve", "serving-config", "demo")
EXPORT_FORMATS = ("tf_serving", "tf_saved_model", "litert")
MAX_METRIC_ENTRIES = 8  # zoo info prints a nested metric of at most this many entries, counts a longer one
# the optional dependencies' modules -> the extra (pyproject.toml) that installs them
EXTRAS = {"tensorflow": "tensorflow", "sktime": "data", "sklearn": "data", "pysword": "data", "grpc": "serve", "tensorflow_serving": "serve",
          "sacrebleu": "train", "matplotlib": "train", "tensorboard": "train", "tokenizers": "train",
          "keras_hub": "bench", "nltk": "bench", "tensorflow_datasets": "tfds"}


def cmd_list(args):
    if args.available:
        _list_available(args.json)
        return
    if args.task is not None and args.task not in HEADLINES:
        raise ValueError(f"unknown task {args.task!r}: expected one of {', '.join(HEADLINES)}")
    cards = [card for card in map(zoo.info, zoo.list_models()) if args.task in (None, card.get("task"))]
    if args.json:
        for card in cards:
            print(json.dumps({"name": card["name"], "version": card["version"], "task": card["task"],
                              "test": short_headline(card), "dataset": card.get("dataset", {}).get("name")}))
        return
    print(f"{'name':<28} {'task':<24} {'version':>7}  {'TEST':<10} dataset")
    for card in cards:
        print(f"{card['name']:<28} {card['task']:<24} {card['version']:>7}  {short_headline(card):<10} "
              f"{card.get('dataset', {}).get('name', '-')}")


def _list_available(as_json):
    """`zoo list --available`: every version the catalogue publishes, each marked when it is on this machine."""
    rows = []
    for name, versions in sorted(registry.catalogue().items()):
        here = registry.local_versions(name)
        for version, entry in sorted(versions.items(), key=lambda item: int(item[0])):
            rows.append({"name": name, "version": int(version), "archive": entry["archive"],
                         "size": entry.get("size"), "installed": int(version) in here})
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'name':<28} {'version':>7}  {'size':>9}  on this machine")
    for row in rows:
        size = f"{row['size'] / 1e6:.1f} MB" if row["size"] is not None else "-"
        print(f"{row['name']:<28} {row['version']:>7}  {size:>9}  {'yes' if row['installed'] else 'no'}")


def cmd_info(args):
    card = zoo.info(args.name, args.version)
    if args.json:
        print(json.dumps(card, indent=2, ensure_ascii=False))
        return
    dataset = card.get("dataset", {})
    print(f"{card['name']} v{card['version']} — {card.get('description', card['task'])}")
    print(f"  dataset     {dataset.get('name')}: {dataset.get('source')}")
    print(f"  split       {dataset.get('split')}")
    for number, line in enumerate(_metric_lines(card.get("test_metrics") or {})):
        print(f"  {'TEST' if number == 0 else '':<12}{line}")
    print(f"  parameters  {card['parameters']:,}")
    print(f"  trained by  {card.get('recipe_command')}")
    print(f"  license     {card.get('license')}")
    print(f"  signatures  {', '.join(card['signatures'])}")
    print(f"  exported    {card['exported_at']} with {card['versions']}")


def _metric_lines(metrics, indent=""):
    """A card's metrics as `zoo info` prints them: one per line, nested ones indented, long ones (per-tag
    tables, confusions) only counted, with where to read them.

    >>> _metric_lines({"accuracy": 0.98604, "by_part": {"bible": {"bleu": 30.5}}, "per_tag": {str(i): 1 for i in range(9)}})
    ['accuracy 0.9860', 'by_part', '  bible', '    bleu 30.5000', 'per_tag (9 entries: zoo info --json)']
    """
    lines = []
    for key, value in metrics.items():
        if isinstance(value, dict) and len(value) <= MAX_METRIC_ENTRIES:
            lines += [f"{indent}{key}", *_metric_lines(value, indent + "  ")]
        elif isinstance(value, (dict, list)):
            lines.append(f"{indent}{key} ({len(value)} entries: zoo info --json)")
        else:
            lines.append(f"{indent}{key} {value:.4f}" if isinstance(value, float) else f"{indent}{key} {value}")
    return lines


def cmd_predict(args):
    from zoo.base import read_text_file

    model = zoo.load(args.name, args.version)
    if args.image and model.INPUT_KIND != "image":
        raise ValueError(f"{model.TASK} models take no images (their input: {model.INPUT_KIND}); use --text or --input")
    if args.json:
        if args.image:
            inputs = args.image
        elif model.INPUT_KIND == "series":
            inputs = args.input
        else:
            inputs = (args.text if args.text is not None else read_text_file(args.input)).splitlines() or [""]
        for record in model.predict_records(inputs):
            print(json.dumps(record, ensure_ascii=False))
    elif args.image:
        for path, prediction in zip(args.image, model.predict_files(args.image)):
            print(f"{path}\t{prediction}")
    else:
        print(model.predict_text(args.text) if args.text is not None else model.predict_file(args.input))


def cmd_evaluate(args):
    from zoo.evaluation import Evaluation

    model = zoo.load(args.name, args.version)
    result = model.evaluate_split(args.split)
    recorded = Evaluation.of_card(model.card, f"{args.split}_metrics")
    same = recorded is None or recorded.matches(result)
    if args.json:
        print(json.dumps({"name": model.card["name"], "version": model.card["version"], "split": args.split,
                          "metrics": result, "card": recorded, "reproduced": same if recorded else None}))
    else:
        print(f"{model.card['name']} v{model.card['version']} on {args.split}: {result}")
        if recorded is not None:
            print(f"model card says {recorded.headline:.4f}: {'reproduced' if same else 'DIFFERENT'}")
    return 0 if same else 1


def cmd_export(args):
    model = zoo.load(args.name, args.version)
    if args.format == "tf_serving":
        path = model.export_serving(args.out, version=args.to_version)
    else:
        model.export(args.out, format=args.format, verbose=False)
        path = args.out
    print(f"exported {path}")


def cmd_package(args):
    if args.version is not None and len(args.names) > 1:
        raise ValueError("--model-version applies to one model; name one, or leave it out for the newest of each")
    for name in args.names:
        version_dir = registry.resolve(name, args.version)
        if args.format == "wheel":
            path = packaging.build_wheel(version_dir, args.out)
        else:
            path = packaging.build_archive(version_dir, args.out)
            if args.catalogue:
                published = artifacts.version_dirs(version_dir.parent)
                packaging.record_in_catalogue(args.catalogue, path, published=published)
        print(path)


def cmd_download(args):
    """Prints the version's directory, and nothing else, on stdout; a failed download is exit code 1."""
    try:
        path = registry.download(args.name, args.version, force=args.force)
    except (OSError, artifacts.CorruptModelError) as err:  # not a usage mistake: the network, disk or archive
        print(f"zoo download: error: {_one_line(err)}", file=sys.stderr)
        return 1
    print(path)
    return 0


def cmd_train(args):
    from zoo import recipes

    recipe = recipes.recipe(args.task)
    sys.argv = ["zoo", "train", args.task, *args.flags]  # the card records the command as typed
    recipe.main(args.flags)


def cmd_serve(args):
    from zoo import serving

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    batching_options = None
    if args.batching:
        batching_options = {"max_batch_size": args.max_batch_size, "batch_timeout_micros": args.batch_timeout_micros,
                            "max_enqueued_batches": args.max_enqueued_batches}
    limits = serving.Limits(**{field: getattr(args, field) for field in serving.Limits.FLAGS})
    roots, bases = _serving_sources(args.root)
    serving.serve(*roots, bases=bases, host=args.host, port=args.port,
                  grpc_port=None if args.no_grpc else args.grpc_port, poll_seconds=args.poll_seconds,
                  batching=batching_options, limits=limits)


def _serving_sources(targets):
    """`(roots, bases)` of what `zoo serve` was given: directories of models, one model's base directory
    (`<name>/` holding `<version>/`), or the name of a model installed, downloaded or in the checkout."""
    roots, bases = [], {}
    for target in targets:
        path = Path(target)
        if path.is_dir():
            if artifacts.version_dirs(path):
                bases[path.name] = path
            else:
                roots.append(path)
        elif path.exists() or len(path.parts) > 1:
            raise ValueError(f"{target}: not a directory (expected a directory of models, a model's base directory "
                             "<name>/ holding <version>/, or a model's name)")
        else:
            bases[target] = registry.resolve(target).parent
    return roots, bases


def cmd_serving_config(args):
    from google.protobuf import text_format

    from zoo.serving import config

    names = [base.name for base in config.model_bases(args.root)]
    if not names:
        raise ValueError(f"{args.root}: no model base directories (<name>/<version>/saved_model.pb)")
    parameters = None  # checked before anything is printed
    if args.batching_parameters:
        parameters = config.batching_parameters(args.max_batch_size, args.batch_timeout_micros,
                                                args.max_enqueued_batches, args.num_batch_threads,
                                                args.allowed_batch_sizes or (), args.pad_variable_length_inputs)
    base_path = args.base_path or config.CONTAINER_MODELS
    print(text_format.MessageToString(config.model_server_config(names, base_path)), end="")
    if parameters is not None:
        Path(args.batching_parameters).write_text(text_format.MessageToString(parameters))
        print(f"# batching parameters written to {args.batching_parameters}", file=sys.stderr)


def _port(text):
    """An argparse `type`: a TCP port number, 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0 to 65535 (0: a free one), got {text!r}")
    return port


def _batching_flags(parser):
    """The batch size and timeout flags `serve --batching` and `serving-config` share."""
    from zoo.serving import batching

    parser.add_argument("--max-batch-size", type=int, default=batching.DEFAULT_MAX_BATCH_SIZE,
                        help="most rows (dimension 0) in one merged call")
    parser.add_argument("--batch-timeout-micros", type=int, default=batching.DEFAULT_BATCH_TIMEOUT_MICROS,
                        help="how long the oldest request waits for others")
    parser.add_argument("--max-enqueued-batches", type=int, default=batching.DEFAULT_MAX_ENQUEUED_BATCHES,
                        help="full batches a queue holds before refusing requests")


_LIMIT_HELP = {
    "max_elements": "most elements of one input tensor, as declared",
    "max_bytes": "most bytes of one input tensor (strings: their bytes)",
    "max_rows": "most rows (dimension 0) of one request",
    "max_pixels": "most JPEG/PNG image pixels of one request, summed",
    "rows_per_call": "a request of more rows is answered in calls of this many",
    "pixels_per_call": "most image pixels of one call",
    "request_timeout": "seconds a request may compute before it is answered 504 / DEADLINE_EXCEEDED",
    "socket_timeout": "seconds a REST connection may stay idle, or its body stall, before it is closed",
    "header_timeout": "seconds a REST request's line and headers may take to arrive, in all",
}


def _limit_flags(parser):
    """One flag per `zoo.serving.Limits` field, named as the server's refusals name them."""
    from zoo.serving import Limits

    defaults = Limits()
    for field, flag in Limits.FLAGS.items():
        default = getattr(defaults, field)
        parser.add_argument(flag, dest=field, type=type(default), default=default, help=_LIMIT_HELP[field])


def cmd_demo(args):
    names = zoo.list_models()
    if not names:
        print("no pretrained models found (see `zoo list`; zoo.registry documents where models are looked for)")
        return 1
    for name in names:
        model = zoo.load(name)
        print(f"\n{name} v{model.card['version']} — {model.card.get('description')}, TEST {short_headline(model.card)}")
        print(model.demo())
    return 0


def _model_arguments(sub):
    sub.add_argument("name", help="model name (zoo list) or model directory")
    sub.add_argument("-v", "--model-version", dest="version", type=int, help="version (default newest)")


def _list_arguments(sub):
    which = sub.add_mutually_exclusive_group()
    which.add_argument("--task", help=f"only this task's models: {', '.join(HEADLINES)}")
    which.add_argument("--available", action="store_true",
                       help="every published version (zoo/catalogue.json), marked when it is on this machine")
    sub.add_argument("--json", action="store_true", help="one JSON object per model (with --available: version)")


def _info_arguments(sub):
    _model_arguments(sub)
    sub.add_argument("--json", action="store_true", help="the whole model card as JSON")


def _predict_arguments(sub):
    _model_arguments(sub)
    given = sub.add_mutually_exclusive_group(required=True)
    given.add_argument("--input", help="a file: sensor series (.npy, .csv, .json) or text, one sentence per line")
    given.add_argument("--text", help="text for a text model, one sentence per line")
    given.add_argument("--image", nargs="+", help="image files (JPEG or PNG) for an image model")
    sub.add_argument("--json", action="store_true", help="one JSON object per input (sentence, image or series)")


def _evaluate_arguments(sub):
    _model_arguments(sub)
    sub.add_argument("--split", default="test")
    sub.add_argument("--json", action="store_true", help="the metrics and the card's as JSON")


def _export_arguments(sub):
    _model_arguments(sub)
    sub.add_argument("out", type=Path, help="tf_serving: the base directory (its name is the served model name); "
                                            "litert: a .tflite file; tf_saved_model: a directory")
    sub.add_argument("--format", choices=EXPORT_FORMATS, default="tf_serving",
                     help="tf_serving: a versioned SavedModel with the raw-input signatures and the card; "
                          "the others: Keras' export of the network's call()")
    sub.add_argument("--to-version", type=int, help="tf_serving: version number to write (default next free)")


def _package_arguments(sub):
    sub.add_argument("names", nargs="+", metavar="name", help="model names (zoo list) or model directories")
    sub.add_argument("-v", "--model-version", dest="version", type=int, help="version (default newest)")
    sub.add_argument("--out", type=Path, default=Path("dist"), help="where the wheel or archive is written")
    sub.add_argument("--format", choices=("wheel", "archive"), default="wheel",
                     help="wheel: `pip install`-able, found by zoo.load; archive: a .tar for `zoo download`")
    sub.add_argument("--catalogue", type=Path,
                     help="archive: also record its name, sha256 and size in this catalogue.json")


def _download_arguments(sub):
    sub.add_argument("name", help="a published model (zoo/catalogue.json)")
    sub.add_argument("-v", "--model-version", dest="version", type=int, help="version (default newest published)")
    sub.add_argument("--force", action="store_true",
                     help="fetch again even if cached, and replace the cached copy (kept if the fetch fails)")


def _train_arguments(sub):
    from zoo.recipes import RECIPES

    sub.add_argument("task", choices=RECIPES, help="the recipe to run")
    sub.add_argument("flags", nargs=argparse.REMAINDER, help="the recipe's flags (zoo train TASK --help)")


def _serve_arguments(sub):
    sub.add_argument("root", nargs="+", metavar="ROOT_OR_NAME",
                     help="directories holding one base directory per model (e.g. saved_models/), a model's base "
                          "directory, or the names of installed or downloaded models (zoo list)")
    sub.add_argument("--port", type=_port, default=8501, help="REST port (0: a free one)")
    sub.add_argument("--grpc-port", type=_port, default=8500, help="gRPC port (0: a free one)")
    sub.add_argument("--no-grpc", action="store_true", help="serve REST only")
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--poll-seconds", type=float, default=5.0, help="how often to look for new versions")
    sub.add_argument("--batching", action="store_true",
                     help="merge concurrent predictions of the same signature into one call")
    _batching_flags(sub)
    _limit_flags(sub)


def _serving_config_arguments(sub):
    sub.add_argument("root", help="directory holding one base directory per model, e.g. saved_models/")
    sub.add_argument("--base-path", help="the directory holding the models inside the TF Serving container "
                                         "(default: the tensorflow/serving image's)")
    sub.add_argument("--batching-parameters", metavar="FILE", help="also write a --batching_parameters_file here")
    _batching_flags(sub)
    sub.add_argument("--num-batch-threads", type=int, help="default: TF Serving's, one per core")
    sub.add_argument("--allowed-batch-sizes", type=int, nargs="+", help="increasing, ending at --max-batch-size")
    sub.add_argument("--pad-variable-length-inputs", action="store_true",
                     help="let TF Serving pad inputs of different shapes to merge them (zeros, \"\")")


# name -> (function, help, the function adding its arguments: only the command being run gets them, so that
# `zoo --help` and `zoo list` import nothing a server needs)
COMMANDS = {
    "list": (cmd_list, "list the models on this machine", _list_arguments),
    "info": (cmd_info, "show a model card", _info_arguments),
    "predict": (cmd_predict, "run a model on raw input", _predict_arguments),
    "evaluate": (cmd_evaluate, "recompute the model card's metrics from the data", _evaluate_arguments),
    "export": (cmd_export, "write a model version for TF Serving (atomically), or in a Keras export format",
               _export_arguments),
    "package": (cmd_package, "build a pip-installable wheel (or a download archive) of one model version",
                _package_arguments),
    "download": (cmd_download, "fetch a published model version into the cache, from $ZOO_MODELS_URL (a URL or "
                 "directory); timeouts: $ZOO_CONNECT_TIMEOUT, $ZOO_READ_TIMEOUT seconds",
                 _download_arguments),
    "train": (cmd_train, "run a recipe: train, evaluate and export a model (outputs under the current directory)",
              _train_arguments),
    "serve": (cmd_serve, "serve <root>/<name>/<version>/ models over TF Serving's REST and gRPC APIs",
              _serve_arguments),
    "serving-config": (cmd_serving_config, "print TF Serving's --model_config_file for <root>/<name>/ models; "
                       "write its --batching_parameters_file", _serving_config_arguments),
    "demo": (cmd_demo, "run every pretrained model on real samples", lambda sub: None),
}


def build_parser(command=None):
    """The `zoo` parser; only `command`'s own arguments are declared (all of them when `None`)."""
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"rnn-zoo {zoo.__version__}")
    verbose_help = "show TensorFlow's own log lines"
    parser.add_argument("--verbose", action="store_true", help=verbose_help)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (function, help_text, add_arguments) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(function=function)
        sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
        if command in (None, name):
            add_arguments(sub)
    return parser


def main(argv=None):
    """Runs one command; returns its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    requested = next((a for a in argv if not a.startswith("-")), "")
    if requested in TENSORFLOW_COMMANDS and "--verbose" not in argv:  # before the parser: serve's flags need it
        with contextlib.suppress(ImportError):  # no TensorFlow: the command's own import says what to install
            _import_tensorflow_quietly()
    args = build_parser(requested if requested in COMMANDS else "").parse_args(argv)
    try:
        return args.function(args) or 0
    except BrokenPipeError:  # `zoo list | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 0
    except (ValueError, OSError) as err:  # OSError: a missing or unreadable file, a directory, a busy port
        print(f"zoo {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except DataUnavailable as err:  # not the user's mistake, but nothing a traceback would help with
        print(f"zoo {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    except ImportError as err:  # an optional dependency of this command
        extra = EXTRAS.get((err.name or "").split(".")[0])
        hint = f": pip install 'rnn-zoo[{extra}]'" if extra else ""
        hint += " (or another TensorFlow 2.21 distribution, e.g. tensorflow-cpu)" if extra == "tensorflow" else ""
        print(f"zoo {args.command}: error: {_one_line(err)}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up lines (oneDNN, CUDA) silenced: they are written to file
    descriptor 2 before TensorFlow reads its log level, so the descriptor itself is pointed at /dev/null."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # this process's later C++ logs (a failed cuInit, oneDNN)
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # where the CUDA probe logs, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _one_line(err):
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
