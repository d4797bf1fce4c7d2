"""Trains, evaluates and exports an image captioner (one-to-many: a CNN reads the image, an RNN writes).

    python recipes/image_captioning.py                                   # the published caption_scenes
    python recipes/image_captioning.py --decoder init-state --cell gru --hidden 256 --epochs 10
    python recipes/image_captioning.py --dataset coco --backbone mobilenet_v3_small \
        --backbone-weights imagenet --image-size 224 --train-images 20000 --name caption_coco   # online

Data: the generated scenes of `zoo.datasets.scenes` (64×64 images of one to
three coloured shapes, every reference caption exactly true; a
`compositional` split holds colour-shape pairs never seen in training).
`--dataset coco` reads COCO captions through TFDS instead
(`zoo.datasets.coco`: prepared once, online; scored by BLEU-4 only, as
photographs have no scene description to check captions against).
`--decoder attention` is Show, Attend and Tell (the decoder looks at the
image grid at every word), `--decoder init-state` Show and Tell (the image
is only the decoder's initial state). `--init-from caption_scenes`
fine-tunes a pretrained captioner (its vocabulary and sizes are kept).

Writes TensorBoard logs, `history.csv`, `curves.png` and an attention plot
into the work directory, prints BLEU-4 (sacreBLEU, against every reference)
and attribute accuracy (are the shapes, colours, sizes and relations the
caption names true of the image) on test and compositional, beam search and
greedy, and exports `saved_models/<name>/<version>/` with its model card.
Killed and rerun with the same flags, it resumes from the last finished
epoch.
"""


from zoo import cards, distribute, plots, training
from zoo.captioning import Captioner
from zoo.captioning.config import CaptionerConfig
from zoo.captioning.data import REFERENCES, as_dataset
from zoo.captioning.evaluation import evaluate
from zoo.datasets import coco, scenes
from zoo.hyperparameters import at_least

RUN_LOCATION_FLAGS = (*training.RUN_LOCATION_FLAGS, "name")
TEST_SLICE = 200  # the model card also scores the first test images: a quick regression check
DATASETS = ("scenes", "coco")
SMOKE_IMAGES = {"train": 256, "validation": 32, "test": 32, "compositional": 32}


def parse_args(argv=None):
    parser = training.recipe_parser(__doc__.splitlines()[0], CaptionerConfig)
    # defaults (and CaptionerConfig's): the published caption_scenes configuration
    parser.set_defaults(learning_rate=2e-3, epochs=10, batch_size=64, patience=3, lr_patience=1)
    parser.add_argument("--references", choices=(*REFERENCES, "canonical"),
                        help="which reference caption of each image an epoch trains on (all: one example each; "
                             "canonical, scenes only: the one naming the objects from left to right). Default: "
                             "canonical for scenes, random for COCO")
    parser.add_argument("--dataset", choices=DATASETS, default="scenes",
                        help="scenes: the generated scenes (offline); coco: COCO captions through TFDS (prepared "
                             "once online, see zoo.datasets.coco)")
    parser.add_argument("--backbone-weights", choices=("imagenet",),
                        help="start the MobileNet backbone from Keras' ImageNet weights (downloaded once)")
    parser.add_argument("--train-images", type=at_least(1), help="train on the first N train images only")
    parser.add_argument("--eval-images", type=at_least(1), help="score the first N images of each evaluated split only")
    parser.add_argument("--name", default="caption_scenes", help="exported model name")
    parser.add_argument("--init-from", help="fine-tune this pretrained captioner (name or directory)")
    args = parser.parse_args(argv)
    if args.references is None:
        args.references = "canonical" if args.dataset == "scenes" else "random"
    return args


def build_model(args, train):
    if args.init_from:
        return training.pretrained(args.init_from).reconfigured(dropout=args.dropout, beam_width=args.beam_width)
    vocabulary = sorted({word for refs in train.captions for caption in refs for word in caption.split()})
    longest = max(len(caption.split()) for refs in train.captions for caption in refs)
    return Captioner(vocabulary, backbone_weights=args.backbone_weights,
                     **CaptionerConfig.from_flags(args, max_length=longest + 4).as_dict())


def load_data(args):
    """`({split: images with captions}, the dataset module)`: the train split first, then the scored ones."""
    if args.dataset == "coco":
        if args.references == "canonical":
            raise ValueError("--references canonical needs the generated scenes (--dataset scenes)")
        sizes = {"train": args.train_images, "validation": args.eval_images, "test": args.eval_images}
        if args.smoke:
            sizes = {split: SMOKE_IMAGES[split] for split in sizes}
        data = {split: coco.load(split, max_images=count, image_size=args.image_size)
                for split, count in sizes.items()}
        return data, coco
    if args.smoke:  # the first images of each split, generated without caching whole splits
        data = {split: scenes.generate_split(split, count) for split, count in SMOKE_IMAGES.items()}
    else:
        data = {split: scenes.load(split) for split in SMOKE_IMAGES}
    if args.train_images:
        data["train"] = data["train"].take(args.train_images)
    if args.references == "canonical":  # validation too: its loss must measure what training learns
        data.update({split: data[split].canonical_first() for split in ("train", "validation")})
    if args.eval_images:
        data.update({split: part.take(args.eval_images) for split, part in data.items() if split != "train"})
    return data, scenes


def fit(args, model, data, workdir, flags, strategy):
    """Trains on the train split, validating on the first reference of each validation image; the seconds."""
    references = "first" if args.references == "canonical" else args.references
    return training.fit(
        model, workdir, flags,
        as_dataset(data["train"], model, distribute.global_batch_size(args.batch_size, strategy), shuffle=True,
                   seed=args.seed, references=references),
        as_dataset(data["validation"], model, 128, references="first"),
        args.epochs, args.patience, args.lr_patience,
    )


def score(model, data):
    """Every scored split with the model's beam and (but validation) greedy, and the test slice; by card key."""
    results = {}
    for split in data:
        if split == "train":
            continue
        results[f"{split}_metrics"] = evaluate(model, data[split])
        if split != "validation":
            results[f"{split}_metrics_greedy"] = evaluate(model, data[split], beam_width=1)
    results["test_slice_metrics"] = {**evaluate(model, data["test"].take(TEST_SLICE)),
                                     "slice": f"the first {TEST_SLICE} test images"}
    return results


def report(split, metrics):
    line = f"{split}: BLEU-4 {metrics['bleu']:.2f}"
    if "attributes" in metrics:  # generated scenes: what the captions say is checked against the scene
        attributes = ", ".join(f"{k} {v:.3f}" for k, v in metrics["attributes"].items())
        line += (f", attribute accuracy {metrics['attribute_accuracy']:.4f}, exactly true {metrics['exact']:.4f} "
                 f"({metrics['images']} images, beam {metrics['beam_width']}; {attributes})")
    else:
        line += f" ({metrics['images']} images, beam {metrics['beam_width']})"
    print(line)


def show(args, model, data, results, workdir):
    """Prints the scores and the demo captions; plots the curves and (attention decoder) one test image's attention."""
    for key, metrics in results.items():
        report(key.replace("_metrics", ""), metrics)
    print(model.demo())
    plots.plot_history(workdir / "history.csv", workdir / "curves.png")
    if args.decoder == "attention":
        plots.plot_caption_attention(model.caption(data["test"].images[:1], return_attention=True)[0],
                                     workdir / "attention.png")


def model_card(args, model, data, source, results, flags, fit_seconds, workdir):
    results = dict(results)
    test_metrics, validation_metrics = results.pop("test_metrics"), results.pop("validation_metrics")
    return cards.RecipeCard(
        description=f"{'MobileNetV3Small' if args.backbone != 'cnn' else 'CNN'} encoder, {args.cell} decoder "
                    f"({args.decoder}): image captioning of "
                    + ("generated scenes" if args.dataset == "scenes" else "COCO photographs"),
        dataset={**source.describe(), "examples": {split: len(part) for split, part in data.items()}},
        input="JPEG or PNG bytes, decoded, cropped to their central square and resized to "
              f"{model.image_size}x{model.image_size} in the graph; at most {model.max_length} tokens out",
        test_metrics=test_metrics,
        validation_metrics=validation_metrics,
        hyperparameters=flags,
        training_seconds=fit_seconds,
        data_license=source.LICENSE,
        extra={**results, "epochs_trained": len((workdir / "history.csv").read_text().splitlines()) - 1},
    ).to_dict()


def main(argv=None):
    args = parse_args(argv)
    strategy = distribute.strategy_for(args.distribute)
    workdir = training.workdir_for(args, args.name)
    training.seed_everything(args.seed)
    if args.smoke:
        args.epochs, args.hidden, args.embedding_dim, args.filters = 2, 16, 16, [4, 8, 8]
        args.patience, args.lr_patience = 2, 1
    with distribute.data_lock():
        data, source = load_data(args)
    with strategy.scope():
        model = build_model(args, data["train"])
        training.compile_word_generator(model, args.learning_rate)
    scored = [split for split in data if split != "train"]
    print(f"{source.NAME}: {len(data['train'])} train images, " + ", ".join(f"{len(data[s])} {s}" for s in scored)
          + f"; {len(model.vocabulary)} words; {model.count_params():,} parameters")

    flags = training.run_flags(args, RUN_LOCATION_FLAGS)
    fit_seconds = fit(args, model, data, workdir, flags, strategy)
    if not distribute.is_chief(strategy):
        return None  # the chief evaluates and exports

    results = score(model, data)
    show(args, model, data, results, workdir)
    card = model_card(args, model, data, source, results, flags, fit_seconds, workdir)
    path = model.export_serving(args.out / args.name, version=args.version, card=card)
    print(f"exported {path}")
    return path


if __name__ == "__main__":
    main()
