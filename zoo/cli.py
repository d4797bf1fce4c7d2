"""`zoo`: list, inspect, run, evaluate, export and serve the zoo's pretrained models."""

import argparse
import json
import logging
import sys
from pathlib import Path

from google.protobuf import text_format

import zoo
from zoo import serving
from zoo.datasets import DataUnavailable
from zoo.evaluation import Evaluation
from zoo.serving import batching, config


def _primary_metric(card):
    """The headline test figure a model card records, as its task's evaluation prints it."""
    result = Evaluation.of_card(card)
    return result.short() if result is not None else "-"


def cmd_list(args):
    names = zoo.list_models(task=args.task)
    rows = [(n, zoo.info(n)) for n in names]
    print(f"{'name':<28} {'task':<24} {'version':>7}  {'TEST':<10} dataset")
    for name, card in rows:
        print(f"{name:<28} {card['task']:<24} {card['version']:>7}  {_primary_metric(card):<10} "
              f"{card.get('dataset', {}).get('name', '-')}")


def cmd_info(args):
    card = zoo.info(args.name, args.version)
    if args.json:
        print(json.dumps(card, indent=2, ensure_ascii=False))
        return
    dataset = card.get("dataset", {})
    print(f"{card['name']} v{card['version']} — {card.get('description', card['task'])}")
    print(f"  dataset     {dataset.get('name')}: {dataset.get('source')}")
    print(f"  split       {dataset.get('split')}")
    print(f"  TEST        {json.dumps({k: v for k, v in (card.get('test_metrics') or {}).items() if k != 'confusion_matrix'})}")
    print(f"  parameters  {card['parameters']:,}")
    print(f"  trained by  {card.get('recipe_command')}")
    print(f"  license     {card.get('license')}")
    print(f"  signatures  {', '.join(card['signatures'])}")
    print(f"  exported    {card['exported_at']} with {card['versions']}")


def cmd_predict(args):
    model = zoo.load(args.name, args.version)
    if args.image:
        if model.INPUT_KIND != "image":
            raise ValueError(f"{model.TASK} models take no images (their input: {model.INPUT_KIND}); use --text "
                             "or --input")
        for path, prediction in zip(args.image, model.predict_files(args.image)):
            print(f"{path}\t{prediction}")
        return
    print(model.predict_text(args.text) if args.text is not None else model.predict_file(args.input))


def cmd_evaluate(args):
    model = zoo.load(args.name, args.version)
    result = model.evaluate_split(args.split)
    print(f"{model.card['name']} v{model.card['version']} on {args.split}: {result}")
    recorded = Evaluation.of_card(model.card, f"{args.split}_metrics")
    if recorded is None:
        return 0
    same = recorded.matches(result)
    print(f"model card says {recorded.headline:.4f}: {'reproduced' if same else 'DIFFERENT'}")
    return 0 if same else 1


def cmd_export(args):
    path = zoo.load(args.name, args.version).export(args.out, version=args.to_version)
    print(f"exported {path}")


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
}


def _limit_flags(parser):
    """One flag per `zoo.serving.Limits` field, named as the server's refusals name them."""
    defaults = serving.Limits()
    for field, flag in serving.Limits.FLAGS.items():
        default = getattr(defaults, field)
        parser.add_argument(flag, dest=field, type=type(default), default=default, help=_LIMIT_HELP[field])


def cmd_serve(args):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    batching_options = None
    if args.batching:
        batching_options = {"max_batch_size": args.max_batch_size, "batch_timeout_micros": args.batch_timeout_micros,
                            "max_enqueued_batches": args.max_enqueued_batches}
    limits = serving.Limits(**{field: getattr(args, field) for field in serving.Limits.FLAGS})
    serving.serve(args.root, host=args.host, port=args.port, grpc_port=None if args.no_grpc else args.grpc_port,
                  poll_seconds=args.poll_seconds, batching=batching_options, limits=limits)


def cmd_serving_config(args):
    names = [base.name for base in config.model_bases(args.root)]
    if not names:
        raise ValueError(f"{args.root}: no model base directories (<name>/<version>/saved_model.pb)")
    parameters = None  # checked before anything is printed
    if args.batching_parameters:
        parameters = config.batching_parameters(args.max_batch_size, args.batch_timeout_micros,
                                                args.max_enqueued_batches, args.num_batch_threads,
                                                args.allowed_batch_sizes or (), args.pad_variable_length_inputs)
    print(text_format.MessageToString(config.model_server_config(names, args.base_path)), end="")
    if parameters is not None:
        Path(args.batching_parameters).write_text(text_format.MessageToString(parameters))
        print(f"# batching parameters written to {args.batching_parameters}", file=sys.stderr)


def cmd_demo(args):
    names = zoo.list_models()
    if not names:
        print("no pretrained models found (saved_models/ or $ZOO_MODELS)")
        return 1
    for name in names:
        model = zoo.load(name)
        print(f"\n{name} v{model.card['version']} — {model.card.get('description')}, "
              f"TEST {_primary_metric(model.card)}")
        print(model.demo())
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rnn-zoo {zoo.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, function, help_text, model=True):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(function=function)
        if model:
            sub.add_argument("name", help="model name (zoo list) or model directory")
            sub.add_argument("-v", "--model-version", dest="version", type=int, help="version (default newest)")
        return sub

    command("list", cmd_list, "list the pretrained models", model=False).add_argument("--task")
    command("info", cmd_info, "show a model card").add_argument("--json", action="store_true")
    predict = command("predict", cmd_predict, "run a model on raw input").add_mutually_exclusive_group(required=True)
    predict.add_argument("--input", help="a file: sensor series (.npy, .csv, .json) or text, one sentence per line")
    predict.add_argument("--text", help="text for a text model, one sentence per line")
    predict.add_argument("--image", nargs="+", help="image files (JPEG or PNG) for an image model")
    command("evaluate", cmd_evaluate, "recompute the model card's metrics from the data").add_argument(
        "--split", default="test")
    export = command("export", cmd_export, "write a model version in TF Serving layout, atomically")
    export.add_argument("out", help="base directory; its name is the served model name")
    export.add_argument("--to-version", type=int, help="version number to write (default next free)")
    serve = command("serve", cmd_serve, "serve <root>/<name>/<version>/ models over TF Serving's REST and gRPC APIs",
                    model=False)
    serve.add_argument("root", help="directory holding one base directory per model, e.g. saved_models/")
    serve.add_argument("--port", type=_port, default=8501, help="REST port (0: a free one)")
    serve.add_argument("--grpc-port", type=_port, default=8500, help="gRPC port (0: a free one)")
    serve.add_argument("--no-grpc", action="store_true", help="serve REST only")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--poll-seconds", type=float, default=5.0, help="how often to look for new versions")
    serve.add_argument("--batching", action="store_true",
                       help="merge concurrent predictions of the same signature into one call")
    _batching_flags(serve)
    _limit_flags(serve)
    serving_config = command("serving-config", cmd_serving_config, "print TF Serving's --model_config_file for "
                             "<root>/<name>/ models; write its --batching_parameters_file", model=False)
    serving_config.add_argument("root", help="directory holding one base directory per model, e.g. saved_models/")
    serving_config.add_argument("--base-path", default=config.CONTAINER_MODELS,
                                help="the directory holding the models inside the TF Serving container")
    serving_config.add_argument("--batching-parameters", metavar="FILE",
                                help="also write a --batching_parameters_file here")
    _batching_flags(serving_config)
    serving_config.add_argument("--num-batch-threads", type=int, help="default: TF Serving's, one per core")
    serving_config.add_argument("--allowed-batch-sizes", type=int, nargs="+",
                                help="increasing, ending at --max-batch-size")
    serving_config.add_argument("--pad-variable-length-inputs", action="store_true",
                                help="let TF Serving pad inputs of different shapes to merge them (zeros, \"\")")
    command("demo", cmd_demo, "run every pretrained model on real samples", model=False)
    return parser


def main(argv=None):
    """Runs one command; a user's mistake (a bad name, file, flag or port) is one line on stderr and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.function(args) or 0
    except (ValueError, OSError) as err:  # OSError: a missing or unreadable file, a directory, a busy port
        print(f"zoo {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except DataUnavailable as err:  # not the user's mistake, but nothing a traceback would help with
        print(f"zoo {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _one_line(err):
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
