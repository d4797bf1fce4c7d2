"""recipes/image_captioning.py: the smoke run on generated scenes, flags, and starting from a published model."""


import pytest

import zoo
from zoo.captioning.evaluation import evaluate
from zoo.datasets import scenes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUN_LOCATION = {"workdir", "out", "version", "smoke", "name"}
SPLITS_SCORED = ("test_metrics", "test_metrics_greedy", "compositional_metrics", "compositional_metrics_greedy",
                 "validation_metrics", "test_slice_metrics")


@pytest.fixture(scope="module")
def recipe_module(captioning_recipe):
    return captioning_recipe.module()


def test_flags(recipe_module, tmp_path):
    args = recipe_module.parse_args([
        "--decoder", "init-state", "--cell", "gru", "--hidden", "32", "--embedding-dim", "24", "--filters", "8,16",
        "--no-batch-norm", "--attention-score", "dot", "--dropout", "0.1", "--beam-width", "5",
        "--references", "all", "--train-images", "100", "--epochs", "3", "--batch-size", "8",
        "--learning-rate", "0.01", "--seed", "4", "--name", "caption_mine", "--init-from", "caption_scenes",
        "--workdir", str(tmp_path),
    ])
    assert (args.decoder, args.cell, args.hidden, args.embedding_dim, args.filters, args.batch_norm) == (
        "init-state", "gru", 32, 24, (8, 16), False)
    assert (args.attention_score, args.dropout, args.beam_width, args.references, args.train_images) == (
        "dot", 0.1, 5, "all", 100)
    assert (args.epochs, args.batch_size, args.learning_rate, args.seed) == (3, 8, 0.01, 4)
    assert (args.name, args.init_from, args.workdir) == ("caption_mine", "caption_scenes", tmp_path)
    assert recipe_module.parse_args([]).out is None
    for bad in (["--decoder", "transformer"], ["--cell", "transformer"], ["--references", "some"],
                ["--filters", "8,x"]):
        with pytest.raises(SystemExit):
            recipe_module.parse_args(bad)


def test_vocabulary_and_length_come_from_the_training_captions(recipe_module):
    train = scenes.generate_split("train", 20)
    model = recipe_module.build_model(recipe_module.parse_args(["--hidden", "8", "--embedding-dim", "8",
                                                                "--filters", "4"]), train)
    words = {word for refs in train.captions for caption in refs for word in caption.split()}
    assert set(model.vocabulary) == words
    assert model.max_length == max(len(c.split()) for refs in train.captions for c in refs) + 4


@pytest.mark.slow
def test_coco_data_for_online_users(recipe_module):
    import tensorflow_datasets as tfds

    from zoo.datasets import coco

    args = recipe_module.parse_args(["--dataset", "coco", "--image-size", "32", "--train-images", "5",
                                     "--eval-images", "3", "--hidden", "8", "--embedding-dim", "8", "--filters", "4"])
    with tfds.testing.mock_data(num_examples=7):
        data, source = recipe_module.load_data(args)
    assert source is coco and list(data) == ["train", "validation", "test"]
    assert [len(part) for part in data.values()] == [5, 3, 3]
    assert data["train"].images.shape == (5, 32, 32, 3)
    model = recipe_module.build_model(args, data["train"])
    metrics = evaluate(model, data["test"], beam_width=1)  # photographs: BLEU-4 only, no scene to check against
    assert set(metrics) == {"bleu", "bleu_signature", "images", "beam_width"} and metrics["images"] == 3


# --- the smoke run (generated scenes) -------------------------------------------------------------


@pytest.mark.slow
def test_smoke_run_exports_a_loadable_captioner(captioning_smoke):
    proc = captioning_smoke.proc
    assert f"exported {captioning_smoke.version_dir}" in proc.stdout
    assert "scenes: 256 train images, 32 validation, 32 test, 32 compositional" in proc.stdout
    assert "Epoch 2/2" in proc.stdout
    for split in ("test", "compositional", "test_greedy", "compositional_greedy"):
        assert f"\n{split}: BLEU-4 " in proc.stdout, split
    model = zoo.load(captioning_smoke.version_dir)
    assert model.card["name"] == "caption_scenes" and model.card["task"] == "image-captioning"
    image, _, _ = scenes.generate("test", 0)
    (caption,) = model.caption([image])
    assert isinstance(caption, str)


def test_smoke_card(captioning_smoke):
    card = zoo.info(captioning_smoke.version_dir)
    dataset = card["dataset"]
    assert dataset["name"] == scenes.NAME and dataset["examples"] == {
        "train": 256, "validation": 32, "test": 32, "compositional": 32}
    for key in SPLITS_SCORED:
        metrics = card[key]
        assert 0 <= metrics["bleu"] <= 100 and 0 <= metrics["attribute_accuracy"] <= 1, key
        assert set(metrics["attributes"]) == set(scenes.SCORES), key
        assert metrics["bleu_signature"].startswith("nrefs:var|case:mixed|eff:no|tok:13a"), key
    assert (card["test_metrics"]["beam_width"], card["test_metrics_greedy"]["beam_width"]) == (3, 1)
    assert card["test_metrics"]["images"] == card["compositional_metrics"]["images"] == 32
    command = card["recipe_command"]
    assert command.startswith("python recipes/image_captioning.py ") and "--smoke" in command
    hyper = card["hyperparameters"]
    assert not RUN_LOCATION & set(hyper)
    assert (hyper["epochs"], hyper["hidden"], hyper["filters"], hyper["decoder"]) == (2, 16, [4, 8, 8], "attention")
    assert card["training_seconds"] > 0 and card["epochs_trained"] == 2
    assert card["license"].startswith("Apache-2.0")


def test_smoke_workdir(captioning_smoke, captioning_recipe):
    work = captioning_smoke.workdir
    for png in ("curves.png", "attention.png"):
        assert (work / png).read_bytes()[:8] == PNG_MAGIC, png
    assert captioning_recipe.logged_epochs(work) == [0, 1]
    assert list((work / "logs" / "train").glob("events.out.tfevents.*"))
    assert not (work / "backup").exists()


@pytest.mark.slow
def test_smoke_model_reproduces_its_card(captioning_smoke):
    model = zoo.load(captioning_smoke.version_dir)
    for split in ("test", "compositional"):
        got = evaluate(model, scenes.generate_split(split, 32))
        recorded = model.card[f"{split}_metrics"]
        assert (got["bleu"], got["attribute_accuracy"], got["exact"]) == (
            recorded["bleu"], recorded["attribute_accuracy"], recorded["exact"]), split


def test_init_from_starts_from_a_published_captioner(recipe_module, captioning_smoke):
    published = zoo.load(captioning_smoke.version_dir)
    args = recipe_module.parse_args(["--init-from", str(captioning_smoke.version_dir), "--dropout", "0.05",
                                     "--beam-width", "2", "--hidden", "64", "--decoder", "init-state"])
    start = recipe_module.build_model(args, scenes.generate_split("train", 4))
    assert start.weights_digest() == published.weights_digest()  # its weights, vocabulary and sizes are kept
    assert (start.vocabulary, start.hidden, start.decoder_kind) == (published.vocabulary, published.hidden, "attention")
    assert (start.dropout_rate, start.beam_width) == (0.05, 2)  # what does not change the weights follows the flags
